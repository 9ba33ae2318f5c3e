"""Load a run directory and tag texts: the API shared by the CLI, demo and tests."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import emoji
import numpy as np
import tensorflow as tf

from emotag.calibration import apply_thresholds

# One emoji per GoEmotions label for display; labels of other taxonomies or datasets
# without an entry are shown without one.
LABEL_EMOJI = {
    "admiration": "🤩", "amusement": "😂", "anger": "😠", "annoyance": "😒",
    "approval": "👍", "caring": "🤗", "confusion": "😕", "curiosity": "🤔",
    "desire": "😍", "disappointment": "😞", "disapproval": "👎", "disgust": "🤢",
    "embarrassment": "😳", "excitement": "🤗", "fear": "😨", "gratitude": "🙏",
    "grief": "😢", "joy": "😃", "love": "❤️", "nervousness": "😬", "optimism": "🤞",
    "pride": "😌", "realization": "💡", "relief": "😅", "remorse": "😔",
    "sadness": "😞", "surprise": "😲", "neutral": "😐",
    "positive": "🙂", "negative": "🙁", "ambiguous": "🤷",
}  # fmt: skip


@dataclasses.dataclass
class Prediction:
    """The emotions found in one text."""

    text: str
    labels: list[str]  # predicted labels, most probable first
    probabilities: dict[str, float]  # every label's probability

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "labels": self.labels,
            "scores": {name: round(self.probabilities[name], 4) for name in self.labels},
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }

    def format(self) -> str:
        if not self.labels:
            return "(no emotion above its threshold)"
        return ", ".join(
            f"{LABEL_EMOJI.get(name, '')} {name} ({self.probabilities[name]:.2f})".strip()
            for name in self.labels
        )


class Predictor:
    """Tags texts with a run's SavedModel and calibrated thresholds.

    Args:
        run_dir: the run directory (holds `saved_model/`, `per_class_thresholds.npy`, ...).
        batch_size: texts per graph call.

    Example:
    >>> predictor = Predictor.load("artifacts/bilstm")
    >>> predictor.predict(["Thank you so much!"])[0].labels
    ['gratitude']
    """

    def __init__(self, run_dir: str | Path, batch_size: int = 256):
        self.run_dir = Path(run_dir)
        saved_model = self.run_dir / "saved_model"
        if not saved_model.is_dir():
            raise FileNotFoundError(f"{saved_model} not found: is {run_dir} a trained run?")
        self.model = tf.saved_model.load(str(saved_model))
        self.label_names = [n.decode("utf-8") for n in self.model.label_names().numpy()]
        self.thresholds = np.load(self.run_dir / "per_class_thresholds.npy")
        calibration = json.loads((self.run_dir / "thresholds.json").read_text())
        self.at_least_one = bool(calibration.get("at_least_one", False))
        self.batch_size = batch_size

    load = classmethod(lambda cls, run_dir, **kw: cls(run_dir, **kw))

    @property
    def can_explain(self) -> bool:
        return hasattr(self.model, "explain")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Returns (len(texts), labels) probabilities.

        Texts are sorted by length before batching so each batch pads to a similar
        length, then put back in the caller's order.
        """
        texts = _check_texts(texts)
        probs = np.zeros((len(texts), len(self.label_names)), dtype="float32")
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = tf.constant([texts[i] for i in idx], tf.string)
            probs[idx] = self.model.serve(batch)["probabilities"].numpy()
        return probs

    def predict(self, texts: list[str], threshold: float | None = None) -> list[Prediction]:
        """Tags texts; `threshold` overrides the calibrated per-class thresholds."""
        probs = self.predict_proba(texts)
        if threshold is None:
            chosen = apply_thresholds(probs, self.thresholds, at_least_one=self.at_least_one)
        else:
            chosen = apply_thresholds(probs, np.full_like(self.thresholds, threshold))
        results = []
        for text, row, on in zip(texts, probs, chosen):
            labels = sorted(
                (self.label_names[j] for j in np.flatnonzero(on)),
                key=lambda name: -row[self.label_names.index(name)],
            )
            results.append(Prediction(text, labels, dict(zip(self.label_names, map(float, row)))))
        return results

    def explain(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        """Returns each text's (token, attention weight) pairs."""
        if not self.can_explain:
            raise ValueError(f"{self.run_dir} has no attention weights to explain")
        out = self.model.explain(tf.constant(_check_texts(texts), tf.string))
        tokens, weights = out["tokens"].numpy(), out["attention"].numpy()
        return [
            [(t.decode("utf-8"), float(w)) for t, w in zip(row_t, row_w) if t]
            for row_t, row_w in zip(tokens, weights)
        ]


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, expected str")
    return texts


def emoji_for(label: str) -> str:
    """The display emoji of a label ('' when it has none)."""
    return emoji.emojize(LABEL_EMOJI.get(label, ""))
