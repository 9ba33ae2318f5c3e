"""Predictor's familiar outputs: a single string or a list, `Prediction` objects and the
Hugging Face pipeline shape, with the thresholds that were applied."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from emotag.serving.predictor import Prediction

TEXTS = ["Thanks so much, I love it!", "why is this so sad", "haha lol"]


def test_ranked_is_sorted_with_thresholds_and_fired():
    prediction = Prediction(
        "x",
        labels=["joy", "love"],  # love fired below its threshold: the at-least-one rule
        probabilities={"joy": 0.7, "anger": 0.2, "love": 0.9},
        thresholds={"joy": 0.5, "anger": 0.3, "love": 0.95},
    )
    assert prediction.ranked() == [
        {"label": "love", "score": 0.9, "threshold": 0.95, "fired": True},
        {"label": "joy", "score": 0.7, "threshold": 0.5, "fired": True},
        {"label": "anger", "score": 0.2, "threshold": 0.3, "fired": False},
    ]
    assert prediction.ranked(top_k=1) == prediction.ranked()[:1]
    assert prediction.to_json()["thresholds"] == {"joy": 0.5, "anger": 0.3, "love": 0.95}
    with pytest.raises(ValueError, match="top_k"):
        prediction.ranked(top_k=0)
    assert Prediction("", [], {}, error="bad").ranked() == []
    assert "thresholds" not in Prediction("", [], {}, error="bad").to_json()


@pytest.fixture(scope="module")
def predictor(tiny_run_dir):
    from emotag.serving.predictor import Predictor

    return Predictor.load(tiny_run_dir)


@pytest.mark.slow
def test_a_single_string_is_a_list_of_one(predictor):
    (single,) = predictor.predict(TEXTS[0])
    listed = predictor.predict(TEXTS)[0]
    assert single.text == listed.text == TEXTS[0]
    assert single.labels == listed.labels
    for name, p in listed.probabilities.items():
        assert single.probabilities[name] == pytest.approx(p, abs=1e-6)
    assert predictor.predict_proba(TEXTS[0]).shape == (1, 28)
    assert len(predictor.explain(TEXTS[0])) == 1


@pytest.mark.slow
def test_predictions_carry_the_applied_thresholds(predictor, tiny_run_dir):
    calibrated = np.load(tiny_run_dir / "per_class_thresholds.npy")
    (prediction,) = predictor.predict([TEXTS[0]])
    assert list(prediction.thresholds) == predictor.label_names
    np.testing.assert_allclose(list(prediction.thresholds.values()), calibrated)
    (overridden,) = predictor.predict([TEXTS[0]], threshold=0.05)
    assert set(overridden.thresholds.values()) == {0.05}
    assert overridden.labels == sorted(
        (n for n, p in overridden.probabilities.items() if p >= 0.05),
        key=lambda n: -overridden.probabilities[n],
    )


@pytest.mark.slow
def test_classify_has_the_hugging_face_shape(predictor):
    predictions = predictor.predict(TEXTS)
    results = predictor.classify(TEXTS)
    assert len(results) == len(TEXTS)
    for prediction, result in zip(predictions, results):
        assert [set(item) for item in result] == [{"label", "score", "threshold", "fired"}] * 28
        scores = [item["score"] for item in result]
        assert scores == sorted(scores, reverse=True)
        assert sorted(item["label"] for item in result) == sorted(predictor.label_names)
        assert [item["label"] for item in result if item["fired"]] == prediction.labels
        for item in result:
            assert item["score"] == pytest.approx(prediction.probabilities[item["label"]])
            assert item["threshold"] == prediction.thresholds[item["label"]]
    assert predictor.classify(TEXTS, top_k=2) == [r[:2] for r in results]
    # One string: the same nested shape, one inner list (Hugging Face would flatten it).
    (single,) = predictor(TEXTS[0], top_k=3)  # scored alone: no padding, so approx
    assert [{**i, "score": pytest.approx(i["score"], abs=1e-5)} for i in single] == results[0][:3]
    low = predictor.classify(TEXTS, threshold=0.05)
    assert all(i["threshold"] == 0.05 and i["fired"] == (i["score"] >= 0.05) for i in low[0])


@pytest.mark.slow
def test_json_records_carry_the_applied_thresholds(tiny_run_dir, predictor):
    from emotag.commands.predict import InferenceConfig, run

    thresholds = np.load(tiny_run_dir / "per_class_thresholds.npy")
    calibrated = dict(zip(predictor.label_names, thresholds))
    for threshold in (None, 0.3):
        out = io.StringIO()
        config = InferenceConfig(model=str(tiny_run_dir), texts=TEXTS[:2], json=True,
                                 threshold=threshold)  # fmt: skip
        run(config, out=out)
        records = [json.loads(line) for line in out.getvalue().splitlines()]
        assert len(records) == 2
        for record in records:
            wanted = {n: round(float(t if threshold is None else threshold), 4)
                      for n, t in calibrated.items()}  # fmt: skip
            assert record["thresholds"] == wanted
