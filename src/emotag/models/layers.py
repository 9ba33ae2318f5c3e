"""Custom Keras layers."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="emotag")
class AdditiveAttentionPooling(keras.layers.Layer):
    """Additive (Bahdanau-style) attention pooling over the time axis.

    Each time step gets a score `score_t = v^T tanh(W h_t + b)`; the scores are
    softmax-normalised over the unmasked steps and the sequence is pooled into
    their weighted sum. Padded steps (mask `False`) get exactly zero weight.
    A row whose mask is entirely `False` (an empty sequence) gets all-zero
    weights and therefore a zero pooled vector, never NaN.

    The mask is taken from the `mask` call argument, which Keras fills in
    automatically when the input comes from a mask-producing layer such as
    `Embedding(mask_zero=True)` (possibly through mask-propagating layers like
    `Bidirectional(LSTM(..., return_sequences=True))`).

    Args:
        units: int. Size of the attention hidden layer (the rows of `W`).
        kernel_initializer: string or `keras.initializers` initializer for
            `W` and `v`. Defaults to `"glorot_uniform"`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            e.g. `name` and `dtype`.

    Call arguments:
        inputs: float tensor of shape `(batch, time, features)`.
        mask: optional boolean tensor of shape `(batch, time)`; `True` marks
            real tokens.

    Returns:
        Tuple `(pooled, weights)` of shapes `(batch, features)` and
        `(batch, time)`.

    Example:
    ```python
    tokens = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(1000, 16, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))(x)
    pooled, weights = AdditiveAttentionPooling(units=32)(x)
    outputs = keras.layers.Dense(28, activation="sigmoid")(pooled)
    model = keras.Model(tokens, [outputs, weights])
    ```
    """

    def __init__(self, units=128, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(features, self.units),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.score_kernel = self.add_weight(
            name="score_kernel",
            shape=self._score_shape(),
            initializer=self.kernel_initializer,
        )

    def _score_shape(self) -> tuple:
        return (self.units,)  # one query

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)  # (batch, time, units)
        scores = ops.tensordot(hidden, self.score_kernel, axes=1)  # (batch, time)
        # Softmax in float32 so the large negative fill below cannot overflow
        # under mixed precision (float16 tops out at ~65504).
        scores = ops.cast(scores, "float32")
        if mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            mask = ops.cast(mask, "bool")
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            # An all-masked row has equal fills, so softmax gives uniform
            # weights; multiplying by the mask turns that row into zeros and
            # guarantees exact zeros at padded steps in every other row.
            weights = ops.softmax(scores, axis=-1) * ops.cast(mask, "float32")
        weights = ops.cast(weights, inputs.dtype)  # (batch, time)
        pooled = ops.einsum("bt,btf->bf", weights, inputs)  # (batch, features)
        return pooled, weights

    def compute_mask(self, inputs, mask=None):
        # Both outputs have lost the time axis the mask described.
        return None, None

    def compute_output_shape(self, input_shape):
        batch, time, features = input_shape
        return (batch, features), (batch, time)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="emotag")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over the unmasked time steps (Keras' GlobalMaxPooling1D ignores the mask).

    Padded steps of a backward LSTM output zeros, which would win the max whenever
    every real value of a feature is negative. All-masked rows pool to zeros.

    Call arguments:
        inputs: (batch, time, features).
        mask: optional (batch, time) boolean padding mask.

    Example:
    >>> x = keras.ops.convert_to_tensor([[[-1.0], [-2.0], [0.0]]])
    >>> MaskedGlobalMaxPooling1D()(x, mask=keras.ops.convert_to_tensor([[True, True, False]]))
    <tf.Tensor: shape=(1, 1), dtype=float32, numpy=array([[-1.]], dtype=float32)>
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        mask = ops.expand_dims(ops.cast(mask, "bool"), -1)  # (batch, time, 1)
        lowest = ops.full_like(inputs, -1e9)
        pooled = ops.max(ops.where(mask, inputs, lowest), axis=1)  # (batch, features)
        return ops.where(ops.any(mask, axis=1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="emotag")
class LabelAttentionPooling(AdditiveAttentionPooling):
    """Additive attention with one query per label: a pooled vector for each label.

    As `AdditiveAttentionPooling`, but the score vector `v` becomes a matrix `V` with a
    column per label: `score_{t,l} = V[:, l]^T tanh(W h_t + b)`, softmax-normalised over
    the unmasked steps for each label separately. A rare emotion can then pool the words
    that signal it instead of sharing one weighting with the frequent labels (label-wise
    attention: Mullenbach et al., 2018, CAML; Xiao et al., 2019, LSAN). `W` and `b` are
    shared, so it adds `units x (labels - 1)` weights to the single-query layer.
    All-masked rows pool to zeros, never NaN.

    Args:
        units: int. Size of the shared attention hidden layer.
        num_labels: int. Number of queries (one per output label).
        kernel_initializer: initializer for `W` and `V`.

    Call arguments:
        inputs: float tensor of shape `(batch, time, features)`.
        mask: optional boolean `(batch, time)`; `True` marks real tokens.

    Returns:
        Tuple `(pooled, weights)` of shapes `(batch, labels, features)` and
        `(batch, time, labels)`.
    """

    def __init__(self, units=128, num_labels=1, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(units, kernel_initializer, **kwargs)
        if num_labels < 1:
            raise ValueError(f"num_labels must be >= 1, got {num_labels}")
        self.num_labels = num_labels

    def _score_shape(self) -> tuple:
        return (self.units, self.num_labels)  # a query per label

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)  # (batch, time, units)
        scores = ops.cast(ops.matmul(hidden, self.score_kernel), "float32")  # (b, time, labels)
        if mask is None:
            weights = ops.softmax(scores, axis=1)
        else:
            mask = ops.expand_dims(ops.cast(mask, "bool"), -1)  # (batch, time, 1)
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            weights = ops.softmax(scores, axis=1) * ops.cast(mask, "float32")
        weights = ops.cast(weights, inputs.dtype)  # (batch, time, labels)
        pooled = ops.einsum("btl,btf->blf", weights, inputs)  # (batch, labels, features)
        return pooled, weights

    def compute_output_shape(self, input_shape):
        batch, time, features = input_shape
        return (batch, self.num_labels, features), (batch, time, self.num_labels)

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels}


@keras.saving.register_keras_serializable(package="emotag")
class LabelwiseDense(keras.layers.Layer):
    """(batch, labels, features) -> (batch, labels): each label's vector dotted with its weights.

    `output_l = activation(x_l . w_l + b_l)`, the output layer for `LabelAttentionPooling`.

    Args:
        activation: applied to the logits ("sigmoid" for multi-label probabilities).
        bias_initializer: initializer for the (labels,) bias, e.g. the label priors' logits.
    """

    def __init__(self, activation=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        _, labels, features = input_shape
        self.kernel = self.add_weight(
            name="kernel", shape=(labels, features), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(
            name="bias", shape=(labels,), initializer=self.bias_initializer
        )

    def call(self, inputs):
        logits = ops.sum(inputs * ops.cast(self.kernel, inputs.dtype), axis=-1) + self.bias
        return self.activation(logits)

    def compute_output_shape(self, input_shape):
        return input_shape[:2]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "activation": keras.activations.serialize(self.activation),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
