import json

import numpy as np
import pytest

from emotag.evaluation.calibration import (
    Calibration,
    best_global_threshold,
    best_threshold_per_class,
    calibrate,
)
from emotag.evaluation.metrics import per_class_f1
from emotag.runs.thresholds import apply_thresholds

# Class 0 separates perfectly between 0.35 (positive) and 0.3 (negative);
# class 1's only positive is its highest probability, 0.7, next lower is 0.6.
P_OBVIOUS = np.array(
    [[0.9, 0.6], [0.8, 0.55], [0.35, 0.4], [0.3, 0.7], [0.2, 0.2], [0.1, 0.1]], "float32"
)
Y_OBVIOUS = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 0], [0, 0]])

# at_least_one helps here: row 3 falls below both tuned thresholds (0.5, 0.65)
# and its argmax, class 1, is a gold label.
P_EMPTY_ROW = np.array([[0.9, 0.5], [0.8, 0.6], [0.2, 0.7], [0.1, 0.4]], "float32")
Y_HELPS = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
Y_HURTS = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])


def test_obvious_thresholds_are_midpoints():
    search = best_threshold_per_class(P_OBVIOUS, Y_OBVIOUS)
    np.testing.assert_allclose(search.thresholds, [0.325, 0.65], rtol=1e-6)
    np.testing.assert_array_equal(search.f1, [1.0, 1.0])
    assert search.fallback_classes == []
    assert search.thresholds.dtype == np.float32


def test_imperfect_class_hand_computed():
    # Cuts (tp, fp) with 3 positives: 0.9 (1,0) F1 2/4; 0.7 (1,1) 2/5; 0.6 (2,1) 4/6;
    # 0.4 (3,1) 6/7 best; 0.3 (3,2) 6/8. Threshold halfway between 0.4 and 0.3.
    p = np.array([[0.9], [0.7], [0.6], [0.4], [0.3]], "float32")
    y = np.array([[1], [0], [1], [1], [0]])
    search = best_threshold_per_class(p, y)
    assert search.thresholds[0] == pytest.approx(0.35, rel=1e-6)
    assert search.f1[0] == pytest.approx(6 / 7)


def test_tie_goes_to_threshold_closest_to_half():
    # Cut at 0.9 gives F1 2/3 (threshold 0.8); cut at 0.1 also 2/3 (threshold 0.05).
    p = np.array([[0.9], [0.7], [0.3], [0.1]], "float32")
    y = np.array([[1], [0], [0], [1]])
    search = best_threshold_per_class(p, y)
    assert search.thresholds[0] == pytest.approx(0.8, rel=1e-6)
    assert search.f1[0] == pytest.approx(2 / 3)


def test_grid_search():
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    # Class 0: only 0.35 lies in (0.3, 0.35]; class 1: 0.65 and 0.7 tie, 0.65 is nearer 0.5.
    search = best_threshold_per_class(P_OBVIOUS, Y_OBVIOUS, grid=grid)
    np.testing.assert_allclose(search.thresholds, [0.35, 0.65], rtol=1e-6)
    np.testing.assert_array_equal(search.f1, [1.0, 1.0])


def test_exact_search_beats_grid_and_matches_apply():
    rng = np.random.default_rng(0)
    y = rng.random((300, 5)) < [0.5, 0.2, 0.05, 0.1, 0.3]
    p = np.clip(0.3 * y + rng.random((300, 5)) * 0.7, 0, 1).astype("float32")
    exact = best_threshold_per_class(p, y)
    grid = best_threshold_per_class(p, y, grid=np.arange(0.05, 0.951, 0.01))
    assert np.all(exact.f1 >= grid.f1 - 1e-12)
    np.testing.assert_array_equal(exact.f1, per_class_f1(y, apply_thresholds(p, exact.thresholds)))


def test_fallback_class_without_positives():
    y = Y_OBVIOUS.copy()
    y[:, 1] = 0
    search = best_threshold_per_class(P_OBVIOUS, y, fallback=0.7)
    assert search.fallback_classes == [1]
    assert search.thresholds[1] == pytest.approx(0.7)
    assert search.f1[1] == 0.0


def test_global_threshold():
    # Class 0 is perfect for t in (0.2, 0.8]; class 1 scores 2/3 for t in (0.2, 0.4]
    # (tp 2, fp 2) and in (0.6, 0.7] (tp 1, fp 0). Macro 5/6 either way; 0.40 is nearest 0.5.
    t, score = best_global_threshold(P_EMPTY_ROW, Y_HELPS)
    assert t == pytest.approx(0.40)
    assert score == pytest.approx(5 / 6)


