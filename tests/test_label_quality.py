"""Confident learning on out-of-fold probabilities, and the audit script end to end."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from emotag.audit.label_quality import (
    ISSUE_COLUMNS,
    LabelIssues,
    class_summary,
    find_label_issues,
    format_summary,
    out_of_fold_probabilities,
)

LABELS = ["joy", "anger", "fear"]
CUES = {"joy": "wonderful", "anger": "furious", "fear": "terrified"}


def test_out_of_fold_holds_every_row_out_once():
    labels = np.zeros((30, 2), np.float32)
    labels[:12, 0] = 1
    labels[10:20, 1] = 1
    held_out = []

    def fit_predict(train_idx, held_idx):
        assert not set(train_idx) & set(held_idx)
        assert len(train_idx) + len(held_idx) == 30
        held_out.extend(held_idx)
        return np.tile([[0.25, 0.75]], (len(held_idx), 1))

    probs = out_of_fold_probabilities(labels, fit_predict, folds=3, seed=0)
    assert sorted(held_out) == list(range(30)) and probs.shape == (30, 2)
    assert np.allclose(probs, [0.25, 0.75])


def synthetic(n=120, seed=0):
    """Labels, and probabilities of a fair model that knows the true labels."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((n, 3)) < 0.3).astype(np.float32)
    probs = np.where(truth == 1, rng.uniform(0.55, 0.95, truth.shape),
                     rng.uniform(0.05, 0.4, truth.shape))  # fmt: skip
    return truth, probs


def test_confidently_contradicted_labels_are_flagged_and_ranked_first():
    truth, probs = synthetic()
    given = truth.copy()
    spurious = [i for i in range(len(given)) if given[i, 0] == 0][:3]
    missing = [i for i in range(len(given)) if given[i, 1] == 1 and i not in spurious][:2]
    given[spurious, 0] = 1  # a joy label nobody would give
    given[missing, 1] = 0  # an anger label left out
    probs[spurious, 0], probs[missing, 1] = 0.01, 0.99  # and the model is sure of it
    issues = find_label_issues(given, probs)
    assert set(np.flatnonzero(issues.flagged)) == set(spurious + missing)
    assert set(issues.ranking()) == set(spurious + missing)
    assert issues.per_class[spurious, 0].all() and issues.per_class[missing, 1].all()
    rows = class_summary(given, issues, LABELS)
    assert rows[0] == {
        "label": "joy",
        "given": int(given[:, 0].sum()),
        "flagged_spurious": 3,
        "flagged_missing": 0,
        "spurious_share": round(3 / given[:, 0].sum(), 4),
    }
    assert (rows[1]["flagged_spurious"], rows[1]["flagged_missing"]) == (0, 2)
    assert rows[2]["flagged_spurious"] + rows[2]["flagged_missing"] == 0
    assert format_summary(rows).splitlines()[2].startswith("joy")


def test_clean_labels_and_rows_without_labels_are_not_flagged():
    truth, probs = synthetic(seed=1)
    truth[:10] = 0
    probs[:10] = 0.05
    assert not find_label_issues(truth, probs).flagged.any()


def test_ranking_orders_flagged_by_quality():
    per_class = np.array([[True, False], [False, False], [False, True]])
    issues = LabelIssues(per_class, np.array([0.4, 0.1, 0.2]))
    assert issues.ranking().tolist() == [2, 0]


def write_cue_data(directory, n=150, flips=4, seed=0):
    """CSV splits whose labels follow cue words, with `flips` training labels removed."""
    rng = random.Random(seed)
    filler = "the a it this that was so very really just okay today we".split()
    flipped = []
    for split, size in (("train", n), ("test", 30)):
        rows = []
        for i in range(size):
            on = [name for name in LABELS if rng.random() < 0.35]
            words = rng.sample(filler, 5) + [CUES[name] for name in on]
            rng.shuffle(words)
            bits = [int(name in on) for name in LABELS]
            if split == "train" and on and len(flipped) < flips:
                bits[LABELS.index(on[0])] = 0
                flipped.append(f"{split}-{i}")
            rows.append([f"{split}-{i}", " ".join(words), *bits])
        with open(directory / f"{split}.csv", "w", newline="") as f:
            csv.writer(f).writerows([["id", "text", *LABELS], *rows])
    return flipped


@pytest.mark.slow
def test_audit_script_flags_removed_cue_labels(tmp_path):
    from emotag.audit.audit import main

    flipped = write_cue_data(tmp_path)
    out = tmp_path / "audit"
    argv = ["--dataset", "csv", "--data-dir", str(tmp_path), "--out", str(out), "--c", "10",
            "--ngram-range", "1-1", "--min-df", "1", "--folds", "4"]  # fmt: skip
    assert main(argv) == 0
    with open(out / "label_issues.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == ISSUE_COLUMNS and [r["rank"] for r in rows[:2]] == ["1", "2"]
    found = {r["id"] for r in rows}
    assert set(flipped) <= found and len(found) <= 3 * len(flipped)
    assert all(":" in r["suggested_add"] for r in rows if r["id"] in flipped)
    summary = json.loads((out / "label_quality.json").read_text())
    n_train = summary["examples"]
    assert summary["flagged"] == len(rows) and 130 <= n_train < 150  # ~10% went to dev
    assert np.load(out / "oof_probabilities.npy").shape == (n_train, 3)


def test_audit_of_data_that_is_not_there_leaves_no_output_directory(tmp_path):
    from emotag.audit.audit import main

    out = tmp_path / "audit"
    argv = ["--data-dir", str(tmp_path / "nowhere"), "--out", str(out)]
    with pytest.raises(FileNotFoundError, match="missing: train.tsv"):
        main(argv)
    assert not out.exists()
