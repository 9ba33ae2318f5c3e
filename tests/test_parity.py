"""Token ids computed eagerly in Python vs inside the loaded SavedModel, on every dev text.

The tiny run's vocabulary comes from the tiny fixture, so most real dev words map to
<unk>; the token strings are compared too (through `explain`), which checks the whole
normalisation independently of the vocabulary.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dev_texts():
    root = os.environ.get("GOEMOTIONS_DIR")
    if not root or not (Path(root) / "dev.tsv").exists():
        pytest.skip("GOEMOTIONS_DIR with the full dev.tsv is not available")
    from emotag.data.goemotions import load_goemotions

    return load_goemotions(root, taxonomy="fine").dev.texts


@pytest.fixture(scope="module")
def encoder(tiny_run_dir):
    from emotag.text.preprocessing import PreprocessConfig
    from emotag.text.tokenizer import TextEncoder, WordTokenizer

    config, _ = PreprocessConfig.load(tiny_run_dir / "preprocess_config.json")
    return TextEncoder(config, WordTokenizer.load(tiny_run_dir / "tokenizer.pkl"))


@pytest.fixture(scope="module")
def saved_model(tiny_run_dir):
    import tensorflow as tf

    return tf.saved_model.load(str(tiny_run_dir / "saved_model"))


def test_token_ids_identical_on_every_dev_text(dev_texts, encoder, saved_model):
    import tensorflow as tf

    eager = encoder.encode(dev_texts)  # the Python-side path used for training data
    served = []
    for start in range(0, len(dev_texts), 1024):
        out = saved_model.token_ids(tf.constant(dev_texts[start : start + 1024]))
        ids, lengths = out["token_ids"].numpy(), out["lengths"].numpy()
        served.extend(row[:n] for row, n in zip(ids, lengths))
    same = [np.array_equal(a, b) for a, b in zip(eager, served)]
    share = float(np.mean(same))
    print(f"token ids identical for {sum(same)}/{len(same)} dev texts ({share:.2%})")
    mismatches = [dev_texts[i] for i, ok in enumerate(same) if not ok][:5]
    assert share == 1.0, mismatches


def test_tokens_identical_on_every_dev_text(dev_texts, encoder, saved_model):
    import tensorflow as tf

    same = 0
    for start in range(0, len(dev_texts), 1024):
        batch = tf.constant(dev_texts[start : start + 1024])
        eager = [[t.decode() for t in row] for row in encoder.tokens(batch).to_list()]
        served = saved_model.explain(batch)["tokens"].numpy()
        for a, b in zip(eager, served):
            same += a == [t.decode() for t in b if t]
    print(f"tokens identical for {same}/{len(dev_texts)} dev texts")
    assert same == len(dev_texts)


def test_served_probabilities_match_keras_model(dev_texts, encoder, saved_model, tiny_run_dir):
    """The fused serving graph computes what model.keras computes."""
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(tiny_run_dir / "model.keras")
    batches = [tf.constant(dev_texts[s : s + 512]) for s in range(0, 2048, 512)]
    expected = np.concatenate([model(encoder(b), training=False) for b in batches])
    served = np.concatenate([saved_model.serve(b)["probabilities"] for b in batches])
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
