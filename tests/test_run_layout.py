"""The run-directory contract: file names, kinds, and opening a run (emotag.runs.layout)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import LABELS as GOEMOTIONS_LABELS
from emotag.runs import layout
from emotag.runs.layout import NotARunError, RunFileError, open_run

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = ["joy", "anger", "neutral"]


def make_run(path: Path, files=(), info=None, thresholds=(0.5, 0.25, 0.75), labels=NAMES) -> Path:
    """A hand-made run: the serving files (an empty saved_model/), plus `files` (empty;
    preprocess_config.json holds only its format version)."""
    (path / layout.SAVED_MODEL).mkdir(parents=True)
    np.save(path / layout.THRESHOLDS_NPY, np.asarray(thresholds, dtype="float32"))
    (path / layout.THRESHOLDS_JSON).write_text(json.dumps({"at_least_one": True}))
    (path / layout.LABELS).write_text("".join(f"{name}\n" for name in labels))
    for name in files:  # empty, but for a JSON file open_run reads
        content = '{"format_version": 1}' if name == layout.PREPROCESS_CONFIG else ""
        (path / name).write_text(content)
    if info is not None:
        (path / layout.RUN_INFO).write_text(json.dumps(info))
    return path


def readme_artifact_names() -> list[str]:
    """The names in README's artifact block, in order ("a, b" lines give two)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```\nartifacts/<run>/\n(.*?)```", text, re.S).group(1)
    names = []
    for line in block.splitlines():
        first_column = re.split(r"\s{2,}", line.strip())[0]
        names += [name.strip().rstrip("/") for name in first_column.split(",")]
    return names


def test_readme_lists_exactly_the_layout_files():
    names = readme_artifact_names()
    kind_files = {name for files in layout.KIND_FILES.values() for name in files}
    expected = {*layout.RUN_FILES, *kind_files, *layout.OPTIONAL_FILES, layout.MODEL_WEIGHTS,
                "eval_<split>"}  # fmt: skip
    assert len(names) == len(set(names))
    assert set(names) == expected
    # The README says every run has the first twelve entries.
    assert len(layout.RUN_FILES) == 12 and names[:12] == list(layout.RUN_FILES)
    assert layout.MODEL_CARD in names  # it was missing before the layout module


def test_names_of_split_files():
    assert layout.predictions_name("dev") == "predictions_dev.tsv"
    assert layout.evaluation_files("test") == (
        "overall_metrics.json", "per_class_report.csv", "predictions_test.tsv", "per_class_f1.png",
        "reliability.png",
    )  # fmt: skip


def test_open_run_reads_a_hand_made_run(tmp_path):
    run = open_run(make_run(tmp_path / "r", files=[layout.TOKENIZER]))
    assert run.path == tmp_path / "r" and run.kind == layout.BILSTM
    assert run.label_names == ("joy", "anger", "neutral")
    np.testing.assert_array_equal(run.thresholds, np.float32([0.5, 0.25, 0.75]))
    assert run.at_least_one is True
    assert run.info == {} and run.train_config == {}
    assert run.saved_model == tmp_path / "r" / "saved_model"
    assert run.eval_dir("dev") == tmp_path / "r" / "eval_dev"
    assert run.file(layout.TOKENIZER) == tmp_path / "r" / "tokenizer.pkl"


@pytest.mark.parametrize(
    "files, kind",
    [
        ([layout.TOKENIZER, layout.MODEL_KERAS], "bilstm"),
        ([layout.TFIDF_MODEL, layout.PREPROCESS_CONFIG], "tfidf-lr"),
        ([layout.ENCODER, layout.MODEL_KERAS], "bert"),
        ([layout.MODEL_WEIGHTS], "bert"),  # a TF-Hub encoder's run
        ([], None),  # an ensemble recorded without its kind cannot be told by its files
    ],
)
def test_kind_of_runs_without_a_recorded_kind_is_guessed_from_files(tmp_path, files, kind):
    run_dir = make_run(tmp_path / "old", files=files, info={"wall_time_s": 1.0})
    assert layout.guess_kind(run_dir) == kind
    assert open_run(run_dir).kind == kind


