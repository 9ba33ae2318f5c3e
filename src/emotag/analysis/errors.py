"""Error analysis (notebook 03): confusions, worst examples, attention on them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emotag.analysis.comparison import Predictions
from emotag.evaluation.metrics import per_class_f1
from emotag.serving.explain import heatmap_html


def confusion_counts(gold: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(C, C) counts: entry (g, p) = texts where gold label g was missed and p wrongly predicted."""
    gold = np.asarray(gold).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    missed = (gold & ~predicted).astype(np.int64)
    spurious = (predicted & ~gold).astype(np.int64)
    return missed.T @ spurious


def confusion_pairs(
    gold: np.ndarray,
    predicted: np.ndarray,
    label_names: list[str],
    top: int = 20,
    exclude: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Most frequent (missed gold label, wrongly predicted label) pairs within one text.

    A text with gold {anger} predicted as {annoyance} counts once for
    (anger, annoyance). Multi-label confusion has no single "instead of", so every
    missed label is paired with every spurious one of the same text. Labels in
    `exclude` (e.g. `("neutral",)`, which dominates) are left out on both sides.

    Returns:
        DataFrame: gold, predicted, count, share_of_gold (count / gold label's support).
    """
    matrix = confusion_counts(gold, predicted)
    support = np.asarray(gold).astype(bool).sum(axis=0)
    i, j = np.nonzero(matrix)
    kept = [k for k in range(len(i)) if label_names[i[k]] not in exclude
            and label_names[j[k]] not in exclude]  # fmt: skip
    i, j = i[kept], j[kept]
    table = pd.DataFrame({
        "gold": [label_names[k] for k in i],
        "predicted": [label_names[k] for k in j],
        "count": matrix[i, j],
        "share_of_gold": matrix[i, j] / np.maximum(support[i], 1),
    })  # fmt: skip
    table = table.sort_values(["count", "gold", "predicted"], ascending=[False, True, True])
    return table.head(top).reset_index(drop=True)


def class_errors(gold: np.ndarray, predicted: np.ndarray, label_names: list[str]) -> pd.DataFrame:
    """Per label: support, true / false positives, false negatives and F1, worst F1 first."""
    gold = np.asarray(gold).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    table = pd.DataFrame({
        "label": label_names,
        "support": gold.sum(axis=0),
        "tp": (gold & predicted).sum(axis=0),
        "fp": (~gold & predicted).sum(axis=0),
        "fn": (gold & ~predicted).sum(axis=0),
        "f1": per_class_f1(gold, predicted),
    })  # fmt: skip
    return table.sort_values(["f1", "label"]).reset_index(drop=True)


def _example_rows(preds: Predictions, rows, probability_of: int) -> pd.DataFrame:
    def names(row):
        return ", ".join(preds.label_names[k] for k in np.flatnonzero(row))

    return pd.DataFrame([
        {"text": preds.texts[i], "gold": names(preds.gold[i]),
         "predicted": names(preds.predicted[i]),
         "probability": float(preds.probs[i, probability_of])}
        for i in rows
    ], columns=["text", "gold", "predicted", "probability"])  # fmt: skip


def worst_examples(preds: Predictions, label: str, kind: str = "fp", n: int = 5) -> pd.DataFrame:
    """The most confident mistakes on one label.

    Args:
        preds: from `read_predictions`.
        label: a label name.
        kind: "fp" (predicted, not gold; highest probability first) or "fn" (gold,
            not predicted; lowest probability first).
        n: rows to return.

    Returns:
        DataFrame: text, gold, predicted, probability (of `label`).
    """
    j = preds.label_names.index(label)
    gold, pred, p = preds.gold[:, j] > 0, preds.predicted[:, j] > 0, preds.probs[:, j]
    if kind == "fp":
        rows = np.flatnonzero(pred & ~gold)
        rows = rows[np.argsort(-p[rows], kind="stable")]
    elif kind == "fn":
        rows = np.flatnonzero(gold & ~pred)
        rows = rows[np.argsort(p[rows], kind="stable")]
    else:
        raise ValueError(f"kind must be 'fp' or 'fn', not {kind!r}")
    return _example_rows(preds, rows[:n], j)


def confusion_examples(preds: Predictions, pairs: pd.DataFrame, per_pair: int = 3) -> pd.DataFrame:
    """Texts behind each confusion of `confusion_pairs`, most confident mistake first.

    Returns:
        DataFrame: missed, instead (the pair), text, gold, predicted, probability
        (of the wrongly predicted label).
    """
    frames = []
    for missed, instead in zip(pairs["gold"], pairs["predicted"]):
        g, p = preds.label_names.index(missed), preds.label_names.index(instead)
        rows = np.flatnonzero(
            (preds.gold[:, g] > 0) & (preds.predicted[:, g] == 0)
            & (preds.predicted[:, p] > 0) & (preds.gold[:, p] == 0)
        )  # fmt: skip
        rows = rows[np.argsort(-preds.probs[rows, p], kind="stable")][:per_pair]
        frames.append(_example_rows(preds, rows, p).assign(missed=missed, instead=instead))
    columns = ["missed", "instead", "text", "gold", "predicted", "probability"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def attention_examples_html(predictor, examples: pd.DataFrame) -> str:
    """Attention heat maps of example texts, each captioned with its gold and predicted labels.

    Args:
        predictor: an `emotag.serving.predictor.Predictor`.
        examples: a DataFrame with `text`, `gold` and `predicted` columns (as from
            `worst_examples` or `confusion_examples`).

    Returns:
        HTML; a short note instead when there are no examples or the model has no
        attention weights.
    """
    if not getattr(predictor, "can_explain", False):
        return "<p><em>This model has no attention weights to show.</em></p>"
    if examples.empty:
        return "<p><em>No examples.</em></p>"
    texts = examples["text"].tolist()
    blocks = [
        heatmap_html(pairs, caption=f"gold: {g or '-'} | predicted: {p or '-'}")
        for pairs, g, p in zip(predictor.explain(texts), examples["gold"], examples["predicted"])
    ]
    return '<div style="display: grid; gap: 10px">' + "".join(blocks) + "</div>"
