"""Hyperparameter search over a training config, scored on dev macro-F1 (keras-tuner).

The search space names fields of the script's config dataclass; each trial builds the
model from a copy of the base config with the trial's values, so the winning values
can be passed back as flags unchanged. Only the dev split is used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path

import keras
import keras_tuner as kt

log = logging.getLogger(__name__)

# The reference project cross-validated focal gamma and the class-weight scale; units,
# dropout, learning rate and embedding trainability are the usual BiLSTM knobs.
BILSTM_SPACE: dict[str, list] = {
    "gamma": [0.0, 1.0, 2.0],
    "beta": [0.99, 0.999, 0.9999],
    "lstm_units": [64, 128, 192],
    "dropout": [0.2, 0.3, 0.4, 0.5],
    "learning_rate": [1e-3, 2e-3, 3e-3],
    "trainable_embeddings": [True, False],
}


class ConfigHyperModel(kt.HyperModel):
    """A keras-tuner HyperModel whose hyperparameters are config fields.

    Args:
        base_config: the dataclass instance trials start from.
        space: field name -> candidate values.
        build_fn: config -> compiled model.
        callbacks_fn: config -> callbacks that must run before the tuner's own (they
            must put the objective, e.g. `val_macro_f1`, into the epoch logs).
    """

    def __init__(self, base_config, space: dict[str, list], build_fn: Callable,
                 callbacks_fn: Callable):  # fmt: skip
        super().__init__()
        self.base_config = base_config
        self.space = space
        self.build_fn = build_fn
        self.callbacks_fn = callbacks_fn

    def trial_config(self, hp: kt.HyperParameters):
        values = {}
        for name, choices in self.space.items():
            if all(isinstance(c, bool) for c in choices):
                values[name] = hp.Boolean(name, default=getattr(self.base_config, name))
            else:
                values[name] = hp.Choice(name, choices)
        return dataclasses.replace(self.base_config, **values)

    def build(self, hp):
        keras.utils.clear_session()
        return self.build_fn(self.trial_config(hp))

    def fit(self, hp, model, *args, **kwargs):
        callbacks = self.callbacks_fn(self.trial_config(hp)) + list(kwargs.pop("callbacks", []))
        return model.fit(*args, callbacks=callbacks, **kwargs)


def run_search(
    base_config,
    space: dict[str, list],
    build_fn: Callable,
    callbacks_fn: Callable,
    train_ds,
    out_dir: str | Path,
    max_trials: int = 10,
    epochs: int = 3,
    objective: str = "val_macro_f1",
    seed: int = 0,
    verbose: int = 2,
) -> dict:
    """Random search; writes `search_log.json` (every trial) into `out_dir`.

    Returns:
        The log: best values, best score and one record per trial.
    """
    out_dir = Path(out_dir)
    tuner = kt.RandomSearch(
        ConfigHyperModel(base_config, space, build_fn, callbacks_fn),
        objective=kt.Objective(objective, direction="max"),
        max_trials=max_trials,
        seed=seed,
        directory=str(out_dir),
        project_name="tuner",
        overwrite=False,  # a restarted search continues with its finished trials
    )
    tuner.search(train_ds, epochs=epochs, verbose=verbose)
    trials = []
    for trial in tuner.oracle.trials.values():
        history = trial.metrics.get_history(objective) if trial.metrics.exists(objective) else []
        trials.append({
            "trial_id": trial.trial_id,
            "status": str(trial.status),
            "values": trial.hyperparameters.values,
            "score": trial.score,
            "per_epoch": [float(h.value[0]) for h in history],
        })  # fmt: skip
    best = tuner.oracle.get_best_trials(1)[0]
    record = {
        "objective": f"{objective} (dev, tuned thresholds, max over epochs)",
        "space": space,
        "max_trials": max_trials,
        "epochs_per_trial": epochs,
        "best_values": best.hyperparameters.values,
        "best_score": best.score,
        "trials": sorted(trials, key=lambda t: -(t["score"] or 0)),
    }
    (out_dir / "search_log.json").write_text(json.dumps(record, indent=2, default=str))
    log.info("best %s = %.4f with %s", objective, best.score, best.hyperparameters.values)
    return record
