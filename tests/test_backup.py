"""TrainingBackup: epoch-end backups, exact resume, the true epoch after a second start,
atomic commits; PersistentEarlyStopping rewinding epochs that were not backed up."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from emotag.text.batching import make_dataset
from emotag.training.backup import TrainingBackup, skip_shuffles
from emotag.training.fault_tolerance import PersistentEarlyStopping


def _data():
    """A reshuffling, length-bucketed dataset as training uses."""
    rng = np.random.default_rng(0)
    ids = [rng.integers(1, 20, size=rng.integers(1, 9)) for _ in range(40)]
    labels = rng.integers(0, 2, size=(40, 3))
    return make_dataset(ids, labels, batch_size=8, shuffle_seed=7)


def _model():
    """Embedding -> dropout -> dense: the weights depend on the batch order and the
    dropout masks, which are what a resume must replay."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(20, 4),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(3, activation="sigmoid"),
    ])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    return model


class StopAt(keras.callbacks.Callback):
    """Raises at a given (epoch, step): a crash that skips the rest of `fit`."""

    def __init__(self, epoch, step):
        super().__init__()
        self.at, self.epoch = (epoch, step), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("killed")


def _resumed(backup_dir, epochs, save_freq="epoch", callbacks=()):
    """A new model and dataset (as in a new process) that resumes from `backup_dir`."""
    model, data = _model(), _data()
    backup = TrainingBackup(backup_dir, save_freq=save_freq)
    skip_shuffles(data, backup.epochs_done())
    model.fit(data, epochs=epochs, verbose=0, callbacks=[backup, *callbacks])
    return model, backup


def test_resume_from_an_epoch_end_equals_an_uninterrupted_run(tmp_path):
    reference = _model()
    reference.fit(_data(), epochs=3, verbose=0)

    with pytest.raises(KeyboardInterrupt):  # killed in epoch 2, after its step-2 backup
        _resumed(tmp_path, 3, save_freq=100, callbacks=[StopAt(1, 2)])
    meta = json.loads((tmp_path / "training_metadata.json").read_text())
    assert (meta["epoch"], meta["batch"]) == (1, 0)  # epoch 1's end (save_freq=100 alone: none)
    with pytest.raises(KeyboardInterrupt):  # restarted, killed again in epoch 3
        _resumed(tmp_path, 3, save_freq=100, callbacks=[StopAt(2, 1)])
    assert json.loads((tmp_path / "training_metadata.json").read_text())["epoch"] == 2
    model, _ = _resumed(tmp_path, 3, save_freq=100)

    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)  # same batches, masks, optimizer steps


def test_a_step_backup_after_a_restart_records_the_true_epoch(tmp_path):
    _resumed(tmp_path, 2)  # two epochs backed up
    with pytest.raises(KeyboardInterrupt):
        _resumed(tmp_path, 4, save_freq=2, callbacks=[StopAt(2, 3)])
    meta = json.loads((tmp_path / "training_metadata.json").read_text())
    # keras.callbacks.BackupAndRestore wrote epoch 0 here: a third start ran from scratch.
    assert (meta["epoch"], meta["batch"]) == (2, 3)
    assert TrainingBackup(tmp_path).epochs_done() == 2


