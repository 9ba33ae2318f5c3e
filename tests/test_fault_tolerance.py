"""Resumable training: persisted early stopping, stale temp dirs, SIGKILL + restart,
and distribution strategies on two logical CPU devices (the multiworker strategy:
test_multiworker.py)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from emotag.runs.writer import RunWriter
from emotag.training.fault_tolerance import PersistentEarlyStopping, make_strategy

SRC = Path(__file__).resolve().parents[1] / "src"


class FakeScore(keras.callbacks.Callback):
    """Puts a scripted `val_score` into the epoch logs."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = self.scores[epoch]


def _tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_persistent_early_stopping_survives_a_restart(tmp_path):
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    scores = [0.1, 0.9, 0.2, 0.3, 0.4, 0.5]
    first = _tiny_model()
    stopper = PersistentEarlyStopping(tmp_path, "val_score", patience=3)
    first.fit(x, y, epochs=2, verbose=0, callbacks=[FakeScore(scores), stopper])
    best_weights = [w.copy() for w in first.get_weights()]  # after epoch 2, the best

    # A new process: fresh objects, same directory; it resumes at epoch 3.
    second = _tiny_model()
    resumed = PersistentEarlyStopping(tmp_path, "val_score", patience=3)
    second.fit(x, y, epochs=6, initial_epoch=2, verbose=0,
               callbacks=[FakeScore(scores), resumed])  # fmt: skip
    assert resumed.best == 0.9 and resumed.best_epoch == 1
    assert resumed.stopped and len(resumed.epochs) == 5  # epochs 3-5 did not beat epoch 2
    assert resumed.history["val_score"] == scores[:5]
    for got, want in zip(second.get_weights(), best_weights):
        np.testing.assert_allclose(got, want)  # keras' own EarlyStopping would lose these


def test_an_epoch_run_again_replaces_its_record(tmp_path):
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    stopper = PersistentEarlyStopping(tmp_path, "val_score", patience=5)
    _tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[FakeScore([0.1, 0.2]), stopper])
    again = PersistentEarlyStopping(tmp_path, "val_score", patience=5)
    _tiny_model().fit(x, y, epochs=2, initial_epoch=1, verbose=0,
                      callbacks=[FakeScore([0.1, 0.3]), again])  # fmt: skip
    assert again.history["val_score"] == [0.1, 0.3]


def test_run_writer_removes_only_dead_writers_temp_dirs(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".run.tmp-pid{dead.pid}-abc"
    live = tmp_path / f".run.tmp-pid{os.getpid()}-def"
    other = tmp_path / ".run.tmp-xyz"  # an older writer's name: left alone
    for path in (stale, live, other):
        path.mkdir()
    with RunWriter(tmp_path, "run") as run:
        assert run.path not in (stale, live, other)
        run.write_json("ok.json", {})
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "run" / "ok.json").exists()


def test_run_writer_logs_only_a_finished_run(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="emotag.runs.writer"):
        with pytest.raises(RuntimeError):
            with RunWriter(tmp_path, "failed"):
                raise RuntimeError("training crashed")
        with RunWriter(tmp_path, "run"):
            pass
    assert [r.getMessage() for r in caplog.records] == [f"run written to {tmp_path / 'run'}"]


INJECT = Path(__file__).resolve().parent / "fault_injection.py"


def _dead_pid() -> int:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    return dead.pid


