"""Export a trained classifier as a SavedModel that takes raw strings.

The SavedModel needs nothing but TensorFlow: normalisation, vocabulary lookup, the
network and the calibrated thresholds are all in the graph. Transformer runs tokenise
with tensorflow-text ops (KerasHub or TF-Hub WordPiece), so load those after
`import tensorflow_text` (`emotag.serving.predictor.load_saved_model` does it when needed).

Endpoints (callable on `tf.saved_model.load(path)` and as signatures):
- `serve` (also `serving_default`): text (batch,) string ->
  `probabilities` (batch, labels) float32 and `labels` (batch, labels) int32 (0/1,
  calibrated per-class thresholds, "at least one label" rule when the run chose it).
- `explain` (BiLSTM-attention models): text -> `tokens` (batch, time) string (padded
  with "") and `attention` (batch, time) float32.
- `label_names`: no input -> (labels,) string.
- `token_ids` (word-vocabulary runs): text -> `token_ids` (batch, time) int32, padded
  with 0 to the longest row, and `lengths` (batch,) int32: the ids `serve` feeds the
  network, for parity checks and for callers that sort texts by length.
- `score_ids` (word-vocabulary runs): token_ids (batch, time) int32 -> `probabilities`
  and `labels` as `serve` returns them; lets a caller batch by exact token count.

Text endpoints read at most `emotag.text.inputs.MAX_TEXT_BYTES` bytes of each text.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from emotag.models.bilstm import attention_model
from emotag.text.inputs import clip_texts_tf
from emotag.text.tokenizer import TextEncoder

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")
IDS_SPEC = tf.TensorSpec([None, None], tf.int32, name="token_ids")


def apply_thresholds_tf(probs: tf.Tensor, thresholds: tf.Tensor, at_least_one: bool) -> tf.Tensor:
    """Graph twin of `calibration.apply_thresholds`: (batch, labels) probs -> 0/1 int32."""
    labels = probs >= thresholds
    if at_least_one:
        top = tf.one_hot(
            tf.argmax(probs, axis=-1), tf.shape(probs)[-1], on_value=True, off_value=False
        )
        empty = tf.logical_not(tf.reduce_any(labels, axis=-1, keepdims=True))
        labels = tf.logical_or(labels, tf.logical_and(top, empty))
    return tf.cast(labels, tf.int32)


def scale_probabilities_tf(probs: tf.Tensor, temperature: float) -> tf.Tensor:
    """Graph twin of `reliability.apply_temperature`: sigmoid(logit(p) / T)."""
    if temperature == 1.0:
        return probs
    p = tf.clip_by_value(probs, 1e-7, 1 - 1e-7)
    return tf.sigmoid((tf.math.log(p) - tf.math.log1p(-p)) / temperature)


def add_calibration_endpoint(archive_or_module, objective: str, temperature: float) -> None:
    """`calibration()` -> {"objective": what the thresholds maximise, "temperature": T}."""
    objective_t = tf.constant(objective, tf.string)
    temperature_t = tf.constant(temperature, tf.float32)

    @tf.function(input_signature=[])
    def calibration():
        return {"objective": objective_t, "temperature": temperature_t}

    if hasattr(archive_or_module, "add_endpoint"):  # a keras.export.ExportArchive
        archive_or_module.add_endpoint("calibration", calibration)
    else:
        archive_or_module.calibration = calibration


def export_saved_model(
    model: keras.Model,
    encoder: tf.Module,
    thresholds: np.ndarray,
    label_names: list[str],
    path: str | Path,
    at_least_one: bool = False,
    serving_model: tf.Module | None = None,
    objective: str = "macro",
    temperature: float = 1.0,
) -> None:
    """Writes the raw-string SavedModel described in the module docstring.

    Args:
        model: token ids -> probabilities.
        encoder: a trackable callable mapping (batch,) strings to the model's inputs:
            padded ids (cast to int32) or a structure of tensors passed as is; e.g. a
            `TextEncoder` (`.tokens` for explanations) or an `emotag.models.encoders` text encoder.
        thresholds: (labels,) calibrated decision thresholds.
        label_names: output column names.
        path: directory to create.
        at_least_one: apply the "at least one label" rule.
        serving_model: computes what `model` computes, faster (e.g. an
            `emotag.models.fused_bilstm.FusedBiLSTMClassifier`); `serve` and `score_ids`
            run it instead of `model`. `explain` always uses `model`.
        objective: what the thresholds were tuned for (the `calibration` endpoint).
        temperature: logits are divided by it before thresholds apply (1 = unscaled).
    """
    thresholds_t = tf.constant(np.asarray(thresholds, dtype="float32"))
    names_t = tf.constant(label_names, tf.string)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(encoder)
    if serving_model is not None:
        archive.track(serving_model)

    def predict(inputs):
        if serving_model is not None:
            return scale_probabilities_tf(serving_model(inputs), temperature)
        return scale_probabilities_tf(model(inputs, training=False), temperature)  # (batch, labels)

    @tf.function(input_signature=[TEXT_SPEC])
    def serve(text):
        inputs = encoder(clip_texts_tf(text))
        if isinstance(inputs, tf.Tensor):
            inputs = tf.cast(inputs, tf.int32)
        probs = predict(inputs)  # (batch, labels)
        return {
            "probabilities": probs,
            "labels": apply_thresholds_tf(probs, thresholds_t, at_least_one),
        }

    archive.add_endpoint("serve", serve)

    if isinstance(encoder, TextEncoder):

        @tf.function(input_signature=[TEXT_SPEC])
        def token_ids(text):
            ids = tf.cast(encoder(clip_texts_tf(text)), tf.int32)  # (batch, time)
            lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)  # (batch,)
            return {"token_ids": ids, "lengths": lengths}

        @tf.function(input_signature=[IDS_SPEC])
        def score_ids(ids):
            probs = predict(ids)  # (batch, labels)
            return {
                "probabilities": probs,
                "labels": apply_thresholds_tf(probs, thresholds_t, at_least_one),
            }

        archive.add_endpoint("token_ids", token_ids)
        archive.add_endpoint("score_ids", score_ids)

    weights_model = attention_model(model)
    if weights_model is not None:
        archive.track(weights_model)

        @tf.function(input_signature=[TEXT_SPEC])
        def explain(text):
            text = clip_texts_tf(text)
            ids = encoder(text)  # (batch, time)
            tokens = encoder.tokens(text).to_tensor(default_value="", shape=tf.shape(ids))
            weights = weights_model(tf.cast(ids, tf.int32), training=False)
            return {"tokens": tokens, "attention": weights}

        archive.add_endpoint("explain", explain)

    @tf.function(input_signature=[])
    def label_names_fn():
        return names_t

    archive.add_endpoint("label_names", label_names_fn)
    add_calibration_endpoint(archive, objective, temperature)
    store_variables_once(archive)
    archive.write_out(str(path), verbose=False)


def store_variables_once(archive: keras.export.ExportArchive) -> None:
    """Makes `archive` save each tracked Keras variable once instead of twice.

    Keras 3 (3.15 at least; keras-team/keras#23553) saves a tracked model's variables
    under `variables/` as the `keras.Variable` wrappers `track()` collected and again
    under `_all_variables/` as the `tf.Variable`s the endpoints captured: two objects,
    so TensorFlow's checkpoint cannot tell they are one buffer. That doubled every run's
    SavedModel on disk and every loaded model's variable memory. The archive's
    collections are given the `tf.Variable`s themselves, as the pending upstream fix
    does, so both paths reach the same objects. Without the private `_tf_trackable` (a
    Keras change) this does nothing, and `tests/test_export.py` reports the size again.
    """
    trackable = getattr(archive, "_tf_trackable", None)
    for name in ("variables", "trainable_variables", "non_trainable_variables"):
        held = getattr(trackable, name, None)
        if held is not None:
            setattr(trackable, name, [getattr(v, "value", v) for v in held])


def export_text_module(
    module: tf.Module,
    thresholds: np.ndarray,
    label_names: list[str],
    path: str | Path,
    at_least_one: bool = False,
    objective: str = "macro",
    temperature: float = 1.0,
) -> None:
    """Writes the `serve` / `label_names` SavedModel for any strings -> probabilities module.

    Keras-free twin of `export_saved_model` (no `explain`), for models that are already
    a TF graph on raw strings: the TF-IDF baseline, an ensemble of loaded SavedModels.

    Args:
        module: a trackable callable, text (batch,) string -> (batch, labels) float32.
        thresholds: (labels,) calibrated decision thresholds.
        label_names: output column names.
        path: directory to create.
        at_least_one: apply the "at least one label" rule.
    """
    root = tf.Module()
    root.model = module
    thresholds_t = tf.constant(np.asarray(thresholds, dtype="float32"))
    names_t = tf.constant(label_names, tf.string)

    @tf.function(input_signature=[TEXT_SPEC])
    def serve(text):
        probs = scale_probabilities_tf(module(clip_texts_tf(text)), temperature)  # (batch, labels)
        return {
            "probabilities": probs,
            "labels": apply_thresholds_tf(probs, thresholds_t, at_least_one),
        }

    root.serve = serve
    root.label_names = tf.function(lambda: names_t, input_signature=[])
    add_calibration_endpoint(root, objective, temperature)
    signatures = {"serving_default": serve, "serve": serve}
    tf.saved_model.save(root, str(path), signatures=signatures)
