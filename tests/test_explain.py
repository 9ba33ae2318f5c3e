"""Attention heat maps as HTML and PNG, and `inference.py --explain-out`."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from emotag.serving.explain import (
    heatmap_html,
    plot_heatmap,
    relative_weights,
    write_explanations,
    write_heatmap_html,
)

PAIRS = [("thank", 0.6), ("you", 0.3), ("<3", 0.1)]


def test_relative_weights_scale_to_the_heaviest_token():
    assert relative_weights(PAIRS) == pytest.approx([1.0, 0.5, 1 / 6])
    assert relative_weights([("a", 0.0), ("b", 0.0)]) == [0.0, 0.0]
    assert relative_weights([]) == []


def test_heatmap_html_shades_and_escapes():
    html = heatmap_html(PAIRS, caption="weights & more")
    alphas = [float(a) for a in re.findall(r"rgba\(\d+, \d+, \d+, ([0-9.]+)\)", html)]
    assert alphas == pytest.approx([1.0, 0.5, 0.167], abs=1e-3)
    assert "&lt;3" in html and "<3" not in html
    assert 'data-weight="0.6000"' in html and "weights &amp; more" in html
    assert "(no tokens)" in heatmap_html([])


def test_standalone_html_and_png(tmp_path):
    page = write_heatmap_html(PAIRS, tmp_path / "a.html", text="Thank you <3", labels=["love"])
    content = page.read_text(encoding="utf-8")
    assert content.startswith("<!DOCTYPE html>") and "Thank you &lt;3" in content
    assert "<b>Predicted:</b> love" in content

    short = plot_heatmap(PAIRS, tmp_path / "a.png", title="Predicted: love")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Emoji and glyphs the font lacks are drawn as names or "?", never as missing boxes.
    long = plot_heatmap([("😂", 0.5), ("日本", 0.1)] + [("word", 0.01)] * 200)
    assert long.get_figheight() > short.get_figheight()  # wrapped onto more lines
    drawn = [t.get_text() for t in long.axes[0].texts]
    assert ":face_with_tears_of_joy:" in drawn and "??" in drawn


def test_write_explanations_files(tmp_path):
    written = write_explanations(["Thank you <3", "no"], [PAIRS, []], [["love"], []], tmp_path)
    assert [p.name for p in written] == ["001.html", "001.png", "002.html", "002.png"]
    assert "(none)" in (tmp_path / "002.html").read_text(encoding="utf-8")


def test_write_explanations_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as in a `pip install emotag` env
    with pytest.raises(ImportError, match=r"emotag\[app\]"):
        write_explanations(["Thank you <3"], [PAIRS], [["love"]], tmp_path / "out")
    assert not (tmp_path / "out").exists()  # failed before writing anything
    assert "emotag-heatmap" in heatmap_html(PAIRS)  # HTML needs no matplotlib


def test_predict_command_starts_without_matplotlib():
    # matplotlib is not a base dependency: `emotag predict` must start without it. (Keras
    # imports it whenever it is installed, so "not in sys.modules" would not say that.)
    script = (
        "import sys\n"
        "sys.modules['matplotlib'] = None  # as if not installed\n"
        "import emotag.commands.predict\n"
        "print('started')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "started"


@pytest.mark.slow
def test_inference_cli_explain_out(tiny_run_dir, tmp_path):
    from emotag.commands.predict import main, parse_args, run

    argv = ["--model", str(tiny_run_dir), "--explain-out", str(tmp_path), "thanks a lot"]
    config = parse_args(argv)
    assert config.explain_out == str(tmp_path) and not config.explain
    out = io.StringIO()
    assert run(config, out=out) == 0
    assert "attention:" not in out.getvalue()  # files only; --explain prints
    html = (tmp_path / "001.html").read_text(encoding="utf-8")
    assert [m for m in re.findall(r'data-weight="[0-9.]+"[^>]*>([^<]*)<', html)] == [
        "thanks", "a", "lot"
    ]  # fmt: skip
    assert (tmp_path / "001.png").stat().st_size > 1000
    assert main(["--model", str(tiny_run_dir), "--explain", "--explain-out",
                 str(tmp_path / "b"), "why"]) == 0  # fmt: skip
    assert (tmp_path / "b" / "001.png").exists()
