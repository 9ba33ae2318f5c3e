"""Real training workers on loopback (`--strategy multiworker`, TF_CONFIG): one worker
alone; two that finish, agree on the weights, and one chief writes the run; one worker
SIGKILLed mid-run, what the other does, and the resume when both are started again.

Run by hand to see the timings: `pytest -m slow -s tests/test_multiworker.py`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

INJECT = Path(__file__).resolve().parent / "fault_injection.py"
TRAIN = Path(__file__).resolve().parents[1] / "src" / "train_biLSTM.py"
# Two: the killed worker dies after epoch 1 and the resumed cluster runs epoch 2.
EPOCHS = 2
# What the user sees when a peer is gone: TensorFlow's health check of the cluster.
PEER_LOST = ("UnavailableError", "failed to connect", "Socket closed", "Connection reset",
             "CancelledError", "peer", "Collective ops is aborted")  # fmt: skip


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _flags(data_dir, out_dir, *extra):
    return [
        "--data-dir", str(data_dir), "--embeddings", "random", "--embedding-dim", "16",
        "--lstm-units", "8", "--attention-units", "8", "--min-count", "1",
        "--epochs", str(EPOCHS), "--patience", "10", "--batch-size", "16",
        "--output-dir", str(out_dir), "--run-name", "mw", "--verbose", "0", *extra,
    ]  # fmt: skip


def _start(flags, log_path, tf_config=None, kill_at="none", script=None):
    """Starts a training process (through tests/fault_injection.py, or `script`) logging
    to a file, so a chatty process never blocks on a full pipe."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    command = [str(script)] if script else [str(INJECT), kill_at]
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, *command, *flags], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    proc.log_path = log_path
    return proc


def _start_cluster(flags, log_dir, kill_worker1_at="none"):
    """Two workers on 127.0.0.1, the same command with their own TF_CONFIG task."""
    log_dir.mkdir(parents=True, exist_ok=True)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    return [
        _start(flags, log_dir / f"worker{i}.log",
               {"cluster": cluster, "task": {"type": "worker", "index": i}},
               kill_at=kill_worker1_at if i == 1 else "none")  # fmt: skip
        for i in range(2)
    ]


def _finish(procs, timeout):
    """Waits for the processes: (return codes, logs, seconds each ran).

    A process still running at the timeout is killed and its code reported as None.
    """
    started, deadline = time.time(), time.time() + timeout
    ended = [None] * len(procs)
    while None in ended and time.time() < deadline:
        for i, proc in enumerate(procs):
            if ended[i] is None and proc.poll() is not None:
                ended[i] = time.time() - started
        time.sleep(0.5)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    codes = [None if t is None else proc.returncode for proc, t in zip(procs, ended)]
    return codes, [proc.log_path.read_text() for proc in procs], ended


def _digests(log):
    return [line.split("sha256 ")[1].split()[0] for line in log.splitlines() if "sha256" in line]


@pytest.fixture(scope="module")
def one_worker(tiny_data_dir, tmp_path_factory):
    """`src/train_biLSTM.py --strategy multiworker` with a cluster of one worker, run
    once for the module: (output dir, return code, log, seconds it ran)."""
    out = tmp_path_factory.mktemp("one-worker")
    tf_config = {"cluster": {"worker": [f"127.0.0.1:{_free_ports(1)[0]}"]},
                 "task": {"type": "worker", "index": 0}}  # fmt: skip
    flags = _flags(tiny_data_dir, out, "--strategy", "multiworker")
    proc = _start(flags, out / "one.log", tf_config, script=TRAIN)
    (code,), (log,), (seconds,) = _finish([proc], timeout=900)
    return out, code, log, seconds


@pytest.mark.slow
def test_two_workers_train_one_model_and_the_chief_writes_it(one_worker, tiny_data_dir, tmp_path):
    _, code, log, one_alone = one_worker
    assert code == 0, log[-3000:]

    flags = _flags(tiny_data_dir, tmp_path / "two", "--strategy", "multiworker")
    codes, logs, seconds = _finish(_start_cluster(flags, tmp_path / "logs"), timeout=900)
    two_workers = max(seconds)
    assert codes == [0, 0], "\n=====\n".join(log[-3000:] for log in logs)
    print(f"\nwall time, {EPOCHS} epochs of the tiny data: one worker {one_alone:.0f} s, "
          f"two workers on loopback {two_workers:.0f} s")  # fmt: skip

    assert all("strategy multiworker, 2 replica(s)" in log for log in logs)
    chief, other = (_digests(log) for log in logs)
    assert len(chief) == 1 and chief == other  # the same weights, bit for bit
    assert "worker1 done; the chief writes the run" in logs[1]
    # Exactly one run directory, no backup or temporary directory left behind.
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["mw"]
    run = tmp_path / "two" / "mw"
    assert len(json.loads((run / "history.json").read_text())["loss"]) == EPOCHS

    import keras

    import emotag  # noqa: F401  (registers the layers model.keras names)
    from emotag.training.fault_tolerance import weights_digest

    assert weights_digest(keras.models.load_model(run / "model.keras")) == chief[0]


@pytest.mark.slow
def test_multiworker_strategy_single_worker(one_worker):
    out, code, log, _ = one_worker
    assert code == 0, log[-3000:]
    assert "strategy multiworker, 1 replica(s)" in log
    assert (out / "mw" / "saved_model").is_dir()


@pytest.mark.slow
def test_a_killed_worker_stops_the_other_and_both_resume(tiny_data_dir, tmp_path):
    out = tmp_path / "out"
    flags = _flags(tiny_data_dir, out, "--strategy", "multiworker")
    # Worker 1 is SIGKILLed once its epoch-1 backup is written; worker 0 waits for it
    # at the next collective step until TensorFlow's health check gives up.
    killed = _start_cluster(flags, tmp_path / "logs-1", kill_worker1_at="after-epoch:1")
    codes, logs, seconds = _finish(killed, timeout=600)
    assert codes[1] == -signal.SIGKILL, logs[1][-3000:]
    assert codes[0] not in (0, None), f"worker 0 should fail, not hang: {logs[0][-3000:]}"
    seen = [line for line in logs[0].splitlines() if any(s in line for s in PEER_LOST)]
    assert seen, logs[0][-3000:]
    print(f"\nworker 1 killed after {seconds[1]:.0f} s; worker 0 exited with {codes[0]} "
          f"{seconds[0] - seconds[1]:.0f} s later, printing:\n" + "\n".join(seen[-2:]))  # fmt: skip
    assert not (out / "mw").exists()
    backups = sorted(p.name for p in out.iterdir())
    assert backups == [".backup-mw-worker0", ".backup-mw-worker1"]

    # The same command on both machines again: each resumes from its own backup.
    codes, logs, seconds = _finish(_start_cluster(flags, tmp_path / "logs-2"), timeout=900)
    assert codes == [0, 0], "\n=====\n".join(log[-3000:] for log in logs)
    print(f"resumed and finished in {max(seconds):.0f} s")
    for log in logs:
        assert "restored the backup of epoch 1 (its end)" in log
    assert _digests(logs[0]) == _digests(logs[1])
    history = json.loads((out / "mw" / "history.json").read_text())
    assert len(history["loss"]) == EPOCHS  # epoch 1 was not run again
    assert sorted(p.name for p in out.iterdir()) == ["mw"]
