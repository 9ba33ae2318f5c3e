"""Score thresholded predictions and write the evaluation files of a run.

Files written into the output directory:
- `overall_metrics.json`: macro / micro / weighted / samples precision, recall and F1;
- `per_class_report.csv`: precision, recall, F1 and support per label;
- `predictions_<split>.tsv`: text, id, gold labels, predicted labels, one probability
  column per emotion name;
- `per_class_f1.png`: bar chart of per-class F1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from emotag.evaluation.intervals import confidence_intervals, jaccard_per_example
from emotag.evaluation.metrics import multilabel_report, write_per_class_csv
from emotag.evaluation.plots import plot_per_class_f1
from emotag.evaluation.reliability import calibration_report, plot_reliability
from emotag.runs import layout
from emotag.runs.thresholds import apply_thresholds


def write_predictions_tsv(
    path: str | Path,
    texts: list[str],
    ids: list[str],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
    probs: np.ndarray,
    label_names: list[str],
) -> None:
    """Writes one row per text with emotion-name probability columns."""

    def names(row) -> str:
        return ",".join(label_names[j] for j in np.flatnonzero(row))

    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        gold = ["gold"] if y_true is not None else []
        writer.writerow(["id", "text", *gold, "predicted", *label_names])
        for i, text in enumerate(texts):
            gold = [names(y_true[i])] if y_true is not None else []
            row_probs = [f"{p:.4f}" for p in probs[i]]
            writer.writerow([ids[i], text, *gold, names(y_pred[i]), *row_probs])


def evaluate_probabilities(
    out_dir: str | Path,
    split: str,
    texts: list[str],
    ids: list[str],
    y_true: np.ndarray,
    probs: np.ndarray,
    thresholds: np.ndarray,
    label_names: list[str],
    at_least_one: bool = False,
    title: str | None = None,
) -> dict:
    """Thresholds `probs`, scores them against `y_true` and writes the files above.

    Returns:
        The metrics report (as written to `overall_metrics.json`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    y_pred = apply_thresholds(probs, thresholds, at_least_one=at_least_one)
    report = multilabel_report(y_true, y_pred, label_names)
    report["split"] = split
    report["num_examples"] = len(texts)
    report["at_least_one"] = bool(at_least_one)
    report["jaccard"] = float(jaccard_per_example(y_true, y_pred).mean())
    report["intervals"] = confidence_intervals(y_true, y_pred, label_names)
    report["probability_calibration"] = calibration_report(probs, y_true, label_names)
    for row in report["per_class"]:
        row["f1_low"], row["f1_high"] = report["intervals"]["per_class_f1"][row["label"]]
    (out / layout.OVERALL_METRICS).write_text(json.dumps(report, indent=2))
    write_per_class_csv(report, out / layout.PER_CLASS_REPORT)
    write_predictions_tsv(
        out / layout.predictions_name(split), texts, ids, y_true, y_pred, probs, label_names
    )
    title = title or f"Per-class F1 ({split})"
    plot_per_class_f1(report, out / layout.PER_CLASS_F1_PLOT, title=title)
    plot_reliability(probs, y_true, out / layout.RELIABILITY_PLOT, title=f"Reliability ({split})")
    return report
