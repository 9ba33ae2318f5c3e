"""Figures of the `emotag.analysis` tables, for the notebooks.

Every function draws on a bare `Figure` with the Agg canvas (as `emotag.evaluation.plots` does), so
it works headless and a notebook shows the returned figure with `%matplotlib inline`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from emotag.evaluation.reliability import BINS, reliability_figure


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def plot_label_frequencies(freq: pd.DataFrame, title: str = "Texts per label") -> Figure:
    """Horizontal bars of `label_frequencies`, most frequent on top, share annotated."""
    rows = freq.iloc[::-1]
    fig, ax = _figure(7, 0.22 * len(rows) + 1.2)
    ax.barh(rows["label"], rows["count"], color="tab:blue")
    for y, (count, share) in enumerate(zip(rows["count"], rows["share"])):
        ax.text(count, y, f" {share:.1%}", va="center", fontsize=7)
    ax.set_xlabel("texts")
    ax.set_title(title)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def plot_matrix(
    matrix: np.ndarray,
    row_labels: list[str],
    col_labels: list[str] | None = None,
    title: str = "",
    cmap: str = "viridis",
    colorbar_label: str = "",
) -> Figure:
    """A labelled heat map of a square or rectangular matrix (co-occurrence, confusion)."""
    col_labels = row_labels if col_labels is None else col_labels
    size = 0.26 * max(len(row_labels), len(col_labels)) + 2
    fig, ax = _figure(size + 1, size)
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.04, label=colorbar_label)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_length_histograms(lengths: pd.DataFrame, clip_quantile: float = 0.99) -> Figure:
    """Histograms of characters and words per text (the longest 1% clipped for scale)."""
    fig = Figure(figsize=(9, 3), dpi=80)
    FigureCanvasAgg(fig)
    for k, column in enumerate(["chars", "words"]):
        ax = fig.add_subplot(1, 2, k + 1)
        values = lengths[column].clip(upper=lengths[column].quantile(clip_quantile))
        ax.hist(values, bins=40, color="tab:blue")
        ax.axvline(lengths[column].median(), color="tab:red", linestyle="--", label="median")
        ax.set_xlabel(f"{column} per text")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_f1_comparison(table: pd.DataFrame, title: str = "Test F1 per class") -> Figure:
    """Grouped horizontal bars: one group per label (rows), one bar per run (columns)."""
    table = table.loc[table.mean(axis=1).sort_values().index]
    n_runs = max(len(table.columns), 1)
    height = 0.8 / n_runs
    fig, ax = _figure(7, 0.22 * len(table) * max(1, n_runs / 2) + 1.5)
    positions = np.arange(len(table))
    for k, run in enumerate(table.columns):
        ax.barh(positions + k * height - 0.4 + height / 2, table[run], height=height, label=run)
    ax.set_yticks(positions, table.index, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_pr_curves(curves: dict, title: str = "Precision-recall (test)") -> Figure:
    """Step curves of recall vs precision, one line per entry of `curves`.

    Args:
        curves: name -> (precision, recall[, thresholds]) from
            `emotag.analysis.precision_recall_curve`.
        title: figure title.
    """
    fig, ax = _figure(6, 5)
    for name, (precision, recall, *_) in curves.items():
        ax.step(recall, precision, where="post", label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_threshold_sweep(
    sweep: pd.DataFrame, calibrated_macro_f1: float | None = None, title: str = ""
) -> Figure:
    """Macro- and micro-F1 against one global threshold, with labels per text on the right.

    Args:
        sweep: from `emotag.analysis.threshold_sweep`.
        calibrated_macro_f1: macro-F1 of the per-class thresholds, drawn as a line.
        title: figure title.
    """
    fig, ax = _figure(7, 4)
    ax.plot(sweep["threshold"], sweep["macro_f1"], marker="o", label="macro-F1 (global)")
    ax.plot(sweep["threshold"], sweep["micro_f1"], marker="s", label="micro-F1 (global)")
    if calibrated_macro_f1 is not None:
        ax.axhline(
            calibrated_macro_f1, color="tab:red", linestyle="--",
            label=f"macro-F1, per-class thresholds ({calibrated_macro_f1:.3f})",
        )  # fmt: skip
    ax.set_xlabel("global threshold")
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1)
    right = ax.twinx()
    right.plot(sweep["threshold"], sweep["labels_per_text"], color="gray", alpha=0.6)
    right.set_ylabel("predicted labels per text (gray)")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_f1_intervals(table: pd.DataFrame, title: str = "Test F1 per class (95% CI)") -> Figure:
    """Per-class F1 as points with error bars, weakest class at the bottom.

    Args:
        table: from `emotag.analysis.per_class_intervals` (label, f1, f1_low, f1_high);
            rows without bounds are drawn as points alone.
        title: figure title.
    """
    rows = table.sort_values("f1")
    below = (rows["f1"] - rows["f1_low"]).fillna(0).clip(lower=0)
    above = (rows["f1_high"] - rows["f1"]).fillna(0).clip(lower=0)
    fig, ax = _figure(7, 0.22 * len(rows) + 1.5)
    ax.errorbar(rows["f1"], np.arange(len(rows)), xerr=[below, above], fmt="o",
                color="tab:blue", ecolor="gray", capsize=3)  # fmt: skip
    ax.set_yticks(np.arange(len(rows)), rows["label"], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_reliability(gold, probs, title: str = "Reliability", bins: int = BINS) -> Figure:
    """Reliability diagram of every (text, label) probability: observed frequency per bin.

    Args:
        gold: (n, C) 0/1 labels.
        probs: (n, C) probabilities.
        title: figure title (the ECE is appended).
        bins: equal-width probability bins.
    """
    return reliability_figure(probs, gold, title, bins, size=4.5, dpi=80)


def plot_failure_rates(table: pd.DataFrame, title: str = "Behavioural failure rates") -> Figure:
    """Horizontal bars of each behavioural test's failure rate, grouped by capability.

    Args:
        table: from `emotag.analysis.behaviour_table`; tests with no case run are left out.
        title: figure title.
    """
    rows = table.dropna(subset=["failure_rate"]).iloc[::-1]
    fig, ax = _figure(8, 0.3 * len(rows) + 1.2)
    colours = {c: f"C{k}" for k, c in enumerate(dict.fromkeys(table["capability"]))}
    ax.barh(np.arange(len(rows)), rows["failure_rate"],
            color=[colours[c] for c in rows["capability"]])  # fmt: skip
    ax.set_yticks(np.arange(len(rows)),
                  [f"{c}: {t}" for c, t in zip(rows["capability"], rows["test"])],
                  fontsize=8)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xlabel("failure rate (failed cases / cases run)")
    ax.set_title(title)
    fig.tight_layout()
    return fig
