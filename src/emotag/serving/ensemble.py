"""Average the probabilities of trained runs into one calibrated run.

Usage:
    python src/ensemble.py --models artifacts/bilstm artifacts/tfidf-lr --run-name ens
    python src/ensemble.py --models artifacts/A artifacts/B --weights 2 1 --run-name ens-2-1
    python src/ensemble.py --models artifacts/A artifacts/B artifacts/C --tune-weights

Each member run's SavedModel is loaded with `Predictor` and run on dev and test. The
weights are fixed (--weights, scaled to sum 1; equal by default) or chosen on dev
macro-F1 from a grid over the simplex (--tune-weights: multiples of 1/--weight-steps).
Thresholds are re-tuned on the averaged dev probabilities and test is scored once, so
nothing is chosen on test. The run's `saved_model/` contains the members' SavedModels
and averages them in the graph, behind the usual `serve` / `serving_default` /
`label_names` endpoints: `src/inference.py`, `src/evaluate.py`, `Predictor` and plain
TensorFlow use it like any other run. Members must share their label names and their
dev and test data (any dataset of train_biLSTM.py, read from the members' train_config.json).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from emotag.config import StepLog, dataclass_parser, option, positive_int, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.calibration import calibrated_macro_f1
from emotag.evaluation.scoring import CalibrationSpec, calibrate_and_score
from emotag.models.export import TEXT_SPEC, export_text_module
from emotag.runs import layout
from emotag.runs.info import write_run_info
from emotag.runs.writer import RunWriter, try_it_command
from emotag.serving.predictor import Predictor

log = logging.getLogger("ensemble")


@dataclasses.dataclass(kw_only=True)  # `models` has no default but follows the base's fields
class EnsembleConfig(CalibrationSpec):
    models: list[str]  # member run directories (two or more, each with saved_model/)
    weights: list[float] | None = None  # one weight per member, scaled to sum 1; None = equal
    tune_weights: bool = False  # choose the weights on dev macro-F1 instead (grid search)
    weight_steps: int = 10  # tuning grid: weights are multiples of 1/weight_steps
    data_dir: str | None = None  # data directory; None = the members' (their train_config.json)
    output_dir: str = "artifacts"  # the run is written to <output_dir>/<run_name>/
    run_name: str = "ensemble"  # name of the ensemble's run directory
    batch_size: int = option(256, type=positive_int)  # texts per member SavedModel call


def build_parser():
    """The command line of `emotag ensemble` (flags and help from `EnsembleConfig`)."""
    return dataclass_parser(EnsembleConfig, __doc__)


def parse_args(argv=None) -> EnsembleConfig:
    parser = build_parser()
    config = EnsembleConfig(**vars(parser.parse_args(argv)))
    try:
        check_config(config)
    except ValueError as err:
        parser.error(str(err))
    return config


def check_config(config: EnsembleConfig) -> None:
    if len(config.models) < 2:
        raise ValueError("an ensemble needs at least two --models")
    if config.weights is not None:
        if config.tune_weights:
            raise ValueError("give --weights or --tune-weights, not both")
        if len(config.weights) != len(config.models):
            raise ValueError(f"{len(config.weights)} weights for {len(config.models)} models")
        if min(config.weights) < 0 or sum(config.weights) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
    if config.weight_steps < 1:
        raise ValueError("--weight-steps must be at least 1")


class WeightedAverage(tf.Module):
    """Raw strings -> the weighted mean of member SavedModels' probabilities.

    Args:
        members: loaded SavedModels with a `serve(text)` endpoint returning
            {"probabilities": (batch, labels)}.
        weights: (members,) non-negative weights summing to 1.

    Example:
    >>> members = [tf.saved_model.load(f"artifacts/{run}/saved_model") for run in ("a", "b")]
    >>> WeightedAverage(members, [0.5, 0.5])(tf.constant(["thanks!"]))  # (1, labels)
    """

    def __init__(self, members: list, weights, name: str | None = None):
        super().__init__(name=name)
        self.members = list(members)
        self.weights = tf.constant(np.asarray(weights, dtype="float32"))

    @tf.function(input_signature=[TEXT_SPEC])
    def __call__(self, text: tf.Tensor) -> tf.Tensor:
        probs = tf.stack([m.serve(text)["probabilities"] for m in self.members])  # (m, b, l)
        return tf.tensordot(self.weights, probs, axes=1)  # (batch, labels)


def load_members(paths: list[str], batch_size: int = 256) -> list[Predictor]:
    """Loads each run's Predictor; raises ValueError unless all share their label names."""
    members = [Predictor.load(path, batch_size=batch_size) for path in paths]
    reference = members[0].label_names
    for member in members[1:]:
        if member.label_names != reference:
            raise ValueError(
                "ensemble members must have the same labels in the same order: "
                f"{members[0].run_dir} has {reference}, "
                f"{member.run_dir} has {member.label_names}"
            )
    return members


