"""A training backup that a run killed any number of times, at any point, resumes exactly.

Keras's `BackupAndRestore` with an integer `save_freq` backs up only every N steps: not
at an epoch's end, so a run killed after its last epoch (during export) ran that epoch
again; it does not remember the restored epoch, so the first step backup of a resumed
run recorded epoch 0 and a second kill started the run over; and it writes its
metadata in place, so a kill during that write left a backup that no longer loads.
`TrainingBackup` fixes the three and also carries what `save_weights` leaves out (the
dropout random state); `skip_shuffles` replays the data order. Resumed from an
epoch's end, a run then trains exactly as if it had never stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

log = logging.getLogger(__name__)

METADATA = "training_metadata.json"  # the commit point: names the weights file it goes with
LEGACY_WEIGHTS = "latest.weights.h5"  # backups written by keras.callbacks.BackupAndRestore


def write_text_atomic(path: str | Path, text: str) -> None:
    """Writes `text` to `path` so that a reader sees the old file or the new one, never half.

    Args:
        path: the file to (re)write; its directory must exist.
        text: the new content (UTF-8).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-pid{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class TrainingBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that saves at every epoch end too, atomically, and resumes exactly.

    Each backup writes a new `backup-<n>.weights.h5` (weights and optimizer state), then
    replaces `training_metadata.json` (the epoch count, the batch, the weights file's name
    and the dropout seed states, and the same of the backup before) in one `os.replace`:
    a kill at any moment leaves the previous complete backup. Older weights files are
    deleted after the commit.

    With several workers, each keeps its own backup, and a kill can leave one worker a
    backup ahead of another (they wait for each other at every step, so never more).
    On a restart the workers agree on the oldest of their latest backups, which each
    holds as its latest or the one before, so all resume from the same step.

    Args:
        backup_dir: the directory of this backup (one per worker; created if needed).
        save_freq: also back up every this many training steps; "epoch" or 0 = only at
            epoch ends.
        workers: the processes training together (a collective op agrees on the backup
            to resume from when more than 1; every worker must then start `fit`).

    Example:
    ```python
    backup = TrainingBackup("artifacts/.backup-run/keras", save_freq=200)
    skip_shuffles(train_ds, backup.epochs_done())  # this epoch's data order, as unkilled
    model.fit(train_ds, epochs=8, callbacks=[..., backup])
    ```
    """

    def __init__(self, backup_dir: str | Path, save_freq: int | str = "epoch", workers: int = 1):
        super().__init__(str(backup_dir), save_freq=save_freq or "epoch", delete_checkpoint=False)
        self.directory = Path(backup_dir)
        self.metadata_path = self.directory / METADATA
        self.workers = workers

    def read_metadata(self) -> dict | None:
        """The last committed backup's metadata; None when there is none yet."""
        if not self.metadata_path.exists():
            return None
        try:
            return json.loads(self.metadata_path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise ValueError(
                f"{self.metadata_path}: unreadable backup ({err}); delete "
                f"{self.directory.parent} to start the run afresh"
            ) from None

    def epochs_done(self) -> int:
        """How many epochs the last backup has finished (0 without a backup)."""
        metadata = self.read_metadata()
        return int(metadata["epoch"]) if metadata else 0

    def on_train_begin(self, logs=None):
        metadata = self.read_metadata()
        point = _point(metadata)
        if self.workers > 1:
            point = smallest_across_workers(self.model.distribute_strategy, point)
        generations = [metadata, metadata.get("previous")] if metadata else []
        chosen = next((g for g in generations if g and _point(g) == point), None)
        if chosen is not None:
            self._restore(chosen)
        elif point != (0, 0):
            raise RuntimeError(
                f"{self.directory} has no backup of epoch {point[0]} step {point[1]}, where "
                "the other workers resume; delete every worker's backup to start afresh"
            )

    def _restore(self, metadata: dict) -> None:
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its state is saved too
        self.model.load_weights(str(self.directory / metadata.get("weights", LEGACY_WEIGHTS)))
        for variable, state in zip(_seed_states(self.model), metadata.get("seed_states", [])):
            variable.assign(tf.constant(state, dtype=variable.dtype))
        # Remembered, so a step backup of this resumed run records the true epoch.
        self._current_epoch = self.model._initial_epoch = int(metadata["epoch"])
        log.info(
            "restored the backup of epoch %d%s", self._current_epoch,
            f", step {metadata['batch']}" if metadata.get("batch") else " (its end)",
        )  # fmt: skip

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        self._batches_seen_since_last_saving = 0
        self._save_model()

    def _save_model(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        previous = self.read_metadata() or {}
        previous.pop("previous", None)
        number = int(previous.get("number", 0)) + 1
        weights = f"backup-{number}.weights.h5"
        tmp = self.directory / f"tmp-{weights}"  # Keras wants the .weights.h5 suffix
        self.model.save_weights(tmp, overwrite=True)
        os.replace(tmp, self.directory / weights)
        metadata = {
            "epoch": self._current_epoch,  # epochs finished
            "batch": self._last_batch_seen,  # steps of the current epoch done (0 at its end)
            "number": number,
            "weights": weights,
            "seed_states": [v.numpy().tolist() for v in _seed_states(self.model)],
            "previous": previous or None,  # where a worker one backup behind resumes
        }
        write_text_atomic(self.metadata_path, json.dumps(metadata))
        for path in self.directory.glob("*.weights.h5"):
            if path.name not in (weights, previous.get("weights")):
                path.unlink(missing_ok=True)


def smallest_across_workers(strategy: tf.distribute.Strategy, point: tuple[int, ...]) -> tuple:
    """The smallest of every worker's `point` (tuples compare element by element).

    A collective op: every worker of the strategy must call it, at the same moment of
    its program.

    Args:
        strategy: a multi-worker strategy.
        point: this worker's values.

    Returns:
        The smallest point of all workers.
    """
    local = tf.constant([point], dtype=tf.int64)  # (1, len(point))
    everyone = strategy.gather(strategy.run(lambda: tf.identity(local)), axis=0)
    return min(tuple(int(v) for v in row) for row in everyone.numpy())


def _point(metadata: dict | None) -> tuple[int, int]:
    """(epochs finished, steps of the next one) of a backup; (0, 0) for none."""
    if not metadata:
        return (0, 0)
    return (int(metadata["epoch"]), int(metadata.get("batch", 0)))


def skip_shuffles(dataset: tf.data.Dataset, epochs: int) -> None:
    """Advances a reshuffling dataset's seed stream past `epochs` finished epochs.

    `shuffle(seed=s, reshuffle_each_iteration=True)` draws a new order for each iterator
    made from the dataset in the process, and a resumed process starts that stream
    again. Keras 3's `fit` makes an iterator when each epoch starts and, when the
    dataset states its size (`make_dataset` does), another when it ends; making and
    dropping as many here gives the next epoch the order it had in a run that was never
    stopped (`tests/test_backup.py` checks it against `fit`). No element is read.

    Args:
        dataset: the training dataset that `fit` will iterate.
        epochs: the epochs already finished.
    """
    per_epoch = 2 if int(dataset.cardinality()) > 0 else 1
    for _ in range(epochs * per_epoch):
        iter(dataset)


def _seed_states(model: keras.Model) -> list:
    """The model's random-generator state variables (dropout masks), which
    `save_weights` leaves out."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


# Flags that do not change what is trained: a backup made under other values resumes.
RESUMABLE_CHANGES = {
    "verbose", "backup_dir", "backup_every", "strategy", "output_dir",
    "calibrate_for", "temperature_scaling",  # decided after training
}  # fmt: skip


def prepare_backup_dir(config, run_name: str, worker: str | None = None) -> Path:
    """The run's backup directory, emptied first if it holds another configuration's.

    Args:
        config: the training configuration (a dataclass with `backup_dir` and
            `output_dir`); its `RESUMABLE_CHANGES` flags may differ from the backup's.
        run_name: the run's name.
        worker: this worker's task name in a cluster ("worker1"): the default directory
            gets it as a suffix, so workers sharing a disk keep separate backups.

    Returns:
        The directory, holding `config.json` (written atomically).
    """
    default = f".backup-{run_name}" + (f"-{worker}" if worker else "")
    backup_dir = Path(config.backup_dir or Path(config.output_dir) / default)
    wanted = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESUMABLE_CHANGES}
    saved = backup_dir / "config.json"
    if saved.exists():
        try:
            same = json.loads(saved.read_text()) == wanted
        except ValueError:  # written in place by older versions, and cut by a kill
            same = False
        if same:
            log.info("resuming from the backup in %s", backup_dir)
            return backup_dir
        log.warning("%s holds a backup of another configuration; starting afresh", backup_dir)
        shutil.rmtree(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(saved, json.dumps(wanted, indent=1))
    return backup_dir
