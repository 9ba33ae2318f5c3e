"""The files of batch scoring: numbered lines in, JSON Lines in input order out.

Both sides stream: a line is read in bounded memory however long it is (only its first
`MAX_LINE_BYTES` bytes are kept, more than scoring uses), and the output shards are
merged in line order without holding them in memory.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from emotag.text.inputs import MAX_TEXT_BYTES

# Bytes of a line kept; the rest is skipped unread into memory. Scoring cuts a text to
# MAX_TEXT_CHARS characters, which never take more than MAX_TEXT_BYTES bytes.
MAX_LINE_BYTES = 4 * MAX_TEXT_BYTES
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class LineError:
    """A line that cannot be scored, and why (it becomes a record with "error")."""

    message: str


def read_lines(stream, max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The "\\n"-terminated lines of a binary stream, each cut to `max_bytes` bytes.

    Unlike iterating the file, a line of gigabytes costs `max_bytes` of memory.

    Args:
        stream: a binary file object (`read(n)`).
        max_bytes: bytes of each line kept.

    Yields:
        Each line without its "\\n" (a final line without one included).
    """
    kept, skipping = b"", False
    while chunk := stream.read(_CHUNK):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if not skipping:
                kept += chunk[start : min(end, start + max_bytes - len(kept))]
            yield kept
            kept, skipping, start = b"", False, end + 1
        if not skipping:
            kept += chunk[start : start + max_bytes - len(kept)]
            skipping = len(kept) >= max_bytes
    if kept or skipping:
        yield kept


def read_numbered_lines(path: str, with_ids: bool = False) -> Iterator[tuple[tuple, object]]:
    """((line number, id), text or `LineError`) for each line of `path` (any Beam path).

    Args:
        path: the input file, one text per "\\n"-terminated line; a final "\\r" is
            dropped and invalid UTF-8 becomes U+FFFD, as `emotag predict` reads files.
        with_ids: each line is `id<TAB>text`; a line without a tab is a `LineError`.

    Yields:
        The key `(line, id)` (1-based line number; id None without `with_ids`) and the
        line's text.
    """
    with FileSystems.open(path) as stream:
        for number, raw in enumerate(read_lines(stream), start=1):
            text = raw.removesuffix(b"\r").decode("utf-8", errors="replace")
            if not with_ids:
                yield (number, None), text
            elif "\t" in text:
                line_id, text = text.split("\t", 1)
                yield (number, line_id), text
            else:
                yield (number, None), LineError("no tab: expected id<TAB>text")


_LINE_NUMBER = re.compile(r'\{"line": (\d+)[,}]')


def record_line(record: str) -> int:
    """The "line" of a JSON Lines record written by `emotag batch` (its first key)."""
    match = _LINE_NUMBER.match(record)
    return int(match.group(1)) if match else int(json.loads(record)["line"])


class _Unsorted(Exception):
    pass


def _numbered(path: Path) -> Iterator[tuple[int, str]]:
    """(line, record) of a shard, checking that its records are in line order."""
    previous = 0
    with open(path, encoding="utf-8", newline="\n") as shard:
        for record in shard:
            number = record_line(record)
            if number < previous:
                raise _Unsorted(path)
            previous = number
            yield number, record


def merge_shards(shards: Iterable[Path], output: Path) -> int:
    """Writes the records of `shards` to `output` in "line" order, streaming.

    Each shard of a local run is in line order already (one reader, order-keeping
    transforms), so a k-way merge orders them in constant memory. Should a shard not be
    (another runner), the records are sorted in memory instead.

    Args:
        shards: JSON Lines files written by the pipeline.
        output: the file to write (replaced atomically).

    Returns:
        The number of records.
    """
    shards, tmp = list(shards), output.with_name(output.name + ".merging")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            for _, record in heapq.merge(*(_numbered(s) for s in shards)):
                out.write(record)
                count += 1
    except _Unsorted:
        records = [f"{r}\n" for s in shards for r in s.read_text(encoding="utf-8").split("\n") if r]
        records.sort(key=record_line)
        tmp.write_text("".join(records), encoding="utf-8", newline="\n")
        count = len(records)
    os.replace(tmp, output)
    return count
