"""tf.data pipelines over variable-length token id sequences."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def bucketed_batch_count(lengths: np.ndarray, batch_size: int, boundaries: tuple[int, ...]) -> int:
    """Batches per epoch of a length-bucketed `make_dataset` (each bucket ends part-full).

    Args:
        lengths: (n,) token counts of the texts (0 counts as 1, as `make_dataset` keeps one pad).
        batch_size: texts per batch.
        boundaries: length bucket edges; bucket i holds lengths in [edge i-1, edge i).

    Returns:
        The number of batches per epoch, whatever the shuffle order.
    """
    lengths = np.maximum(np.asarray(lengths, dtype="int64"), 1)
    buckets = np.bincount(np.digitize(lengths, boundaries), minlength=len(boundaries) + 1)
    return int(np.sum(-(-buckets // batch_size)))


def make_dataset(
    ids: list[np.ndarray],
    labels: np.ndarray | None = None,
    batch_size: int = 256,
    shuffle_seed: int | None = None,
    boundaries: tuple[int, ...] = (8, 16, 24, 32, 48),
) -> tf.data.Dataset:
    """Batches of padded ids (and labels); each batch pads only to its own longest text.

    With a shuffle seed (training), texts are also bucketed by length, so a batch of
    short comments does not pay for one long one.

    Args:
        ids: one int array of token ids per text (unpadded; 0 is padding).
        labels: (n, labels) multi-hot targets, or None for prediction.
        batch_size: texts per batch.
        shuffle_seed: shuffle (each epoch anew) and bucket by length; None keeps order.
        boundaries: length bucket edges.

    Returns:
        A `tf.data.Dataset` of `ids` or `(ids, labels)` batches, ids (batch, time) int32,
        whose cardinality is its number of batches (bucketed or not).
    """
    lengths = np.array([len(x) for x in ids], dtype="int32")
    padded = np.zeros((len(ids), max(1, lengths.max(initial=1))), dtype="int32")
    for row, x in zip(padded, ids):
        row[: len(x)] = x
    ds = tf.data.Dataset.from_tensor_slices((padded, lengths))
    ds = ds.map(lambda x, n: x[: tf.maximum(n, 1)])  # unpadded again; batches re-pad
    if labels is not None:
        ds = tf.data.Dataset.zip(ds, tf.data.Dataset.from_tensor_slices(labels.astype("float32")))
    if shuffle_seed is None:
        return ds.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)
    ds = ds.shuffle(len(ids), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.bucket_by_sequence_length(
        lambda x, *_: tf.shape(x)[0],
        boundaries,
        [batch_size] * (len(boundaries) + 1),
        pad_to_bucket_boundary=False,
    )
    # Bucketing hides the epoch's size from tf.data; stating it gives Keras' epoch-1
    # progress bar its total (and fails loudly if the count were ever wrong).
    steps = bucketed_batch_count(lengths, batch_size, boundaries)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return ds.prefetch(tf.data.AUTOTUNE)


class LengthSorted:
    """Texts' ids ordered by length for prediction, so each batch pads to a length near
    its texts' own (in text order a batch of 256 nearly always holds one long comment);
    `predict` gives the rows back in the texts' order.

    Args:
        ids: one int array of token ids per text (unpadded).
        batch_size: texts per batch.

    Example:
    ```python
    dev = LengthSorted(x_dev)
    probs = dev.predict(model)                     # rows in x_dev's order
    ValidationMacroF1(dev.dataset, dev.sorted(y_dev))  # rows in the dataset's order
    ```
    """

    def __init__(self, ids: list[np.ndarray], batch_size: int = 256):
        self.order = np.argsort([len(x) for x in ids], kind="stable")
        self.dataset = make_dataset([ids[i] for i in self.order], None, batch_size)

    def sorted(self, rows) -> np.ndarray:
        """`rows` (one per text, in the texts' order) in the dataset's order."""
        return np.asarray(rows)[self.order]

    def predict(self, model) -> np.ndarray:
        """`model.predict` over the dataset, rows in the texts' order."""
        sorted_rows = model.predict(self.dataset, verbose=0)
        rows = np.empty_like(sorted_rows)
        rows[self.order] = sorted_rows
        return rows
