"""Score a large text file with Apache Beam RunInference.

Usage:
    python src/batch_predict.py --model artifacts/<run> --input texts.txt \\
        --output predictions.jsonl
    python src/batch_predict.py --model gs://bucket/run --input gs://bucket/texts.txt \\
        --output gs://bucket/out/predictions.jsonl -- --runner DataflowRunner --project P ...

One text per "\\n"-terminated line (invalid UTF-8 replaced by U+FFFD, as in
src/inference.py). Output: JSON Lines, one record per input line, each the CLI's JSON
record plus "line" (1-based input line number); an item that cannot be scored has
"error" set and no labels, and never fails its batch.

Arguments after a `--` separator are Beam pipeline options, so the same command runs on
any runner (workers need this package importable: --setup_file or a container image); a
flag before `--` that is not one of this command's is an error, never passed on to Beam.
Without --runner it runs locally on the DirectRunner's in-process engine (FnApiRunner),
named directly because the DirectRunner first tries Prism, a binary it downloads at run
time. Each worker process loads the SavedModel once (`EmotagModelHandler.load_model`) and
RunInference batches elements for it (`BatchElements`, sizes from --min-batch /
--max-batch). Records are written in input
order when the output is a local file (one shard, sorted by "line" after the pipeline);
on a cluster the shards are unordered and "line" gives the order.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import (
    KeyedModelHandler,
    ModelHandler,
    PredictionResult,
    RunInference,
)
from apache_beam.options.pipeline_options import PipelineOptions

from emotag.config import dataclass_parser, non_negative_int, option, positive_int
from emotag.text.inputs import json_line

log = logging.getLogger("batch_predict")
LOCAL_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


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
        predictions = model.predict(list(batch), threshold=self.threshold, errors="skip")
        for example, prediction in zip(batch, predictions):
            yield PredictionResult(example, prediction.to_json())

    def batch_elements_kwargs(self) -> dict:
        return {"min_batch_size": self.min_batch_size, "max_batch_size": self.max_batch_size}

    def get_metrics_namespace(self) -> str:
        return "emotag"


def read_numbered_lines(path: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) for each "\\n"-terminated line of `path`."""
    with FileSystems.open(path) as f:
        for number, raw in enumerate(f, start=1):
            text = raw.removesuffix(b"\n").removesuffix(b"\r")
            yield number, text.decode("utf-8", errors="replace")


def to_record(keyed: tuple[int, PredictionResult]) -> str:
    line, result = keyed
    return json_line({"line": line, **result.inference})


def build_pipeline(
    pipeline: beam.Pipeline, input_path: str, output_path: str, handler: EmotagModelHandler
) -> None:
    """Read numbered lines -> RunInference -> JSON Lines (one shard)."""
    _ = (
        pipeline
        | "Input" >> beam.Create([input_path])
        | "ReadLines" >> beam.FlatMap(read_numbered_lines)
        | "Spread" >> beam.Reshuffle()  # the read is one element: let workers share the lines
        | "Predict" >> RunInference(KeyedModelHandler(handler))
        | "ToJson" >> beam.Map(to_record)
        | "Write" >> beam.io.WriteToText(output_path, num_shards=1, shard_name_template="")
    )


def sort_local_output(path: str) -> int:
    """Rewrites a local JSON Lines file in "line" order; returns the record count."""
    target = Path(path)
    records = [line for line in target.read_text(encoding="utf-8").split("\n") if line]
    records.sort(key=lambda record: json.loads(record)["line"])
    tmp = target.with_name(target.name + ".sorting")
    tmp.write_text("".join(r + "\n" for r in records), encoding="utf-8")
    os.replace(tmp, target)
    return len(records)


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


def run(argv=None) -> int:
    """Runs the pipeline; returns the number of records written (-1 if not local)."""
    config, beam_args = parse_args(argv)
    handler = EmotagModelHandler(
        config.model, config.min_batch, config.max_batch, config.threshold,
        config.intra_op_threads,
    )  # fmt: skip
    if not any(arg.startswith("--runner") for arg in beam_args):
        beam_args = [f"--runner={LOCAL_RUNNER}", *beam_args]
    options = PipelineOptions(beam_args)
    with beam.Pipeline(options=options) as pipeline:
        build_pipeline(pipeline, config.input, config.output, handler)
    if not Path(config.output).exists():  # a remote filesystem: records carry "line"
        return -1
    count = sort_local_output(config.output)
    log.info("%d records written to %s", count, config.output)
    return count


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