def test_older_model_entry_gives_the_kind(tmp_path):
    run_dir = make_run(tmp_path / "ens", info={"model": "ensemble", "members": []})
    assert open_run(run_dir).kind == "ensemble"
    run_dir = make_run(tmp_path / "odd", files=[layout.TOKENIZER], info={"model": "mystery"})
    assert open_run(run_dir).kind == "bilstm"  # an unknown "model" value: files decide


def test_recorded_kind_wins_over_guessing(tmp_path):
    run_dir = make_run(tmp_path / "r", files=[layout.TOKENIZER], info={"kind": "tfidf-lr"})
    assert layout.guess_kind(run_dir) == "bilstm"
    assert open_run(run_dir).kind == "tfidf-lr"
    run_dir = make_run(tmp_path / "s", info={"kind": "ensemble", "model": "bert"})
    assert open_run(run_dir).kind == "ensemble"


def test_a_directory_that_is_not_a_run_is_named_in_the_error(tmp_path):
    with pytest.raises(NotARunError, match=f"{tmp_path / 'missing'} is not a directory"):
        open_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as err:  # NotARunError is a FileNotFoundError
        open_run(tmp_path / "empty")
    message = str(err.value)
    assert str(tmp_path / "empty") in message and "is not a run directory" in message
    assert "saved_model, per_class_thresholds.npy, thresholds.json, labels.txt" in message
    run_dir = make_run(tmp_path / "no-labels")
    (run_dir / layout.LABELS).unlink()
    with pytest.raises(NotARunError, match=r"no labels\.txt \("):
        open_run(run_dir)


def test_partial_runs_open_with_what_they_have(tmp_path):
    (tmp_path / layout.LABELS).write_text("joy\n\nneutral\n")  # blank lines are skipped
    run = open_run(tmp_path, partial=True)
    assert run.label_names == ("joy", "neutral") and run.thresholds is None
    assert (run.kind, run.info, run.calibration, run.at_least_one) == (None, {}, {}, False)


@pytest.mark.parametrize(
    "thresholds, message",
    [
        ([0.5, 0.5], r"labels\.txt has 3 labels but .*per_class_thresholds\.npy has 2 thresholds"),
        ([0.5, np.nan, 0.5], r"thresholds\.npy: .*finite and within \[0, 1\]; position 1"),
        ([0.5, 0.5, 1.5], r"per_class_thresholds\.npy: .*position 2 is 1\.5"),
        ([0.5, -0.1, 0.5], r"position 1"),
        ([[0.5, 0.5, 0.5]], r"expected a 1-D float array, got shape \(1, 3\)"),
        (np.array([0, 1, 0]), r"expected a 1-D float array, got shape \(3,\) of int"),
    ],
)
def test_bad_thresholds_are_refused_naming_the_file(tmp_path, thresholds, message):
    run_dir = make_run(tmp_path / "r")
    np.save(run_dir / layout.THRESHOLDS_NPY, np.asarray(thresholds))
    with pytest.raises(RunFileError, match=message) as err:
        open_run(run_dir)
    assert str(run_dir) in str(err.value)


def test_labels_txt_must_have_one_line_per_threshold(tmp_path):
    run_dir = make_run(tmp_path / "r", labels=["joy", "anger", "neutral", "fear"])
    with pytest.raises(RunFileError, match="has 4 labels but .* has 3 thresholds"):
        open_run(run_dir)


def test_unreadable_files_are_named(tmp_path):
    run_dir = make_run(tmp_path / "npy")
    (run_dir / layout.THRESHOLDS_NPY).write_bytes(b"not numpy")
    with pytest.raises(RunFileError, match=r"per_class_thresholds\.npy: not a NumPy array file"):
        open_run(run_dir)
    run_dir = make_run(tmp_path / "json")
    (run_dir / layout.RUN_INFO).write_text("{broken")
    with pytest.raises(RunFileError, match=r"run_info\.json: not valid JSON"):
        open_run(run_dir)
    (run_dir / layout.RUN_INFO).write_text("[1, 2]")
    with pytest.raises(RunFileError, match=r"run_info\.json: expected a JSON object, got list"):
        open_run(run_dir)


