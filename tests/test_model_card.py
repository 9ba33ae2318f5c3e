"""MODEL_CARD.md from a run's files: written at the end of training and by the script."""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import pytest

from emotag.runs.model_card import render_model_card, write_model_card


def test_card_of_a_nearly_empty_run(tmp_path):
    (tmp_path / "labels.txt").write_text("joy\nneutral\n")
    card = render_model_card(tmp_path)
    assert card.startswith(f"# Model card: {tmp_path.name}")
    assert "`joy`, `neutral`" in card
    assert "No `overall_metrics.json`" in card and "No `thresholds.json`" in card
    assert "Demszky" in card and "tf.saved_model.load" in card


def test_non_strict_failure_is_logged_not_raised(tmp_path, caplog):
    missing = tmp_path / "does-not-exist"
    with caplog.at_level(logging.ERROR):
        assert write_model_card(missing, strict=False) is None
    assert "could not write" in caplog.text
    with pytest.raises(OSError):
        write_model_card(missing)


@pytest.mark.slow
def test_training_writes_a_complete_card(tiny_run_dir):
    card = (tiny_run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    for heading in ["## Data and taxonomy", "## Training", "## Test metrics", "## Thresholds",
                    "## Intended use", "## Known failure modes", "## How to load"]:  # fmt: skip
        assert heading in card, heading
    assert "- tuned against: the dev labels\n" in card  # a plain run: the labels alone
    labels = (tiny_run_dir / "labels.txt").read_text().split()
    starts = tuple(f"| {name} |" for name in labels)
    table_rows = [line for line in card.splitlines() if line.startswith(starts)]
    assert len(table_rows) >= len(labels)  # per-class table (rare-class table adds more)
    assert "![Per-class test F1](per_class_f1.png)" in card
    assert "train_biLSTM" in card or "bilstm" in card
    assert "Rare classes" in card and "Sarcasm" in card and "Label noise" in card


@pytest.mark.slow
def test_card_loading_snippet_runs_with_plain_tensorflow(tiny_run_dir):
    card = (tiny_run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    snippet = snippet.replace(f"path/to/{tiny_run_dir.name}", str(tiny_run_dir))
    namespace = {}
    exec(compile(snippet, "MODEL_CARD.md", "exec"), namespace)  # noqa: S102
    assert namespace["probs"].shape == (len(namespace["names"]),)
    assert np.all((namespace["chosen"] == 0) | (namespace["chosen"] == 1))


@pytest.mark.slow
def test_model_card_script(tiny_run_dir):
    from emotag.commands.card import ModelCardConfig, main, parse_args, run

    assert parse_args(["--model", "a", "--model", "b"]).model == ["a", "b"]
    out = io.StringIO()
    assert run(ModelCardConfig(model=[str(tiny_run_dir)], stdout=True), out=out) == []
    assert out.getvalue() == render_model_card(tiny_run_dir)
    assert main(["--model", str(tiny_run_dir)]) == 0
    assert (tiny_run_dir / "MODEL_CARD.md").read_text(encoding="utf-8") == out.getvalue()


def test_card_of_a_tweet_run_talks_about_tweets_not_reddit(tmp_path):
    import json

    (tmp_path / "labels.txt").write_text("anger\njoy\ntrust\n")
    (tmp_path / "train_config.json").write_text(json.dumps({"dataset": "semeval-ec"}))
    card = render_model_card(tmp_path)
    assert "SemEval-2018" in card and "tweets" in card
    assert "Reddit" not in card and "GoEmotions taxonomy" not in card
    assert "**Neutral.**" not in card  # no neutral label in this label set
