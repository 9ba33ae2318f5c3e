import itertools

import numpy as np
import pytest
from sklearn.metrics import f1_score

from emotag.evaluation.objectives import fit_thresholds, objective_score, objective_table


def test_objective_scores_match_sklearn_and_hand_values():
    y = np.array([[1, 0], [1, 1], [0, 0]])
    p = np.array([[1, 1], [1, 0], [0, 0]])
    assert objective_score("micro", y, p) == pytest.approx(f1_score(y, p, average="micro"))
    assert objective_score("macro", y, p) == pytest.approx(
        f1_score(y, p, average="macro", zero_division=0)
    )
    # Jaccard: {0} v {0,1} = 1/2; {0,1} v {0} = 1/2; empty v empty = 1 -> 2/3.
    assert objective_score("jaccard", y, p) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="objective"):
        objective_score("accuracy", y, p)


def brute_force(objective, probs, y, grid):
    best = -1
    for t in itertools.product(grid, repeat=probs.shape[1]):
        s = objective_score(objective, y, probs >= np.array(t, dtype=np.float32))
        if s > best + 1e-12:
            best = s
    return best


@pytest.mark.parametrize("objective", ["micro", "jaccard"])
def test_coordinate_ascent_reaches_the_brute_force_optimum_on_small_data(objective):
    rng = np.random.default_rng(3)
    y = rng.random((60, 3)) < 0.35
    probs = np.clip(y * 0.35 + rng.random((60, 3)) * 0.6, 0, 1).astype(np.float32)
    grid = np.array([0.2, 0.35, 0.5, 0.65, 0.8], dtype=np.float32)
    t = fit_thresholds(objective, probs, y, grid)
    got = objective_score(objective, y, probs >= t)
    assert got == pytest.approx(brute_force(objective, probs, y, grid), abs=0.02)
    assert set(np.round(t, 2)) <= set(np.round(grid, 2))


def test_jaccard_thresholds_predict_less_than_macro_ones_on_rare_classes():
    rng = np.random.default_rng(4)
    n = 3000
    y = np.zeros((n, 4), dtype=bool)
    y[:, 0] = rng.random(n) < 0.5
    y[:, 1:] = rng.random((n, 3)) < 0.03  # rare classes, weak signal
    probs = np.where(y, rng.beta(3, 2, y.shape), rng.beta(2, 3, y.shape)).astype(np.float32)
    from emotag.evaluation.calibration import best_threshold_per_class

    macro_t = best_threshold_per_class(probs, y).thresholds
    jac_t = fit_thresholds("jaccard", probs, y)
    table = objective_table(probs, y, {"macro": macro_t, "jaccard": jac_t})
    assert table["jaccard"]["jaccard"] >= table["macro"]["jaccard"]
    assert table["macro"]["macro"] >= table["jaccard"]["macro"] - 1e-9
    assert (probs >= jac_t).sum() < (probs >= macro_t).sum()


def test_each_objective_keeps_thresholds_no_worse_than_the_macro_cuts():
    from emotag.evaluation.calibration import best_threshold_per_class
    from emotag.evaluation.objectives import fit_all_objectives

    # A negative within one grid step (0.01) of two positives: only the macro search's
    # exact cut (0.504) separates them. On the grid, 0.50 predicts all three (micro-F1
    # 2*2 / (2*2 + 1) = 0.8; Jaccard (0 + 1 + 1) / 3) and 0.51 none (0; 1/3).
    probs = np.array([[0.503], [0.505], [0.507]], dtype=np.float32)
    y = np.array([[0], [1], [1]])
    macro = best_threshold_per_class(probs, y).thresholds
    assert objective_score("macro", y, probs >= macro) == 1.0
    assert objective_score("micro", y, probs >= fit_thresholds("micro", probs, y)) == 0.8
    grid_only = fit_thresholds("jaccard", probs, y)
    assert objective_score("jaccard", y, probs >= grid_only) == pytest.approx(2 / 3)

    chosen = fit_all_objectives(probs, y, macro)
    assert objective_score("micro", y, probs >= chosen["micro"]) == 1.0
    assert objective_score("jaccard", y, probs >= chosen["jaccard"]) == 1.0
    climbed = fit_thresholds("jaccard", probs, y, starts=[macro])
    np.testing.assert_array_equal(climbed, macro)  # nothing on the grid beats the start


@pytest.mark.parametrize("seed", range(5))
def test_on_dev_every_objective_scores_best_with_its_own_thresholds(seed):
    from emotag.evaluation.calibration import best_threshold_per_class
    from emotag.evaluation.objectives import OBJECTIVES, fit_all_objectives

    rng = np.random.default_rng(seed)
    y = rng.random((120, 6)) < rng.uniform(0.05, 0.4, 6)
    probs = np.where(y, rng.beta(3, 2, y.shape), rng.beta(2, 4, y.shape)).astype(np.float32)
    thresholds = fit_all_objectives(probs, y, best_threshold_per_class(probs, y).thresholds)
    table = objective_table(probs, y, thresholds)
    for metric in OBJECTIVES:
        assert all(table[metric][metric] >= table[other][metric] for other in OBJECTIVES)