def test_labels_txt_and_thresholds_json_must_agree(tmp_path):
    run_dir = make_run(tmp_path / "r")
    (run_dir / layout.THRESHOLDS_JSON).write_text(json.dumps({"labels": ["joy", "neutral", "x"]}))
    with pytest.raises(RunFileError, match="list different labels"):
        open_run(run_dir)
    (run_dir / layout.LABELS).unlink()  # partial: thresholds.json's labels stand in
    assert open_run(run_dir, partial=True).label_names == ("joy", "neutral", "x")


def test_write_run_info_records_the_kind(tmp_path):
    from emotag.runs.info import write_run_info

    report = {"macro": {"f1": 0.5, "precision": 0.4, "recall": 0.6}, "micro": {"f1": 0.7}}
    make_run(tmp_path / "r")
    info = write_run_info(tmp_path / "r", {"seed": 1}, time.time(), report, kind="bert", x=1)
    assert info["kind"] == "bert" and info["x"] == 1
    assert info["format"] == layout.RUN_FORMAT  # open_run checks it
    run = open_run(tmp_path / "r")
    assert run.kind == "bert" and run.info["test_macro_f1"] == 0.5
    assert run.train_config == {"seed": 1} and run.file(layout.MODEL_CARD).is_file()
    with pytest.raises(ValueError, match="kind must be one of"):
        write_run_info(tmp_path / "r", {}, time.time(), report, kind="lstm")


def test_serving_threads_follow_the_run_kind(tmp_path):
    from emotag.serving.predictor import serving_intra_op_threads

    assert serving_intra_op_threads(make_run(tmp_path / "a", info={"kind": "bilstm"})) == 1
    assert serving_intra_op_threads(make_run(tmp_path / "b", files=[layout.TOKENIZER])) == 1
    assert serving_intra_op_threads(make_run(tmp_path / "c", info={"kind": "bert"})) is None


@pytest.mark.slow
def test_open_run_on_a_trained_run(tiny_run_dir):
    run = open_run(tiny_run_dir)
    assert run.kind == "bilstm" and run.info["kind"] == "bilstm"
    assert run.label_names == tuple(GOEMOTIONS_LABELS)
    saved = np.load(tiny_run_dir / "per_class_thresholds.npy")
    np.testing.assert_array_equal(run.thresholds, saved)
    calibration = json.loads((tiny_run_dir / "thresholds.json").read_text())
    assert run.at_least_one == calibration["at_least_one"]
    assert run.train_config["lstm_units"] == 8
    for name in (*layout.RUN_FILES, *layout.KIND_FILES[layout.BILSTM]):
        assert run.file(name).exists(), name


@pytest.mark.slow
def test_predictor_refuses_labels_that_disagree_with_its_run(tiny_run_dir, tmp_path):
    from emotag.serving.predictor import Predictor

    copy = Path(shutil.copytree(tiny_run_dir, tmp_path / "copy"))
    assert Predictor.load(copy).run.kind == "bilstm"
    names = (copy / "labels.txt").read_text().split()
    (copy / "labels.txt").write_text("\n".join(names[:-1]) + "\n")
    with pytest.raises(RunFileError, match="has 27 labels but .* has 28 thresholds"):
        Predictor.load(copy)
    # Same count, another order: thresholds.json and the SavedModel disagree with it.
    (copy / "labels.txt").write_text("\n".join(names[::-1]) + "\n")
    with pytest.raises(RunFileError, match="list different labels"):
        Predictor.load(copy)
    calibration = json.loads((copy / "thresholds.json").read_text())
    del calibration["labels"]
    (copy / "thresholds.json").write_text(json.dumps(calibration))
    with pytest.raises(RunFileError, match=r"serves the labels .* but .*labels\.txt lists"):
        Predictor.load(copy)


# --- Issue 15, defect 2: every artifact checked on open, errors name the file -----------


