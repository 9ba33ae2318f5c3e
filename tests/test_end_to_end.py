"""Train one epoch on tiny data, export, and reload the SavedModel with plain TensorFlow."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from conftest import serve_in_fresh_process
from emotag.runs.layout import BILSTM, KIND_FILES, RUN_FILES

pytestmark = pytest.mark.slow

TEXTS = ["Thanks so much, I love it!", "why is this so sad", "", "haha 😂 lol", "x" * 500]


@pytest.fixture(scope="module")
def run_dir(tiny_run_dir):
    return tiny_run_dir


def test_run_directory_is_complete(run_dir):
    for name in (*RUN_FILES, *KIND_FILES[BILSTM], "model.keras", "tokenizer.pkl"):
        assert (run_dir / name).exists(), name
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left
    assert np.load(run_dir / "per_class_thresholds.npy").shape == (28,)
    metrics = json.loads((run_dir / "overall_metrics.json").read_text())
    assert set(metrics) >= {"macro", "micro", "weighted", "samples"}
    header = (run_dir / "predictions_test.tsv").read_text().splitlines()[0].split("\t")
    assert header[:4] == ["id", "text", "gold", "predicted"] and header[4] == "admiration"


def test_plain_tensorflow_process_matches_in_memory_model(run_dir):
    import keras
    import tensorflow as tf

    from emotag.text.preprocessing import PreprocessConfig
    from emotag.text.tokenizer import TextEncoder, WordTokenizer

    # The in-memory side: the Keras model fed by the eager Python-side encoder.
    model = keras.saving.load_model(run_dir / "model.keras")
    config, _ = PreprocessConfig.load(run_dir / "preprocess_config.json")
    encoder = TextEncoder(config, WordTokenizer.load(run_dir / "tokenizer.pkl"))
    expected = model.predict(encoder(tf.constant(TEXTS)), verbose=0)

    # The other side: a fresh interpreter that imports TensorFlow and nothing of ours.
    served = serve_in_fresh_process(run_dir / "saved_model", TEXTS)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)
    thresholds = np.load(run_dir / "per_class_thresholds.npy")
    np.testing.assert_array_equal(
        np.array(served["labels"]) == 1, np.array(served["probabilities"]) >= thresholds
    )


def test_predictor_and_cli(run_dir):
    from emotag.commands.predict import InferenceConfig, run
    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(run_dir)
    probs = predictor.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), 28) and np.all((probs >= 0) & (probs <= 1))
    # Sorting by length for batching must not reorder the results.
    np.testing.assert_allclose(
        Predictor.load(run_dir, batch_size=2).predict_proba(TEXTS), probs, rtol=1e-5, atol=1e-6
    )
    explained = predictor.explain(["thanks a lot"])[0]
    assert [t for t, _ in explained] == ["thanks", "a", "lot"]
    assert abs(sum(w for _, w in explained) - 1) < 1e-5

    out = io.StringIO()
    run(
        InferenceConfig(model=str(run_dir), texts=[], json=True),
        out=out,
        stdin=io.StringIO("I love it\nwhy?\n"),
    )
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["text"] for r in records] == ["I love it", "why?"]
    assert all(set(r["probabilities"]) == set(predictor.label_names) for r in records)


def test_evaluate_script_reproduces_training_metrics(run_dir, tiny_data_dir):
    from emotag.commands.evaluate import EvaluateConfig, evaluate

    report = evaluate(EvaluateConfig(model=str(run_dir), split="test", data_dir=str(tiny_data_dir)))
    trained = json.loads((run_dir / "overall_metrics.json").read_text())
    assert report["macro"]["f1"] == pytest.approx(trained["macro"]["f1"], abs=1e-6)
    assert (run_dir / "eval_test" / "per_class_f1.png").stat().st_size > 0


def test_cli_serves_a_bilstm_run_with_one_intra_op_thread(run_dir):
    """Before TensorFlow starts, the CLI sizes its pool for the run; later it cannot."""
    import subprocess
    import sys

    code = f"""
import io, sys
sys.argv = ["inference.py", "--model", {str(run_dir)!r}, "--json", "thanks!"]
import tensorflow as tf
import emotag.commands.predict as inference
from emotag.serving.predictor import configure_threads
out = io.StringIO()
inference.run(inference.parse_args(sys.argv[1:]), out=out)
assert '"labels"' in out.getvalue(), out.getvalue()
print(tf.config.threading.get_intra_op_parallelism_threads())
print(configure_threads({str(run_dir)!r}, 2))  # TensorFlow has started: refused
print(tf.config.threading.get_intra_op_parallelism_threads())
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1", "False", "1"]


def test_other_runs_keep_the_default_pool(tmp_path):
    from emotag.serving.predictor import configure_threads, serving_intra_op_threads

    assert serving_intra_op_threads(tmp_path) is None  # no tokenizer.pkl: BERT or TF-IDF
    assert configure_threads(tmp_path) is False
    assert configure_threads(tmp_path, 0) is False


def test_label_attention_run_serves_in_plain_tensorflow_and_explains(tiny_data_dir, tmp_path):
    import keras
    import tensorflow as tf

    from conftest import train_tiny_run
    from emotag.serving.predictor import Predictor
    from emotag.text.preprocessing import PreprocessConfig
    from emotag.text.tokenizer import TextEncoder, WordTokenizer

    run_dir = train_tiny_run(tiny_data_dir, tmp_path, "labelatt", pooling="label-attention")
    model = keras.saving.load_model(run_dir / "model.keras")
    assert model.get_layer("label_attention").num_labels == 28
    config, _ = PreprocessConfig.load(run_dir / "preprocess_config.json")
    encoder = TextEncoder(config, WordTokenizer.load(run_dir / "tokenizer.pkl"))
    expected = model.predict(encoder(tf.constant(TEXTS)), verbose=0)
    # the SavedModel serves through the fused twin, in a process without our code
    served = serve_in_fresh_process(run_dir / "saved_model", TEXTS)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)
    explained = Predictor.load(run_dir).explain(["thanks a lot"])[0]
    assert [t for t, _ in explained] == ["thanks", "a", "lot"]
    assert abs(sum(w for _, w in explained) - 1) < 1e-5
    assert json.loads((run_dir / "train_config.json").read_text())["pooling"] == "label-attention"


def test_head_units_with_label_attention_is_refused_before_training():
    from emotag.training.bilstm import parse_args

    with pytest.raises(ValueError, match="--head-units"):
        parse_args(["--pooling", "label-attention", "--head-units", "64"])
    assert parse_args(["--pooling", "label-attention"]).pooling == "label-attention"
