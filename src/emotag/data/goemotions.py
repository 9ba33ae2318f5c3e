"""Locate, download and parse the GoEmotions splits into multi-hot label matrices.

Label metadata (names and coarse taxonomies) lives in `emotag.data.taxonomy`; its public names are
re-exported here so callers can import everything data-related from one place.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotag.data.downloads import DownloadError, download_file, sha256_of
from emotag.data.taxonomy import (
    NEUTRAL,
    TAXONOMIES,
    load_label_names,
    taxonomy_labels,
    taxonomy_matrix,
)
from emotag.data.textfile import DataFormatError, read_text

__all__ = [
    "GOEMOTIONS_ENV",
    "NEUTRAL",
    "REQUIRED_FILES",
    "SHA256",
    "SPLITS",
    "TAXONOMIES",
    "UPSTREAM_BASE_URL",
    "UPSTREAM_FILES",
    "DataFormatError",
    "Dataset",
    "GoEmotions",
    "Split",
    "download_goemotions",
    "load_goemotions",
    "load_label_names",
    "read_split",
    "resolve_data_dir",
    "taxonomy_labels",
    "taxonomy_matrix",
]

logger = logging.getLogger(__name__)

GOEMOTIONS_ENV = "GOEMOTIONS_DIR"
UPSTREAM_BASE_URL = (
    "https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data/"
)
DEFAULT_CACHE_DIR = Path("~/.cache/emotag/goemotions")
SPLITS = ("train", "dev", "test")
# Checksums published with the shared copy; upstream lists none for the small metadata files.
SHA256 = {
    "train.tsv": "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
    "dev.tsv": "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
    "test.tsv": "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
}
# What load_goemotions(taxonomy="fine") needs; the mapping files are only read for coarse ones.
REQUIRED_FILES = ("train.tsv", "dev.tsv", "test.tsv", "emotions.txt")
UPSTREAM_FILES = (*REQUIRED_FILES, "ekman_mapping.json", "sentiment_dict.json")
# The shared copy renames sentiment_dict.json; writing both names keeps either layout working.
_ALIASES = {"sentiment_dict.json": "sentiment_mapping.json"}
_LABEL_ID = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Split:
    """One parsed split.

    Args:
        texts: Comment texts, exactly as in the file.
        labels: Multi-hot labels, float32 of shape `(n, n_labels)`.
        ids: Reddit comment ids.
    """

    texts: list[str]
    labels: np.ndarray  # (n, n_labels) float32 multi-hot
    ids: list[str]


@dataclass
class Dataset:
    """The three splits of a dataset, labelled with one label set.

    Args:
        train: Training split.
        dev: Development split.
        test: Test split.
        label_names: Names of the label columns of every split.
        taxonomy: For GoEmotions one of `TAXONOMIES`; for other datasets their name.
        name: The dataset (`emotag.data.datasets.DATASETS`): "goemotions", "semeval-ec", "csv".
        excluded_ids: The ids `--exclude-ids` listed, as read when train was cut (None
            without the flag); a run keeps these, not what the file says later.
    """

    train: Split
    dev: Split
    test: Split
    label_names: list[str]
    taxonomy: str
    name: str = "goemotions"
    excluded_ids: frozenset[str] | None = None


# The container's first name, from when GoEmotions was the only dataset; kept for callers.
GoEmotions = Dataset


def _missing(directory: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not (directory / name).is_file()]


def _cache_complete(directory: Path) -> bool:
    # A cache is only trusted once everything a download writes is there, so an interrupted
    # download gets resumed rather than half-used.
    return not _missing(directory, UPSTREAM_FILES)


def download_goemotions(
    dest: str | Path, base_url: str = UPSTREAM_BASE_URL, timeout: float = 60
) -> Path:
    """Download the GoEmotions splits and label metadata into `dest`.

    Files already present with the expected sha256 (or, for the unhashed metadata files,
    present at all) are skipped. Each file goes through `emotag.data.downloads.download_file`:
    bytes land in `<name>.part`, an interrupted download resumes from there on the next
    call, and only a complete, verified file is renamed into place.

    Args:
        dest: Target directory (created if needed).
        base_url: HTTP(S) URL prefix of the upstream files.
        timeout: Socket timeout in seconds per request.

    Returns:
        `dest` as a `Path`.

    Raises:
        DownloadError: If a downloaded TSV does not match its sha256 (the file is removed).
        OSError: If a file cannot be fetched (`requests` errors are OSErrors).
    """
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    base_url = base_url.rstrip("/") + "/"
    for name in UPSTREAM_FILES:
        target = dest / name
        expected = SHA256.get(name)
        if target.is_file():
            if expected is None or sha256_of(target) == expected:
                logger.debug("%s already present, skipping", target)
                continue
            logger.warning("%s has the wrong sha256; downloading it again", target)
            target.unlink()
        if expected is None:
            logger.info("downloading %s (no published sha256, not verified)", name)
        else:
            logger.info("downloading %s", name)
        download_file(base_url + name, target, sha256=expected, timeout=timeout)
    for name, alias in _ALIASES.items():
        if not (dest / alias).is_file():
            shutil.copyfile(dest / name, dest / alias)
    return dest


def resolve_data_dir(
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
) -> Path:
    """Find the GoEmotions directory, downloading it into the cache as a last resort.

    Order: the `data_dir` argument; else the `GOEMOTIONS_DIR` environment variable; else the
    cache directory if it holds a complete copy; else a download into the cache. The
    environment variable is read here on purpose: it is this function's documented input,
    letting offline machines point at a shared copy without code changes.

    Args:
        data_dir: Explicit directory; must hold `REQUIRED_FILES`.
        cache_dir: Cache directory; defaults to `~/.cache/emotag/goemotions`.
        download: Whether to download into the cache when nothing else is found.

    Returns:
        The directory holding the data files.

    Raises:
        FileNotFoundError: If an explicit or environment directory lacks files, or nothing is
            found and `download` is False.
        DownloadError: If the download fails (what failed, and how to go on, in the message).
    """
    if data_dir is not None:
        return _checked_dir(Path(data_dir).expanduser(), "data_dir argument")
    env_dir = os.environ.get(GOEMOTIONS_ENV)
    if env_dir:
        return _checked_dir(Path(env_dir).expanduser(), f"${GOEMOTIONS_ENV}")
    cache = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).expanduser()
    if _cache_complete(cache):
        logger.info("using cached GoEmotions in %s", cache)
        return cache
    if not download:
        raise FileNotFoundError(
            "GoEmotions data not found; tried: data_dir argument (not given), "
            f"${GOEMOTIONS_ENV} (not set), cache {cache} (missing "
            f"{', '.join(_missing(cache, UPSTREAM_FILES))}); download disabled"
        )
    logger.info("GoEmotions not found locally; downloading into %s", cache)
    try:
        return download_goemotions(cache)
    except OSError as err:  # no connection, an HTTP error status, a failed checksum
        raise DownloadError(
            f"GoEmotions is not in {cache} and downloading it from {UPSTREAM_BASE_URL} "
            f"failed ({err}). Run again to resume (finished files are kept), or point "
            f"--data-dir or ${GOEMOTIONS_ENV} at a copy of the data"
        ) from err


def _checked_dir(directory: Path, source: str) -> Path:
    missing = _missing(directory, REQUIRED_FILES)
    if missing:
        raise FileNotFoundError(
            f"GoEmotions directory {directory} (from {source}) is missing: {', '.join(missing)}"
        )
    return directory


def _parse_row(line: str, n_labels: int) -> tuple[str, list[int], str]:
    """Split one TSV line into text, label ids and comment id; raise ValueError if malformed."""
    fields = line.split("\t")
    if len(fields) != 3:
        raise ValueError(f"expected 3 tab-separated fields, found {len(fields)}")
    text, label_field, comment_id = fields
    if not text.strip():
        raise ValueError("empty text")
    if not label_field:
        raise ValueError("empty label field")
    if not comment_id:
        raise ValueError("empty comment id")
    ids = []
    for token in label_field.split(","):
        # Stricter than int(): rejects " 3", "3.0" and non-ASCII digits.
        if not _LABEL_ID.fullmatch(token):
            raise ValueError(f"label id {token!r} is not an integer")
        label = int(token)
        if not 0 <= label < n_labels:
            raise ValueError(f"label id {label} out of range [0, {n_labels})")
        ids.append(label)
    return text, ids, comment_id


def read_split(path: str | Path, n_labels: int) -> Split:
    """Parse a GoEmotions TSV (`text<TAB>comma-separated ids<TAB>comment id`, no header).

    Lines are split on tabs rather than read as CSV because texts contain quotes. Only the line
    terminator is stripped; texts keep their surrounding whitespace.

    Args:
        path: The TSV file.
        n_labels: Number of labels; ids must lie in `[0, n_labels)`.

    Returns:
        The parsed `Split`.

    Raises:
        DataFormatError: On a malformed row, naming the file and 1-based line number.
    """
    path = Path(path)
    texts, ids, rows = [], [], []
    # newline="\n" so that a stray "\r" or U+2028 inside a text does not split the row.
    with io.StringIO(read_text(path, strip_bom=False), newline="\n") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.removesuffix("\n").removesuffix("\r")
            try:
                text, label_ids, comment_id = _parse_row(line, n_labels)
            except ValueError as err:
                raise DataFormatError(f"{path}:{lineno}: {err}") from None
            texts.append(text)
            ids.append(comment_id)
            rows.append(label_ids)
    labels = np.zeros((len(rows), n_labels), dtype=np.float32)
    for i, label_ids in enumerate(rows):
        labels[i, label_ids] = 1.0
    logger.debug("read %d rows from %s", len(texts), path)
    return Split(texts=texts, labels=labels, ids=ids)


def load_goemotions(
    data_dir: str | Path | None = None,
    taxonomy: str = "fine",
    cache_dir: str | Path | None = None,
    download: bool = True,
) -> GoEmotions:
    """Load the train/dev/test splits labelled in the requested taxonomy.

    Args:
        data_dir: Explicit data directory; see `resolve_data_dir` for the fallbacks.
        taxonomy: One of `TAXONOMIES`; coarse labels are derived from the fine ones.
        cache_dir: Cache directory for downloads.
        download: Whether downloading is allowed.

    Returns:
        A `GoEmotions` whose splits' label columns follow `label_names`.
    """
    if taxonomy not in TAXONOMIES:
        raise ValueError(f"unknown taxonomy {taxonomy!r}; expected one of {TAXONOMIES}")
    directory = resolve_data_dir(data_dir, cache_dir=cache_dir, download=download)
    fine_labels = load_label_names(directory)
    matrix = taxonomy_matrix(fine_labels, taxonomy, directory)  # (n_fine, n_target)
    splits = {}
    for name in SPLITS:
        fine = read_split(directory / f"{name}.tsv", len(fine_labels))
        labels = (fine.labels @ matrix > 0).astype(np.float32)  # (n, n_target)
        splits[name] = Split(texts=fine.texts, labels=labels, ids=fine.ids)
        logger.info(
            "%s: %d examples, %d %s labels", name, len(fine.texts), labels.shape[1], taxonomy
        )
        if not fine.texts:  # an empty dev split would calibrate on nothing
            raise DataFormatError(f"{directory / f'{name}.tsv'}: no examples")
    return GoEmotions(**splits, label_names=taxonomy_labels(taxonomy, directory), taxonomy=taxonomy)