def test_apply_thresholds_at_least_one():
    probs = np.array([[0.2, 0.4, 0.1], [0.9, 0.1, 0.6], [0.05, 0.02, 0.03]])
    thresholds = np.array([0.5, 0.5, 0.05])
    np.testing.assert_array_equal(
        apply_thresholds(probs, thresholds), [[0, 0, 1], [1, 0, 1], [0, 0, 0]]
    )
    # Row 2's argmax is class 0 (0.05) although class 2 is nearer its threshold.
    np.testing.assert_array_equal(
        apply_thresholds(probs, thresholds, at_least_one=True), [[0, 0, 1], [1, 0, 1], [1, 0, 0]]
    )
    np.testing.assert_array_equal(apply_thresholds(probs, 0.5), [[0, 0, 0], [1, 0, 1], [0, 0, 0]])


def test_calibrate_keeps_at_least_one_when_it_helps():
    cal = calibrate(P_EMPTY_ROW, Y_HELPS)
    np.testing.assert_allclose(cal.thresholds, [0.5, 0.65], rtol=1e-6)
    # fixed 0.5: class 1 predicts rows 0, 1, 2 -> tp 1, fp 2, fn 1 -> 2/5.
    assert cal.dev_scores["fixed_0.5"] == pytest.approx((1 + 0.4) / 2)
    assert cal.dev_scores["per_class"] == pytest.approx((1 + 2 / 3) / 2)
    assert cal.dev_scores["per_class_at_least_one"] == pytest.approx(1.0)
    assert cal.at_least_one is True
    np.testing.assert_array_equal(cal.predict(P_EMPTY_ROW), Y_HELPS)


def test_calibrate_drops_at_least_one_when_it_hurts():
    cal = calibrate(P_EMPTY_ROW, Y_HURTS)
    assert cal.dev_scores["per_class"] == pytest.approx(1.0)
    # Forcing class 1 on row 3 adds a false positive: 2/3 for class 1.
    assert cal.dev_scores["per_class_at_least_one"] == pytest.approx((1 + 2 / 3) / 2)
    assert cal.at_least_one is False


def test_save_load_round_trip(tmp_path):
    y = Y_OBVIOUS.copy()
    y[:, 1] = 0
    cal = calibrate(P_OBVIOUS, y, fallback=0.6)
    cal.save(tmp_path, ["joy", "anger"])
    saved = np.load(tmp_path / "per_class_thresholds.npy")
    assert saved.dtype == np.float32 and saved.shape == (2,)
    meta = json.loads((tmp_path / "thresholds.json").read_text())
    assert meta["per_class_thresholds"] == {"joy": 0.325, "anger": 0.6}
    assert meta["fallback_classes"] == ["anger"]
    assert set(meta["dev_macro_f1"]) == {
        "fixed_0.5",
        "global",
        "per_class",
        "per_class_at_least_one",
    }
    loaded = Calibration.load(tmp_path)
    np.testing.assert_array_equal(loaded.thresholds, cal.thresholds)
    np.testing.assert_allclose(loaded.per_class_dev_f1, cal.per_class_dev_f1)
    assert loaded.global_threshold == pytest.approx(cal.global_threshold)
    assert loaded.at_least_one == cal.at_least_one
    assert loaded.fallback_classes == [1]
    assert loaded.dev_scores == pytest.approx(cal.dev_scores)
    np.testing.assert_array_equal(loaded.predict(P_OBVIOUS), cal.predict(P_OBVIOUS))
    with pytest.raises(ValueError):
        cal.to_json(["joy"])


def test_calibrate_for_jaccard_records_the_objective_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random((400, 3)) < 0.2
    probs = np.where(y, rng.beta(3, 2, y.shape), rng.beta(2, 3, y.shape)).astype(np.float32)
    macro = calibrate(probs, y)
    jac = calibrate(probs, y, objective="jaccard")
    assert macro.objective == "macro" and jac.objective == "jaccard"
    assert macro.objective_dev_score == pytest.approx(
        max(macro.dev_scores["per_class"], macro.dev_scores["per_class_at_least_one"])
    )
    from emotag.evaluation.objectives import objective_score

    jac_dev = objective_score("jaccard", y, jac.predict(probs))
    assert jac.objective_dev_score == pytest.approx(jac_dev)
    assert jac_dev >= objective_score("jaccard", y, macro.predict(probs))
    jac.temperature = 1.5
    jac.save(tmp_path, ["a", "b", "c"])
    back = Calibration.load(tmp_path)
    assert (back.objective, back.temperature) == ("jaccard", 1.5)
    meta = json.loads((tmp_path / "thresholds.json").read_text())
    assert meta["objective"] == "jaccard" and meta["dev_macro_f1"]["chosen"] <= 1
    with pytest.raises(ValueError, match="objective"):
        calibrate(probs, y, objective="accuracy")


