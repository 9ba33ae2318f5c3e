"""How sure are the scores (notebook 02): bootstrap intervals, paired differences, calibration.

Runs scored before intervals existed have an `overall_metrics.json` without
"intervals"; `emotag evaluate` re-scores them into `eval_test/`. Every table here reads
the first metrics file that has intervals (the run's own, then `eval_test/`) and falls
back to the run's point estimates, saying so in its `intervals` column.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

from emotag.runs import layout

SCORES = ("macro_f1", "micro_f1", "jaccard")
MISSING = "missing"  # the `intervals` column of a run whose metrics have none
ALPHA = 0.05  # significance level of `paired_table`'s `significant` column


def metrics_source(run: str | Path, split: str = "test") -> str:
    """Where a run's scores with intervals are, relative to the run directory.

    Args:
        run: a run directory.
        split: the scored split (its evaluation folder is `eval_<split>/`).

    Returns:
        "overall_metrics.json" or "eval_<split>/overall_metrics.json", whichever has
        intervals first; the run's own file when neither has them.
    """
    run = Path(run)
    candidates = [layout.OVERALL_METRICS,
                  f"{layout.EVAL_DIR.format(split=split)}/{layout.OVERALL_METRICS}"]  # fmt: skip
    for name in candidates:
        path = run / name
        if path.is_file() and "intervals" in json.loads(path.read_text()):
            return name
    return layout.OVERALL_METRICS


def _score_row(metrics: dict) -> dict:
    points = {"macro_f1": metrics["macro"]["f1"], "micro_f1": metrics["micro"]["f1"],
              "jaccard": metrics.get("jaccard", np.nan)}  # fmt: skip
    intervals = metrics.get("intervals", {})
    row = {}
    for key in SCORES:
        low, high = intervals.get(key, (np.nan, np.nan))
        row.update({key: points[key], f"{key}_low": low, f"{key}_high": high})
    return row


def intervals_table(runs: list[Path], split: str = "test") -> pd.DataFrame:
    """One row per run: macro-F1, micro-F1 and Jaccard with their 95% interval bounds.

    Args:
        runs: run directories.
        split: the scored split.

    Returns:
        Indexed by run name; columns <score>, <score>_low, <score>_high for each of
        `SCORES` (NaN when unknown), and `intervals`: the metrics file read, or
        `MISSING` when no file of the run has intervals (point estimates only).
    """
    rows = []
    for run in runs:
        source = metrics_source(run, split)
        metrics = json.loads((Path(run) / source).read_text())
        has = "intervals" in metrics
        rows.append({"run": Path(run).name, **_score_row(metrics),
                     "intervals": source if has else MISSING})  # fmt: skip
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def missing_note(table: pd.DataFrame) -> str:
    """A sentence naming the runs of `intervals_table` without intervals ("" if none)."""
    if table.empty or "intervals" not in table:
        return ""
    missing = table.index[table["intervals"] == MISSING].tolist()
    if not missing:
        return ""
    return (f"Intervals missing for {', '.join(missing)}: point estimates only "
            "(re-score with `emotag evaluate --model <run>` to add them).")  # fmt: skip


def per_class_intervals(run: str | Path, split: str = "test") -> pd.DataFrame:
    """Per-class F1 of a run with its 95% interval, from the report beside its metrics.

    Returns:
        DataFrame: label, f1, f1_low, f1_high (NaN bounds when the report has none),
        support; in the report's (label) order.
    """
    folder = (Path(run) / metrics_source(run, split)).parent
    with open(folder / layout.PER_CLASS_REPORT, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    def number(row, key):
        return float(row[key]) if row.get(key) not in (None, "") else np.nan

    return pd.DataFrame([
        {"label": r["label"], "f1": number(r, "f1"), "f1_low": number(r, "f1_low"),
         "f1_high": number(r, "f1_high"), "support": int(float(r["support"]))}
        for r in rows
    ], columns=["label", "f1", "f1_low", "f1_high", "support"])  # fmt: skip


def calibration_table(runs: list[Path], split: str = "test") -> pd.DataFrame:
    """One row per run: ECE and Brier score of its probabilities (NaN when not recorded)."""
    rows = []
    for run in runs:
        metrics = json.loads((Path(run) / metrics_source(run, split)).read_text())
        calibration = metrics.get("probability_calibration", {})
        rows.append({"run": Path(run).name, "ece": calibration.get("ece", np.nan),
                     "brier": calibration.get("brier", np.nan)})  # fmt: skip
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def _labels(run: Path) -> str | None:
    path = run / layout.LABELS
    return path.read_text(encoding="utf-8").split() if path.is_file() else None


def comparable_pairs(runs: list[Path]) -> list[tuple[Path, Path]]:
    """Every pair (A, B) of runs, A before B, whose `labels.txt` name the same labels.

    Runs with different label sets (Ekman against fine labels) cannot be compared
    example by example, so they are left out rather than refused one by one.
    """
    runs = [Path(r) for r in runs]
    return [
        (a, b) for i, a in enumerate(runs) for b in runs[i + 1:]
        if _labels(a) is not None and _labels(a) == _labels(b)
    ]  # fmt: skip


def paired_title(result: dict) -> str:
    """One line naming a comparison of `emotag.commands.compare.compare` by run names."""
    return (f"B = {Path(result['run_b']).name} vs A = {Path(result['run_a']).name}: "
            f"{result['split']} split, {result['examples']:,} examples, "
            f"{result['resamples']:,} paired resamples")  # fmt: skip


def paired_table(result: dict, alpha: float = ALPHA) -> pd.DataFrame:
    """The paired comparison as a table: overall scores, then each class's F1.

    Args:
        result: from `emotag.commands.compare.compare(run_a, run_b)`.
        alpha: level below which a p-value marks the difference significant.

    Returns:
        Indexed by metric (macro_f1, micro_f1, jaccard, "F1 <label>", ...); columns
        a, b, difference (B - A), low, high (its 95% interval), p_value, significant.
    """
    rows = [(key, result[key]) for key in SCORES]
    rows += [(f"F1 {label}", r) for label, r in result["per_class_f1"].items()]
    return pd.DataFrame([
        {"metric": name, "a": r["a"], "b": r["b"], "difference": r["difference"],
         "low": r["interval"][0], "high": r["interval"][1], "p_value": r["p_value"],
         "significant": r["p_value"] < alpha}
        for name, r in rows
    ]).set_index("metric")  # fmt: skip
