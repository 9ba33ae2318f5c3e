"""The steps every training script ends with: calibrate on dev, score test once, record."""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np

from emotag.calibration import Calibration, calibrate
from emotag.data import GoEmotions
from emotag.evaluation import evaluate_probabilities
from emotag.model_card import write_model_card

log = logging.getLogger(__name__)


def calibrate_and_score(
    run_path: Path, data: GoEmotions, dev_probs: np.ndarray, test_probs: np.ndarray, title: str
) -> tuple[Calibration, dict]:
    """Tunes thresholds on dev, then scores the test split once with them.

    Writes `per_class_thresholds.npy`, `thresholds.json`, `labels.txt` and the
    evaluation files of `emotag.evaluation` into `run_path`.

    Returns:
        (calibration, test report).
    """
    calibration = calibrate(dev_probs, data.dev.labels)
    log.info(
        "dev macro-F1: per-class thresholds %.4f, global %.3f -> %.4f, at_least_one=%s",
        calibration.dev_scores["per_class"],
        calibration.global_threshold,
        calibration.dev_scores["global"],
        calibration.at_least_one,
    )
    calibration.save(run_path, data.label_names)
    (run_path / "labels.txt").write_text("\n".join(data.label_names) + "\n")
    report = evaluate_probabilities(
        run_path, "test", data.test.texts, data.test.ids, data.test.labels, test_probs,
        calibration.thresholds, data.label_names, at_least_one=calibration.at_least_one,
        title=title,
    )  # fmt: skip
    log.info("test macro-F1 %.4f, micro-F1 %.4f", report["macro"]["f1"], report["micro"]["f1"])
    return calibration, report


def write_run_info(run_path: Path, config: dict, started: float, report: dict, **extra) -> dict:
    """Writes `train_config.json`, `run_info.json` (timing, memory, versions, figures)
    and `MODEL_CARD.md`."""
    import keras
    import tensorflow as tf

    (run_path / "train_config.json").write_text(json.dumps(config, indent=2))
    info = {
        "wall_time_s": round(time.time() - started, 1),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "test_macro_f1": report["macro"]["f1"],
        "test_micro_f1": report["micro"]["f1"],
        "test_macro_precision": report["macro"]["precision"],
        "test_macro_recall": report["macro"]["recall"],
        **extra,
    }
    (run_path / "run_info.json").write_text(json.dumps(info, indent=2))
    write_model_card(run_path, strict=False)
    return info
