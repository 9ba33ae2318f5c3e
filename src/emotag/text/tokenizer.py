"""Word vocabulary fitted on training text, and the graph that turns text into ids.

`WordTokenizer` holds plain data (vocabulary, counts, max length) and is saved as
`tokenizer.pkl` containing only dicts, lists, strings and numbers; `load` goes
through `RestrictedUnpickler`, which refuses every class or function a crafted pickle
could name. `TextEncoder` is the TensorFlow side: normaliser + vocabulary table,
exported inside the SavedModel.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
from pathlib import Path

import numpy as np
import tensorflow as tf

from emotag.text.preprocessing import PreprocessConfig, TextNormalizer

PAD_TOKEN = "<pad>"  # id 0, masked by the model
OOV_TOKEN = "<unk>"  # id 1
TOKENIZER_FORMAT = 1


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for plain containers only: any global lookup is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(
            f"tokenizer.pkl may hold only plain containers; refusing {module}.{name}"
        )


def restricted_loads(data: bytes):
    """Unpickles `data`, refusing anything but built-in containers and scalars."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


class WordTokenizer:
    """Vocabulary and sequence length fitted on the training split.

    Args:
        word_index: token -> id, ids from 2 (0 = padding, 1 = out of vocabulary).
        word_counts: token -> training count (kept for embedding coverage figures).
        max_len: sequences are truncated to this many tokens.
    """

    def __init__(self, word_index: dict[str, int], word_counts: dict[str, int], max_len: int):
        self.word_index = dict(word_index)
        self.word_counts = dict(word_counts)
        self.max_len = int(max_len)

    @classmethod
    def fit(
        cls,
        texts: list[str],
        normalizer: TextNormalizer,
        min_count: int = 2,
        max_vocab: int | None = None,
        length_percentile: float = 99.0,
        batch_size: int = 2048,
    ) -> WordTokenizer:
        """Builds the vocabulary from `texts` (the training split only).

        Args:
            texts: training texts.
            normalizer: the `TextNormalizer` that will run at serving time too.
            min_count: tokens seen fewer times map to the OOV id, so the OOV embedding
                is trained on rare words and generalises to unseen ones.
            max_vocab: keep at most this many words (most frequent first).
            length_percentile: max_len is this percentile of training token counts.
            batch_size: texts normalised per graph call.

        Returns:
            A fitted `WordTokenizer`.
        """
        counts: collections.Counter[str] = collections.Counter()
        lengths = []
        for token_lists in iter_token_lists(texts, normalizer, batch_size):
            for tokens in token_lists:
                counts.update(tokens)
                lengths.append(len(tokens))
        # Most frequent first, ties alphabetical, so the vocabulary is deterministic.
        kept = (w for w, c in counts.items() if c >= min_count)
        words = sorted(kept, key=lambda w: (-counts[w], w))
        if max_vocab is not None:
            words = words[:max_vocab]
        word_index = {w: i + 2 for i, w in enumerate(words)}
        max_len = max(1, math.ceil(np.percentile(lengths, length_percentile))) if lengths else 1
        return cls(word_index, {w: counts[w] for w in words}, max_len)

    @property
    def vocab_size(self) -> int:
        """Number of embedding rows: words + padding + OOV."""
        return len(self.word_index) + 2

    def to_dict(self) -> dict:
        return {
            "format_version": TOKENIZER_FORMAT,
            "pad_token": PAD_TOKEN,
            "oov_token": OOV_TOKEN,
            "max_len": self.max_len,
            "word_index": self.word_index,
            "word_counts": self.word_counts,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(pickle.dumps(self.to_dict(), protocol=4))

    @classmethod
    def load(cls, path: str | Path) -> WordTokenizer:
        """Reads a `save`d tokenizer.

        Raises:
            pickle.UnpicklingError: naming `path`, for a crafted, truncated or corrupt file.
            ValueError: naming `path`, for a pickle that is not a tokenizer of this format.
        """
        try:
            data = restricted_loads(Path(path).read_bytes())
        except pickle.UnpicklingError as err:
            raise pickle.UnpicklingError(f"{path}: {err}") from None
        except Exception as err:  # noqa: BLE001  corrupt bytes raise a dozen types
            raise pickle.UnpicklingError(
                f"{path}: not a readable tokenizer.pkl ({type(err).__name__}: {err})"
            ) from None
        if not isinstance(data, dict) or data.get("format_version") != TOKENIZER_FORMAT:
            raise ValueError(f"{path}: not a tokenizer.pkl of format {TOKENIZER_FORMAT}")
        return cls(data["word_index"], data["word_counts"], data["max_len"])

    def __eq__(self, other) -> bool:
        return isinstance(other, WordTokenizer) and self.to_dict() == other.to_dict()


def iter_token_lists(texts: list[str], normalizer: TextNormalizer, batch_size: int = 2048):
    """Yields lists of token lists, one per batch of `texts`, through the graph."""
    for start in range(0, len(texts), batch_size):
        ragged = normalizer.tokens(tf.constant(texts[start : start + batch_size], tf.string))
        yield [[t.decode("utf-8") for t in row] for row in ragged.to_list()]


class TextEncoder(tf.Module):
    """Raw strings -> padded token ids (batch, time), the model's input.

    The time dimension is the longest row in the batch (at most `max_len`, at least 1),
    so short batches cost less.

    Args:
        config: the run's `PreprocessConfig`.
        tokenizer: the fitted `WordTokenizer`.
    """

    def __init__(self, config: PreprocessConfig, tokenizer: WordTokenizer, name=None):
        super().__init__(name=name)
        self.normalizer = TextNormalizer(config)
        self.max_len = tokenizer.max_len
        words = list(tokenizer.word_index)
        ids = [tokenizer.word_index[w] for w in words]
        self.vocab_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(words, tf.string), tf.constant(ids, tf.int64)
            ),
            default_value=1,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Normalised tokens, truncated to max_len: ragged (batch, (time))."""
        return self.normalizer.tokens(texts)[:, : self.max_len]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        # The halves share no op, so TensorFlow normalises them on two threads at once.
        half = tf.shape(texts)[0] // 2
        ids = tf.concat([self._ragged_ids(texts[:half]), self._ragged_ids(texts[half:])], 0)
        width = tf.maximum(tf.reduce_max(ids.row_lengths()), 1)
        return ids.to_tensor(default_value=0, shape=tf.stack([ids.nrows(), width]))  # (batch, time)

    def _ragged_ids(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return tf.ragged.map_flat_values(self.vocab_table.lookup, self.tokens(texts))

    def encode(self, texts: list[str], batch_size: int = 2048) -> list[np.ndarray]:
        """Eagerly encodes Python strings to unpadded id arrays (for training data)."""
        out: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            batch = tf.constant(texts[start : start + batch_size], tf.string)
            ragged = self._ragged_ids(batch)
            out.extend(np.asarray(row, dtype=np.int32) for row in ragged.to_list())
        return out
