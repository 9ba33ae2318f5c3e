"""The BiLSTM + additive-attention classifier."""

from __future__ import annotations

import keras
import numpy as np

from emotag.models.layers import (
    AdditiveAttentionPooling,
    LabelAttentionPooling,
    LabelwiseDense,
    MaskedGlobalMaxPooling1D,
)

POOLINGS = ("attention", "label-attention", "mean", "max")


def build_bilstm_classifier(
    vocab_size: int,
    num_labels: int,
    embedding_dim: int = 300,
    embedding_matrix: np.ndarray | None = None,
    trainable_embeddings: bool = True,
    lstm_units: int = 128,
    attention_units: int = 128,
    dropout: float = 0.3,
    pooling: str = "attention",
    label_prior: np.ndarray | None = None,
    head_units: int = 0,
) -> keras.Model:
    """Builds token ids (batch, time) -> per-label probabilities (batch, num_labels).

    Args:
        vocab_size: embedding rows (id 0 = padding, masked; id 1 = OOV).
        num_labels: number of sigmoid outputs.
        embedding_dim: used when no `embedding_matrix` is given.
        embedding_matrix: (vocab_size, dim) pretrained vectors to start from.
        trainable_embeddings: fine-tune the embeddings with the rest.
        lstm_units: units per direction.
        attention_units: hidden size of the attention scorer.
        dropout: spatial dropout on embeddings and dropout before the output layer.
        pooling: "attention" (returns weights through the layer named "attention"),
            "label-attention" (one attention query and one pooled vector per label,
            each label's output reads its own vector; weights through the layer named
            "label_attention"), or masked "mean" / "max" for ablations.
        label_prior: training frequency of each label; the output bias starts at its
            logit so early epochs are not spent learning the base rates (as in
            RetinaNet, Lin et al. 2017, for focal loss).
        head_units: a ReLU layer of this width (named "head") between the pooled vector
            and the output layer, as in Tang et al.'s (2019) distilled BiLSTM; 0 = none.
            It runs once per text, so it costs next to nothing at serving time.
            Not with "label-attention".

    Returns:
        An uncompiled `keras.Model`.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if head_units < 0:
        raise ValueError(f"head_units must be >= 0, got {head_units}")
    if head_units and pooling == "label-attention":
        raise ValueError("head_units is not available with label-attention pooling")
    if embedding_matrix is not None:
        if embedding_matrix.shape[0] != vocab_size:
            raise ValueError(
                f"embedding_matrix has {embedding_matrix.shape[0]} rows, "
                f"the vocabulary has {vocab_size}"
            )
        embedding_dim = embedding_matrix.shape[1]

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    embedding = keras.layers.Embedding(
        vocab_size, embedding_dim, mask_zero=True, trainable=trainable_embeddings, name="embedding"
    )
    x = embedding(token_ids)  # (batch, time, dim)
    x = keras.layers.SpatialDropout1D(dropout, name="embedding_dropout")(x)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(lstm_units, return_sequences=True), name="bilstm"
    )(x)  # (batch, time, 2 * lstm_units)
    if pooling == "attention":
        pooled, _ = AdditiveAttentionPooling(attention_units, name="attention")(x)
    elif pooling == "label-attention":
        pooled, _ = LabelAttentionPooling(attention_units, num_labels, name="label_attention")(x)
    elif pooling == "mean":
        pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x)
    else:
        pooled = MaskedGlobalMaxPooling1D(name="max_pool")(x)
    # (batch, 2 * lstm_units), or (batch, labels, 2 * lstm_units) for label attention
    x = keras.layers.Dropout(dropout, name="pooled_dropout")(pooled)
    if head_units:
        x = keras.layers.Dense(head_units, activation="relu", name="head")(x)
    bias = "zeros"
    if label_prior is not None:
        prior = np.clip(np.asarray(label_prior, dtype="float64"), 1e-4, 1 - 1e-4)
        bias = keras.initializers.Constant(np.log(prior / (1 - prior)).tolist())
    if pooling == "label-attention":
        probs = LabelwiseDense("sigmoid", bias_initializer=bias, name="probabilities")(x)
    else:
        probs = keras.layers.Dense(
            num_labels, activation="sigmoid", bias_initializer=bias, name="probabilities"
        )(x)
    model = keras.Model(token_ids, probs, name="bilstm_attention")
    if embedding_matrix is not None:
        # Set after building rather than through a Constant initializer, which would
        # copy the whole matrix into the model's JSON config.
        embedding.set_weights([embedding_matrix.astype("float32")])
    return model


class _ProbabilityWeightedAttention(keras.layers.Layer):
    """(batch, time, labels) weights, (batch, labels) probabilities -> (batch, time) mix."""

    def call(self, weights, probs):
        probs = keras.ops.expand_dims(probs, 1)  # (batch, 1, labels)
        total = keras.ops.maximum(keras.ops.sum(probs, axis=-1), 1e-12)  # (batch, 1)
        return keras.ops.sum(weights * probs, axis=-1) / total


def attention_model(model: keras.Model) -> keras.Model | None:
    """Returns a model mapping token ids to attention weights (batch, time), or None.

    With label attention, each label's weights count in proportion to its probability
    (where the model looked for what it predicts); each row still sums to 1.
    """
    names = {layer.name for layer in model.layers}
    if "attention" in names:
        weights = model.get_layer("attention").output[1]
    elif "label_attention" in names:
        weights = _ProbabilityWeightedAttention(name="attention_mix")(
            model.get_layer("label_attention").output[1], model.outputs[0]
        )
    else:
        return None
    return keras.Model(model.inputs, weights, name="attention_weights")
