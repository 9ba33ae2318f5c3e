"""Tables behind the notebooks: data exploration, model comparison, error analysis.

Every function takes arrays, paths or DataFrames and returns numbers or DataFrames;
figures of these tables are in `emotag.analysis_plots`. Label matrices are multi-hot
`(n, C)` arrays in the column order of `label_names`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import Counter
from pathlib import Path

import emoji
import numpy as np
import pandas as pd

from emotag.data import NEUTRAL, Split
from emotag.explain import heatmap_html
from emotag.metrics import per_class_f1


def head(split: Split, limit: int | None) -> Split:
    """The first `limit` examples of a split (all of it when limit is None or 0)."""
    if not limit:
        return split
    return Split(split.texts[:limit], split.labels[:limit], split.ids[:limit])


# --- Data exploration ------------------------------------------------------------------


def label_frequencies(y: np.ndarray, label_names: list[str]) -> pd.DataFrame:
    """Texts per label and their share of all texts, most frequent first."""
    counts = np.asarray(y).astype(bool).sum(axis=0)
    table = pd.DataFrame({"label": label_names, "count": counts, "share": counts / max(len(y), 1)})
    return table.sort_values(["count", "label"], ascending=[False, True]).reset_index(drop=True)


def cooccurrence(y: np.ndarray, conditional: bool = False, diagonal: bool = True) -> np.ndarray:
    """Label co-occurrence counts `(C, C)`: entry (i, j) = texts with both i and j.

    The diagonal holds each label's count. With `conditional=True`, row i is divided
    by label i's count, giving P(j | i) (rows of unused labels are 0). `diagonal=False`
    zeroes the diagonal, which otherwise dominates a heat map's colour scale.
    """
    y = np.asarray(y).astype(np.int64)
    counts = y.T @ y
    result = counts
    if conditional:
        diag = np.diag(counts).astype(float)[:, None]
        result = np.divide(counts, diag, out=np.zeros(counts.shape), where=diag > 0)
    if not diagonal:
        result = result.copy()
        np.fill_diagonal(result, 0)
    return result


def top_cooccurring_pairs(y: np.ndarray, label_names: list[str], top: int = 15) -> pd.DataFrame:
    """Label pairs that most often share a text, with P(b | a) and P(a | b)."""
    counts = cooccurrence(y)
    a, b = np.triu_indices(len(label_names), k=1)
    together = counts[a, b]
    keep = together > 0
    a, b, together = a[keep], b[keep], together[keep]
    table = pd.DataFrame({
        "a": [label_names[k] for k in a],
        "b": [label_names[k] for k in b],
        "count": together,
        "p_b_given_a": together / counts[a, a],
        "p_a_given_b": together / counts[b, b],
    })  # fmt: skip
    table = table.sort_values(["count", "a", "b"], ascending=[False, True, True])
    return table.head(top).reset_index(drop=True)


def ambiguity_summary(y: np.ndarray, label_names: list[str]) -> dict:
    """How often a text carries several labels, none, or `neutral` next to an emotion.

    Returns:
        dict with `texts`, `mean_labels`, `share_no_label`, `share_multi_label`
        (two or more labels), `share_neutral` and `share_neutral_with_emotion`
        (neutral plus at least one other label), and `labels_per_text`
        (number of labels -> share of texts).
    """
    y = np.asarray(y).astype(bool)
    n = max(len(y), 1)
    per_text = y.sum(axis=1)
    result = {
        "texts": len(y),
        "mean_labels": float(per_text.mean()) if len(y) else 0.0,
        "share_no_label": float(np.sum(per_text == 0) / n),
        "share_multi_label": float(np.sum(per_text >= 2) / n),
    }
    if NEUTRAL in label_names:
        neutral = y[:, label_names.index(NEUTRAL)]
        result["share_neutral"] = float(neutral.sum() / n)
        result["share_neutral_with_emotion"] = float(np.sum(neutral & (per_text >= 2)) / n)
    counts = np.bincount(per_text, minlength=1)
    result["labels_per_text"] = {k: float(c / n) for k, c in enumerate(counts) if c}
    return result


def text_lengths(texts: list[str]) -> pd.DataFrame:
    """Characters and whitespace-separated words of each text."""
    return pd.DataFrame(
        {"chars": [len(t) for t in texts], "words": [len(t.split()) for t in texts]}
    )


def emoji_usage(
    texts: list[str], y: np.ndarray, label_names: list[str], top: int = 15
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Emoji use overall, most common emoji, and the share of each label's texts with emoji.

    Returns:
        (summary dict with `texts_with_emoji` and `share_with_emoji`,
        DataFrame of the `top` emoji: emoji, name, count,
        DataFrame per label: label, texts, share_with_emoji, sorted by that share).
    """
    found = [[e["emoji"] for e in emoji.emoji_list(t)] for t in texts]
    has = np.array([bool(f) for f in found])
    counts = Counter(e for f in found for e in f)
    top_table = pd.DataFrame(
        [(e, emoji.demojize(e).strip(":"), c) for e, c in counts.most_common(top)],
        columns=["emoji", "name", "count"],
    )
    y = np.asarray(y).astype(bool)
    per_label = y.sum(axis=0)
    with_emoji = (y & has[:, None]).sum(axis=0)
    share = np.divide(with_emoji, per_label, out=np.zeros(len(label_names)), where=per_label > 0)
    by_label = pd.DataFrame({"label": label_names, "texts": per_label, "share_with_emoji": share})
    summary = {"texts_with_emoji": int(has.sum()), "share_with_emoji": float(has.mean())}
    return summary, top_table, by_label.sort_values("share_with_emoji", ascending=False)


# --- Model comparison ------------------------------------------------------------------


def find_runs(artifacts_dir: str | Path) -> list[Path]:
    """Run directories (with `overall_metrics.json`) directly under `artifacts_dir`, by name."""
    root = Path(artifacts_dir)
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "overall_metrics.json").is_file()
    )  # fmt: skip


def overall_table(run_dirs: list[Path]) -> pd.DataFrame:
    """One row per run: test macro / micro F1, macro precision and recall, model, time."""
    rows = []
    for run in run_dirs:
        metrics = json.loads((run / "overall_metrics.json").read_text())
        info_path = run / "run_info.json"
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
        with open(run / "per_class_report.csv", encoding="utf-8", newline="") as f:
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
    """Reads a predictions TSV written by `emotag.evaluation` (first `limit` rows if given)."""
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


# --- Error analysis --------------------------------------------------------------------


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
        predictor: an `emotag.predictor.Predictor`.
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
