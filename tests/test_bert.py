"""Transformer fine-tuning: tiny encoders in Hugging Face and TF-Hub layouts, built here.

Each encoder is fine-tuned for one step on the tiny dataset, exported, and reloaded in
a fresh interpreter that imports only tensorflow and tensorflow_text.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import CUES, FILLER, serve_in_fresh_process

TEXTS = ["Thanks so much, I love it!", "why is this so sad", "", "haha 😂 lol", "wow " * 200]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HIDDEN, LAYERS, INTERMEDIATE, POSITIONS = 8, 2, 16, 64


def tiny_vocab() -> list[str]:
    """Special tokens, the tiny dataset's words, punctuation, and every letter (whole / ##)."""
    words = sorted({w.lower() for w in [*CUES, *FILLER] if w.isalpha()} | {"name"})
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = [*SPECIALS, *words, *"!?.,[]'", *letters, *("##" + c for c in letters)]
    return list(dict.fromkeys(tokens))  # "a" is a word and a letter


def write_tiny_hf_bert(root: Path, seed: int = 0) -> Path:
    """A random 2-layer BERT in Hugging Face layout, as sentence-transformers ship it."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    vocab = tiny_vocab()
    root.mkdir(parents=True)
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = {
        "model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(vocab),
        "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": 2,
        "intermediate_size": INTERMEDIATE, "max_position_embeddings": POSITIONS,
        "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0,
    }  # fmt: skip
    (root / "config.json").write_text(json.dumps(config))
    (root / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))

    def normal(*shape):
        return (0.2 * rng.standard_normal(shape)).astype("float32")

    tensors = {
        "embeddings.word_embeddings.weight": normal(len(vocab), HIDDEN),
        "embeddings.position_embeddings.weight": normal(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": normal(2, HIDDEN),
        "pooler.dense.weight": normal(HIDDEN, HIDDEN),
        "pooler.dense.bias": normal(HIDDEN),
    }
    norms = ["embeddings.LayerNorm"]
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):  # fmt: skip
            tensors[p + name + ".weight"] = normal(HIDDEN, HIDDEN)  # (out, in), as in torch
            tensors[p + name + ".bias"] = normal(HIDDEN)
        tensors[p + "intermediate.dense.weight"] = normal(INTERMEDIATE, HIDDEN)
        tensors[p + "intermediate.dense.bias"] = normal(INTERMEDIATE)
        tensors[p + "output.dense.weight"] = normal(HIDDEN, INTERMEDIATE)
        tensors[p + "output.dense.bias"] = normal(HIDDEN)
        norms += [p + "attention.output.LayerNorm", p + "output.LayerNorm"]
    for norm in norms:
        tensors[norm + ".weight"] = np.ones(HIDDEN, "float32")
        tensors[norm + ".bias"] = np.zeros(HIDDEN, "float32")
    save_file(tensors, str(root / "model.safetensors"))
    return root


def write_tiny_tfhub(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """A TF-Hub style encoder SavedModel and its preprocessing SavedModel.

    The encoder follows the reusable SavedModel API (`__call__(inputs, training)`,
    `variables`, `trainable_variables`) with TF Model Garden variable names; the
    preprocessor has the root call, `tokenize` and `bert_pack_inputs(seq_length=)`.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    rng = np.random.default_rng(seed)
    vocab = tiny_vocab()
    root.mkdir(parents=True)
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")

    def variable(name, *shape):
        return tf.Variable((0.3 * rng.standard_normal(shape)).astype("float32"), name=name)

    encoder = tf.train.Checkpoint()
    word = variable("word_embeddings/embeddings", len(vocab), HIDDEN)
    segment = variable("type_embeddings/embeddings", 2, HIDDEN)
    layers = [
        (variable(f"transformer/layer_{i}/dense/kernel", HIDDEN, HIDDEN),
         variable(f"transformer/layer_{i}/dense/bias", HIDDEN))
        for i in range(LAYERS)
    ]  # fmt: skip
    pooler = variable("pooler_transform/kernel", HIDDEN, HIDDEN)
    encoder.variables = [word, segment, *[v for pair in layers for v in pair], pooler]
    encoder.trainable_variables = list(encoder.variables)

    @tf.function
    def call(inputs, training=False):
        mask = tf.cast(inputs["input_mask"], tf.float32)[..., None]  # (batch, time, 1)
        x = tf.gather(word, inputs["input_word_ids"]) + tf.gather(segment, inputs["input_type_ids"])
        for kernel, bias in layers:
            # Each token mixes in the masked mean of the sequence: a one-line "attention".
            context = tf.reduce_sum(x * mask, axis=1, keepdims=True) / tf.reduce_sum(mask, 1, True)
            x = tf.tanh((x + context) @ kernel + bias) * mask  # (batch, time, hidden)
        return {"sequence_output": x, "pooled_output": tf.tanh(x[:, 0] @ pooler)}

    spec = tf.TensorSpec([None, None], tf.int32)
    inputs = {"input_word_ids": spec, "input_mask": spec, "input_type_ids": spec}
    for training in (False, True):
        call.get_concrete_function(inputs, training)
    encoder.__call__ = call
    tf.saved_model.save(encoder, str(root / "encoder"))

    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(vocab, tf.range(len(vocab), dtype=tf.int64)), -1
    )
    tokenizer = tf_text.BertTokenizer(table, token_out_type=tf.int32, lower_case=True)
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    preprocessor = tf.train.Checkpoint()
    preprocessor.table = table

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(text):
        return tokenizer.tokenize(text)  # ragged (batch, words, pieces) int32

    @tf.function(autograph=False)
    def pack(segments, seq_length=POSITIONS):
        pieces = [s.merge_dims(-2, -1) for s in segments]
        pieces = tf_text.RoundRobinTrimmer(seq_length - 1 - len(pieces)).trim(pieces)
        ids, types = tf_text.combine_segments(pieces, cls_id, sep_id)
        word_ids, mask = tf_text.pad_model_inputs(ids, seq_length)
        type_ids, _ = tf_text.pad_model_inputs(types, seq_length)
        return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids}

    ragged = tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2)
    pack.get_concrete_function([ragged], seq_length=tf.TensorSpec([], tf.int32))
    preprocessor.tokenize = tf.train.Checkpoint()
    preprocessor.tokenize.__call__ = tokenize
    preprocessor.bert_pack_inputs = tf.train.Checkpoint()
    preprocessor.bert_pack_inputs.__call__ = pack
    preprocessor.__call__ = tf.function(
        lambda text: pack([tokenize(text)], seq_length=tf.constant(POSITIONS)),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(preprocessor, str(root / "preprocess"))
    return root / "encoder", root / "preprocess"


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    return write_tiny_hf_bert(tmp_path_factory.mktemp("encoders") / "tiny_bert")


@pytest.fixture(scope="session")
def tiny_tfhub(tmp_path_factory) -> tuple[Path, Path]:
    return write_tiny_tfhub(tmp_path_factory.mktemp("encoders") / "tiny_tfhub")


# ---------------------------------------------------------------- fast: pieces


def test_warmup_linear_decay_values_and_config():
    import keras

    from emotag.training.schedules import WarmupLinearDecay

    schedule = WarmupLinearDecay(1e-3, warmup_steps=4, total_steps=12, end_ratio=0.1)
    # Warm-up: (s + 1) / 4 of the peak; decay: from the peak at s=4 to 10% at s=12.
    expected = [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 8.875e-4, 5.5e-4, 1e-4, 1e-4]
    got = [float(schedule(s)) for s in (0, 1, 2, 3, 4, 5, 8, 12, 100)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert restored.get_config() == schedule.get_config()
    optimizer = keras.optimizers.deserialize(
        keras.optimizers.serialize(keras.optimizers.AdamW(schedule))
    )
    assert float(optimizer.learning_rate) == pytest.approx(2.5e-4)  # schedule(0), restored
    with pytest.raises(ValueError):
        WarmupLinearDecay(1e-3, warmup_steps=5, total_steps=4)


def test_parse_config_flags_from_dataclass():
    from emotag.config import parse_config

    @dataclasses.dataclass
    class Config:
        name: str | None = None
        steps: int | None = None
        rate: float = 0.5
        flag: bool = True

    assert parse_config(Config, []) == Config()
    parsed = parse_config(Config, ["--name", "x", "--steps", "3", "--rate", "1e-4", "--no-flag"])
    assert parsed == Config(name="x", steps=3, rate=1e-4, flag=False)


def test_train_bert_defaults_parse():
    from emotag.training.bert import TrainConfig, parse_args

    config = parse_args(["--accumulate", "4", "--freeze-layers", "2", "--pooling", "cls"])
    assert config == TrainConfig(accumulate=4, freeze_layers=2, pooling="cls")
    with pytest.raises(SystemExit):
        parse_args(["--accumulate", "0"])


def test_steps_per_epoch_matches_the_bucketed_dataset():
    from emotag.text.batching import make_dataset
    from emotag.training.bert import steps_per_epoch

    rng = np.random.default_rng(0)
    ids = [np.ones(n, "int32") for n in rng.integers(1, 40, size=203)]
    labels = np.zeros((len(ids), 3), "float32")
    boundaries = (8, 16, 24)
    ds = make_dataset(ids, labels, 16, shuffle_seed=1, boundaries=boundaries)
    lengths = np.array([len(x) for x in ids])
    assert steps_per_epoch(lengths, 16, boundaries) == sum(1 for _ in ds)


def test_sequence_length_is_a_capped_percentile():
    from emotag.models.encoders import sequence_length

    lengths = np.arange(1, 101)
    assert sequence_length(lengths, 90, cap=512) == 91
    assert sequence_length(lengths, 99, cap=64) == 64
    assert sequence_length([1, 1], 50, cap=64) == 3  # room for [CLS] x [SEP]


def test_wordpiece_encoder_adds_special_tokens_and_cuts(tiny_bert_dir):
    import tensorflow as tf

    from emotag.models.encoders import encode_texts, load_encoder

    encoder = load_encoder(str(tiny_bert_dir))
    assert encoder.kind == "keras_hub" and encoder.default_pooling == "mean"
    assert encoder.max_len == POSITIONS
    vocab = tiny_vocab()
    text_encoder = encoder.make_text_encoder(5)
    ids = text_encoder(tf.constant(["thanks", "Thanks so much, I love it!"])).numpy()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    np.testing.assert_array_equal(ids[0], [cls, vocab.index("thanks"), sep, 0, 0])
    assert ids[1, 0] == cls and ids[1, -1] == sep and ids.shape == (2, 5)  # cut to max_len
    unpadded = encode_texts(text_encoder, ["thanks", "", "so so so so so"], batch_size=2)
    assert [len(x) for x in unpadded] == [3, 2, 5]


# ---------------------------------------------------------------- slow: models


@pytest.mark.slow
def test_classifier_round_trips_through_keras_file(tiny_bert_dir, tmp_path):
    import keras

    from emotag.models.encoder_classifier import build_encoder_classifier
    from emotag.models.encoders import load_encoder

    encoder = load_encoder(str(tiny_bert_dir))
    model = build_encoder_classifier(
        encoder.backbone, 3, pooling="mean", label_prior=[0.5, 0.1, 0.9]
    )
    ids = np.array([[2, 10, 3, 0, 0], [2, 11, 12, 13, 3]], "int32")
    expected = model.predict(ids, verbose=0)
    # Padding is masked: extra padding columns do not change the output.
    np.testing.assert_allclose(model.predict(np.pad(ids, [(0, 0), (0, 3)]), verbose=0), expected,
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(restored.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)

    frozen_before = len(model.non_trainable_weights)
    encoder.freeze(1)
    assert len(model.non_trainable_weights) > frozen_before
    assert not encoder.backbone.get_layer("transformer_layer_0").trainable
    assert encoder.backbone.get_layer("transformer_layer_1").trainable


@pytest.mark.slow
def test_hub_encoder_trains_the_saved_model_variables(tiny_tfhub):
    import keras

    from emotag.models.encoder_classifier import build_encoder_classifier
    from emotag.models.encoders import load_encoder

    encoder_dir, preprocess_dir = tiny_tfhub
    encoder = load_encoder(str(encoder_dir), str(preprocess_dir))
    assert encoder.kind == "tf_hub" and encoder.max_len == POSITIONS
    model = build_encoder_classifier(encoder.backbone, 3, pooling="cls")
    model.compile(keras.optimizers.SGD(1.0), "binary_crossentropy")
    module_kernel = encoder.backbone._module.variables[2]  # transformer/layer_0/dense/kernel
    before = module_kernel.numpy().copy()
    ids = np.array([[2, 10, 3, 0], [2, 11, 12, 3]], "int32")
    model.train_on_batch(ids, np.array([[1, 0, 1], [0, 1, 0]], "float32"))
    assert not np.allclose(module_kernel.numpy(), before)  # the SavedModel's own variable

    assert encoder.freeze(1) == 4  # 2 embeddings + layer_0 kernel and bias
    names = {w.name for w in model.non_trainable_weights}
    assert "transformer_layer_0_dense_kernel" in names
    assert "transformer_layer_1_dense_kernel" not in names


def _train_tiny(tiny_data_dir, output_dir: Path, **overrides) -> Path:
    from emotag.training.bert import TrainConfig, train

    settings = dict(epochs=1, max_steps_per_epoch=1, batch_size=16, verbose=0)
    config = TrainConfig(
        data_dir=str(tiny_data_dir), output_dir=str(output_dir), **{**settings, **overrides}
    )
    return train(config)


@pytest.fixture(scope="module")
def keras_hub_run(tiny_data_dir, tiny_bert_dir, tmp_path_factory) -> Path:
    # Two batches accumulated into one optimizer step, first layer frozen.
    return _train_tiny(
        tiny_data_dir, tmp_path_factory.mktemp("artifacts"), encoder=str(tiny_bert_dir),
        run_name="tiny-bert", max_steps_per_epoch=2, accumulate=2, freeze_layers=1,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tfhub_run(tiny_data_dir, tiny_tfhub, tmp_path_factory) -> Path:
    encoder_dir, preprocess_dir = tiny_tfhub
    return _train_tiny(
        tiny_data_dir, tmp_path_factory.mktemp("artifacts"), encoder=str(encoder_dir),
        preprocessor=str(preprocess_dir), run_name="tiny-tfhub", loss="cb_focal",
    )  # fmt: skip


def _in_memory_probabilities(run_dir: Path) -> np.ndarray:
    """The run's Keras model, rebuilt from its files, fed by the eager text encoder."""
    import keras
    import tensorflow as tf

    from emotag.models.encoder_classifier import build_encoder_classifier
    from emotag.models.encoders import load_encoder

    meta = json.loads((run_dir / "encoder.json").read_text())
    encoder = load_encoder(meta["encoder"], meta["preprocessor"])
    if (run_dir / "model.keras").exists():
        model = keras.saving.load_model(run_dir / "model.keras")
    else:
        labels = (run_dir / "labels.txt").read_text().split()
        model = build_encoder_classifier(encoder.backbone, len(labels), pooling=meta["pooling"])
        model.load_weights(run_dir / "model.weights.h5")
    ids = encoder.make_text_encoder(meta["max_len"])(tf.constant(TEXTS))
    return model.predict(ids, verbose=0)


def _served_in_fresh_process(saved_model: Path) -> dict:
    # tensorflow_text registers the WordPiece ops the exported tokenizer uses.
    return serve_in_fresh_process(saved_model, TEXTS, extra_imports=("tensorflow_text",))


@pytest.mark.slow
@pytest.mark.parametrize("run_fixture", ["keras_hub_run", "tfhub_run"])
def test_exported_model_matches_in_memory_model(run_fixture, request):
    run_dir = request.getfixturevalue(run_fixture)
    for name in ["saved_model", "per_class_thresholds.npy", "thresholds.json", "labels.txt",
                 "train_config.json", "run_info.json", "overall_metrics.json", "encoder.json",
                 "per_class_report.csv", "predictions_test.tsv", "history.json"]:  # fmt: skip
        assert (run_dir / name).exists(), name
    assert (run_dir / "model.keras").exists() or (run_dir / "model.weights.h5").exists()
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")]

    served = _served_in_fresh_process(run_dir / "saved_model")
    assert served["names"] == (run_dir / "labels.txt").read_text().split()
    expected = _in_memory_probabilities(run_dir)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-4, atol=1e-5)
    thresholds = np.load(run_dir / "per_class_thresholds.npy")
    if not json.loads((run_dir / "thresholds.json").read_text())["at_least_one"]:
        np.testing.assert_array_equal(
            np.array(served["labels"]) == 1, np.array(served["probabilities"]) >= thresholds
        )


@pytest.mark.slow
def test_run_info_records_the_training_setup(keras_hub_run, tfhub_run):
    info = json.loads((keras_hub_run / "run_info.json").read_text())
    assert info["model"] == "bert" and info["pooling"] == "mean" and info["epochs_run"] == 1
    assert info["steps_per_epoch"] == 2 and info["max_len"] <= POSITIONS
    # --epochs 1 caps it; patience scales: 200 updates at 1 update an epoch -> at most 2.
    budget = info["epoch_budget"]
    assert (budget["epochs"], budget["epochs_rule"]) == (1, "--epochs")
    assert (budget["patience"], budget["patience_rule"]) == (2, "data size")
    # The rule counts optimizer updates: 2 batches accumulated in pairs are one update.
    assert budget["steps_per_epoch"] == 1
    assert info["stop_reason"] == (
        "the epoch cap (1, --epochs), still improving at the last epoch: more epochs may help"
    )
    config = json.loads((keras_hub_run / "train_config.json").read_text())
    assert config["accumulate"] == 2 and config["freeze_layers"] == 1
    assert json.loads((tfhub_run / "encoder.json").read_text())["kind"] == "tf_hub"
    assert json.loads((tfhub_run / "run_info.json").read_text())["pooling"] == "cls"


@pytest.mark.slow
def test_predictor_cli_and_evaluate_work_unchanged(keras_hub_run, tiny_data_dir):
    from emotag.commands.evaluate import EvaluateConfig, evaluate
    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(keras_hub_run)
    probs = predictor.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), 28) and not predictor.can_explain
    np.testing.assert_allclose(
        Predictor.load(keras_hub_run, batch_size=2).predict_proba(TEXTS), probs,
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip
    report = evaluate(
        EvaluateConfig(model=str(keras_hub_run), split="test", data_dir=str(tiny_data_dir))
    )
    trained = json.loads((keras_hub_run / "overall_metrics.json").read_text())
    assert report["macro"]["f1"] == pytest.approx(trained["macro"]["f1"], abs=1e-6)


@pytest.mark.slow
def test_predictor_imports_tensorflow_text_only_when_needed(keras_hub_run, tmp_path):
    script = (
        "import sys\n"
        "from emotag.serving.predictor import Predictor\n"
        "assert 'tensorflow_text' not in sys.modules\n"
        "p = Predictor.load(sys.argv[1])\n"
        "assert 'tensorflow_text' in sys.modules\n"
        "print(p.predict(['thanks a lot'])[0].labels)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(keras_hub_run)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(tmp_path),
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_bert_trains_on_any_label_set(tiny_bert_dir, tmp_path):
    from emotag.serving.predictor import Predictor
    from emotag.training.bert import TrainConfig, short_name, train

    examples = [("so glad and happy", "glee"), ("this is awful", "gloom"), ("nothing", "")]
    for split, n in (("train", 30), ("test", 4)):
        rows = [f"{text} {i}\t{labels}" for i in range(n) for text, labels in examples]
        (tmp_path / f"{split}.tsv").write_text("\n".join(["text\tlabels", *rows]) + "\n")
    config = TrainConfig(
        dataset="csv", train_file=str(tmp_path / "train.tsv"),
        test_file=str(tmp_path / "test.tsv"), labels_col="labels", encoder=str(tiny_bert_dir),
        epochs=1, max_steps_per_epoch=2, batch_size=16, verbose=0,
        output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    run_dir = train(config)
    assert run_dir.name == f"bert-{short_name(str(tiny_bert_dir))}-csv-s42"
    assert (run_dir / "labels.txt").read_text().split() == ["glee", "gloom"]
    assert Predictor.load(run_dir).predict_proba(["so glad"]).shape == (1, 2)
    assert "label set it was trained on" in (run_dir / "MODEL_CARD.md").read_text()
