"""Multi-label metrics, their CSV export and a validation macro-F1 callback."""

import csv
import logging

import keras
import numpy as np
from sklearn.metrics import precision_recall_fscore_support

logger = logging.getLogger(__name__)

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
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(report["per_class"])


class ValidationMacroF1(keras.callbacks.Callback):
    """Adds validation macro-F1 at tuned per-class thresholds to the epoch logs.

    The model is used with per-class thresholds tuned on the dev set, so the
    score that should drive early stopping and checkpointing is the macro-F1
    at the best per-class thresholds, not at a fixed 0.5. Callbacks see the
    same `logs` dict in list order, so place this callback *before*
    `EarlyStopping`/`ModelCheckpoint` that monitor `name`.

    Args:
        val_data: validation inputs accepted by `model.predict`: arrays or a
            `tf.data.Dataset` (which may also yield `(x, y)` pairs; the
            targets are ignored). A dataset must not be shuffled, so its rows
            line up with `y_val`.
        y_val: array-like `(n, C)` of 0/1 validation labels.
        name: logs key for the tuned macro-F1. The macro-F1 at a fixed 0.5
            threshold is logged under `f"{name}_at_0.5"`.
        batch_size: prediction batch size for array inputs.

    Example:
    ```python
    callbacks = [
        ValidationMacroF1(x_val, y_val),
        keras.callbacks.EarlyStopping(
            monitor="val_macro_f1", mode="max", patience=3, restore_best_weights=True
        ),
    ]
    model.fit(x_train, y_train, epochs=20, callbacks=callbacks)
    ```
    """

    def __init__(self, val_data, y_val, name="val_macro_f1", batch_size=256):
        super().__init__()
        self.val_data = val_data
        self.y_val = np.asarray(y_val).astype(bool)
        self.name = name
        self.batch_size = batch_size
        self.history = []
        self.thresholds = None

    def on_epoch_end(self, epoch, logs=None):
        # Imported here because calibration builds on this module's F1 helpers.
        from emotag.calibration import best_threshold_per_class

        # Keras ignores batch_size when val_data is a dataset.
        probs = self.model.predict(self.val_data, batch_size=self.batch_size, verbose=0)
        if probs.shape != self.y_val.shape:
            raise ValueError(f"predictions {probs.shape} do not match y_val {self.y_val.shape}")
        search = best_threshold_per_class(probs, self.y_val)
        tuned = float(np.mean(search.f1))
        fixed = macro_f1(self.y_val, probs >= 0.5)
        self.thresholds = search.thresholds
        self.history.append({"epoch": epoch, self.name: tuned, f"{self.name}_at_0.5": fixed})
        if logs is not None:
            logs[self.name] = tuned
            logs[f"{self.name}_at_0.5"] = fixed
        logger.info("epoch %d: %s=%.4f (at 0.5: %.4f)", epoch + 1, self.name, tuned, fixed)


def selection_callbacks(val_data, y_val, patience):
    """Model selection by dev macro-F1 at tuned thresholds, best weights restored.

    Returns:
        `[ValidationMacroF1, EarlyStopping]` in the order they must run.
    """
    return [
        ValidationMacroF1(val_data, y_val),
        keras.callbacks.EarlyStopping(
            monitor="val_macro_f1",
            mode="max",
            patience=patience,
            restore_best_weights=True,
            verbose=1,
        ),
    ]
