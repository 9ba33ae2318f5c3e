"""Embedding matrices for the tokenizer's vocabulary from pretrained or locally trained vectors.

``build_embedding_matrix(word_index, source)`` returns an ``EmbeddingResult``
whose ``matrix`` initialises a ``keras.layers.Embedding``: row ``i`` is the
vector of the word with id ``i``. Row 0 (padding) is zeros; row 1 (``<unk>``)
is the mean of the found vectors, since an unknown word is best guessed as an
average one; words the source does not know get random rows drawn with the
per-dimension mean and std of the found vectors, so they sit in the same
region of the space and do not dominate or vanish after initialisation.

Special tokens of the tokenizer are looked up through aliases. GloVe Twitter
was built from tweets whose mentions, links and numbers were replaced by
``<user>``, ``<url>`` and ``<number>``, so those map to themselves; ``[name]``
(GoEmotions' masked person names) maps to ``<user>`` because an @-mention is the
closest Twitter analogue of a masked person. Text models get plain words instead.

Sources stack: ``"minilm-static+wordllama"`` gives each word the concatenation of its
vectors from every part (Akbik et al., 2018, stacked embeddings in Flair). Each part is
rescaled so its coordinates spread as much as the first part's (sources differ tenfold in
scale, and the larger would otherwise dominate the layer that reads them), and a word one
part does not know gets that part's mean vector in its columns. The BiLSTM's serving
model folds the embedding into its input projection (one table row per word), so a wider
stacked vector costs training time, not serving speed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from emotag.embeddings import encoder_states, keyed_vectors, subword_vectors

logger = logging.getLogger(__name__)

EMBEDDING_SOURCES: dict[str, str] = {
    "random": "no pretrained vectors: uniform(-0.05, 0.05) like Keras' default (dim default 100)",
    "glove-twitter-25": "GloVe trained on 2B tweets, 25-d (downloads a 1.5 GB archive once)",
    "glove-twitter-50": "GloVe Twitter, 50-d",
    "glove-twitter-100": "GloVe Twitter, 100-d",
    "glove-twitter-200": "GloVe Twitter, 200-d",
    "minilm": "all-MiniLM-L6-v2 encoder run on each word alone, pieces mean-pooled (384-d)",
    "minilm-static": "mean of all-MiniLM-L6-v2 WordPiece input embeddings (384-d)",
    "wordllama": "mean of WordLlama l2_supercat token embeddings (256-d)",
    "word2vec": "gensim skip-gram word2vec trained on the training texts (dim default 100)",
    "fasttext": "gensim fastText on the training texts; char n-grams give every word a vector",
}
"""Named sources; ``encoder:RUN`` pools a fine-tuned encoder run's states over the
training texts (``emotag.embeddings.encoder_states``); any other ``source`` is read as a
path to a vector file (GloVe text, word2vec text or binary, or gensim ``.kv``)."""

TRAINED_HERE = ("word2vec", "fasttext")  # sources computed from the training texts


def needs_train_texts(source: str) -> bool:
    """True when the source (or a part of a stack) is computed from the training texts."""
    parts = stack_parts(source) or [source]
    return any(p in TRAINED_HERE or encoder_states.is_encoder_source(p) for p in parts)


STACK_SEPARATOR = "+"
PAD_ID, UNK_ID = 0, 1
DEFAULT_TRAINED_DIM = 100
RANDOM_INIT_SCALE = 0.05  # keras.layers.Embedding's default uniform range

# Candidates tried in order after the word itself, for vector files.
KEYED_VECTOR_ALIASES: dict[str, tuple[str, ...]] = {
    "[name]": ("<user>", "person"),
    "[religion]": ("religion",),
    "<user>": ("user",),
    "<url>": ("url", "link"),
    "<number>": ("number",),
}
# Text handed to subword models in place of a special token.
TEXT_ALIASES: dict[str, str] = {
    "[name]": "person",
    "[religion]": "religion",
    "<user>": "user",
    "<url>": "link",
    "<number>": "number",
    "<hashtag>": "hashtag",  # tweet preprocessing (GloVe Twitter has both tokens itself)
    "<repeat>": "repeated",
}


@dataclasses.dataclass
class EmbeddingResult:
    """An embedding matrix and how much of the vocabulary the source covered."""

    matrix: np.ndarray  # (vocab_size, dim) float32; row 0 zeros for padding
    source: str  # source name or vector file path
    dim: int  # columns of matrix
    vocab_coverage: float  # share of words (ids >= 2) with a source vector
    token_coverage: float | None  # share of training tokens (by word_counts) with one
    n_found: int  # words with a source vector
    n_words: int  # words with ids >= 2
    top_misses: list[str] = dataclasses.field(default_factory=list)  # most frequent first
    # where the words came from: train or the open list (emotag.embeddings.vocabulary)
    vocabulary: dict | None = None

    def summary(self) -> dict:
        """JSON-ready description without the matrix, for run configs and logs.

        Returns:
            Dict of the scalar fields plus ``vocab_size`` and ``top_misses``.
        """
        fields = dataclasses.asdict(self)
        fields.pop("matrix")
        fields["vocab_size"] = int(self.matrix.shape[0])
        return fields


def build_embedding_matrix(
    word_index: Mapping[str, int],
    source: str,
    *,
    word_counts: Mapping[str, int] | None = None,
    train_token_lists: Sequence[Sequence[str]] | None = None,
    cache_dir: str | os.PathLike = "embeddings",
    dim: int | None = None,
    seed: int = 0,
    vocab_size: int | None = None,
    known_vectors: tuple[np.ndarray, np.ndarray] | None = None,
) -> EmbeddingResult:
    """Build the embedding matrix for a vocabulary from one source.

    Args:
        word_index: Word -> id, with 0 padding and 1 ``<unk>``; ids >= 2 are words.
        source: A key of ``EMBEDDING_SOURCES``, a path to a vector file, or several
            of them joined by ``+`` (stacked; module docstring).
        word_counts: Training counts per word, for ``token_coverage`` and for
            ranking ``top_misses``; None leaves ``token_coverage`` None.
        train_token_lists: Tokenized training texts; required by ``"word2vec"``
            and ``"fasttext"``.
        cache_dir: Where downloads, conversions and computed vectors are kept.
        dim: Vector size for ``"random"``, ``"word2vec"`` and ``"fasttext"``; for
            pretrained sources a smaller dim reduces the found vectors by PCA. In a
            stack it sizes the parts trained here only (no PCA).
        seed: Seed for random rows, random init and gensim training.
        vocab_size: Number of rows; default ``max(word_index.values()) + 1``.
            Words with larger ids are left out.
        known_vectors: The source's ``(vectors, found)`` for the words in id order, as
            ``word_vectors`` returns them, when the caller has looked them up already.

    Returns:
        An ``EmbeddingResult``. For ``"random"`` every row is random and the
        coverage numbers are 0 (``n_found`` 0), so callers need no special case.
    """
    if vocab_size is None:
        vocab_size = max(word_index.values(), default=UNK_ID) + 1
    entries = sorted((i, w) for w, i in word_index.items() if UNK_ID < i < vocab_size)
    ids = np.array([i for i, _ in entries], dtype=np.int64)
    words = [w for _, w in entries]
    rng = np.random.default_rng(seed)

    if source == "random":
        width = dim or DEFAULT_TRAINED_DIM
        matrix = rng.uniform(-RANDOM_INIT_SCALE, RANDOM_INIT_SCALE, (vocab_size, width))
        matrix[PAD_ID] = 0.0
        found = np.zeros(len(words), bool)
        return _result(matrix.astype(np.float32), source, words, found, word_index, word_counts)

    if known_vectors is None:
        known_vectors = _source_vectors(words, source, train_token_lists, cache_dir, dim, seed)
    vectors, found = known_vectors
    found_vectors = vectors[found]
    if dim is not None and dim != vectors.shape[1] and stack_parts(source) is None:
        found_vectors = _pca(found_vectors, dim)
    width = found_vectors.shape[1]
    if len(found_vectors):
        mean, std = found_vectors.mean(axis=0), found_vectors.std(axis=0)
    else:
        mean, std = np.zeros(width), np.full(width, RANDOM_INIT_SCALE)
    matrix = rng.normal(mean, std, (vocab_size, width)).astype(np.float32)
    matrix[ids[found]] = found_vectors
    matrix[UNK_ID] = mean
    matrix[PAD_ID] = 0.0
    result = _result(matrix, source, words, found, word_index, word_counts)
    logger.info(
        "%s: converted %d words (%d misses); token coverage %s",
        source,
        result.n_found,
        result.n_words - result.n_found,
        "n/a" if result.token_coverage is None else f"{result.token_coverage:.2%}",
    )
    return result


def word_vectors(
    words: Sequence[str],
    source: str,
    *,
    cache_dir: str | os.PathLike = "embeddings",
    train_token_lists: Sequence[Sequence[str]] | None = None,
    seed: int = 0,
    dim: int | None = None,
    loaded: Mapping[str, object] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The source's own vectors for ``words``, without PCA or filling of misses.

    For uses other than an embedding matrix, e.g. nearest-neighbour word substitution
    (``emotag.augment.offline``), or for choosing the words of one
    (``emotag.embeddings.vocabulary``). ``dim`` is the size of vectors trained here
    (word2vec, fastText); other sources ignore it. ``loaded`` maps a vector file or
    GloVe source (alone or a stack's part) to its ``KeyedVectors`` already in memory,
    which are used instead of reading it again.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), dim)`` (zeros where not found)
        and bool ``(len(words),)``.
    """
    if source == "random":
        raise ValueError("the 'random' source has no word vectors")
    return _source_vectors(list(words), source, train_token_lists, cache_dir, dim, seed, loaded)


