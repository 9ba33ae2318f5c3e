"""How long a run trains: an epoch cap and a patience that scale with the data size.

Early stopping on dev macro-F1 decides when training ends; the cap is only a safety
bound. A fixed cap of 8 epochs gives 5,400 updates on GoEmotions' 43k training texts
but 130 on 1,000 texts, where the model has barely left its initialisation. So the cap
and the patience are counted in optimizer updates and converted to epochs for this
data: at least `MIN_UPDATES` updates and `MIN_EPOCHS` passes, at most `MAX_EPOCHS`
passes; patience waits at least `PATIENCE_UPDATES` updates (and 2 epochs) for a gain,
at most `MAX_PATIENCE` epochs. On full GoEmotions (680 batches of 64) this gives a cap
of 12 epochs and a patience of 3 (a control run with exactly those settings stopped on
the same epoch as the old 8-epoch default).
"""

from __future__ import annotations

import dataclasses
import math

MIN_UPDATES = 8000  # the cap allows at least this many optimizer steps...
MIN_EPOCHS = 12  # ...and at least this many passes over the data
MAX_EPOCHS = 100  # the safety bound on tiny data (every epoch is then a few steps)
PATIENCE_UPDATES = 1500  # steps without a dev gain before stopping...
MIN_PATIENCE, MAX_PATIENCE = 2, 10  # ...counted in epochs, within these bounds


@dataclasses.dataclass(frozen=True)
class EpochBudget:
    """The epoch cap and patience of one run, and where they came from."""

    epochs: int  # most epochs
    patience: int  # epochs without a dev gain before stopping
    steps_per_epoch: int
    epochs_rule: str  # "--epochs" or "data size"
    patience_rule: str

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def epoch_budget(
    steps_per_epoch: int, epochs: int | None = None, patience: int | None = None
) -> EpochBudget:
    """The cap and patience for a run of `steps_per_epoch` batches per epoch.

    Args:
        steps_per_epoch: optimizer steps (batches) per epoch, at least 1.
        epochs: a fixed cap (`--epochs`); None = scaled to the data size.
        patience: a fixed patience in epochs (`--patience`); None = scaled.

    Returns:
        The `EpochBudget`.

    Example:
    >>> epoch_budget(680)    # GoEmotions train, batch 64
    EpochBudget(epochs=12, patience=3, steps_per_epoch=680, ...)
    >>> epoch_budget(16)     # 1,000 texts
    EpochBudget(epochs=100, patience=10, steps_per_epoch=16, ...)
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be at least 1, got {patience}")
    scaled_epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(MIN_UPDATES / steps_per_epoch)))
    scaled_patience = min(
        MAX_PATIENCE, max(MIN_PATIENCE, math.ceil(PATIENCE_UPDATES / steps_per_epoch))
    )
    return EpochBudget(
        epochs=scaled_epochs if epochs is None else epochs,
        patience=scaled_patience if patience is None else patience,
        steps_per_epoch=steps_per_epoch,
        epochs_rule="data size" if epochs is None else "--epochs",
        patience_rule="data size" if patience is None else "--patience",
    )


def stop_reason(budget: EpochBudget, epochs_run: int, stopped_early: bool, best_epoch: int) -> str:
    """Why training ended, in words a run records (`run_info.json`, model card).

    Args:
        budget: the run's budget.
        epochs_run: epochs trained.
        stopped_early: whether early stopping ended training.
        best_epoch: the kept epoch, 1-based.
    """
    if stopped_early:
        return (
            f"early stopping: no dev macro-F1 gain for {budget.patience} epochs after "
            f"epoch {best_epoch}"
        )
    if epochs_run >= budget.epochs:
        cap = f"the epoch cap ({budget.epochs}, {budget.epochs_rule})"
        if best_epoch == epochs_run:
            return f"{cap}, still improving at the last epoch: more epochs may help"
        return f"{cap}; best epoch {best_epoch}"
    return f"stopped after {epochs_run} of {budget.epochs} epochs (interrupted?)"
