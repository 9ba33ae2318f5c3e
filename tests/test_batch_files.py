"""Batch scoring's files: lines read in bounded memory, ids, shards merged in line order."""

from __future__ import annotations

import io
import json

import pytest

from emotag.serving import batch_files
from emotag.serving.batch_files import (
    LineError,
    merge_shards,
    read_lines,
    read_numbered_lines,
    record_line,
)


@pytest.mark.parametrize("chunk", [3, 1 << 20])  # lines across chunk ends, and within one
def test_read_lines_cuts_long_lines_and_keeps_the_rest(monkeypatch, chunk):
    monkeypatch.setattr(batch_files, "_CHUNK", chunk)
    data = b"short\n" + b"x" * 50 + b"\n\nlast without newline"
    lines = list(read_lines(io.BytesIO(data), max_bytes=10))
    assert lines == [b"short", b"x" * 10, b"", b"last witho"]
    assert list(read_lines(io.BytesIO(b"a\n\n"), max_bytes=10)) == [b"a", b""]
    assert list(read_lines(io.BytesIO(b""), max_bytes=10)) == []
    assert list(read_lines(io.BytesIO(b"x" * 10 + b"\ny"), max_bytes=10)) == [b"x" * 10, b"y"]


def test_read_numbered_lines_with_ids(tmp_path):
    source = tmp_path / "in.tsv"
    source.write_bytes(b"a1\thello\r\nno tab\nb2\tbad \xff utf8\tand a tab\n\tno id\n")
    got = list(read_numbered_lines(str(source), with_ids=True))
    assert got == [
        ((1, "a1"), "hello"),
        ((2, None), LineError("no tab: expected id<TAB>text")),
        ((3, "b2"), "bad \ufffd utf8\tand a tab"),  # only the first tab splits
        ((4, ""), "no id"),
    ]
    plain = list(read_numbered_lines(str(source)))
    assert plain[0] == ((1, None), "a1\thello") and len(plain) == 4


def _records(numbers):
    return "".join(json.dumps({"line": n, "text": f"t{n}"}) + "\n" for n in numbers)


def test_merge_shards_in_line_order(tmp_path):
    shards = [tmp_path / "part-0", tmp_path / "part-1"]
    shards[0].write_text(_records([1, 2, 5, 6]))
    shards[1].write_text(_records([3, 4, 7]))
    output = tmp_path / "out.jsonl"
    assert merge_shards(shards, output) == 7
    assert [json.loads(r)["line"] for r in output.read_text().splitlines()] == list(range(1, 8))


def test_merge_sorts_shards_that_are_not_in_order(tmp_path):
    shard = tmp_path / "part-0"
    shard.write_text(_records([3, 1, 2]))
    output = tmp_path / "out.jsonl"
    assert merge_shards([shard], output) == 3
    assert [record_line(r) for r in output.read_text().splitlines()] == [1, 2, 3]
    assert not list(tmp_path.glob("*.merging"))


def test_record_line_reads_the_first_key_or_parses():
    assert record_line('{"line": 12, "id": "x"}') == 12
    assert record_line('{"id": "x", "line": 7}') == 7
