"""A synthetic SemEval-2018 E-c file set with a learnable signal, for tests and benchmarks.

Not the real data (Mohammad et al., SemEval 2018, Task 1 E-c): tweets made of filler
words, @user mentions and hashtags, with cue words for their emotions. It has E-c's
shape: the 11 emotion columns, several labels per tweet drawn from emotions that
co-occur (a negative tweet is often both angry and disgusted, a positive one joyful and
optimistic), some tweets with none, rare emotions (surprise, trust) with weaker cues,
and noise: an emotion without its cue, a cue without its emotion, mood words shared by
the emotions of a mood. So thresholds matter and the objectives disagree.

    from emotag.benchmarks.semeval_style import write_semeval_style
    write_semeval_style("/tmp/semeval-style")  # then --dataset semeval-ec --data-dir ...
"""

from __future__ import annotations

import random
from pathlib import Path

from emotag.data.datasets import SEMEVAL_EC_LABELS

# Words that show each emotion.
CUES = {
    "anger": ("furious", "angry", "#rage"),
    "anticipation": ("waiting", "soon", "#countdown"),
    "disgust": ("gross", "disgusting", "#yuck"),
    "fear": ("scared", "terrified", "#nervous"),
    "joy": ("happy", "yay", "#blessed"),
    "love": ("adore", "love", "❤"),
    "optimism": ("hopeful", "better", "#positivevibes"),
    "pessimism": ("hopeless", "doomed", "#neverchanges"),
    "sadness": ("sad", "crying", "#heartbroken"),
    "surprise": ("wow", "shocked", "#omg"),
    "trust": ("rely", "trust", "#loyal"),
}
# mood -> (share of tweets, words of the mood, chance that each emotion is annotated)
MOODS = {
    "negative": (0.5, ("ugh", "worst", "seriously", "#fml"), {
        "anger": 0.6, "disgust": 0.6, "sadness": 0.4, "fear": 0.2, "pessimism": 0.2,
        "anticipation": 0.05, "surprise": 0.04,
    }),
    "positive": (0.4, ("great", "finally", "#goodtimes", "!"), {
        "joy": 0.75, "optimism": 0.6, "anticipation": 0.25, "love": 0.2, "trust": 0.1,
        "surprise": 0.08,
    }),
    "flat": (0.1, ("meh",), dict.fromkeys(SEMEVAL_EC_LABELS, 0.03)),
}  # fmt: skip
# Chance that an annotated emotion has a cue word in the tweet: weaker for the rare ones.
CUE_SHOWN = {**dict.fromkeys(SEMEVAL_EC_LABELS, 0.6), "love": 0.5, "anticipation": 0.4,
             "pessimism": 0.4, "surprise": 0.35, "trust": 0.35}  # fmt: skip
MOOD_WORD = 0.7  # chance of one word of the tweet's mood
STRAY_CUE = 0.25  # chance of a cue word of a random emotion, not annotated
FILLER = (
    "i the my this is so just today really @user when and it was at work people "
    "tonight game #monday lol"
).split()
SPLIT_FILES = {"train": "2018-E-c-En-train.txt", "dev": "2018-E-c-En-dev.txt",
               "test": "2018-E-c-En-test-gold.txt"}  # fmt: skip
SIZES = (6838, 886, 3259)  # train, dev, test tweets: those of the E-c release


def synthetic_tweet(rng: random.Random) -> tuple[str, set[str]]:
    """One tweet and its annotated emotions."""
    names = list(MOODS)
    mood = rng.choices(names, weights=[MOODS[name][0] for name in names])[0]
    _, mood_words, chances = MOODS[mood]
    labels = {emotion for emotion, chance in chances.items() if rng.random() < chance}
    words = rng.sample(FILLER, 6)

    def insert(choices):
        words.insert(rng.randrange(len(words) + 1), rng.choice(choices))

    if rng.random() < MOOD_WORD:
        insert(mood_words)
    for emotion in sorted(labels):
        if rng.random() < CUE_SHOWN[emotion]:
            insert(CUES[emotion])
    if rng.random() < STRAY_CUE:
        insert(CUES[rng.choice(SEMEVAL_EC_LABELS)])
    return " ".join(words), labels


def write_semeval_style(directory: str | Path, sizes=SIZES, seed: int = 0) -> Path:
    """Writes train, dev and test-gold files in the E-c release's format.

    Tab-separated with a header `ID Tweet anger ... trust` and one 0/1 column per
    emotion, ids `2018-En-00001` onwards, named as released (`2018-E-c-En-train.txt`),
    so the `semeval-ec` loader finds them by name.

    Args:
        directory: where to write (created if needed).
        sizes: (train, dev, test) tweet counts.
        seed: the generator's seed; the same seed writes the same files.

    Returns:
        The directory.
    """
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header = "\t".join(("ID", "Tweet", *SEMEVAL_EC_LABELS))
    number = 0
    for name, size in zip(SPLIT_FILES.values(), sizes, strict=True):
        rows = [header]
        for _ in range(size):
            number += 1
            text, labels = synthetic_tweet(rng)
            bits = ("1" if emotion in labels else "0" for emotion in SEMEVAL_EC_LABELS)
            rows.append("\t".join((f"2018-En-{number:05d}", text, *bits)))
        (directory / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return directory
