"""The lexicon baseline: negation rule, label coverage per taxonomy, scores, runs, serving."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from conftest import LABELS, serve_in_fresh_process
from emotag.models import lexicon as nrc
from emotag.models import vader
from emotag.runs.thresholds import apply_thresholds
from emotag.training.lexicon import (
    LexiconConfig,
    calibrate_covered,
    choose_lexicon,
    reference_counts,
    train,
)

EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
SENTIMENT = ["ambiguous", "negative", "neutral", "positive"]
SEMEVAL = [
    "anger", "anticipation", "disgust", "fear", "joy", "love",
    "optimism", "pessimism", "sadness", "surprise", "trust",
]  # fmt: skip
# A hand-made lexicon, so expected counts can be worked out by hand.
LEXICON = {
    "happy": ["joy", "positive", "trust"],
    "bad": ["anger", "sadness", "negative"],
    "scary": ["fear", "negative"],
    "lovely": ["joy", "positive"],
}


def test_negators():
    for word in ("not", "no", "never", "cannot", "don't", "isn't", "can't", "n't", "dont"):
        assert nrc.is_negator(word), word
    for word in ("note", "knot", "nothingness", "happy", "on"):
        assert not nrc.is_negator(word), word


def test_negation_rule_by_hand():
    flags = nrc.negated_flags
    assert flags(["i", "am", "not", "happy"]) == [False, False, False, True]
    # Three tokens after the negator count as negated, the fourth does not.
    assert flags(["not", "a", "b", "happy", "sad"]) == [False, True, True, True, False]
    # Clause punctuation ends the scope.
    assert flags(["not", ",", "happy"]) == [False, True, False]
    assert flags(["don't", "be", "sad", "...", "happy"]) == [False, True, True, True, False]
    assert flags(["not", "not", "x"]) == [False, True, True]


def test_python_and_graph_counts_agree_on_hand_sentences():
    labels = ["anger", "fear", "joy", "neutral", "love"]
    texts = [
        "I'm not happy",  # negated: nothing
        "Happy happy, not bad!",  # joy 2; bad negated
        "Not. Happy",  # the full stop ends the scope: joy 1
        "I don’t think it's bad",  # typographic apostrophe; bad is 3 after don't
        "HAPPY and scary #lovely",  # case folded; a hashtag is one token (no hit)
        "",
    ]
    expected = np.array(
        [[0, 0, 0, 0, 0], [0, 0, 2, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0],
         [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]], dtype="float32"
    )  # fmt: skip
    model = nrc.NrcLexiconClassifier(LEXICON, labels)
    np.testing.assert_array_equal(model.predict_counts(texts), expected)
    np.testing.assert_array_equal(reference_counts(texts, LEXICON, labels, 3), expected)


def test_scores_of_a_hand_made_sentence():
    labels = ["anger", "fear", "joy", "neutral", "love"]
    model = nrc.NrcLexiconClassifier(LEXICON, labels)
    scores = model(tf.constant(["happy lovely and scary", "nothing here"])).numpy()
    # joy: 2 hits -> 2/3; fear: 1 -> 1/2; neutral: 1 / (1 + 3 hits); love: not an NRC name.
    np.testing.assert_allclose(scores[0], [0.0, 0.5, 2 / 3, 0.25, 0.0], rtol=1e-6)
    np.testing.assert_allclose(scores[1], [0.0, 0.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(nrc.scores_from_counts([[0, 1, 2, 0, 0]], labels)[0], scores[0])
    assert model.num_words == 4  # every word evokes anger, fear or joy


def test_labels_covered_per_taxonomy():
    assert nrc.covered_labels(LABELS) == [
        "anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"
    ]  # fmt: skip
    assert nrc.covered_labels(EKMAN) == EKMAN
    assert nrc.covered_labels(SEMEVAL) == [
        "anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust"
    ]  # fmt: skip
    assert vader.covered_labels(SENTIMENT) == ["negative", "neutral", "positive"]
    assert choose_lexicon("auto", SENTIMENT) == "vader"
    assert choose_lexicon("auto", EKMAN) == "nrc"
    assert choose_lexicon("auto", ["trust", "boredom"]) == "nrc"
    assert nrc.covered_labels(["trust", "boredom"]) == ["trust"]
    with pytest.raises(ValueError, match="covers none"):
        choose_lexicon("auto", ["boredom", "neutral"])


def test_fixed_rules():
    np.testing.assert_array_equal(nrc.fixed_thresholds(["anger", "love", "neutral"]), [0.5, 1, 1])
    scores = vader.scores_from_compound([0.5, -0.05, 0.0, 0.04], SENTIMENT)
    np.testing.assert_allclose(scores[0], [0.0, 0.0, 0.5, 0.5])
    fired = apply_thresholds(scores, vader.fixed_thresholds(SENTIMENT))
    # VADER's rule: positive at >= 0.05, negative at <= -0.05, neutral in between.
    np.testing.assert_array_equal(
        fired, [[0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]]
    )


def test_calibrate_covered_never_fires_uncovered_labels():
    # Column 1 is uncovered: constant 0 with gold positives (the exact search alone would
    # pick threshold 0 and predict it everywhere).
    probs = np.array([[0.5, 0, 1.0], [0.0, 0, 1.0], [0.5, 0, 0.5], [0.0, 0, 0.5]], "float32")
    gold = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]])
    calibration = calibrate_covered(probs, gold, covered=[0, 2])
    assert calibration.thresholds[1] == 1.0
    assert calibration.thresholds[0] == pytest.approx(0.25)  # halfway between 0.5 and 0
    assert calibration.per_class_dev_f1[1] == 0.0
    predicted = apply_thresholds(probs, calibration.thresholds)
    assert not predicted[:, 1].any()
    # Column 0 perfect (F1 1); column 2: every row fires at threshold 0.5 (F1 2/3).
    assert calibration.dev_scores["per_class"] == pytest.approx((1 + 0 + 2 / 3) / 3)


def write_sentiment_csv(root):
    rows = {
        "train": [("I love it", 0, 1, 0), ("meh", 0, 0, 1)],
        "dev": [("I love this so much", 0, 1, 0), ("this is awful", 1, 0, 0),
                ("the bus comes at six", 0, 0, 1), ("great, thanks", 0, 1, 0)],
        "test": [("what a wonderful day", 0, 1, 0), ("I hate mondays", 1, 0, 0),
                 ("it is a table", 0, 0, 1)],
    }  # fmt: skip
    root.mkdir()
    for split, items in rows.items():
        with open(root / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "negative", "positive", "neutral"])
            writer.writerows(items)
    return root


@pytest.mark.slow
def test_nrc_run_on_tiny_goemotions_and_predictor_round_trip(tiny_data_dir, tmp_path):
    from emotag.runs.layout import KIND_FILES, LEXICON, RUN_FILES
    from emotag.serving.predictor import Predictor

    run = train(LexiconConfig(data_dir=str(tiny_data_dir), output_dir=str(tmp_path)))
    assert run.name == "lexicon-fine"
    for name in (*RUN_FILES, *KIND_FILES[LEXICON]):
        assert (run / name).exists(), name
    info = json.loads((run / "run_info.json").read_text())
    assert info["kind"] == LEXICON and info["lexicon"]["name"] == "nrc"
    assert info["covered_labels"] == nrc.covered_labels(LABELS)
    assert len(info["uncovered_labels"]) == 21
    assert info["tweet_tokenizer_agreement_dev"] == 1.0
    assert set(info["fixed_rule"]["test"]) == {"macro_f1", "micro_f1", "macro_f1_covered"}
    thresholds = np.load(run / "per_class_thresholds.npy")
    uncovered = [LABELS.index(name) for name in info["uncovered_labels"]]
    assert (thresholds[uncovered] == 1.0).all()

    predictor = Predictor.load(run)
    texts = ["I am so sad and scared", "not sad at all", "thanks a lot 😂"]
    expected = nrc.NrcLexiconClassifier(nrc.load_nrc_lexicon(), LABELS).predict_proba(texts)
    np.testing.assert_allclose(predictor.predict_proba(texts), expected, atol=1e-6)
    served = serve_in_fresh_process(run / "saved_model", texts)
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-6)
    assert served["labels"] == apply_thresholds(expected, thresholds).astype(int).tolist()


@pytest.mark.slow
def test_vader_run_is_served_in_python(tmp_path):
    from emotag.runs.layout import LEXICON
    from emotag.serving.predictor import Predictor

    data = write_sentiment_csv(tmp_path / "data")
    run = train(LexiconConfig(
        dataset="csv", train_file=str(data / "train.csv"), dev_file=str(data / "dev.csv"),
        test_file=str(data / "test.csv"), output_dir=str(tmp_path / "runs"), run_name="vader",
    ))  # fmt: skip
    assert not (run / "saved_model").exists()
    info = json.loads((run / "run_info.json").read_text())
    assert info["kind"] == LEXICON and info["lexicon"]["name"] == "vader"
    predictor = Predictor.load(run)
    assert predictor.label_names == ["negative", "positive", "neutral"]
    texts = ["what a wonderful day", "I hate mondays"]
    compound = vader.VaderClassifier(predictor.label_names).compound(texts)
    assert compound[0] > 0.05 and compound[1] < -0.05
    np.testing.assert_allclose(
        predictor.predict_proba(texts),
        vader.scores_from_compound(compound, predictor.label_names),
    )
    assert [p.labels[0] for p in predictor.predict(texts)] == ["positive", "negative"]
