"""Is run B really better than run A? A paired bootstrap over the same examples.

Usage:
    emotag compare artifacts/<run A> artifacts/<run B>               # test split
    emotag compare RUN_A RUN_B --split dev --json comparison.json

Reads each run's `predictions_<split>.tsv` (test: written by training; dev or train:
written by `emotag evaluate --split dev`), checks that both runs scored the same texts
with the same gold labels and label names, and resamples those examples with
replacement: the difference B - A in macro-F1, micro-F1, Jaccard and each class's F1,
its 95% interval and a two-sided p-value. Runs scored on different data are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from emotag.analysis.comparison import Predictions, read_predictions
from emotag.evaluation.intervals import RESAMPLES, SEED, paired_bootstrap, to_json


class ComparisonError(ValueError):
    """The two runs cannot be compared example by example."""


def predictions_file(run: Path, split: str) -> Path:
    """Where a run keeps its predictions of `split`; raises with the command that makes it."""
    name = f"predictions_{split}.tsv"
    for candidate in (run / name, run / f"eval_{split}" / name):
        if candidate.is_file():
            return candidate
    raise ComparisonError(
        f"{run} has no predictions of the {split} split; make them with: "
        f"emotag evaluate --model {run} --split {split}"
    )


def check_same_examples(a: Predictions, b: Predictions, names: tuple[str, str]) -> None:
    """Refuses runs scored on different texts, gold labels or label sets."""
    if a.label_names != b.label_names:
        raise ComparisonError(f"{names[0]} and {names[1]} have different labels")
    if a.ids != b.ids or a.texts != b.texts:
        raise ComparisonError(f"{names[0]} and {names[1]} were scored on different examples")
    if not np.array_equal(a.gold, b.gold):
        raise ComparisonError(f"{names[0]} and {names[1]} have different gold labels")


def compare(run_a: str | Path, run_b: str | Path, split: str = "test",
            resamples: int = RESAMPLES, seed: int = SEED) -> dict:  # fmt: skip
    """The paired comparison of two runs on `split` (JSON-ready)."""
    a_dir, b_dir = Path(run_a), Path(run_b)
    a = read_predictions(predictions_file(a_dir, split))
    b = read_predictions(predictions_file(b_dir, split))
    check_same_examples(a, b, (a_dir.name, b_dir.name))
    result = paired_bootstrap(a.gold, a.predicted, b.predicted, resamples=resamples, seed=seed)
    per_class = dict(zip(a.label_names, result.pop("per_class_f1")))
    return to_json({
        "run_a": str(a_dir), "run_b": str(b_dir), "split": split, "examples": len(a.ids),
        "resamples": resamples, "seed": seed, "method": "paired bootstrap over examples",
        **result, "per_class_f1": per_class,
    })  # fmt: skip


def format_table(result: dict, alpha: float = 0.05) -> str:
    """The comparison as Markdown: overall rows, then classes, significant ones starred."""
    lines = [
        f"B = {result['run_b']} vs A = {result['run_a']}, {result['split']} split, "
        f"{result['examples']} examples, {result['resamples']} paired resamples",
        "",
        "| metric | A | B | B - A | 95% interval | p | |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    rows = [(k, result[k]) for k in ("macro_f1", "micro_f1", "jaccard")]
    rows += [(f"F1 {label}", r) for label, r in result["per_class_f1"].items()]
    for name, r in rows:
        lo, hi = r["interval"]
        star = "*" if r["p_value"] < alpha else ""
        lines.append(
            f"| {name} | {r['a']:.4f} | {r['b']:.4f} | {r['difference']:+.4f} | "
            f"[{lo:+.4f}, {hi:+.4f}] | {r['p_value']:.3f} | {star} |"
        )
    lines += ["", f"* p < {alpha} (two-sided; not corrected for the number of classes)"]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_a", help="run directory of model A (the reference)")
    parser.add_argument("run_b", help="run directory of model B (compared with A)")
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"],
                        help="split whose predictions are compared (default: test)")
    parser.add_argument("--resamples", type=int, default=RESAMPLES,
                        help=f"bootstrap resamples (default: {RESAMPLES})")
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"seed of the resampling (default: {SEED})")
    parser.add_argument("--json", dest="json_out", default=None,
                        help="also write the full result to this JSON file (default: none)")
    return parser  # fmt: skip


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.resamples < 100:
        print("emotag compare: error: --resamples must be >= 100", file=sys.stderr)
        return 2
    try:
        result = compare(args.run_a, args.run_b, args.split, args.resamples, args.seed)
    except ComparisonError as e:
        print(f"emotag compare: error: {e}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))
    return 0
