"""Offline augmentation: replace words by their nearest neighbours in a word-vector space.

A new example is a training example of the class with some of its words swapped for
words whose vectors (any `emotag.embeddings.sources` source: `minilm-static`, `wordllama`, a
vector file) are closest by cosine ("movie" -> "film"). It keeps the example's labels,
so the words that carry emotion must stay: cue words (per class, the words whose
document frequency is most raised by the class; a smoothed log-odds ratio) and common
function words (`emotag.augment.filters.STOPWORDS`, which holds the negations) are
never replaced, and never used as replacements either, since neighbours of a neutral
word can be emotion words ("good" is next to "bad"). Each other word is replaced with
probability `p` (placeholders such as [NAME], URLs, mentions and hashtags stay as
they are), by one of its `k` nearest neighbours (similarity at least
`min_similarity`) drawn at random; randomness comes from the caller's seeded generator.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from emotag.augment.filters import STOPWORDS

log = logging.getLogger(__name__)

# Letters with an inner apostrophe ("don't"); digits and emoji are left alone.
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Spans kept whole: placeholders ([NAME], <user>), URLs, @mentions, #hashtags, /u/users.
_KEEP = r"\[[^\]\s]+\]|<[^>\s]+>|https?://\S+|www\.\S+|[@#]\w+|(?<!\w)/?u/[\w-]+"
_SPAN = re.compile(rf"(?P<keep>{_KEEP})|{WORD.pattern}")


def words_of(text: str) -> list[str]:
    """Lowercased words of a text, as the augmenter sees them."""
    return [w.lower() for w in WORD.findall(text)]


def cue_words(
    texts: Sequence[str],
    labels: np.ndarray,
    label_names: Sequence[str],
    per_class: int = 30,
    min_count: int = 3,
    alpha: float = 1.0,
) -> dict[str, list[str]]:
    """Per class, the `per_class` words most typical of it (smoothed log-odds ratio of
    the share of texts with and without the class that contain the word).

    Args:
        texts: training texts.
        labels: (n, C) multi-hot.
        label_names: the C names.
        per_class: cue words kept per class.
        min_count: a cue word is in at least this many texts of the class.
        alpha: additive smoothing of the document counts.

    Returns:
        {label name: cue words, most typical first}.
    """
    doc_words = [set(words_of(t)) for t in texts]
    cues = {}
    for c, name in enumerate(label_names):
        inside = labels[:, c] > 0
        n_in, n_out = int(inside.sum()), int((~inside).sum())
        df_in = Counter(w for words, on in zip(doc_words, inside) if on for w in words)
        df_out = Counter(w for words, on in zip(doc_words, inside) if not on for w in words)
        scores = {
            w: np.log((k + alpha) / (n_in + 2 * alpha))
            - np.log((df_out[w] + alpha) / (n_out + 2 * alpha))
            for w, k in df_in.items()
            if k >= min_count
        }
        cues[name] = sorted(scores, key=lambda w: (-scores[w], w))[:per_class]
    return cues


class NeighbourSubstitution:
    """Rewrites texts by swapping words for nearest neighbours (module docstring).

    Args:
        words: candidate vocabulary (lowercase), e.g. the training words seen 2+ times.
        vectors: (len(words), dim) vectors; all-zero rows (words the source lacks)
            take no part.
        protected: words never replaced nor used as a replacement.
        k: neighbours kept per word.
        min_similarity: least cosine similarity of a neighbour.

    Example:
    >>> sub = NeighbourSubstitution(["movie", "film", "great"], vectors, protected={"great"})
    >>> sub.augment("A great movie", p=1.0, rng=np.random.default_rng(0))
    'A great film'
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray,
        protected: set[str] | frozenset[str] = frozenset(),
        k: int = 5,
        min_similarity: float = 0.5,
    ):
        self.protected = set(protected) | STOPWORDS
        norms = np.linalg.norm(vectors, axis=1)
        usable = np.array(
            [n > 0 and w not in self.protected and len(w) > 2 for w, n in zip(words, norms)]
        )
        self.words = [w for w, ok in zip(words, usable) if ok]
        self.unit = (vectors[usable] / norms[usable, None]).astype(np.float32)  # (V, dim)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.k = k
        self.min_similarity = min_similarity
        self._neighbours: dict[str, list[str]] = {}

    def neighbours(self, word: str) -> list[str]:
        """Up to k nearest other words with similarity >= min_similarity, nearest first."""
        if word not in self._neighbours:
            row = self.index.get(word)
            found: list[str] = []
            if row is not None and len(self.words) > 1:
                sims = self.unit @ self.unit[row]  # (V,)
                sims[row] = -np.inf
                top = np.argpartition(-sims, min(self.k, len(sims) - 1))[: self.k]
                top = top[np.argsort(-sims[top], kind="stable")]
                found = [self.words[j] for j in top if sims[j] >= self.min_similarity]
            self._neighbours[word] = found
        return self._neighbours[word]

    def augment(self, text: str, p: float, rng: np.random.Generator) -> str:
        """`text` with each replaceable word swapped with probability `p`."""

        def swap(match: re.Match) -> str:
            word = match.group(0)
            if match.group("keep"):
                return word
            options = self.neighbours(word.lower())
            if not options or rng.random() >= p:
                return word
            new = options[int(rng.integers(len(options)))]
            if word.isupper() and len(word) > 1:
                return new.upper()
            return new.capitalize() if word[0].isupper() else new

        return _SPAN.sub(swap, text)