def stack_parts(source: str) -> list[str] | None:
    """The parts of a stacked source (``"minilm-static+wordllama"``), None for one source.

    A path that exists is one file even when its name holds a ``+``; in a stack such a
    file would be split, so link it under another name to stack it.

    Raises:
        ValueError: for an empty part, a repeated part, or ``random`` in a stack (random
            rows carry no information to stack; train them alone).
    """
    if STACK_SEPARATOR not in source or source in EMBEDDING_SOURCES or Path(source).exists():
        return None
    parts = source.split(STACK_SEPARATOR)
    if not all(parts):
        raise ValueError(f"stacked embedding source {source!r} has an empty part")
    if len(set(parts)) < len(parts):
        raise ValueError(f"stacked embedding source {source!r} repeats a part")
    if "random" in parts:
        raise ValueError(f"'random' cannot be stacked ({source!r}): use it alone")
    return parts


def _stacked_vectors(words, parts, train_token_lists, cache_dir, dim, seed, loaded=None):
    """``(vectors, found)`` of a stack: the parts' rescaled, mean-filled vectors side by side.

    ``found`` is True where any part knows the word. Part ``k`` is multiplied by
    ``spread_0 / spread_k``, a spread being the mean per-coordinate standard deviation of
    the part's found vectors (the first part that finds any word sets ``spread_0``).
    """
    blocks, founds, reference = [], [], None
    for part in parts:
        try:
            vectors, found = _source_vectors(
                words, part, train_token_lists, cache_dir, dim, seed, loaded
            )
        except ValueError as error:
            raise ValueError(
                f"{error} (a part of the stacked source {STACK_SEPARATOR.join(parts)!r}, "
                f"which splits at every {STACK_SEPARATOR!r})"
            ) from error
        if found.any():
            known = vectors[found]
            spread = float(known.std(axis=0).mean())
            vectors = np.where(found[:, None], vectors, known.mean(axis=0))
        else:
            spread = 0.0
        reference = reference or spread or None
        scale = reference / spread if reference and spread else 1.0
        logger.info("stacked %s: %d of %d words, scaled by %.4g", part, found.sum(), len(words),
                    scale)  # fmt: skip
        blocks.append(vectors * scale)
        founds.append(found)
    return np.hstack(blocks).astype(np.float32), np.logical_or.reduce(founds)


