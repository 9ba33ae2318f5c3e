"""Checks every augmented text passes: new, of a sensible length, and English-looking.

- Duplicates: texts are compared by a key that ignores case, punctuation, emoji and
  spacing ("So happy!!" == "so happy"); a candidate is dropped if its key is already
  taken by a dataset text (train, dev or test: a test text re-generated into train
  would leak) or by an earlier candidate.
- Length: `min_words` to `max_words` whitespace-separated words.
- Repetition: at least `min_distinct` of the words are distinct ("good good good so
  good" is how a looping language model fails).
- Language, a cheap heuristic with no model or word list to download: at least
  `min_ascii` of the text's letters are ASCII (rejects other scripts), and a text of
  four or more words has at least `min_stopwords` of its words in `STOPWORDS`, the
  commonest English function words (running English has 40-50% of them; word salad,
  lists of keywords and other Latin-script languages have few). Shorter texts are
  judged by the ASCII share alone.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable

# The commonest English function words (a subset of NLTK's list, with informal forms).
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself
yourselves im dont cant its thats youre ive ill id u ur lol gonna wanna got get
""".split())  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_KEY_DROP = re.compile(r"[\W_]+")


def text_key(text: str) -> str:
    """The duplicate-detection key: lowercase letters and digits, single spaces."""
    return " ".join(_KEY_DROP.sub(" ", text.lower()).split())


@dataclasses.dataclass
class TextChecks:
    """Thresholds of the length and language checks (module docstring)."""

    min_words: int = 3
    max_words: int = 60
    min_ascii: float = 0.9
    min_stopwords: float = 0.15
    min_distinct: float = 0.5

    def problem(self, text: str) -> str | None:
        """Why `text` fails a check ("too_short", "too_long", "repetitive", "not_ascii",
        "few_stopwords"), or None when it passes."""
        tokens = text_key(text).split()
        n_words = len(text.split())
        if n_words < self.min_words:
            return "too_short"
        if n_words > self.max_words:
            return "too_long"
        if tokens and len(set(tokens)) / len(tokens) < self.min_distinct:
            return "repetitive"
        letters = [c for c in text if c.isalpha()]
        if not letters or sum(c.isascii() for c in letters) / len(letters) < self.min_ascii:
            return "not_ascii"
        words = _WORD.findall(text.lower().replace("\u2019", "'"))
        if len(words) >= 4:
            share = sum(w.replace("'", "") in STOPWORDS or w in STOPWORDS for w in words)
            if share / len(words) < self.min_stopwords:
                return "few_stopwords"
        return None


class CandidateFilter:
    """Accepts each new text at most once, if it passes `TextChecks` and is new.

    Args:
        existing: texts already in the dataset (all splits).
        checks: length and language thresholds.

    Example:
    >>> keep = CandidateFilter(["I am so happy"])
    >>> keep("i am SO happy!!"), keep("what a lovely day it is"), keep("What a lovely day it is")
    (False, True, False)
    >>> dict(keep.rejected)
    {'duplicate_of_dataset': 1, 'duplicate': 1}
    """

    def __init__(self, existing: Iterable[str], checks: TextChecks | None = None):
        self.dataset_keys = {text_key(t) for t in existing}
        self.seen: set[str] = set()
        self.checks = checks or TextChecks()
        self.rejected: Counter[str] = Counter()
        self.accepted = 0

    def reason(self, text: str) -> str | None:
        """Why `text` would be rejected now, or None (does not record anything)."""
        problem = self.checks.problem(text)
        if problem:
            return problem
        key = text_key(text)
        if key in self.dataset_keys:
            return "duplicate_of_dataset"
        if key in self.seen:
            return "duplicate"
        return None

    def __call__(self, text: str) -> bool:
        """True, and remembered, if `text` is accepted; else the reason is counted."""
        reason = self.reason(text)
        if reason:
            self.rejected[reason] += 1
            return False
        self.seen.add(text_key(text))
        self.accepted += 1
        return True
