import pickle

import numpy as np
import pytest
import tensorflow as tf

from emotag.text.preprocessing import PreprocessConfig, TextNormalizer
from emotag.text.tokenizer import TextEncoder, WordTokenizer, restricted_loads

TEXTS = ["I love it", "I love you so much", "you are great", "love love love", "great"]


@pytest.fixture(scope="module")
def config():
    return PreprocessConfig().resolved()


@pytest.fixture(scope="module")
def tokenizer(config):
    return WordTokenizer.fit(TEXTS, TextNormalizer(config), min_count=2, length_percentile=100)


def test_fit_counts_and_orders_by_frequency(tokenizer):
    # love x5, i x2, you x2, great x2; ties alphabetical; singletons dropped
    assert tokenizer.word_index == {"love": 2, "great": 3, "i": 4, "you": 5}
    assert tokenizer.word_counts["love"] == 5
    assert tokenizer.max_len == 5  # longest text has 5 tokens
    assert tokenizer.vocab_size == 6


def test_save_load_identity(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "tokenizer.pkl")
    assert WordTokenizer.load(tmp_path / "tokenizer.pkl") == tokenizer


def test_restricted_unpickler_refuses_crafted_pickle(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    data = pickle.dumps({"word_index": Evil()})
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        restricted_loads(data)
    path = tmp_path / "tokenizer.pkl"
    path.write_bytes(pickle.dumps(np.zeros(2)))  # a numpy array is not a plain container
    with pytest.raises(pickle.UnpicklingError):
        WordTokenizer.load(path)


def test_load_rejects_wrong_format(tmp_path):
    path = tmp_path / "tokenizer.pkl"
    path.write_bytes(pickle.dumps({"format_version": 7}))
    with pytest.raises(ValueError, match="format"):
        WordTokenizer.load(path)


def test_encoder_pads_truncates_and_maps_oov(config, tokenizer):
    encoder = TextEncoder(config, WordTokenizer(tokenizer.word_index, tokenizer.word_counts, 3))
    ids = encoder(tf.constant(["love you zebra great", "great", ""])).numpy()
    np.testing.assert_array_equal(ids, [[2, 5, 1], [3, 0, 0], [0, 0, 0]])
    assert [list(x) for x in encoder.encode(["love you zebra great", ""])] == [[2, 5, 1], []]


def test_encoder_width_is_at_least_one(config, tokenizer):
    encoder = TextEncoder(config, tokenizer)
    assert encoder(tf.constant(["", "  "])).shape == (2, 1)


@pytest.mark.parametrize("keep", [0, 10, -3])
def test_a_truncated_tokenizer_pkl_is_named(tokenizer, tmp_path, keep):
    path = tmp_path / "tokenizer.pkl"
    tokenizer.save(path)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(pickle.UnpicklingError, match=f"{path}: "):
        WordTokenizer.load(path)
