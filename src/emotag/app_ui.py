"""The Gradio demo: pure functions for each output, and the Blocks that wires them up.

`chips_html`, `probability_figure` and `message_html` take plain values and return
HTML or a matplotlib Figure, so tests call them without a browser; `analyse` runs one
request against a Predictor; `build_app` lays out the page for a dict of Predictors
(run name -> Predictor) and `launch` serves it. `src/app.py` is the command line.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from emotag.explain import heatmap_html
from emotag.predictor import emoji_for

log = logging.getLogger(__name__)

PER_CLASS = "Calibrated per-class thresholds"
GLOBAL = "One global threshold"
DEFAULT_MAX_CHARS = 2000
EXAMPLES = [
    "OMG, yep!!! That is the final answer! Thank you so much!",
    "I'm not angry, just really disappointed in how this turned out.",
    "Wow, I did not see that coming. Is this for real?",
    "I miss her so much, it still hurts every day.",
    "Haha that's hilarious 😂 you made my day",
    "I'm scared I'll fail the exam tomorrow...",
]
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


@dataclass
class Analysis:
    """Everything one request shows: the app's outputs plus machine-readable details."""

    chips: str  # HTML of the predicted-emotion chips, or of a message
    figure: Figure | None  # probabilities with thresholds; None when nothing was predicted
    heatmap: str  # HTML of the attention heat map, or a "not available" note
    details: dict  # labels, probabilities, thresholds used; "error" on rejected input


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


