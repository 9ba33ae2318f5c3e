import numpy as np
import pytest

from emotag.evaluation.reliability import (
    apply_temperature,
    brier_score,
    calibration_report,
    choose_temperature,
    expected_calibration_error,
    fit_temperature,
    log_loss,
    plot_reliability,
    reliability_bins,
)


def test_ece_by_hand():
    # Two bins used (of 10): 0.15 x2 with outcomes (0, 1) -> |0.15 - 0.5| = 0.35;
    # 0.95 x2 with outcomes (1, 1) -> |0.95 - 1| = 0.05. Weighted: (2*0.35 + 2*0.05)/4.
    p = np.array([[0.15, 0.95], [0.15, 0.95]])
    y = np.array([[0, 1], [1, 1]])
    assert expected_calibration_error(p, y, bins=10) == pytest.approx(0.2)
    b = reliability_bins(p, y, bins=10)
    assert b["count"].tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]


def test_probability_one_lands_in_the_last_bin():
    assert reliability_bins(np.array([1.0]), np.array([1]), bins=4)["count"][-1] == 1


def test_brier_by_hand():
    p = np.array([[0.2, 0.9]])
    y = np.array([[0, 1]])
    assert brier_score(p, y) == pytest.approx((0.04 + 0.01) / 2)


def test_report_has_every_class():
    r = calibration_report(np.array([[0.2, 0.9]]), np.array([[0, 1]]), ["a", "b"])
    assert r["per_class"]["b"]["brier"] == pytest.approx(0.01)
    assert set(r) >= {"ece", "brier", "per_class", "bins"}


def test_temperature_one_is_identity_and_keeps_order():
    p = np.array([[0.1, 0.5, 0.99]])
    np.testing.assert_allclose(apply_temperature(p, 1.0), p, atol=1e-6)
    hot = apply_temperature(p, 2.0)
    assert hot[0, 1] == pytest.approx(0.5)
    assert 0.1 < hot[0, 0] < 0.5 < hot[0, 2] < 0.99  # pulled towards 0.5, order kept


def test_fit_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(4000, 3))
    y = rng.random(logits.shape) < 1 / (1 + np.exp(-logits))  # calibrated at T = 1
    overconfident = 1 / (1 + np.exp(-3 * logits))  # logits x 3: the right T is 3
    t = fit_temperature(overconfident, y)
    assert t == pytest.approx(3.0, rel=0.1)
    assert log_loss(apply_temperature(overconfident, t), y) < log_loss(overconfident, y)
    kept, info = choose_temperature(overconfident, y)
    assert info["kept"] and kept == t and info["dev_ece_after"] < info["dev_ece_before"]


def test_temperature_is_dropped_when_it_does_not_help():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, size=(4000, 2))
    p = 1 / (1 + np.exp(-logits))
    y = rng.random(p.shape) < p  # already calibrated
    t, info = choose_temperature(p, y)
    assert t == 1.0 or info["kept"]  # either rejected, or it helped on this very data
    assert info["fitted"] == pytest.approx(1.0, rel=0.1)


def test_plot_writes_a_png(tmp_path):
    path = plot_reliability(np.array([[0.2, 0.8]]), np.array([[0, 1]]), tmp_path / "r.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_platt_scaling_refits_each_class_to_its_labels():
    from emotag.evaluation.reliability import platt_scale

    rng = np.random.default_rng(0)
    y = (rng.random((2000, 3)) < [0.1, 0.4, 0.0]).astype(int)
    # Class 0's probabilities are inflated (a class-balanced loss's doing), class 1's fine.
    probs = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.15, (2000, 3)), 0.01, 0.99)
    scaled = platt_scale(probs, y)
    assert scaled.shape == probs.shape and ((scaled[:, :2] > 0) & (scaled[:, :2] < 1)).all()
    # Logistic regression's unpenalised intercept: fitted probabilities sum to the labels.
    np.testing.assert_allclose(scaled[:, :2].sum(axis=0), y[:, :2].sum(axis=0), rtol=1e-3)
    assert probs[:, 0].mean() > 0.25
    assert scaled[:, 0].mean() == pytest.approx(y[:, 0].mean(), abs=1e-3)
    # A slope per class keeps each class's ranking.
    order = np.argsort(probs[:, 1])
    assert (np.diff(scaled[order, 1]) >= 0).all()
    # A class without positives: their mean, 0.
    np.testing.assert_array_equal(scaled[:, 2], 0.0)
