"""A multi-label classification head on a pretrained transformer encoder."""

from __future__ import annotations

import keras
import numpy as np

from emotag.models.pretrained import POOLINGS


def build_encoder_classifier(
    backbone: keras.layers.Layer,
    num_labels: int,
    pooling: str = "mean",
    dropout: float = 0.1,
    label_prior: np.ndarray | None = None,
) -> keras.Model:
    """Builds token ids (batch, time) -> per-label probabilities (batch, num_labels).

    Id 0 is padding: the padding mask is derived from the ids, and every text is a
    single segment.

    Args:
        backbone: `PretrainedEncoder.backbone` (inputs dict -> `sequence_output`,
            `pooled_output`).
        num_labels: number of sigmoid outputs.
        pooling: "cls" (the encoder's pooled [CLS] output) or "mean" (mean of the
            token states over the padding mask, as sentence-transformers pool).
        dropout: dropout on the pooled vector.
        label_prior: training frequency of each label; the output bias starts at its
            logit so the first steps are not spent learning base rates.

    Returns:
        An uncompiled `keras.Model`; its output layer computes in float32 even under
        a mixed-precision policy.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    padding_mask = keras.ops.not_equal(token_ids, 0)  # (batch, time)
    outputs = backbone(
        {
            "token_ids": token_ids,
            "segment_ids": keras.ops.zeros_like(token_ids),
            "padding_mask": padding_mask,
        }
    )
    if pooling == "cls":
        pooled = outputs["pooled_output"]  # (batch, hidden)
    else:
        pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(
            outputs["sequence_output"], mask=padding_mask
        )  # (batch, hidden)
    x = keras.layers.Dropout(dropout, name="pooled_dropout")(pooled)
    bias = "zeros"
    if label_prior is not None:
        prior = np.clip(np.asarray(label_prior, dtype="float64"), 1e-4, 1 - 1e-4)
        bias = keras.initializers.Constant(np.log(prior / (1 - prior)).tolist())
    probs = keras.layers.Dense(
        num_labels,
        activation="sigmoid",
        bias_initializer=bias,
        dtype="float32",
        name="probabilities",
    )(x)
    return keras.Model(token_ids, probs, name=f"encoder_classifier_{pooling}")
