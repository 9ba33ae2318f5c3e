"""Resumable, verified HTTP downloads for large pretrained files.

The GloVe Twitter archive is 1.5 GB served from a university web server; a
dropped connection should cost the bytes not yet fetched, not the whole file.
Bytes accumulate in ``<dest>.part`` and a ``Range: bytes=N-`` request continues
from there; only a complete, verified file is renamed to ``dest``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import requests

logger = logging.getLogger(__name__)

# Errors after which a later request can sensibly resume from the .part file.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class DownloadError(OSError):
    """A download failed: no connection after every retry, or not the expected file.

    An `OSError`, like the `requests` errors it may wrap, so one `except OSError` covers
    every way a file can fail to arrive."""


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so large files need little memory.

    Args:
        path: File to hash.
        chunk: Bytes read per step.

    Returns:
        The lowercase hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    chunk: int = 1 << 20,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download.

    Bytes are appended to ``dest.part``. If that file exists, the request asks
    for the remaining bytes with an HTTP ``Range`` header; a server that ignores
    the header (status 200 instead of 206) gets the download restarted from
    zero. After the last byte the size and/or SHA-256 are checked and the file
    is atomically renamed to ``dest``, so ``dest`` only ever holds a complete
    file. Dropped connections are retried ``retries`` times, each resuming, after
    waiting ``backoff`` seconds, then twice as long before each next retry.

    Args:
        url: HTTP(S) address of the file.
        dest: Final path of the file; parent directories are created.
        expected_size: Size in bytes the file must have, if known. Also lets a
            complete ``.part`` file be finished without a request.
        sha256: Hex SHA-256 the file must have, if known.
        chunk: Bytes read from the connection and written per step.
        timeout: Seconds to wait for the server to connect or send data.
        retries: Extra attempts after a connection error or short read.
        backoff: Seconds before the first retry (doubled for each next one; 0 = at once).

    Returns:
        ``dest`` as a ``Path``.

    Raises:
        DownloadError: The server announces a size other than ``expected_size``
            (nothing is transferred), the finished file has the wrong size or
            checksum (the bad ``.part`` file is deleted), or it stayed short or
            unreachable after all retries (the message names the last error; a
            ``.part`` file is kept for a later resume).
        requests.HTTPError: The server answered with an error status.
    """
    dest = Path(dest)
    if dest.exists():
        if expected_size is None or dest.stat().st_size == expected_size:
            return dest
        logger.warning(
            "%s has %d bytes, expected %d; downloading again",
            dest,
            dest.stat().st_size,
            expected_size,
        )
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")

    for attempt in range(retries + 1):
        try:
            total = _fetch_into(url, part, expected_size, chunk, timeout)
        except _TRANSIENT_ERRORS as err:
            if attempt == retries:
                kept = f"; run again to resume from {part}" if part.exists() else ""
                raise DownloadError(
                    f"{url}: no complete answer in {retries + 1} attempts, the last: "
                    f"{type(err).__name__}: {err}{kept}"
                ) from err
            wait = backoff * 2**attempt
            logger.warning("download interrupted (%s); retry %d of %d in %.0f s",
                           err, attempt + 1, retries, wait)  # fmt: skip
            time.sleep(wait)
            continue
        size = part.stat().st_size
        if total is not None and size < total:
            # The server closed the stream early without an error: resume.
            if attempt == retries:
                raise DownloadError(
                    f"{url}: got {size} of {total} bytes; run again to resume from {part}"
                )
            wait = backoff * 2**attempt
            logger.warning("short read (%d of %d bytes); resuming in %.0f s", size, total, wait)
            time.sleep(wait)
            continue
        break

    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink()
        raise DownloadError(f"{url}: downloaded {size} bytes, expected {expected_size}")
    if sha256 is not None:
        actual = sha256_of(part, chunk)
        if actual != sha256.lower():
            part.unlink()
            raise DownloadError(f"{url}: sha256 {actual} does not match expected {sha256}")
    os.replace(part, dest)
    logger.info("downloaded %s (%d bytes)", dest, size)
    return dest


def _fetch_into(
    url: str, part: Path, expected_size: int | None, chunk: int, timeout: float
) -> int | None:
    """One request that appends to ``part``; returns the total size if the server said."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        logger.warning("%s is larger than the expected file; starting over", part)
        part.unlink()
        offset = 0
    if expected_size is not None and offset == expected_size:
        return expected_size  # an earlier run got every byte but stopped before the rename

    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416 and offset:
            # "Range not satisfiable": the .part already holds the whole file
            # (the server reports its size as "bytes */SIZE").
            total = _total_from_content_range(response.headers.get("Content-Range"))
            if total == offset:
                return total
            logger.warning("server rejected resume at byte %d; starting over", offset)
            part.unlink()
            return _fetch_into(url, part, expected_size, chunk, timeout)
        response.raise_for_status()

        if offset and response.status_code != 206:
            logger.warning("server ignored the Range header; restarting from byte 0")
            offset = 0
        if response.status_code == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                # Appending bytes from another offset would corrupt the file silently.
                raise DownloadError(f"{url}: asked for byte {offset}- but got {content_range!r}")
            total = _total_from_content_range(content_range)
        else:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        if total is None and response.headers.get("Content-Length") is not None:
            total = offset + int(response.headers["Content-Length"])
        if expected_size is not None and total is not None and total != expected_size:
            # Fail before transferring gigabytes that the size check would reject.
            raise DownloadError(
                f"{url}: server reports {total} bytes, expected {expected_size}; if the file "
                "changed upstream, pass expected_size=None"
            )
        if offset:
            logger.info("resuming %s at byte %d", url, offset)

        # Imported here: reading data already on disk shows no bar, and tqdm.auto warns at
        # import in a notebook kernel without ipywidgets.
        from tqdm.auto import tqdm

        mode = "ab" if offset else "wb"
        with (
            open(part, mode) as f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
            ) as bar,
        ):
            for block in response.iter_content(chunk_size=chunk):
                f.write(block)
                bar.update(len(block))
    return total


def _total_from_content_range(value: str | None) -> int | None:
    """Total size from a ``Content-Range: bytes a-b/TOTAL`` header, if stated."""
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None
