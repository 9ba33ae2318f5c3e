"""VADER (Hutto and Gilbert, ICWSM 2014) for the sentiment labels: Python only.

VADER's compound score c in [-1, 1] comes from its own lexicon (it ships with the
`vaderSentiment` package) and a dozen rules (boosters, capitals, "but", negation,
idioms, punctuation, emoji descriptions). Re-writing those rules in TensorFlow ops
would be a second implementation to keep in step, so a VADER run has no SavedModel:
`emotag.serving.predictor.Predictor` serves it through `VaderClassifier`, which offers
the same `serve` / `label_names` calls as one (plain TensorFlow cannot load it).

Scores: positive max(c, 0), negative max(-c, 0), neutral 1 - |c|; every other label
(GoEmotions' "ambiguous") is not covered and scores 0. VADER's standard rule
(positive at c >= 0.05, negative at c <= -0.05, neutral between) is `fixed_thresholds`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

POLARITIES = ("positive", "negative", "neutral")
CUTOFF = 0.05  # VADER's documented compound cut-off
# VADER rounds compound to 4 decimals, so |c| < 0.05 is 1 - |c| >= 0.9501.
NEUTRAL_THRESHOLD = 1.0 - CUTOFF + 1e-4


def covered_labels(label_names: Sequence[str]) -> list[str]:
    """The labels VADER scores: positive, negative and neutral."""
    return [name for name in label_names if name in POLARITIES]


def scores_from_compound(compound: np.ndarray, label_names: Sequence[str]) -> np.ndarray:
    """(n, labels) float32 scores from (n,) compound scores (module docstring)."""
    c = np.asarray(compound, dtype="float32")
    columns = {
        "positive": np.maximum(c, 0.0),
        "negative": np.maximum(-c, 0.0),
        "neutral": 1.0 - np.abs(c),
    }
    zeros = np.zeros_like(c)
    return np.stack([columns.get(name, zeros) for name in label_names], axis=1)


def fixed_thresholds(label_names: Sequence[str]) -> np.ndarray:
    """VADER's ±0.05 rule as thresholds on the scores; uncovered labels never fire."""
    rule = {"positive": CUTOFF, "negative": CUTOFF, "neutral": NEUTRAL_THRESHOLD}
    return np.array([rule.get(name, 1.0) for name in label_names], dtype="float32")


class VaderClassifier:
    """Raw strings -> sentiment scores with VADER; quacks like a run's SavedModel.

    Args:
        label_names: the run's labels; must include positive and negative.

    Example:
    >>> model = VaderClassifier(["ambiguous", "negative", "neutral", "positive"])
    >>> model.predict_proba(["I love it", "meh"])  # (2, 4) float32
    """

    def __init__(self, label_names: Sequence[str]):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        missing = {"positive", "negative"} - set(label_names)
        if missing:
            raise ValueError(f"VADER needs the labels positive and negative; missing {missing}")
        self.names = list(label_names)
        self.analyzer = SentimentIntensityAnalyzer()

    def compound(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) VADER compound scores."""
        return np.array(
            [self.analyzer.polarity_scores(t)["compound"] for t in texts], dtype="float32"
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), labels) float32 scores."""
        return scores_from_compound(self.compound(list(texts)), self.names)

    def serve(self, text: tf.Tensor) -> dict:
        """What a SavedModel's `serve` returns, probabilities only (thresholds: Predictor)."""
        texts = [t.decode("utf-8") for t in text.numpy()]
        return {"probabilities": tf.constant(self.predict_proba(texts).reshape(len(texts), -1))}

    def label_names(self) -> tf.Tensor:
        return tf.constant(self.names, tf.string)
