"""TF-IDF + one-vs-rest logistic regression, fitted with scikit-learn, served as a TF graph.

scikit-learn fits the model on token lists from the project's `TextNormalizer` (the
same tokens the BiLSTM sees). `TfidfClassifier` then recomputes it from raw strings
with core TensorFlow ops only, so the exported SavedModel needs neither scikit-learn
nor this package:

    raw text -> TextNormalizer tokens -> word n-grams joined by " " -> vocabulary ids
    -> per-row term counts -> (1 + log tf) if sublinear -> x idf -> L2 row norm
    -> sparse x dense matmul with the coefficients + intercept -> sigmoid

The arithmetic runs in float64, like scikit-learn, and only the probabilities are
cast to float32, so both sides agree to ~1e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from emotag.text.preprocessing import PreprocessConfig, TextNormalizer

# Same as emotag.models.export.TEXT_SPEC; not imported from there to keep this module Keras-free.
TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


def word_ngrams(tokens: list[str], ngram_range: tuple[int, int] = (1, 1)) -> list[str]:
    """Word n-grams of one token list, as scikit-learn's `_word_ngrams` builds them.

    Args:
        tokens: one text's tokens.
        ngram_range: (min_n, max_n), both inclusive.

    Returns:
        Every n-gram for n in the range, words joined by one space.
    """
    low, high = ngram_range
    return [
        " ".join(tokens[i : i + n])
        for n in range(low, high + 1)
        for i in range(len(tokens) - n + 1)
    ]


class TfidfClassifier(tf.Module):
    """Raw strings -> label probabilities: TF-IDF features and logistic regressions.

    Args:
        config: the run's `PreprocessConfig`.
        vocabulary: feature strings (n-grams), in column order.
        idf: (features,) inverse document frequencies.
        coef: (labels, features) logistic-regression weights.
        intercept: (labels,) biases; +-inf for labels that were constant in training.
        ngram_range: (min_n, max_n) word n-gram sizes.
        sublinear_tf: use 1 + log(count) instead of the count.

    Example:
    >>> model = TfidfClassifier.from_sklearn(vectorizer, classifier, PreprocessConfig(), (1, 2))
    >>> model(tf.constant(["thanks a lot!"]))  # (1, labels) float32
    """

    def __init__(
        self,
        config: PreprocessConfig,
        vocabulary: list[str],
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        ngram_range: tuple[int, int] = (1, 1),
        sublinear_tf: bool = False,
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.normalizer = TextNormalizer(config)
        self.ngram_range = tuple(int(n) for n in ngram_range)
        self.sublinear_tf = bool(sublinear_tf)
        self.num_features = len(vocabulary)
        self.vocab_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(vocabulary), tf.string),
                tf.range(len(vocabulary), dtype=tf.int64),
            ),
            default_value=-1,
        )
        self.idf = tf.Variable(np.asarray(idf, "float64"), trainable=False, name="idf")
        self.coef = tf.Variable(  # (features, labels)
            np.asarray(coef, "float64").T, trainable=False, name="coef"
        )
        self.intercept = tf.Variable(
            np.asarray(intercept, "float64"), trainable=False, name="intercept"
        )

    @classmethod
    def from_sklearn(
        cls, vectorizer, classifier, config: PreprocessConfig, ngram_range=(1, 1)
    ) -> TfidfClassifier:
        """Builds the graph from a fitted `TfidfVectorizer` and `OneVsRestClassifier`.

        The vectorizer must have been fitted on `word_ngrams` of normaliser tokens with
        the given `ngram_range`, norm "l2" and smooth or plain idf.
        """
        if vectorizer.norm != "l2" or not vectorizer.use_idf:
            raise ValueError("only norm='l2' with use_idf=True is supported")
        vocab = vectorizer.get_feature_names_out().tolist()
        coef = np.zeros((len(classifier.estimators_), len(vocab)))
        intercept = np.zeros(len(classifier.estimators_))
        for j, estimator in enumerate(classifier.estimators_):
            if hasattr(estimator, "coef_"):
                coef[j], intercept[j] = estimator.coef_[0], estimator.intercept_[0]
            else:
                # A label constant in training gets sklearn's _ConstantPredictor: p = 0 or 1.
                intercept[j] = np.inf if estimator.y_[0] else -np.inf
        return cls(
            config, vocab, vectorizer.idf_, coef, intercept, ngram_range, vectorizer.sublinear_tf
        )

    def ngrams(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Ragged (batch, (ngrams)) feature strings, as `word_ngrams` builds them."""
        tokens = self.normalizer.tokens(texts)  # (batch, (tokens))
        low, high = self.ngram_range
        grams = [tf.strings.ngrams(tokens, n, separator=" ") for n in range(low, high + 1)]
        return tf.concat(grams, axis=1) if len(grams) > 1 else grams[0]

    @tf.function(input_signature=[TEXT_SPEC])
    def features(self, texts: tf.Tensor) -> tf.SparseTensor:
        """L2-normalised TF-IDF rows: sparse (batch, features) float64."""
        grams = self.ngrams(texts)
        batch = grams.nrows()
        ids = self.vocab_table.lookup(grams.flat_values)  # (grams,), -1 = not in vocabulary
        known = ids >= 0
        rows = tf.boolean_mask(grams.value_rowids(), known)
        cols = tf.boolean_mask(ids, known)
        # One key per (row, column) cell; counting keys gives the term frequencies.
        cells, _, counts = tf.unique_with_counts(rows * self.num_features + cols)
        rows, cols = cells // self.num_features, cells % self.num_features
        tf_values = tf.cast(counts, tf.float64)
        if self.sublinear_tf:
            tf_values = 1.0 + tf.math.log(tf_values)
        values = tf_values * tf.gather(self.idf, cols)  # (cells,)
        norms = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(values), rows, batch))  # (batch,)
        values = values / tf.gather(norms, rows)  # every stored row has a non-zero norm
        return tf.sparse.reorder(
            tf.SparseTensor(
                tf.stack([rows, cols], axis=1), values, tf.stack([batch, self.num_features])
            )
        )

    @tf.function(input_signature=[TEXT_SPEC])
    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        logits = tf.sparse.sparse_dense_matmul(self.features(texts), self.coef)  # (batch, labels)
        return tf.cast(tf.sigmoid(logits + self.intercept), tf.float32)

    def predict_proba(self, texts: list[str], batch_size: int = 1024) -> np.ndarray:
        """Eager convenience: (len(texts), labels) float32 probabilities."""
        out = [
            self(tf.constant(texts[start : start + batch_size], tf.string)).numpy()
            for start in range(0, len(texts), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.intercept.shape[0]), "float32")

    def save(self, path: str | Path) -> None:
        """Writes the fitted arrays to a `.npz` file (`load` rebuilds the module)."""
        np.savez_compressed(
            path,
            vocabulary=np.array(self._vocabulary(), dtype=str),
            idf=self.idf.numpy(),
            coef=self.coef.numpy().T,
            intercept=self.intercept.numpy(),
            ngram_range=np.array(self.ngram_range),
            sublinear_tf=np.array(self.sublinear_tf),
        )

    @classmethod
    def load(cls, path: str | Path, config: PreprocessConfig) -> TfidfClassifier:
        """Rebuilds a module written by `save`, with the run's preprocessing config."""
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                config,
                arrays["vocabulary"].tolist(),
                arrays["idf"],
                arrays["coef"],
                arrays["intercept"],
                tuple(arrays["ngram_range"].tolist()),
                bool(arrays["sublinear_tf"]),
            )

    def _vocabulary(self) -> list[str]:
        keys, values = self.vocab_table.export()
        words = [""] * self.num_features
        for key, value in zip(keys.numpy(), values.numpy()):
            words[value] = key.decode("utf-8")
        return words
