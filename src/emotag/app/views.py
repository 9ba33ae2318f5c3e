"""What the demo shows, as plain values: HTML chips and messages, the probability chart.

Each function takes plain values and returns HTML or a matplotlib Figure, so tests call
them without a browser or a model; `emotag.app.ui` wires them into the Gradio page,
styled by `CSS`.
"""

from __future__ import annotations

import html

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from emotag.serving.prediction import emoji_for

# Longest text the demo scores; a longer one gets a message (a pasted file is a mistake).
DEFAULT_MAX_CHARS = 2000
CSS = """
.emotag-chips { display: flex; flex-wrap: wrap; gap: 8px; padding: 4px 0; }
.emotag-chip { display: inline-flex; align-items: center; gap: 6px; padding: 6px 12px;
  border-radius: 999px; background: #eef2ff; border: 1px solid #c7d2fe; color: #1e1b4b;
  font-size: 1.05em; }
.emotag-chip .emotag-emoji { font-size: 1.3em; }
.emotag-chip .emotag-prob { color: #4338ca; font-variant-numeric: tabular-nums; }
.emotag-message { padding: 10px 14px; border-radius: 8px; background: #f3f4f6; color: #374151; }
.emotag-message.emotag-error { background: #fef2f2; border: 1px solid #fecaca; color: #991b1b; }
.emotag-note { color: #6b7280; font-size: 0.85em; margin-top: 6px; }
.emotag-heatmap { font-size: 1.05em; }
.emotag-heatmap-caption { color: #6b7280; font-size: 0.85em; margin-bottom: 4px; }
"""

# Colours of the probability chart: predicted labels stand out, the rest stay quiet.
_ON, _OFF = "#f59e0b", "#9ca3af"


def message_html(text: str, error: bool = False) -> str:
    """A short boxed note in place of the chips (empty input, too long, ...)."""
    kind = "emotag-message emotag-error" if error else "emotag-message"
    return f'<div class="{kind}" role="status">{html.escape(text)}</div>'


def chips_html(labels: list[str], probabilities: dict[str, float], note: str = "") -> str:
    """One chip per predicted label, most probable first, with emoji and probability.

    Args:
        labels: predicted label names, in display order.
        probabilities: label name -> probability (must hold every name in `labels`).
        note: optional small line under the chips (e.g. which thresholds were used).

    Returns:
        HTML; each chip carries its label in `data-label` so a browser test can read it.
    """
    foot = f'<div class="emotag-note">{html.escape(note)}</div>' if note else ""
    if not labels:
        return message_html("No emotion is above its threshold for this text.") + foot
    chips = []
    for name in labels:
        icon = emoji_for(name)
        chips.append(
            f'<span class="emotag-chip" data-label="{html.escape(name)}">'
            + (f'<span class="emotag-emoji">{icon}</span>' if icon else "")
            + f'<span class="emotag-name">{html.escape(name)}</span>'
            f'<span class="emotag-prob">{probabilities[name]:.2f}</span></span>'
        )
    return f'<div class="emotag-chips">{"".join(chips)}</div>{foot}'


def probability_figure(
    label_names: list[str],
    probabilities: np.ndarray,
    thresholds: np.ndarray,
    predicted: list[str],
    title: str | None = None,
) -> Figure:
    """Horizontal bars of every class's probability, most probable on top.

    Each bar carries a black tick at its class's threshold, so a bar that crosses its
    tick is a predicted label (drawn in colour).

    Args:
        label_names: class names, in model order.
        probabilities: (classes,) probabilities of one text.
        thresholds: (classes,) decision thresholds in use.
        predicted: names of the predicted classes.
        title: optional figure title.

    Returns:
        A matplotlib Figure on the Agg canvas.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=float), probabilities.shape)
    order = np.argsort(-probabilities, kind="stable")[::-1]  # barh draws bottom-up
    on = set(predicted)
    n = len(label_names)
    fig = Figure(figsize=(6.4, 0.24 * n + 1.3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rows = np.arange(n)
    ax.barh(
        rows,
        probabilities[order],
        height=0.7,
        color=[_ON if label_names[i] in on else _OFF for i in order],
    )
    for row, i in zip(rows, order):
        ax.plot([thresholds[i]] * 2, [row - 0.45, row + 0.45], color="black", linewidth=2.2)
        ax.text(
            max(probabilities[i], thresholds[i]) + 0.012, row, f"{probabilities[i]:.2f}",
            va="center", fontsize=7, color="#374151",
        )  # fmt: skip
    ax.set_yticks(rows, [label_names[i] for i in order], fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("probability")
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(
        handles=[
            Line2D([], [], color=_ON, linewidth=6, label="predicted"),
            Line2D([], [], color=_OFF, linewidth=6, label="not predicted"),
            Line2D([], [], color="black", linewidth=2.2, label="threshold"),
        ],
        loc="lower right",
        fontsize=8,
    )
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
