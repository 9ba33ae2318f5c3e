"""One text's predicted emotions (`Prediction`) and the display emoji of each label."""

from __future__ import annotations

import dataclasses

import emoji

# One emoji per GoEmotions and SemEval-2018 E-c label for display; labels of other
# datasets without an entry are shown without one.
LABEL_EMOJI = {
    "admiration": "🤩", "amusement": "😂", "anger": "😠", "annoyance": "😒",
    "approval": "👍", "caring": "🤗", "confusion": "😕", "curiosity": "🤔",
    "desire": "😍", "disappointment": "😞", "disapproval": "👎", "disgust": "🤢",
    "embarrassment": "😳", "excitement": "🤗", "fear": "😨", "gratitude": "🙏",
    "grief": "😢", "joy": "😃", "love": "❤️", "nervousness": "😬", "optimism": "🤞",
    "pride": "😌", "realization": "💡", "relief": "😅", "remorse": "😔",
    "sadness": "😞", "surprise": "😲", "neutral": "😐",
    "positive": "🙂", "negative": "🙁", "ambiguous": "🤷",
    # SemEval-2018 E-c labels not in GoEmotions (its others are above).
    "anticipation": "👀", "pessimism": "😟", "trust": "🤝",
}  # fmt: skip


@dataclasses.dataclass
class Prediction:
    """The emotions found in one text."""

    text: str
    labels: list[str]  # predicted labels, most probable first
    probabilities: dict[str, float]  # every label's probability
    error: str | None = None  # why this item was not scored (errors="skip"); then no labels
    thresholds: dict[str, float] | None = None  # every label's applied threshold

    def to_json(self) -> dict:
        record = {
            "text": self.text,
            "labels": self.labels,
            "scores": {name: round(self.probabilities[name], 4) for name in self.labels},
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }
        if self.thresholds is not None:
            record["thresholds"] = {k: round(v, 4) for k, v in self.thresholds.items()}
        if self.error is not None:
            record["error"] = self.error
        return record

    def ranked(self, top_k: int | None = None) -> list[dict]:
        """Labels by descending score, in the Hugging Face pipeline's shape plus two keys.

        Args:
            top_k: keep the first k; None = every label.

        Returns:
            `[{"label", "score", "threshold", "fired"}, ...]`; `fired` says whether the
            label is predicted, which the "at least one label" rule may grant below its
            threshold. [] for an item that was not scored.
        """
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be None or at least 1, got {top_k}")
        order = sorted(self.probabilities, key=lambda name: -self.probabilities[name])
        fired = set(self.labels)
        thresholds = self.thresholds or {}
        return [
            {
                "label": name,
                "score": self.probabilities[name],
                "threshold": thresholds.get(name),
                "fired": name in fired,
            }
            for name in order[:top_k]
        ]

    def format(self) -> str:
        if self.error is not None:
            return f"(not scored: {self.error})"
        if not self.labels:
            return "(no emotion above its threshold)"
        return ", ".join(
            f"{LABEL_EMOJI.get(name, '')} {name} ({self.probabilities[name]:.2f})".strip()
            for name in self.labels
        )


def emoji_for(label: str) -> str:
    """The display emoji of a label ('' when it has none)."""
    return emoji.emojize(LABEL_EMOJI.get(label, ""))
