"""The step every trainer ends with: calibrate on dev, then score test once."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from emotag.config import choice, non_negative_int, option
from emotag.data.goemotions import GoEmotions
from emotag.evaluation.calibration import Calibration, calibrate
from emotag.evaluation.objectives import OBJECTIVES, fit_all_objectives, objective_table
from emotag.evaluation.reliability import apply_temperature, choose_temperature
from emotag.evaluation.reports import evaluate_probabilities
from emotag.runs.layout import LABELS, OVERALL_METRICS

log = logging.getLogger(__name__)

# Bootstrap resamples behind the per-class thresholds (CalibrationSpec.threshold_resamples).
THRESHOLD_RESAMPLES = 50


@dataclasses.dataclass
class CalibrationSpec:
    """How a trainer turns dev probabilities into decisions; a base of every trainer config."""

    # what the per-class thresholds maximise on dev: macro (each class's F1), micro (micro-F1),
    # jaccard (example-based accuracy, SemEval-2018 E-c's ranking metric)
    calibrate_for: str = choice("macro", OBJECTIVES)
    # fit one softmax-free temperature on dev (logits / T) before tuning thresholds; kept
    # only if it lowers dev expected calibration error
    temperature_scaling: bool = False
    # per-class thresholds averaged over this many bootstrap resamples of dev (bagging; 0 =
    # the exact best cuts on dev): steadier on unseen text; on held-out halves of dev it
    # beat the exact cuts for all 16 runs tried (benchmarks/results/thresholds.md)
    threshold_resamples: int = option(THRESHOLD_RESAMPLES, type=non_negative_int)

    def scoring_options(self) -> dict:
        """`calibrate_and_score`'s keyword arguments that this configuration decides."""
        return {
            "objective": self.calibrate_for,
            "temperature_scaling": self.temperature_scaling,
            "threshold_resamples": self.threshold_resamples,
        }


def calibrate_and_score(
    run_path: Path,
    data: GoEmotions,
    dev_probs: np.ndarray,
    test_probs: np.ndarray,
    title: str,
    calibration: Calibration | None = None,
    objective: str = "macro",
    temperature_scaling: bool = False,
    threshold_resamples: int = 0,
    gold_weight: float = 1.0,
    soft_labels: np.ndarray | None = None,
) -> tuple[Calibration, dict]:
    """Tunes thresholds on dev, then scores the test split once with them.

    Writes `per_class_thresholds.npy`, `thresholds.json`, `labels.txt` and the
    evaluation files of `emotag.evaluation.reports` into `run_path`.

    Args:
        calibration: thresholds the trainer already chose on dev (the lexicon baseline
            tunes only the labels it covers); None = `calibrate(dev_probs, dev labels)`.
        objective: what the thresholds maximise on dev ("macro", "micro", "jaccard").
        temperature_scaling: fit one temperature on dev first, kept only if it lowers dev
            ECE; the thresholds are then tuned on the scaled probabilities, and the
            trainer exports `calibration.temperature` into the SavedModel.
        threshold_resamples: 0 = the exact per-class search on dev; more = bagged over
            that many bootstrap resamples of dev (`calibrate(resamples=...)`).
        gold_weight, soft_labels: the per-class thresholds are tuned against
            `gold_weight` x the dev labels + the rest x `soft_labels` (a distilled
            student's teacher's dev probabilities; `calibrate`).

    The test report also gets `objectives`: thresholds fitted on dev for each objective,
    each scored on test by every objective (what one objective costs the others).

    Returns:
        (calibration, test report).
    """
    temperature, temperature_info = 1.0, None
    if calibration is None and temperature_scaling:
        temperature, temperature_info = choose_temperature(dev_probs, data.dev.labels)
        log.info("temperature scaling: fitted T=%.3f on dev, %s (dev ECE %.4f -> %.4f)",
                 temperature_info["fitted"], "kept" if temperature_info["kept"] else "dropped",
                 temperature_info["dev_ece_before"], temperature_info["dev_ece_after"])  # fmt: skip
        dev_probs = apply_temperature(dev_probs, temperature)
        test_probs = apply_temperature(test_probs, temperature)
    if calibration is None:
        calibration = calibrate(
            dev_probs, data.dev.labels, objective=objective, resamples=threshold_resamples,
            gold_weight=gold_weight, soft_labels=soft_labels,
        )  # fmt: skip
        calibration.temperature, calibration.temperature_info = temperature, temperature_info
    if calibration.threshold_soft_labels:
        log.info(
            "per-class thresholds tuned against %.2f x the dev labels + %.2f x the %s's "
            "dev probabilities", calibration.threshold_gold_weight,
            1 - calibration.threshold_gold_weight, calibration.threshold_soft_labels,
        )  # fmt: skip
    if "per_class_exact" in calibration.dev_scores:
        log.info(
            "per-class thresholds bagged over %d resamples of dev: dev macro-F1 %.4f (the "
            "exact best cuts: %.4f)", calibration.threshold_resamples,
            calibration.dev_scores["per_class"], calibration.dev_scores["per_class_exact"],
        )  # fmt: skip
    log.info(
        "dev macro-F1: per-class thresholds %.4f, global %.3f -> %.4f, at_least_one=%s",
        calibration.dev_scores["per_class"],
        calibration.global_threshold,
        calibration.dev_scores["global"],
        calibration.at_least_one,
    )
    calibration.save(run_path, data.label_names)
    (run_path / LABELS).write_text("\n".join(data.label_names) + "\n")
    report = evaluate_probabilities(
        run_path, "test", data.test.texts, data.test.ids, data.test.labels, test_probs,
        calibration.thresholds, data.label_names, at_least_one=calibration.at_least_one,
        title=title,
    )  # fmt: skip
    report["objective"] = calibration.objective
    report["temperature"] = calibration.temperature
    report["objectives"] = objective_costs(dev_probs, data.dev.labels, test_probs, data.test.labels)
    (run_path / OVERALL_METRICS).write_text(json.dumps(report, indent=2))
    log.info(
        "test macro-F1 %.4f [%.4f, %.4f], micro-F1 %.4f, Jaccard %.4f, ECE %.4f",
        report["macro"]["f1"], *report["intervals"]["macro_f1"], report["micro"]["f1"],
        report["jaccard"], report["probability_calibration"]["ece"],
    )  # fmt: skip
    return calibration, report


def objective_thresholds(dev_probs, dev_labels) -> dict:
    """The thresholds `calibrate(objective=...)` tunes on dev, for each objective.

    Returns:
        {"macro", "micro", "jaccard": float32 `(C,)` thresholds}.
    """
    return fit_all_objectives(dev_probs, dev_labels, calibrate(dev_probs, dev_labels).thresholds)


def objective_costs(dev_probs, dev_labels, test_probs, test_labels) -> dict:
    """Test scores of thresholds tuned on dev for each objective, by every objective.

    Returns:
        {tuned for: {scored by: test value}} over "macro", "micro", "jaccard".
    """
    return objective_table(test_probs, test_labels, objective_thresholds(dev_probs, dev_labels))
