"""Attention heat maps: tokens shaded by their attention weight, as HTML or PNG.

The same rendering serves the Gradio app, `inference.py --explain-out` and the notebooks.
A token's shade is its weight divided by the text's largest weight, so the most attended
token is always fully coloured whatever the text's length (weights sum to 1 over tokens,
which makes raw weights of long texts all look pale).

matplotlib, which draws the PNGs, is imported on first use: it is not a base dependency
(`pip install "emotag[app]"` brings it), so tagging and HTML heat maps work without it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import emoji

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Amber: readable behind black text at every alpha, and not a colour of "good" or "bad".
HEAT_RGB = (245, 158, 11)
_PNG_WIDTH_PX = 900
_PNG_DPI = 100
_PNG_FONT_PT = 14


def relative_weights(pairs: list[tuple[str, float]]) -> list[float]:
    """Each weight divided by the largest one (all 0.0 when every weight is 0)."""
    top = max((w for _, w in pairs), default=0.0)
    return [max(w, 0.0) / top if top > 0 else 0.0 for _, w in pairs]


def heatmap_html(pairs: list[tuple[str, float]], caption: str | None = None) -> str:
    """An HTML fragment: one `<span>` per token, background alpha by relative weight.

    Args:
        pairs: (token, attention weight) pairs, as from `Predictor.explain`.
        caption: optional line shown above the tokens.

    Returns:
        A `<div class="emotag-heatmap">`; each token's weight is in its `title` and
        `data-weight` attributes.
    """
    r, g, b = HEAT_RGB
    spans = []
    for (token, weight), alpha in zip(pairs, relative_weights(pairs)):
        spans.append(
            f'<span class="emotag-token" data-weight="{weight:.4f}" title="{weight:.3f}" '
            f'style="background-color: rgba({r}, {g}, {b}, {alpha:.3f}); color: #111; '
            f'padding: 2px 4px; margin: 2px 1px; border-radius: 4px; display: inline-block; '
            f'line-height: 1.5">{html.escape(token)}</span>'
        )
    body = " ".join(spans) if spans else "<em>(no tokens)</em>"
    head = f'<div class="emotag-heatmap-caption">{html.escape(caption)}</div>' if caption else ""
    return f'<div class="emotag-heatmap">{head}<div>{body}</div></div>'


def write_heatmap_html(
    pairs: list[tuple[str, float]], path: str | Path, text: str | None = None, labels=None
) -> Path:
    """Writes a standalone HTML page with the heat map of one text.

    Args:
        pairs: (token, attention weight) pairs.
        path: destination `.html` file.
        text: the original text, shown above the heat map.
        labels: optional predicted label names, shown as a line.

    Returns:
        `path` as a Path.
    """
    path = Path(path)
    parts = []
    if text is not None:
        parts.append(f"<p><b>Text:</b> {html.escape(text)}</p>")
    if labels is not None:
        parts.append(f"<p><b>Predicted:</b> {html.escape(', '.join(labels) or '(none)')}</p>")
    parts.append(heatmap_html(pairs, caption="Attention weight per token (darker = more)"))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>emotag attention</title></head>"
        '<body style="font-family: sans-serif; max-width: 50em; margin: 2em auto">'
        + "\n".join(parts)
        + "</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path


def _matplotlib():
    """matplotlib's font manager, Agg canvas, Figure and FT2Font, imported on first use.

    Returns:
        `(font_manager, FigureCanvasAgg, Figure, FT2Font)`.

    Raises:
        ImportError: naming the extra that installs matplotlib.
    """
    try:
        from matplotlib import font_manager
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ft2font import FT2Font
    except ImportError as err:
        raise ImportError(
            'PNG heat maps need matplotlib: pip install "emotag[app]" (or matplotlib)'
        ) from err
    return font_manager, FigureCanvasAgg, Figure, FT2Font


def _drawable(token: str, charmap: set[int]) -> str:
    # Matplotlib's bundled font has no emoji: spell them out, then mark any other glyph
    # the font lacks instead of letting it draw an empty box with a warning.
    token = emoji.demojize(token)
    return "".join(c if ord(c) in charmap or c.isspace() else "?" for c in token)


def plot_heatmap(
    pairs: list[tuple[str, float]], path: str | Path | None = None, title: str | None = None
) -> Figure:
    """Draws the heat map as wrapped text with coloured boxes; saves a PNG if `path` is given.

    Tokens are laid out left to right at their measured width and wrapped at a fixed
    figure width, so the height grows with the text.

    Args:
        pairs: (token, attention weight) pairs.
        path: optional PNG destination.
        title: optional title line.

    Returns:
        The matplotlib Figure (drawn on the Agg canvas; pyplot is not used).
    """
    font_manager, FigureCanvasAgg, Figure, FT2Font = _matplotlib()
    font_path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    charmap = set(FT2Font(font_path).get_charmap())
    tokens = [_drawable(t, charmap) for t, _ in pairs] or ["(no tokens)"]
    alphas = relative_weights(pairs) or [0.0]

    # Pass 1: measure every token on a scratch canvas, in pixels.
    scratch = Figure(figsize=(_PNG_WIDTH_PX / _PNG_DPI, 1), dpi=_PNG_DPI)
    renderer = FigureCanvasAgg(scratch).get_renderer()
    widths = [
        scratch.text(0, 0, tok, fontsize=_PNG_FONT_PT).get_window_extent(renderer).width
        for tok in tokens
    ]
    pad, gap, margin = 5.0, 6.0, 12.0
    line_height = _PNG_FONT_PT * _PNG_DPI / 72 * 2.0
    top = margin + (line_height if title else 0.0)
    x, y, placed = margin, top, []
    for tok, w, alpha in zip(tokens, widths, alphas):
        if x + w + 2 * pad > _PNG_WIDTH_PX - margin and x > margin:
            x, y = margin, y + line_height
        placed.append((x + pad, y, tok, alpha))
        x += w + 2 * pad + gap
    height_px = y + line_height + margin

    # Pass 2: draw in pixel coordinates (y grows downwards) on a figure of the right height.
    fig = Figure(figsize=(_PNG_WIDTH_PX / _PNG_DPI, height_px / _PNG_DPI), dpi=_PNG_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _PNG_WIDTH_PX)
    ax.set_ylim(height_px, 0)
    ax.axis("off")
    if title:
        ax.text(margin, margin, title, fontsize=_PNG_FONT_PT, weight="bold", va="top")
    colour = tuple(c / 255 for c in HEAT_RGB)
    for tx, ty, tok, alpha in placed:
        ax.text(
            tx, ty + line_height / 2, tok, fontsize=_PNG_FONT_PT, va="center", ha="left",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": (*colour, alpha),
                  "edgecolor": (0.6, 0.6, 0.6, 0.5)},
        )  # fmt: skip
    if path is not None:
        fig.savefig(path, dpi=_PNG_DPI)
    return fig


def write_explanations(
    texts: list[str],
    explanations: list[list[tuple[str, float]]],
    labels: list[list[str]],
    out_dir: str | Path,
) -> list[Path]:
    """Writes `<n>.html` and `<n>.png` heat maps for each text (n = 001, 002, ...).

    Args:
        texts: the texts.
        explanations: each text's (token, weight) pairs, from `Predictor.explain`.
        labels: each text's predicted label names.
        out_dir: directory to create or fill.

    Returns:
        The written paths, HTML and PNG of each text in turn.
    """
    _matplotlib()  # fail before writing anything when the PNGs cannot be drawn
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (text, pairs, names) in enumerate(zip(texts, explanations, labels), start=1):
        stem = out / f"{i:03d}"
        written.append(write_heatmap_html(pairs, stem.with_suffix(".html"), text, names))
        title = "Predicted: " + (", ".join(names) or "no emotion above its threshold")
        plot_heatmap(pairs, stem.with_suffix(".png"), title=title)
        written.append(stem.with_suffix(".png"))
    return written
