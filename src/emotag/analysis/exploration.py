"""Data exploration (notebook 01): label frequencies, co-occurrence, lengths, emoji."""

from __future__ import annotations

from collections import Counter

import emoji
import numpy as np
import pandas as pd

from emotag.data.goemotions import NEUTRAL, Split


def head(split: Split, limit: int | None) -> Split:
    """The first `limit` examples of a split (all of it when limit is None or 0)."""
    if not limit:
        return split
    return Split(split.texts[:limit], split.labels[:limit], split.ids[:limit])

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
