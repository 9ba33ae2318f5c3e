"""Inference throughput and latency of run directories on real dev texts.

Usage:
    python benchmarks/throughput.py --models artifacts/<bilstm-run> [artifacts/<bert-run> ...]
    python benchmarks/throughput.py --models artifacts/a artifacts/b --rounds 7 --seconds 2

For every run given (BiLSTM, BERT/MiniLM or TF-IDF; missing paths are reported and
skipped) the script measures `Predictor`, the API the CLI and batch scoring use:

- texts/s for requests of 1, 32 and 256 texts (consecutive dev texts, one call each),
- texts/s "bulk": the whole sample in one `predict_proba` call (sorted by length),
- p50 / p99 latency of single-text requests.

BiLSTM runs get more rows: the reference, Keras `model.predict` of `model.keras` on ids
padded to max_len (ids computed beforehand, so it is the network alone), the network on
sorted ids with and without `jit_compile=True` (widths padded to multiples of 8 so XLA
compiles a few shapes only), and the run's SavedModel re-exported by this version next
to the one it shipped with, so an older run shows what the current export gains.

Thread settings: TensorFlow's intra-op pool can only be set before it starts, so each
setting of `--intra-op-threads` gets its own worker process (0 = TensorFlow's default,
one thread per core). The small ops of a BiLSTM step gain nothing from being split
across cores, while its two directions and the two halves of tokenisation run side by
side on inter-op threads, so it serves best with 1; BERT's large matmuls want the
default. Workers take turns round by round, never at the same time.

The machine may be shared with training jobs, so rows are measured in interleaved rounds and
each figure is the median over rounds; the load average is recorded before each round,
and texts per CPU-second (process time) are reported as a load-insensitive figure.
Writes <out>/throughput.json and <out>/throughput.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import tensorflow as tf

from emotag.benchmarks.throughput_rows import (
    NaiveKerasRow,
    PredictorRow,
    SortedIdsRow,
    reexport,
)
from emotag.config import command_line, command_parser
from emotag.data.goemotions import load_goemotions
from emotag.runs import layout
from emotag.serving.predictor import Predictor

log = logging.getLogger("throughput")


def parse_args(argv=None) -> argparse.Namespace:
    parser = command_parser(__doc__)
    parser.add_argument("--models", nargs="+",
                        help="run directories to measure (needed unless --report-only)")
    parser.add_argument("--data-dir", help="GoEmotions directory, source of the dev texts "
                        "(None = $GOEMOTIONS_DIR, else a local cache, else a download)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved repetitions; each figure is their median")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="target time per figure and round")
    parser.add_argument("--latency-texts", type=int, default=200,
                        help="single-text requests timed for the p50 / p99 latency")
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        nargs="+",
        default=[0, 1],
        help="TensorFlow intra-op threads: one worker process per setting; 0 = "
        "TensorFlow's default (one per core)",
    )
    # Internal: a worker process started by the parent, not for people.
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", default="benchmarks/results",
                        help="directory of throughput.json and throughput.md")
    parser.add_argument(
        "--report-only", action="store_true", help="re-render <out>/throughput.md from the JSON"
    )
    return parser.parse_args(argv)


def build_rows(args, texts: list[str], workdir: Path) -> tuple[list, list[str]]:
    rows, notes = [], []
    for path in map(Path, args.models):
        if not (path / layout.SAVED_MODEL).is_dir():
            notes.append(f"{path}: no {layout.SAVED_MODEL}/, skipped")
            continue
        predictor = Predictor.load(path)
        kind = predictor.run.kind or "other"
        label = f"{path.name} ({kind})"
        if kind == layout.BILSTM and predictor.run.file(layout.MODEL_KERAS).exists():
            naive = NaiveKerasRow(f"{path.name}: naive model.predict, ids padded to max_len",
                                  path, texts, args)  # fmt: skip
            rows.append(naive)
            rows.append(SortedIdsRow(f"{path.name}: network on sorted ids, tf.function",
                                     naive, False, args))  # fmt: skip
            rows.append(SortedIdsRow(f"{path.name}: network on sorted ids, jit_compile, x8",
                                     naive, True, args))  # fmt: skip
            rows.append(PredictorRow(f"{label}: Predictor, SavedModel as shipped",
                                     predictor, texts, args))  # fmt: skip
            fresh = reexport(path, workdir / path.name)
            rows.append(PredictorRow(f"{label}: Predictor, re-exported by this version",
                                     Predictor.load(fresh), texts, args))  # fmt: skip
            continue
        rows.append(PredictorRow(f"{label}: Predictor", predictor, texts, args))
    return rows, notes


def ratio_notes(rows: list[dict]) -> list[str]:
    """Fastest BiLSTM Predictor row over the fastest BERT one, at b256, wall and per CPU-s.

    Each side takes its best row, whatever thread setting that row ran with.
    """
    predictors = [row for row in rows if "Predictor" in row["name"]]
    notes = []
    for key, what in (("b256", "median texts/s"), ("b256_per_cpu_s", "texts per CPU-second")):
        bilstm = [row for row in predictors if "(bilstm)" in row["name"]]
        bert = [row for row in predictors if "(bert)" in row["name"] and row["median"][key] > 0]
        if not bilstm or not bert:
            break
        best, reference = (max(side, key=lambda row: row["median"][key]) for side in (bilstm, bert))
        notes.append(
            f"b256 {what}, each at its best: {best['name']} = "
            f"{best['median'][key] / reference['median'][key]:.0f}x {reference['name']}"
        )
    return notes


def format_markdown(report: dict) -> str:
    def fmt(value, digits=0):
        return "" if value is None else f"{value:,.{digits}f}"

    lines = [
        "# Inference throughput",
        "",
        f"Command: `{report['command']}`",
        "",
        f"{report['texts']} GoEmotions dev texts; {report['rounds']} interleaved rounds; "
        f"machine: {report['machine']['cpus']} CPUs (other jobs may share them), 1-minute load "
        f"average {report['machine']['load_min']:.1f}-{report['machine']['load_max']:.1f} "
        "during the run. Wall-clock columns are medians over rounds and depend on the CPU "
        "share the benchmark got; \"best\" is the best round; texts per CPU-second (process "
        "time, all threads) is the least load-sensitive figure. Thread settings (one worker "
        "process each): "
        + "; ".join(
            f"{label}: intra-op {t['intra_op'] or 'default'}, inter-op {t['inter_op'] or 'default'}"
            for label, t in report["machine"].get("threads", {}).items()
        )
        + ".",
        "",
        "| row | p50 ms (1 text) | p99 ms | b1 texts/s | b32 texts/s | b256 texts/s "
        "| b256 best | b256 texts/CPU-s | bulk texts/s | bulk texts/CPU-s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["rows"]:
        m = row["median"]
        best = max((s.get("b256") for s in row["samples"] if "b256" in s), default=None)
        lines.append(
            f"| {row['name']} | {fmt(m.get('p50_ms'), 2)} | {fmt(m.get('p99_ms'), 2)} "
            f"| {fmt(m.get('b1'))} | {fmt(m.get('b32'))} | {fmt(m.get('b256'))} | {fmt(best)} "
            f"| {fmt(m.get('b256_per_cpu_s'))} | {fmt(m.get('bulk'))} "
            f"| {fmt(m.get('bulk_per_cpu_s'))} |"
        )
    lines += ["", *[f"- {note}" for note in report["notes"] + ratio_notes(report["rows"])]]
    return "\n".join(lines) + "\n"


def threads_label(intra: int) -> str:
    return f"intra-op {intra}" if intra else "TF default threads"


def worker(args) -> int:
    """Measures every row under this process's thread setting, one round per stdin line.

    Protocol (stdout, one JSON object per line): {"rows", "notes", "threads", "texts"}
    once, then {"samples": {row: figures}} after each line read from stdin.
    """
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints go to stderr, not into the protocol
    if args.worker:
        tf.config.threading.set_intra_op_parallelism_threads(args.worker)  # before any op

    def send(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    texts = load_goemotions(args.data_dir, taxonomy="fine").dev.texts
    suffix = f" [{threads_label(args.worker)}]"
    with tempfile.TemporaryDirectory() as workdir:
        rows, notes = build_rows(args, texts, Path(workdir))
        threads = {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        }
        send({"rows": [row.name + suffix for row in rows], "notes": notes, "threads": threads,
              "texts": len(texts)})  # fmt: skip
        for _ in sys.stdin:
            samples = {}
            for row in rows:
                figures = samples[row.name + suffix] = row.measure()
                log.info("%s%s: %s", row.name, suffix, {k: round(v, 1) for k, v in figures.items()})
            send({"samples": samples})
    return 0


def start_worker(args, intra: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "TF_NUM_INTRAOP_THREADS"}
    command = [sys.executable, "-m", "emotag.benchmarks.throughput", "--worker", str(intra),
               "--models", *args.models, "--seconds", str(args.seconds),
               "--latency-texts", str(args.latency_texts)]  # fmt: skip
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    pipe = subprocess.PIPE
    return subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True, env=env)


def receive(process: subprocess.Popen, label: str) -> dict:
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"benchmark worker ({label}) exited with {process.wait()}")
    return json.loads(line)


def measure(args) -> tuple[list[str], dict[str, list[dict]], dict, list[float], dict]:
    """Runs the rounds in one worker per thread setting, taking turns.

    Returns:
        (row names, {row: samples per round}, the first worker's hello message (notes,
        texts), load averages, {setting: threads the worker reported}).
    """
    labels = [threads_label(intra) for intra in args.intra_op_threads]
    workers = [start_worker(args, intra) for intra in args.intra_op_threads]
    try:
        names, hellos, threads = [], [], {}
        for label, process in zip(labels, workers):
            hellos.append(receive(process, label))
            names += hellos[-1]["rows"]
            threads[label] = hellos[-1]["threads"]
        samples: dict[str, list[dict]] = {name: [] for name in names}
        loads = []
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for label, process in zip(labels, workers):
                process.stdin.write("round\n")
                process.stdin.flush()
                for name, figures in receive(process, label)["samples"].items():
                    samples[name].append(figures)
            log.info("round %d of %d done", r + 1, args.rounds)
        loads.append(os.getloadavg()[0])
    finally:
        for process in workers:
            process.stdin.close()
        for process in workers:
            process.wait()
    return names, samples, hellos[0], loads, threads  # notes and texts: the same in each


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.worker is not None:
        return worker(args)
    if args.report_only:
        report = json.loads((Path(args.out) / "throughput.json").read_text())
        (Path(args.out) / "throughput.md").write_text(format_markdown(report))
        print(format_markdown(report))
        return 0
    if not args.models:
        raise SystemExit("--models is required")
    settings = args.intra_op_threads
    if len(set(settings)) != len(settings) or min(settings) < 0:
        raise SystemExit("--intra-op-threads takes distinct numbers >= 0")
    names, samples, hello, loads, threads = measure(args)
    report_rows = []
    for name in names:
        keys = samples[name][0].keys()
        median = {k: statistics.median(s[k] for s in samples[name]) for k in keys}
        report_rows.append({"name": name, "median": median, "samples": samples[name]})
    report = {
        "command": command_line("benchmarks/throughput.py", argv),
        "texts": hello["texts"],
        "rounds": args.rounds,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1min_per_round": loads,
            "load_min": min(loads),
            "load_max": max(loads),
            "tensorflow": tf.__version__,
            "threads": threads,
        },
        "rows": report_rows,
        "notes": hello["notes"],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(report, indent=1))
    (out / "throughput.md").write_text(format_markdown(report))
    print(format_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