# --- bagged thresholds: the best cuts of bootstrap resamples of dev, averaged -------------


def _resample_rows(n, resamples, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, n) for _ in range(resamples)]


def test_bagged_thresholds_are_the_mean_best_cut_of_seeded_resamples():
    from emotag.evaluation.calibration import bagged_threshold_per_class

    rng = np.random.default_rng(3)
    y = (rng.random((40, 2)) < 0.4).astype(int)
    probs = np.clip(0.35 * y + rng.random((40, 2)) * 0.7, 0, 1).astype("float32")
    # Class 1 has a single positive: resamples without it have no cut and do not count.
    y[:, 1] = 0
    y[7, 1] = 1
    bagged = bagged_threshold_per_class(probs, y, resamples=12, seed=5)
    cuts = {0: [], 1: []}
    for rows in _resample_rows(40, 12, seed=5):
        search = best_threshold_per_class(probs[rows], y[rows])
        for c in (0, 1):
            if y[rows, c].any():
                cuts[c].append(search.thresholds[c])
    assert 0 < len(cuts[1]) < 12  # some resamples lack class 1's positive
    np.testing.assert_allclose(bagged.thresholds, [np.mean(cuts[0]), np.mean(cuts[1])], rtol=1e-6)
    assert bagged.thresholds.dtype == np.float32
    np.testing.assert_allclose(bagged.f1, per_class_f1(y, probs >= bagged.thresholds))
    # The same seed, the same thresholds.
    again = bagged_threshold_per_class(probs, y, resamples=12, seed=5)
    np.testing.assert_array_equal(again.thresholds, bagged.thresholds)


def test_bagged_thresholds_keep_the_fallback_for_a_class_without_dev_positives():
    from emotag.evaluation.calibration import bagged_threshold_per_class

    y = Y_OBVIOUS.copy()
    y[:, 1] = 0
    bagged = bagged_threshold_per_class(P_OBVIOUS, y, resamples=5, fallback=0.4)
    assert bagged.fallback_classes == [1]
    assert bagged.thresholds[1] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        bagged_threshold_per_class(P_OBVIOUS, y, resamples=0)


def test_bagged_thresholds_do_better_than_exact_cuts_on_unseen_data():
    # A small dev set (60 rows, ~9 positives a class) and a large held-out set from the
    # same distribution: the exact cuts chase dev's few positives, the average does not.
    from emotag.evaluation.calibration import bagged_threshold_per_class
    from emotag.evaluation.metrics import macro_f1

    def draw(rng, n):
        y = (rng.random((n, 5)) < 0.15).astype(int)
        logits = 1.2 * (2 * y - 1) + rng.normal(0, 1.3, (n, 5))
        return (1 / (1 + np.exp(-logits))).astype("float32"), y

    gains = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        (p_dev, y_dev), (p_new, y_new) = draw(rng, 60), draw(rng, 20000)
        exact = best_threshold_per_class(p_dev, y_dev).thresholds
        bagged = bagged_threshold_per_class(p_dev, y_dev, resamples=50).thresholds
        gains.append(macro_f1(y_new, p_new >= bagged) - macro_f1(y_new, p_new >= exact))
    assert np.mean(gains) > 0.005
    assert sum(g > 0 for g in gains) >= 6


