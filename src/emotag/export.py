"""Export a trained classifier as a SavedModel that takes raw strings.

The SavedModel needs nothing but TensorFlow: normalisation, vocabulary lookup, the
network and the calibrated thresholds are all in the graph.

Endpoints (callable on `tf.saved_model.load(path)` and as signatures):
- `serve` (also `serving_default`): text (batch,) string ->
  `probabilities` (batch, labels) float32 and `labels` (batch, labels) int32 (0/1,
  calibrated per-class thresholds, "at least one label" rule when the run chose it).
- `explain` (BiLSTM-attention models): text -> `tokens` (batch, time) string (padded
  with "") and `attention` (batch, time) float32.
- `label_names`: no input -> (labels,) string.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from emotag.models import attention_model

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


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


def export_saved_model(
    model: keras.Model,
    encoder: tf.Module,
    thresholds: np.ndarray,
    label_names: list[str],
    path: str | Path,
    at_least_one: bool = False,
) -> None:
    """Writes the raw-string SavedModel described in the module docstring.

    Args:
        model: token ids -> probabilities.
        encoder: a `TextEncoder` (strings -> padded ids; `.tokens` for explanations).
        thresholds: (labels,) calibrated decision thresholds.
        label_names: output column names.
        path: directory to create.
        at_least_one: apply the "at least one label" rule.
    """
    thresholds_t = tf.constant(np.asarray(thresholds, dtype="float32"))
    names_t = tf.constant(label_names, tf.string)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(encoder)

    @tf.function(input_signature=[TEXT_SPEC])
    def serve(text):
        probs = model(tf.cast(encoder(text), tf.int32), training=False)  # (batch, labels)
        return {
            "probabilities": probs,
            "labels": apply_thresholds_tf(probs, thresholds_t, at_least_one),
        }

    archive.add_endpoint("serve", serve)

    weights_model = attention_model(model)
    if weights_model is not None:
        archive.track(weights_model)

        @tf.function(input_signature=[TEXT_SPEC])
        def explain(text):
            ids = encoder(text)  # (batch, time)
            tokens = encoder.tokens(text).to_tensor(default_value="", shape=tf.shape(ids))
            weights = weights_model(tf.cast(ids, tf.int32), training=False)
            return {"tokens": tokens, "attention": weights}

        archive.add_endpoint("explain", explain)

    @tf.function(input_signature=[])
    def label_names_fn():
        return names_t

    archive.add_endpoint("label_names", label_names_fn)
    archive.write_out(str(path), verbose=False)
