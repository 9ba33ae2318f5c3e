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


def test_label_attention_pools_each_label_with_its_own_query():
    # features=2, units=1, W=[[1],[0]], b=0, V=[[1, -1]]: label 0 scores tanh(h_t[0]),
    # label 1 scores -tanh(h_t[0]); the padded third step gets no weight for either.
    from emotag.models.layers import LabelAttentionPooling

    layer = LabelAttentionPooling(units=1, num_labels=2)
    layer.build((None, 3, 2))
    layer.set_weights(
        [np.array([[1.0], [0.0]], "float32"), np.zeros(1, "float32"),
         np.array([[1.0, -1.0]], "float32")]
    )  # fmt: skip
    h = np.array([[[0.0, 1.0], [1.0, 2.0], [5.0, 5.0]]], "float32")
    pooled, weights = layer(h, mask=np.array([[True, True, False]]))
    t = math.tanh(1.0)
    w0 = 1 / (1 + math.exp(t))  # label 0: step 0's weight, 0.3183003
    v0 = 1 / (1 + math.exp(-t))  # label 1 prefers step 0: 0.6816997
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(weights), [[[w0, v0], [1 - w0, 1 - v0], [0.0, 0.0]]], rtol=1e-6
    )
    expected = [[[1 - w0, w0 + 2 * (1 - w0)], [1 - v0, v0 + 2 * (1 - v0)]]]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), expected, rtol=1e-6)
    assert pooled.shape == (1, 2, 2) and weights.shape == (1, 3, 2)


def test_label_attention_with_one_label_is_additive_attention(seq, mask):
    from emotag.models.layers import LabelAttentionPooling

    single = AdditiveAttentionPooling(units=6)
    labelled = LabelAttentionPooling(units=6, num_labels=1)
    single.build(seq.shape)
    labelled.build(seq.shape)
    kernel, bias, v = single.get_weights()
    labelled.set_weights([kernel, bias, v[:, None]])
    pooled, weights = single(seq, mask=mask)
    pooled_l, weights_l = labelled(seq, mask=mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled_l)[:, 0], pooled, rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights_l)[..., 0], weights, rtol=1e-6)


def test_label_attention_all_masked_row_is_zero_and_config_round_trips(seq):
    from emotag.models.layers import LabelAttentionPooling

    layer = LabelAttentionPooling(units=4, num_labels=3, name="label_attention")
    pooled, weights = layer(seq, mask=np.array([[False] * 5, [True] * 5, [True] + [False] * 4]))
    pooled, weights = keras.ops.convert_to_numpy(pooled), keras.ops.convert_to_numpy(weights)
    np.testing.assert_array_equal(pooled[0], 0.0)
    np.testing.assert_array_equal(weights[0], 0.0)
    np.testing.assert_allclose(weights[1:].sum(axis=1), 1.0, rtol=1e-6)
    restored = LabelAttentionPooling.from_config(layer.get_config())
    assert (restored.units, restored.num_labels, restored.name) == (4, 3, "label_attention")
    with pytest.raises(ValueError, match="num_labels"):
        LabelAttentionPooling(units=4, num_labels=0)


def test_labelwise_dense_hand_computed():
    from emotag.models.layers import LabelwiseDense

    layer = LabelwiseDense("sigmoid")
    layer.build((None, 2, 3))
    layer.set_weights([np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]], "float32"),
                       np.array([0.25, -1.0], "float32")])  # fmt: skip
    x = np.array([[[2.0, 9.0, 1.0], [1.0, 2.0, 3.0]]], "float32")
    logits = [2.0 - 1.0 + 0.25, 0.5 * 6.0 - 1.0]  # each label reads its own row only
    expected = 1 / (1 + np.exp(-np.array([logits])))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-6)


def test_label_attention_classifier_saves_and_loads(tmp_path):
    from emotag.models.bilstm import attention_model, build_bilstm_classifier

    keras.utils.set_random_seed(0)
    model = build_bilstm_classifier(
        30, 4, embedding_dim=5, lstm_units=3, attention_units=4, pooling="label-attention"
    )
    tokens = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]])
    before = model.predict(tokens, verbose=0)
    model.save(tmp_path / "model.keras")
    after = keras.saving.load_model(tmp_path / "model.keras").predict(tokens, verbose=0)
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-6)
    # The explanation mixes the labels' weights by their probabilities: a distribution
    # over the real tokens.
    explained = attention_model(model).predict(tokens, verbose=0)
    np.testing.assert_allclose(explained.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(explained[0, 3:], 0.0)
    per_label = keras.Model(model.inputs, model.get_layer("label_attention").output[1])
    weights = per_label.predict(tokens, verbose=0)  # (batch, time, labels)
    expected = (weights * before[:, None, :]).sum(-1) / before.sum(-1, keepdims=True)
    np.testing.assert_allclose(explained, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="head_units"):
        build_bilstm_classifier(30, 4, pooling="label-attention", head_units=8)