def _source_vectors(words, source, train_token_lists, cache_dir, dim, seed, loaded=None):
    """``(vectors, found)`` rows for ``words`` from one source, before PCA and filling.

    ``loaded``: ``{source: KeyedVectors}`` already read (``word_vectors``)."""
    parts = stack_parts(source)
    if parts is not None:
        return _stacked_vectors(words, parts, train_token_lists, cache_dir, dim, seed, loaded)
    if source in ("minilm", "minilm-static"):
        variant = "static" if source == "minilm-static" else "contextual"
        texts = [TEXT_ALIASES.get(w, w) for w in words]
        return subword_vectors.minilm_word_vectors(texts, variant=variant, cache_dir=cache_dir)
    if source == "wordllama":
        texts = [TEXT_ALIASES.get(w, w) for w in words]
        return subword_vectors.wordllama_word_vectors(texts, cache_dir=cache_dir)
    if needs_train_texts(source) and train_token_lists is None:
        raise ValueError(f"source {source!r} needs train_token_lists (training split only)")
    if encoder_states.is_encoder_source(source):
        return encoder_states.encoder_word_vectors(
            source[len(encoder_states.PREFIX) :],
            words,
            train_token_lists,
            aliases=TEXT_ALIASES,
            cache_dir=cache_dir,
        )
    if source in TRAINED_HERE:
        kv = keyed_vectors.train_gensim_vectors(
            train_token_lists,
            source,
            dim=dim or DEFAULT_TRAINED_DIM,
            seed=seed,
            cache_dir=cache_dir,
        )
        return lookup_keyed_vectors(kv, words)
    kv = (loaded or {}).get(source)
    if kv is None:
        kv = pretrained_keyed_vectors(source, cache_dir)
    if kv is None:
        raise ValueError(
            f"unknown embedding source {source!r}: use one of {sorted(EMBEDDING_SOURCES)} "
            "or the path of an existing vector file"
        )
    return lookup_keyed_vectors(kv, words)


