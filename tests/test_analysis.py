"""Analysis tables on hand-made labels, with expectations worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emotag import analysis
from emotag.analysis import plots as analysis_plots
from emotag.data.goemotions import Split
from emotag.evaluation.reports import write_predictions_tsv

NAMES = ["joy", "anger", "neutral"]
# Five texts: joy; joy+anger; neutral; neutral+joy; nothing.
Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 0, 0]])


def test_label_frequencies_sorted_with_shares():
    table = analysis.label_frequencies(Y, NAMES)
    assert list(table["label"]) == ["joy", "neutral", "anger"]
    assert list(table["count"]) == [3, 2, 1]
    assert list(table["share"]) == pytest.approx([0.6, 0.4, 0.2])


def test_cooccurrence_counts_and_conditional():
    counts = analysis.cooccurrence(Y)
    np.testing.assert_array_equal(counts, [[3, 1, 1], [1, 1, 0], [1, 0, 2]])
    conditional = analysis.cooccurrence(Y, conditional=True)
    # P(anger | joy) = 1/3, P(joy | anger) = 1, P(joy | neutral) = 1/2.
    np.testing.assert_allclose(conditional[0], [1, 1 / 3, 1 / 3])
    np.testing.assert_allclose(conditional[1], [1, 1, 0])
    np.testing.assert_allclose(conditional[2], [0.5, 0, 1])
    assert analysis.cooccurrence(np.zeros((2, 2)), conditional=True).sum() == 0
    np.testing.assert_array_equal(
        analysis.cooccurrence(Y, diagonal=False), [[0, 1, 1], [1, 0, 0], [1, 0, 0]]
    )
    assert np.trace(analysis.cooccurrence(Y, conditional=True, diagonal=False)) == 0


def test_top_cooccurring_pairs():
    pairs = analysis.top_cooccurring_pairs(Y, NAMES)
    # joy-anger (row 1) and joy-neutral (row 3) once each; anger-neutral never.
    assert list(zip(pairs["a"], pairs["b"], pairs["count"])) == [
        ("joy", "anger", 1),
        ("joy", "neutral", 1),
    ]
    assert list(pairs["p_b_given_a"]) == pytest.approx([1 / 3, 1 / 3])
    assert list(pairs["p_a_given_b"]) == pytest.approx([1.0, 0.5])


def test_ambiguity_summary():
    summary = analysis.ambiguity_summary(Y, NAMES)
    assert summary["texts"] == 5
    assert summary["mean_labels"] == pytest.approx(6 / 5)
    assert summary["share_no_label"] == pytest.approx(0.2)
    assert summary["share_multi_label"] == pytest.approx(0.4)  # rows 2 and 4
    assert summary["share_neutral"] == pytest.approx(0.4)
    assert summary["share_neutral_with_emotion"] == pytest.approx(0.2)  # row 4 only
    assert summary["labels_per_text"] == pytest.approx({0: 0.2, 1: 0.4, 2: 0.4})


def test_text_lengths_and_head():
    lengths = analysis.text_lengths(["a bc", "", "x  y z"])
    assert list(lengths["chars"]) == [4, 0, 6] and list(lengths["words"]) == [2, 0, 3]
    split = Split(["a", "b", "c"], np.eye(3), ["1", "2", "3"])
    first_two = analysis.head(split, 2)
    assert first_two.texts == ["a", "b"] and first_two.labels.shape == (2, 3)
    assert analysis.head(split, None) is split


def test_emoji_usage():
    texts = ["great 😂😂", "meh", "ok 👍", "no", "hmm"]
    summary, top, by_label = analysis.emoji_usage(texts, Y, NAMES)
    assert summary == {"texts_with_emoji": 2, "share_with_emoji": pytest.approx(0.4)}
    assert list(top["emoji"]) == ["😂", "👍"] and list(top["count"]) == [2, 1]
    assert top["name"][0] == "face_with_tears_of_joy"
    shares = dict(zip(by_label["label"], by_label["share_with_emoji"]))
    # joy: rows 0, 1, 3 -> emoji in row 0 only; neutral: rows 2, 3 -> row 2; anger: row 1.
    assert shares == pytest.approx({"joy": 1 / 3, "neutral": 0.5, "anger": 0.0})


def test_precision_recall_curve_by_hand():
    # Scores sorted: 0.9 (pos), 0.8 (neg), 0.8 (pos), 0.3 (neg).
    precision, recall, thresholds = analysis.precision_recall_curve(
        [1, 0, 1, 0], [0.9, 0.8, 0.8, 0.3]
    )
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.3])
    np.testing.assert_allclose(precision, [1.0, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.5, 1.0, 1.0])
    # AP = 0.5 * 1 + 0.5 * 2/3.
    assert analysis.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.3]) == pytest.approx(5 / 6)
    _, recall, _ = analysis.precision_recall_curve([0, 0], [0.2, 0.1])
    np.testing.assert_array_equal(recall, [0, 0])


def test_threshold_sweep_by_hand():
    gold = np.array([[1, 0], [0, 1]])
    probs = np.array([[0.7, 0.2], [0.4, 0.6]])
    sweep = analysis.threshold_sweep(gold, probs, grid=[0.3, 0.5])
    # t=0.3: predictions [[1,0],[1,1]]: class 0 F1 = 2/3, class 1 F1 = 1; micro tp=2 fp=1 fn=0.
    # t=0.5: predictions [[1,0],[0,1]]: perfect.
    assert list(sweep["macro_f1"]) == pytest.approx([5 / 6, 1.0])
    assert list(sweep["micro_f1"]) == pytest.approx([0.8, 1.0])
    assert list(sweep["labels_per_text"]) == pytest.approx([1.5, 1.0])


def test_threshold_effects_by_hand():
    gold = np.array([[1, 0], [1, 1], [0, 1]])
    probs = np.array([[0.4, 0.1], [0.6, 0.7], [0.2, 0.3]])
    table = analysis.threshold_effects(gold, probs, [0.3, 0.5], ["a", "b"]).set_index("label")
    # a: at 0.3 predicts rows 0, 1 -> F1 1; at 0.5 only row 1 -> 2/3.
    # b: at 0.5 (calibrated = fixed) predicts row 1 -> 2/3 both ways.
    assert table.loc["a", ["f1_calibrated", "f1_fixed"]].tolist() == pytest.approx([1, 2 / 3])
    assert table.loc["b", "gain"] == pytest.approx(0)
    assert table.index.tolist() == ["a", "b"]  # largest gain first


def test_confusion_pairs_and_class_errors():
    gold = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0]])
    pred = np.array([[1, 0, 0], [1, 0, 1], [1, 0, 0], [0, 0, 1]])
    pairs = analysis.confusion_pairs(gold, pred, NAMES)
    rows = list(zip(pairs["gold"], pairs["predicted"], pairs["count"]))
    # anger missed twice, each time joy predicted; once also neutral; joy missed once for neutral.
    assert rows == [("anger", "joy", 2), ("anger", "neutral", 1), ("joy", "neutral", 1)]
    assert pairs["share_of_gold"][0] == pytest.approx(1.0)
    pairs = analysis.confusion_pairs(gold, pred, NAMES, exclude=("neutral",))
    assert list(zip(pairs["gold"], pairs["predicted"])) == [("anger", "joy")]
    np.testing.assert_array_equal(
        analysis.confusion_counts(gold, pred), [[0, 0, 1], [2, 0, 1], [0, 0, 0]]
    )
    errors = analysis.class_errors(gold, pred, NAMES).set_index("label")
    assert errors.loc["joy", ["support", "tp", "fp", "fn"]].tolist() == [2, 1, 2, 1]
    assert errors.loc["joy", "f1"] == pytest.approx(2 / 5)  # 2*1 / (2*1 + 2 + 1)
    assert errors.loc["neutral", "fp"] == 2 and errors.loc["neutral", "f1"] == 0


def _write_run(root, name, f1s):
    run = root / name
    run.mkdir()
    metrics = {"macro": {"f1": np.mean(f1s), "precision": 0.5, "recall": 0.5},
               "micro": {"f1": 0.6}}  # fmt: skip
    (run / "overall_metrics.json").write_text(json.dumps(metrics))
    (run / "run_info.json").write_text(json.dumps({"model": "bilstm", "wall_time_s": 1.0}))
    lines = ["label,precision,recall,f1,support"]
    lines += [f"{n},0.5,0.5,{f},3" for n, f in zip(NAMES, f1s)]
    (run / "per_class_report.csv").write_text("\n".join(lines) + "\n")
    return run


def test_run_tables(tmp_path):
    _write_run(tmp_path, "b", [0.2, 0.4, 0.6])
    _write_run(tmp_path, "a", [0.1, 0.3, 0.5])
    (tmp_path / ".a.tmp-123").mkdir()  # an unfinished run is not a run
    (tmp_path / "notes").mkdir()
    runs = analysis.find_runs(tmp_path)
    assert [r.name for r in runs] == ["a", "b"]
    assert analysis.find_runs(tmp_path / "missing") == []
    overall = analysis.overall_table(runs)
    assert overall.loc["b", "macro_f1"] == pytest.approx(0.4)
    assert overall.loc["a", "model"] == "bilstm"
    f1 = analysis.per_class_f1_table(runs)
    assert list(f1.columns) == ["a", "b"] and f1.loc["anger", "b"] == pytest.approx(0.4)
    assert analysis_plots.plot_f1_comparison(f1).axes


def test_read_predictions_round_trip_and_worst_examples(tmp_path):
    probs = np.array([[0.9, 0.1, 0.2], [0.6, 0.7, 0.1], [0.3, 0.2, 0.8], [0.1, 0.1, 0.1]])
    gold = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [1, 0, 0]])
    pred = (probs >= 0.5).astype(int)
    path = tmp_path / "predictions_test.tsv"
    texts = ["yay", "grr, ok", "meh\twith tab", "hmm"]
    write_predictions_tsv(path, texts, ["i0", "i1", "i2", "i3"], gold, pred, probs, NAMES)
    preds = analysis.read_predictions(path)
    assert preds.label_names == NAMES and preds.texts == texts
    np.testing.assert_array_equal(preds.gold, gold)
    np.testing.assert_array_equal(preds.predicted, pred)
    np.testing.assert_allclose(preds.probs, probs, atol=1e-4)
    assert analysis.read_predictions(path, limit=2).probs.shape == (2, 3)

    # joy false positive: row 1 (0.6); joy false negatives: row 3 (0.1) before row 2 (0.3).
    fp = analysis.worst_examples(preds, "joy", "fp")
    assert list(fp["text"]) == ["grr, ok"] and fp["predicted"][0] == "joy, anger"
    fn = analysis.worst_examples(preds, "joy", "fn")
    assert list(fn["text"]) == ["hmm", "meh\twith tab"]
    assert list(fn["probability"]) == pytest.approx([0.1, 0.3])
    assert analysis.worst_examples(preds, "anger", "fp").empty
    with pytest.raises(ValueError):
        analysis.worst_examples(preds, "joy", "tp")

    # No row both misses a label and predicts a wrong one, so no confusion examples.
    pairs = analysis.confusion_pairs(preds.gold, preds.predicted, NAMES)
    assert pairs.empty and analysis.confusion_examples(preds, pairs).empty
    assert analysis.confusion_examples(
        preds, pd.DataFrame({"gold": ["anger"], "predicted": ["joy"]})
    ).empty
    # joy by probability: 0.9 (gold), 0.6 (not), 0.3 (gold), 0.1 (gold).
    curves = analysis.pr_curves(preds, ["joy"])
    np.testing.assert_allclose(curves["joy"][0], [1.0, 0.5, 2 / 3, 3 / 4], atol=1e-6)
    ap = analysis.average_precision_table({"run": preds})
    assert ap.loc["joy", "run"] == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3 + 1 / 3 * 3 / 4)


def test_confusion_examples_by_hand(tmp_path):
    # Row 0: anger missed, joy predicted (0.8); row 1: same at 0.6; row 2: correct.
    probs = np.array([[0.8, 0.3, 0.0], [0.6, 0.2, 0.0], [0.9, 0.0, 0.0]])
    gold = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0]])
    pred = (probs >= 0.5).astype(int)
    path = tmp_path / "p.tsv"
    write_predictions_tsv(path, ["a", "b", "c"], ["0", "1", "2"], gold, pred, probs, NAMES)
    preds = analysis.read_predictions(path)
    pairs = analysis.confusion_pairs(preds.gold, preds.predicted, NAMES)
    examples = analysis.confusion_examples(preds, pairs, per_pair=5)
    assert list(examples["text"]) == ["a", "b"]
    assert list(examples["missed"]) == ["anger", "anger"] and examples["instead"][0] == "joy"
    assert list(examples["probability"]) == pytest.approx([0.8, 0.6])


class FakePredictor:
    can_explain = True

    def explain(self, texts):
        return [[(word, 1.0 / len(t.split())) for word in t.split()] for t in texts]


def test_attention_examples_html_escapes_and_captions():
    examples = pd.DataFrame({"text": ["<b> hi"], "gold": ["joy"], "predicted": [""]})
    html = analysis.attention_examples_html(FakePredictor(), examples)
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "gold: joy | predicted: -" in html
    assert "No examples" in analysis.attention_examples_html(FakePredictor(), examples.head(0))
    no_attention = FakePredictor()
    no_attention.can_explain = False
    assert "no attention" in analysis.attention_examples_html(no_attention, examples)


def test_plots_return_figures():
    freq = analysis.label_frequencies(Y, NAMES)
    assert analysis_plots.plot_label_frequencies(freq).axes
    assert analysis_plots.plot_matrix(analysis.cooccurrence(Y), NAMES).axes
    assert analysis_plots.plot_length_histograms(analysis.text_lengths(["a b", "c"])).axes
    curve = analysis.precision_recall_curve([1, 0], [0.9, 0.2])
    assert analysis_plots.plot_pr_curves({"joy": curve}).axes
    sweep = analysis.threshold_sweep(Y, Y * 0.8, grid=[0.5])
    assert analysis_plots.plot_threshold_sweep(sweep, calibrated_macro_f1=0.5).axes


def _metrics(macro, micro, intervals=None, jaccard=None, ece=None):
    metrics = {"macro": {"f1": macro}, "micro": {"f1": micro}}
    if jaccard is not None:
        metrics["jaccard"] = jaccard
    if intervals is not None:
        metrics["intervals"] = intervals
    if ece is not None:
        metrics["probability_calibration"] = {"ece": ece, "brier": ece * 2}
    return json.dumps(metrics)


def _report(folder, rows):
    lines = ["label,precision,recall,f1" + (",f1_low,f1_high" if len(rows[0]) > 2 else "")
             + ",support"]  # fmt: skip
    lines += [",".join([r[0], "0.5", "0.5", *map(str, r[1:]), "4"]) for r in rows]
    (folder / "per_class_report.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def interval_runs(tmp_path):
    """Three runs: intervals in the run's own file, only in eval_test/, and nowhere."""
    new, old, bare = (tmp_path / n for n in ("new", "old", "bare"))
    for run in (new, old, bare):
        run.mkdir()
        (run / "labels.txt").write_text("joy\nanger\n")
    (bare / "labels.txt").write_text("joy\nsadness\n")
    intervals = {"macro_f1": [0.4, 0.6], "micro_f1": [0.5, 0.7], "jaccard": [0.3, 0.5]}
    (new / "overall_metrics.json").write_text(_metrics(0.5, 0.6, intervals, 0.4, ece=0.1))
    _report(new, [("joy", 0.7, 0.6, 0.8), ("anger", 0.3, 0.1, 0.5)])
    (old / "overall_metrics.json").write_text(_metrics(0.45, 0.55))  # scored before intervals
    _report(old, [("joy", 0.6), ("anger", 0.3)])
    (old / "eval_test").mkdir()
    (old / "eval_test" / "overall_metrics.json").write_text(
        _metrics(0.45, 0.55, {"macro_f1": [0.35, 0.55]}, 0.35)
    )
    _report(old / "eval_test", [("joy", 0.6, 0.5, 0.7), ("anger", 0.3, 0.2, 0.4)])
    (bare / "overall_metrics.json").write_text(_metrics(0.2, 0.3))
    _report(bare, [("joy", 0.3), ("sadness", 0.1)])
    return new, old, bare


