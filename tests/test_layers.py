import math

import keras
import numpy as np
import pytest

from emotag.models.layers import AdditiveAttentionPooling


@pytest.fixture
def seq():
    rng = np.random.default_rng(0)
    return rng.normal(size=(3, 5, 4)).astype("float32")


@pytest.fixture
def mask():
    return np.array(
        [
            [True, True, True, False, False],
            [True, True, True, True, True],
            [True, False, False, False, False],
        ]
    )


def tiny_model(vocab=20, dim=4, lstm_units=3, attn_units=5):
    tokens = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocab, dim, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(lstm_units, return_sequences=True))(x)
    pooled, weights = AdditiveAttentionPooling(units=attn_units, name="attention")(x)
    outputs = keras.layers.Dense(2, activation="sigmoid")(pooled)
    return keras.Model(tokens, [outputs, weights, pooled])


def test_output_shapes_and_mask(seq, mask):
    layer = AdditiveAttentionPooling(units=6)
    pooled, weights = layer(seq, mask=mask)
    assert pooled.shape == (3, 4)
    assert weights.shape == (3, 5)
    assert layer.compute_output_shape((None, None, 4)) == ((None, 4), (None, None))
    assert layer.compute_mask(seq, mask) == (None, None)


def test_weights_sum_to_one_and_zero_at_padding(seq, mask):
    pooled, weights = AdditiveAttentionPooling(units=6)(seq, mask=mask)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(weights[~mask] == 0.0)
    assert np.all(weights[mask] > 0.0)
    manual = np.einsum("bt,btf->bf", weights, seq)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), manual, rtol=1e-5, atol=1e-6)


def test_no_mask_uses_all_steps(seq):
    _, weights = AdditiveAttentionPooling(units=6)(seq)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(weights > 0.0)


def test_hand_computed_values():
    # features=2, units=1, W=[[1],[0]], b=0, v=[1]: score_t = tanh(h_t[0]).
    layer = AdditiveAttentionPooling(units=1)
    layer.build((None, 3, 2))
    layer.set_weights(
        [np.array([[1.0], [0.0]], "float32"), np.zeros(1, "float32"), np.ones(1, "float32")]
    )
    h = np.array([[[0.0, 1.0], [1.0, 2.0], [5.0, 5.0]]], "float32")
    pooled, weights = layer(h, mask=np.array([[True, True, False]]))
    s0, s1 = math.tanh(0.0), math.tanh(1.0)  # 0.0, 0.7615941559557649
    w0 = math.exp(s0) / (math.exp(s0) + math.exp(s1))  # 1 / (1 + 2.1415933) = 0.3183003
    w1 = 1.0 - w0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights), [[w0, w1, 0.0]], rtol=1e-6)
    expected = [[w0 * 0.0 + w1 * 1.0, w0 * 1.0 + w1 * 2.0]]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), expected, rtol=1e-6)
    assert abs(w0 - 0.3183003) < 1e-6


def test_matches_numpy_with_fixed_weights():
    kernel = np.array([[1.0, -1.0], [0.5, 2.0]], "float32")
    bias = np.array([0.1, -0.2], "float32")
    v = np.array([1.0, -0.5], "float32")
    layer = AdditiveAttentionPooling(units=2)
    layer.build((None, 4, 2))
    layer.set_weights([kernel, bias, v])
    h = np.array(
        [
            [[0.2, -0.1], [1.0, 0.3], [-0.4, 0.8], [0.0, 0.0]],
            [[0.5, 0.5], [-1.0, 0.2], [0.3, -0.7], [0.9, 0.1]],
        ],
        "float32",
    )
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    pooled, weights = layer(h, mask=mask)

    scores = np.tanh(h @ kernel + bias) @ v
    expected_w = np.zeros_like(scores)
    for row in range(2):
        keep = mask[row]
        e = np.exp(scores[row, keep] - scores[row, keep].max())
        expected_w[row, keep] = e / e.sum()
    expected_pooled = (expected_w[..., None] * h).sum(axis=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights), expected_w, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), expected_pooled, rtol=1e-5)


def test_all_masked_row_is_finite_and_zero(seq):
    mask = np.array([[False] * 5, [True] * 5, [True, True, False, False, False]])
    pooled, weights = AdditiveAttentionPooling(units=6)(seq, mask=mask)
    pooled = keras.ops.convert_to_numpy(pooled)
    weights = keras.ops.convert_to_numpy(weights)
    assert np.all(np.isfinite(pooled)) and np.all(np.isfinite(weights))
    np.testing.assert_array_equal(weights[0], 0.0)
    np.testing.assert_array_equal(pooled[0], 0.0)


def test_config_round_trip():
    layer = AdditiveAttentionPooling(units=7, kernel_initializer="he_normal", name="att")
    config = layer.get_config()
    assert config["units"] == 7
    restored = AdditiveAttentionPooling.from_config(config)
    assert restored.units == 7
    assert restored.name == "att"
    assert restored.get_config() == config


def test_functional_model_mask_and_variable_length():
    model = tiny_model()
    for length in (4, 7):
        tokens = np.array([[3, 4, 0, 0, 0, 0, 0][:length], [5, 6, 7, 8, 9, 1, 2][:length]])
        _, weights, _ = model.predict(tokens, verbose=0)
        assert weights.shape == (2, length)
        np.testing.assert_array_equal(weights[0, 2:], 0.0)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


def test_keras_save_load_round_trip(tmp_path):
    model = tiny_model()
    tokens = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]])
    before = model.predict(tokens, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("attention"), AdditiveAttentionPooling)
    after = loaded.predict(tokens, verbose=0)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_masked_max_pooling_ignores_padding_and_round_trips(tmp_path):
    import numpy as np

    from emotag.models.layers import MaskedGlobalMaxPooling1D

    x = np.array([[[-1.0, 2.0], [-2.0, 1.0], [0.0, 9.0]], [[5.0, 5.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = np.array([[True, True, False], [False, False, False]])
    out = keras.ops.convert_to_numpy(MaskedGlobalMaxPooling1D()(x, mask=mask))
    np.testing.assert_allclose(out, [[-1.0, 2.0], [0.0, 0.0]])  # padding's 0 / 9 never win

    ids = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    model = keras.Model(ids, MaskedGlobalMaxPooling1D()(h))
    path = tmp_path / "m.keras"
    model.save(path)
    batch = np.array([[3, 4, 0], [5, 0, 0]])
    np.testing.assert_allclose(keras.saving.load_model(path).predict(batch, verbose=0),
                               model.predict(batch, verbose=0))
