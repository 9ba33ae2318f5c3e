"""The transfer set a student learns the teacher's outputs on, beyond the training texts.

Two sources, as in Tang et al. (2019, "Distilling Task-Specific Knowledge from BERT
into Simple Neural Networks", section 3.2) and Mukherjee & Awadallah (2020):

- augmented copies of the training texts. For each word, draw X ~ U(0, 1): if X < p_mask
  the word becomes a mask token; else if X < p_mask + p_sub it becomes one of its nearest
  neighbours in our word-vector space (Tang et al. swap in a word of the same part of
  speech; neighbours in the student's own vectors are this project's stand-in). Then,
  with probability p_ng, the text is cut to a random n-gram of it, n uniform in 1..5.
  Tang et al. used p_mask = p_sub = 0.1, p_ng = 0.25, which are the defaults here.
- unlabeled in-domain text, one text per line, read as a stream.

No dev or test text may enter: a candidate whose normalised form (the student's own
normaliser and tokens) equals a dev or test text's is dropped, as are repeats of a
training text or of an earlier candidate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from emotag.data.textfile import read_lines

log = logging.getLogger(__name__)

MASK = "[MASK]"  # BERT's mask token; BiLSTM and TF-IDF teachers see an unknown word


@dataclasses.dataclass(frozen=True)
class AugmentRates:
    """Tang et al.'s (2019) augmentation probabilities."""

    p_mask: float = 0.1  # a word becomes [MASK]
    p_sub: float = 0.1  # a word becomes a nearest neighbour in the word vectors
    p_ng: float = 0.25  # the text becomes a random n-gram of itself
    max_n: int = 5  # longest n-gram

    def __post_init__(self):
        for name in ("p_mask", "p_sub", "p_ng"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.p_mask + self.p_sub > 1.0:
            raise ValueError("p_mask + p_sub must be at most 1")
        if self.max_n < 1:
            raise ValueError(f"max_n must be at least 1, got {self.max_n}")


def augment_text(
    text: str,
    rng: np.random.Generator,
    rates: AugmentRates,
    neighbours: Callable[[str], Sequence[str]],
) -> str:
    """One augmented copy of `text` (module docstring).

    Args:
        text: a training text.
        rng: the caller's seeded generator.
        rates: the probabilities.
        neighbours: a word's substitutes, nearest first (empty: the word is kept);
            e.g. `emotag.augment.offline.NeighbourSubstitution.neighbours`.

    Returns:
        The new text (possibly equal to `text`).
    """
    words = text.split()
    out = []
    for word in words:
        x = rng.random()
        if x < rates.p_mask:
            out.append(MASK)
            continue
        if x < rates.p_mask + rates.p_sub:
            options = neighbours(word.lower())
            if options:
                out.append(options[int(rng.integers(len(options)))])
                continue
        out.append(word)
    if out and rng.random() < rates.p_ng:
        n = int(rng.integers(1, min(rates.max_n, len(out)) + 1))
        start = int(rng.integers(0, len(out) - n + 1))
        out = out[start : start + n]
    return " ".join(out)


def augmented_copies(
    texts: Sequence[str],
    multiple: int,
    seed: int,
    rates: AugmentRates,
    neighbours: Callable[[str], Sequence[str]],
) -> Iterator[str]:
    """`multiple` augmented copies of every text, round by round; the same for a seed."""
    rng = np.random.default_rng(seed)
    for _ in range(multiple):
        for text in texts:
            yield augment_text(text, rng, rates, neighbours)


def read_unlabeled(path: str | Path) -> Iterator[str]:
    """Non-blank lines of a UTF-8 text file, streamed, stripped.

    Raises:
        FileNotFoundError: When the file does not exist.
        DataFormatError: When a line is not valid UTF-8 (naming the file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--unlabeled: no file {path}")
    for line in read_lines(path):
        if text := line.strip():
            yield text


class Deduplicator:
    """Keeps a candidate text unless its normalised form was seen or is held out.

    Normalising is batched (the student's `TextNormalizer` is a TensorFlow graph), so
    texts arrive in chunks with `key_fn` mapping a chunk to its normalised forms.

    Args:
        key_fn: texts -> their normalised forms (e.g. token lists joined by spaces).
        held_out: dev and test texts, which must never enter the transfer set.
        seen: texts already present (train), whose repeats add nothing.
    """

    def __init__(
        self,
        key_fn: Callable[[list[str]], list[str]],
        held_out: Sequence[str],
        seen: Sequence[str] = (),
    ):
        self.key_fn = key_fn
        self.held_out = {_digest(k) for k in key_fn(list(held_out))}
        self.seen = {_digest(k) for k in key_fn(list(seen))}
        self.dropped = {"held_out": 0, "repeat": 0, "empty": 0}

    def filter(
        self, texts: Iterable[str], limit: int | None = None, chunk: int = 4096
    ) -> list[str]:
        """The kept texts, in order, at most `limit` of them; `texts` may be a stream."""
        kept: list[str] = []
        for batch in _chunks(texts, chunk):
            for text, key in zip(batch, self.key_fn(batch)):
                if limit is not None and len(kept) >= limit:
                    return kept
                if not key.strip():
                    self.dropped["empty"] += 1
                    continue
                digest = _digest(key)
                if digest in self.held_out:
                    self.dropped["held_out"] += 1
                elif digest in self.seen:
                    self.dropped["repeat"] += 1
                else:
                    self.seen.add(digest)
                    kept.append(text)
        return kept


def _digest(key: str) -> bytes:
    # 16-byte digests keep memory flat for millions of lines.
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
