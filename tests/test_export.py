"""A run's SavedModel used from Keras: `keras.layers.TFSMLayer`, as the README shows."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

TEXTS = ["Thanks so much, I love it!", "why is this so sad", "", "haha 😂 lol"]


def test_tfsm_layer_serves_raw_strings_inside_a_keras_model(tiny_run_dir):
    import keras
    import tensorflow as tf

    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(tiny_run_dir)
    predictions = predictor.predict(TEXTS)
    expected = np.array([[p.probabilities[n] for n in predictor.label_names] for p in predictions])

    tagger = keras.layers.TFSMLayer(str(tiny_run_dir / "saved_model"), call_endpoint="serve")
    out = tagger(tf.constant(TEXTS))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-6)
    fired = [[predictor.label_names[j] for j in np.flatnonzero(row)] for row in out["labels"]]
    assert [sorted(names) for names in fired] == [sorted(p.labels) for p in predictions]

    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, tagger(text)["probabilities"])
    np.testing.assert_allclose(
        model.predict(tf.constant(TEXTS), verbose=0), expected, rtol=1e-5, atol=1e-6
    )


def test_saved_model_stores_each_variable_once(tiny_run_dir):
    import keras
    import tensorflow as tf

    import emotag.models.layers  # noqa: F401  registers the custom layers
    import emotag.training.losses  # noqa: F401
    from emotag.models.fused_bilstm import FusedBiLSTMClassifier, can_fuse
    from emotag.runs import layout

    model = keras.saving.load_model(tiny_run_dir / layout.MODEL_KERAS, compile=False)
    assert can_fuse(model)  # the SavedModel holds the model and its fused serving twin
    fused = FusedBiLSTMClassifier(model)
    # Every variable of the model (weights and dropout seed states) and of its twin.
    expected = sum(int(np.prod(v.shape)) for v in [*model.variables, *fused.variables])
    reader = tf.train.load_checkpoint(str(tiny_run_dir / "saved_model" / "variables" / "variables"))
    stored = sum(
        int(np.prod(shape))
        for key, shape in reader.get_variable_to_shape_map().items()
        if key.endswith("VARIABLE_VALUE")
    )
    # Keras' exporter alone stores every model variable twice (keras-team/keras#23553).
    assert stored == expected
