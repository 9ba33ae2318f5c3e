"""TF-Hub BERT encoders: an encoder SavedModel plus its preprocessing SavedModel.

`hub.KerasLayer` is a tf_keras layer and cannot live in a Keras 3 model, so
`HubEncoder` is a Keras 3 layer that calls the loaded SavedModel directly (TF-Hub's
reusable SavedModel API: `obj(inputs, training=...)`, `obj.variables`,
`obj.trainable_variables`) and tracks its variables, so they are fine-tuned and
exported with the model. Text goes through the preprocessor's `tokenize` and
`bert_pack_inputs` subobjects (TF-Hub's text preprocessor API), which let the
sequence length be chosen; a preprocessor without them is called whole and only
its padding is trimmed. Preprocessors run tensorflow-text ops, so this module
imports `tensorflow_text`.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import tensorflow as tf
import tensorflow_text  # noqa: F401  registers the ops TF-Hub preprocessors use

from emotag.models.export import TEXT_SPEC
from emotag.models.pretrained import PretrainedEncoder

# TF Model Garden names: "word_embeddings/...", "embeddings/layer_norm/...",
# "transformer/layer_3/...".
_EMBEDDING = re.compile(r"embedding")
_LAYER = re.compile(r"(?:^|/)layer_(\d+)/")


def load_module(handle: str):
    """Loads a SavedModel from a local directory, else through `tensorflow_hub`."""
    if Path(handle).is_dir():
        return tf.saved_model.load(handle)
    import tensorflow_hub as hub  # resolves and caches tfhub.dev / Kaggle handles

    return hub.load(handle)


@keras.saving.register_keras_serializable(package="emotag")
class HubEncoder(keras.layers.Layer):
    """A TF-Hub BERT encoder SavedModel as a trainable Keras 3 layer.

    Args:
        handle: TF-Hub handle or SavedModel directory of the encoder.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: dict with `token_ids` and `segment_ids` (batch, time) int32 and
            `padding_mask` (batch, time) bool.
        training: run the encoder in training mode (dropout).

    Returns (from a call):
        dict with `sequence_output` (batch, time, hidden) and `pooled_output`
        (batch, hidden).

    Example:
    >>> encoder = HubEncoder("path/to/bert_savedmodel")
    >>> ids = np.array([[101, 7592, 102]], "int32")
    >>> encoder({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids > 0})
    """

    def __init__(self, handle: str, **kwargs):
        super().__init__(**kwargs)
        self.handle = handle
        self._module = load_module(handle)
        variables = list(self._module.variables)
        trainable = {id(v) for v in getattr(self._module, "trainable_variables", variables)}
        self._named = []  # (SavedModel variable name, Keras variable)
        for v in variables:
            name = v.name.split(":")[0]
            # A Keras variable built on a tf.Variable wraps that same variable, so the
            # SavedModel's functions see every update the optimizer makes.
            variable = keras.Variable(
                initializer=v,
                trainable=id(v) in trainable,
                dtype=v.dtype,
                shape=v.shape,
                name=name.replace("/", "_"),  # Keras variable names cannot hold slashes
            )
            self._track_variable(variable)
            self._named.append((name, variable))
        self._build_at_init()

    def call(self, inputs, training=False):
        outputs = self._module(
            {
                "input_word_ids": inputs["token_ids"],
                "input_mask": keras.ops.cast(inputs["padding_mask"], "int32"),
                "input_type_ids": inputs["segment_ids"],
            },
            training=bool(training),
        )
        return {
            "sequence_output": outputs["sequence_output"],
            "pooled_output": outputs["pooled_output"],
        }

    def freeze(self, k: int) -> int:
        """Freezes embedding variables and those of transformer layers 0..k-1.

        Returns:
            The number of variables frozen.
        """
        frozen = 0
        for name, variable in self._named:
            layer = _LAYER.search(name)
            if _EMBEDDING.search(name) or (layer and int(layer.group(1)) < k):
                variable.trainable = False
                frozen += 1
        return frozen

    def get_config(self):
        return {**super().get_config(), "handle": self.handle}


class HubTextEncoder(tf.Module):
    """Strings -> BERT ids with a TF-Hub preprocessing SavedModel.

    Args:
        preprocessor: the loaded preprocessing SavedModel.
        max_len: sequences, special tokens included, are cut to this length (only
            when the preprocessor has `tokenize` and `bert_pack_inputs`).

    Call arguments:
        text: (batch,) string tensor.

    Returns (from a call):
        (batch, time) int32 ids, 0-padded to the longest text.
    """

    def __init__(self, preprocessor, max_len: int):
        super().__init__(name="hub_text_encoder")
        self.preprocessor = preprocessor
        self.max_len = int(max_len)
        self._packs = hasattr(preprocessor, "tokenize") and hasattr(
            preprocessor, "bert_pack_inputs"
        )

    @tf.function(input_signature=[TEXT_SPEC])
    def __call__(self, text):
        if self._packs:
            tokens = self.preprocessor.tokenize(text)  # ragged (batch, words, pieces)
            packed = self.preprocessor.bert_pack_inputs(
                [tokens], seq_length=tf.constant(self.max_len, tf.int32)
            )
        else:
            packed = self.preprocessor(text)
        ids = tf.cast(packed["input_word_ids"], tf.int32)  # (batch, max_len)
        longest = tf.reduce_max(tf.reduce_sum(tf.cast(packed["input_mask"], tf.int32), axis=1))
        return ids[:, : tf.maximum(longest, 0)]  # (batch, time)


def preprocessor_length(preprocessor) -> int:
    """The sequence length a preprocessor packs to by default (its root call)."""
    return int(preprocessor(tf.constant(["a"]))["input_word_ids"].shape[-1])


def load_tfhub_encoder(handle: str, preprocessor_handle: str) -> PretrainedEncoder:
    """A `PretrainedEncoder` from a TF-Hub encoder and its preprocessing model."""
    backbone = HubEncoder(handle, name="hub_encoder")
    preprocessor = load_module(preprocessor_handle)
    return PretrainedEncoder(
        spec=handle,
        kind="tf_hub",
        backbone=backbone,
        make_text_encoder=lambda max_len: HubTextEncoder(preprocessor, max_len),
        max_len=preprocessor_length(preprocessor),
        default_pooling="cls",
        freeze=backbone.freeze,
    )
