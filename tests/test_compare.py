"""`emotag compare`: paired bootstrap of two runs' predictions files."""

import csv
import json

import numpy as np
import pytest

from emotag.commands.compare import ComparisonError, compare, format_table, main

LABELS = ["joy", "anger"]


def write_run(root, name, gold, pred, texts=None, labels=LABELS):
    run = root / name
    run.mkdir()
    names = lambda row: ",".join(labels[j] for j in np.flatnonzero(row))  # noqa: E731
    with open(run / "predictions_test.tsv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["id", "text", "gold", "predicted", *labels])
        for i, (g, p) in enumerate(zip(gold, pred)):
            text = texts[i] if texts else f"text {i}"
            w.writerow([f"id{i}", text, names(g), names(p), *(f"{x:.4f}" for x in p)])
    return run


@pytest.fixture
def gold():
    rng = np.random.default_rng(0)
    return (rng.random((600, 2)) < 0.4).astype(int)


def test_identical_runs_differ_by_nothing(tmp_path, gold):
    a = write_run(tmp_path, "a", gold, gold)
    b = write_run(tmp_path, "b", gold, gold)
    result = compare(a, b, resamples=200)
    assert result["macro_f1"]["difference"] == 0 and result["macro_f1"]["p_value"] == 1.0
    assert result["macro_f1"]["a"] == 1.0
    assert set(result["per_class_f1"]) == set(LABELS)


def test_a_clearly_better_run_is_significant(tmp_path, gold):
    rng = np.random.default_rng(1)
    noisy = np.where(rng.random(gold.shape) < 0.6, gold, 1 - gold)
    a = write_run(tmp_path, "a", gold, noisy)
    b = write_run(tmp_path, "b", gold, gold)
    result = compare(a, b, resamples=300)
    assert result["macro_f1"]["difference"] > 0.2
    assert result["macro_f1"]["p_value"] < 0.01
    table = format_table(result)
    assert "| macro_f1 |" in table and "*" in table


def test_runs_on_different_examples_are_refused(tmp_path, gold):
    a = write_run(tmp_path, "a", gold, gold)
    other_texts = [f"other {i}" for i in range(len(gold))]
    b = write_run(tmp_path, "b", gold, gold, texts=other_texts)
    with pytest.raises(ComparisonError, match="different examples"):
        compare(a, b)
    c = write_run(tmp_path, "c", 1 - gold, gold)
    with pytest.raises(ComparisonError, match="different gold"):
        compare(a, c)
    d = write_run(tmp_path, "d", gold, gold, labels=["joy", "fear"])
    with pytest.raises(ComparisonError, match="different labels"):
        compare(a, d)


def test_missing_split_names_the_command_that_makes_it(tmp_path, gold, capsys):
    a = write_run(tmp_path, "a", gold, gold)
    assert main([str(a), str(a), "--split", "dev"]) == 2
    assert f"emotag evaluate --model {a} --split dev" in capsys.readouterr().err


def test_cli_writes_json(tmp_path, gold, capsys):
    a = write_run(tmp_path, "a", gold, gold)
    out = tmp_path / "cmp.json"
    assert main([str(a), str(a), "--resamples", "100", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["examples"] == len(gold)
    assert "B - A" in capsys.readouterr().out
