"""What counts as a text, and the length cap applied before the graph.

The Python entry points (Predictor, the CLI, batch scoring) accept anything and turn
each item into either a text or a per-item error, so one bad item never fails a batch:

- `str`, including empty, whitespace-only and control characters: scored as is
  (control characters become spaces in the graph; a text without tokens gets the
  model's no-evidence output, the same as the SavedModel returns for it).
- `bytes`: decoded as UTF-8, invalid sequences replaced by U+FFFD, then scored.
- a `str` holding surrogate code points (U+D800-U+DFFF, which UTF-8 cannot encode, so
  TensorFlow refuses the whole batch): a high-low pair becomes the character it
  encodes, every lone surrogate becomes U+FFFD, then scored. The same rule as for
  invalid bytes: the item is tagged on what can be read of it, never an error.
  Command-line arguments holding invalid UTF-8 reach Python as lone surrogates
  ("surrogateescape"); `argv_text` turns them back into their bytes first, so an
  argument reads exactly like the same line in a file.
- longer than `MAX_TEXT_CHARS` characters: cut to that many characters, then scored.
- `None`, numbers, anything else: an error for that item only (`TypeError` with
  `errors="raise"`, a record whose `error` is set with `errors="skip"`).

Why the cap: the model reads at most `max_len` tokens (32 for GoEmotions runs, whose
longest comment has 187 characters), but normalisation runs over the whole string, so a
1 MB text costs about a second and hundreds of MB of intermediate tensors. 2,000
characters keep every realistic comment whole. The SavedModel applies the same guard in
bytes (`MAX_TEXT_BYTES`, 4 bytes per character at most) for clients that bypass Python.
"""

from __future__ import annotations

import json
import os
import re

import tensorflow as tf

MAX_TEXT_CHARS = 2000
MAX_TEXT_BYTES = 4 * MAX_TEXT_CHARS  # UTF-8 needs at most 4 bytes per character


def coerce_text(item, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Returns the text to score for one input item.

    Args:
        item: a `str`, or `bytes` holding UTF-8 (invalid sequences become U+FFFD).
        max_chars: longer texts are cut to this many characters.

    Returns:
        The text, at most `max_chars` characters long.

    Raises:
        TypeError: for `None`, numbers and every other type.
    """
    if isinstance(item, (bytes, bytearray)):
        item = bytes(item).decode("utf-8", errors="replace")
    if not isinstance(item, str):
        raise TypeError(f"expected str or bytes, got {type(item).__name__}")
    return replace_surrogates(item[:max_chars])


def replace_surrogates(text: str) -> str:
    """`text` made encodable as UTF-8: surrogate pairs joined, lone surrogates U+FFFD.

    Args:
        text: any `str`; one without surrogates is returned as is.

    Returns:
        A `str` that `tf.constant` accepts.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 holds surrogates as code units: a valid pair decodes to its character,
        # a lone one to U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def argv_text(arg: str) -> str:
    """A command-line argument as a text: invalid UTF-8 bytes become U+FFFD.

    Python decodes arguments with "surrogateescape", keeping each undecodable byte as a
    lone surrogate; this restores the bytes and decodes them with replacement as
    `emotag predict` decodes a file's lines, so `$'bad \\xff'` on the command line and
    in a file give one text.

    Args:
        arg: an element of `sys.argv`.

    Returns:
        The text; an argument that did not come from bytes is returned as is (its own
        surrogates are left to `coerce_text`).
    """
    try:
        return os.fsencode(arg).decode("utf-8", errors="replace")
    except UnicodeEncodeError:
        return arg


def clip_texts_tf(texts: tf.Tensor, max_bytes: int = MAX_TEXT_BYTES) -> tf.Tensor:
    """Graph guard: (batch,) strings cut to their first `max_bytes` bytes.

    A cut inside a multi-byte character leaves a partial sequence, which the
    normaliser's UTF-8 decoding replaces by U+FFFD.
    """
    return tf.strings.substr(texts, 0, max_bytes, unit="BYTE")


# C0 controls, DEL and C1 controls (Unicode category Cc) except tab: a terminal acts on
# them (ESC starts an ANSI sequence that can recolour, move the cursor or retitle the
# window; CR overwrites the line; C1 CSI is ESC [ in one byte).
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """`text` safe to write to a terminal: control characters shown as escapes.

    Newline and carriage return become `\\n` and `\\r`, every other C0/C1 control
    (NUL, ESC, BEL, ...) `\\xNN`; tab and all other characters are kept. For readable
    output only: a backslash already in the text is not escaped, so JSON (`json_line`)
    is the exact form.

    Args:
        text: any text.

    Returns:
        The text with its controls escaped.
    """
    return _CONTROLS.sub(_escape_control, text)


def _escape_control(match: re.Match) -> str:
    char = match.group()
    return _NAMED_CONTROLS.get(char, f"\\x{ord(char):02x}")


# Characters str.splitlines() breaks on that json.dumps(ensure_ascii=False) leaves as is.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_line(record: dict) -> str:
    """One JSON Lines record, readable by any line splitter (no trailing newline)."""
    line = json.dumps(record, ensure_ascii=False)
    for char, escaped in _LINE_BREAKS.items():
        line = line.replace(char, escaped)
    return line
