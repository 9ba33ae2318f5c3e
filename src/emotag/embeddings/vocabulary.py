"""The words a BiLSTM run embeds: a closed vocabulary, or an open one for pretrained sources.

closed: the training words seen at least `min_count` times; every other word is `<unk>`.
    Rare words then train the `<unk>` row, which is the model's guess for unseen ones.

open: a word keeps its pretrained vector whenever the source has one, however rare it
    was in train; `min_count` cuts only words the source does not know (they would get a
    random row, which a handful of examples cannot train). Words never seen in train are
    added from an *open list* of the `open_size` most frequent words the source knows:
    - vector files and GloVe Twitter: the file's own first words (GloVe and word2vec
      releases are sorted most frequent first);
    - subword sources (minilm, minilm-static, wordllama, fasttext), which can give any
      word a vector: the most frequent English words of `wordfreq` (word frequencies
      pooled over Wikipedia, subtitles, news, books, web text, Twitter and Reddit).
      Their vectors are computed now, as for training words, and stored in the
      embedding table, so the SavedModel still serves with a plain lookup (no
      tensorflow-text WordPiece op, no slower serving).
    - word2vec is trained on the training split and knows nothing beyond it, and
      `random` knows nothing at all: for them open adds no word.
    Only list words that the run's own normaliser emits unchanged as one token are
    taken: "don't" (-> "do not") or "2012" (-> "<number>") could never be looked up.
    Dev and test texts are never read, so nothing leaks from them.

Ids: training words first, most frequent first (ties alphabetical), as
`WordTokenizer.fit` orders them, then open-list words in the list's order.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf

from emotag.embeddings import sources
from emotag.embeddings.sources import EmbeddingResult, build_embedding_matrix
from emotag.text.preprocessing import TextNormalizer
from emotag.text.tokenizer import WordTokenizer

logger = logging.getLogger(__name__)

VOCABULARIES = ("closed", "open")
# wordfreq's 30,000th English word has Zipf frequency ~3 (once per million words): rarer
# words add table rows faster than they remove unknown tokens.
OPEN_VOCAB_SIZE = 30_000
SUBWORD_SOURCES = ("minilm", "minilm-static", "wordllama", "fasttext")
WORDFREQ_LANGUAGE = "en"  # the subword sources here are English models
WORDFREQ_LIST = "wordfreq-en"  # how embeddings.json names the list


def build_vocabulary(
    tokenizer: WordTokenizer,
    source: str,
    vocabulary: str = "closed",
    *,
    min_count: int = 2,
    open_size: int = OPEN_VOCAB_SIZE,
    normalizer: TextNormalizer | None = None,
    train_token_lists: Sequence[Sequence[str]] | None = None,
    cache_dir: str | os.PathLike = "embeddings",
    dim: int | None = None,
    seed: int = 0,
) -> tuple[WordTokenizer, EmbeddingResult]:
    """The run's tokenizer and embedding matrix for a closed or open vocabulary.

    Args:
        tokenizer: fitted on the training split with `min_count=1` (every word and count).
        source: an embedding source (`emotag.embeddings.sources.EMBEDDING_SOURCES`) or file.
        vocabulary: "closed" or "open" (module docstring).
        min_count: training words seen fewer times map to `<unk>` (closed), or do unless
            the source has a vector for them (open).
        open_size: how many of the open list's most frequent words to take (open only).
        normalizer: the run's `TextNormalizer`; open-list words must pass through it
            unchanged (required for open).
        train_token_lists: tokenized training texts, for word2vec and fasttext.
        cache_dir: where vectors are cached.
        dim: vector size (see `build_embedding_matrix`).
        seed: seed of random rows and of vectors trained here.

    Returns:
        `(tokenizer, embedding)`: a tokenizer holding the chosen words (open-list words
        have count 0) and its `EmbeddingResult`, whose `vocabulary` says how many words
        came from train and how many from the open list.
    """
    if vocabulary not in VOCABULARIES:
        raise ValueError(f"vocabulary must be one of {VOCABULARIES}, not {vocabulary!r}")
    counts = tokenizer.word_counts
    train_words = list(tokenizer.word_index)  # most frequent first
    frequent = [w for w in train_words if counts[w] >= min_count]
    options = dict(
        train_token_lists=train_token_lists, cache_dir=cache_dir, dim=dim, seed=seed
    )  # fmt: skip
    if vocabulary == "closed" or source == "random":
        chosen = word_tokenizer(frequent, counts, tokenizer.max_len)
        embedding = build_embedding_matrix(
            chosen.word_index, source, word_counts=chosen.word_counts, **options
        )
        embedding.vocabulary = vocabulary_record(vocabulary, min_count, len(frequent))
        return chosen, embedding
    if normalizer is None:
        raise ValueError("an open vocabulary needs the run's normalizer")

    kv = sources.pretrained_keyed_vectors(source, cache_dir)
    loaded: dict = {}  # a stack's vector file read for its list, reused for its vectors
    list_name, ranked = open_list(source, kv, cache_dir=cache_dir, loaded=loaded)
    seen = set(train_words)
    extra = [w for w in first_tokens(ranked, open_size, normalizer) if w not in seen]
    candidates = train_words + extra
    if kv is not None:
        vectors, found = sources.lookup_keyed_vectors(kv, candidates)
    else:
        vectors, found = sources.word_vectors(candidates, source, loaded=loaded, **options)
    n_train = len(train_words)
    keep = found.copy()
    keep[:n_train] |= np.array([counts[w] >= min_count for w in train_words], bool)
    words = [w for w, k in zip(candidates, keep, strict=True) if k]
    chosen = word_tokenizer(words, counts, tokenizer.max_len)
    embedding = build_embedding_matrix(
        chosen.word_index, source, word_counts=chosen.word_counts,
        known_vectors=(vectors[keep], found[keep]), **options,
    )  # fmt: skip
    kept_train = int(keep[:n_train].sum())
    embedding.vocabulary = vocabulary_record(
        "open", min_count, kept_train,
        rare_train_words=kept_train - len(frequent),
        open_list=list_name, open_size=open_size, open_words=int(keep[n_train:].sum()),
    )  # fmt: skip
    logger.info("open vocabulary: %s", embedding.vocabulary)
    return chosen, embedding


def vocabulary_record(kind: str, min_count: int, train_words: int, **more) -> dict:
    """What `EmbeddingResult.vocabulary` holds (and embeddings.json shows).

    Args:
        kind: "closed" or "open".
        min_count: the run's `min_count`.
        train_words: words taken from the training split.
        **more: open-vocabulary figures: `rare_train_words` (kept below `min_count` for
            their pretrained vector), `open_list`, `open_size`, `open_words` (taken from
            the open list, not in train).
    """
    return {"kind": kind, "min_count": min_count, "train_words": train_words,
            "open_words": 0, **more}  # fmt: skip


def word_tokenizer(words: list[str], counts: dict[str, int], max_len: int) -> WordTokenizer:
    """A tokenizer over `words` in order (ids from 2); words without a count get 0."""
    return WordTokenizer(
        {w: i + 2 for i, w in enumerate(words)}, {w: counts.get(w, 0) for w in words}, max_len
    )


def open_list(
    source: str,
    kv=None,
    cache_dir: str | os.PathLike = "embeddings",
    loaded: dict | None = None,
) -> tuple[str | None, Iterable[str]]:
    """The source's words beyond train, most frequent first, and the list's name.

    Args:
        source: the embedding source.
        kv: its `KeyedVectors` for vector files (`sources.pretrained_keyed_vectors`).
        cache_dir: where a stack's parts are cached (a GloVe part is downloaded there).
        loaded: for a stack, the part whose vector file gives the list is left here,
            `{part: KeyedVectors}`, so the caller's lookup (`sources.word_vectors(...,
            loaded=loaded)`) does not read the file again.

    Returns:
        `(name, words)`; `(None, [])` for sources that know no word beyond train.
    """
    if kv is not None:
        return f"{source} (first words)", kv.index_to_key
    parts = sources.stack_parts(source)
    if parts is not None:  # a stack: the first part's list that has one
        for part in parts:
            part_kv = sources.pretrained_keyed_vectors(part, cache_dir)
            name, words = open_list(part, part_kv, cache_dir)
            if name is not None:
                if part_kv is not None and loaded is not None:
                    loaded[part] = part_kv
                return name, words
        return None, []
    if source in SUBWORD_SOURCES:
        import wordfreq  # imported here: only open vocabularies need it

        return WORDFREQ_LIST, wordfreq.iter_wordlist(WORDFREQ_LANGUAGE)
    return None, []


def first_tokens(
    words: Iterable[str], n: int, normalizer: TextNormalizer, batch_size: int = 4096
) -> list[str]:
    """The first `n` of `words` that `normalizer` leaves as one unchanged token.

    Args:
        words: candidates, in order of preference (may be a long lazy iterable).
        n: how many to return at most.
        normalizer: the run's normaliser.
        batch_size: words normalised per graph call.

    Returns:
        Up to `n` distinct words, in the order given.
    """
    kept: dict[str, None] = {}
    it = iter(words)
    while len(kept) < n:
        batch = list(itertools.islice(it, batch_size))
        if not batch:
            break
        tokens = normalizer.tokens(tf.constant(batch, tf.string)).to_list()
        for word, row in zip(batch, tokens, strict=True):
            if len(row) == 1 and row[0].decode("utf-8") == word and len(kept) < n:
                kept[word] = None
    return list(kept)


def oov_rate(token_lists: Iterable[Sequence[str]], word_index: dict[str, int]) -> float:
    """Share of tokens outside `word_index` (they reach the model as `<unk>`)."""
    counted = collections.Counter(t in word_index for tokens in token_lists for t in tokens)
    total = counted[True] + counted[False]
    return counted[False] / total if total else 0.0
