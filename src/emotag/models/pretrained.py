"""What every pretrained encoder loader returns (KerasHub, HF directories, TF-Hub)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

POOLINGS = ("cls", "mean")


@dataclasses.dataclass
class PretrainedEncoder:
    """A pretrained encoder and the tokenisation that belongs to it.

    Args:
        spec: what `load_encoder` was given.
        kind: "keras_hub" or "tf_hub".
        backbone: Keras layer/model, inputs dict -> `sequence_output` (batch, time,
            hidden) and `pooled_output` (batch, hidden).
        make_text_encoder: `max_len -> tf.Module` mapping (batch,) strings to
            (batch, time <= max_len) int32 ids.
        max_len: longest sequence the encoder accepts (position embeddings).
        default_pooling: "mean" for sentence-transformers checkpoints trained with
            mean pooling, else "cls" (the encoder's pooled [CLS] output).
        freeze: `k -> None`; freezes the embeddings and the first k transformer layers.
    """

    spec: str
    kind: str
    backbone: keras.layers.Layer
    make_text_encoder: Callable[[int], tf.Module]
    max_len: int
    default_pooling: str
    freeze: Callable[[int], object]