def test_intervals_table_falls_back_to_eval_test_then_point_estimates(interval_runs):
    new, old, bare = interval_runs
    assert [analysis.metrics_source(r) for r in interval_runs] == [
        "overall_metrics.json", "eval_test/overall_metrics.json", "overall_metrics.json",
    ]  # fmt: skip
    table = analysis.intervals_table(list(interval_runs))
    assert list(table.index) == ["new", "old", "bare"]
    assert table.loc["new", ["jaccard", "jaccard_low", "jaccard_high"]].tolist() == [0.4, 0.3, 0.5]
    assert table.loc["old", ["macro_f1_low", "macro_f1_high", "jaccard"]].tolist() == [
        0.35, 0.55, 0.35,
    ]  # fmt: skip
    assert np.isnan(table.loc["old", "micro_f1_low"])  # that file has no micro interval
    assert table.loc["bare", "macro_f1"] == 0.2 and np.isnan(table.loc["bare", "macro_f1_low"])
    assert np.isnan(table.loc["bare", "jaccard"])
    assert table["intervals"].tolist() == [
        "overall_metrics.json", "eval_test/overall_metrics.json", "missing",
    ]  # fmt: skip
    assert analysis.missing_note(table).startswith("Intervals missing for bare:")
    assert analysis.missing_note(table.loc[["new", "old"]]) == ""
    assert analysis.intervals_table([]).empty


