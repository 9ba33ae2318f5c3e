"""Pretrained BERT-family encoders for fine-tuning, whatever their packaging.

`load_encoder(spec)` accepts
- a KerasHub preset name ("bert_tiny_en_uncased"; downloaded when online),
- a local directory in KerasHub preset layout or Hugging Face layout (`config.json`,
  `vocab.txt`, `model.safetensors`), e.g. `emotag.embeddings.subword_vectors.minilm_model_dir()`,
- a TF-Hub handle or SavedModel directory, given with its preprocessing model
  (`preprocessor=`); see `emotag.models.tfhub`.

Every encoder comes out in one shape (`PretrainedEncoder`): a text encoder (strings ->
WordPiece ids `[CLS] pieces [SEP]`, 0-padded to the longest text, run inside the
exported graph) and a backbone taking `{"token_ids", "segment_ids", "padding_mask"}` and
returning `{"sequence_output", "pooled_output"}`. Id 0 must be `[PAD]`, as in every
BERT vocabulary, so that batches padded with 0 (`emotag.text.batching`) are masked right.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from emotag.models.export import TEXT_SPEC
from emotag.models.pretrained import PretrainedEncoder


class WordPieceEncoder(tf.Module):
    """Strings -> `[CLS] pieces [SEP]` ids with a KerasHub WordPiece tokenizer.

    Args:
        tokenizer: a `keras_hub.models.BertTokenizer` (or any tokenizer with the same
            special tokens that returns ragged piece ids inside a `tf.function`).
        max_len: sequences, special tokens included, are cut to this length.

    Call arguments:
        text: (batch,) string tensor.

    Returns (from a call):
        (batch, time) int32 ids, 0-padded to the longest text, time <= max_len.
    """

    def __init__(self, tokenizer, max_len: int):
        super().__init__(name="wordpiece_encoder")
        if max_len < 3:
            raise ValueError(f"max_len must leave room for a piece, got {max_len}")
        self.tokenizer = tokenizer
        self.max_len = int(max_len)
        self.cls_id = int(tokenizer.token_to_id("[CLS]"))
        self.sep_id = int(tokenizer.token_to_id("[SEP]"))
        if tokenizer.token_to_id("[PAD]") != 0:
            raise ValueError("the vocabulary's [PAD] must be id 0")

    @tf.function(input_signature=[TEXT_SPEC])
    def __call__(self, text):
        pieces = tf.cast(self.tokenizer(text), tf.int32)  # ragged (batch, pieces)
        pieces = pieces[:, : self.max_len - 2]
        rows = pieces.nrows()
        cls = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], self.cls_id))
        sep = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], self.sep_id))
        return tf.concat([cls, pieces, sep], axis=1).to_tensor(0)  # (batch, time)


def encode_texts(text_encoder, texts: list[str], batch_size: int = 1024) -> list[np.ndarray]:
    """Runs a text encoder over `texts` and returns each text's unpadded int32 ids."""
    ids: list[np.ndarray] = []
    for start in range(0, len(texts), batch_size):
        batch = text_encoder(tf.constant(texts[start : start + batch_size], tf.string)).numpy()
        lengths = (batch != 0).sum(axis=1)
        ids.extend(row[:n] for row, n in zip(batch, lengths))
    return ids


def sequence_length(lengths: list[int] | np.ndarray, percentile: float, cap: int) -> int:
    """The `percentile` of training lengths (special tokens included), at most `cap`."""
    return int(min(cap, max(3, np.ceil(np.percentile(lengths, percentile)))))


def load_encoder(spec: str, preprocessor: str | None = None) -> PretrainedEncoder:
    """Loads a pretrained encoder described by `spec` (see the module docstring).

    Args:
        spec: KerasHub preset name or directory, Hugging Face directory, or TF-Hub
            handle / SavedModel directory.
        preprocessor: the TF-Hub preprocessing model matching a TF-Hub encoder;
            giving it selects the TF-Hub path.

    Returns:
        A `PretrainedEncoder`.
    """
    if preprocessor:
        from emotag.models.tfhub import load_tfhub_encoder

        return load_tfhub_encoder(spec, preprocessor)
    path = Path(spec)
    if path.is_dir() and (path / "saved_model.pb").exists():
        raise ValueError(f"{spec} is a SavedModel: pass its preprocessing model too")
    return load_keras_hub_encoder(spec)


def load_keras_hub_encoder(spec: str) -> PretrainedEncoder:
    """A `PretrainedEncoder` from a KerasHub preset or a Hugging Face BERT directory."""
    import keras_hub

    backbone = keras_hub.models.BertBackbone.from_preset(spec)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(spec)

    def freeze(k: int) -> None:
        names = ["token_embedding", "position_embedding", "segment_embedding"]
        names += ["embeddings_layer_norm", *(f"transformer_layer_{i}" for i in range(k))]
        for name in names:
            backbone.get_layer(name).trainable = False

    return PretrainedEncoder(
        spec=spec,
        kind="keras_hub",
        backbone=backbone,
        make_text_encoder=lambda max_len: WordPieceEncoder(tokenizer, max_len),
        max_len=int(backbone.max_sequence_length),
        default_pooling=sentence_transformers_pooling(spec) or "cls",
        freeze=freeze,
    )


def sentence_transformers_pooling(spec: str) -> str | None:
    """The pooling ("mean" / "cls") named by a sentence-transformers `1_Pooling/config.json`."""
    config = Path(spec) / "1_Pooling" / "config.json"
    if not config.is_file():
        return None
    modes = json.loads(config.read_text())
    if modes.get("pooling_mode_mean_tokens"):
        return "mean"
    return "cls" if modes.get("pooling_mode_cls_token") else None