def pretrained_keyed_vectors(source: str, cache_dir: str | os.PathLike = "embeddings"):
    """The whole-word vectors of a GloVe Twitter source or vector file, else None.

    Returns:
        gensim ``KeyedVectors`` (keys in file order, which for GloVe and word2vec
        releases is most frequent first), or None for the other named sources.
    """
    if source.startswith("glove-twitter-") and source in EMBEDDING_SOURCES:
        path = keyed_vectors.ensure_glove_twitter(int(source.rsplit("-", 1)[1]), cache_dir)
        return keyed_vectors.load_keyed_vectors(path)
    if source not in EMBEDDING_SOURCES and Path(source).is_file():
        return keyed_vectors.load_keyed_vectors(source)
    return None


def lookup_keyed_vectors(
    kv, words: Sequence[str], aliases: Mapping[str, Sequence[str]] = KEYED_VECTOR_ALIASES
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``kv`` for ``words``, trying each word and then its aliases.

    Args:
        kv: gensim ``KeyedVectors`` (fastText ones also answer for unseen words
            that share character n-grams with the training vocabulary).
        words: Words to look up.
        aliases: Extra keys to try per word, in order.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), kv.vector_size)``, zeros
        where not found, and bool ``(len(words),)``.
    """
    vectors = np.zeros((len(words), kv.vector_size), np.float32)
    found = np.zeros(len(words), bool)
    for row, word in enumerate(words):
        for key in (word, *aliases.get(word, ())):
            if key in kv:
                vectors[row] = kv[key]
                found[row] = True
                break
    return vectors, found


def _pca(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Project onto the top ``dim`` principal components (centred; fit on these rows)."""
    if dim > vectors.shape[1]:
        raise ValueError(f"dim {dim} exceeds the source's {vectors.shape[1]} dimensions")
    if len(vectors) < dim:
        raise ValueError(f"PCA to {dim} dims needs at least {dim} found words, got {len(vectors)}")
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)  # (d, d) rows = directions
    return (centred @ components[:dim].T).astype(np.float32)


def _result(matrix, source, words, found, word_index, word_counts) -> EmbeddingResult:
    """Coverage statistics for ``found`` wrapped with the matrix."""
    n_words, n_found = len(words), int(found.sum())
    token_coverage = None
    misses = [w for w, f in zip(words, found, strict=True) if not f]
    if word_counts is not None:
        # Tokens of words outside the matrix (e.g. cut by vocab_size) count as
        # not covered: they reach the model as <unk> either way.
        counted = {w: c for w, c in word_counts.items() if word_index.get(w, 2) > UNK_ID}
        total = sum(counted.values())
        hit = sum(counted.get(w, 0) for w, f in zip(words, found, strict=True) if f)
        token_coverage = hit / total if total else 0.0
        misses.sort(key=lambda w: -word_counts.get(w, 0))  # stable: ties keep id order
    return EmbeddingResult(
        matrix=matrix,
        source=str(source),
        dim=int(matrix.shape[1]),
        vocab_coverage=n_found / n_words if n_words else 0.0,
        token_coverage=token_coverage,
        n_found=n_found,
        n_words=n_words,
        top_misses=misses[:20],
    )