def analyse(
    predictor,
    text: str,
    mode: str = PER_CLASS,
    global_threshold: float = 0.5,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Analysis:
    """Tags one text and renders every output of the app.

    Args:
        predictor: an `emotag.predictor.Predictor`.
        text: the user's text.
        mode: `PER_CLASS` (the run's calibrated thresholds) or `GLOBAL`.
        global_threshold: the single threshold used in `GLOBAL` mode.
        max_chars: longer texts are refused with a message.

    Returns:
        An `Analysis`.
    """
    text = text or ""
    if len(text) > max_chars:
        note = (
            f"This text has {len(text):,} characters; the limit is {max_chars:,}. "
            "Please shorten it and submit again."
        )
        return Analysis(message_html(note, error=True), None, "", {"error": note})
    if not text.strip():
        note = "Type or paste a text, then press Submit."
        return Analysis(message_html(note), None, "", {"error": note})

    threshold = float(global_threshold) if mode == GLOBAL else None
    prediction = predictor.predict([text], threshold=threshold)[0]
    names = predictor.label_names
    thresholds = (
        np.asarray(predictor.thresholds, dtype=float)
        if threshold is None
        else np.full(len(names), threshold)
    )
    probs = np.array([prediction.probabilities[name] for name in names])
    figure = probability_figure(
        names, probs, thresholds, prediction.labels,
        title="Every class: probability, and its threshold (black tick)",
    )  # fmt: skip
    if getattr(predictor, "can_explain", False):
        heat = heatmap_html(
            predictor.explain([text])[0],
            caption="Attention weight per token (darker = more attention; hover for the value)",
        )
    else:
        heat = message_html("Attention heat map not available: this model has no attention.")
    details = {
        "labels": prediction.labels,
        "probabilities": {k: round(v, 4) for k, v in prediction.probabilities.items()},
        "thresholds": {n: round(float(t), 4) for n, t in zip(names, thresholds)},
        "threshold_mode": "global" if threshold is not None else "per_class",
    }
    note = (
        "Using each class's calibrated threshold."
        if threshold is None
        else f"Using one global threshold: {threshold:.2f}."
    )
    chips = chips_html(prediction.labels, prediction.probabilities, note)
    return Analysis(chips, figure, heat, details)


def model_summary(name: str, predictor) -> str:
    """One Markdown line about a run: model kind, labels, test macro-F1 when recorded."""
    parts = [f"**{name}**", f"{len(predictor.label_names)} labels"]
    info_path = Path(predictor.run_dir) / "run_info.json"
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        if info.get("model"):
            parts.insert(1, str(info["model"]))
        if "test_macro_f1" in info:
            parts.append(f"test macro-F1 {info['test_macro_f1']:.3f}")
    if (Path(predictor.run_dir) / "MODEL_CARD.md").is_file():
        parts.append("see its `MODEL_CARD.md`")
    return " · ".join(parts)


def _global_default(predictor) -> float:
    # The run's own best single threshold (tuned on dev) is a better start than 0.5.
    path = Path(predictor.run_dir) / "thresholds.json"
    if path.is_file():
        return float(json.loads(path.read_text()).get("global_threshold", 0.5))
    return 0.5


def build_app(
    predictors: dict,
    max_chars: int = DEFAULT_MAX_CHARS,
    examples: list[str] | None = None,
) -> gr.Blocks:
    """The demo page for one or more runs.

    Args:
        predictors: run name -> `Predictor`; the first is selected at start.
        max_chars: texts longer than this get a message instead of a prediction.
        examples: example texts (default `EXAMPLES`).

    Returns:
        A `gr.Blocks`; its submit event is the API endpoint `/predict`, taking
        (run name, text, threshold mode, global threshold) and returning
        (chips HTML, figure, heat map HTML, details dict).
    """
    if not predictors:
        raise ValueError("no predictors given")
    names = list(predictors)
    first = predictors[names[0]]

    def predict(name, text, mode, threshold):
        result = analyse(predictors[name], text, mode, threshold, max_chars)
        return result.chips, result.figure, result.heatmap, result.details

    def select_model(name):
        predictor = predictors[name]
        return gr.update(value=_global_default(predictor)), model_summary(name, predictor)

    def select_mode(mode):
        return gr.update(visible=mode == GLOBAL)

    with gr.Blocks(title="emotag: emotions in text", analytics_enabled=False) as demo:
        gr.Markdown(
            "# emotag: which emotions does a text express?\n"
            "Multi-label emotion classifier; the labels are the selected run's (GoEmotions: "
            "27 emotions + neutral; SemEval-2018 E-c tweets: 11 emotions). Several emotions "
            "can apply at once; each has its own threshold."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                model = gr.Dropdown(
                    names, value=names[0], label="Model (run)", interactive=len(names) > 1
                )
                summary = gr.Markdown(model_summary(names[0], first))
                text = gr.Textbox(
                    label=f"Text (up to {max_chars:,} characters)",
                    placeholder="Type a comment, a tweet, a message...",
                    lines=4,
                    max_lines=10,  # a long paste scrolls inside the box
                    elem_id="emotag-text",
                )
                mode = gr.Radio([PER_CLASS, GLOBAL], value=PER_CLASS, label="Thresholds")
                threshold = gr.Slider(
                    0.01, 0.99, value=_global_default(first), step=0.01,
                    label="Global threshold (every class)", visible=False,
                )  # fmt: skip
                with gr.Row():
                    clear = gr.Button("Clear", variant="secondary")
                    submit = gr.Button("Submit", variant="primary", elem_id="emotag-submit")
                example_box = gr.Examples(
                    [[e] for e in (examples or EXAMPLES)], inputs=[text], label="Examples",
                    cache_examples=False, api_visibility="private",
                )  # fmt: skip
            with gr.Column(scale=3, min_width=360):
                gr.Markdown("### Predicted emotions")
                chips = gr.HTML(
                    message_html("Type or paste a text, then press Submit."),
                    elem_id="emotag-chips",
                )
                gr.Markdown("### Which words the model attended to")
                heat = gr.HTML(elem_id="emotag-heat")
                plot = gr.Plot(show_label=False, format="png", elem_id="emotag-plot")
                with gr.Accordion("Details (JSON)", open=False):
                    details = gr.JSON(label="Labels, probabilities and thresholds")

        inputs = [model, text, mode, threshold]
        outputs = [chips, plot, heat, details]
        submit.click(predict, inputs, outputs, api_name="predict")
        text.submit(predict, inputs, outputs, api_visibility="private")
        example_box.load_input_event.then(predict, inputs, outputs, api_visibility="private")
        mode.change(select_mode, [mode], [threshold], api_visibility="private").then(
            predict, inputs, outputs, api_visibility="private"
        )
        threshold.release(predict, inputs, outputs, api_visibility="private")
        model.change(select_model, [model], [threshold, summary], api_visibility="private").then(
            predict, inputs, outputs, api_visibility="private"
        )
        clear.click(
            lambda: ("", message_html("Type or paste a text, then press Submit."), None, "", None),
            None,
            [text, chips, plot, heat, details],
            api_visibility="private",
        )
    return demo


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    queue_size: int = 32,
    block: bool = True,
):
    """Queues requests and serves the app.

    Args:
        demo: from `build_app`.
        host: interface to bind; 127.0.0.1 keeps it local.
        port: TCP port; None lets Gradio pick from 7860 up.
        share: create a public Gradio link (off unless asked for).
        queue_size: requests waiting beyond this are refused with "queue full".
        block: False returns at once, serving from a thread (tests).

    Returns:
        What `gr.Blocks.launch` returns (app, local URL, share URL).
    """
    # One request at a time: a prediction already uses both cores of a small machine.
    demo.queue(default_concurrency_limit=1, max_size=queue_size)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=not block,
        quiet=not block,
        css=CSS,
        footer_links=["api"],
        run_history=False,  # texts typed in are not kept in the browser
    )
