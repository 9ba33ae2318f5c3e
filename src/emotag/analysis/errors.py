"""Error analysis (notebook 03): confusions, worst examples, attention, behavioural failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from emotag.analysis.behaviour import JSON as BEHAVIOUR_JSON
from emotag.analysis.comparison import Predictions
from emotag.evaluation.metrics import per_class_f1
from emotag.runs.layout import BEHAVIOUR_DIR
from emotag.serving.explain import heatmap_html


def confusion_counts(gold: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(C, C) counts: entry (g, p) = texts where gold label g was missed and p wrongly predicted."""
    gold = np.asarray(gold).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    missed = (gold & ~predicted).astype(np.int64)
    spurious = (predicted & ~gold).astype(np.int64)
    return missed.T @ spurious


def confusion_pairs(
    gold: np.ndarray,
    predicted: np.ndarray,
    label_names: list[str],
    top: int = 20,
    exclude: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Most frequent (missed gold label, wrongly predicted label) pairs within one text.

    A text with gold {anger} predicted as {annoyance} counts once for
    (anger, annoyance). Multi-label confusion has no single "instead of", so every
    missed label is paired with every spurious one of the same text. Labels in
    `exclude` (e.g. `("neutral",)`, which dominates) are left out on both sides.

    Returns:
        DataFrame: gold, predicted, count, share_of_gold (count / gold label's support).
    """
    matrix = confusion_counts(gold, predicted)
    support = np.asarray(gold).astype(bool).sum(axis=0)
    i, j = np.nonzero(matrix)
    kept = [k for k in range(len(i)) if label_names[i[k]] not in exclude
            and label_names[j[k]] not in exclude]  # fmt: skip
    i, j = i[kept], j[kept]
    table = pd.DataFrame({
        "gold": [label_names[k] for k in i],
        "predicted": [label_names[k] for k in j],
        "count": matrix[i, j],
        "share_of_gold": matrix[i, j] / np.maximum(support[i], 1),
    })  # fmt: skip
    table = table.sort_values(["count", "gold", "predicted"], ascending=[False, True, True])
    return table.head(top).reset_index(drop=True)


def class_errors(gold: np.ndarray, predicted: np.ndarray, label_names: list[str]) -> pd.DataFrame:
    """Per label: support, true / false positives, false negatives and F1, worst F1 first."""
    gold = np.asarray(gold).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    table = pd.DataFrame({
        "label": label_names,
        "support": gold.sum(axis=0),
        "tp": (gold & predicted).sum(axis=0),
        "fp": (~gold & predicted).sum(axis=0),
        "fn": (gold & ~predicted).sum(axis=0),
        "f1": per_class_f1(gold, predicted),
    })  # fmt: skip
    return table.sort_values(["f1", "label"]).reset_index(drop=True)


def _example_rows(preds: Predictions, rows, probability_of: int) -> pd.DataFrame:
    def names(row):
        return ", ".join(preds.label_names[k] for k in np.flatnonzero(row))

    return pd.DataFrame([
        {"text": preds.texts[i], "gold": names(preds.gold[i]),
         "predicted": names(preds.predicted[i]),
         "probability": float(preds.probs[i, probability_of])}
        for i in rows
    ], columns=["text", "gold", "predicted", "probability"])  # fmt: skip


def worst_examples(preds: Predictions, label: str, kind: str = "fp", n: int = 5) -> pd.DataFrame:
    """The most confident mistakes on one label.

    Args:
        preds: from `read_predictions`.
        label: a label name.
        kind: "fp" (predicted, not gold; highest probability first) or "fn" (gold,
            not predicted; lowest probability first).
        n: rows to return.

    Returns:
        DataFrame: text, gold, predicted, probability (of `label`).
    """
    j = preds.label_names.index(label)
    gold, pred, p = preds.gold[:, j] > 0, preds.predicted[:, j] > 0, preds.probs[:, j]
    if kind == "fp":
        rows = np.flatnonzero(pred & ~gold)
        rows = rows[np.argsort(-p[rows], kind="stable")]
    elif kind == "fn":
        rows = np.flatnonzero(gold & ~pred)
        rows = rows[np.argsort(p[rows], kind="stable")]
    else:
        raise ValueError(f"kind must be 'fp' or 'fn', not {kind!r}")
    return _example_rows(preds, rows[:n], j)


def confusion_examples(preds: Predictions, pairs: pd.DataFrame, per_pair: int = 3) -> pd.DataFrame:
    """Texts behind each confusion of `confusion_pairs`, most confident mistake first.

    Returns:
        DataFrame: missed, instead (the pair), text, gold, predicted, probability
        (of the wrongly predicted label).
    """
    frames = []
    for missed, instead in zip(pairs["gold"], pairs["predicted"]):
        g, p = preds.label_names.index(missed), preds.label_names.index(instead)
        rows = np.flatnonzero(
            (preds.gold[:, g] > 0) & (preds.predicted[:, g] == 0)
            & (preds.predicted[:, p] > 0) & (preds.gold[:, p] == 0)
        )  # fmt: skip
        rows = rows[np.argsort(-preds.probs[rows, p], kind="stable")][:per_pair]
        frames.append(_example_rows(preds, rows, p).assign(missed=missed, instead=instead))
    columns = ["missed", "instead", "text", "gold", "predicted", "probability"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def attention_examples_html(predictor, examples: pd.DataFrame) -> str:
    """Attention heat maps of example texts, each captioned with its gold and predicted labels.

    Args:
        predictor: an `emotag.serving.predictor.Predictor`.
        examples: a DataFrame with `text`, `gold` and `predicted` columns (as from
            `worst_examples` or `confusion_examples`).

    Returns:
        HTML; a short note instead when there are no examples or the model has no
        attention weights.
    """
    if not getattr(predictor, "can_explain", False):
        return "<p><em>This model has no attention weights to show.</em></p>"
    if examples.empty:
        return "<p><em>No examples.</em></p>"
    texts = examples["text"].tolist()
    blocks = [
        heatmap_html(pairs, caption=f"gold: {g or '-'} | predicted: {p or '-'}")
        for pairs, g, p in zip(predictor.explain(texts), examples["gold"], examples["predicted"])
    ]
    return '<div style="display: grid; gap: 10px">' + "".join(blocks) + "</div>"


def behaviour_file(run_dir: str | Path) -> Path:
    """Where `emotag behave` writes a run's results (`<run>/behaviour/behaviour.json`)."""
    return Path(run_dir) / BEHAVIOUR_DIR / BEHAVIOUR_JSON


def _behaviour_tests(run_dir: str | Path) -> list[dict]:
    return json.loads(behaviour_file(run_dir).read_text(encoding="utf-8"))["tests"]


def behaviour_table(run_dir: str | Path) -> pd.DataFrame:
    """The behavioural failure rates of a run, one row per test, from its behaviour.json.

    Returns:
        DataFrame: capability, test, type, cases, skipped, failures, failure_rate (NaN
        when every case was skipped), note; in the suite's order.
    """
    return pd.DataFrame([
        {"capability": t["capability"], "test": t["name"], "type": t["kind"],
         "cases": t["cases"], "skipped": t["skipped"], "failures": t["failures"],
         "failure_rate": t["failures"] / t["cases"] if t["cases"] else np.nan,
         "note": t.get("note", "")}
        for t in _behaviour_tests(run_dir)
    ], columns=["capability", "test", "type", "cases", "skipped", "failures",
                "failure_rate", "note"])  # fmt: skip


def capability_table(table: pd.DataFrame) -> pd.DataFrame:
    """Failure rate per capability: failed cases / cases run over its tests.

    Args:
        table: from `behaviour_table`.

    Returns:
        Indexed by capability (suite order): tests, cases, failures, failure_rate.
    """
    grouped = table.groupby("capability", sort=False)
    summary = grouped.agg(tests=("test", "size"), cases=("cases", "sum"),
                          failures=("failures", "sum"))  # fmt: skip
    cases = summary["cases"].where(summary["cases"] > 0)
    return summary.assign(failure_rate=summary["failures"] / cases)


def behaviour_failures(run_dir: str | Path) -> pd.DataFrame:
    """The example failures kept in a run's behaviour.json, one row per failed case.

    Returns:
        DataFrame: capability, test, type, case (each text with its predicted labels,
        and the concept's probability for directional tests).
    """

    def shown(item):
        labels = ", ".join(item["labels"]) or "(none)"
        p = f", p={item['p']:.3f}" if "p" in item else ""
        return f"“{item['text']}” → {labels}{p}"

    return pd.DataFrame([
        {"capability": t["capability"], "test": t["name"], "type": t["kind"],
         "case": " / ".join(shown(item) for item in example["texts"])}
        for t in _behaviour_tests(run_dir) for example in t["examples"]
    ], columns=["capability", "test", "type", "case"])  # fmt: skip