def member_dataset(paths: list[str], data_dir: str | None = None) -> DatasetSpec:
    """The evaluation data of the members, from their train_config.json files.

    Training-only edits (limit, exclude_ids, extra_train) are dropped, so members trained
    on edited training sets still share dev and test; `data_dir`, when given, replaces
    the members' own (`DatasetSpec.for_evaluation`).

    Raises:
        ValueError: When the members were evaluated on different data.
    """
    specs = []
    for path in paths:
        config = layout.open_run(path, partial=True).train_config  # {} when absent
        specs.append(DatasetSpec.from_config(config).for_evaluation(data_dir))
    # Every field of the evaluation specs identifies dev and test (a dev split may be
    # carved from train), except data_dir, which may differ between machines.
    fields = [f.name for f in dataclasses.fields(DatasetSpec) if f.name != "data_dir"]
    for path, spec in zip(paths[1:], specs[1:]):
        differ = [f for f in fields if getattr(spec, f) != getattr(specs[0], f)]
        if differ:
            raise ValueError(
                f"{paths[0]} and {path} were trained on different data: "
                + ", ".join(f"{f} {getattr(specs[0], f)!r} vs {getattr(spec, f)!r}" for f in differ)
            )
    return specs[0]


def weighted_mean(probs: list[np.ndarray], weights) -> np.ndarray:
    """(members, n, labels) probabilities, (members,) weights -> (n, labels) float32."""
    return np.tensordot(np.asarray(weights, "float32"), np.stack(probs), axes=1)


def simplex_grid(members: int, steps: int) -> np.ndarray:
    """All weight vectors whose entries are multiples of 1/steps and sum to 1."""
    rows = [
        combo
        for combo in itertools.product(range(steps + 1), repeat=members)
        if sum(combo) == steps
    ]
    return np.array(rows, dtype="float64") / steps  # (grid, members)


def choose_weights(
    dev_probs: list[np.ndarray], dev_labels: np.ndarray, steps: int
) -> tuple[np.ndarray, list[dict]]:
    """Grid-searches the weights on dev; ties go to the most even weights.

    Returns:
        (best weights, [{"weights": [...], "dev_macro_f1": f}, ...] for the whole grid).
    """
    grid = simplex_grid(len(dev_probs), steps)
    scores = np.array([calibrated_macro_f1(weighted_mean(dev_probs, w), dev_labels) for w in grid])
    best = np.flatnonzero(scores == scores.max())
    spread = np.abs(grid[best] - 1.0 / len(dev_probs)).sum(axis=1)
    chosen = grid[best[np.argmin(spread)]]
    table = [{"weights": w.tolist(), "dev_macro_f1": float(s)} for w, s in zip(grid, scores)]
    return chosen, table


def ensemble(config: EnsembleConfig) -> Path:
    """Averages the member runs, calibrates on dev, scores test once, writes the run.

    Returns:
        The run directory.
    """
    check_config(config)
    started = time.time()
    members = load_members(config.models, config.batch_size)
    spec = member_dataset(config.models, config.data_dir)
    data = load_dataset(spec)
    if data.label_names != members[0].label_names:
        raise ValueError(
            f"the members' labels {members[0].label_names} differ from the data's "
            f"{data.label_names} ({spec.dataset}, {spec.label_set})"
        )

    phase = StepLog(log)
    dev_probs, test_probs = [], []
    for member in members:
        phase.start(f"scoring dev and test with {member.run_dir}")
        dev_probs.append(member.predict_proba(data.dev.texts))
        test_probs.append(member.predict_proba(data.test.texts))
        log.info(
            "%s: dev macro-F1 %.4f (thresholds re-tuned on dev)",
            member.run_dir, calibrated_macro_f1(dev_probs[-1], data.dev.labels),
        )  # fmt: skip

    grid = None
    if config.tune_weights:
        phase.start("tuning the weights on dev")
        weights, grid = choose_weights(dev_probs, data.dev.labels, config.weight_steps)
    else:
        weights = np.asarray(config.weights or [1.0] * len(members), dtype="float64")
        weights = weights / weights.sum()
    dev_mean = weighted_mean(dev_probs, weights)
    log.info(
        "weights %s: dev macro-F1 %.4f",
        np.round(weights, 3).tolist(), calibrated_macro_f1(dev_mean, data.dev.labels),
    )  # fmt: skip

    with RunWriter(config.output_dir, config.run_name) as run:
        phase.start("calibrating thresholds on dev, scoring test")
        calibration, report = calibrate_and_score(
            run.path,
            data,
            dev_mean,
            weighted_mean(test_probs, weights),
            title=f"{config.run_name}: test per-class F1",
            **config.scoring_options(),
        )
        phase.start("exporting the SavedModel")
        export_text_module(
            WeightedAverage([m.model for m in members], weights),
            calibration.thresholds,
            data.label_names,
            run.path / layout.SAVED_MODEL,
            **calibration.export_settings(),
        )
        member_info = []
        for member, weight, probs in zip(members, weights, dev_probs):
            info = member.run.info
            member_info.append({
                "run_dir": str(member.run_dir.resolve()),
                "kind": member.run.kind,
                "model": info.get("model"),
                "weight": float(weight),
                "dev_macro_f1": calibrated_macro_f1(probs, data.dev.labels),
                "test_macro_f1": info.get("test_macro_f1"),
            })  # fmt: skip
        write_run_info(
            run.path, {**dataclasses.asdict(config), **dataclasses.asdict(spec)}, started, report,
            kind=layout.ENSEMBLE, model="ensemble", members=member_info,
            weights=weights.tolist(), weight_grid=grid,
        )  # fmt: skip
        phase.done()
    return run.final_path


def main(argv=None) -> int:
    setup_logging()
    log.info("try it: %s", try_it_command(ensemble(parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
