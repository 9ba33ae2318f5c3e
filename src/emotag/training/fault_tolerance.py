"""Training that survives being killed, and the distribution strategies it runs under.

A run killed at any point and started again with the same command resumes:
`emotag.training.backup.TrainingBackup` brings back the weights, the optimizer state,
the dropout random state and the epoch counter from its last backup (every `save_freq`
steps and at each epoch end; an interrupted epoch is run again from its first batch,
starting from the mid-epoch weights), and `PersistentEarlyStopping` brings back what
`EarlyStopping(restore_best_weights=True)` would have lost with the process: the best
score, its epoch, its weights and every epoch's logs. Keras's own `EarlyStopping` /
`ModelCheckpoint(save_best_only=True)` keep the best score in memory only, so after a
restart the first epoch would count as an improvement however bad it is.
`worker_role` tells the chief of a multi-worker cluster (the one that writes the run)
from the other workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from pathlib import Path

import keras
import numpy as np
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


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process's place in a training cluster."""

    chief: bool  # writes the run directory (the others write theirs to a temporary one)
    name: str | None  # "worker1" when the cluster has several tasks; None when alone
    workers: int  # tasks in the cluster (1 when alone)


def worker_role(strategy: tf.distribute.Strategy) -> WorkerRole:
    """Whether this process is the cluster's chief, and its task name.

    Under `MultiWorkerMirroredStrategy` the chief is the "chief" task, else worker 0
    (TensorFlow's convention); every other strategy runs alone and is its own chief.

    Args:
        strategy: the strategy from `make_strategy`.

    Returns:
        A `WorkerRole`.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    tasks = sum(len(addresses) for addresses in spec.values())
    if tasks <= 1:
        return WorkerRole(chief=True, name=None, workers=1)
    task_type, task_id = resolver.task_type, resolver.task_id
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in spec)
    return WorkerRole(chief=chief, name=f"{task_type}{task_id}", workers=tasks)


def fix_keras_multiworker(model: keras.Model) -> None:
    """Lets Keras 3 (3.15) `fit` a model under a strategy with several workers.

    Two steps of `fit` fail under `MultiWorkerMirroredStrategy` with more than one
    worker (keras-team/keras#20585), and this model works around both:
    - before training, `fit` builds the loss, metrics and optimizer from one batch that
      it first averages across workers with `strategy.reduce("MEAN", (x, y))`, which
      fails on the tuple ("Attempt to convert a value (PerReplica ...) to a Tensor") and
      would average token ids: this model builds from its worker's own part of the batch
      (shapes are all the build needs);
    - each step's logs are averaged with `strategy.reduce("MEAN", value, axis=0)`, which
      fails on a scalar loss ("Invalid reduction dimension 0 for input with 0
      dimensions"): this model's train step returns each log as a vector of one, whose
      mean over axis 0 across the workers is the scalar Keras means.

    Args:
        model: a compiled model, created under the strategy's scope.
    """
    strategy = model.distribute_strategy
    train_step = model.train_step

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(local, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    def train_step_with_vector_logs(data):
        return {name: tf.reshape(value, [1]) for name, value in train_step(data).items()}

    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = train_step_with_vector_logs


def weights_digest(model: keras.Model) -> str:
    """A short SHA-256 of the model's weights, to check that workers agree."""
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


class PersistentEarlyStopping(keras.callbacks.Callback):
    """Early stopping with restore-best-weights whose state lives on disk.

    Writes `directory/early_stopping.json` (every epoch's logs, the best score and
    epoch, the name of the best weights' file) after each epoch, atomically, and
    `directory/best-epoch<N>.weights.h5` when epoch N is a new best; reads them back
    when training begins, so a restarted run picks up where the killed one left off.
    Place it after the callback that adds `monitor` to the logs and before the backup
    (`emotag.training.backup.TrainingBackup`), so an epoch is recorded here before the
    backup says it is done. An epoch recorded but not backed up is run again: when it
    begins, the records from it on are dropped and the best recomputed from the rest,
    whose weights file is still there (an earlier best's file is deleted only once a
    later best's epoch has begun its successor, i.e. has been backed up).

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
        self.weights_name = "best.weights.h5"  # the best epoch's file (this name: older states)

    @property
    def state_path(self) -> Path:
        return self.directory / "early_stopping.json"

    @property
    def weights_path(self) -> Path:
        """The best epoch's weights."""
        return self.directory / self.weights_name

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
        self.weights_name = state.get("weights", "best.weights.h5")
        return True

    def on_train_begin(self, logs=None):
        if self.load():
            log.info(
                "resuming early stopping: %d epochs recorded, best %s=%.4f at epoch %s",
                len(self.epochs), self.monitor, self.best,
                None if self.best_epoch is None else self.best_epoch + 1,
            )  # fmt: skip

    def on_epoch_begin(self, epoch, logs=None):
        if len(self.epochs) > epoch:
            self.rewind(epoch)
        for path in self.directory.glob("best-epoch*.weights.h5"):
            if path.name != self.weights_name:  # superseded by a best that is backed up
                path.unlink(missing_ok=True)

    def rewind(self, epoch: int) -> None:
        """Forgets epochs `epoch`, `epoch + 1`, ... (run again after a restart).

        The best is recomputed from the epochs kept, as they were first chosen.
        """
        log.info("epochs %d-%d were not backed up; running them again", epoch + 1, len(self.epochs))
        kept = self.epochs[:epoch]
        self.epochs, self.stopped = [], False
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_epoch = None
        for number, (logs, new_best) in enumerate(zip(kept, self._new_bests(kept))):
            self.epochs.append(logs)
            if new_best:
                self.best, self.best_epoch = logs[self.monitor], number
                self.weights_name = _best_weights_name(number)
        self._save_state()

    def _better(self, score: float, than: float) -> bool:
        return score > than if self.mode == "max" else score < than

    def _improves(self, score: float) -> bool:
        return self.best_epoch is None or self._better(score, self.best)

    def _new_bests(self, epochs: list[dict]):
        """For each epoch's logs in order: whether it beat every epoch before it."""
        best = None
        for logs in epochs:
            score = logs[self.monitor]
            new_best = best is None or self._better(score, best)
            if new_best:
                best = score
            yield new_best

    def misses(self, before: int) -> int:
        """Recorded epochs before epoch `before` (0-based) that set no new best."""
        return sum(not new_best for new_best in self._new_bests(self.epochs[:before]))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"{self.monitor!r} is not in the epoch logs; order the callbacks")
        score = float(logs[self.monitor])
        del self.epochs[epoch:]  # an epoch run again replaces its earlier record
        self.epochs.append({k: float(v) for k, v in logs.items()})
        if self._improves(score):
            self.best, self.best_epoch = score, epoch
            # A new file: the previous best's stays until this epoch is backed up.
            self.weights_name = _best_weights_name(epoch)
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
            "weights": self.weights_name,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.state_path)


def _best_weights_name(epoch: int) -> str:
    return f"best-epoch{epoch + 1}.weights.h5"


def _atomic_save_weights(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("tmp-" + path.name)  # Keras wants the .weights.h5 suffix
    model.save_weights(tmp, overwrite=True)
    os.replace(tmp, path)
