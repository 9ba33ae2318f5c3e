"""The Gradio app: its pure output functions, then the served app through a real
`gradio_client` and a real headless Chromium (skipped, with the reason, when absent)."""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from emotag.app.ui import GLOBAL, PER_CLASS, analyse, build_app, launch
from emotag.app.views import chips_html, message_html, probability_figure
from emotag.serving.predictor import Prediction

NAMES = ["joy", "anger", "neutral"]
TEXT = "Thanks so much, I love it!"
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class FakePredictor:
    """Fixed probabilities, no TensorFlow: enough for `analyse`."""

    label_names = NAMES
    thresholds = np.array([0.5, 0.3, 0.6], dtype="float32")
    run_dir = Path("/nonexistent/fake-run")

    def __init__(self, can_explain=True):
        self.can_explain = can_explain

    def predict(self, texts, threshold=None):
        probs = dict(zip(NAMES, [0.8, 0.4, 0.1]))
        cut = dict(zip(NAMES, self.thresholds))
        if threshold is not None:
            cut = dict.fromkeys(NAMES, threshold)
        labels = sorted((n for n in NAMES if probs[n] >= cut[n]), key=lambda n: -probs[n])
        return [Prediction(t, labels, probs) for t in texts]

    def explain(self, texts):
        return [[(w, 1 / len(t.split())) for w in t.split()] for t in texts]


class NoAttention:
    """A real Predictor that pretends to have no `explain` (like TF-IDF or ensemble runs)."""

    can_explain = False

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


# --- Pure functions --------------------------------------------------------------------


def test_chips_html():
    html = chips_html(["joy", "anger"], {"joy": 0.81, "anger": 0.42}, note="calibrated")
    assert re.findall(r'data-label="([^"]+)"', html) == ["joy", "anger"]
    assert "0.81" in html and "😃" in html and "calibrated" in html
    assert "No emotion" in chips_html([], {})
    assert "&lt;x&gt;" in chips_html(["<x>"], {"<x>": 0.5})  # no emoji, escaped
    assert "emotag-error" in message_html("bad", error=True)


def test_probability_figure_marks_every_threshold():
    probs = np.array([0.8, 0.4, 0.1])
    thresholds = np.array([0.5, 0.3, 0.6])
    fig = probability_figure(NAMES, probs, thresholds, ["joy", "anger"], title="t")
    ax = fig.axes[0]
    bars = ax.patches
    assert sorted(round(b.get_width(), 6) for b in bars) == [0.1, 0.4, 0.8]
    # One vertical black tick per class, at that class's threshold, across its bar.
    ticks = [line for line in ax.get_lines() if line.get_color() == "black"]
    assert sorted(line.get_xdata()[0] for line in ticks) == [0.3, 0.5, 0.6]
    # Most probable on top: the y tick labels read bottom-up in increasing probability.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["neutral", "anger", "joy"]
    colours = {round(b.get_width(), 1): b.get_facecolor() for b in bars}
    assert colours[0.8] == colours[0.4] != colours[0.1]  # predicted vs not
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "threshold"
    # A scalar (global) threshold is drawn at the same place for every class.
    fig = probability_figure(NAMES, probs, 0.35, ["joy", "anger"])
    ticks = [line for line in fig.axes[0].get_lines() if line.get_color() == "black"]
    assert {line.get_xdata()[0] for line in ticks} == {0.35}


def test_analyse_modes_limits_and_missing_attention():
    result = analyse(FakePredictor(), "so happy today", PER_CLASS)
    assert result.details["labels"] == ["joy", "anger"]
    assert result.details["thresholds"] == {"joy": 0.5, "anger": 0.3, "neutral": 0.6}
    assert "calibrated" in result.chips and result.figure is not None
    assert result.heatmap.count("emotag-token") == 3

    result = analyse(FakePredictor(), "so happy", GLOBAL, global_threshold=0.05)
    assert result.details["labels"] == ["joy", "anger", "neutral"]
    assert result.details["threshold_mode"] == "global" and "0.05" in result.chips

    result = analyse(FakePredictor(can_explain=False), "so happy")
    assert "not available" in result.heatmap

    result = analyse(FakePredictor(), "x" * 11, max_chars=10)
    assert result.figure is None and "emotag-error" in result.chips
    assert "11 characters" in result.details["error"] and "limit is 10" in result.chips
    assert "Type or paste" in analyse(FakePredictor(), "   ").chips


def test_build_app_needs_a_predictor_and_exposes_one_endpoint():
    with pytest.raises(ValueError):
        build_app({})
    demo = build_app({"fake": FakePredictor()})
    public = [
        d for d in demo.fns.values() if d.api_visibility == "public" and d.api_name
    ]  # fmt: skip
    assert [d.api_name for d in public] == ["predict"]


