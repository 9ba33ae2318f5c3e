"""Length-bucketed tf.data pipelines state their size, so Keras knows each epoch's steps."""

from __future__ import annotations

import numpy as np
import pytest

from emotag.text.batching import LengthSorted, bucketed_batch_count, make_dataset


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


class _RowSum:
    """A stand-in model: each text's id sum and its unpadded length, per row."""

    @staticmethod
    def predict(ds, verbose=0):
        batches = [np.asarray(b) for b in ds]
        return np.concatenate(
            [np.stack([b.sum(axis=1), (b > 0).sum(axis=1), np.full(len(b), b.shape[1])], 1)
             for b in batches]  # fmt: skip
        )


def test_length_sorted_batches_pad_less_and_predict_in_text_order():
    lengths = [5, 1, 3, 1, 4, 2]
    ids = [np.arange(1, n + 1, dtype="int32") * (k + 1) for k, n in enumerate(lengths)]
    sorted_ids = LengthSorted(ids, batch_size=2)
    assert sorted_ids.order.tolist() == [1, 3, 5, 2, 4, 0]  # stable: ties keep text order
    # Batches (1, 1), (2, 3), (4, 5): each pads to its own longest text.
    assert [b.shape[1] for b in sorted_ids.dataset] == [1, 3, 5]
    rows = sorted_ids.predict(_RowSum)
    assert rows[:, 0].tolist() == [int(x.sum()) for x in ids]  # back in the texts' order
    assert rows[:, 1].tolist() == lengths
    assert rows[:, 2].tolist() == [5, 1, 3, 1, 5, 3]  # padded width each text was scored at
    labels = np.arange(6) * 10
    assert sorted_ids.sorted(labels).tolist() == [10, 30, 50, 20, 40, 0]
