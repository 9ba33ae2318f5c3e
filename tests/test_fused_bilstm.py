"""FusedBiLSTMClassifier computes what the Keras BiLSTM classifier computes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from emotag.models.bilstm import build_bilstm_classifier
from emotag.models.fused_bilstm import FusedBiLSTMClassifier, can_fuse


def _ids(rng, batch=7, time=9, vocab=50):
    lengths = rng.integers(0, time + 1, size=batch)
    lengths[0], lengths[1] = 0, time  # an empty row and a full row
    ids = np.zeros((batch, time), dtype="int32")
    for row, n in zip(ids, lengths):
        row[:n] = rng.integers(1, vocab, size=n)  # post-padded, as TextEncoder pads
    return ids


@pytest.mark.parametrize(
    "pooling, head_units",
    [(p, h) for p in ("attention", "mean", "max") for h in (0, 6)] + [("label-attention", 0)],
)
def test_matches_keras_model(pooling, head_units):
    keras.utils.set_random_seed(0)
    model = build_bilstm_classifier(
        50, 5, embedding_dim=6, lstm_units=4, attention_units=3, pooling=pooling,
        head_units=head_units,
    )  # fmt: skip
    assert can_fuse(model)
    ids = _ids(np.random.default_rng(0))
    expected = model(ids, training=False).numpy()
    fused = FusedBiLSTMClassifier(model)(tf.constant(ids)).numpy()
    if pooling == "mean" and head_units:
        # An empty row's masked mean is 0 / 0 in both; ReLU maps that NaN to NaN eagerly
        # and to 0 inside a tf.function, so only rows with tokens are comparable.
        tokens = (ids != 0).any(axis=1)
        assert np.isnan(expected[~tokens]).all() and tokens.sum() >= 4
        fused, expected = fused[tokens], expected[tokens]
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)


def test_head_is_a_relu_layer_between_the_pooled_vector_and_the_output():
    model = build_bilstm_classifier(50, 5, embedding_dim=6, lstm_units=4, head_units=7)
    head = model.get_layer("head")
    assert head.units == 7 and head.activation is keras.activations.relu
    assert head.input.shape[-1] == 8  # both directions' 4 units, pooled
    assert model.get_layer("probabilities").input is head.output
    assert "head" not in {layer.name for layer in build_bilstm_classifier(50, 5).layers}
    with pytest.raises(ValueError, match="head_units"):
        build_bilstm_classifier(50, 5, head_units=-1)


def test_refuses_other_models():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    assert not can_fuse(model)
    with pytest.raises(ValueError):
        FusedBiLSTMClassifier(model)


@pytest.mark.parametrize("pooling", ["attention", "label-attention", "mean", "max"])
def test_batches_of_one_and_all_empty_rows(pooling):
    keras.utils.set_random_seed(1)
    model = build_bilstm_classifier(
        50, 5, embedding_dim=6, lstm_units=4, attention_units=3, pooling=pooling
    )
    fused = FusedBiLSTMClassifier(model)
    one = np.array([[7, 3, 0]], dtype="int32")
    np.testing.assert_allclose(
        fused(tf.constant(one)).numpy(), model(one, training=False).numpy(), rtol=1e-5, atol=1e-6
    )
    empty = np.zeros((3, 2), dtype="int32")
    np.testing.assert_allclose(
        fused(tf.constant(empty)).numpy(), model(empty, training=False).numpy(), atol=1e-6
    )
    assert fused(tf.zeros((0, 4), tf.int32)).shape == (0, 5)


def test_long_batch_matches_keras_model():
    """Many rows of many lengths: every step runs a different number of rows."""
    keras.utils.set_random_seed(2)
    model = build_bilstm_classifier(300, 28, embedding_dim=16, lstm_units=12, attention_units=8)
    ids = _ids(np.random.default_rng(2), batch=300, time=40, vocab=300)
    expected = model(ids, training=False).numpy()
    fused = FusedBiLSTMClassifier(model)(tf.constant(ids)).numpy()
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)


def test_long_batch_matches_keras_model_with_label_attention():
    keras.utils.set_random_seed(3)
    model = build_bilstm_classifier(
        300, 28, embedding_dim=16, lstm_units=12, attention_units=8, pooling="label-attention"
    )
    ids = _ids(np.random.default_rng(3), batch=300, time=40, vocab=300)
    expected = model(ids, training=False).numpy()
    fused = FusedBiLSTMClassifier(model)(tf.constant(ids)).numpy()
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)
