"""Static word vectors pooled from a fine-tuned encoder run's states over the training texts.

``--embeddings encoder:RUN`` gives each training word the mean, over its occurrences in
the training texts, of the final-layer states of its WordPieces in a fine-tuned
BERT-family run (``emotag train bert``; the encoder is the run's own ``model.keras``).
Pooling contextual states into one vector per word type is Bommasani et al. (2020,
"Interpreting Pretrained Contextualized Representations via Reductions to Static
Embeddings"); pooling a *fine-tuned* encoder's states carries what it learned about the
task into the BiLSTM's embedding layer, which the serving model folds into the LSTM's
input projection: richer vectors at no serving cost. The states are read from the
training texts only (the run itself was fine-tuned on them), never dev or test.

The words are the BiLSTM tokenizer's: each text's words are cut into WordPieces one by one,
so every piece maps back to its word; a text is cut at ``max_pieces`` pieces. Words that
never occur in the texts are not found (the embedding builder fills them). Results are
cached under a hash of the words, the texts and the run's ``model.keras``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emotag.data.downloads import sha256_of
from emotag.embeddings.cache import cached_word_vectors, words_digest

logger = logging.getLogger(__name__)

PREFIX = "encoder:"
# The files `emotag train bert` writes (emotag.runs.layout ENCODER, MODEL_KERAS; embeddings come
# before runs in the package's stages, so the names are repeated here, and a test pins them).
ENCODER_JSON = "encoder.json"
MODEL_KERAS = "model.keras"


def is_encoder_source(source: str) -> bool:
    """True for ``encoder:RUN`` embedding sources."""
    return source.startswith(PREFIX)


def check_encoder_run(run_dir: str | os.PathLike) -> tuple[Path, dict]:
    """``(model.keras path, encoder.json)`` of a KerasHub encoder run, or a clear error."""
    run = Path(run_dir)
    spec_path, model_path = run / ENCODER_JSON, run / MODEL_KERAS
    if not run.is_dir():
        raise FileNotFoundError(f"encoder run {run} does not exist")
    if not spec_path.is_file() or not model_path.is_file():
        raise ValueError(
            f"{run} is not a fine-tuned encoder run: `encoder:RUN` needs the "
            f"{ENCODER_JSON} and {MODEL_KERAS} that `emotag train bert` writes"
        )
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    if spec.get("kind") != "keras_hub":
        raise ValueError(
            f"{run} fine-tuned a {spec.get('kind')!r} encoder; `encoder:RUN` reads KerasHub "
            "(BERT-family) runs only"
        )
    return model_path, spec


def encoder_word_vectors(
    run_dir: str | os.PathLike,
    words: Sequence[str],
    token_lists: Sequence[Sequence[str]],
    *,
    aliases: Mapping[str, str] | None = None,
    max_pieces: int = 64,
    batch_size: int = 128,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of ``words`` pooled from a fine-tuned encoder run over ``token_lists``.

    Args:
        run_dir: An ``emotag train bert`` run with a KerasHub encoder.
        words: The words to embed, in the order rows are wanted.
        token_lists: The training texts as the BiLSTM tokenizer's words.
        aliases: Text a placeholder token is encoded as (``[name]`` -> ``person``).
        max_pieces: WordPieces per text, [CLS] and [SEP] included; longer texts are cut.
        batch_size: Texts per forward pass.
        cache_dir: Directory for the cache, or None to not cache.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), hidden)``; ``found`` is False for
        words that do not occur in ``token_lists``.
    """
    model_path, spec = check_encoder_run(run_dir)
    # The whole model.keras is hashed: a re-fine-tuned encoder has the same file size.
    texts = words_digest(["\x1f".join(tokens) for tokens in token_lists])
    settings = (
        f"{sha256_of(model_path)[:20]}|{texts}|{max_pieces}|"
        f"{json.dumps(dict(aliases or {}), sort_keys=True)}"
    )

    def compute():
        import keras
        import keras_hub  # registers the backbone classes model.keras refers to

        model = keras.saving.load_model(model_path, compile=False)
        backbone = next(
            (layer for layer in model.layers if isinstance(layer, keras_hub.models.Backbone)),
            None,
        )
        if backbone is None:
            raise ValueError(f"{model_path} holds no KerasHub backbone")
        tokenizer = keras_hub.models.BertTokenizer.from_preset(spec["encoder"])
        return pool_states(backbone, tokenizer, words, token_lists, aliases, max_pieces, batch_size)

    return cached_word_vectors(cache_dir, "encoder-states", words, settings, compute)


