"""Reading data files as text, with errors that name the file and row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


class DataFormatError(ValueError):
    """A data file row that breaks its format (GoEmotions: `text<TAB>ids<TAB>comment_id`;
    other datasets: see `emotag.data.datasets`); the message names the file and row."""


def read_text(path: str | Path, strip_bom: bool = True) -> str:
    """The whole file decoded as UTF-8 (a leading byte-order mark dropped if `strip_bom`).

    Raises:
        DataFormatError: When the bytes are not valid UTF-8, naming the file, the 1-based
            line and column, and the offending byte.
    """
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig" if strip_bom else "utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise _not_utf8(path, line, column, data[err.start]) from None


def read_lines(path: str | Path) -> Iterator[str]:
    """The file's lines decoded as UTF-8, streamed (a leading byte-order mark dropped),
    without their line ends.

    Raises:
        DataFormatError: When a line is not valid UTF-8, naming the file, line, column
            and byte, as `read_text` does.
    """
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise _not_utf8(path, number, err.start + 1, raw[err.start]) from None
            yield text.rstrip("\r\n")


def _not_utf8(path: str | Path, line: int, column: int, byte: int) -> DataFormatError:
    return DataFormatError(
        f"{path}:{line}: not valid UTF-8 (byte 0x{byte:02x} at column {column}); "
        "re-save the file as UTF-8"
    )
