"""Reading data files as text, with errors that name the file and row."""

from __future__ import annotations

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
        raise DataFormatError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[err.start]:02x} at column "
            f"{column}); re-save the file as UTF-8"
        ) from None