def test_calibrate_with_resamples_records_the_method_and_what_dev_gives_up(tmp_path):
    from emotag.evaluation.calibration import bagged_threshold_per_class

    rng = np.random.default_rng(0)
    y = (rng.random((80, 3)) < 0.3).astype(int)
    probs = np.clip(0.3 * y + rng.random((80, 3)) * 0.7, 0, 1).astype("float32")
    calibration = calibrate(probs, y, resamples=20)
    np.testing.assert_array_equal(
        calibration.thresholds, bagged_threshold_per_class(probs, y, 20).thresholds
    )
    exact = best_threshold_per_class(probs, y)
    assert calibration.dev_scores["per_class_exact"] == pytest.approx(np.mean(exact.f1))
    # The exact cuts are the best on dev by construction.
    assert calibration.dev_scores["per_class"] <= calibration.dev_scores["per_class_exact"]
    assert calibration.threshold_resamples == 20
    labels = ["a", "b", "c"]
    calibration.save(tmp_path, labels)
    assert json.loads((tmp_path / "thresholds.json").read_text())["threshold_resamples"] == 20
    assert Calibration.load(tmp_path).threshold_resamples == 20
    # A run saved before bagging: its thresholds were the exact cuts.
    meta = json.loads((tmp_path / "thresholds.json").read_text())
    del meta["threshold_resamples"]
    (tmp_path / "thresholds.json").write_text(json.dumps(meta))
    assert Calibration.load(tmp_path).threshold_resamples == 0
    plain = calibrate(probs, y)
    assert plain.threshold_resamples == 0 and "per_class_exact" not in plain.dev_scores
    np.testing.assert_array_equal(plain.thresholds, exact.thresholds)


def test_a_trained_run_serves_its_bagged_thresholds_by_default(tiny_run_dir):
    from emotag.evaluation.scoring import THRESHOLD_RESAMPLES

    meta = json.loads((tiny_run_dir / "thresholds.json").read_text())
    assert meta["threshold_resamples"] == THRESHOLD_RESAMPLES > 0
    assert "per_class_exact" in meta["dev_macro_f1"]
    config = json.loads((tiny_run_dir / "train_config.json").read_text())
    assert config["threshold_resamples"] == THRESHOLD_RESAMPLES


def test_calibrate_with_resamples_searches_all_of_dev_exactly_once(monkeypatch):
    # One exact search of all of dev (its F1 is reported, its cuts back the bagging) and
    # one per bootstrap resample: the bagging reuses calibrate's exact search.
    from emotag.evaluation import calibration as module

    calls = []
    real = module.best_threshold_per_class

    def counted(probs, *args, **kwargs):
        calls.append(len(probs))
        return real(probs, *args, **kwargs)

    monkeypatch.setattr(module, "best_threshold_per_class", counted)
    rng = np.random.default_rng(1)
    y = (rng.random((40, 3)) < 0.3).astype(int)
    probs = rng.random((40, 3)).astype("float32")
    calibration = module.calibrate(probs, y, resamples=3)
    assert calls == [40, 40, 40, 40]  # the exact search, then three resamples of 40 rows
    monkeypatch.setattr(module, "best_threshold_per_class", real)
    np.testing.assert_array_equal(
        calibration.thresholds, module.bagged_threshold_per_class(probs, y, 3).thresholds
    )


def test_a_soft_target_moves_the_cut_to_where_its_expected_f1_peaks():
    # One class; probabilities 0.9, 0.6, 0.3. Against the labels 1, 0, 0 the best cut is
    # after 0.9 (F1 1.0): threshold halfway to 0.6, 0.75. Against the soft target
    # 1, 0.5, 0 the cuts score 2*1/(1+0+1.5) = 0.8, 2*1.5/(1.5+0.5+1.5) = 0.857 and
    # 2*1.5/(1.5+1.5+1.5) = 0.667: the cut after 0.6 wins, threshold halfway to 0.3.
    probs = np.array([[0.9], [0.6], [0.3]], "float32")
    labels = np.array([[1], [0], [0]])
    assert best_threshold_per_class(probs, labels).thresholds[0] == pytest.approx(0.75)
    soft = best_threshold_per_class(probs, labels, target=np.array([[1.0], [0.5], [0.0]]))
    assert soft.thresholds[0] == pytest.approx(0.45)
    # Its F1 is still scored on the labels: 1 of 2 predicted positives is right.
    assert soft.f1[0] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="exact search"):
        best_threshold_per_class(probs, labels, grid=[0.5], target=labels)


def test_threshold_target_mixes_labels_and_probabilities():
    from emotag.evaluation.calibration import threshold_target

    target = threshold_target([[1, 0]], [[0.2, 0.6]], gold_weight=0.25)
    np.testing.assert_allclose(target, [[0.25 + 0.75 * 0.2, 0.75 * 0.6]])
    np.testing.assert_allclose(threshold_target([[1, 0]], [[0.2, 0.6]], 1.0), [[1, 0]])
    with pytest.raises(ValueError, match="gold_weight"):
        threshold_target([[1, 0]], [[0.2, 0.6]], 1.5)
    with pytest.raises(ValueError, match="differ in shape"):
        threshold_target([[1, 0]], [[0.2, 0.6, 0.1]], 0.5)


