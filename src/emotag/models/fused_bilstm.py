"""An inference-only twin of the BiLSTM classifier that does a third of the arithmetic.

In `build_bilstm_classifier` the embedding feeds the LSTMs directly (spatial dropout is
the identity at inference), so each direction's input projection `embedding[id] @ W + b`
depends on the token id alone. `FusedBiLSTMClassifier` computes it once per vocabulary
word when it is built, a (vocab, 4 * units) table per direction, and the time loop is
left with the recurrent matmul `h @ U` only: about 3x fewer FLOPs per token with 300-d
vectors and 128 units.

How a batch runs (measured in benchmarks/results/throughput.md):
- Rows are sorted longest first and step t computes only the rows still running (a
  prefix), so a batch costs its real token count, not batch size x longest row
  (GoEmotions: mean 15.5 tokens, max_len 32). The backward direction reads each row
  reversed within its own length (`tf.reverse_sequence`), so no step needs a mask.
- The two directions are two independent loops, which TensorFlow runs on two inter-op
  threads at once.
- Each step's outputs are appended to a packed (tokens, units) list instead of a padded
  (batch, time, units) tensor; pooling works on that list with segment sums keyed by
  row, so no padded sequence is transposed, reversed or concatenated.
- Gates stay in Keras's (i, f, c, o) column order; a step splits them with one reshape
  + unstack (a copy; `tf.split` or a row gather measured the same).

The pooling maths are the trained layers' own weights, re-expressed on the packed list;
the optional ReLU head (`head_units`) and the output layer are the trained layers,
called on the pooled vectors. Label attention never forms its (labels, features) pooled
vectors: each position is scored against every label's output weights first and those
(tokens, labels) values are pooled. The Keras model stays the source of truth and the
tests check both agree to float32 round-off for attention, label attention, mean and max
pooling, with and without the head (an empty row pools as Keras pools it: zeros for
attention and max, 0/0 for mean). It is what the exported SavedModel's
`serve` endpoint runs for BiLSTM runs
(`emotag.models.export.export_saved_model(serving_model=...)`).

Cost: the tables hold 2 * vocab * 4 * units float32 (54 MB for 13k words, 128 units).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

POOLING_LAYERS = ("attention", "label_attention", "mean_pool", "max_pool")


def can_fuse(model: keras.Model) -> bool:
    """True for a model laid out by `build_bilstm_classifier` with standard LSTM cells."""
    names = {layer.name for layer in model.layers}
    if not {"embedding", "bilstm", "probabilities"} <= names:
        return False
    if not names & set(POOLING_LAYERS):
        return False
    bilstm = model.get_layer("bilstm")
    if getattr(bilstm, "merge_mode", None) != "concat":
        return False
    for layer in (bilstm.forward_layer, bilstm.backward_layer):
        cell = getattr(layer, "cell", None)
        if not isinstance(cell, keras.layers.LSTMCell) or not cell.use_bias:
            return False
        if cell.activation is not keras.activations.tanh:
            return False
        if cell.recurrent_activation is not keras.activations.sigmoid:
            return False
    return True


def _numpy(variable) -> np.ndarray:
    return keras.ops.convert_to_numpy(variable)


class FusedBiLSTMClassifier(tf.Module):
    """Token ids (batch, time) -> probabilities (batch, labels), as the Keras model computes.

    Ids must be post-padded with 0 (as `TextEncoder` makes them): each row's tokens come
    first.

    Args:
        model: a trained model from `emotag.models.bilstm.build_bilstm_classifier`
            (`can_fuse(model)` must hold).

    Example:
    >>> fused = FusedBiLSTMClassifier(model)
    >>> fused(tf.constant([[5, 9, 2, 0]], tf.int32))  # == model(...) to ~1e-6
    """

    def __init__(self, model: keras.Model, name: str | None = None):
        super().__init__(name=name)
        if not can_fuse(model):
            raise ValueError(f"{model.name} is not a BiLSTM classifier this module can fuse")
        embeddings = _numpy(model.get_layer("embedding").embeddings).astype("float64")
        bilstm = model.get_layer("bilstm")
        self.units = bilstm.forward_layer.cell.units
        self.gate_tables, self.recurrent_kernels = [], []
        for direction in ("forward", "backward"):
            cell = getattr(bilstm, f"{direction}_layer").cell
            kernel, bias = _numpy(cell.kernel).astype("float64"), _numpy(cell.bias)
            table = embeddings @ kernel + bias  # (vocab, 4 * units), gates i, f, c, o
            self.gate_tables.append(
                tf.Variable(table.astype("float32"), trainable=False, name=f"{direction}_gates")
            )
            self.recurrent_kernels.append(  # (units, 4 * units)
                tf.Variable(
                    _numpy(cell.recurrent_kernel), trainable=False, name=f"{direction}_recurrent"
                )
            )
        names = {layer.name for layer in model.layers}
        self.pooling = next(name for name in POOLING_LAYERS if name in names)
        if self.pooling in ("attention", "label_attention"):
            attention = model.get_layer(self.pooling)
            kernel = _numpy(attention.kernel)  # (2 * units, attention units)
            # Split by direction: the score of a position needs both halves of its vector.
            self.attention_kernels = [
                tf.Variable(kernel[: self.units], trainable=False, name="attention_forward"),
                tf.Variable(kernel[self.units :], trainable=False, name="attention_backward"),
            ]
            self.attention_bias = tf.Variable(_numpy(attention.bias), trainable=False)
            score_kernel = _numpy(attention.score_kernel)
            self.score_kernel = tf.Variable(  # (attention units, 1 or labels)
                score_kernel.reshape(score_kernel.shape[0], -1), trainable=False
            )
        self.head = model.get_layer("head") if "head" in names else None
        self.output_layer = model.get_layer("probabilities")
        if self.pooling == "label_attention":
            # Each label's logit is a weighted sum over positions of that position's
            # vector dotted with the label's output weights; per direction, (units, labels).
            kernel = _numpy(self.output_layer.kernel).T  # (2 * units, labels)
            self.label_kernels = [
                tf.Variable(kernel[: self.units], trainable=False, name="labels_forward"),
                tf.Variable(kernel[self.units :], trainable=False, name="labels_backward"),
            ]

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="token_ids")])
    def __call__(self, ids: tf.Tensor) -> tf.Tensor:
        steps = tf.shape(ids)[1]
        row_lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)  # (batch,)
        # Longest rows first: at step t the rows still running are a prefix.
        order = tf.argsort(row_lengths, direction="DESCENDING", stable=True)
        ids, lengths = tf.gather(ids, order), tf.gather(row_lengths, order)
        real = tf.range(steps)[:, None] < lengths[None, :]  # (time, sorted row)
        running = tf.reduce_sum(tf.cast(real, tf.int32), axis=1)  # (time,) rows at step t
        reversed_ids = tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0)
        forward = self._run(tf.transpose(ids), running, 0)  # (tokens, units)
        backward = self._run(tf.transpose(reversed_ids), running, 1)  # (tokens, units)
        # Packed entry k holds step `step[k]` of sorted row `row[k]`, step-major, for both
        # directions; the forward entry is at position step[k] of its row, the backward
        # one at lengths[row] - 1 - step[k]. `mirror[k]` is the entry of the other
        # direction at the same position (a permutation that is its own inverse).
        step, row = tf.unstack(tf.cast(tf.where(real), tf.int32), axis=1)
        first = tf.cumsum(running, exclusive=True)  # (time,) first entry of each step
        mirror = tf.gather(first, tf.gather(lengths, row) - 1 - step) + row
        segments = tf.gather(order, row)  # each entry's row in the caller's order
        if self.pooling == "label_attention":
            return self._label_attention(forward, backward, mirror, segments, row_lengths)
        pooled = self._pool(forward, backward, mirror, segments, row_lengths)
        if self.head is not None:
            pooled = self.head(pooled)
        return self.output_layer(pooled)  # (batch, labels)

    def _run(self, ids: tf.Tensor, running: tf.Tensor, direction: int) -> tf.Tensor:
        """One direction: (time, batch) ids of rows sorted longest first -> packed outputs.

        Returns:
            (tokens, units): step 0 of the running rows, then step 1, ...
        """
        table = self.gate_tables[direction]
        kernel = self.recurrent_kernels[direction]
        units, steps = self.units, tf.shape(ids)[0]
        zeros = tf.zeros(tf.stack([tf.shape(ids)[1], units]))
        packed = tf.TensorArray(
            tf.float32, size=steps, infer_shape=False, element_shape=tf.TensorShape([None, units])
        )

        def step(t, h, c, packed):
            n = running[t]
            h, c = h[:n], c[:n]  # leading-axis slices share memory
            z = tf.gather(table, ids[t, :n]) + tf.matmul(h, kernel)  # (n, 4 * units)
            i, f, g, o = tf.unstack(tf.reshape(z, [n, 4, units]), axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            return t + 1, h, c, packed.write(t, h)

        state = tf.TensorShape([None, units])
        _, _, _, packed = tf.while_loop(
            lambda t, *_: t < steps,
            step,
            (0, zeros, zeros, packed),
            shape_invariants=(tf.TensorShape([]), state, state, tf.TensorShape(None)),
        )
        return packed.concat()

    def _scores(self, forward, backward, mirror) -> tf.Tensor:
        """(tokens, queries) attention scores v . tanh([forward; backward] @ W + b)."""
        projected = tf.matmul(forward, self.attention_kernels[0]) + tf.gather(
            tf.matmul(backward, self.attention_kernels[1]), mirror
        )
        return tf.matmul(tf.tanh(projected + self.attention_bias), self.score_kernel)

    @staticmethod
    def _per_row(segments, rows):
        """Reduces packed (tokens, ...) values to (rows, ...) by each entry's row."""

        def per_row(values, reduce=tf.math.unsorted_segment_sum):
            return reduce(values, segments, rows)

        return per_row

    @staticmethod
    def _row_softmax(scores, per_row, segments) -> tf.Tensor:
        """Softmax of (tokens, ...) scores within each row."""
        top = tf.gather(per_row(scores, tf.math.unsorted_segment_max), segments)
        scores = tf.exp(scores - top)
        return scores / tf.gather(per_row(scores), segments)

    def _label_attention(self, forward, backward, mirror, segments, row_lengths) -> tf.Tensor:
        """Packed outputs -> (batch, labels) probabilities, without a (labels, features) tensor.

        logit_l = sum_t a_tl (h_t . w_l) + b_l: score each position against every label's
        output weights first, then pool those (tokens, labels) values with the weights.
        """
        per_row = self._per_row(segments, tf.shape(row_lengths)[0])
        weights = self._row_softmax(self._scores(forward, backward, mirror), per_row, segments)
        logits = per_row(weights * tf.matmul(forward, self.label_kernels[0])) + per_row(
            tf.gather(weights, mirror) * tf.matmul(backward, self.label_kernels[1])
        )  # (batch, labels); an empty row sums to 0, as Keras pools it to zeros
        return self.output_layer.activation(logits + self.output_layer.bias)

    def _pool(self, forward, backward, mirror, segments, row_lengths) -> tf.Tensor:
        """Packed (tokens, units) outputs -> (batch, 2 * units), as the Keras layer pools.

        `row_lengths` (batch,) are the token counts in the caller's row order.
        """
        per_row = self._per_row(segments, tf.shape(row_lengths)[0])
        if self.pooling == "attention":
            scores = self._scores(forward, backward, mirror)[:, 0]
            weights = self._row_softmax(scores, per_row, segments)
            return tf.concat(
                [
                    per_row(weights[:, None] * forward),
                    per_row(tf.gather(weights, mirror)[:, None] * backward),
                ],
                axis=1,
            )
        if self.pooling == "mean_pool":
            summed = tf.concat([per_row(forward), per_row(backward)], axis=1)
            counts = tf.cast(row_lengths, summed.dtype)[:, None]
            return summed / counts  # 0 / 0 for an empty row, as Keras's masked mean
        top = tf.concat(
            [
                per_row(forward, tf.math.unsorted_segment_max),
                per_row(backward, tf.math.unsorted_segment_max),
            ],
            axis=1,
        )
        empty = row_lengths == 0
        return tf.where(empty[:, None], tf.zeros_like(top), top)  # all-masked rows pool to 0
