"""What each threshold objective costs the others, and what temperature scaling does to
the probabilities, for trained runs -> benchmarks/results/calibration.md.

Usage:
    emotag benchmark calibration --models artifacts/<run> [artifacts/<run> ...]
    emotag benchmark calibration --semeval-style /tmp/semeval-style

For each run: its probabilities on dev and test (through the run's SavedModel), per-class
thresholds fitted on dev for macro-F1, micro-F1 and Jaccard, each scored on dev and on
test by all three; and a temperature fitted on dev by log-loss, with test ECE and Brier
before and after it. Dev chooses everything; test is only reported.

`--semeval-style DIR` measures a TF-IDF baseline instead, trained in seconds on a
synthetic SemEval-2018 E-c file set that it writes to DIR/data
(`emotag.benchmarks.semeval_style`, the generator the tests use; not the real data), and
writes calibration_semeval_style.md and .json.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from emotag.benchmarks.semeval_style import SIZES, write_semeval_style
from emotag.config import HelpFormatter, command_line, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.objectives import objective_table
from emotag.evaluation.reliability import apply_temperature, brier_score, choose_temperature
from emotag.evaluation.reliability import expected_calibration_error as ece
from emotag.evaluation.scoring import objective_thresholds
from emotag.serving.predictor import Predictor

log = logging.getLogger("benchmark.calibration")


def semeval_style_note(data_dir: Path) -> str:
    """What the synthetic data is, with its sizes and label counts, for the report."""
    data = load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(data_dir)))
    labels = np.concatenate([data.train.labels, data.dev.labels, data.test.labels])
    per_tweet = labels.sum(axis=1)
    return (
        "**Synthetic data, not SemEval-2018.** The tweets come from the tests' generator "
        "(`emotag.benchmarks.semeval_style`, seed 0) in the E-c format with its 11 emotions: "
        f"{len(data.train.texts)} train / {len(data.dev.texts)} dev / {len(data.test.texts)} "
        f"test tweets, {per_tweet.mean():.2f} emotions per tweet from emotions that "
        f"co-occur, {np.mean(per_tweet == 0):.0%} with none, cue words plus noise. The "
        "tables show what each objective does on E-c-shaped labels; they are not results "
        "on the real task."
    )


def measure(run_dir: str | Path, data_dir: str | None = None) -> dict:
    """The objective table and the temperature figures of one run (JSON-ready)."""
    predictor = Predictor.load(run_dir)
    spec = DatasetSpec.from_config(predictor.run.train_config).for_evaluation(data_dir)
    data = load_dataset(spec)
    dev = predictor.predict_proba(data.dev.texts)
    test = predictor.predict_proba(data.test.texts)
    temperature, fit = choose_temperature(dev, data.dev.labels)
    scaled = apply_temperature(test, fit["fitted"])
    thresholds = objective_thresholds(dev, data.dev.labels)
    return {
        "run": Path(run_dir).name,
        "objectives": objective_table(test, data.test.labels, thresholds),
        "objectives_dev": objective_table(dev, data.dev.labels, thresholds),
        "temperature": {
            **fit,
            "used": temperature,
            "test_ece_before": ece(test, data.test.labels),
            "test_ece_after": ece(scaled, data.test.labels),
            "test_brier_before": brier_score(test, data.test.labels),
            "test_brier_after": brier_score(scaled, data.test.labels),
        },
    }


def objective_rows(results: list[dict], key: str, split: str) -> list[str]:
    """A markdown table of each run's `key` table: a row per objective tuned for."""
    lines = [
        f"| run | tuned for | {split} macro-F1 | {split} micro-F1 | {split} Jaccard |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in results:
        for tuned, scores in r[key].items():
            lines.append(f"| {r['run']} | {tuned} | {scores['macro']:.4f} | "
                         f"{scores['micro']:.4f} | {scores['jaccard']:.4f} |")  # fmt: skip
    return lines


def report(results: list[dict], command: str, note: str | None = None) -> str:
    lines = ["# Threshold objectives and temperature scaling", "", f"`{command}`", ""]
    lines += [note, ""] if note else []
    lines += ["Thresholds tuned on dev for each objective (rows), scored on test by each "
              "metric:", "", *objective_rows(results, "objectives", "test")]  # fmt: skip
    lines += ["", "The same thresholds on dev, where they were tuned (each column's best is "
              "its own objective's row):", "",
              *objective_rows(results, "objectives_dev", "dev")]  # fmt: skip
    lines += [
        "", "Temperature fitted on dev by log-loss (kept by training only if dev ECE drops):", "",
        "| run | T | kept | dev ECE before / after | test ECE before / after "
        "| test Brier before / after |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]  # fmt: skip
    for r in results:
        t = r["temperature"]
        lines.append(
            f"| {r['run']} | {t['fitted']:.3f} | {'yes' if t['kept'] else 'no'} | "
            f"{t['dev_ece_before']:.4f} / {t['dev_ece_after']:.4f} | "
            f"{t['test_ece_before']:.4f} / {t['test_ece_after']:.4f} | "
            f"{t['test_brier_before']:.5f} / {t['test_brier_after']:.5f} |"
        )
    return "\n".join(lines) + "\n"


def train_semeval_style(directory: str | Path, sizes=SIZES) -> tuple[Path, str]:
    """Writes the synthetic E-c files to directory/data and trains the TF-IDF baseline
    on them into directory/runs (seconds).

    Args:
        directory: where the data and the run go.
        sizes: (train, dev, test) tweets of the synthetic set.

    Returns:
        (the run directory, the report's note on the data).
    """
    from emotag.training.baseline import BaselineConfig, train

    data_dir = write_semeval_style(Path(directory) / "data", sizes=sizes)
    config = BaselineConfig(dataset="semeval-ec", data_dir=str(data_dir), min_df=1,
                            output_dir=str(Path(directory) / "runs"),
                            run_name="tfidf-lr-semeval-style")  # fmt: skip
    return train(config), semeval_style_note(data_dir)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """--models RUN ... or --semeval-style DIR (with its sizes), and --data-dir."""
    runs = parser.add_mutually_exclusive_group(required=True)
    runs.add_argument("--models", nargs="+", help="run directories to measure")
    runs.add_argument("--semeval-style", metavar="DIR",
                      help="write synthetic SemEval-2018 E-c files to DIR/data, train the TF-IDF "
                      "baseline on them into DIR/runs and measure it (not real SemEval data)")
    parser.add_argument("--semeval-style-sizes", nargs=3, type=int, default=list(SIZES),
                        metavar=("TRAIN", "DEV", "TEST"),
                        help="tweets per split of the synthetic set (default: the E-c "
                        f"release's, {' '.join(map(str, SIZES))})")
    parser.add_argument("--data-dir", default=None,
                        help="data directory; None = each run's own (default: None)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_run_arguments(parser)
    parser.add_argument("--out", default="benchmarks/results",
                        help="directory for calibration.md and calibration.json, or "
                        "calibration_semeval_style.md and .json (default: benchmarks/results)")
    return parser  # fmt: skip


def main(argv=None) -> int:
    setup_logging()
    args = build_parser().parse_args(argv)
    runs, stem, note = args.models, "calibration", None
    if args.semeval_style:
        run, note = train_semeval_style(args.semeval_style, args.semeval_style_sizes)
        runs, stem = [run], "calibration_semeval_style"
    results = [measure(run, args.data_dir) for run in runs]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    text = report(results, command_line("benchmarks/calibration.py", argv), note)
    (out / f"{stem}.md").write_text(text)
    print(text)
    return 0
