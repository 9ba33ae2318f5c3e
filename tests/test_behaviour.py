"""The behavioural test harness: expansion, concepts per taxonomy, failure arithmetic, table."""

from __future__ import annotations

import json

import pytest

from conftest import LABELS
from emotag.analysis.behaviour import (
    DIR,
    INV,
    MFT,
    BehaviourTest,
    Case,
    concept_labels,
    expand,
    run_tests,
    write_results,
)
from emotag.analysis.behaviour_suite import build_suite, elongate, swap_typo
from emotag.serving.predictor import Prediction

EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
SENTIMENT = ["ambiguous", "negative", "neutral", "positive"]
SEMEVAL = [
    "anger", "anticipation", "disgust", "fear", "joy", "love",
    "optimism", "pessimism", "sadness", "surprise", "trust",
]  # fmt: skip


class FakePredictor:
    """Hand-set outputs: text -> {label: probability}; labels at >= 0.5."""

    def __init__(self, label_names, outputs):
        self.label_names = label_names
        self.outputs = outputs
        self.calls = []

    def predict(self, texts):
        self.calls.append(list(texts))
        results = []
        for text in texts:
            probs = {name: self.outputs[text].get(name, 0.0) for name in self.label_names}
            labels = [name for name, p in probs.items() if p >= 0.5]
            results.append(Prediction(text, labels, probs))
        return results


def test_expand_is_the_product_of_the_fillers_in_slot_order():
    texts = expand("{who} is {adj}.", who=["she", "he", "it"], adj=["sad", "glad"])
    assert len(texts) == 6
    assert texts[:3] == ["she is sad.", "she is glad.", "he is sad."]
    assert expand("{a} and {a}", a=["x", "y"]) == ["x and x", "y and y"]
    with pytest.raises(KeyError, match="b"):
        expand("{a} {b}", a=["x"])


def test_suite_sizes():
    tests = {t.name: t for t in build_suite()}
    assert len(tests["negated positive is not joy"].cases) == 3 * 5  # templates x adjectives
    assert len(tests["intensifier does not lower joy"].cases) == 3 * 6
    assert len(tests["hedge does not raise joy"].cases) == 3 * 5
    assert len(tests["emoji after a plain text"].cases) == 4 * 13
    assert len(tests["names"].cases) == 3 * 8  # templates x names, one pair each
    assert len(tests["genders"].cases) == 3 * 6  # the first gender is the reference
    assert all(len(case.texts) == 2 for case in tests["typo"].cases)
    assert {t.kind for t in build_suite()} == {MFT, INV, DIR}


def test_perturbations():
    import random

    assert swap_typo("abcd", random.Random(0)) in ("bacd", "acbd")
    assert elongate("I love it, so much") == "I loooove it, so much"
    assert elongate("Wow, nice") == "wooow, nice"
    assert elongate("Nice one") == "Nice one!!!"


def test_concepts_map_to_each_taxonomys_labels():
    assert concept_labels("joy", LABELS) == ("excitement", "joy")
    assert concept_labels("joy", EKMAN) == ("joy",)
    assert concept_labels("joy", SENTIMENT) == ("positive",)
    assert concept_labels("joy", SEMEVAL) == ("joy",)
    assert concept_labels("negative emotion", EKMAN) == ("anger", "disgust", "fear", "sadness")
    assert concept_labels("negative emotion", SENTIMENT) == ("negative",)
    assert concept_labels("negative emotion", SEMEVAL) == (
        "anger", "disgust", "fear", "pessimism", "sadness"
    )  # fmt: skip
    assert set(concept_labels("negative emotion", LABELS)) == {
        "anger", "annoyance", "disapproval", "disgust", "disappointment", "sadness",
        "grief", "fear",
    }  # fmt: skip
    assert concept_labels("amusement", LABELS) == ("amusement", "joy")
    assert concept_labels("love", SEMEVAL) == ("joy", "love")
    assert concept_labels("surprise", SENTIMENT) == ()  # cannot be expressed: skipped
    with pytest.raises(KeyError):
        concept_labels("boredom", LABELS)


def test_mft_failure_rate_counts_expect_forbid_and_skips():
    outputs = {
        "a": {"joy": 0.9},  # forbid joy -> fails
        "b": {"anger": 0.9},  # forbid joy -> passes
        "c": {"amusement": 0.2},  # expect amusement (amusement, joy) -> fails
        "d": {"joy": 0.6},  # expect amusement -> passes through joy
        "e": {},  # expect surprise: label set has none -> skipped
    }
    labels = ["amusement", "anger", "joy", "neutral"]
    test = BehaviourTest("cap", "t", MFT, [
        Case(("a",), forbid="joy"), Case(("b",), forbid="joy"),
        Case(("c",), expect="amusement"), Case(("d",), expect="amusement"),
        Case(("e",), expect="surprise"),
    ])  # fmt: skip
    (result,) = run_tests([test], FakePredictor(labels, outputs))
    assert (result.cases, result.skipped, result.failures) == (4, 1, 2)
    assert result.failure_rate == 0.5
    assert [e["texts"][0]["text"] for e in result.examples] == ["a", "c"]
    assert result.examples[0]["texts"][0]["labels"] == ["joy"]


