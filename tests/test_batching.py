"""Length-bucketed tf.data pipelines state their size, so Keras knows each epoch's steps."""

from __future__ import annotations

import numpy as np
import pytest

from emotag.text.batching import bucketed_batch_count, make_dataset


def test_bucketed_batch_count_by_hand():
    # Buckets [.., 4), [4, 8), [8, ..): lengths 1,2,3 | 4,7,7,7,7 | 9 -> batches of 2:
    # 2 + 3 + 1. A zero-length text is kept as one pad token, so it joins the first bucket.
    lengths = np.array([1, 2, 3, 4, 7, 7, 7, 7, 9])
    assert bucketed_batch_count(lengths, 2, (4, 8)) == 6
    assert bucketed_batch_count(np.array([0, 0, 1]), 2, (4, 8)) == 2
    assert bucketed_batch_count(np.array([], dtype=int), 2, (4, 8)) == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_bucketed_dataset_cardinality_is_the_batches_it_yields(seed):
    rng = np.random.default_rng(seed)
    ids = [np.ones(n, "int32") for n in rng.integers(0, 40, size=203)]
    labels = np.zeros((len(ids), 3), "float32")
    ds = make_dataset(ids, labels, 16, shuffle_seed=seed, boundaries=(8, 16, 24))
    produced = sum(1 for _ in ds)
    assert int(ds.cardinality()) == produced
    lengths = np.array([len(x) for x in ids])
    assert produced == bucketed_batch_count(lengths, 16, (8, 16, 24))
    assert sum(1 for _ in ds) == produced  # the next epoch (reshuffled) too


def test_unbucketed_dataset_cardinality():
    ids = [np.ones(3, "int32")] * 10
    ds = make_dataset(ids, None, 4)
    assert int(ds.cardinality()) == 3 == sum(1 for _ in ds)