@pytest.mark.parametrize("keep", [0, 60, -4])  # empty, inside the header, inside the data
def test_a_truncated_thresholds_npy_is_named(tmp_path, keep):
    run_dir = make_run(tmp_path / "r")
    data = (run_dir / layout.THRESHOLDS_NPY).read_bytes()
    (run_dir / layout.THRESHOLDS_NPY).write_bytes(data[:keep])
    with pytest.raises(RunFileError, match=r"per_class_thresholds\.npy: not a NumPy array file"):
        open_run(run_dir)


def test_invalid_json_in_thresholds_json_is_named(tmp_path):
    run_dir = make_run(tmp_path / "r")
    (run_dir / layout.THRESHOLDS_JSON).write_text('{"global_threshold": 0.4,')
    with pytest.raises(RunFileError, match=r"thresholds\.json: not valid JSON") as err:
        open_run(run_dir)
    assert str(run_dir) in str(err.value)


@pytest.mark.parametrize(
    "calibration, message",
    [
        ({"global_threshold": float("nan")}, r'"global_threshold" must be a number in \[0, 1\]'),
        ({"global_threshold": 1.5}, r'"global_threshold" must be a number in \[0, 1\], got 1\.5'),
        ({"global_threshold": "0.4"}, r'"global_threshold" must be a number'),
        ({"global_threshold": True}, r'"global_threshold" must be a number'),
        ({"per_class_thresholds": {"joy": 0.5, "anger": float("inf")}}, r'"anger" must be'),
        ({"per_class_thresholds": [0.5]}, r'"per_class_thresholds" must be an object'),
        ({"at_least_one": "yes"}, r'"at_least_one" must be true or false'),
        ({"temperature": float("nan")}, r'"temperature" must be a positive number'),
    ],
)
def test_values_in_thresholds_json_are_checked(tmp_path, calibration, message):
    run_dir = make_run(tmp_path / "r")
    (run_dir / layout.THRESHOLDS_JSON).write_text(json.dumps(calibration))  # NaN as written
    with pytest.raises(RunFileError, match=message) as err:
        open_run(run_dir)
    assert str(run_dir / layout.THRESHOLDS_JSON) in str(err.value)


def test_good_thresholds_json_values_open(tmp_path):
    run_dir = make_run(tmp_path / "r")
    calibration = {
        "global_threshold": 0.0, "per_class_thresholds": {"joy": 1.0, "anger": 0.25},
        "at_least_one": False, "temperature": 1.5,
    }  # fmt: skip
    (run_dir / layout.THRESHOLDS_JSON).write_text(json.dumps(calibration))
    assert open_run(run_dir).calibration == calibration


def test_run_format_versions(tmp_path):
    run_dir = make_run(tmp_path / "old", info={"kind": "bilstm"})  # before formats: 1
    assert open_run(run_dir).info == {"kind": "bilstm"}
    run_dir = make_run(tmp_path / "now", info={"kind": "bilstm", "format": layout.RUN_FORMAT})
    assert open_run(run_dir).kind == "bilstm"
    for bad in (layout.RUN_FORMAT + 1, "1", None):
        (run_dir / layout.RUN_INFO).write_text(json.dumps({"format": bad}))
        with pytest.raises(RunFileError, match=r"run_info\.json: run format .* is not") as err:
            open_run(run_dir)
        assert str(run_dir) in str(err.value)


@pytest.mark.parametrize("version", [None, 2, "1"])  # missing, unknown, a string
def test_preprocess_config_format_version_is_checked_naming_the_file(tmp_path, version):
    from emotag.text.preprocessing import FORMAT_VERSION

    assert FORMAT_VERSION in layout.PREPROCESS_FORMATS
    run_dir = make_run(tmp_path / "r", files=[layout.TOKENIZER])
    config = {"lowercase": True, "max_len": 11}
    if version is not None:
        config["format_version"] = version
    (run_dir / layout.PREPROCESS_CONFIG).write_text(json.dumps(config))
    with pytest.raises(RunFileError, match=r"preprocess_config\.json: format_version") as err:
        open_run(run_dir)
    assert str(run_dir) in str(err.value)
    config["format_version"] = 1
    (run_dir / layout.PREPROCESS_CONFIG).write_text(json.dumps(config))
    assert open_run(run_dir).kind == "bilstm"
