"""Training that survives being killed, and the distribution strategies it runs under.

A run killed at any point and started again with the same command resumes: Keras's
`BackupAndRestore` brings back the weights, the optimizer state and the epoch counter
from its last backup (every `save_freq` steps and at each epoch end; an interrupted
epoch is run again from its first batch, starting from the mid-epoch weights), and
`PersistentEarlyStopping` brings back what `EarlyStopping(restore_best_weights=True)`
would have lost with the process: the best score, its epoch, its weights and every
epoch's logs. Keras's own `EarlyStopping` / `ModelCheckpoint(save_best_only=True)` keep
the best score in memory only, so after a restart the first epoch would count as an
improvement however bad it is.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import keras
import tensorflow as tf

log = logging.getLogger(__name__)

STRATEGIES = ("default", "mirrored", "multiworker")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The `tf.distribute` strategy for `--strategy`.

    Args:
        name: "default" (one device), "mirrored" (every local GPU, or every logical
            CPU device the process configured) or "multiworker" (one replica set per
            machine of the cluster described by the `TF_CONFIG` environment variable;
            without it, a single local worker). "multiworker" must be created before
            any other TensorFlow op runs in the process.

    Returns:
        A strategy; build and compile the model under its `scope()`.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        # MirroredStrategy alone takes one CPU; use each logical CPU device configured
        # (tf.config.set_logical_device_configuration), e.g. to test on a laptop.
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")


class PersistentEarlyStopping(keras.callbacks.Callback):
    """Early stopping with restore-best-weights whose state lives on disk.

    Writes `directory/early_stopping.json` (every epoch's logs, the best score and
    epoch) and `directory/best.weights.h5` (the best epoch's weights) after each
    epoch, atomically; reads them back when training begins, so a restarted run picks
    up where the killed one left off. Place it after the callback that adds `monitor`
    to the logs and before `BackupAndRestore`, so an epoch is recorded here before the
    backup says it is done (an epoch recorded but not backed up is run again and its
    record replaced).

    Args:
        directory: where the state is kept (created if needed).
        monitor: the logs key to maximise (or minimise with mode="min").
        mode: "max" or "min".
        patience: epochs without improvement before training stops.

    Example:
    ```python
    stopper = PersistentEarlyStopping("artifacts/.backup-run", "val_macro_f1", patience=3)
    model.fit(ds, epochs=12, callbacks=[ValidationMacroF1(dev, y), stopper,
                                        keras.callbacks.BackupAndRestore(...)])
    stopper.history  # every epoch's logs, across restarts
    ```
    """

    def __init__(self, directory, monitor: str, mode: str = "max", patience: int = 3):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.epochs: list[dict] = []  # logs of epochs 0, 1, ... (floats only)
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch: int | None = None
        self.stopped = False

    @property
    def state_path(self) -> Path:
        return self.directory / "early_stopping.json"

    @property
    def weights_path(self) -> Path:
        return self.directory / "best.weights.h5"

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras-style history over every epoch run, restarts included."""
        keys = sorted({k for logs in self.epochs for k in logs})
        return {k: [logs.get(k, math.nan) for logs in self.epochs] for k in keys}

    def load(self) -> bool:
        """Reads the saved state, if any; returns whether there was one."""
        if not self.state_path.exists():
            return False
        state = json.loads(self.state_path.read_text())
        self.epochs = state["epochs"]
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.stopped = state["stopped"]
        return True

    def on_train_begin(self, logs=None):
        if self.load():
            log.info(
                "resuming early stopping: %d epochs recorded, best %s=%.4f at epoch %s",
                len(self.epochs), self.monitor, self.best,
                None if self.best_epoch is None else self.best_epoch + 1,
            )  # fmt: skip

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"{self.monitor!r} is not in the epoch logs; order the callbacks")
        score = float(logs[self.monitor])
        del self.epochs[epoch:]  # an epoch run again replaces its earlier record
        self.epochs.append({k: float(v) for k, v in logs.items()})
        better = score > self.best if self.mode == "max" else score < self.best
        if better or self.best_epoch is None:
            self.best, self.best_epoch = score, epoch
            _atomic_save_weights(self.model, self.weights_path)
        if epoch - self.best_epoch >= self.patience:
            self.stopped = True
            self.model.stop_training = True
        self._save_state()

    def on_train_end(self, logs=None):
        # Logged here, not at the epoch's end, where the progress bar's line is still open.
        if self.stopped:
            log.info("early stop: no %s gain for %d epochs", self.monitor, self.patience)
        if self.weights_path.exists():
            self.model.load_weights(self.weights_path)
            log.info("restored weights of epoch %d", self.best_epoch + 1)

    def _save_state(self) -> None:
        state = {
            "epochs": self.epochs,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped": self.stopped,
            "monitor": self.monitor,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.state_path)


def _atomic_save_weights(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("tmp-" + path.name)  # Keras wants the .weights.h5 suffix
    model.save_weights(tmp, overwrite=True)
    os.replace(tmp, path)
