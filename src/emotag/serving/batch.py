"""Score a large text file with Apache Beam RunInference.

Usage:
    python src/batch_predict.py --model artifacts/<run> --input texts.txt \\
        --output predictions.jsonl
    python src/batch_predict.py --model gs://bucket/run --input gs://bucket/texts.txt \\
        --output gs://bucket/out/predictions.jsonl -- --runner DataflowRunner --project P ...

One text per "\\n"-terminated line (invalid UTF-8 replaced by U+FFFD, as in
src/inference.py), or `id<TAB>text` with --with-ids. Output: JSON Lines, one record per
input line, each the CLI's JSON record plus "line" (1-based input line number) and, with
--with-ids, "id"; a line that cannot be scored gets "error" and no labels, and never
fails its batch or the job. Progress: the Beam counters emotag/lines and emotag/errors,
and a log line every --progress-every lines (per worker process).

Arguments after a `--` separator are Beam pipeline options, so the same command runs on
any runner (workers need this package importable: --setup_file or a container image); a
flag before `--` that is not one of this command's is an error, never passed on to Beam.
Without --runner it runs locally on the DirectRunner's in-process engine (FnApiRunner),
named directly because the DirectRunner first tries Prism, a binary it downloads at run
time. Each worker process loads the SavedModel once (`EmotagModelHandler.load_model`) and
RunInference batches elements for it (`BatchElements`, sizes from --min-batch /
--max-batch).

Memory stays flat whatever the file's size: lines stream from the reader through
inference to the writer. A local output file is written in input order (the pipeline's
shards, each in line order, are merged by "line" as they are read back); on a
distributed runner the lines are spread over the workers (Reshuffle) and the output is
sharded (`<output>-00000-of-000NN`, unordered: "line" and "id" join the records back).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import (
    KeyedModelHandler,
    ModelHandler,
    PredictionResult,
    RunInference,
)
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from emotag.config import dataclass_parser, non_negative_int, option, positive_int
from emotag.runs import layout
from emotag.serving.batch_files import LineError, merge_shards, read_numbered_lines
from emotag.text.inputs import json_line

log = logging.getLogger("batch_predict")
LOCAL_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
# Runners that run the pipeline in this process or on this machine: one reader feeds
# them, so no Reshuffle (it would hold every line in memory) and the output is merged.
LOCAL_RUNNERS = {LOCAL_RUNNER, "FnApiRunner", "DirectRunner", "BundleBasedDirectRunner"}
NAMESPACE = "emotag"  # of the Beam counters: lines, errors


class EmotagModelHandler(ModelHandler):
    """Beam `ModelHandler`: a run directory's `Predictor`, loaded once per worker.

    Args:
        run_dir: the run directory (any path the worker can read).
        min_batch_size: smallest batch RunInference forms (BatchElements).
        max_batch_size: largest batch; also the Predictor's graph batch size.
        threshold: one global threshold instead of the calibrated ones.
        intra_op_threads: TensorFlow intra-op threads per worker process, set when the
            model loads if TensorFlow has not started there (None: what the run serves
            best with, `emotag.serving.predictor.configure_threads`; 0: TensorFlow's default).

    Example:
    >>> texts | RunInference(EmotagModelHandler("artifacts/run"))  # PredictionResult(text, dict)
    """

    def __init__(
        self,
        run_dir: str,
        min_batch_size: int = 32,
        max_batch_size: int = 512,
        threshold: float | None = None,
        intra_op_threads: int | None = None,
    ):
        super().__init__()
        self.intra_op_threads = intra_op_threads
        self.run_dir = run_dir
        self.min_batch_size = min_batch_size
        self.max_batch_size = max_batch_size
        self.threshold = threshold

    def load_model(self):
        from emotag.serving.predictor import Predictor, configure_threads

        log.info("loading %s", self.run_dir)
        configure_threads(self.run_dir, self.intra_op_threads)
        return Predictor.load(self.run_dir, batch_size=self.max_batch_size)

    def run_inference(
        self, batch: Sequence, model, inference_args: dict | None = None
    ) -> Iterable[PredictionResult]:
        texts = [item for item in batch if not isinstance(item, LineError)]
        records = iter(self.predict_records(model, texts))
        for item in batch:
            if isinstance(item, LineError):
                yield PredictionResult(item, error_record("", item.message))
            else:
                yield PredictionResult(item, next(records))

    def predict_records(self, model, texts: list) -> list[dict]:
        """The JSON record of each text; an item that fails alone gets an error record.

        `Predictor.predict(errors="skip")` turns a bad item into its error already; should
        a whole batch still fail, its items are scored one by one, so the item that
        fails costs no neighbour.
        """
        if not texts:
            return []
        try:
            predictions = model.predict(texts, threshold=self.threshold, errors="skip")
            return [prediction.to_json() for prediction in predictions]
        except Exception as err:
            if len(texts) == 1:
                text = texts[0] if isinstance(texts[0], str) else ""
                return [error_record(text, f"{type(err).__name__}: {err}")]
            log.warning("a batch of %d failed (%s); scoring its texts one by one", len(texts), err)
            return [record for text in texts for record in self.predict_records(model, [text])]

    def batch_elements_kwargs(self) -> dict:
        return {"min_batch_size": self.min_batch_size, "max_batch_size": self.max_batch_size}

    def get_metrics_namespace(self) -> str:
        return "emotag"


def error_record(text: str, message: str) -> dict:
    """The record of a line that was not scored (the shape of `Prediction.to_json`)."""
    return {"text": text, "labels": [], "scores": {}, "probabilities": {}, "error": message}


class ToRecords(beam.DoFn):
    """(key, PredictionResult) -> a JSON Lines record; counts lines and errors.

    Args:
        with_ids: records carry the input's "id".
        progress_every: log a line each time this worker has written this many records.
    """

    def __init__(self, with_ids: bool = False, progress_every: int = 100_000):
        self.with_ids = with_ids
        self.progress_every = progress_every
        self.lines = Metrics.counter(NAMESPACE, "lines")
        self.errors = Metrics.counter(NAMESPACE, "errors")

    def setup(self):
        self.done, self.started = 0, time.monotonic()

    def process(self, keyed: tuple[tuple, PredictionResult]) -> Iterable[str]:
        (line, line_id), result = keyed
        record = {"line": line, "id": line_id} if self.with_ids else {"line": line}
        record.update(result.inference)
        self.lines.inc()
        if "error" in record:
            self.errors.inc()
        self.done += 1
        if self.done % self.progress_every == 0:
            rate = self.done / max(time.monotonic() - self.started, 1e-9)
            log.info("%s lines scored (%.0f lines/s)", f"{self.done:,}", rate)
        yield json_line(record)


def build_pipeline(
    pipeline: beam.Pipeline,
    input_path: str,
    output_path: str,
    handler: EmotagModelHandler,
    with_ids: bool = False,
    spread: bool = True,
    progress_every: int = 100_000,
) -> None:
    """Read numbered lines -> RunInference -> JSON Lines shards `<output_path>-SSSSS-of-NNNNN`.

    Args:
        pipeline: the Beam pipeline to add the transforms to.
        input_path: the text file (any path Beam's filesystems read).
        output_path: the shards' prefix.
        handler: the model handler.
        with_ids: lines are `id<TAB>text`.
        spread: Reshuffle the lines so that many workers share them (the read is one
            element); off for a local runner, where it would hold every line in memory.
        progress_every: lines between two progress log lines of a worker.
    """
    lines = (
        pipeline
        | "Input" >> beam.Create([input_path])
        | "ReadLines" >> beam.FlatMap(read_numbered_lines, with_ids=with_ids)
    )
    if spread:
        lines = lines | "Spread" >> beam.Reshuffle()
    _ = (
        lines
        | "Predict" >> RunInference(KeyedModelHandler(handler))
        | "ToJson" >> beam.ParDo(ToRecords(with_ids, progress_every))
        | "Write" >> beam.io.WriteToText(output_path)
    )


@dataclasses.dataclass
class BatchConfig:
    model: str  # run directory (any path the workers can read, e.g. gs://bucket/run)
    input: str  # text file, one text per line
    output: str  # JSON Lines file to write, one record per input line
    min_batch: int = option(32, type=positive_int)  # smallest batch RunInference forms
    # largest batch RunInference forms; also the Predictor's batch size
    max_batch: int = option(512, type=positive_int)
    threshold: float | None = None  # one global threshold in (0, 1) instead of the calibrated ones
    # TensorFlow intra-op threads per worker process; None = what the run serves best with
    # (1 for BiLSTM runs), 0 = TensorFlow's default (one per core)
    intra_op_threads: int | None = option(None, type=non_negative_int)
    with_ids: bool = False  # each line is id<TAB>text; records carry "id" (no tab: an error)
    # log a progress line each time a worker has scored this many lines
    progress_every: int = option(100_000, type=positive_int)


def build_parser():
    """The command line of `emotag batch` before the `--` that starts the Beam options."""
    parser = dataclass_parser(BatchConfig, __doc__)
    parser.usage = "%(prog)s --model RUN --input FILE --output FILE [flags] [-- BEAM_OPTION ...]"
    parser.epilog = "Everything after -- is a Beam pipeline option, e.g. -- --runner=DataflowRunner"
    return parser


def split_beam_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """(this command's arguments, Beam's): Beam's are the ones after the first `--`."""
    if "--" not in argv:
        return list(argv), []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def parse_args(argv=None) -> tuple[BatchConfig, list[str]]:
    """The command's config and the Beam pipeline options; unknown flags are an error."""
    own, beam_args = split_beam_options(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    config = BatchConfig(**vars(parser.parse_args(own)))
    if config.threshold is not None and not 0 < config.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    return config, beam_args


@dataclasses.dataclass
class BatchResult:
    """What a batch job did."""

    records: int  # records in the local output file; -1 when sharded on a remote filesystem
    lines: int  # the emotag/lines counter: lines scored (or not, with an error)
    errors: int  # the emotag/errors counter: records with "error"


def run(argv=None) -> int:
    """Runs the pipeline; returns the number of records written (-1 if not local)."""
    config, beam_args = parse_args(argv)
    return score_file(config, beam_args).records


def score_file(config: BatchConfig, beam_args: list[str]) -> BatchResult:
    """Runs the batch job of `config` with Beam options `beam_args` (default: local).

    Args:
        config: the command's configuration.
        beam_args: Beam pipeline options; without --runner, the local FnApiRunner.

    Returns:
        The records written and the job's counters.

    Raises:
        FileNotFoundError: no file matches `config.input`, or a local output's directory
            is missing; `layout.NotARunError` / `RunFileError`: a local `config.model` is
            not a run. Checked before the pipeline starts, whose workers would report
            them inside Beam's own error.
    """
    if not FileSystems.match([config.input])[0].metadata_list:
        raise FileNotFoundError(f"--input {config.input}: no such file (or no match)")
    if "://" not in config.model:
        layout.open_run(config.model)
    output, local_output = Path(config.output), "://" not in config.output
    if local_output and not output.parent.is_dir():
        raise FileNotFoundError(f"--output {config.output}: no directory {output.parent}")
    handler = EmotagModelHandler(
        config.model, config.min_batch, config.max_batch, config.threshold,
        config.intra_op_threads,
    )  # fmt: skip
    if not any(arg.startswith("--runner") for arg in beam_args):
        beam_args = [f"--runner={LOCAL_RUNNER}", *beam_args]
    options = PipelineOptions(beam_args)
    # A local output is written as shards in a scratch directory beside it, then merged.
    scratch = None
    if local_output:
        scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.shards-", dir=output.parent))
    try:
        pipeline = beam.Pipeline(options=options)
        build_pipeline(
            pipeline, config.input, str(scratch / "part") if scratch else config.output,
            handler, config.with_ids,
            spread=options.view_as(StandardOptions).runner not in LOCAL_RUNNERS,
            progress_every=config.progress_every,
        )  # fmt: skip
        result = pipeline.run()
        result.wait_until_finish()
        records = -1
        if scratch:
            records = merge_shards(sorted(scratch.glob("part*")), output)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    totals = {counter.key.metric.name: counter.committed for counter in counters}
    done = BatchResult(records, totals.get("lines", 0), totals.get("errors", 0))
    where = f"written to {output}" if scratch else f"in {config.output}-*"
    log.info("%s lines scored, %s with an error; records %s",
             f"{done.lines:,}", f"{done.errors:,}", where)  # fmt: skip
    return done


def log_progress_to_stderr() -> None:
    """INFO lines with timestamps on stderr, the progress lines included.

    Importing Beam logs a warning, which sets up the root logger at WARNING before this
    command runs, so `logging.basicConfig` alone would do nothing: the level is raised
    and the format set on the handler that import made.
    """
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.basicConfig()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # its INFO is pipeline detail
    for handler in root.handlers:
        if type(handler) is logging.StreamHandler:  # not pytest's capturing subclasses
            handler.setFormatter(fmt)


def main(argv=None) -> int:
    log_progress_to_stderr()
    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
