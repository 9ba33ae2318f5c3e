"""How long a run trains: an epoch cap and a patience that scale with the data size.

Early stopping on dev macro-F1 decides when training ends; the cap is only a safety
bound. A fixed cap of 8 epochs gives 5,400 updates on GoEmotions' 43k training texts
but 130 on 1,000 texts, where the model has barely left its initialisation. So the cap
and the patience are counted in optimizer updates and converted to epochs for this
data (`BILSTM_RULE`): at least 8,000 updates and 12 passes, at most 100 passes;
patience waits at least 1,500 updates (and 2 epochs) for a gain, at most 10 epochs.
On full GoEmotions (680 batches of 64) this gives a cap
of 12 epochs and a patience of 3 (a control run with exactly those settings stopped on
the same epoch as the old 8-epoch default).

A fine-tuned encoder (`ENCODER_RULE`) needs far fewer updates, but the same principle
holds: the usual 3 epochs suit tens of thousands of texts, while on a few thousand
longer training keeps paying (Zhang et al., 2021, "Revisiting Few-sample BERT
Fine-tuning"; Mosbach et al., 2021, "On the Stability of Fine-tuning BERT"). Our MiniLM
learning-curve runs agree on dev: with 1,000 texts (34 batches an epoch) dev macro-F1
peaked at epochs 8-9, with 3,000 (97 batches) at epochs 4-6, and on all of GoEmotions
by epoch 2-3.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class BudgetRule:
    """How a model kind's cap and patience scale with the batches per epoch."""

    min_updates: int  # the cap allows at least this many optimizer steps...
    min_epochs: int  # ...and at least this many passes over the data
    max_epochs: int  # the safety bound on tiny data (every epoch is then a few steps)
    patience_updates: int  # steps without a dev gain before stopping...
    min_patience: int  # ...counted in epochs, within these bounds
    max_patience: int


BILSTM_RULE = BudgetRule(
    min_updates=8000, min_epochs=12, max_epochs=100,
    patience_updates=1500, min_patience=2, max_patience=10,
)  # fmt: skip
# 3 epochs and patience 1 on all of GoEmotions (1,360 batches of 32); 10 and 2 below
# ~3,200 texts; 4 and 1 at 10,000.
ENCODER_RULE = BudgetRule(
    min_updates=1000, min_epochs=3, max_epochs=10,
    patience_updates=200, min_patience=1, max_patience=2,
)  # fmt: skip


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
    steps_per_epoch: int,
    epochs: int | None = None,
    patience: int | None = None,
    rule: BudgetRule = BILSTM_RULE,
) -> EpochBudget:
    """The cap and patience for a run of `steps_per_epoch` batches per epoch.

    Args:
        steps_per_epoch: optimizer steps (batches) per epoch, at least 1.
        epochs: a fixed cap (`--epochs`); None = scaled to the data size.
        patience: a fixed patience in epochs (`--patience`); None = scaled.
        rule: the model kind's scaling (`BILSTM_RULE` or `ENCODER_RULE`).

    Returns:
        The `EpochBudget`.

    Example:
    >>> epoch_budget(680)    # GoEmotions train, batch 64
    EpochBudget(epochs=12, patience=3, steps_per_epoch=680, ...)
    >>> epoch_budget(16)     # 1,000 texts
    EpochBudget(epochs=100, patience=10, steps_per_epoch=16, ...)
    >>> epoch_budget(34, rule=ENCODER_RULE)  # 1,000 texts, MiniLM at batch 32
    EpochBudget(epochs=10, patience=2, steps_per_epoch=34, ...)
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be at least 1, got {patience}")
    scaled_epochs = min(
        rule.max_epochs, max(rule.min_epochs, math.ceil(rule.min_updates / steps_per_epoch))
    )
    scaled_patience = min(
        rule.max_patience,
        max(rule.min_patience, math.ceil(rule.patience_updates / steps_per_epoch)),
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
