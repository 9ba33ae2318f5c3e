"""What every scored run records (issue 14): intervals, Jaccard, calibration, objectives,
and a temperature and objective that travel into the SavedModel."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import serve_in_fresh_process
from emotag.evaluation.reliability import apply_temperature

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scaled_run(tiny_data_dir, tmp_path_factory):
    """A tiny BiLSTM calibrated for Jaccard, with a temperature forced to be kept."""
    import emotag.evaluation.scoring as scoring
    from emotag.training.bilstm import TrainConfig, train

    def choose(dev_probs, dev_labels):  # keep T = 2 whatever dev says, to test the plumbing
        return 2.0, {"fitted": 2.0, "kept": True, "dev_ece_before": 0.2, "dev_ece_after": 0.1}

    original = scoring.choose_temperature
    scoring.choose_temperature = choose
    try:
        config = TrainConfig(
            data_dir=str(tiny_data_dir), embeddings="random", embedding_dim=16, epochs=1,
            lstm_units=8, attention_units=8, batch_size=16, min_count=1, verbose=0,
            output_dir=str(tmp_path_factory.mktemp("scaled")), run_name="scaled",
            calibrate_for="jaccard", temperature_scaling=True,
        )  # fmt: skip
        return train(config)
    finally:
        scoring.choose_temperature = original


def test_default_run_records_intervals_jaccard_calibration_and_objectives(tiny_run_dir):
    metrics = json.loads((tiny_run_dir / "overall_metrics.json").read_text())
    lo, hi = metrics["intervals"]["macro_f1"]
    assert lo <= metrics["macro"]["f1"] <= hi
    assert metrics["intervals"]["resamples"] >= 1000
    assert 0 <= metrics["jaccard"] <= 1
    assert set(metrics["probability_calibration"]) >= {"ece", "brier", "per_class"}
    assert set(metrics["objectives"]) == {"macro", "micro", "jaccard"}
    assert metrics["objective"] == "macro" and metrics["temperature"] == 1.0
    assert (tiny_run_dir / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    header = (tiny_run_dir / "per_class_report.csv").read_text().splitlines()[0]
    assert header == "label,precision,recall,f1,f1_low,f1_high,support"
    card = (tiny_run_dir / "MODEL_CARD.md").read_text()
    assert "95% bootstrap intervals" in card and "threshold objective: `macro`" in card


def test_objective_and_temperature_reach_thresholds_card_and_savedmodel(scaled_run):
    meta = json.loads((scaled_run / "thresholds.json").read_text())
    assert meta["objective"] == "jaccard" and meta["temperature"] == 2.0
    assert "threshold objective: `jaccard`" in (scaled_run / "MODEL_CARD.md").read_text()
    texts = ["thanks so much!", "why is this so sad", "haha lol"]
    served = serve_in_fresh_process(scaled_run / "saved_model", texts)
    import tensorflow as tf

    model = tf.saved_model.load(str(scaled_run / "saved_model"))
    calibration = model.calibration()
    assert calibration["objective"].numpy().decode() == "jaccard"
    assert calibration["temperature"].numpy() == pytest.approx(2.0)
    # The served probabilities are the scaled ones the thresholds were tuned on.
    thresholds = np.load(scaled_run / "per_class_thresholds.npy")
    probs = np.array(served["probabilities"], dtype=np.float32)
    np.testing.assert_array_equal(np.array(served["labels"]), (probs >= thresholds).astype(int))
    import keras

    import emotag  # noqa: F401  registers the custom layers for model.keras

    raw = keras.models.load_model(scaled_run / "model.keras", compile=False)
    ids = model.token_ids(tf.constant(texts))["token_ids"]
    np.testing.assert_allclose(probs, apply_temperature(raw(ids).numpy(), 2.0), atol=1e-5)