def test_per_class_intervals_and_calibration_follow_the_metrics_source(interval_runs):
    new, old, bare = interval_runs
    old_f1 = analysis.per_class_intervals(old)  # from eval_test/, not the run's own report
    assert old_f1["f1_low"].tolist() == [0.5, 0.2] and old_f1["support"].tolist() == [4, 4]
    bare_f1 = analysis.per_class_intervals(bare)
    assert bare_f1["f1"].tolist() == [0.3, 0.1] and bare_f1["f1_low"].isna().all()
    calibration = analysis.calibration_table(list(interval_runs))
    assert calibration.loc["new"].tolist() == [0.1, 0.2]
    assert calibration.loc["old"].isna().all()
    assert analysis_plots.plot_f1_intervals(bare_f1).axes  # bounds missing: points only
    assert analysis_plots.plot_f1_intervals(old_f1).axes


def test_comparable_pairs_need_the_same_labels(interval_runs):
    new, old, bare = interval_runs
    assert analysis.comparable_pairs([new, old, bare]) == [(new, old)]
    assert analysis.comparable_pairs([new]) == []


def test_paired_table_from_a_comparison():
    def row(a, b, low, high, p):
        return {"a": a, "b": b, "difference": b - a, "interval": [low, high], "p_value": p}

    result = {
        "run_a": "/somewhere/artifacts/tfidf-lr", "run_b": "/somewhere/artifacts/bilstm",
        "split": "test", "examples": 5427, "resamples": 1000,
        "macro_f1": row(0.4, 0.5, 0.05, 0.15, 0.001),
        "micro_f1": row(0.5, 0.52, -0.01, 0.05, 0.2),
        "jaccard": row(0.45, 0.47, 0.0, 0.04, 0.049),
        "per_class_f1": {"joy": row(0.6, 0.5, -0.2, 0.0, 0.06)},
    }  # fmt: skip
    table = analysis.paired_table(result)
    assert list(table.index) == ["macro_f1", "micro_f1", "jaccard", "F1 joy"]
    assert table["significant"].tolist() == [True, False, True, False]
    assert table.loc["F1 joy", "difference"] == pytest.approx(-0.1)
    assert table.loc["macro_f1", ["low", "high"]].tolist() == [0.05, 0.15]
    title = analysis.paired_title(result)
    assert title == ("B = bilstm vs A = tfidf-lr: test split, 5,427 examples, "
                     "1,000 paired resamples")  # fmt: skip
    assert "/" not in title  # run names only, never where a machine keeps them


