"""Disk cache for word vectors computed for one exact word list.

Computing contextual MiniLM vectors for a 25k-word vocabulary takes minutes;
reading them back takes milliseconds. A cache entry is two files named by a
hash of the words (in order), the settings and the model identity:
``<prefix>-<hash>.npy`` with the vectors and ``<prefix>-<hash>.json`` with the
words, the found mask and the settings, so an entry can be inspected and a
hash collision or stale file is detected instead of silently used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def words_digest(words: Sequence[str], settings: str = "") -> str:
    """Short stable hash of a word list (order matters) plus a settings string.

    Args:
        words: The words.
        settings: Anything else the vectors depend on (variant, model files).

    Returns:
        16 hex characters.
    """
    digest = hashlib.sha256(settings.encode())
    digest.update(json.dumps(list(words), ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def cached_word_vectors(
    cache_dir: str | os.PathLike | None,
    prefix: str,
    words: Sequence[str],
    settings: str,
    compute: Callable[[], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Return cached ``(vectors, found)`` for ``words`` or compute and store them.

    Args:
        cache_dir: Cache directory, or None to always compute.
        prefix: File-name prefix naming the source, e.g. ``"minilm-contextual"``.
        words: The words the rows belong to.
        settings: String identifying everything else the vectors depend on.
        compute: Called on a cache miss; returns ``(vectors, found)``.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), dim)`` and bool ``(len(words),)``.
    """
    if cache_dir is None:
        return compute()
    cache_dir = Path(cache_dir)
    stem = cache_dir / f"{prefix}-{words_digest(words, settings)}"
    npy, meta_path = stem.with_suffix(".npy"), stem.with_suffix(".json")
    if npy.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta["words"] == list(words) and meta["settings"] == settings:
            logger.info("loaded cached %s vectors from %s", prefix, npy)
            return np.load(npy), np.array(meta["found"], dtype=bool)
        logger.warning("cache entry %s does not match its words; recomputing", stem)

    vectors, found = compute()
    vectors = np.asarray(vectors, dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write to temporary names first so an interrupted run leaves no half entry.
    tmp_npy = stem.with_name(stem.name + ".tmp.npy")
    np.save(tmp_npy, vectors)
    meta = {
        "settings": settings,
        "words": list(words),
        "found": found.tolist(),
        "dim": int(vectors.shape[1]) if vectors.ndim == 2 else 0,
    }
    tmp_meta = stem.with_name(stem.name + ".tmp.json")
    tmp_meta.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_npy, npy)
    os.replace(tmp_meta, meta_path)
    return vectors, found