def pool_states(backbone, tokenizer, words, token_lists, aliases=None, max_pieces=64,
                batch_size=128) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The pooling behind `encoder_word_vectors`, for a loaded backbone and tokenizer.

    Each occurrence of a word is the mean final-layer state of its pieces; a word's
    vector is the mean over its occurrences.
    """
    import keras

    aliases = aliases or {}
    if max_pieces < 3:
        raise ValueError(f"max_pieces must leave room for [CLS], a piece and [SEP]: {max_pieces}")
    types = sorted({w for tokens in token_lists for w in tokens})
    pieces_of = dict(zip(types, (list(p) for p in tokenizer([aliases.get(w, w) for w in types]))))
    cls, sep, pad = (tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    type_id = {w: i for i, w in enumerate(types)}

    rows = []  # per text: piece ids, each piece's word type (-1: special), word starts
    for tokens in token_lists:
        ids, owner, start = [cls], [-1], [False]
        for word in tokens:
            pieces = pieces_of[word]
            if not pieces:
                continue  # nothing the tokenizer can encode (the word stays unfound)
            if len(ids) + len(pieces) > max_pieces - 1:
                break  # the cut: the rest of the text is dropped
            ids += pieces
            owner += [type_id[word]] * len(pieces)
            start += [True] + [False] * (len(pieces) - 1)
        rows.append((ids + [sep], owner + [-1], start + [False]))

    sums = np.zeros((len(types), backbone.hidden_dim))
    counts = np.zeros(len(types))
    # Length-sorted batches keep padding (wasted compute) small.
    order = sorted(range(len(rows)), key=lambda r: len(rows[r][0]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for batch in tqdm(batches, desc="encoder word vectors", unit="batch"):
        length = max(len(rows[r][0]) for r in batch)
        token_ids = np.full((len(batch), length), pad, np.int32)  # (batch, time)
        owners = np.full((len(batch), length), -1)  # (batch, time)
        starts = np.zeros((len(batch), length), bool)  # (batch, time): a word's first piece
        for i, r in enumerate(batch):
            ids, owner, start = rows[r]
            token_ids[i, : len(ids)] = ids
            owners[i, : len(ids)], starts[i, : len(ids)] = owner, start
        outputs = backbone(
            {
                "token_ids": token_ids,
                "segment_ids": np.zeros_like(token_ids),
                "padding_mask": token_ids != pad,
            },
            training=False,
        )
        states = keras.ops.convert_to_numpy(outputs["sequence_output"])  # (batch, time, hidden)
        states = states.reshape(-1, states.shape[-1])  # (batch * time, hidden)
        owners, starts = owners.ravel(), starts.ravel()
        # Each piece belongs to the occurrence begun by the last start at or before it.
        occurrence = np.cumsum(starts) - 1  # (batch * time,)
        pieces = owners >= 0
        n_occ = int(starts.sum())
        occ_sum = np.zeros((n_occ, states.shape[-1]))
        np.add.at(occ_sum, occurrence[pieces], states[pieces])
        occ_mean = occ_sum / np.bincount(occurrence[pieces], minlength=n_occ)[:, None]
        np.add.at(sums, owners[starts], occ_mean)
        np.add.at(counts, owners[starts], 1)

    vectors = np.zeros((len(words), backbone.hidden_dim), np.float32)
    found = np.zeros(len(words), bool)
    for row, word in enumerate(words):
        i = type_id.get(word)
        if i is not None and counts[i]:
            vectors[row], found[row] = sums[i] / counts[i], True
    return vectors, found
