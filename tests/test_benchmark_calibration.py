"""The calibration benchmark on a SemEval-style test file (issue 14, item 3): the
generator's E-c files, a TF-IDF run trained on them, and what each threshold objective
costs the others."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from emotag.benchmarks.semeval_style import CUES, SPLIT_FILES, write_semeval_style
from emotag.data.datasets import SEMEVAL_EC_LABELS, DatasetSpec, load_dataset
from emotag.evaluation.objectives import OBJECTIVES


def test_generator_writes_ec_files_with_a_learnable_signal(tmp_path):
    directory = write_semeval_style(tmp_path / "a", sizes=(300, 50, 50), seed=1)
    assert sorted(p.name for p in directory.iterdir()) == sorted(SPLIT_FILES.values())
    lines = (directory / SPLIT_FILES["train"]).read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["ID", "Tweet", *SEMEVAL_EC_LABELS]
    assert all(re.fullmatch(r"[01]", bit) for line in lines[1:] for bit in line.split("\t")[2:])

    data = load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(directory)))
    assert [len(s.texts) for s in (data.train, data.dev, data.test)] == [300, 50, 50]
    assert (data.train.ids[0], data.test.ids[-1]) == ("2018-En-00001", "2018-En-00400")
    per_tweet = data.train.labels.sum(axis=1)
    assert (per_tweet == 0).any() and (per_tweet >= 2).mean() > 0.5  # several, as in E-c
    assert data.train.labels.any(axis=0).all()  # every emotion occurs
    # The signal: an emotion's cue words are far more common where it is annotated.
    for c, emotion in enumerate(SEMEVAL_EC_LABELS):
        has_cue = np.array([any(w in CUES[emotion] for w in t.split()) for t in data.train.texts])
        labelled = data.train.labels[:, c].astype(bool)
        assert has_cue[labelled].mean() > 3 * has_cue[~labelled].mean(), emotion

    again = write_semeval_style(tmp_path / "b", sizes=(300, 50, 50), seed=1)
    other = write_semeval_style(tmp_path / "c", sizes=(300, 50, 50), seed=2)
    name = SPLIT_FILES["test"]
    assert (again / name).read_bytes() == (directory / name).read_bytes()
    assert (other / name).read_bytes() != (directory / name).read_bytes()


def test_the_benchmark_wants_runs_or_the_synthetic_set(capsys):
    from emotag.benchmarks.calibration import build_parser

    for argv in ([], ["--models", "run", "--semeval-style", "dir"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
    assert "--semeval-style" in capsys.readouterr().err


@pytest.mark.slow
def test_objective_costs_on_a_semeval_style_file(tmp_path):
    from emotag.benchmarks import calibration

    out = tmp_path / "results"
    argv = ["--semeval-style", str(tmp_path / "work"), "--semeval-style-sizes", "800", "300",
            "300", "--out", str(out)]  # fmt: skip
    assert calibration.main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration_semeval_style.json", "calibration_semeval_style.md",
    ]  # the GoEmotions calibration.md is left alone  # fmt: skip

    run = tmp_path / "work" / "runs" / "tfidf-lr-semeval-style"
    assert json.loads((run / "train_config.json").read_text())["dataset"] == "semeval-ec"
    assert (run / "labels.txt").read_text().split() == list(SEMEVAL_EC_LABELS)
    (result,) = json.loads((out / "calibration_semeval_style.json").read_text())
    assert result["run"] == run.name
    dev, test = result["objectives_dev"], result["objectives"]
    for table in (dev, test):
        assert list(table) == list(OBJECTIVES)
        assert all(list(row) == list(OBJECTIVES) for row in table.values())
    # What tuning guarantees: on dev, each objective is best served by its own thresholds.
    for metric in OBJECTIVES:
        for other in OBJECTIVES:
            assert dev[metric][metric] >= dev[other][metric], (metric, other, dev)
    # The cue words were learned: far above the best constant rule (every label on).
    data = load_dataset(DatasetSpec(dataset="semeval-ec", data_dir=str(tmp_path / "work" / "data")))
    prior = data.test.labels.mean(axis=0)
    assert test["macro"]["macro"] > np.mean(2 * prior / (1 + prior)) + 0.15
    # The training run scored the same objectives on test with the same probabilities.
    trained = json.loads((run / "overall_metrics.json").read_text())["objectives"]
    for tuned in OBJECTIVES:
        assert trained[tuned] == pytest.approx(test[tuned], abs=1e-6)

    text = (out / "calibration_semeval_style.md").read_text()
    assert "Synthetic data, not SemEval-2018" in text
    assert "800 train / 300 dev / 300 test tweets" in text
    for split, table in (("test", test), ("dev", dev)):
        assert f"| tuned for | {split} macro-F1 | {split} micro-F1 | {split} Jaccard |" in text
        for tuned, s in table.items():
            cells = " | ".join(f"{s[metric]:.4f}" for metric in ("macro", "micro", "jaccard"))
            assert f"| {run.name} | {tuned} | {cells} |" in text
