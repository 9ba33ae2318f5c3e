"""Multi-label metrics and their CSV export."""

import csv

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

AVERAGES = ("macro", "micro", "weighted", "samples")


def per_class_f1(y_true, y_pred):
    """F1 of each class (column) of binary indicator matrices.

    A class with no true and no predicted positives scores 0, matching
    sklearn's `zero_division=0`.

    Args:
        y_true: array-like `(n, C)` of 0/1.
        y_pred: array-like `(n, C)` of 0/1 or bool.

    Returns:
        float64 array of shape `(C,)`.
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = np.sum(y_true & y_pred, axis=0)
    fp = np.sum(~y_true & y_pred, axis=0)
    fn = np.sum(y_true & ~y_pred, axis=0)
    denom = 2 * tp + fp + fn
    return np.divide(2.0 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)


def macro_f1(y_true, y_pred):
    """Unweighted mean of `per_class_f1`; a fast stand-in for sklearn's macro F1."""
    return float(np.mean(per_class_f1(y_true, y_pred)))


def multilabel_report(y_true, y_pred, label_names):
    """Precision, recall and F1 of a multi-label prediction.

    Args:
        y_true: array-like `(n, C)` of 0/1 gold labels.
        y_pred: array-like `(n, C)` of 0/1 predictions.
        label_names: sequence of `C` class names, in column order.

    Returns:
        JSON-ready dict: one entry per average in `AVERAGES`, each a dict with
        `precision`, `recall` and `f1`; `per_class`, a list of dicts with
        `label`, `precision`, `recall`, `f1` and `support` (gold positives);
        and `num_examples`.
    """
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    if y_true.shape != y_pred.shape or y_true.shape[1] != len(label_names):
        raise ValueError(
            f"shapes {y_true.shape} and {y_pred.shape} do not match {len(label_names)} labels"
        )
    report = {"num_examples": int(y_true.shape[0])}
    for average in AVERAGES:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )
        report[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    p, r, f, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=0
    )
    report["per_class"] = [
        {
            "label": name,
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    ]
    return report


def write_per_class_csv(report, path):
    """Write the `per_class` rows of a `multilabel_report` to a CSV file.

    Args:
        report: dict returned by `multilabel_report`.
        path: destination file path.
    """
    fields = ["label", "precision", "recall", "f1", "support"]
    if report["per_class"] and "f1_low" in report["per_class"][0]:
        fields[4:4] = ["f1_low", "f1_high"]  # the 95% bootstrap interval of f1
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(report["per_class"])
