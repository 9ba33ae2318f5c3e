"""The NRC Emotion Lexicon as a TF graph on raw strings: word -> emotion table + negation.

The lexicon (Mohammad and Turney, 2013; the copy the `nrclex` package ships) lists for
each word the NRC categories it evokes: eight Plutchik emotions (anger, anticipation,
disgust, fear, joy, sadness, surprise, trust) and two polarities (positive, negative).
A label whose name is one of those categories is *covered*; `neutral` is covered too
(it fires when no covered emotion does); every other label is not, and scores 0.

    text -> lower case -> tokens (TweetTokenizer-like, `TOKEN_PATTERN`)
    -> a word counts for its categories unless a negator (`NEGATOR_PATTERN`) stands
       at most `window` tokens before it with no clause punctuation in between
    -> hits h per covered label -> score h / (h + 1); neutral 1 / (1 + total hits)

Scores are monotone in the hit counts, so dev-tuned thresholds act as hit-count
cut-offs; the fixed "any hit" rule is `FIXED_THRESHOLDS`. The graph needs only core
TensorFlow ops, so the exported SavedModel serves like any run's. NLTK's
`TweetTokenizer` is the reference tokeniser (`emotag.training.lexicon`), and the
training run records how often the two disagree on dev.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources

import numpy as np
import tensorflow as tf

NEUTRAL = "neutral"
NRC_CATEGORIES = (
    "anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust",
    "positive", "negative",
)  # fmt: skip
NEGATION_WINDOW = 3
NEGATORS = (
    "not", "no", "never", "cannot", "nor", "neither", "nobody", "nothing", "none",
    "nowhere", "without", "aint", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt",
    "arent", "werent", "wont", "wouldnt", "couldnt", "shouldnt", "havent", "hasnt", "hadnt",
)  # fmt: skip
# A negator is one of NEGATORS or any contraction in n't (don't, isn't, can't, ...).
NEGATOR_PATTERN = "(?:" + "|".join(NEGATORS) + r")|.*n't"
# Tokens that end a negation's scope: clause punctuation, ellipses included.
STOP_PATTERN = r"[.,!?;:]+"
# The parts of NLTK's TweetTokenizer that decide word boundaries, in RE2 syntax (no
# look-arounds): URLs, emoticons, @handles, #hashtags, words with inner apostrophes
# or dashes, numbers, other words, ellipses, any other character.
TOKEN_PATTERN = (
    r"(https?://\S+|www\.\S+"
    r"|[<>]?[:;=8][\-o*']?[)\](\[dDpP/:}{@|\\]|[)\](\[dDpP/:}{@|\\][\-o*']?[:;=8][<>]?|</?3"
    r"|@[\p{L}\p{N}_]+|#+[\p{L}\p{N}_]+(?:[\p{L}\p{N}'_\-]*[\p{L}\p{N}_])?"
    r"|\p{L}(?:\p{L}|['\-_])+\p{L}"
    r"|[+\-]?\p{N}+[,/.:\-]\p{N}+[+\-]?"
    r"|[\p{L}\p{N}_]+"
    r"|\.(?:[ \t]*\.)+"
    r"|\S)"
)
APOSTROPHES = "[’‘`´]"  # typographic apostrophes count as ' (don’t = don't)

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


def load_nrc_lexicon() -> dict[str, list[str]]:
    """word -> NRC categories, from the `nrc_en.json` the `nrclex` package ships."""
    source = resources.files("nrclex.data").joinpath("nrc_en.json")
    with source.open("r", encoding="utf-8") as f:
        return json.load(f)


def label_categories(label_names: Sequence[str]) -> dict[str, str]:
    """label -> NRC category, for the labels whose name is one (the covered emotions)."""
    return {name: name for name in label_names if name in NRC_CATEGORIES}


def covered_labels(label_names: Sequence[str]) -> list[str]:
    """The labels the lexicon can score: NRC category names and `neutral`."""
    return [name for name in label_names if name in NRC_CATEGORIES or name == NEUTRAL]


def is_negator(token: str) -> bool:
    return re.fullmatch(NEGATOR_PATTERN, token) is not None


def negated_flags(tokens: Sequence[str], window: int = NEGATION_WINDOW) -> list[bool]:
    """For each token: does a negator stand within `window` tokens before it, unbroken
    by clause punctuation? (The rule the graph applies; here for one token list.)"""
    flags = [False] * len(tokens)
    for i in range(len(tokens)):
        for j in range(max(0, i - window), i):
            between = tokens[j + 1 : i]
            if is_negator(tokens[j]) and not any(re.fullmatch(STOP_PATTERN, t) for t in between):
                flags[i] = True
    return flags


def hit_counts(
    tokens: Sequence[str], lexicon: dict, label_names: Sequence[str], window: int = NEGATION_WINDOW
) -> np.ndarray:
    """(labels,) non-negated lexicon hits of one token list, per covered emotion label."""
    categories = label_categories(label_names)
    counts = np.zeros(len(label_names), dtype="float32")
    for token, negated in zip(tokens, negated_flags(tokens, window)):
        if negated:
            continue
        found = set(lexicon.get(token, ()))
        for j, name in enumerate(label_names):
            if categories.get(name) in found:
                counts[j] += 1
    return counts


def scores_from_counts(counts: np.ndarray, label_names: Sequence[str]) -> np.ndarray:
    """(n, labels) scores in [0, 1] from (n, labels) hit counts (module docstring)."""
    counts = np.asarray(counts, dtype="float32")
    scores = counts / (counts + 1.0)
    if NEUTRAL in label_names:
        scores[:, list(label_names).index(NEUTRAL)] = 1.0 / (1.0 + counts.sum(axis=1))
    return scores


def fixed_thresholds(label_names: Sequence[str]) -> np.ndarray:
    """The "any hit" rule as thresholds: a covered emotion fires on one hit (score 1/2),
    neutral only when nothing fired (score 1), uncovered labels never (score 0 < 1)."""
    covered = set(label_categories(label_names))
    return np.array([0.5 if name in covered else 1.0 for name in label_names], dtype="float32")


class NrcLexiconClassifier(tf.Module):
    """Raw strings -> per-label lexicon scores: the NRC word table and the negation rule.

    Args:
        lexicon: word -> NRC categories (`load_nrc_lexicon()`).
        label_names: the run's labels; those named for an NRC category are scored.
        window: tokens after a negator whose words do not count.

    Example:
    >>> model = NrcLexiconClassifier(load_nrc_lexicon(), ["anger", "joy", "neutral"])
    >>> model(tf.constant(["I am not happy", "what a happy day"]))  # (2, 3) float32
    """

    def __init__(self, lexicon: dict, label_names: Sequence[str], window: int = NEGATION_WINDOW,
                 name: str | None = None):  # fmt: skip
        super().__init__(name=name)
        self.label_names = list(label_names)
        self.window = int(window)
        categories = label_categories(self.label_names)
        columns = [i for i, n in enumerate(self.label_names) if n in categories]
        words = sorted(w for w, cats in lexicon.items() if set(cats) & set(categories.values()))
        table = np.zeros((len(words) + 1, len(self.label_names)), "float32")  # last row: unknown
        for row, word in enumerate(words):
            for j in columns:
                table[row, j] = categories[self.label_names[j]] in lexicon[word]
        self.num_words = len(words)
        self.words = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(words or [""], tf.string), tf.range(max(1, len(words)), dtype=tf.int64)
            ),
            default_value=len(words),
        )
        self.table = tf.Variable(table, trainable=False, name="word_categories")  # (words+1, L)
        self.neutral = self.label_names.index(NEUTRAL) if NEUTRAL in self.label_names else -1

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Ragged (batch, (tokens)) lower-case tokens (`TOKEN_PATTERN`)."""
        texts = tf.strings.lower(texts, encoding="utf-8")
        texts = tf.strings.regex_replace(texts, APOSTROPHES, "'")
        return tf.strings.split(tf.strings.regex_replace(texts, TOKEN_PATTERN, r" \1 "))

    @tf.function(input_signature=[TEXT_SPEC])
    def counts(self, texts: tf.Tensor) -> tf.Tensor:
        """(batch, labels) float32 non-negated lexicon hits per covered emotion label."""
        tokens = self.tokens(texts).to_tensor(default_value="")  # (batch, time)
        present = tokens != ""
        negator = tf.strings.regex_full_match(tokens, NEGATOR_PATTERN) & present
        stop = tf.strings.regex_full_match(tokens, STOP_PATTERN)
        negated = tf.zeros_like(present)
        blocked = tf.zeros_like(present)  # a stop between position i-k and i
        for k in range(1, self.window + 1):
            negated |= _shift(negator, k) & ~blocked
            blocked |= _shift(stop, k)
        ids = self.words.lookup(tokens)  # (batch, time); unknown -> the zero row
        keep = tf.cast(present & ~negated, tf.float32)[..., None]  # (batch, time, 1)
        return tf.reduce_sum(tf.gather(self.table, ids) * keep, axis=1)  # (batch, labels)

    @tf.function(input_signature=[TEXT_SPEC])
    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        counts = self.counts(texts)  # (batch, labels)
        scores = counts / (counts + 1.0)
        if self.neutral < 0:
            return scores
        neutral = 1.0 / (1.0 + tf.reduce_sum(counts, axis=1, keepdims=True))  # (batch, 1)
        is_neutral = tf.one_hot(self.neutral, len(self.label_names), dtype=tf.float32)
        return scores * (1.0 - is_neutral) + neutral * is_neutral

    def predict_proba(self, texts: list[str], batch_size: int = 1024) -> np.ndarray:
        """Eager convenience: (len(texts), labels) float32 scores."""
        return self._batched(self.__call__, texts, batch_size)

    def predict_counts(self, texts: list[str], batch_size: int = 1024) -> np.ndarray:
        """Eager convenience: (len(texts), labels) float32 hit counts."""
        return self._batched(self.counts, texts, batch_size)

    def _batched(self, fn, texts: list[str], batch_size: int) -> np.ndarray:
        out = [
            fn(tf.constant(texts[start : start + batch_size], tf.string)).numpy()
            for start in range(0, len(texts), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), "float32")


def _shift(flags: tf.Tensor, k: int) -> tf.Tensor:
    """(batch, time) flags moved k positions right (to later tokens), False shifted in."""
    pad = tf.zeros_like(flags[:, :1])
    return tf.concat([pad] * k + [flags], axis=1)[:, : tf.shape(flags)[1]]
