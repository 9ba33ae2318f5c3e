import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from emotag.evaluation.intervals import (
    bootstrap_scores,
    confidence_intervals,
    jaccard_per_example,
    paired_bootstrap,
    scores_of_counts,
)

Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]])
P = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 0, 1]])


def test_jaccard_by_hand():
    # rows: {0,2}v{0} 1/2; {1}v{1,2} 1/2; {0,1}v{0} 1/2; empty v empty 1; {2}v{0,2} 1/2
    np.testing.assert_allclose(jaccard_per_example(Y, P), [0.5, 0.5, 0.5, 1.0, 0.5])


def test_jaccard_matches_sklearn_where_a_row_is_not_empty_both():
    keep = [0, 1, 2, 4]
    assert jaccard_per_example(Y[keep], P[keep]).mean() == pytest.approx(
        jaccard_score(Y[keep], P[keep], average="samples")
    )


def test_counts_with_unit_weights_give_the_plain_scores():
    from emotag.evaluation.intervals import _counts

    tp, fp, fn = _counts(Y, P, np.ones((1, len(Y))))
    s = scores_of_counts(tp, fp, fn, jaccard_per_example(Y, P).sum(keepdims=True), len(Y))
    assert s["macro_f1"][0] == pytest.approx(f1_score(Y, P, average="macro", zero_division=0))
    assert s["micro_f1"][0] == pytest.approx(f1_score(Y, P, average="micro", zero_division=0))
    np.testing.assert_allclose(s["per_class_f1"][0], f1_score(Y, P, average=None, zero_division=0))
    assert s["jaccard"][0] == pytest.approx(3 / 5)  # (0.5 * 4 + 1) / 5


def test_bootstrap_is_seeded_and_brackets_the_observed_score():
    rng = np.random.default_rng(1)
    y = rng.random((400, 4)) < 0.3
    p = np.where(rng.random((400, 4)) < 0.8, y, ~y)  # 80% of cells right
    a = bootstrap_scores(y, p, resamples=300, seed=7)
    b = bootstrap_scores(y, p, resamples=300, seed=7)
    np.testing.assert_array_equal(a["macro_f1"], b["macro_f1"])
    assert a["per_class_f1"].shape == (300, 4)
    ci = confidence_intervals(y, p, list("abcd"), resamples=1000, seed=0)
    observed = f1_score(y, p, average="macro", zero_division=0)
    assert ci["macro_f1"][0] < observed < ci["macro_f1"][1]
    # A binomial-ish spread: 400 rows give an interval a few points wide, not 0 or 0.5.
    assert 0.02 < ci["macro_f1"][1] - ci["macro_f1"][0] < 0.2
    assert set(ci["per_class_f1"]) == set("abcd")


def test_paired_bootstrap_separates_a_real_gain_from_none():
    rng = np.random.default_rng(2)
    y = rng.random((2000, 3)) < 0.3
    weak = np.where(rng.random((2000, 3)) < 0.7, y, ~y)
    strong = np.where(rng.random((2000, 3)) < 0.9, y, ~y)
    same = paired_bootstrap(y, weak, weak, resamples=500)
    assert same["macro_f1"]["difference"] == 0
    assert same["macro_f1"]["p_value"] == 1.0
    gain = paired_bootstrap(y, weak, strong, resamples=500)
    assert gain["macro_f1"]["difference"] > 0.1
    assert gain["macro_f1"]["p_value"] < 0.01  # 1/501 is the smallest possible
    lo, hi = gain["macro_f1"]["interval"]
    assert 0 < lo < gain["macro_f1"]["difference"] < hi
    assert len(gain["per_class_f1"]) == 3


def test_empty_split_is_refused():
    with pytest.raises(ValueError, match="empty"):
        bootstrap_scores(np.zeros((0, 3)), np.zeros((0, 3)))


def test_paired_bootstrap_over_seeds_averages_the_runs():
    rng = np.random.default_rng(5)
    y = rng.random((500, 2)) < 0.4
    runs_a = [np.where(rng.random(y.shape) < 0.75, y, ~y) for _ in range(3)]
    runs_b = [np.where(rng.random(y.shape) < 0.85, y, ~y) for _ in range(3)]
    result = paired_bootstrap(y, runs_a, runs_b, resamples=200)
    mean_a = np.mean([f1_score(y, p, average="macro") for p in runs_a])
    mean_b = np.mean([f1_score(y, p, average="macro") for p in runs_b])
    assert result["macro_f1"]["a"] == pytest.approx(mean_a)
    assert result["macro_f1"]["difference"] == pytest.approx(mean_b - mean_a)
    with pytest.raises(ValueError, match="do not match"):
        paired_bootstrap(y, runs_a, [y[:10]])
