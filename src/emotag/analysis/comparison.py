"""Model comparison (notebook 02): runs side by side, PR curves, threshold effects."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from emotag.evaluation.metrics import per_class_f1
from emotag.runs import layout


def find_runs(artifacts_dir: str | Path) -> list[Path]:
    """Run directories (with `overall_metrics.json`) directly under `artifacts_dir`, by name."""
    root = Path(artifacts_dir)
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / layout.OVERALL_METRICS).is_file()
    )  # fmt: skip


def overall_table(run_dirs: list[Path]) -> pd.DataFrame:
    """One row per run: test macro / micro F1, macro precision and recall, model, time."""
    rows = []
    for run in run_dirs:
        metrics = json.loads((run / layout.OVERALL_METRICS).read_text())
        info_path = run / layout.RUN_INFO
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        rows.append({
            "run": run.name,
            "model": info.get("model", ""),
            "macro_f1": metrics["macro"]["f1"],
            "micro_f1": metrics["micro"]["f1"],
            "macro_precision": metrics["macro"]["precision"],
            "macro_recall": metrics["macro"]["recall"],
            "wall_time_s": info.get("wall_time_s"),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def per_class_f1_table(run_dirs: list[Path]) -> pd.DataFrame:
    """Test F1 per label (rows) and run (columns), from each `per_class_report.csv`."""
    columns = {}
    for run in run_dirs:
        with open(run / layout.PER_CLASS_REPORT, encoding="utf-8", newline="") as f:
            columns[run.name] = {r["label"]: float(r["f1"]) for r in csv.DictReader(f)}
    return pd.DataFrame(columns)


@dataclasses.dataclass
class Predictions:
    """A `predictions_<split>.tsv` read back: gold, predicted and probabilities per text."""

    ids: list[str]
    texts: list[str]
    gold: np.ndarray  # (n, C) 0/1
    predicted: np.ndarray  # (n, C) 0/1
    probs: np.ndarray  # (n, C) float32
    label_names: list[str]


def read_predictions(path: str | Path, limit: int | None = None) -> Predictions:
    """Reads a predictions TSV of `emotag.evaluation.reports` (first `limit` rows if given)."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        rows = [row for _, row in zip(range(limit or 2**62), reader)]
    names = header[4:]
    index = {n: j for j, n in enumerate(names)}

    def multi_hot(cells):
        out = np.zeros((len(cells), len(names)), dtype=np.int64)
        for i, cell in enumerate(cells):
            for name in filter(None, cell.split(",")):
                out[i, index[name]] = 1
        return out

    return Predictions(
        ids=[r[0] for r in rows],
        texts=[r[1] for r in rows],
        gold=multi_hot([r[2] for r in rows]),
        predicted=multi_hot([r[3] for r in rows]),
        probs=np.array([[float(v) for v in r[4:]] for r in rows], dtype=np.float32).reshape(
            len(rows), len(names)
        ),
        label_names=names,
    )


def precision_recall_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall when predicting `scores >= t`, for each distinct score t.

    Returns:
        (precision, recall, thresholds), thresholds in decreasing order. Recall is 0
        throughout when there are no positives.
    """
    y_true = np.asarray(y_true).astype(bool)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], y_true[order]
    last = np.append(s[1:] != s[:-1], True)  # cut only after a run of equal scores
    tp = np.cumsum(y)[last]
    predicted = np.arange(1, len(s) + 1)[last]
    positives = max(int(y_true.sum()), 1)  # tp is all 0 when there are none
    return tp / predicted, tp / positives, s[last]


def average_precision(y_true, scores) -> float:
    """Area under the step precision-recall curve: sum of precision x recall gained."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def pr_curves(preds: Predictions, labels: list[str]) -> dict:
    """Label -> (precision, recall, thresholds) of `precision_recall_curve` on `preds`."""
    return {
        name: precision_recall_curve(
            preds.gold[:, preds.label_names.index(name)],
            preds.probs[:, preds.label_names.index(name)],
        )
        for name in labels
    }


def average_precision_table(predictions: dict) -> pd.DataFrame:
    """Average precision per label (rows) and run (columns).

    Args:
        predictions: run name -> `Predictions`.
    """
    return pd.DataFrame({
        run: {name: average_precision(p.gold[:, j], p.probs[:, j])
              for j, name in enumerate(p.label_names)}
        for run, p in predictions.items()
    })  # fmt: skip


def threshold_sweep(gold: np.ndarray, probs: np.ndarray, grid=None) -> pd.DataFrame:
    """Macro-F1, micro-F1 and labels per text when one global threshold is used.

    Args:
        gold: (n, C) 0/1 labels.
        probs: (n, C) probabilities.
        grid: thresholds to try; default 0.05, 0.10, ..., 0.95.
    """
    gold = np.asarray(gold).astype(bool)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2) if grid is None else np.asarray(grid)
    rows = []
    for t in grid:
        pred = np.asarray(probs) >= t
        tp = np.sum(gold & pred)
        denom = 2 * tp + np.sum(gold ^ pred)
        rows.append({
            "threshold": float(t),
            "macro_f1": float(np.mean(per_class_f1(gold, pred))),
            "micro_f1": float(2 * tp / denom) if denom else 0.0,
            "labels_per_text": float(pred.sum(axis=1).mean()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def threshold_effects(
    gold: np.ndarray,
    probs: np.ndarray,
    thresholds: np.ndarray,
    label_names: list[str],
    fixed: float = 0.5,
) -> pd.DataFrame:
    """Per label: its calibrated threshold, F1 with it, F1 at `fixed`, and the gain.

    Returns:
        DataFrame: label, threshold, f1_calibrated, f1_fixed, gain; largest gain first.
    """
    gold = np.asarray(gold).astype(bool)
    probs = np.asarray(probs, dtype=np.float32)
    thresholds = np.asarray(thresholds, dtype=np.float32)
    calibrated = per_class_f1(gold, probs >= thresholds)
    at_fixed = per_class_f1(gold, probs >= np.float32(fixed))
    table = pd.DataFrame({
        "label": label_names, "threshold": thresholds.astype(float),
        "f1_calibrated": calibrated, "f1_fixed": at_fixed, "gain": calibrated - at_fixed,
    })  # fmt: skip
    return table.sort_values(["gain", "label"], ascending=[False, True]).reset_index(drop=True)