def test_behaviour_tables_from_behaviour_json(tmp_path):
    from emotag.analysis.behaviour import TestResult, write_results

    failed = {"texts": [{"text": "I'm not happy.", "labels": ["joy"]}], "forbid": "joy"}
    moved = {"texts": [{"text": "good", "labels": [], "p": 0.5},
                       {"text": "very good", "labels": [], "p": 0.4}],
             "concept": "joy", "direction": "up"}  # fmt: skip
    results = [
        TestResult("negation", "not joy", "MFT", 4, 0, 1, [failed]),
        TestResult("negation", "not sad", "MFT", 6, 0, 3, []),
        TestResult("intensifiers", "very", "DIR", 5, 0, 2, [moved]),
        TestResult("emoji", "sad emoji", "MFT", 0, 3, 0, [], note="known hard"),
    ]
    write_results(results, tmp_path / "behaviour", title="t")
    assert analysis.behaviour_file(tmp_path) == tmp_path / "behaviour" / "behaviour.json"
    table = analysis.behaviour_table(tmp_path)
    assert table["test"].tolist() == ["not joy", "not sad", "very", "sad emoji"]
    assert table["failure_rate"].tolist()[:3] == [0.25, 0.5, 0.4]
    assert np.isnan(table["failure_rate"].iloc[3]) and table["note"].iloc[3] == "known hard"
    capabilities = analysis.capability_table(table)
    assert list(capabilities.index) == ["negation", "intensifiers", "emoji"]  # suite order
    assert capabilities.loc["negation", ["tests", "cases", "failures"]].tolist() == [2, 10, 4]
    assert capabilities.loc["negation", "failure_rate"] == pytest.approx(0.4)  # 4 / 10
    assert np.isnan(capabilities.loc["emoji", "failure_rate"])
    failures = analysis.behaviour_failures(tmp_path)
    assert failures["case"].tolist() == [
        "“I'm not happy.” → joy",
        "“good” → (none), p=0.500 / “very good” → (none), p=0.400",
    ]
    assert analysis_plots.plot_failure_rates(table).axes


def test_plot_reliability_returns_a_figure():
    # Every forecast is 0.1 (never happens) or 0.9 (always happens): each off by 0.1.
    fig = analysis_plots.plot_reliability(Y, Y * 0.8 + 0.1, title="run")
    assert fig.axes[0].get_title() == "run (ECE 0.1000)"