def test_a_backup_cut_short_leaves_the_previous_one(tmp_path, monkeypatch):
    _resumed(tmp_path, 1)
    before = json.loads((tmp_path / "training_metadata.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backup-1.weights.h5", "training_metadata.json",
    ]  # fmt: skip

    def killed(*args):
        raise KeyboardInterrupt("killed while committing")

    monkeypatch.setattr("emotag.training.backup.write_text_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        _resumed(tmp_path, 2)
    assert json.loads((tmp_path / "training_metadata.json").read_text()) == before
    assert (tmp_path / before["weights"]).exists()  # deleted only after a commit
    monkeypatch.undo()
    model, backup = _resumed(tmp_path, 2)
    assert backup.epochs_done() == 2


def test_a_worker_one_backup_ahead_resumes_where_the_others_do(tmp_path, monkeypatch):
    _resumed(tmp_path, 1)
    _resumed(tmp_path, 2)  # this worker backed up epoch 2; the other one did not
    meta = json.loads((tmp_path / "training_metadata.json").read_text())
    assert (meta["epoch"], meta["previous"]["epoch"]) == (2, 1)
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == [
        "backup-1.weights.h5", "backup-2.weights.h5",
    ]  # fmt: skip

    agreed = []

    def smallest(strategy, point):  # the other worker's latest backup is epoch 1's end
        agreed.append(point)
        return min(point, (1, 0))

    monkeypatch.setattr("emotag.training.backup.smallest_across_workers", smallest)
    resumed = _model()
    backup = TrainingBackup(tmp_path, workers=2)
    resumed.fit(_data(), epochs=1, verbose=0, callbacks=[backup])  # nothing left to run
    assert agreed == [(2, 0)] and resumed._initial_epoch == 1
    single = _model()
    single.fit(_data(), epochs=1, verbose=0, callbacks=[TrainingBackup(tmp_path / "one")])
    for got, want in zip(resumed.get_weights(), single.get_weights()):
        np.testing.assert_array_equal(got, want)  # epoch 1's weights, not epoch 2's

    def apart(strategy, point):  # the others resume from a backup this one no longer has
        return (0, 4)

    monkeypatch.setattr("emotag.training.backup.smallest_across_workers", apart)
    with pytest.raises(RuntimeError, match="no backup of epoch 0 step 4"):
        _model().fit(_data(), epochs=3, verbose=0, callbacks=[TrainingBackup(tmp_path, workers=2)])


def test_unreadable_metadata_names_the_file(tmp_path):
    (tmp_path / "training_metadata.json").write_text('{"epoch": 1, "ba')
    with pytest.raises(ValueError, match="training_metadata.json: unreadable backup"):
        TrainingBackup(tmp_path).epochs_done()


def test_skip_shuffles_replays_the_order_fit_sees():
    """Keras' fit makes two iterators per epoch of a sized dataset; the skip matches it."""
    seen = []

    class Record(keras.layers.Layer):
        def call(self, x):
            if tf.executing_eagerly():
                seen.append(x.numpy().tolist())
            return x

        def compute_output_shape(self, shape):
            return shape

    model = keras.Sequential([
        keras.Input((None,), dtype="int32"), Record(), keras.layers.Embedding(20, 2),
        keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3),
    ])  # fmt: skip
    model.compile("sgd", "mse", run_eagerly=True)
    model.fit(_data(), epochs=3, verbose=0)
    data = _data()
    steps = int(data.cardinality())
    assert len(seen) == 3 * steps
    skip_shuffles(data, 2)
    assert [x.numpy().tolist() for x, _ in data] == seen[-steps:]  # the third epoch
    assert seen[-steps:] != seen[:steps]  # which is not the first one


class Scripted(keras.callbacks.Callback):
    """Puts a scripted `score` into the epoch logs and keeps each epoch's weights."""

    def __init__(self, scores):
        super().__init__()
        self.scores, self.weights = scores, {}

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.weights[epoch] = self.model.get_weights()


def test_early_stopping_forgets_epochs_that_were_not_backed_up(tmp_path):
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    tiny.compile(optimizer="sgd", loss="mse")
    first = Scripted([0.1, 0.5, 0.9])
    stopper = PersistentEarlyStopping(tmp_path, "score", patience=5)
    tiny.fit(x, y, epochs=3, verbose=0, callbacks=[first, stopper])
    assert stopper.best_epoch == 2 and stopper.weights_path.name == "best-epoch3.weights.h5"
    assert (tmp_path / "best-epoch2.weights.h5").exists()  # epoch 3 is not backed up yet

    # Killed before epoch 3's backup: the restart runs epoch 3 again, worse this time.
    again = PersistentEarlyStopping(tmp_path, "score", patience=5)
    tiny.fit(x, y, epochs=4, initial_epoch=2, verbose=0,
             callbacks=[Scripted([0.1, 0.5, 0.3, 0.4]), again])  # fmt: skip
    assert again.history["score"] == [0.1, 0.5, 0.3, 0.4]
    assert (again.best, again.best_epoch) == (0.5, 1)  # not the lost first run's 0.9
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["best-epoch2.weights.h5"]
    for got, want in zip(tiny.get_weights(), first.weights[1]):
        np.testing.assert_array_equal(got, want)  # epoch 2's weights restored at the end
