"""tf.data pipelines over variable-length token id sequences."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


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
        A `tf.data.Dataset` of `ids` or `(ids, labels)` batches, ids (batch, time) int32.
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
    return ds.prefetch(tf.data.AUTOTUNE)
