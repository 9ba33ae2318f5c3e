"""What each threshold objective costs the others, and what temperature scaling does to
the probabilities, for trained runs -> benchmarks/results/calibration.md.

Usage:
    emotag benchmark calibration --models artifacts/<run> [artifacts/<run> ...]

For each run: its probabilities on dev and test (through the run's SavedModel), per-class
thresholds fitted on dev for macro-F1, micro-F1 and Jaccard, each scored on test by all
three; and a temperature fitted on dev by log-loss, with test ECE and Brier before and
after it. Dev chooses everything; test is only reported.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from emotag.config import HelpFormatter, command_line, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.reliability import apply_temperature, brier_score, choose_temperature
from emotag.evaluation.reliability import expected_calibration_error as ece
from emotag.evaluation.scoring import objective_costs
from emotag.serving.predictor import Predictor

log = logging.getLogger("benchmark.calibration")


def measure(run_dir: str | Path, data_dir: str | None = None) -> dict:
    """The objective table and the temperature figures of one run (JSON-ready)."""
    predictor = Predictor.load(run_dir)
    spec = DatasetSpec.from_config(predictor.run.train_config).for_evaluation(data_dir)
    data = load_dataset(spec)
    dev = predictor.predict_proba(data.dev.texts)
    test = predictor.predict_proba(data.test.texts)
    temperature, fit = choose_temperature(dev, data.dev.labels)
    scaled = apply_temperature(test, fit["fitted"])
    return {
        "run": Path(run_dir).name,
        "objectives": objective_costs(dev, data.dev.labels, test, data.test.labels),
        "temperature": {
            **fit,
            "used": temperature,
            "test_ece_before": ece(test, data.test.labels),
            "test_ece_after": ece(scaled, data.test.labels),
            "test_brier_before": brier_score(test, data.test.labels),
            "test_brier_after": brier_score(scaled, data.test.labels),
        },
    }


def report(results: list[dict], command: str) -> str:
    lines = ["# Threshold objectives and temperature scaling", "", f"`{command}`", ""]
    lines += [
        "Thresholds tuned on dev for each objective (rows), scored on test by each metric:", "",
        "| run | tuned for | test macro-F1 | test micro-F1 | test Jaccard |",
        "| --- | --- | ---: | ---: | ---: |",
    ]  # fmt: skip
    for r in results:
        for tuned, scores in r["objectives"].items():
            lines.append(f"| {r['run']} | {tuned} | {scores['macro']:.4f} | "
                         f"{scores['micro']:.4f} | {scores['jaccard']:.4f} |")  # fmt: skip
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--models", nargs="+", required=True, help="run directories to measure")
    parser.add_argument("--data-dir", default=None,
                        help="data directory; None = each run's own (default: None)")
    parser.add_argument("--out", default="benchmarks/results",
                        help="directory for calibration.md and calibration.json "
                        "(default: benchmarks/results)")
    return parser  # fmt: skip


def main(argv=None) -> int:
    setup_logging()
    args = build_parser().parse_args(argv)
    results = [measure(run, args.data_dir) for run in args.models]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(results, indent=2))
    text = report(results, command_line("benchmarks/calibration.py", argv))
    (out / "calibration.md").write_text(text)
    print(text)
    return 0
