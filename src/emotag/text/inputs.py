"""What counts as a text, and the length cap applied before the graph.

The Python entry points (Predictor, the CLI, batch scoring) accept anything and turn
each item into either a text or a per-item error, so one bad item never fails a batch:

- `str`, including empty, whitespace-only and control characters: scored as is
  (control characters become spaces in the graph; a text without tokens gets the
  model's no-evidence output, the same as the SavedModel returns for it).
- `bytes`: decoded as UTF-8, invalid sequences replaced by U+FFFD, then scored.
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
    return item[:max_chars]


def clip_texts_tf(texts: tf.Tensor, max_bytes: int = MAX_TEXT_BYTES) -> tf.Tensor:
    """Graph guard: (batch,) strings cut to their first `max_bytes` bytes.

    A cut inside a multi-byte character leaves a partial sequence, which the
    normaliser's UTF-8 decoding replaces by U+FFFD.
    """
    return tf.strings.substr(texts, 0, max_bytes, unit="BYTE")


# Characters str.splitlines() breaks on that json.dumps(ensure_ascii=False) leaves as is.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_line(record: dict) -> str:
    """One JSON Lines record, readable by any line splitter (no trailing newline)."""
    line = json.dumps(record, ensure_ascii=False)
    for char, escaped in _LINE_BREAKS.items():
        line = line.replace(char, escaped)
    return line
