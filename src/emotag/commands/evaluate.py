"""Score a trained run on a split of its dataset with its calibrated thresholds.

Usage:
    python src/evaluate.py --model artifacts/<run> --split test
    python src/evaluate.py --model artifacts/<run> --split dev --out eval_dev/

Writes overall_metrics.json, per_class_report.csv, predictions_<split>.tsv and
per_class_f1.png into --out (default: <run>/eval_<split>/). The dataset settings
(--dataset, files, columns, taxonomy, dev split seed) are read from the run's
train_config.json, so labels always match the model; --data-dir overrides the data
directory. Training-only edits (--limit, --exclude-ids, --extra-train) are not applied.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

from emotag.config import choice, dataclass_parser, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.reports import evaluate_probabilities
from emotag.runs.layout import TRAIN_CONFIG, NotARunError
from emotag.serving.predictor import Predictor

log = logging.getLogger("evaluate")


@dataclasses.dataclass
class EvaluateConfig:
    model: str  # run directory, e.g. artifacts/<run>
    split: str = choice("test", ("train", "dev", "test"))  # the split of the run's dataset to score
    data_dir: str | None = None  # data directory; None = the run's (GoEmotions: $GOEMOTIONS_DIR)
    out: str | None = None  # output directory; None = <model>/eval_<split>


def build_parser():
    """The command line of `emotag evaluate` (flags and help from `EvaluateConfig`)."""
    return dataclass_parser(EvaluateConfig, __doc__)


def parse_args(argv=None) -> EvaluateConfig:
    return EvaluateConfig(**vars(build_parser().parse_args(argv)))


def evaluate(config: EvaluateConfig) -> dict:
    """Predicts the split with the run's SavedModel and writes the evaluation files."""
    run_dir = Path(config.model)
    predictor = Predictor.load(run_dir)
    run = predictor.run
    if not run.file(TRAIN_CONFIG).is_file():
        raise NotARunError(f"{run.file(TRAIN_CONFIG)} not found: it names the run's dataset")
    spec = DatasetSpec.from_config(run.train_config).for_evaluation(config.data_dir)
    data = load_dataset(spec)
    if data.label_names != predictor.label_names:
        raise ValueError(
            f"the run's labels {predictor.label_names} differ from the data's {data.label_names}"
        )
    split = getattr(data, config.split)
    probs = predictor.predict_proba(split.texts)
    out = Path(config.out) if config.out else run.eval_dir(config.split)
    report = evaluate_probabilities(
        out,
        config.split,
        split.texts,
        split.ids,
        split.labels,
        probs,
        predictor.thresholds,
        predictor.label_names,
        at_least_one=predictor.at_least_one,
        title=f"{run_dir.name}: {config.split} per-class F1",
    )
    log.info(
        "%s macro-F1 %.4f micro-F1 %.4f -> %s",
        config.split,
        report["macro"]["f1"],
        report["micro"]["f1"],
        out,
    )
    return report


def main(argv=None) -> int:
    setup_logging(timestamps=False)
    evaluate(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
