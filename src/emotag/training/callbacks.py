"""Keras callbacks that select epochs by what the model is used with: dev macro-F1 at
per-class thresholds tuned on dev."""

import logging
import sys

import keras
import numpy as np

from emotag.evaluation.calibration import best_threshold_per_class
from emotag.evaluation.metrics import macro_f1

logger = logging.getLogger(__name__)

VERBOSE_CHOICES = ("auto", "0", "1", "2")


def progress_verbosity(verbose, stream=None) -> int:
    """Keras' `verbose` for `fit`: a live bar for a person, one line per epoch for a log file.

    A redirected bar is every redraw of it (hundreds of KB per run), so "auto" shows the
    bar only when the stream Keras prints to (standard output) is a terminal.

    Args:
        verbose: "auto", or 0 (silent), 1 (progress bar), 2 (one line per epoch), as int or str.
        stream: the stream to test for a terminal; None = `sys.stdout`.

    Returns:
        0, 1 or 2.
    """
    if verbose == "auto":
        stream = sys.stdout if stream is None else stream
        return 1 if getattr(stream, "isatty", lambda: False)() else 2
    if str(verbose) not in VERBOSE_CHOICES:
        raise ValueError(f"verbose must be one of {VERBOSE_CHOICES}, got {verbose!r}")
    return int(verbose)


class ValidationMacroF1(keras.callbacks.Callback):
    """Adds validation macro-F1 at tuned per-class thresholds to the epoch logs.

    The model is used with per-class thresholds tuned on the dev set, so the
    score that should drive early stopping and checkpointing is the macro-F1
    at the best per-class thresholds, not at a fixed 0.5. Callbacks see the
    same `logs` dict in list order, so place this callback *before*
    `EarlyStopping`/`ModelCheckpoint` that monitor `name`.

    Args:
        val_data: validation inputs accepted by `model.predict`: arrays or a
            `tf.data.Dataset` (which may also yield `(x, y)` pairs; the
            targets are ignored). A dataset must not be shuffled, so its rows
            line up with `y_val`.
        y_val: array-like `(n, C)` of 0/1 validation labels.
        name: logs key for the tuned macro-F1. The macro-F1 at a fixed 0.5
            threshold is logged under `f"{name}_at_0.5"`.
        batch_size: prediction batch size for array inputs.

    Example:
    ```python
    callbacks = [
        ValidationMacroF1(x_val, y_val),
        keras.callbacks.EarlyStopping(
            monitor="val_macro_f1", mode="max", patience=3, restore_best_weights=True
        ),
    ]
    model.fit(x_train, y_train, epochs=20, callbacks=callbacks)
    ```
    """

    def __init__(self, val_data, y_val, name="val_macro_f1", batch_size=256):
        super().__init__()
        self.val_data = val_data
        self.y_val = np.asarray(y_val).astype(bool)
        self.name = name
        self.batch_size = batch_size
        self.history = []
        self.thresholds = None
        self._pending = None  # (epoch, tuned, fixed) of the epoch not yet logged

    def on_epoch_end(self, epoch, logs=None):
        # Keras ignores batch_size when val_data is a dataset.
        probs = self.model.predict(self.val_data, batch_size=self.batch_size, verbose=0)
        if probs.shape != self.y_val.shape:
            raise ValueError(f"predictions {probs.shape} do not match y_val {self.y_val.shape}")
        search = best_threshold_per_class(probs, self.y_val)
        tuned = float(np.mean(search.f1))
        fixed = macro_f1(self.y_val, probs >= 0.5)
        self.thresholds = search.thresholds
        self.history.append({"epoch": epoch, self.name: tuned, f"{self.name}_at_0.5": fixed})
        if logs is not None:  # the progress bar's epoch summary prints these too
            logs[self.name] = tuned
            logs[f"{self.name}_at_0.5"] = fixed
        # Keras' progress bar runs after every other callback and its line is still open
        # here; a log line now would be glued onto it, so it waits until the bar is done.
        self._pending = (epoch, tuned, fixed)

    def on_epoch_begin(self, epoch, logs=None):
        self._log_pending()

    def on_train_end(self, logs=None):
        self._log_pending()

    def _log_pending(self):
        if self._pending is None:
            return
        epoch, tuned, fixed = self._pending
        self._pending = None
        logger.info("epoch %d: %s=%.4f (at 0.5: %.4f)", epoch + 1, self.name, tuned, fixed)


def selection_callbacks(val_data, y_val, patience):
    """Model selection by dev macro-F1 at tuned thresholds, best weights restored.

    Returns:
        `[ValidationMacroF1, EarlyStopping]` in the order they must run.
    """
    return [
        ValidationMacroF1(val_data, y_val),
        keras.callbacks.EarlyStopping(
            monitor="val_macro_f1",
            mode="max",
            patience=patience,
            restore_best_weights=True,
            verbose=1,
        ),
    ]


class SwapAveragedWeights(keras.callbacks.SwapEMAWeights):
    """Exchanges the model's weights with the optimizer's moving average at each epoch end.

    Used in pairs around the callbacks that should see the average (with the optimizer's
    `use_ema=True`): `[swap, score on dev, keep the best, swap, back up]`. The first puts
    the average in the model, the second puts the raw weights back before the backup and
    the next epoch, so training goes on from them and a backup holds both as they were.
    The exchange copies, bit for bit: Keras's TensorFlow path adds and subtracts in
    place, which rounds, so a resumed run would not retrace the unkilled one exactly.
    """

    def __init__(self):
        super().__init__(swap_on_epoch=False)

    def _tf_swap_variables(self, optimizer):
        self._backend_swap_variables(optimizer)  # var <- average, average <- copy of var

    def on_epoch_end(self, epoch, logs=None):
        self._swap_variables()

    # fit's own validation and predict calls leave the weights alone (the base swaps).
    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


class DropRateOnPlateau(keras.callbacks.Callback):
    """Multiplies the learning rate by `factor` for each epoch that set no new best.

    The rate an epoch trains at is `base_rate * factor ** k`, where k counts the earlier
    epochs in `stopper`'s record that did not beat the best before them, so the rate
    follows from the early-stopping record alone and a resumed run (whose record is read
    back from disk) goes on at the rate the killed one had (records of epochs to be run
    again are past the slice counted). Place it before `stopper`, so the rate an epoch
    trained at (logged as `learning_rate`) lands in the record.

    Args:
        stopper: the run's `emotag.training.fault_tolerance.PersistentEarlyStopping`.
        factor: in (0, 1]; 1 keeps the rate constant.
        base_rate: the rate of the first epoch (the optimizer's configured rate).
    """

    def __init__(self, stopper, factor: float, base_rate: float):
        super().__init__()
        if not 0 < factor <= 1:
            raise ValueError(f"factor must be in (0, 1], got {factor}")
        self.stopper = stopper
        self.factor = float(factor)
        self.base_rate = float(base_rate)

    def misses(self, epoch: int) -> int:
        """Epochs before `epoch` that set no new best (the stopper's own rule)."""
        return self.stopper.misses(epoch)

    def rate(self, epoch: int) -> float:
        return self.base_rate * self.factor ** self.misses(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        rate = self.rate(epoch)
        variable = self.model.optimizer.learning_rate
        if not np.isclose(float(keras.ops.convert_to_numpy(variable)), rate, rtol=1e-6):
            logger.info("epoch %d: learning rate %.3g", epoch + 1, rate)
        variable.assign(rate)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate
            ))  # fmt: skip