def test_app_script_arguments():
    from emotag.commands.app import parse_args

    config = parse_args(["--model", "a", "--model", "b/c"])
    assert config.model == ["a", "b/c"]
    assert (config.host, config.port, config.share, config.max_chars) == (
        "127.0.0.1", 7860, False, 2000,
    )  # fmt: skip
    assert parse_args(["--model", "a", "--max-chars", "50", "--share"]).share
    with pytest.raises(SystemExit):
        parse_args(["--model", "a", "--max-chars", "0"])


# --- The served app --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_app(tiny_run_dir):
    """The app with the tiny run (and the same run without attention), on a free port."""
    from emotag.commands.app import load_predictors

    predictors = load_predictors([str(tiny_run_dir)])
    predictor = predictors["tiny"]
    predictors["tiny-no-attention"] = NoAttention(predictor)
    demo = build_app(predictors, max_chars=200)
    port = _free_port()
    launch(demo, "127.0.0.1", port, share=False, block=False)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", predictor=predictor)
    demo.close()


@pytest.mark.slow
def test_gradio_client_predicts_through_the_api(live_app):
    from gradio_client import Client

    client = Client(live_app.url, verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/predict"]

    chips, plot, heat, details = client.predict("tiny", TEXT, PER_CLASS, 0.5, api_name="/predict")
    expected = live_app.predictor.predict([TEXT])[0]
    assert details["labels"] == expected.labels
    assert set(details["probabilities"]) == set(live_app.predictor.label_names)
    assert details["thresholds"] == {
        n: round(float(t), 4)
        for n, t in zip(live_app.predictor.label_names, live_app.predictor.thresholds)
    }
    assert re.findall(r'data-label="([^"]+)"', chips) == expected.labels
    assert [t for t, _ in live_app.predictor.explain([TEXT])[0]] == re.findall(
        r'class="emotag-token"[^>]*>([^<]*)<', heat
    )
    assert plot is not None

    _, _, _, details = client.predict("tiny", TEXT, GLOBAL, 0.2, api_name="/predict")
    assert details["labels"] == live_app.predictor.predict([TEXT], threshold=0.2)[0].labels
    assert set(details["thresholds"].values()) == {0.2}

    _, _, heat, _ = client.predict("tiny-no-attention", TEXT, PER_CLASS, 0.5, api_name="/predict")
    assert "not available" in heat

    chips, plot, heat, details = client.predict(
        "tiny", "x" * 201, PER_CLASS, 0.5, api_name="/predict"
    )
    assert "limit is 200" in chips and "error" in details and plot is None


@pytest.fixture
def chromium():
    """(sync_playwright, executable) or a pytest.skip saying what is missing.

    Requested before `live_app`, so a machine without a browser skips before training.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser test skipped: playwright is not installed (pip install playwright)")
    exe = os.environ.get("EMOTAG_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser"
    )
    if not exe:
        pytest.skip(
            "browser test skipped: no Chromium executable "
            "(apt-get install chromium, or set EMOTAG_CHROMIUM)"
        )
    return sync_playwright, exe


@pytest.mark.slow
@pytest.mark.browser
def test_browser_types_submits_and_reads_labels(chromium, live_app, tmp_path):
    sync_playwright, exe = chromium
    expected = live_app.predictor.predict([TEXT])[0].labels
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(90_000)
            page.goto(live_app.url)
            page.locator("#emotag-text textarea").fill(TEXT)
            page.locator("#emotag-submit").click()
            page.wait_for_selector("#emotag-heat .emotag-token")
            page.wait_for_selector("#emotag-plot img")
            page.wait_for_selector("#emotag-chips .emotag-note")
            labels = page.eval_on_selector_all(
                "#emotag-chips .emotag-chip", "els => els.map(e => e.dataset.label)"
            )
            shot = tmp_path / "app.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nbrowser read labels {labels} (expected {expected}); screenshot {shot}")
            if os.environ.get("EMOTAG_SCREENSHOT_DIR"):
                target = Path(os.environ["EMOTAG_SCREENSHOT_DIR"])
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, target / "test_app_browser.png")
                print(f"screenshot copied to {target / 'test_app_browser.png'}")
            assert labels == expected
            if not expected:
                assert "No emotion" in page.inner_text("#emotag-chips")
            assert page.inner_text("#emotag-chips .emotag-note").startswith("Using each class")

            # Switching to one global threshold shows the slider and re-tags the text.
            page.get_by_text(GLOBAL).click()
            page.wait_for_selector("#emotag-chips .emotag-note:has-text('global threshold')")
            assert page.get_by_label("Global threshold (every class)").first.is_visible()

            # Over the length limit: a clear message instead of a prediction.
            page.locator("#emotag-text textarea").fill("x" * 201)
            page.locator("#emotag-submit").click()
            error = page.wait_for_selector("#emotag-chips .emotag-error")
            assert "limit is 200" in error.inner_text()
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
