"""The Gradio demo: one request's outputs, and the Blocks that wires them up.

The outputs themselves (chips, messages, the probability chart) are drawn by
`emotag.app.views`; `analyse` runs one request against a Predictor; `build_app` lays
out the page for a dict of Predictors (run name -> Predictor) and `launch` serves it.
`src/app.py` is the command line.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import gradio as gr
import numpy as np
from matplotlib.figure import Figure

from emotag.app.views import (
    CSS,
    DEFAULT_MAX_CHARS,
    chips_html,
    message_html,
    probability_figure,
)
from emotag.runs.layout import MODEL_CARD, RunDir
from emotag.serving.explain import heatmap_html

log = logging.getLogger(__name__)

SLIDER_RANGE = (0.01, 0.99)  # the global threshold slider's ends
PER_CLASS = "Calibrated per-class thresholds"
GLOBAL = "One global threshold"
EXAMPLES = [
    "OMG, yep!!! That is the final answer! Thank you so much!",
    "I'm not angry, just really disappointed in how this turned out.",
    "Wow, I did not see that coming. Is this for real?",
    "I miss her so much, it still hurts every day.",
    "Haha that's hilarious 😂 you made my day",
    "I'm scared I'll fail the exam tomorrow...",
]


@dataclass
class Analysis:
    """Everything one request shows: the app's outputs plus machine-readable details."""

    chips: str  # HTML of the predicted-emotion chips, or of a message
    figure: Figure | None  # probabilities with thresholds; None when nothing was predicted
    heatmap: str  # HTML of the attention heat map, or a "not available" note
    details: dict  # labels, probabilities, thresholds used; "error" on rejected input


def analyse(
    predictor,
    text: str,
    mode: str = PER_CLASS,
    global_threshold: float = 0.5,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Analysis:
    """Tags one text and renders every output of the app.

    Args:
        predictor: an `emotag.serving.predictor.Predictor`.
        text: the user's text; lone surrogates (JSON "\\ud83d") are scored as U+FFFD,
            as everywhere (`emotag.text.inputs`).
        mode: `PER_CLASS` (the run's calibrated thresholds) or `GLOBAL`.
        global_threshold: the single threshold used in `GLOBAL` mode.
        max_chars: longer texts are refused with a message.

    Returns:
        An `Analysis`; a text that is not a string, or a global threshold that is not a
        number in [0, 1], gets a message (and "error" in `details`) instead of a result.
    """
    text = "" if text is None else text
    if not isinstance(text, str):
        note = f"Expected a text, got {type(text).__name__}."
        return Analysis(message_html(note, error=True), None, "", {"error": note})
    if len(text) > max_chars:
        note = (
            f"This text has {len(text):,} characters; the limit is {max_chars:,}. "
            "Please shorten it and submit again."
        )
        return Analysis(message_html(note, error=True), None, "", {"error": note})
    if not text.strip():
        note = "Type or paste a text, then press Submit."
        return Analysis(message_html(note), None, "", {"error": note})

    threshold = _threshold(global_threshold) if mode == GLOBAL else None
    if mode == GLOBAL and threshold is None:
        note = f"The global threshold must be a number in [0, 1], got {global_threshold!r}."
        return Analysis(message_html(note, error=True), None, "", {"error": note})
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


def _threshold(value) -> float | None:
    """`value` as a threshold in [0, 1]; None for NaN, out of range or not a number."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and 0 <= value <= 1 else None


def model_summary(name: str, predictor) -> str:
    """One Markdown line about a run: model kind, labels, test macro-F1 when recorded."""
    parts = [f"**{name}**", f"{len(predictor.label_names)} labels"]
    run = _run_of(predictor)
    if run is None:
        return " · ".join(parts)
    if run.kind:
        parts.insert(1, run.kind)
    if "test_macro_f1" in run.info:
        parts.append(f"test macro-F1 {run.info['test_macro_f1']:.3f}")
    if run.file(MODEL_CARD).is_file():
        parts.append(f"see its `{MODEL_CARD}`")
    return " · ".join(parts)


def _run_of(predictor) -> RunDir | None:
    # Stand-in predictors (tests, notebooks) have no opened run directory.
    return getattr(predictor, "run", None)


def _global_default(predictor) -> float:
    # The run's own best single threshold (tuned on dev) is a better start than 0.5;
    # open_run has checked it is a number in [0, 1]; kept within the slider's range.
    run = _run_of(predictor)
    value = float(run.calibration.get("global_threshold", 0.5)) if run else 0.5
    return min(max(value, SLIDER_RANGE[0]), SLIDER_RANGE[1])


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
                    *SLIDER_RANGE, value=_global_default(first), step=0.01,
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
