"""Ensembles of trained runs: one SavedModel averaging the members, calibrated on dev only."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from conftest import serve_in_fresh_process
from emotag.evaluation.calibration import calibrate
from emotag.models.export import export_text_module
from emotag.serving.ensemble import (
    EnsembleConfig,
    ensemble,
    load_members,
    member_dataset,
    parse_args,
    simplex_grid,
)

TEXTS = ["Thanks so much, I love it!", "why is this so sad", "", "haha 😂 lol", "x" * 500]


def test_simplex_grid():
    grid = simplex_grid(3, 2)
    assert grid.shape == (6, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert [0.5, 0.0, 0.5] in grid.tolist()


def test_parse_args_checks_weights():
    config = parse_args(["--models", "a", "b", "--weights", "2", "1", "--run-name", "ab"])
    assert config.weights == [2.0, 1.0] and config.run_name == "ab"
    for bad in (
        ["--models", "a"],
        ["--models", "a", "b", "--weights", "1"],
        ["--models", "a", "b", "--weights", "1", "1", "--tune-weights"],
        ["--models", "a", "b", "--weights", "-1", "2"],
    ):
        with pytest.raises(SystemExit):
            parse_args(bad)


class _Constant(tf.Module):
    def __init__(self, value: float, labels: int):
        super().__init__()
        self.value, self.labels = value, labels

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, text):
        return tf.fill(tf.stack([tf.shape(text)[0], self.labels]), self.value)


def _fake_run(path, label_names, value=0.5):
    """A run directory with just what `Predictor` reads: constant probabilities."""
    path.mkdir(parents=True)
    thresholds = np.full(len(label_names), 0.5, "float32")
    export_text_module(
        _Constant(value, len(label_names)), thresholds, label_names, path / "saved_model"
    )
    np.save(path / "per_class_thresholds.npy", thresholds)
    (path / "thresholds.json").write_text(json.dumps({"at_least_one": False}))
    (path / "labels.txt").write_text("\n".join(label_names) + "\n")
    return path


def test_members_must_share_labels(tmp_path):
    a = _fake_run(tmp_path / "a", ["joy", "anger"])
    b = _fake_run(tmp_path / "b", ["anger", "joy"])
    assert [m.label_names for m in load_members([str(a), str(a)])] == [["joy", "anger"]] * 2
    with pytest.raises(ValueError, match="same labels in the same order"):
        load_members([str(a), str(b)])


def test_members_must_share_dev_and_test_data(tmp_path):
    def run(name, **config):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train_config.json").write_text(json.dumps(config))
        return str(tmp_path / name)

    a = run("a", dataset="csv", train_file="t.csv", labels_col="labels", exclude_ids="x.csv")
    b = run("b", dataset="csv", train_file="t.csv", labels_col="labels", limit=10)
    spec = member_dataset([a, b], data_dir="elsewhere")
    # training-only edits differ between members and are dropped; data_dir is overridden
    assert (spec.dataset, spec.train_file, spec.labels_col) == ("csv", "t.csv", "labels")
    assert (spec.exclude_ids, spec.limit, spec.data_dir) == (None, None, "elsewhere")
    c = run("c", dataset="csv", train_file="t.csv", labels_col="labels", split_seed=1)
    with pytest.raises(ValueError, match="different data: split_seed 0 vs 1"):
        member_dataset([a, c])
    old = run("old")  # runs without a train_config.json dataset field were GoEmotions fine
    ekman = run("ekman", taxonomy="ekman")
    with pytest.raises(ValueError, match="dataset 'goemotions' vs 'csv'"):
        member_dataset([old, a])
    with pytest.raises(ValueError, match="taxonomy 'fine' vs 'ekman'"):
        member_dataset([old, ekman])


@pytest.fixture(scope="module")
def members(tiny_data_dir, tiny_run_dir, tmp_path_factory):
    """Three tiny runs: two TF-IDF baselines and the session's BiLSTM (Keras-exported)."""
    from emotag.training.baseline import BaselineConfig, train

    out = tmp_path_factory.mktemp("members")
    runs = []
    for c, ngrams in (("0.5", "1-1"), ("8", "1-2")):
        config = BaselineConfig(
            data_dir=str(tiny_data_dir), c=c, ngram_range=ngrams, min_df=1,
            output_dir=str(out), run_name=f"tfidf-{c}",
        )  # fmt: skip
        runs.append(train(config))
    return [*runs, tiny_run_dir]


