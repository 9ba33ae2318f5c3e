"""Tests for emotag.embeddings.vocabulary: closed and open vocabularies on tiny data.

Sources are a tiny GloVe file (a whole-word source, its lines in frequency order), the
tiny BERT of test_embeddings (a subword source, with wordfreq's real English list), and
a one-epoch BiLSTM run on the tiny GoEmotions whose SavedModel is then read by a process
that imports TensorFlow only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotag.embeddings import subword_vectors
from emotag.embeddings.vocabulary import build_vocabulary, first_tokens, oov_rate
from emotag.text.preprocessing import PreprocessConfig, TextNormalizer
from emotag.text.tokenizer import WordTokenizer
from test_embeddings import tiny_bert  # noqa: F401  (a fixture)

# happy, sad, zzqx x2; table, wombat, qqq x1. The vector file knows neither zzqx nor qqq.
TRAIN = ["happy sad zzqx", "happy table", "sad zzqx wombat qqq"]
# File order = frequency order, as in GloVe releases. "don't" and "2012" are never tokens
# of the normaliser ("do not", "<number>"), so the open list must skip them.
GLOVE = {
    "the": [0.0, 0.0, 1.0],
    "happy": [1.0, 0.0, 0.5],
    "don't": [0.5, 0.5, 0.5],
    "sad": [-1.0, 0.0, 0.5],
    "2012": [0.1, 0.1, 0.1],
    "joyful": [0.9, 0.1, 0.4],
    "table": [0.3, 0.3, 0.3],
    "wombat": [0.2, -0.2, 0.0],
}


def write_glove(path: Path, vectors: dict[str, list[float]] = GLOVE) -> Path:
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()))
    return path


@pytest.fixture(scope="module")
def normalizer():
    return TextNormalizer(PreprocessConfig().resolved())


@pytest.fixture(scope="module")
def all_words(normalizer):
    return WordTokenizer.fit(TRAIN, normalizer, min_count=1, length_percentile=100)


def test_closed_keeps_frequent_training_words_only(all_words, normalizer, tmp_path):
    glove = str(write_glove(tmp_path / "tiny.txt"))
    tokenizer, embedding = build_vocabulary(
        all_words, glove, "closed", min_count=2, normalizer=normalizer, cache_dir=tmp_path
    )
    assert tokenizer.word_index == {"happy": 2, "sad": 3, "zzqx": 4}
    assert tokenizer.max_len == 4
    assert embedding.matrix.shape == (5, 3)
    assert embedding.vocabulary == {
        "kind": "closed", "min_count": 2, "train_words": 3, "open_words": 0,
    }  # fmt: skip


def test_open_adds_rare_pretrained_and_list_words(all_words, normalizer, tmp_path):
    glove = str(write_glove(tmp_path / "tiny.txt"))
    tokenizer, embedding = build_vocabulary(
        all_words, glove, "open", min_count=2, open_size=4, normalizer=normalizer,
        cache_dir=tmp_path,
    )  # fmt: skip
    # Train words by count (zzqx stays: frequent, so it gets a trained row; qqq, rare and
    # unknown to the file, goes), then the file's first 4 tokens (the, happy, sad,
    # joyful: "don't" and "2012" skipped) less those already in.
    words = ["happy", "sad", "zzqx", "table", "wombat", "the", "joyful"]
    assert list(tokenizer.word_index) == words
    assert list(tokenizer.word_index.values()) == list(range(2, 9))
    assert tokenizer.word_counts["table"] == 1 and tokenizer.word_counts["joyful"] == 0
    m = embedding.matrix
    for word in ("happy", "table", "wombat", "the", "joyful"):
        np.testing.assert_allclose(m[tokenizer.word_index[word]], GLOVE[word])
    assert embedding.vocabulary == {
        "kind": "open", "min_count": 2, "train_words": 5, "open_words": 2,
        "rare_train_words": 2, "open_list": f"{glove} (first words)", "open_size": 4,
    }  # fmt: skip
    assert (embedding.n_words, embedding.n_found, embedding.top_misses) == (7, 6, ["zzqx"])
    # happy, sad, zzqx (x2) and table, wombat (x1) of 8 counted tokens have a vector but zzqx.
    assert embedding.token_coverage == pytest.approx(6 / 8)


def test_open_vocabulary_of_a_stack_takes_the_first_parts_list(all_words, normalizer, tmp_path):
    # The normaliser shortens "qqq" to "qq" (a repeated letter), a rare training word.
    extra = write_glove(tmp_path / "extra.txt", {"qq": [1.0, 1.0], "joyful": [0.0, 1.0]})
    glove = write_glove(tmp_path / "tiny.txt")
    tokenizer, embedding = build_vocabulary(
        all_words, f"{extra}+{glove}", "open", min_count=2, open_size=2,
        normalizer=normalizer, cache_dir=tmp_path,
    )  # fmt: skip
    # The open list is extra.txt's (qq, already a training word, then joyful); a rare
    # training word stays when any part knows it (table, wombat: the GloVe file; qq:
    # extra.txt), and zzqx, known to neither, stays for its count.
    assert list(tokenizer.word_index) == ["happy", "sad", "zzqx", "qq", "table", "wombat", "joyful"]
    assert embedding.vocabulary["open_list"] == f"{extra} (first words)"
    assert (embedding.vocabulary["open_words"], embedding.vocabulary["rare_train_words"]) == (1, 3)
    m = embedding.matrix
    assert m.shape == (9, 5) and (embedding.n_found, embedding.top_misses) == (6, ["zzqx"])
    np.testing.assert_allclose(m[tokenizer.word_index["joyful"], :2], [0.0, 1.0])
    np.testing.assert_allclose(m[tokenizer.word_index["qq"], :2], [1.0, 1.0])


def test_open_vocabulary_of_a_stack_reads_each_vector_file_once(
    all_words, normalizer, tmp_path, monkeypatch
):
    # The first part gives the open list and its vectors from one read of its file;
    # the second part is read for its vectors only: two reads for two files.
    from emotag.embeddings import keyed_vectors

    extra = write_glove(tmp_path / "extra.txt", {"qq": [1.0, 1.0], "joyful": [0.0, 1.0]})
    glove = write_glove(tmp_path / "tiny.txt")
    reads = []
    real = keyed_vectors.load_keyed_vectors

    def counted(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(keyed_vectors, "load_keyed_vectors", counted)
    tokenizer, embedding = build_vocabulary(
        all_words, f"{extra}+{glove}", "open", min_count=2, open_size=2,
        normalizer=normalizer, cache_dir=tmp_path,
    )  # fmt: skip
    assert sorted(reads) == ["extra.txt", "tiny.txt"]
    assert embedding.vocabulary["open_list"] == f"{extra} (first words)"
    np.testing.assert_allclose(embedding.matrix[tokenizer.word_index["joyful"], :2], [0.0, 1.0])


def test_open_with_a_source_that_knows_nothing_is_closed(all_words, normalizer, tmp_path):
    closed, _ = build_vocabulary(all_words, "random", "closed", min_count=2, dim=4)
    opened, embedding = build_vocabulary(
        all_words, "random", "open", min_count=2, dim=4, normalizer=normalizer
    )
    assert opened == closed and embedding.vocabulary["open_words"] == 0


def test_unknown_vocabulary_and_missing_normalizer_are_refused(all_words, tmp_path):
    with pytest.raises(ValueError, match="vocabulary must be one of"):
        build_vocabulary(all_words, "random", "ajar")
    with pytest.raises(ValueError, match="normalizer"):
        build_vocabulary(all_words, str(write_glove(tmp_path / "g.txt")), "open")


def test_first_tokens_follows_the_list_order_and_skips_non_tokens(normalizer):
    words = ["The", "the", "can't", "ok", "<url>", "...", "a b", "fine", "ok"]
    # The normaliser lowercases "The" and expands "can't"; "<url>" is a token as it is.
    assert first_tokens(words, 3, normalizer, batch_size=2) == ["the", "ok", "<url>"]
    assert first_tokens(words, 10, normalizer) == ["the", "ok", "<url>", "fine"]
    assert first_tokens(iter([]), 5, normalizer) == []


def test_wordfreq_list_starts_with_the_most_frequent_english_words(normalizer):
    import wordfreq

    assert first_tokens(wordfreq.iter_wordlist("en"), 5, normalizer) == [
        "the", "to", "and", "of", "a",
    ]  # fmt: skip


def test_subword_source_takes_wordfreq_words_it_can_spell(
    all_words, normalizer, tmp_path, monkeypatch, request
):
    bert_dir = request.getfixturevalue("tiny_bert")
    monkeypatch.setattr(subword_vectors, "minilm_model_dir", lambda: bert_dir)
    tokenizer, embedding = build_vocabulary(
        all_words, "minilm-static", "open", min_count=2, open_size=5, normalizer=normalizer,
        cache_dir=tmp_path,
    )  # fmt: skip
    # Of wordfreq's first five (the, to, and, of, a) the tiny WordPiece vocabulary spells
    # only "the"; of the rare training words only "table" (wombat, qqq are all [UNK]).
    assert list(tokenizer.word_index) == ["happy", "sad", "zzqx", "table", "the"]
    assert embedding.vocabulary["open_list"] == "wordfreq-en"
    assert (embedding.vocabulary["open_words"], embedding.vocabulary["rare_train_words"]) == (1, 1)


def test_oov_rate_counts_tokens():
    assert oov_rate([["a", "b"], ["a", "c", "d"]], {"a": 2, "c": 3}) == pytest.approx(2 / 5)
    assert oov_rate([], {"a": 2}) == 0.0


# ----------------------------------------------------------- the exported SavedModel


def token_ids_in_fresh_process(saved_model: Path, texts: list[str]) -> list[list[int]]:
    """The SavedModel's `token_ids` endpoint, called by an interpreter importing only TF."""
    script = (
        "import json, sys\n"
        "import tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "out = m.token_ids(tf.constant(json.loads(sys.argv[2])))\n"
        "assert not any(k.startswith(('emotag', 'keras_hub')) for k in sys.modules), 'imported'\n"
        "print(json.dumps(out['token_ids'].numpy().tolist()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(saved_model), json.dumps(texts)],
        capture_output=True, text=True, timeout=300, cwd="/",
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("stacked", [False, True], ids=["one-file", "stack"])
def test_saved_model_looks_up_a_word_unseen_in_train(tiny_data_dir, tmp_path, stacked):
    from emotag.training.bilstm import TrainConfig, train

    # Tiny-data training words (conftest) and two words the data never holds.
    known = ["the", "thanks", "love", "sad", "is", "so", "joyful", "wombat"]
    vectors = {w: [float(i), 1.0 - i / 10, 0.5] for i, w in enumerate(known)}
    source = str(write_glove(tmp_path / "tiny.txt", vectors))
    if stacked:  # a second, 2-d file after it: the run's rows are 5 wide
        other = {w: [float(len(w)), -1.0] for w in ("love", "sad", "wombat")}
        source += "+" + str(write_glove(tmp_path / "other.txt", other))
    config = TrainConfig(
        data_dir=str(tiny_data_dir), embeddings=source, vocabulary="open",
        open_vocab_size=len(known), epochs=1, lstm_units=4, attention_units=4, batch_size=32,
        output_dir=str(tmp_path / "runs"), run_name="open", verbose=0, backup_every=0,
    )  # fmt: skip
    run_dir = train(config)
    tokenizer = WordTokenizer.load(run_dir / "tokenizer.pkl")
    unseen = [tokenizer.word_index[w] for w in ("joyful", "wombat")]
    assert tokenizer.word_counts["joyful"] == 0 and min(unseen) > 1 and unseen[0] != unseen[1]
    summary = json.loads((run_dir / "embeddings.json").read_text())
    assert summary["vocabulary"]["open_words"] == 2
    assert (summary["source"], summary["dim"]) == (source, 5 if stacked else 3)

    ids = token_ids_in_fresh_process(run_dir / "saved_model", ["Joyful wombat zzqx!"])
    assert ids == [[*unseen, 1, tokenizer.word_index["!"]]]
    # The Keras model embeds them with their pretrained vectors.
    import keras

    model = keras.saving.load_model(run_dir / "model.keras")
    table = keras.ops.convert_to_numpy(model.get_layer("embedding").embeddings)
    np.testing.assert_allclose(table[unseen, :3], [vectors["joyful"], vectors["wombat"]])
    assert table.shape[1] == (5 if stacked else 3)
