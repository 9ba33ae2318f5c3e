"""Labelled text tables (CSV, TSV, JSON Lines) read into `Split`s, with schema checks.

The format follows the file suffix: `.csv` is comma-separated with CSV quoting; `.tsv`,
`.tab` and `.txt` are split on tabs only, line by line, because tweets and comments
contain quote characters (as in the SemEval and GoEmotions files); `.jsonl`, `.ndjson`
and `.json` hold one JSON object per line. The first row of a CSV/TSV file is its header.

Labels come in one of two layouts:
- binary columns: one column per label holding 0/1 (also "0.0"/"1.0", "true"/"false");
- a list column: each row's labels as names or 0-based integer ids separated by
  `label_sep` ("joy,love", "3,17"), or a JSON list in JSON Lines; empty = no label.

A row without any label is allowed (many tweets express no emotion). Every failed check
raises `DataFormatError` naming the file and row: the line number in TSV and JSON Lines,
the first line of the record in CSV (the header is line 1).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emotag.data.goemotions import Split
from emotag.data.textfile import DataFormatError, read_text

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip
_BINARY = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0}
_INTEGER = re.compile(r"-?[0-9]+")


@dataclasses.dataclass
class Table:
    """A file's rows as read, before any label parsing.

    Args:
        path: The file.
        columns: Column names in file order (JSON Lines: keys in order of first use).
        rows: (row number for messages, {column: value}) per data row.
    """

    path: Path
    columns: list[str]
    rows: list[tuple[int, dict]]

    def where(self, row: int) -> str:
        return f"{self.path}:{row}"

    def require(self, column: str, flag: str) -> None:
        """Raises DataFormatError unless the table has `column`."""
        if column not in self.columns:
            raise DataFormatError(
                f"{self.path}: no column {column!r} (columns: {', '.join(self.columns)}); "
                f"set {flag}"
            )


def table_format(path: str | Path) -> str:
    """The format ("csv", "tsv" or "jsonl") that the file suffix names."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown table suffix {suffix!r}; expected {list(FORMATS)}")
    return FORMATS[suffix]


def read_table(path: str | Path) -> Table:
    """Reads a CSV, TSV or JSON Lines file; checks its header and field counts.

    Raises:
        DataFormatError: On an empty file, duplicate or empty column names, a row with
            another number of fields than the header, or a JSON line that is no object.
    """
    path = Path(path)
    kind = table_format(path)
    if kind == "jsonl":
        return _read_jsonl(path)
    # utf-8-sig drops a byte-order mark; newline="" lets csv see quoted line breaks and
    # keeps a stray "\r" or U+2028 inside a TSV text from splitting its row.
    with io.StringIO(read_text(path), newline="") as f:
        if kind == "csv":
            reader = csv.reader(f)
            records, start = [], 1
            for fields in reader:
                records.append((start, fields))
                start = reader.line_num + 1
        else:
            records = [
                (n, line.removesuffix("\n").removesuffix("\r").split("\t"))
                for n, line in enumerate(f.read().split("\n"), start=1)
            ]
    records = [(n, fields) for n, fields in records if fields not in ([], [""])]
    if not records:
        raise DataFormatError(f"{path}: empty file (a header row is required)")
    (_, header), body = records[0], records[1:]
    header = [name.strip() for name in header]
    _check_header(path, header)
    rows = []
    for n, fields in body:
        if len(fields) != len(header):
            raise DataFormatError(
                f"{path}:{n}: expected {len(header)} fields like the header, found {len(fields)}"
            )
        rows.append((n, dict(zip(header, fields))))
    return Table(path, header, rows)


