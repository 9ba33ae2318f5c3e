"""What a person sees while a model trains: a bar on a terminal, one line per epoch in a
log file, epoch scores on their own lines, each post-training step with its time, and
the run's path and the command to try it as the last lines."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest

from emotag.config import StepLog
from emotag.runs.writer import try_it_command
from emotag.training.callbacks import progress_verbosity


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_verbosity():
    assert progress_verbosity("auto", Terminal()) == 1
    assert progress_verbosity("auto", io.StringIO()) == 2  # a file or a pipe
    assert [progress_verbosity(v) for v in (0, 1, 2, "0", "1", "2")] == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="verbose"):
        progress_verbosity(3)


def test_epoch_scores_are_logged_on_their_own_line(monkeypatch, caplog):
    import keras
    import numpy as np

    from emotag.training.callbacks import ValidationMacroF1

    screen = Terminal()  # stdout and the log on one terminal, as a person sees them
    monkeypatch.setattr(sys, "stdout", screen)
    logger = logging.getLogger("emotag.training.callbacks")
    handler = logging.StreamHandler(screen)
    logger.addHandler(handler)
    # setLevel (through caplog, which restores it) and not a plain attribute: a logger
    # caches isEnabledFor, and only setLevel clears that cache, so an earlier test in the
    # same worker that logged below INFO would otherwise silence this one.
    caplog.set_level(logging.INFO, logger="emotag.training.callbacks")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)), (rng.random((32, 3)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    try:
        model.fit(x, y, epochs=2, batch_size=8, verbose=1, callbacks=[ValidationMacroF1(x, y)])
    finally:
        logger.removeHandler(handler)
    text = screen.getvalue()
    starts = [m.start() for m in re.finditer(r"epoch \d: val_macro_f1=", text)]
    assert len(starts) == 2
    assert all(text[i - 1] == "\n" for i in starts), text  # not glued onto the bar
    assert text.index("val_macro_f1: ") < starts[0]  # the bar's epoch summary has it too


def test_step_log_times_each_step(caplog):
    caplog.set_level(logging.INFO)
    steps = StepLog(logging.getLogger("test"))
    steps.start("one")
    steps.start("two")
    steps.done()
    steps.done()  # nothing running: nothing logged
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages] == ["one ...", "one", "two ...", "two"]
    assert all(re.fullmatch(r"\w+: \d+\.\d s", m) for m in messages[1::2])


def test_try_it_command(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/emotag")
    assert try_it_command("artifacts/r 1") == (
        "emotag predict --model 'artifacts/r 1' 'Thank you so much!'"
    )
    monkeypatch.setattr("shutil.which", lambda name: None)  # an environment not activated
    assert try_it_command("artifacts/r").startswith("venv/bin/python -m emotag predict ")
    (bin_dir / "emotag").touch()
    assert try_it_command("artifacts/r") == (
        "venv/bin/emotag predict --model artifacts/r 'Thank you so much!'"
    )


@pytest.mark.slow
def test_a_logged_training_run(tiny_data_dir, tmp_path, capsys, caplog):
    from emotag.training.bilstm import main

    caplog.set_level(logging.INFO)
    argv = [
        "--data-dir", str(tiny_data_dir), "--embeddings", "random", "--embedding-dim", "8",
        "--epochs", "2", "--lstm-units", "4", "--attention-units", "4", "--batch-size", "16",
        "--min-count", "1", "--output-dir", str(tmp_path), "--run-name", "logged",
    ]  # fmt: skip
    assert main(argv) == 0
    # Captured standard output is not a terminal: one summary line per epoch, no bar, and
    # the step count known from the first epoch on.
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"], lines
    for line in lines[1::2]:
        assert re.match(r"(\d+)/\1 - .*val_macro_f1: ", line), line
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("epoch 2: val_macro_f1=") for m in messages)
    for step in (
        "predicting dev and test", "calibrating thresholds on dev, scoring test",
        "exporting the SavedModel", "saving model.keras, the tokenizer and the run's records",
    ):  # fmt: skip
        assert any(re.fullmatch(re.escape(step) + r": \d+\.\d s", m) for m in messages), step
    run_dir = tmp_path / "logged"
    assert messages[-2:] == [
        f"run written to {run_dir}",
        f"try it: {try_it_command(run_dir)}",
    ]
