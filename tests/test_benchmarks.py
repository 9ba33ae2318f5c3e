"""The quality and label-quality benchmarks: their arithmetic, and whole runs on tiny data."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from emotag.benchmarks import label_quality, quality, trained_runs

# A BiLSTM small enough to train in seconds (offline: random vectors, trained).
TINY = ["epochs=1", "embeddings=random", "embedding_dim=8", "lstm_units=4",
        "attention_units=4", "batch_size=16", "min_count=1", "verbose=0"]  # fmt: skip


def test_mean_std_is_mean_and_sample_std():
    assert quality.mean_std([0.5, 0.7]) == "0.6000 ± 0.1414"  # std = 0.2 / sqrt(2)
    assert quality.mean_std([0.25]) == "0.2500"  # one seed: no spread to report
    assert quality.mean_std([600.0, 700.0, 800.0], digits=0) == "700 ± 100"
    assert quality.mean_std([]) == "-"


def test_overrides_are_typed_like_the_config_and_checked():
    from emotag.training.baseline import BaselineConfig
    from emotag.training.bilstm import TrainConfig

    parsed = trained_runs.parse_overrides(
        ["epochs=2", "dropout=0.25", "trainable_embeddings=yes", "max_len=None", "loss=bce"],
        TrainConfig,
    )
    assert parsed == {"epochs": 2, "dropout": 0.25, "trainable_embeddings": True,
                      "max_len": None, "loss": "bce"}  # fmt: skip
    for bad in (["epoch=2"], ["epochs"]):
        with pytest.raises(SystemExit, match="FIELD=VALUE with a TrainConfig field"):
            trained_runs.parse_overrides(bad, TrainConfig)
    assert trained_runs.parse_overrides(["c=1", "min_df=1"], BaselineConfig) == {
        "c": "1", "min_df": 1,
    }  # fmt: skip
    with pytest.raises(SystemExit, match="--set-tfidf 'epochs=1'"):
        trained_runs.parse_overrides(["epochs=1"], BaselineConfig, "--set-tfidf")


def test_a_finished_run_is_reused_only_with_the_same_configuration(tmp_path):
    from emotag.training.baseline import BaselineConfig

    run = tmp_path / "run"
    config = BaselineConfig(c="1", train_size=20, output_dir="elsewhere")
    assert not trained_runs.is_finished(run, config)
    run.mkdir()
    (run / "run_info.json").write_text("{}")
    saved = dataclasses.asdict(dataclasses.replace(config, output_dir=str(tmp_path)))
    # A field added to the code after the run was trained counts as its default.
    del saved["subset_seed"]
    (run / "train_config.json").write_text(json.dumps(saved))
    assert trained_runs.is_finished(run, config)
    with pytest.raises(SystemExit, match="subset_seed: 0 there, 1 now"):
        trained_runs.is_finished(run, dataclasses.replace(config, subset_seed=1))
    # A run saved before bagged thresholds became the default had the exact cuts.
    del saved["threshold_resamples"]
    (run / "train_config.json").write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match="threshold_resamples: 0 there, 50 now"):
        trained_runs.is_finished(run, config)
    assert trained_runs.is_finished(run, dataclasses.replace(config, threshold_resamples=0))


def test_unknown_experiment_names_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown experiments"):
        quality.main(["--experiments", "emb-glove", "--report-only", "--out", str(tmp_path)])


def test_an_experiment_in_several_suites_has_one_configuration():
    # Suites share run directories by experiment name (default, distill-train-only, ...),
    # so a name must mean the same settings wherever it appears.
    seen: dict[str, dict] = {}
    for suite, experiments in quality.SUITES.items():
        for name, edits in experiments:
            assert seen.setdefault(name, edits) == edits, (suite, name)
    assert quality.SUITES["distill-sw0.8"][2] == quality.SUITES["distill-mix"][3]
    # the distill* names are students, and every other name is not (run_experiment's rule)
    students = {n for n, e in seen.items() if "soft_weight" in e or "augment_multiple" in e}
    assert students == {n for n in seen if n.startswith("distill")}


def test_the_help_describes_every_suite(capsys):
    with pytest.raises(SystemExit):
        quality.parse_args(["--help"])
    described = re.findall(r"^- ([\w.-]+(?:, [\w.-]+)*):", capsys.readouterr().out, re.M)
    names = [name for line in described for name in line.split(", ")]
    assert sorted(names) == sorted(quality.SUITES)


@pytest.mark.slow
def test_quality_benchmark_trains_resumes_and_reports(tiny_data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # embedding caches land here
    runs, out = tmp_path / "runs", tmp_path / "out"
    argv = ["--data-dir", str(tiny_data_dir), "--suite", "default", "loss", "--seeds", "0", "1",
            "--runs-dir", str(runs), "--out", str(out), "--set", *TINY]  # fmt: skip
    quality.main(argv)
    report = json.loads((out / "quality.json").read_text())
    assert sorted(report["runs"]) == ["default", "loss-bce"]
    assert sorted(report["runs"]["default"]) == ["0", "1"]  # JSON keys
    assert report["overrides"]["embeddings"] == "random"
    config = json.loads((runs / "loss-bce-s1" / "train_config.json").read_text())
    assert (config["loss"], config["seed"], config["lstm_units"]) == ("bce", 1, 4)

    # The table is the runs' own figures, aggregated.
    f1s = [r["macro_f1"] for r in report["runs"]["default"].values()]
    assert report["summary"]["default"]["macro_f1"] == quality.mean_std(f1s)
    table = (out / "quality.md").read_text()
    assert f"| default | random | 0,1 | {quality.mean_std(f1s)} |" in table
    assert "| admiration |" in table and "one global (dev-tuned)" in table
    # The ablation is tested against the default on the same test examples, seeds averaged.
    bce = [r["macro_f1"] for r in report["runs"]["loss-bce"].values()]
    vs = report["vs_default"]["loss-bce"]
    assert vs["difference"] == pytest.approx(sum(bce) / 2 - sum(f1s) / 2, abs=1e-9)
    assert 0 < vs["p_value"] <= 1 and vs["interval"][0] <= vs["difference"] <= vs["interval"][1]
    assert "vs default (p)" in table and f"{vs['difference']:+.4f} ({vs['p_value']:.3f})" in table
    low, high = vs["interval"]
    star = " *" if vs["p_value"] < 0.05 else ""
    assert f"({vs['p_value']:.3f}){star} | [{low:+.4f}, {high:+.4f}] |" in table

    # A second call reuses every finished run instead of training again.
    stamp = (runs / "default-s0" / "run_info.json").stat().st_mtime_ns
    quality.main(argv)
    assert (runs / "default-s0" / "run_info.json").stat().st_mtime_ns == stamp
    assert json.loads((out / "quality.json").read_text())["summary"] == report["summary"]

    # Runs trained with another configuration (say, an earlier default) are not mixed in.
    changed = [a if a != "lstm_units=4" else "lstm_units=5" for a in argv]
    with pytest.raises(SystemExit, match="lstm_units: 4 there, 5 now"):
        quality.main(changed)


@pytest.mark.slow
def test_quality_benchmark_distill_suite(
    tiny_data_dir, tiny_run_dir, tmp_path, monkeypatch, caplog
):
    monkeypatch.chdir(tmp_path)  # embedding and teacher caches land here
    runs, out = tmp_path / "runs", tmp_path / "out"
    argv = ["--data-dir", str(tiny_data_dir), "--suite", "distill", "--seeds", "0",
            "--experiments", "default", "distill", "--teacher", str(tiny_run_dir),
            "--report-name", "distillation", "--runs-dir", str(runs), "--out", str(out),
            "--set", *TINY, "temperature=2.0", "soft_weight=0.8"]  # fmt: skip
    quality.main(argv)
    report = json.loads((out / "distillation.json").read_text())
    assert sorted(report["runs"]) == ["default", "distill"]  # the others were not asked for
    student = json.loads((runs / "distill-s0" / "train_config.json").read_text())
    assert student["teacher"] == [str(tiny_run_dir)] and student["temperature"] == 2.0
    assert student["soft_weight"] == 0.5  # the suite's weight (what it measured) beats --set
    # ... and the user is told, once per chosen experiment that pins it (not the default)
    pinned = [r.getMessage() for r in caplog.records if "does not reach" in r.getMessage()]
    assert pinned == [
        "--set soft_weight=0.8 does not reach distill, which sets soft_weight=0.5 itself"
    ]
    assert student["augment_multiple"] == 1 and student["lstm_units"] == 4
    plain = json.loads((runs / "default-s0" / "train_config.json").read_text())
    # an undistilled run ignores the student-only flags
    assert "soft_weight" not in plain and "temperature" not in plain
    table = (out / "distillation.md").read_text()
    teacher_f1 = json.loads((tiny_run_dir / "run_info.json").read_text())["test_macro_f1"]
    assert f"| teacher: {tiny_run_dir.name} | | - | {teacher_f1:.4f} |" in table
    assert "vs default (p)" in table and "| distill | random | 0 |" in table
    assert not (out / "quality.md").exists()

    # The loss-mix suite: its weight beats --set's, and the default run is shared.
    quality.main(["--data-dir", str(tiny_data_dir), "--suite", "distill-mix", "--seeds", "0",
                  "--experiments", "distill-train-only-sw1.0", "--teacher", str(tiny_run_dir),
                  "--report-name", "distill_mix", "--runs-dir", str(runs), "--out", str(out),
                  "--set", *TINY, "soft_weight=0.8"])  # fmt: skip
    student = json.loads((runs / "distill-train-only-sw1.0-s0" / "train_config.json").read_text())
    assert student["soft_weight"] == 1.0 and student["augment_multiple"] == 0
    report = json.loads((out / "distill_mix.json").read_text())
    assert sorted(report["runs"]) == ["default", "distill-train-only-sw1.0"]

    # --report-only trains nothing, so a pinned --set has nothing to warn about.
    caplog.clear()
    quality.main(["--suite", "distill", "--seeds", "0", "--report-only", "--runs-dir", str(runs),
                  "--out", str(out), "--report-name", "distillation", "--set", "soft_weight=0.8"])
    assert not [r for r in caplog.records if "does not reach" in r.getMessage()]
    assert sorted(json.loads((out / "distillation.json").read_text())["runs"]) == [
        "default", "distill"]

    # The cross-fit suite: its students need --cross-fit-teacher, and take the training
    # texts' soft targets from it (here a copy of the tiny run said to have left out three).
    from conftest import cross_fit_copy
    from emotag.data.goemotions import load_goemotions

    held = load_goemotions(str(tiny_data_dir)).train.ids[:3]
    fold = cross_fit_copy(tiny_run_dir, tmp_path / "fold-A", held)
    cf = ["--data-dir", str(tiny_data_dir), "--suite", "distill-cf", "--seeds", "0",
          "--experiments", "distill-cf-train-only-sw0.8", "--teacher", str(tiny_run_dir),
          "--report-name", "distillation_cf", "--runs-dir", str(runs), "--out", str(out),
          "--set", *TINY]  # fmt: skip
    with pytest.raises(SystemExit, match="needs --cross-fit-teacher"):
        quality.main(cf)
    quality.main([*cf, "--cross-fit-teacher", str(fold)])
    student = runs / "distill-cf-train-only-sw0.8-s0"
    assert json.loads((student / "train_config.json").read_text())["cross_fit_teacher"] == [
        str(fold)]
    info = json.loads((student / "run_info.json").read_text())
    assert info["train_out_of_fold"] == 3
    assert info["cross_fit_teachers"][0]["run_dir"] == str(fold.resolve())
    assert "3 training texts came out of fold" in (student / "MODEL_CARD.md").read_text()


@pytest.mark.slow
def test_label_quality_benchmark_end_to_end(tiny_data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs, out = tmp_path / "runs", tmp_path / "out"
    label_quality.main([
        "--data-dir", str(tiny_data_dir), "--seeds", "0", "--folds", "3", "--drop-top", "5",
        "--rare-below", "20", "--per-class", "2", "--augment-embeddings", "word2vec",
        "--runs-dir", str(runs), "--out", str(out), "--set", *TINY,
    ])  # fmt: skip
    report = json.loads((out / "label_quality.json").read_text())
    expected = ["baseline", "drop-flagged", "drop-top5", "augmented", "drop+augmented"]
    assert list(report["summary"]) == expected
    assert len(report["rarest"]) == 5
    # drop-top5 trained without exactly the five most suspicious training ids.
    top = (runs / "audit" / "top-5.csv").read_text().splitlines()
    assert len(top) == 6
    config = json.loads((runs / "drop-top5-s0" / "train_config.json").read_text())
    assert config["exclude_ids"].endswith("top-5.csv") and config["extra_train"] is None
    assert "| drop+augmented | 0 |" in (out / "label_quality.md").read_text()


@pytest.mark.slow
def test_throughput_benchmark_rows_and_report(tiny_run_dir, tiny_data_dir, tmp_path):
    from emotag.benchmarks import throughput
    from emotag.training.baseline import BaselineConfig, train

    config = BaselineConfig(data_dir=str(tiny_data_dir), c="1", ngram_range="1-1", min_df=1,
                            output_dir=str(tmp_path), run_name="tfidf")  # fmt: skip
    baseline = train(config)
    out = tmp_path / "out"
    argv = ["--models", str(tiny_run_dir), str(baseline), str(tmp_path / "missing"),
            "--data-dir", str(tiny_data_dir), "--rounds", "2", "--seconds", "0.05",
            "--latency-texts", "8", "--out", str(out)]  # fmt: skip
    throughput.main(argv)
    report = json.loads((out / "throughput.json").read_text())
    assert report["texts"] == 48 and report["command"].endswith("--out " + str(out))
    names = [row["name"] for row in report["rows"]]
    run = tiny_run_dir.name
    per_setting = [
        f"{run}: naive model.predict, ids padded to max_len",
        f"{run}: network on sorted ids, tf.function",
        f"{run}: network on sorted ids, jit_compile, x8",
        f"{run} (bilstm): Predictor, SavedModel as shipped",
        f"{run} (bilstm): Predictor, re-exported by this version",
        "tfidf (tfidf-lr): Predictor",
    ]
    assert names == [f"{name} [{setting}]" for setting in ("TF default threads", "intra-op 1")
                     for name in per_setting]  # fmt: skip
    assert report["notes"] == [f"{tmp_path / 'missing'}: no saved_model/, skipped"]
    # Each worker ran under its own setting, and says so.
    assert report["machine"]["threads"]["intra-op 1"]["intra_op"] == 1
    assert report["machine"]["threads"]["TF default threads"]["intra_op"] == 0
    predictor_row = report["rows"][3]
    assert len(predictor_row["samples"]) == 2  # one per round; the median is reported
    for key in ("b1", "b32", "b256", "bulk", "p50_ms", "p99_ms"):
        values = [sample[key] for sample in predictor_row["samples"]]
        assert predictor_row["median"][key] == pytest.approx(sum(values) / 2)  # median of 2
        assert all(v > 0 for v in values)
    assert predictor_row["median"]["p50_ms"] <= predictor_row["median"]["p99_ms"]
    table = (out / "throughput.md").read_text()
    assert "| tfidf (tfidf-lr): Predictor [intra-op 1] |" in table
    # --report-only re-renders the same Markdown from the JSON.
    (out / "throughput.md").unlink()
    throughput.main(["--report-only", "--out", str(out)])
    assert (out / "throughput.md").read_text() == table


@pytest.mark.slow
def test_reexport_serves_the_same_probabilities(tiny_run_dir, tmp_path):
    import numpy as np

    from emotag.benchmarks import throughput
    from emotag.serving.predictor import Predictor

    fresh = throughput.reexport(tiny_run_dir, tmp_path / "fresh")
    texts = ["thanks so much!", "why is it so sad", "", "wow haha 😂"]
    old, new = Predictor.load(tiny_run_dir), Predictor.load(fresh)
    assert new.can_score_ids and new.label_names == old.label_names
    np.testing.assert_allclose(new.predict_proba(texts), old.predict_proba(texts), atol=1e-5)


@pytest.mark.slow
def test_calibration_benchmark_on_a_tiny_run(tiny_run_dir, tiny_data_dir, tmp_path):
    from emotag.benchmarks import calibration

    out = tmp_path / "results"
    argv = ["--models", str(tiny_run_dir), "--data-dir", str(tiny_data_dir), "--out", str(out)]
    assert calibration.main(argv) == 0
    (result,) = json.loads((out / "calibration.json").read_text())
    assert set(result["objectives"]) == {"macro", "micro", "jaccard"}
    for scores in result["objectives"].values():
        assert all(0 <= v <= 1 for v in scores.values())
    t = result["temperature"]
    assert t["used"] in (1.0, t["fitted"]) and t["kept"] == (t["used"] != 1.0)
    assert "| tuned for |" in (out / "calibration.md").read_text()


@pytest.mark.parametrize("one_label", [False, True])
def test_held_out_halves_score_both_methods_on_the_same_splits(one_label):
    import numpy as np

    from emotag.benchmarks.thresholds import held_out_halves, tune
    from emotag.evaluation.metrics import macro_f1

    rng = np.random.default_rng(0)
    if one_label:  # one label a row: the at-least-one rule helps some tuning halves
        labels = np.eye(3, dtype=int)[rng.integers(0, 3, 60)]
        probs = np.clip(0.4 * labels + 0.6 * rng.random((60, 3)), 0, 1).astype("float32")
    else:
        labels = (rng.random((60, 3)) < 0.3).astype(int)
        probs = np.clip(0.3 * labels + 0.7 * rng.random((60, 3)), 0, 1).astype("float32")
    scores = held_out_halves(probs, labels, resamples=5, halves=3, seed=4)
    split_rng = np.random.default_rng(4)
    rules = []
    for i in range(3):
        order = split_rng.permutation(60)
        a, b = order[:30], order[30:]
        for method in ("exact", "bagged"):
            t = tune(method, probs[a], labels[a], 5)
            assert scores[method][i] == pytest.approx(macro_f1(labels[b], probs[b] >= t))
        # served: the bagged cuts, and an argmax label for empty rows if that helps half a
        t = tune("bagged", probs[a], labels[a], 5)
        rule = macro_f1(labels[a], with_argmax(probs[a], probs[a] >= t)) > macro_f1(
            labels[a], probs[a] >= t
        )
        served = with_argmax(probs[b], probs[b] >= t) if rule else probs[b] >= t
        assert scores["served"][i] == pytest.approx(macro_f1(labels[b], served))
        rules.append(rule)
    assert rules == ([True, True, False] if one_label else [False] * 3)  # both paths run


def test_held_out_halves_serve_the_runs_own_objective():
    import numpy as np

    from emotag.benchmarks.thresholds import held_out_halves
    from emotag.evaluation.calibration import calibrate
    from emotag.evaluation.metrics import macro_f1

    rng = np.random.default_rng(1)
    labels = (rng.random((80, 4)) < 0.3).astype(int)
    probs = np.clip(0.3 * labels + 0.7 * rng.random((80, 4)), 0, 1).astype("float32")
    scores = {o: held_out_halves(probs, labels, 5, 2, seed=3, objective=o)["served"]
              for o in ("macro", "micro")}  # fmt: skip
    order = np.random.default_rng(3).permutation(80)
    a, b = order[:40], order[40:]
    micro = calibrate(probs[a], labels[a], objective="micro", resamples=5)
    assert scores["micro"][0] == pytest.approx(macro_f1(labels[b], micro.predict(probs[b])))
    assert scores["micro"] != scores["macro"]
    # the bagged cuts do not depend on the run's objective
    bagged = {o: held_out_halves(probs, labels, 5, 2, seed=3, objective=o)["bagged"]
              for o in ("macro", "micro")}  # fmt: skip
    assert bagged["micro"] == bagged["macro"]


def with_argmax(probs, predicted):
    # hand-rolled at-least-one rule: a row with no label gets its most probable one
    predicted = predicted.copy()
    empty = ~predicted.any(axis=1)
    predicted[empty, probs[empty].argmax(axis=1)] = True
    return predicted


@pytest.mark.slow
def test_thresholds_benchmark_on_a_tiny_run(tiny_run_dir, tiny_data_dir, tmp_path, capsys):
    import numpy as np

    from emotag.benchmarks import thresholds
    from emotag.data.goemotions import load_goemotions
    from emotag.evaluation.calibration import bagged_threshold_per_class
    from emotag.evaluation.metrics import macro_f1
    from emotag.serving.predictor import Predictor

    out = tmp_path / "results"
    argv = ["--models", str(tiny_run_dir), "--data-dir", str(tiny_data_dir), "--halves", "3",
            "--resamples", "4", "--out", str(out)]  # fmt: skip
    assert thresholds.main(argv) == 0
    (result,) = json.loads((out / "thresholds.json").read_text())
    gains = np.subtract(result["halves"]["bagged"], result["halves"]["exact"])
    assert result["half_gain_mean"] == pytest.approx(gains.mean())
    assert result["half_wins"] == int((gains > 0).sum())
    # Test is scored with thresholds tuned on all of dev.
    data = load_goemotions(tiny_data_dir)
    predictor = Predictor.load(tiny_run_dir)
    dev, test = predictor.predict_proba(data.dev.texts), predictor.predict_proba(data.test.texts)
    cut = bagged_threshold_per_class(dev, data.dev.labels, 4).thresholds
    expected = macro_f1(data.test.labels, test >= cut)
    assert result["bagged"]["test_macro_f1"] == pytest.approx(expected)
    assert result["served"]["test_macro_f1"] == pytest.approx(
        macro_f1(data.test.labels, with_argmax(test, test >= cut))
        if result["served"]["at_least_one"] else expected
    )  # fmt: skip
    assert "| held-out half: exact |" in (out / "thresholds.md").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        thresholds.main([*argv[:-4], "--resamples", "0", "--out", str(out)])
    assert "--resamples: must be a positive integer, got 0" in capsys.readouterr().err


def test_soft_threshold_halves_at_weight_one_are_the_served_figures():
    # The same splits as benchmark thresholds: weight 1 (the labels alone) reproduces its
    # "served" column, and a soft target is scored on the same halves.
    import numpy as np

    from emotag.benchmarks import soft_thresholds, thresholds
    from emotag.evaluation.calibration import calibrate
    from emotag.evaluation.metrics import macro_f1

    rng = np.random.default_rng(1)
    labels = (rng.random((60, 3)) < 0.3).astype(int)
    probs = np.clip(0.3 * labels + 0.7 * rng.random((60, 3)), 0, 1).astype("float32")
    soft = rng.random((60, 3))
    scores = soft_thresholds.held_out_halves(probs, labels, soft, [1.0, 0.5], 5, 3, seed=4)
    served = thresholds.held_out_halves(probs, labels, resamples=5, halves=3, seed=4)["served"]
    np.testing.assert_allclose(scores[1.0], served)
    order = np.random.default_rng(4).permutation(60)  # the first split
    a, b = order[:30], order[30:]
    expected = calibrate(probs[a], labels[a], resamples=5, gold_weight=0.5, soft_labels=soft[a])
    assert scores[0.5][0] == pytest.approx(macro_f1(labels[b], expected.predict(probs[b])))
    assert scores[0.5] != scores[1.0]  # the soft target changed some cut


@pytest.mark.slow
def test_soft_thresholds_benchmark_on_a_tiny_run(tiny_run_dir, tiny_data_dir, tmp_path, capsys):
    import numpy as np

    from emotag.benchmarks import soft_thresholds
    from emotag.data.goemotions import load_goemotions
    from emotag.evaluation.calibration import calibrate
    from emotag.evaluation.metrics import macro_f1
    from emotag.serving.predictor import Predictor

    out = tmp_path / "results"
    argv = ["--models", str(tiny_run_dir), "--data-dir", str(tiny_data_dir), "--halves", "2",
            "--resamples", "3", "--gold-weights", "1", "0.5", "--soft-labels", "own",
            "teacher-platt", "--teacher", str(tiny_run_dir), "--out", str(out)]  # fmt: skip
    assert soft_thresholds.main(argv) == 0
    own, by_teacher = json.loads((out / "soft_thresholds.json").read_text())
    assert (own["soft_labels"], by_teacher["soft_labels"]) == ("own", "teacher-platt")
    row = own["weights"]["0.5"]
    assert row["half_gain"] == pytest.approx(
        np.mean(np.subtract(row["halves"], own["weights"]["1.0"]["halves"]))
    )
    # Test is scored once, calibrated on all of dev as served.
    data = load_goemotions(tiny_data_dir)
    predictor = Predictor.load(tiny_run_dir)
    dev, test = predictor.predict_proba(data.dev.texts), predictor.predict_proba(data.test.texts)
    served = calibrate(dev, data.dev.labels, resamples=3, gold_weight=0.5)
    assert row["test_macro_f1"] == pytest.approx(macro_f1(data.test.labels, served.predict(test)))
    platt = calibrate(dev, data.dev.labels, resamples=3, gold_weight=0.5, soft_labels=dev,
                      platt=True)  # fmt: skip
    assert by_teacher["weights"]["0.5"]["test_macro_f1"] == pytest.approx(
        macro_f1(data.test.labels, platt.predict(test))
    )
    assert "| run | soft labels | w=1.0 | w=0.5 |" in (out / "soft_thresholds.md").read_text()
    with pytest.raises(SystemExit, match="needs --teacher"):
        soft_thresholds.main(["--models", str(tiny_run_dir), "--soft-labels", "teacher"])