def _read_jsonl(path: Path) -> Table:
    columns: dict[str, None] = {}
    rows = []
    with io.StringIO(read_text(path), newline=None) as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(f"{path}:{n}: invalid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise DataFormatError(f"{path}:{n}: expected a JSON object per line")
            columns.update(dict.fromkeys(record))
            rows.append((n, record))
    if not rows:
        raise DataFormatError(f"{path}: no JSON records")
    return Table(path, list(columns), rows)


def _check_header(path: Path, header: list[str]) -> None:
    if any(not name for name in header):
        raise DataFormatError(f"{path}:1: empty column name in the header")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataFormatError(f"{path}:1: duplicate column names {duplicates}")


def find_id_column(table: Table, id_col: str | None) -> str | None:
    """`id_col` (checked), else a column named "id" in any case, else None."""
    if id_col:
        table.require(id_col, "--id-col")
        return id_col
    return next((c for c in table.columns if c.lower() == "id"), None)


def binary_label_columns(table: Table, text_col: str, id_col: str | None) -> list[str]:
    """Every column but the text and id columns: the default binary label columns."""
    columns = [c for c in table.columns if c not in (text_col, id_col)]
    if not columns:
        raise DataFormatError(f"{table.path}: no label columns besides {text_col!r}")
    return columns


def list_label_names(tables: Sequence[Table], labels_col: str, label_sep: str) -> list[str]:
    """Sorted label names found in a list column of several tables (ids not allowed)."""
    names = set()
    for table in tables:
        table.require(labels_col, "--labels-col")
        for n, row in table.rows:
            for item in _list_items(table, n, row.get(labels_col), label_sep):
                if isinstance(item, int) or _INTEGER.fullmatch(item):
                    raise DataFormatError(
                        f"{table.where(n)}: label id {item!r} needs the label names: "
                        "give them in order with --label-cols or in labels.txt beside the data"
                    )
                names.add(item)
    if not names:
        raise DataFormatError(f"no labels at all in column {labels_col!r}")
    return sorted(names)


def parse_table(
    table: Table,
    label_names: Sequence[str],
    *,
    text_col: str,
    id_col: str | None = None,
    label_cols: Sequence[str] | None = None,
    labels_col: str | None = None,
    label_sep: str = ",",
    id_prefix: str = "row",
) -> Split:
    """The table's texts, multi-hot labels (columns in `label_names` order) and ids.

    Args:
        table: From `read_table`.
        label_names: The label set.
        text_col: Column holding the text; an empty or blank text is an error.
        id_col: Column holding row ids; None = `<id_prefix>-<row number>`.
        label_cols: Binary layout: the column of each label, in `label_names` order.
        labels_col: List layout: the column listing each row's labels.
        label_sep: Separator of the list layout.
        id_prefix: Prefix of made-up ids.

    Returns:
        A `Split` with float32 labels of shape (rows, len(label_names)).
    """
    if (label_cols is None) == (labels_col is None):
        raise ValueError("give exactly one of label_cols and labels_col")
    table.require(text_col, "--text-col")
    if id_col:
        table.require(id_col, "--id-col")
    for column in label_cols or [labels_col]:
        table.require(column, "--label-cols" if label_cols else "--labels-col")
    index = {name: j for j, name in enumerate(label_names)}
    texts, ids = [], []
    labels = np.zeros((len(table.rows), len(label_names)), dtype=np.float32)
    for i, (n, row) in enumerate(table.rows):
        text = row.get(text_col)
        if not isinstance(text, str) or not text.strip():
            raise DataFormatError(f"{table.where(n)}: empty text in column {text_col!r}")
        texts.append(text)
        has_id = id_col is not None and row.get(id_col) not in (None, "")
        ids.append(str(row[id_col]) if has_id else f"{id_prefix}-{n}")
        if label_cols is not None:
            for j, column in enumerate(label_cols):
                labels[i, j] = _binary(table, n, column, row.get(column))
        else:
            for item in _list_items(table, n, row.get(labels_col), label_sep):
                labels[i, _label_id(table, n, item, index, label_names)] = 1.0
    return Split(texts=texts, labels=labels, ids=ids)


def _binary(table: Table, n: int, column: str, value) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in _BINARY:
        return _BINARY[value.strip().lower()]
    hint = ""
    if value == "NONE":
        hint = " (SemEval's unlabelled test release has NONE here: use the gold file)"
    raise DataFormatError(
        f"{table.where(n)}: column {column!r} holds {value!r}, not a binary 0/1 value{hint}"
    )


def _list_items(table: Table, n: int, value, label_sep: str) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = [item.strip() for item in value.split(label_sep)]
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise DataFormatError(f"{table.where(n)}: labels {value!r} are not a list or a string")
    for item in items:
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise DataFormatError(f"{table.where(n)}: label {item!r} is not a name or an id")
    return [item for item in items if item != ""]


def _label_id(table: Table, n: int, item, index: dict, label_names: Sequence[str]) -> int:
    if isinstance(item, str) and item in index:
        return index[item]
    if isinstance(item, int) or _INTEGER.fullmatch(item):
        label = int(item)
        if 0 <= label < len(label_names):
            return label
        raise DataFormatError(
            f"{table.where(n)}: label id {label} out of range [0, {len(label_names)})"
        )
    raise DataFormatError(
        f"{table.where(n)}: unknown label {item!r}; labels are {', '.join(label_names)}"
    )
