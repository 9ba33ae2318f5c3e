"""Word vectors pooled from a fine-tuned encoder run's states (`--embeddings encoder:RUN`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import train_tiny_run
from emotag.embeddings import encoder_states, sources
from test_embeddings import write_tiny_bert

# [CLS]=2 [SEP]=3 [UNK]=1; play=8 ##ing=9 happy=5 sad=11 person=12 (TINY_VOCAB)
TOKEN_LISTS = [["happy", "playing"], ["playing", "playing", "sad"], ["[name]", "zzz"]]
PIECES = [[5, 8, 9], [8, 9, 8, 9, 11], [12, 1]]
ALIASES = {"[name]": "person"}


def _states(backbone, ids) -> np.ndarray:
    """Final-layer states of one text, [CLS] and [SEP] added, no padding."""
    import keras

    ids = np.array([[2, *ids, 3]])
    out = backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids),
                    "padding_mask": np.ones(ids.shape, bool)})  # fmt: skip
    return keras.ops.convert_to_numpy(out["sequence_output"])[0]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def backbone_and_tokenizer(tiny_bert):
    import keras_hub

    return (keras_hub.models.BertBackbone.from_preset(str(tiny_bert)),
            keras_hub.models.BertTokenizer.from_preset(str(tiny_bert)))  # fmt: skip


def test_pooled_vectors_match_hand_averaged_states(backbone_and_tokenizer):
    backbone, tokenizer = backbone_and_tokenizer
    words = ["playing", "happy", "table", "[name]", "sad", "zzz"]
    # batch_size 2: texts of different lengths share a padded batch
    vectors, found = encoder_states.pool_states(
        backbone, tokenizer, words, TOKEN_LISTS, ALIASES, batch_size=2
    )
    s0, s1, s2 = (_states(backbone, p) for p in PIECES)
    # "playing": three occurrences, each the mean of its two pieces' states
    occurrences = [s0[2:4].mean(0), s1[1:3].mean(0), s1[3:5].mean(0)]
    np.testing.assert_allclose(vectors[0], np.mean(occurrences, axis=0), atol=1e-5)
    np.testing.assert_allclose(vectors[1], s0[1], atol=1e-5)
    np.testing.assert_allclose(vectors[3], s2[1], atol=1e-5)  # [name] read as "person"
    np.testing.assert_allclose(vectors[4], s1[5], atol=1e-5)
    np.testing.assert_allclose(vectors[5], s2[2], atol=1e-5)  # all [UNK], but in context
    assert found.tolist() == [True, True, False, True, True, True]  # "table" never occurs
    np.testing.assert_array_equal(vectors[2], 0.0)


def test_texts_are_cut_at_max_pieces_on_a_word_boundary(backbone_and_tokenizer):
    backbone, tokenizer = backbone_and_tokenizer
    # 5 pieces: [CLS] play ##ing [SEP] fits, a second "playing" would make 6
    vectors, found = encoder_states.pool_states(
        backbone, tokenizer, ["playing", "sad"], [TOKEN_LISTS[1]], max_pieces=5
    )
    assert found.tolist() == [True, False]
    np.testing.assert_allclose(vectors[0], _states(backbone, [8, 9])[1:3].mean(0), atol=1e-5)
    with pytest.raises(ValueError, match="max_pieces"):
        encoder_states.pool_states(backbone, tokenizer, ["sad"], [["sad"]], max_pieces=2)


def _encoder_run(root: Path, backbone, tiny_bert_dir: Path, kind="keras_hub") -> Path:
    """A directory with what `emotag train bert` leaves for this: model.keras, encoder.json."""
    from emotag.models.encoder_classifier import build_encoder_classifier

    root.mkdir(parents=True)
    build_encoder_classifier(backbone, num_labels=3).save(root / "model.keras")
    spec = {"encoder": str(tiny_bert_dir), "kind": kind, "pooling": "mean", "max_len": 16}
    (root / "encoder.json").write_text(json.dumps(spec))
    return root


@pytest.fixture
def encoder_run(backbone_and_tokenizer, tiny_bert, tmp_path) -> Path:
    return _encoder_run(tmp_path / "run", backbone_and_tokenizer[0], tiny_bert)


def test_run_vectors_are_cached_and_a_changed_model_misses(
    backbone_and_tokenizer, encoder_run, tiny_bert, tmp_path, monkeypatch
):
    import keras_hub

    backbone, tokenizer = backbone_and_tokenizer
    run = encoder_run
    words = ["playing", "sad"]
    first, found = encoder_states.encoder_word_vectors(
        run, words, TOKEN_LISTS, aliases=ALIASES, cache_dir=tmp_path / "cache"
    )
    expected, _ = encoder_states.pool_states(backbone, tokenizer, words, TOKEN_LISTS, ALIASES)
    np.testing.assert_allclose(first, expected, atol=1e-5)

    real = encoder_states.pool_states

    def fail(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(encoder_states, "pool_states", fail)
    again, _ = encoder_states.encoder_word_vectors(
        run, words, TOKEN_LISTS, aliases=ALIASES, cache_dir=tmp_path / "cache"
    )
    np.testing.assert_array_equal(first, again)
    with pytest.raises(AssertionError, match="cache"):  # other texts: a miss
        encoder_states.encoder_word_vectors(
            run, words, TOKEN_LISTS[:2], aliases=ALIASES, cache_dir=tmp_path / "cache"
        )

    # Another fine-tuning of the encoder (other weights in model.keras): a miss.
    monkeypatch.setattr(encoder_states, "pool_states", real)
    other = keras_hub.models.BertBackbone.from_preset(str(tiny_bert))
    other.get_layer("token_embedding").embeddings.assign(
        other.get_layer("token_embedding").embeddings * 2.0
    )
    (run / "model.keras").unlink()
    _encoder_run(tmp_path / "run2", other, tiny_bert)
    (tmp_path / "run2" / "model.keras").rename(run / "model.keras")
    changed, _ = encoder_states.encoder_word_vectors(
        run, words, TOKEN_LISTS, aliases=ALIASES, cache_dir=tmp_path / "cache"
    )
    assert not np.allclose(changed, first, atol=1e-3)
    assert len(list((tmp_path / "cache").glob("encoder-states-*.npy"))) == 2


def test_runs_that_cannot_give_states_are_refused_clearly(
    backbone_and_tokenizer, tiny_bert, tmp_path
):
    backbone, _ = backbone_and_tokenizer
    with pytest.raises(FileNotFoundError, match="does not exist"):
        encoder_states.check_encoder_run(tmp_path / "nowhere")
    (tmp_path / "bilstm").mkdir()
    with pytest.raises(ValueError, match="emotag train bert"):
        encoder_states.check_encoder_run(tmp_path / "bilstm")
    hub = _encoder_run(tmp_path / "hub", backbone, tiny_bert, kind="tfhub")
    with pytest.raises(ValueError, match="KerasHub"):
        encoder_states.check_encoder_run(hub)


def test_file_names_are_the_bert_runs_own():
    from emotag.runs import layout

    assert encoder_states.MODEL_KERAS == layout.MODEL_KERAS
    assert encoder_states.ENCODER_JSON == layout.ENCODER


def test_sources_know_which_need_the_training_texts():
    assert sources.needs_train_texts("encoder:artifacts/minilm")
    assert sources.needs_train_texts("minilm-static+encoder:artifacts/minilm")
    assert sources.needs_train_texts("minilm-static+word2vec")
    assert not sources.needs_train_texts("minilm-static+wordllama")
    with pytest.raises(ValueError, match="train_token_lists"):
        sources.word_vectors(["sad"], "encoder:artifacts/minilm")


def test_bilstm_trains_and_serves_on_a_stack_with_encoder_vectors(
    encoder_run, tiny_data_dir, tmp_path
):
    from emotag.serving.predictor import Predictor

    source = f"word2vec+encoder:{encoder_run}"
    student = train_tiny_run(tiny_data_dir, tmp_path / "artifacts", embeddings=source,
                             embedding_dim=4, cache_dir=str(tmp_path / "cache"))  # fmt: skip
    info = json.loads((student / "embeddings.json").read_text())
    # both parts built from the training texts: word2vec's 4 columns and the encoder's 8
    assert info["source"] == source and info["dim"] == 4 + 8
    probs = Predictor.load(student).predict_proba(["thanks so much", "why is it sad"])
    assert probs.shape == (2, 28) and np.all((probs >= 0) & (probs <= 1))