def test_calibrate_against_soft_labels_records_whose_and_round_trips(tmp_path):
    from emotag.evaluation.calibration import bagged_threshold_per_class, threshold_target
    from emotag.evaluation.reliability import platt_scale

    rng = np.random.default_rng(2)
    y = (rng.random((80, 3)) < 0.3).astype(int)
    probs = np.clip(0.3 * y + rng.random((80, 3)) * 0.7, 0, 1).astype("float32")
    teacher = np.clip(0.5 * y + rng.random((80, 3)) * 0.5, 0, 1)
    own = calibrate(probs, y, resamples=10, gold_weight=0.5)
    target = threshold_target(y, probs, 0.5)
    np.testing.assert_array_equal(
        own.thresholds, bagged_threshold_per_class(probs, y, 10, target=target).thresholds
    )
    assert (own.threshold_gold_weight, own.threshold_soft_labels) == (0.5, "own")
    # What the soft target gives up on dev: the labels' own exact cuts are best there.
    exact = best_threshold_per_class(probs, y)
    assert own.dev_scores["per_class_exact"] == pytest.approx(np.mean(exact.f1))
    assert own.dev_scores["per_class"] <= own.dev_scores["per_class_exact"]
    by_teacher = calibrate(probs, y, gold_weight=0.5, soft_labels=teacher, platt=True)
    assert by_teacher.threshold_soft_labels == "teacher, Platt-scaled"
    np.testing.assert_array_equal(
        by_teacher.thresholds,
        best_threshold_per_class(
            probs, y, target=threshold_target(y, platt_scale(teacher, y), 0.5)
        ).thresholds,
    )
    by_teacher.save(tmp_path, ["a", "b", "c"])
    loaded = Calibration.load(tmp_path)
    assert (loaded.threshold_gold_weight, loaded.threshold_soft_labels) == (
        0.5, "teacher, Platt-scaled"
    )  # fmt: skip
    # A run saved before soft targets was tuned against its labels alone.
    meta = json.loads((tmp_path / "thresholds.json").read_text())
    del meta["threshold_gold_weight"], meta["threshold_soft_labels"]
    (tmp_path / "thresholds.json").write_text(json.dumps(meta))
    loaded = Calibration.load(tmp_path)
    assert (loaded.threshold_gold_weight, loaded.threshold_soft_labels) == (1.0, None)
    # Weight 1 is the labels alone, whatever the soft labels.
    plain = calibrate(probs, y, resamples=10, gold_weight=1.0, soft_labels=teacher)
    np.testing.assert_array_equal(plain.thresholds, calibrate(probs, y, resamples=10).thresholds)
    assert plain.threshold_soft_labels is None


@pytest.mark.parametrize("calibrated", [True, False])
def test_a_soft_target_helps_calibrated_probabilities_and_misleads_inflated_ones(calibrated):
    # Five classes at a 15% base rate; each score is 1.2 * (+-1) + Gaussian noise. As the
    # true posterior (calibrated), own probabilities are a fair soft label: tuning against
    # 0.5 x labels + 0.5 x them beats the labels alone on unseen data. As sigmoid(score)
    # they are inflated (a negative averages ~0.25), and the same target pulls the cuts.
    from emotag.evaluation.metrics import macro_f1

    prior = 0.15

    def draw(rng, n):
        y = (rng.random((n, 5)) < prior).astype(int)
        score = 1.2 * (2 * y - 1) + rng.normal(0, 1.3, (n, 5))
        logit = np.log(prior / (1 - prior)) + 2 * 1.2 * score / 1.3**2 if calibrated else score
        return (1 / (1 + np.exp(-logit))).astype("float32"), y

    gains = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        (p_dev, y_dev), (p_new, y_new) = draw(rng, 300), draw(rng, 20000)
        labels = calibrate(p_dev, y_dev, resamples=20).thresholds
        soft = calibrate(p_dev, y_dev, resamples=20, gold_weight=0.5).thresholds
        gains.append(macro_f1(y_new, p_new >= soft) - macro_f1(y_new, p_new >= labels))
    if calibrated:
        assert np.mean(gains) > 0.003 and sum(g > 0 for g in gains) >= 6
    else:
        assert np.mean(gains) < -0.01 and sum(g < 0 for g in gains) >= 7
