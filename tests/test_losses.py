import math

import keras
import numpy as np
import pytest

from emotag.training.losses import ClassBalancedFocalLoss, class_balanced_weights, make_loss

Y_TRUE = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
Y_PROB = np.array([[0.8, 0.3], [0.4, 0.9]], "float32")

# Hand computation with class weights [2.0, 0.5], gamma=2:
#   ln 0.8 = -0.22314355, ln 0.7 = -0.35667494, ln 0.6 = -0.51082562, ln 0.9 = -0.10536052
#   (0,0) y=1 p=0.8: 2.0 * 0.2^2 * 0.22314355 = 0.017851484
#   (0,1) y=0 p=0.3: 0.5 * 0.3^2 * 0.35667494 = 0.016050372
#   (1,0) y=0 p=0.4: 2.0 * 0.4^2 * 0.51082562 = 0.163464199
#   (1,1) y=1 p=0.9: 0.5 * 0.1^2 * 0.10536052 = 0.000526803
PER_EXAMPLE = [(0.017851484 + 0.016050372) / 2, (0.163464199 + 0.000526803) / 2]
MEAN = (PER_EXAMPLE[0] + PER_EXAMPLE[1]) / 2  # 0.049473215


def to_np(x):
    return keras.ops.convert_to_numpy(x)


def test_hand_computed_2x2():
    loss = ClassBalancedFocalLoss(class_weights=[2.0, 0.5], gamma=2.0)
    assert float(to_np(loss(Y_TRUE, Y_PROB))) == pytest.approx(MEAN, rel=1e-5)
    assert MEAN == pytest.approx(0.049473215, rel=1e-7)
    per_example = ClassBalancedFocalLoss(class_weights=[2.0, 0.5], reduction="none")
    np.testing.assert_allclose(to_np(per_example(Y_TRUE, Y_PROB)), PER_EXAMPLE, rtol=1e-5)


def test_from_logits_matches_probabilities():
    logits = np.log(Y_PROB / (1.0 - Y_PROB))
    loss = ClassBalancedFocalLoss(class_weights=[2.0, 0.5], from_logits=True)
    assert float(to_np(loss(Y_TRUE, logits))) == pytest.approx(MEAN, rel=1e-5)


def test_from_logits_is_finite_for_extreme_logits():
    loss = ClassBalancedFocalLoss(gamma=2.0, from_logits=True)
    value = float(to_np(loss(np.array([[1.0, 0.0]]), np.array([[-200.0, 200.0]]))))
    assert math.isfinite(value) and value > 0


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_gradients_finite_for_extreme_logits(gamma):
    import tensorflow as tf

    loss = ClassBalancedFocalLoss(gamma=gamma, from_logits=True)
    logits = tf.Variable([[-200.0, 200.0, 0.0], [200.0, -200.0, 3.0]])
    with tf.GradientTape() as tape:
        value = loss(np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), logits)
    assert np.all(np.isfinite(tape.gradient(value, logits).numpy()))


def test_gamma_zero_unit_weights_equals_bce():
    rng = np.random.default_rng(0)
    y = (rng.random((6, 4)) > 0.5).astype("float32")
    p = rng.uniform(0.01, 0.99, size=(6, 4)).astype("float32")
    ours = ClassBalancedFocalLoss(class_weights=None, gamma=0.0)(y, p)
    bce = keras.losses.BinaryCrossentropy()(y, p)
    assert float(to_np(ours)) == pytest.approx(float(to_np(bce)), rel=1e-5)
    z = np.log(p / (1 - p))
    ours_logits = ClassBalancedFocalLoss(gamma=0.0, from_logits=True)(y, z)
    bce_logits = keras.losses.BinaryCrossentropy(from_logits=True)(y, z)
    assert float(to_np(ours_logits)) == pytest.approx(float(to_np(bce_logits)), rel=1e-5)


def test_class_balanced_weights_hand_computed():
    # beta=0.9: 0.9^1 = 0.9, 0.9^10 = 0.3486784401, 0.9^100 = 2.6561399e-05
    # raw w = 0.1/0.1 = 1.0, 0.1/0.6513215599 = 0.1535339933, 0.1/0.9999734386 = 0.1000026562
    raw = class_balanced_weights([1, 10, 100], beta=0.9, normalize=False)
    np.testing.assert_allclose(raw, [1.0, 0.1535339933, 0.1000026562], rtol=1e-8)
    # sum = 1.2535366495, scaled by 3 / sum
    weights = class_balanced_weights([1, 10, 100], beta=0.9)
    np.testing.assert_allclose(weights, [2.3932288, 0.3674420, 0.2393292], rtol=1e-6)
    assert weights.sum() == pytest.approx(3.0)


def test_class_balanced_weights_zero_count_and_errors():
    weights = class_balanced_weights([0, 1, 10], beta=0.9, normalize=False)
    np.testing.assert_allclose(weights, [1.0, 1.0, 0.1535339933], rtol=1e-8)
    np.testing.assert_array_equal(class_balanced_weights([0, 0]), [1.0, 1.0])
    with pytest.raises(ValueError):
        class_balanced_weights([1, 2], beta=1.0)
    with pytest.raises(ValueError):
        class_balanced_weights([-1, 2])


def test_make_loss():
    cb = make_loss("cb_focal", class_counts=[1, 10, 100], gamma=1.5, beta=0.9)
    assert isinstance(cb, ClassBalancedFocalLoss) and cb.gamma == 1.5
    np.testing.assert_allclose(cb.class_weights, [2.3932288, 0.3674420, 0.2393292], rtol=1e-6)
    focal = make_loss("focal", gamma=2.0)
    assert isinstance(focal, ClassBalancedFocalLoss) and focal.class_weights is None
    assert isinstance(make_loss("bce"), keras.losses.BinaryCrossentropy)
    with pytest.raises(ValueError, match="cb_focal, focal, bce"):
        make_loss("hinge")
    with pytest.raises(ValueError):
        make_loss("cb_focal")


def test_config_round_trip():
    loss = ClassBalancedFocalLoss(class_weights=np.array([2.0, 0.5]), gamma=1.0, from_logits=True)
    config = loss.get_config()
    assert config["class_weights"] == [2.0, 0.5] and type(config["class_weights"]) is list
    restored = ClassBalancedFocalLoss.from_config(config)
    assert restored.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, ClassBalancedFocalLoss)
    assert restored.get_config() == config


def test_keras_save_load_compiled_model(tmp_path):
    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Dense(3, activation="sigmoid")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=make_loss("cb_focal", [1, 10, 100], beta=0.9))
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = (np.arange(24).reshape(8, 3) % 2).astype("float32")
    before = model.evaluate(x, y, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.loss, ClassBalancedFocalLoss)
    np.testing.assert_allclose(loaded.loss.class_weights, model.loss.class_weights)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(before, rel=1e-6)
