"""TF-IDF + logistic-regression baseline: hand-checked TF-IDF, sklearn parity, export."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer

import emotag
from conftest import serve_in_fresh_process
from emotag.models.tfidf import TfidfClassifier, word_ngrams
from emotag.runs.layout import KIND_FILES, RUN_FILES, TFIDF
from emotag.text.preprocessing import PreprocessConfig
from emotag.training.baseline import BaselineConfig, make_vectorizer, parse_args

# Edge cases on top of the fixture's test split: empty, unseen words only, repeats
# (sublinear tf), an emoji, case and punctuation the normaliser rewrites, a long text.
TEXTS = [
    "",
    "zzz qqq",
    "Thanks thanks THANKS, I love it!!",
    "why is this so sad 😂",
    "haha lol " * 100,
    "I can't believe it... wow",
]

# A toy corpus whose TF-IDF is worked out by hand (smooth idf, n = 3 texts):
# idf(good) = idf(day) = ln(4/3) + 1, idf(bad) = ln(4/2) + 1.
TOY = ["Good GOOD day", "bad Day", "good"]
IDF = {"bad": math.log(2) + 1, "day": math.log(4 / 3) + 1, "good": math.log(4 / 3) + 1}


def _toy_expected(sublinear: bool) -> np.ndarray:
    """(3, 3) L2-normalised TF-IDF; columns bad, day, good."""
    tf_good = 1 + math.log(2) if sublinear else 2.0  # "good" twice in text 0
    rows = np.array(
        [[0.0, IDF["day"], tf_good * IDF["good"]], [IDF["bad"], IDF["day"], 0.0], [0, 0, 1.0]]
    )
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def preprocess():
    return PreprocessConfig().resolved()


def test_word_ngrams_match_sklearn():
    tokens = "a b c d".split()
    for ngram_range in [(1, 1), (1, 2), (2, 3), (1, 5)]:
        analyzer = TfidfVectorizer(
            tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=ngram_range
        ).build_analyzer()
        assert word_ngrams(tokens, ngram_range) == analyzer("a b c d")
    assert word_ngrams(["a"], (2, 2)) == []


@pytest.mark.parametrize("sublinear", [False, True])
def test_tfidf_by_hand(preprocess, sublinear):
    from emotag.text.preprocessing import TextNormalizer
    from emotag.training.baseline import tokenize

    expected = _toy_expected(sublinear)
    tokens = tokenize(TOY, TextNormalizer(preprocess), "toy")
    assert tokens == [["good", "good", "day"], ["bad", "day"], ["good"]]
    # sklearn's conventions are the hand-computed ones ...
    vectorizer = make_vectorizer((1, 1), BaselineConfig(min_df=1, sublinear_tf=sublinear))
    np.testing.assert_allclose(vectorizer.fit_transform(tokens).toarray(), expected, atol=1e-12)
    np.testing.assert_allclose(vectorizer.idf_, [IDF["bad"], IDF["day"], IDF["good"]])
    # ... and so are the graph's, from raw strings.
    coef = np.array([[1.0, 2.0, 3.0]])
    model = TfidfClassifier(
        preprocess, ["bad", "day", "good"], [IDF["bad"], IDF["day"], IDF["good"]],
        coef, intercept=np.array([0.5]), sublinear_tf=sublinear,
    )  # fmt: skip
    texts = tf.constant([*TOY, "", "unseen words!"])
    features = tf.sparse.to_dense(model.features(texts)).numpy()
    np.testing.assert_allclose(features[:3], expected, atol=1e-12)
    np.testing.assert_array_equal(features[3:], 0.0)  # no known term: an all-zero row
    logits = np.append(expected @ coef[0], [0.0, 0.0]) + 0.5  # a zero row scores the intercept
    np.testing.assert_allclose(model(texts).numpy()[:, 0], 1 / (1 + np.exp(-logits)), rtol=1e-6)


def test_parse_args_rejects_bad_grids():
    assert parse_args(["--c", "0.5,2", "--ngram-range", "1-2,1"]).c == "0.5,2"
    for bad in (["--c", "0"], ["--ngram-range", "2-1"], ["--class-weight", "auto"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


@pytest.fixture(scope="module")
def trained(tiny_data_dir, tmp_path_factory):
    """A tiny baseline run, plus sklearn refitted with the chosen settings."""
    from emotag.data.goemotions import load_goemotions
    from emotag.text.preprocessing import TextNormalizer
    from emotag.training.baseline import fit_classifier, tokenize, train

    config = BaselineConfig(
        data_dir=str(tiny_data_dir),
        c="0.5,4",
        ngram_range="1-1,1-2",
        min_df=1,
        output_dir=str(tmp_path_factory.mktemp("artifacts")),
        run_name="tiny-tfidf",
    )
    run_dir = train(config)
    chosen = json.loads((run_dir / "run_info.json").read_text())["chosen"]

    data = load_goemotions(tiny_data_dir)
    normalizer = TextNormalizer(PreprocessConfig().resolved())
    vectorizer = make_vectorizer(tuple(chosen["ngram_range"]), config)
    x_train = vectorizer.fit_transform(tokenize(data.train.texts, normalizer, "train"))
    classifier = fit_classifier(x_train, data.train.labels, chosen["c"], config)
    texts = TEXTS + data.test.texts
    expected = classifier.predict_proba(vectorizer.transform(tokenize(texts, normalizer, "test")))
    return run_dir, texts, expected


@pytest.mark.slow
def test_run_directory_is_complete(trained):
    run_dir, _, _ = trained
    for name in (*RUN_FILES, *KIND_FILES[TFIDF], "tfidf_lr.npz"):
        assert (run_dir / name).exists(), name
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["model"] == "tfidf-lr" and len(info["dev_grid"]) == 4
    assert info["kind"] == "tfidf-lr"
    assert info["emotag"].startswith(emotag.__version__)  # and the commit, in a checkout
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert f"| emotag | {info['emotag']} |" in card
    assert info["machine"].endswith(" CPUs") or info["machine"].endswith(", avx512f")
    assert f"| trained on | {info['machine']} |" in card
    best = max(info["dev_grid"], key=lambda row: row["dev_macro_f1"])
    assert info["chosen"] == {"c": best["c"], "ngram_range": best["ngram_range"]}


@pytest.mark.slow
def test_saved_model_matches_sklearn_in_process(trained, preprocess):
    from emotag.serving.predictor import Predictor

    run_dir, texts, expected = trained
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    served = loaded.serve(tf.constant(texts))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-6)
    thresholds = np.load(run_dir / "per_class_thresholds.npy")
    assert served["labels"].shape == expected.shape
    at_least_one = json.loads((run_dir / "thresholds.json").read_text())["at_least_one"]
    if not at_least_one:
        np.testing.assert_array_equal(
            served["labels"].numpy() == 1, served["probabilities"].numpy() >= thresholds
        )

    predictor = Predictor.load(run_dir, batch_size=4)
    np.testing.assert_allclose(predictor.predict_proba(texts), expected, rtol=1e-5, atol=1e-6)
    assert not predictor.can_explain

    rebuilt = TfidfClassifier.load(run_dir / "tfidf_lr.npz", preprocess)
    np.testing.assert_allclose(rebuilt.predict_proba(texts), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_saved_model_matches_sklearn_in_plain_tensorflow(trained):
    run_dir, texts, expected = trained
    served = serve_in_fresh_process(run_dir / "saved_model", texts)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)
    assert served["names"] == (run_dir / "labels.txt").read_text().split()


@pytest.mark.slow
def test_cli_and_evaluate_use_the_run(trained, tiny_data_dir):
    from emotag.commands.evaluate import EvaluateConfig, evaluate
    from emotag.commands.predict import InferenceConfig, run

    run_dir, _, _ = trained
    report = evaluate(EvaluateConfig(model=str(run_dir), split="test", data_dir=str(tiny_data_dir)))
    trained_report = json.loads((run_dir / "overall_metrics.json").read_text())
    assert report["macro"]["f1"] == pytest.approx(trained_report["macro"]["f1"], abs=1e-9)

    out = io.StringIO()
    run(InferenceConfig(model=str(run_dir), texts=["thanks!", "so sad"], json=True), out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["text"] for r in records] == ["thanks!", "so sad"]


def test_baseline_and_ensemble_on_semeval_files(tmp_path):
    from emotag.data.datasets import SEMEVAL_EC_LABELS
    from emotag.serving.ensemble import EnsembleConfig, ensemble
    from emotag.serving.predictor import Predictor
    from emotag.training.baseline import parse_args, train
    from test_datasets import write_semeval

    directory = write_semeval(tmp_path / "semeval", splits=("train", "test-gold"), n=40)
    flags = ["--dataset", "semeval-ec", "--data-dir", str(directory), "--min-df", "1"]
    config = parse_args([*flags, "--output-dir", str(tmp_path / "runs")])
    assert (config.dataset, config.data_dir, config.min_df) == ("semeval-ec", str(directory), 1)
    first = train(config)
    assert first.name == "tfidf-lr-semeval-ec-s42"
    second = train(parse_args([*flags, "--c", "8", "--output-dir", str(tmp_path / "runs"),
                               "--run-name", "second"]))  # fmt: skip
    for run in (first, second):
        assert (run / "labels.txt").read_text().split() == list(SEMEVAL_EC_LABELS)
        assert "tweets" in (run / "MODEL_CARD.md").read_text()

    # The ensemble reads the members' dataset (and its carved dev split) from their configs.
    ens = ensemble(EnsembleConfig(models=[str(first), str(second)],
                                  output_dir=str(tmp_path / "runs"), run_name="ens"))  # fmt: skip
    saved = json.loads((ens / "train_config.json").read_text())
    assert (saved["dataset"], saved["data_dir"]) == ("semeval-ec", str(directory))
    assert Predictor.load(ens).label_names == list(SEMEVAL_EC_LABELS)
    report = json.loads((ens / "overall_metrics.json").read_text())
    assert report["num_examples"] == 40  # the SemEval test file, scored once
    # evaluate.py finds the same data from the ensemble's own train_config.json.
    from emotag.commands.evaluate import EvaluateConfig, evaluate

    scored = evaluate(EvaluateConfig(model=str(ens), split="test", out=str(tmp_path / "ev")))
    assert len(scored["per_class"]) == len(SEMEVAL_EC_LABELS)
    assert scored["macro"]["f1"] == pytest.approx(report["macro"]["f1"])


def test_closed_choice_flags_fail_with_the_options(capsys):
    from emotag.training.baseline import parse_args

    assert parse_args(["--taxonomy", "ekman"]).taxonomy == "ekman"
    for flag, value in (("--dataset", "semeval"), ("--taxonomy", "plutchik")):
        with pytest.raises(SystemExit):
            parse_args([flag, value])
        assert f"invalid choice: '{value}'" in capsys.readouterr().err