def test_a_kill_between_the_two_renames_is_undone_by_the_next_writer(tmp_path):
    with RunWriter(tmp_path, "run") as run:
        run.write_json("ok.json", {"generation": 1})
    killed = subprocess.run([sys.executable, str(INJECT), "swap-writer", str(tmp_path), "run"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    hidden = [p.name for p in tmp_path.iterdir() if ".old-pid" in p.name]
    assert not (tmp_path / "run").exists() and len(hidden) == 1  # the defect's state

    with RunWriter(tmp_path, "run") as run:
        assert json.loads((tmp_path / "run" / "ok.json").read_text()) == {"generation": 1}
        run.write_json("ok.json", {"generation": 2})
    assert json.loads((tmp_path / "run" / "ok.json").read_text()) == {"generation": 2}
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_opening_a_run_hidden_by_a_killed_swap_restores_it(tmp_path, caplog):
    from emotag.runs.layout import open_run

    hidden = tmp_path / f".run.old-pid{_dead_pid()}-ab12"
    (hidden / "run").mkdir(parents=True)
    (hidden / "run" / "labels.txt").write_text("joy\n")
    live = tmp_path / f".other.old-pid{os.getpid()}-cd34"  # a writer still swapping
    (live / "run").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="emotag.runs.writer"):
        opened = open_run(tmp_path / "run", partial=True)
    assert opened.label_names == ("joy",) and not hidden.exists()
    assert "restored" in caplog.text and hidden.name in caplog.text
    with pytest.raises(Exception, match="is not a directory"):
        open_run(tmp_path / "other", partial=True)
    assert (live / "run").is_dir()  # a live writer's is never touched


def test_a_finished_swap_left_uncleaned_is_deleted(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "new.txt").write_text("")
    stale = tmp_path / f".run.old-pid{_dead_pid()}-ef56"
    (stale / "run").mkdir(parents=True)
    with RunWriter(tmp_path, "run"):
        pass
    assert not stale.exists()


def test_unknown_strategy():
    with pytest.raises(ValueError, match="strategy must be one of"):
        make_strategy("tpu")


def _train_command(data_dir, out_dir, *extra):
    return [
        sys.executable, str(SRC / "train_biLSTM.py"),
        "--data-dir", str(data_dir), "--embeddings", "random", "--embedding-dim", "16",
        "--lstm-units", "8", "--attention-units", "8", "--min-count", "1",
        "--output-dir", str(out_dir), "--run-name", "ft", "--verbose", "0", *extra,
    ]  # fmt: skip


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.mark.slow
def test_sigkill_mid_epoch_then_restart_resumes(tiny_data_dir, tmp_path):
    epochs = 4
    command = _train_command(
        tiny_data_dir, tmp_path, "--epochs", str(epochs), "--patience", "10",
        "--batch-size", "4", "--backup-every", "5",
    )  # fmt: skip
    metadata = tmp_path / ".backup-ft" / "keras" / "training_metadata.json"
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 600
    backup = None
    while time.time() < deadline and proc.poll() is None:
        try:
            backup = json.loads(metadata.read_text())
        except (OSError, ValueError):
            backup = None
        # Mid-epoch of epoch 2: at least one epoch done and a step backup in this one.
        if backup and backup["epoch"] >= 1 and backup["batch"] > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read().decode()[-3000:]
    assert not (tmp_path / "ft").exists()
    done = json.loads(metadata.read_text())["epoch"]  # epochs fully backed up at the kill
    assert 1 <= done < epochs

    second = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    log = second.stderr
    assert "resuming from the backup" in log
    ran = [line for line in log.splitlines() if "emotag.training.callbacks: epoch" in line]
    assert len(ran) == epochs - done, log[-3000:]  # the remaining epochs only

    run_dir = tmp_path / "ft"
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == epochs
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["epochs_run"] == epochs
    assert info["best_epoch"] == int(np.argmax(history["val_macro_f1"])) + 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # backup gone

    from emotag.serving.predictor import Predictor

    probs = Predictor.load(run_dir).predict_proba(["thanks a lot", "why so sad"])
    assert probs.shape == (2, 28) and np.isfinite(probs).all()


def _run_with_kill(point, data_dir, out_dir, *extra):
    """Trains 3 epochs through tests/fault_injection.py, SIGKILLed at `point`.

    One TensorFlow thread each, so that two runs of the same command compute the same
    floats whatever else the machine is doing.
    """
    flags = ("--epochs", "3", "--patience", "10", "--batch-size", "16", "--backup-every", "4",
             *extra)  # fmt: skip
    command = [sys.executable, str(INJECT), point, *_train_command(data_dir, out_dir, *flags)[2:]]
    env = {**_env(), "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def _digest(log):
    return [line.split("sha256 ")[1].split()[0] for line in log.splitlines() if "sha256" in line]


@pytest.mark.slow
def test_resume_after_kills_between_epochs_and_during_export_is_exact(tiny_data_dir, tmp_path):
    reference = _run_with_kill("none", tiny_data_dir, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]

    restored = []
    for point in ("after-epoch:1", "after-epoch:2", "export", "none"):
        proc = _run_with_kill(point, tiny_data_dir, tmp_path / "killed")
        expected = 0 if point == "none" else -signal.SIGKILL
        assert proc.returncode == expected, f"{point}: {proc.stderr[-3000:]}"
        restored += [line.split("backup of ")[1] for line in proc.stderr.splitlines()
                     if "restored the backup of" in line]  # fmt: skip
    # Each restart resumed where the previous start was killed (the one killed during
    # export had trained epoch 3, the last): no epoch ran twice.
    assert restored == ["epoch 1 (its end)", "epoch 2 (its end)", "epoch 3 (its end)"]
    assert _digest(proc.stderr) == _digest(reference.stderr)  # the same weights, bit for bit

    want, got = tmp_path / "reference" / "ft", tmp_path / "killed" / "ft"
    assert json.loads((got / "history.json").read_text()) == json.loads(
        (want / "history.json").read_text()
    )
    info, info_want = (json.loads((d / "run_info.json").read_text()) for d in (got, want))
    assert (info["best_epoch"], info["epochs_run"]) == (info_want["best_epoch"], 3)
    np.testing.assert_array_equal(np.load(got / "per_class_thresholds.npy"),
                                  np.load(want / "per_class_thresholds.npy"))  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == ["ft"]  # backup gone


def _kill_resume_and_compare(data_dir, tmp_path, epoch, *flags) -> dict:
    """Trains with `flags` unkilled, then killed after `epoch` and resumed; asserts the
    resumed run ends on the same weights (bit for bit) and history. Returns that history."""
    reference = _run_with_kill("none", data_dir, tmp_path / "reference", *flags)
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = _run_with_kill(f"after-epoch:{epoch}", data_dir, tmp_path / "killed", *flags)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    resumed = _run_with_kill("none", data_dir, tmp_path / "killed", *flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"restored the backup of epoch {epoch} (its end)" in resumed.stderr
    assert _digest(resumed.stderr) == _digest(reference.stderr)  # the same weights, bit for bit
    want, got = tmp_path / "reference" / "ft", tmp_path / "killed" / "ft"
    history = json.loads((want / "history.json").read_text())
    assert json.loads((got / "history.json").read_text()) == history
    return history


@pytest.mark.slow
def test_a_resumed_run_with_weight_averaging_is_exact(tiny_data_dir, tmp_path):
    # The backup holds the raw weights and their average; the dev score and best weights
    # of epoch 1 (the average) were recorded before the kill.
    _kill_resume_and_compare(tiny_data_dir, tmp_path, 1, "--weight-averaging", "1")


@pytest.mark.slow
def test_a_resumed_run_with_lr_drop_is_exact(tiny_data_dir, tmp_path):
    # The rate of the epoch after the kill comes from the early-stopping record on disk.
    history = _kill_resume_and_compare(
        tiny_data_dir, tmp_path, 2, "--lr-drop", "0.5", "--learning-rate", "0.05",
        "--batch-size", "8",
    )  # fmt: skip
    rates = history["learning_rate"]
    assert rates[2] == pytest.approx(rates[0] / 2)  # epoch 2 missed: epoch 3 at half the rate


TWO_CPUS = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import emotag.training.bilstm as train_biLSTM
from emotag.training.fault_tolerance import make_strategy
assert make_strategy("mirrored").num_replicas_in_sync == 2
sys.exit(train_biLSTM.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tiny_data_dir, tmp_path):
    args = _train_command(tiny_data_dir, tmp_path, "--epochs", "1", "--batch-size", "16",
                          "--strategy", "mirrored")[2:]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", TWO_CPUS, *args], env=_env(),
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "strategy mirrored, 2 replica(s)" in proc.stderr
    assert (tmp_path / "ft" / "saved_model").is_dir()
