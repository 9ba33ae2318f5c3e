"""The learning-curve benchmark: sizes, paired stratified samples, resumed runs, tables.

The end-to-end test replaces the trainers by a stand-in that loads the run's training
sample exactly as they do and writes a real run directory (thresholds from dev, test
scored once) from seeded probabilities, so the whole benchmark runs in seconds; the
slow test trains each real model once.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time

import numpy as np
import pytest

from emotag.benchmarks import learning_curve
from emotag.benchmarks.trained_runs import mean_std
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.runs import layout

# A BiLSTM small enough to train in seconds (offline: random vectors, trained).
TINY = ["epochs=1", "embeddings=random", "embedding_dim=8", "lstm_units=4",
        "attention_units=4", "batch_size=16", "min_count=1", "verbose=0"]  # fmt: skip
TINY_TFIDF = ["c=1", "ngram_range=1-1", "min_df=1"]
MODELS = ["bilstm-closed", "bilstm-open", "tfidf-lr", "minilm"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Upstream's ekman_mapping.json: Ekman's six emotions (plus neutral) over the fine labels.
EKMAN = {
    "anger": ["anger", "annoyance", "disapproval"],
    "disgust": ["disgust"],
    "fear": ["fear", "nervousness"],
    "joy": ["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring"],
    "sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
    "surprise": ["surprise", "realization", "confusion", "curiosity"],
}  # fmt: skip


def stand_in_train(config):
    """A trainer's contract without a model: the run's training sample, loaded as the
    trainers load it, is recorded in train_ids.txt; probabilities lean towards the gold
    labels more the more training texts there are, so the curves rise."""
    from emotag.evaluation.scoring import calibrate_and_score
    from emotag.runs.info import write_run_info
    from emotag.runs.writer import RunWriter

    data = load_dataset(DatasetSpec.from_config(config))
    rng = np.random.default_rng([config.seed, len(config.run_name)])
    weight = len(data.train.ids) / 200

    def probs(split):
        return (weight * split.labels + rng.random(split.labels.shape)) / (1 + weight)

    kind = {"TrainConfig": layout.BILSTM, "BaselineConfig": layout.TFIDF}[type(config).__name__]
    kind = layout.BERT if "encoder" in dataclasses.asdict(config) else kind
    with RunWriter(config.output_dir, config.run_name) as run:
        (run.path / "train_ids.txt").write_text("\n".join(data.train.ids))
        _, report = calibrate_and_score(run.path, data, probs(data.dev), probs(data.test), "t")
        write_run_info(run.path, dataclasses.asdict(config), time.time(), report, kind=kind)
    return run.final_path


def test_sizes_are_numbers_or_full_and_models_are_known(tiny_data_dir, tmp_path):
    assert learning_curve.ordered(["full", "40", "20", "40"]) == ["20", "40", "full"]
    assert learning_curve.size_arg("0300") == "300"
    with pytest.raises(SystemExit):
        learning_curve.parse_args(["--sizes", "0"])
    with pytest.raises(SystemExit, match="--sizes: cannot sample 161 of 160"):
        learning_curve.main(["--data-dir", str(tiny_data_dir), "--sizes", "161", "--report-only",
                             "--out", str(tmp_path)])  # fmt: skip
    with pytest.raises(SystemExit, match="unknown experiments"):
        learning_curve.main(["--experiments", "bert", "--report-only", "--out", str(tmp_path)])
    assert learning_curve.run_name("tfidf-lr", "full", 0) == "tfidf-lr-full-s0"


def test_learning_curve_end_to_end(tiny_data_dir, tmp_path, monkeypatch):
    real = learning_curve.Model.trainer
    monkeypatch.setattr(learning_curve.Model, "trainer",
                        lambda self: (real(self)[0], stand_in_train))  # fmt: skip
    # The runs' own figures (per-class F1, reliability) are drawn by every trainer and
    # tested elsewhere; here they would cost most of the time.
    from emotag.evaluation import reports

    for name in ("plot_per_class_f1", "plot_reliability"):
        monkeypatch.setattr(reports, name, lambda *args, **kwargs: None)
    runs, out = tmp_path / "runs", tmp_path / "out"
    argv = ["--data-dir", str(tiny_data_dir), "--sizes", "40", "20", "full", "--seeds", "0", "1",
            "--minilm-sizes", "20", "--runs-dir", str(runs), "--out", str(out),
            "--set", *TINY, "--set-tfidf", *TINY_TFIDF,
            "--set-minilm", "encoder=tiny-encoder", "epochs=1"]  # fmt: skip
    learning_curve.main(argv)
    report = json.loads((out / "learning_curve.json").read_text())

    # Every (size, model, seed): MiniLM at --minilm-sizes only, one seed at full size.
    expected = {"20": MODELS, "40": MODELS[:3], "full": MODELS[:3]}
    assert {size: list(by_model) for size, by_model in report["runs"].items()} == expected
    for size, by_model in report["runs"].items():
        assert all(list(by_seed) == (["0"] if size == "full" else ["0", "1"])
                   for by_seed in by_model.values())  # fmt: skip
    config = json.loads((runs / "fine" / "bilstm-open-n40-s1" / "train_config.json").read_text())
    assert (config["vocabulary"], config["train_size"], config["subset_seed"], config["seed"],
            config["lstm_units"]) == ("open", 40, 1, 1, 4)  # fmt: skip
    assert json.loads((runs / "fine" / "tfidf-lr-full-s0" / "train_config.json").read_text())[
        "train_size"] is None  # fmt: skip

    # Paired rows: at a (size, seed) every model trained on the same texts; a seed's
    # smaller sample is part of its larger one; no dev or test text in any.
    def ids(model, size, seed):
        name = learning_curve.run_name(model, size, seed)
        return (runs / "fine" / name / "train_ids.txt").read_text().split()

    full = load_dataset(DatasetSpec(data_dir=str(tiny_data_dir)))
    for seed in (0, 1):
        for size in ("20", "40"):
            sample = ids("bilstm-closed", size, seed)
            assert len(sample) == int(size) and set(sample) <= set(full.train.ids)
            assert all(ids(m, size, seed) == sample for m in expected[size])
        assert set(ids("tfidf-lr", "20", seed)) < set(ids("tfidf-lr", "40", seed))
    assert ids("minilm", "20", 0) != ids("minilm", "20", 1)
    assert len(ids("bilstm-open", "full", 0)) == len(full.train.ids)
    # The samples table: at 20 of 160 texts, every label (all have 8+ texts) keeps one.
    assert report["samples"]["full"]["texts"] == 160
    assert report["samples"]["full"]["seeds"]["0"] == {"labels_missing": 0, "rarest": 8}
    assert report["samples"]["20"]["seeds"]["0"]["labels_missing"] == 0

    # The tables are the runs' own figures, aggregated.
    table = (out / "learning_curve.md").read_text()
    for size, by_model in report["runs"].items():
        for model, by_seed in by_model.items():
            f1s = [r["macro_f1"] for r in by_seed.values()]
            dev = [r["dev_macro_f1"] for r in by_seed.values()]
            cell = mean_std(f1s)
            assert report["summary"][size][model]["macro_f1"] == cell
            texts = report["samples"][size]["texts"]
            texts = f"{texts} (all)" if size == "full" else texts
            title, seeds = learning_curve.TITLES[model], ",".join(by_seed)
            assert f"| {texts} | {title} | {seeds} | {cell} | {mean_std(dev)} |" in table
    gap = report["gaps"]["20"]["minilm"]
    open_f1 = np.mean([r["macro_f1"] for r in report["runs"]["20"]["bilstm-open"].values()])
    minilm_f1 = np.mean([r["macro_f1"] for r in report["runs"]["20"]["minilm"].values()])
    assert gap["difference"] == pytest.approx(open_f1 - minilm_f1, abs=1e-9)
    assert f"| 20 | {learning_curve.gap_cell(report['gaps']['20']['tfidf-lr'])} | " in table
    assert "| 160 (all) | 0 | 0 | 8 |" in table and "minilm" not in report["gaps"]["full"]
    assert (out / "learning_curve.png").read_bytes().startswith(PNG_MAGIC)

    # Run again: every run is reused; --report-only rebuilds the same tables.
    stamp = (runs / "fine" / "minilm-n20-s0" / "run_info.json").stat().st_mtime_ns
    learning_curve.main(argv)
    shutil.rmtree(out)
    learning_curve.main([*argv, "--report-only"])
    assert (runs / "fine" / "minilm-n20-s0" / "run_info.json").stat().st_mtime_ns == stamp
    again = json.loads((out / "learning_curve.json").read_text())
    assert (again["summary"], again["gaps"]) == (report["summary"], report["gaps"])
    assert (out / "learning_curve.md").read_text().replace(" --report-only", "") == table

    # A run trained with other settings is not mixed in.
    with pytest.raises(SystemExit, match="lstm_units: 4 there, 5 now"):
        learning_curve.main([a if a != "lstm_units=4" else "lstm_units=5" for a in argv])


@pytest.mark.slow
def test_learning_curve_trains_every_real_model(tiny_data_dir, tmp_path, monkeypatch):
    from test_bert import write_tiny_hf_bert

    monkeypatch.chdir(tmp_path)  # embedding caches land here
    encoder = write_tiny_hf_bert(tmp_path / "tiny_bert")
    data_dir = shutil.copytree(tiny_data_dir, tmp_path / "data")
    (data_dir / "ekman_mapping.json").write_text(json.dumps(EKMAN))
    runs, out = tmp_path / "runs", tmp_path / "out"
    learning_curve.main([
        "--data-dir", str(data_dir), "--sizes", "20", "--seeds", "0", "--taxonomy",
        "ekman", "--minilm-sizes", "20", "--runs-dir", str(runs), "--out", str(out),
        "--set", *TINY, "--set-tfidf", *TINY_TFIDF, "--set-minilm", f"encoder={encoder}",
        "epochs=1", "max_steps_per_epoch=1", "batch_size=16", "verbose=0",
    ])  # fmt: skip
    report = json.loads((out / "learning_curve_ekman.json").read_text())
    assert list(report["runs"]["20"]) == MODELS
    for model in MODELS:
        run = runs / "ekman" / learning_curve.run_name(model, "20", 0)
        config = json.loads((run / "train_config.json").read_text())
        assert (config["train_size"], config["taxonomy"]) == (20, "ekman")
        assert len((run / "labels.txt").read_text().split()) == 7
    assert (out / "learning_curve_ekman.png").exists()
    assert "| 20 | TF-IDF + LR | 0 |" in (out / "learning_curve_ekman.md").read_text()