def test_inv_fails_when_any_variant_changes_the_label_set():
    outputs = {
        "r": {"joy": 0.9}, "r1": {"joy": 0.7}, "r2": {"joy": 0.9, "love": 0.6},
        "s": {}, "s1": {"love": 0.1}, "t": {"love": 0.8}, "t1": {"joy": 0.8},
    }  # fmt: skip
    test = BehaviourTest("cap", "t", INV, [
        Case(("r", "r1")), Case(("r", "r2")), Case(("s", "s1")), Case(("t", "t1")),
    ])  # fmt: skip
    predictor = FakePredictor(["joy", "love"], outputs)
    (result,) = run_tests([test], predictor, max_examples=1)
    assert (result.cases, result.skipped, result.failures) == (4, 0, 2)
    assert result.failure_rate == 0.5
    assert len(result.examples) == 1
    assert predictor.calls == [["r", "r1", "r2", "s", "s1", "t", "t1"]]  # each text once


def test_dir_compares_the_concepts_highest_probability_with_tolerance():
    outputs = {
        "base": {"joy": 0.50, "excitement": 0.10},
        "same": {"joy": 0.495},  # -0.005: within the 0.01 tolerance
        "lower": {"joy": 0.45},  # -0.05: an intensifier lowered joy
        "via": {"joy": 0.2, "excitement": 0.7},  # concept max rose through excitement
        "higher": {"joy": 0.52},
    }
    labels = ["excitement", "joy"]
    up = BehaviourTest("cap", "up", DIR, [
        Case(("base", t), concept="joy", direction="up") for t in ("same", "lower", "via")
    ])  # fmt: skip
    down = BehaviourTest("cap", "down", DIR, [
        Case(("base", t), concept="joy", direction="down") for t in ("same", "higher", "lower")
    ])  # fmt: skip
    r_up, r_down = run_tests([up, down], FakePredictor(labels, outputs))
    assert (r_up.cases, r_up.failures) == (3, 1)
    assert r_up.examples[0]["texts"][1] == {"text": "lower", "labels": [], "p": 0.45}
    assert (r_down.cases, r_down.failures) == (3, 1)
    assert r_down.examples[0]["texts"][1]["text"] == "higher"


def test_table_writer(tmp_path):
    outputs = {"a": {"joy": 0.9}, "b": {}, "c": {}}
    tests = [
        BehaviourTest("negation", "not joy", MFT,
                      [Case(("a",), forbid="joy"), Case(("b",), forbid="joy"),
                       Case(("c",), forbid="joy"), Case(("c",), expect="surprise")],
                      note="known hard"),
    ]  # fmt: skip
    results = run_tests(tests, FakePredictor(["joy", "neutral"], outputs))
    md, js = write_results(results, tmp_path / "out", title="T")
    table = md.read_text(encoding="utf-8")
    assert "| negation | not joy | MFT | 3 | 1 | 33.3% (1) | “a” → joy |" in table
    assert "known hard; 1 skipped: label set lacks the emotion" in table
    payload = json.loads(js.read_text(encoding="utf-8"))
    (row,) = payload["tests"]
    assert row["failure_rate"] == pytest.approx(1 / 3)
    assert (row["cases"], row["skipped"], row["failures"], row["kind"]) == (3, 1, 1, "MFT")


@pytest.mark.slow
def test_behave_command_on_the_tiny_run(tiny_run_dir, tmp_path):
    from emotag.cli import main

    assert main(["behave", "--model", str(tiny_run_dir), "--out", str(tmp_path / "b")]) == 0
    payload = json.loads((tmp_path / "b" / "behaviour.json").read_text(encoding="utf-8"))
    suite = build_suite()
    assert [row["name"] for row in payload["tests"]] == [t.name for t in suite]
    for row, test in zip(payload["tests"], suite):
        assert row["cases"] + row["skipped"] == len(test.cases)
        assert 0 <= row["failures"] <= row["cases"]
        assert len(row["examples"]) == min(3, row["failures"])
    assert (tmp_path / "b" / "behaviour.md").read_text(encoding="utf-8").startswith("# ")
