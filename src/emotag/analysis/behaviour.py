"""Behavioural tests in the manner of CheckList (Ribeiro et al., ACL 2020): the harness.

A test is a list of template-generated cases of one capability (negation, emoji, ...)
and one type:
- MFT (minimum functionality): one text; a concept it must show (`expect`: at least one
  of the concept's labels predicted) and/or one it must not (`forbid`: none predicted).
- INV (invariance): a reference text and variants of it; every variant must get exactly
  the reference's predicted label set.
- DIR (directional): a base text and a changed one; the concept's probability (the
  highest of its labels') must not fall (`direction="up"`) or rise ("down") by more
  than `DIR_TOLERANCE`.

Cases name emotions by concept (`CONCEPTS`), and a concept becomes the run's labels by
name, so one suite serves GoEmotions' 28 labels, Ekman, sentiment, SemEval E-c or any
label set: a case whose concepts map to none of the run's labels is skipped and
counted as such. Failure rates are measurements of a model, not pass/fail checks.
The concrete tests are in `emotag.analysis.behaviour_suite`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import string
from collections.abc import Mapping, Sequence
from pathlib import Path

MFT, INV, DIR = "MFT", "INV", "DIR"
DIR_TOLERANCE = 0.01  # probability changes smaller than this are noise, not a direction
MARKDOWN, JSON = "behaviour.md", "behaviour.json"

# Concept -> label names of any taxonomy that express it; a run keeps those it has.
# Names shared by taxonomies (joy, anger, ...) mean the same emotion in each, so one
# flat list per concept serves them all: GoEmotions fine labels, Ekman (anger, disgust,
# fear, joy, sadness, surprise, neutral), sentiment (positive, negative, ambiguous,
# neutral) and SemEval-2018 E-c (anger, anticipation, disgust, fear, joy, love,
# optimism, pessimism, sadness, surprise, trust).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "joy": ("joy", "excitement", "positive"),
    "amusement": ("amusement", "joy", "positive"),
    "love": ("love", "joy", "positive"),
    "gratitude": ("gratitude", "joy", "positive"),
    "sadness": ("sadness", "grief", "disappointment", "negative"),
    "anger": ("anger", "annoyance", "negative"),
    "fear": ("fear", "nervousness", "negative"),
    "disgust": ("disgust", "negative"),
    "surprise": ("surprise",),
    "negative emotion": (
        "anger", "annoyance", "disapproval", "disgust", "disappointment", "sadness",
        "grief", "fear", "pessimism", "negative",
    ),  # fmt: skip
}


def concept_labels(concept: str, label_names: Sequence[str]) -> tuple[str, ...]:
    """The run's labels that express `concept`, in the run's label order.

    Args:
        concept: a key of `CONCEPTS`.
        label_names: the run's labels.

    Returns:
        The labels; empty when the label set cannot express the concept.
    """
    if concept not in CONCEPTS:
        raise KeyError(f"unknown concept {concept!r}; known: {sorted(CONCEPTS)}")
    wanted = set(CONCEPTS[concept])
    return tuple(name for name in label_names if name in wanted)


def expand(template: str, **slots: Sequence[str]) -> list[str]:
    """Every filling of a template's `{slot}`s, slots varying in the order they appear.

    Args:
        template: text with `{name}` placeholders.
        **slots: the fillers of each placeholder.

    Returns:
        The product of the fillers: `len(a) * len(b) * ...` texts.
    """
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    names = list(dict.fromkeys(names))  # a slot used twice takes one filler
    missing = set(names) - set(slots)
    if missing:
        raise KeyError(f"no fillers for {sorted(missing)} in {template!r}")
    return [
        template.format(**dict(zip(names, combo)))
        for combo in itertools.product(*(slots[name] for name in names))
    ]


@dataclasses.dataclass(frozen=True)
class Case:
    """One test case: one text (MFT), a reference and variants (INV), or a pair (DIR)."""

    texts: tuple[str, ...]
    expect: str | None = None  # MFT: a concept that must be predicted
    forbid: str | None = None  # MFT: a concept that must not be predicted
    concept: str | None = None  # DIR: the concept whose probability is compared
    direction: str | None = None  # DIR: "up" (must not fall) or "down" (must not rise)


@dataclasses.dataclass
class BehaviourTest:
    """A named list of cases of one capability and one test type."""

    capability: str
    name: str
    kind: str  # MFT | INV | DIR
    cases: list[Case]
    note: str = ""  # shown in the table, e.g. "known hard"


@dataclasses.dataclass
class TestResult:
    """What one test measured on one model."""

    capability: str
    name: str
    kind: str
    cases: int  # cases run (skipped ones excluded)
    skipped: int  # cases the label set cannot express
    failures: int
    examples: list[dict]  # up to `max_examples` failures: texts and predictions
    note: str = ""

    @property
    def failure_rate(self) -> float | None:
        """failures / cases; None when every case was skipped."""
        return self.failures / self.cases if self.cases else None

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "failure_rate": self.failure_rate}


def case_outcome(case: Case, kind: str, predictions: Mapping, label_names) -> bool | None:
    """Whether `case` fails on `predictions`; None when the label set cannot express it.

    Args:
        case: the case.
        kind: MFT, INV or DIR.
        predictions: text -> an object with `labels` (list) and `probabilities` (dict),
            e.g. `emotag.serving.predictor.Prediction`.
        label_names: the run's labels.
    """
    if kind == MFT:
        expected = concept_labels(case.expect, label_names) if case.expect else ()
        forbidden = concept_labels(case.forbid, label_names) if case.forbid else ()
        if (case.expect and not expected) or (case.forbid and not forbidden):
            return None
        predicted = set(predictions[case.texts[0]].labels)
        return bool((expected and not predicted & set(expected)) or predicted & set(forbidden))
    if kind == INV:
        reference = set(predictions[case.texts[0]].labels)
        return any(set(predictions[text].labels) != reference for text in case.texts[1:])
    if kind == DIR:
        labels = concept_labels(case.concept, label_names)
        if not labels:
            return None
        base, changed = (
            max(predictions[text].probabilities[name] for name in labels) for text in case.texts
        )
        if case.direction == "up":
            return changed < base - DIR_TOLERANCE
        if case.direction == "down":
            return changed > base + DIR_TOLERANCE
        raise ValueError(f"direction must be up or down, got {case.direction!r}")
    raise ValueError(f"test type must be one of {MFT}, {INV}, {DIR}; got {kind!r}")


def describe(case: Case, kind: str, predictions: Mapping, label_names) -> dict:
    """A failed case as shown in the table: each text with its predicted labels."""
    shown = []
    for text in case.texts:
        prediction = predictions[text]
        item = {"text": text, "labels": list(prediction.labels)}
        if kind == DIR:
            labels = concept_labels(case.concept, label_names)
            item["p"] = round(max(prediction.probabilities[name] for name in labels), 3)
        shown.append(item)
    fields = {k: v for k, v in dataclasses.asdict(case).items() if v and k != "texts"}
    return {"texts": shown, **fields}


def run_tests(tests: list[BehaviourTest], predictor, max_examples: int = 3) -> list[TestResult]:
    """Runs every test's cases through `predictor` (each distinct text scored once).

    Args:
        tests: the tests (`emotag.analysis.behaviour_suite.build_suite()`).
        predictor: has `label_names` and `predict(list of texts) -> list of predictions`
            (an `emotag.serving.predictor.Predictor`, or any object shaped like one).
        max_examples: failures kept per test for the table.

    Returns:
        One `TestResult` per test, in order.
    """
    texts = list(dict.fromkeys(t for test in tests for case in test.cases for t in case.texts))
    predictions = dict(zip(texts, predictor.predict(texts)))
    labels = list(predictor.label_names)
    results = []
    for test in tests:
        outcomes = [case_outcome(case, test.kind, predictions, labels) for case in test.cases]
        failed = [case for case, bad in zip(test.cases, outcomes) if bad]
        results.append(
            TestResult(
                capability=test.capability,
                name=test.name,
                kind=test.kind,
                cases=sum(outcome is not None for outcome in outcomes),
                skipped=sum(outcome is None for outcome in outcomes),
                failures=len(failed),
                examples=[
                    describe(case, test.kind, predictions, labels)
                    for case in failed[:max_examples]
                ],
                note=test.note,
            )
        )
    return results


def _example_cell(example: dict) -> str:
    parts = []
    for item in example["texts"]:
        labels = ", ".join(item["labels"]) or "(none)"
        p = f", p={item['p']:.3f}" if "p" in item else ""
        parts.append(f"“{item['text']}” → {labels}{p}")
    return " / ".join(parts).replace("|", "\\|")


def markdown_table(results: list[TestResult], title: str = "Behavioural tests") -> str:
    """The results as a Markdown table (one row per test) with a short legend."""
    lines = [
        f"# {title}",
        "",
        "Failure rate = failed cases / cases run. MFT: the text must (not) show an emotion; "
        "INV: variants must keep the reference's labels; DIR: the emotion's probability "
        f"must not move the wrong way by more than {DIR_TOLERANCE}. Skipped: cases the "
        "run's label set cannot express.",
        "",
        "| capability | test | type | cases | skipped | failure rate | example failures | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        rate = "n/a" if r.failure_rate is None else f"{r.failure_rate:.1%} ({r.failures})"
        examples = "<br>".join(_example_cell(e) for e in r.examples)
        note = r.note
        if r.skipped:
            skipped = f"{r.skipped} skipped: label set lacks the emotion"
            note = "; ".join(filter(None, [note, skipped]))
        lines.append(
            f"| {r.capability} | {r.name} | {r.kind} | {r.cases} | {r.skipped} | {rate} "
            f"| {examples} | {note} |"
        )
    return "\n".join(lines) + "\n"


def write_results(results: list[TestResult], out_dir: str | Path, title: str) -> tuple[Path, Path]:
    """Writes `behaviour.md` and `behaviour.json` into `out_dir` (created if needed).

    Returns:
        (Markdown path, JSON path).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / MARKDOWN, out / JSON
    md.write_text(markdown_table(results, title), encoding="utf-8")
    payload = {
        "title": title,
        "dir_tolerance": DIR_TOLERANCE,
        "tests": [r.to_json() for r in results],
    }
    js.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return md, js