@pytest.fixture(scope="module")
def weighted(members, tiny_data_dir, tmp_path_factory):
    """An ensemble with fixed weights 3:1 built from copies of two members, then deleted."""
    copies = tmp_path_factory.mktemp("copies")
    paths = [shutil.copytree(m, copies / m.name) for m in (members[0], members[2])]
    out = tmp_path_factory.mktemp("ensembles")
    config = EnsembleConfig(
        models=[str(p) for p in paths], weights=[3.0, 1.0], data_dir=str(tiny_data_dir),
        output_dir=str(out), run_name="ens",
    )  # fmt: skip
    run_dir = ensemble(config)
    shutil.rmtree(copies)  # the ensemble's SavedModel must not need its members' directories
    return run_dir


def _member_average(members, weights, texts):
    from emotag.serving.predictor import Predictor

    probs = [Predictor.load(m).predict_proba(texts) for m in members]
    return sum(w * p for w, p in zip(weights, probs))


@pytest.mark.slow
def test_ensemble_run_matches_weighted_average(weighted, members):
    from emotag.serving.predictor import Predictor

    for name in [
        "saved_model", "per_class_thresholds.npy", "thresholds.json", "labels.txt",
        "overall_metrics.json", "per_class_report.csv", "predictions_test.tsv",
        "per_class_f1.png", "train_config.json", "run_info.json",
    ]:  # fmt: skip
        assert (weighted / name).exists(), name
    info = json.loads((weighted / "run_info.json").read_text())
    assert info["model"] == "ensemble" and info["weights"] == [0.75, 0.25]
    assert [m["model"] for m in info["members"]] == ["tfidf-lr", "bilstm"]
    assert info["kind"] == "ensemble"
    assert [m["kind"] for m in info["members"]] == ["tfidf-lr", "bilstm"]

    predictor = Predictor.load(weighted, batch_size=2)
    expected = _member_average([members[0], members[2]], [0.75, 0.25], TEXTS)
    np.testing.assert_allclose(predictor.predict_proba(TEXTS), expected, rtol=1e-5, atol=1e-6)
    assert predictor.label_names == (weighted / "labels.txt").read_text().split()
    assert not predictor.can_explain


@pytest.mark.slow
def test_ensemble_saved_model_in_plain_tensorflow(weighted, members):
    served = serve_in_fresh_process(weighted / "saved_model", TEXTS)
    expected = _member_average([members[0], members[2]], [0.75, 0.25], TEXTS)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)
    assert np.array(served["labels"]).shape == expected.shape


def _scramble_test_labels(src, dst):
    """A copy of the data whose test labels are rotated by one row."""
    shutil.copytree(src, dst)
    rows = [line.split("\t") for line in (dst / "test.tsv").read_text().splitlines()]
    labels = [r[1] for r in rows]
    labels = labels[1:] + labels[:1]
    lines = [f"{r[0]}\t{y}\t{r[2]}" for r, y in zip(rows, labels)]
    (dst / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


@pytest.mark.slow
def test_weights_and_thresholds_come_from_dev_only(members, tiny_data_dir, tmp_path):
    from emotag.data.goemotions import load_goemotions
    from emotag.serving.predictor import Predictor

    scrambled = _scramble_test_labels(tiny_data_dir, tmp_path / "scrambled")
    runs = []
    for name, data_dir in (("real", tiny_data_dir), ("scrambled", scrambled)):
        config = EnsembleConfig(
            models=[str(m) for m in members], tune_weights=True, weight_steps=4,
            data_dir=str(data_dir), output_dir=str(tmp_path / "out"), run_name=name,
        )  # fmt: skip
        runs.append(ensemble(config))
    real, other = (json.loads((r / "run_info.json").read_text()) for r in runs)
    assert len(real["weight_grid"]) == len(simplex_grid(3, 4))
    assert real["weights"] == other["weights"] and real["weight_grid"] == other["weight_grid"]
    for name in ("per_class_thresholds.npy",):
        np.testing.assert_array_equal(np.load(runs[0] / name), np.load(runs[1] / name))
    assert real["test_macro_f1"] != other["test_macro_f1"]  # test labels were used to score

    # The thresholds are exactly those tuned on the weighted dev probabilities (bagged
    # over the configured resamples of dev, the default).
    dev = load_goemotions(tiny_data_dir).dev
    probs = [Predictor.load(m).predict_proba(dev.texts) for m in members]
    mean = np.tensordot(np.asarray(real["weights"], "float32"), np.stack(probs), axes=1)
    tuned = calibrate(mean, dev.labels, resamples=config.threshold_resamples).thresholds
    assert config.threshold_resamples > 0
    np.testing.assert_array_equal(np.load(runs[0] / "per_class_thresholds.npy"), tuned)
    best = max(real["weight_grid"], key=lambda row: row["dev_macro_f1"])["dev_macro_f1"]
    chosen = [r for r in real["weight_grid"] if r["weights"] == real["weights"]][0]
    assert chosen["dev_macro_f1"] == best
