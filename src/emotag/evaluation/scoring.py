"""The step every trainer ends with: calibrate on dev, then score test once."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from emotag.data.goemotions import GoEmotions
from emotag.evaluation.calibration import Calibration, calibrate
from emotag.evaluation.reports import evaluate_probabilities
from emotag.runs.layout import LABELS

log = logging.getLogger(__name__)


def calibrate_and_score(
    run_path: Path,
    data: GoEmotions,
    dev_probs: np.ndarray,
    test_probs: np.ndarray,
    title: str,
    calibration: Calibration | None = None,
) -> tuple[Calibration, dict]:
    """Tunes thresholds on dev, then scores the test split once with them.

    Writes `per_class_thresholds.npy`, `thresholds.json`, `labels.txt` and the
    evaluation files of `emotag.evaluation.reports` into `run_path`.

    Args:
        calibration: thresholds the trainer already chose on dev (the lexicon baseline
            tunes only the labels it covers); None = `calibrate(dev_probs, dev labels)`.

    Returns:
        (calibration, test report).
    """
    if calibration is None:
        calibration = calibrate(dev_probs, data.dev.labels)
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
    log.info("test macro-F1 %.4f, micro-F1 %.4f", report["macro"]["f1"], report["micro"]["f1"])
    return calibration, report
