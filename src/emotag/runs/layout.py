"""The run directory contract: its file names, its kinds, and the one way to open a run.

Every module that reads or writes a run's files takes their names from here, and
serving, evaluation, ensembling, the demo, the benchmarks and the model card open a
run with `open_run`. README's "Artifact layout" lists the same names (a test
compares them).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from emotag.runs.writer import restore_interrupted_swap

# Files every run has, whatever trained it.
SAVED_MODEL = "saved_model"  # directory: raw strings in; serve, explain, label_names
THRESHOLDS_NPY = "per_class_thresholds.npy"  # float32 (labels,), tuned on dev
THRESHOLDS_JSON = "thresholds.json"  # the same by label name, global threshold, dev scores
LABELS = "labels.txt"  # label names in output order, one a line
TRAIN_CONFIG = "train_config.json"  # the resolved training configuration
RUN_INFO = "run_info.json"  # kind, wall time, peak memory, versions, headline figures
MODEL_CARD = "MODEL_CARD.md"
# The evaluation files, written for test by training and for any split by `evaluate`.
OVERALL_METRICS = "overall_metrics.json"
PER_CLASS_REPORT = "per_class_report.csv"
PREDICTIONS = "predictions_{split}.tsv"
PER_CLASS_F1_PLOT = "per_class_f1.png"
RELIABILITY_PLOT = "reliability.png"  # reliability diagram of the probabilities
EVAL_DIR = "eval_{split}"  # where `evaluate` writes them by default
BEHAVIOUR_DIR = "behaviour"  # where `emotag behave` writes its table by default

# Files of some kinds only.
MODEL_KERAS = "model.keras"  # BiLSTM; BERT when the encoder is a KerasHub model
MODEL_WEIGHTS = "model.weights.h5"  # BERT around a TF-Hub SavedModel (no .keras form)
TOKENIZER = "tokenizer.pkl"
PREPROCESS_CONFIG = "preprocess_config.json"
EMBEDDINGS = "embeddings.json"
HISTORY = "history.json"
EXCLUDED_IDS = "excluded_ids.txt"  # the ids of --exclude-ids (left out of train), one a line
ENCODER = "encoder.json"
TFIDF_MODEL = "tfidf_lr.npz"

# Run kinds, as the trainers record them in run_info.json ("kind"; older runs: "model").
BILSTM, BERT, TFIDF, ENSEMBLE = "bilstm", "bert", "tfidf-lr", "ensemble"
LEXICON = "lexicon"  # NRC (a SavedModel) or VADER (served in Python: no SavedModel)
KINDS = (BILSTM, BERT, TFIDF, ENSEMBLE, LEXICON)

# Version of this layout, recorded in run_info.json ("format"); runs written before it
# was recorded have none and are format 1. A newer format is refused by name, not
# misread.
RUN_FORMAT = 1
# preprocess_config.json "format_version"s that `emotag.text.preprocessing` reads (a
# test keeps the two equal; importing it here would load TensorFlow to open a run).
PREPROCESS_FORMATS = (1,)


def predictions_name(split: str) -> str:
    """`predictions_<split>.tsv`."""
    return PREDICTIONS.format(split=split)


def evaluation_files(split: str) -> tuple[str, ...]:
    """The files `emotag.evaluation.reports.evaluate_probabilities` writes for a split."""
    return (
        OVERALL_METRICS, PER_CLASS_REPORT, predictions_name(split), PER_CLASS_F1_PLOT,
        RELIABILITY_PLOT,
    )  # fmt: skip


# What `open_run` needs to serve a run.
SERVING_FILES = (SAVED_MODEL, THRESHOLDS_NPY, THRESHOLDS_JSON, LABELS)
RUN_FILES = (*SERVING_FILES, TRAIN_CONFIG, *evaluation_files("test"), RUN_INFO, MODEL_CARD)
# Beyond RUN_FILES; BERT runs also have MODEL_KERAS or, failing that, MODEL_WEIGHTS.
KIND_FILES = {
    BILSTM: (MODEL_KERAS, TOKENIZER, PREPROCESS_CONFIG, EMBEDDINGS, HISTORY),
    BERT: (ENCODER, HISTORY),
    TFIDF: (TFIDF_MODEL, PREPROCESS_CONFIG),
    ENSEMBLE: (),  # the members are listed in run_info.json
    LEXICON: (),  # the lexicon and its covered labels are listed in run_info.json
}
# Beyond those, files only some runs write: a run trained with --exclude-ids keeps the ids.
OPTIONAL_FILES = (EXCLUDED_IDS,)


class NotARunError(FileNotFoundError):
    """A directory lacks what a run has."""


class RunFileError(ValueError):
    """A run's file is unreadable or disagrees with the run's other files."""


@dataclasses.dataclass(frozen=True, eq=False)
class RunDir:
    """An opened run directory (see `open_run`)."""

    path: Path
    kind: str | None  # one of KINDS; None when neither metadata nor files tell
    label_names: tuple[str, ...]  # labels.txt (else thresholds.json's "labels")
    thresholds: np.ndarray | None  # (labels,) per-class thresholds; None: partial, no file
    calibration: dict  # thresholds.json ({} when absent)
    info: dict  # run_info.json ({} when absent)
    train_config: dict  # train_config.json ({} when absent)

    @property
    def at_least_one(self) -> bool:
        """Whether the run's calibration forces the top label on rows with none."""
        return bool(self.calibration.get("at_least_one", False))

    @property
    def saved_model(self) -> Path:
        return self.path / SAVED_MODEL

    def file(self, name: str) -> Path:
        """The path of one of the run's files (a name of this module)."""
        return self.path / name

    def eval_dir(self, split: str) -> Path:
        """Default output directory of an evaluation on `split`."""
        return self.path / EVAL_DIR.format(split=split)

    def read_json(self, name: str) -> dict:
        """A JSON file of the run; {} when it does not exist."""
        return read_json(self.path / name)


def read_json(path: Path) -> dict:
    """A JSON object from `path`; {} when the file does not exist.

    Raises:
        RunFileError: When the file is not a JSON object.
    """
    if not path.is_file():
        return {}
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunFileError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(payload, dict):
        raise RunFileError(f"{path}: expected a JSON object, got {type(payload).__name__}")
    return payload


def guess_kind(path: str | Path) -> str | None:
    """A run's kind from the files only it has; None when they do not tell (ensembles)."""
    path = Path(path)
    if (path / TOKENIZER).exists():
        return BILSTM
    if (path / TFIDF_MODEL).exists():
        return TFIDF
    if (path / ENCODER).exists() or (path / MODEL_WEIGHTS).exists():
        return BERT
    return None


def run_kind(path: str | Path, info: dict | None = None) -> str | None:
    """The kind recorded in run_info.json, else its older "model" entry, else guessed.

    Args:
        path: the run directory.
        info: its run_info.json if already read.
    """
    info = read_json(Path(path) / RUN_INFO) if info is None else info
    if info.get("kind"):
        return str(info["kind"])
    if info.get("model") in KINDS:
        return info["model"]
    return guess_kind(path)


def open_run(path: str | Path, partial: bool = False) -> RunDir:
    """Opens a run directory, checking that its thresholds and labels agree.

    Args:
        path: the run directory (when missing, a run hidden there by a writer killed
            while replacing it is put back first: `restore_interrupted_swap`).
        partial: accept a directory without the serving files (one being written, or
            made by hand): missing files leave empty fields. Files present are checked.

    Returns:
        A `RunDir`.

    Raises:
        NotARunError: When `path` is not a directory or (unless `partial`) lacks one
            of `SERVING_FILES`.
        RunFileError: When the thresholds are not a 1-D array of finite values in
            [0, 1], their count differs from the labels', a JSON file is invalid,
            thresholds.json holds a value out of range (`check_calibration`), or
            run_info.json or preprocess_config.json has a format this code does not read.
    """
    path = Path(path)
    if not path.is_dir() and restore_interrupted_swap(path) is None:
        raise NotARunError(f"{path} is not a directory")
    required = SERVING_FILES
    if run_kind(path) == LEXICON:  # a VADER run has no SavedModel (emotag.models.vader)
        required = tuple(name for name in SERVING_FILES if name != SAVED_MODEL)
    missing = [name for name in required if not (path / name).exists()]
    if missing and not partial:
        raise NotARunError(
            f"{path} is not a run directory: no {', '.join(missing)} (is it a trained run?)"
        )
    calibration = check_calibration(read_json(path / THRESHOLDS_JSON), path / THRESHOLDS_JSON)
    thresholds = None if THRESHOLDS_NPY in missing else load_thresholds(path / THRESHOLDS_NPY)
    label_names, labels_file = _label_names(path, calibration)
    if thresholds is not None and labels_file and len(label_names) != len(thresholds):
        raise RunFileError(
            f"{labels_file} has {len(label_names)} labels but {path / THRESHOLDS_NPY} "
            f"has {len(thresholds)} thresholds"
        )
    listed = tuple(calibration.get("labels", ()))
    if listed and listed != label_names:
        raise RunFileError(
            f"{labels_file} and {path / THRESHOLDS_JSON} list different labels: "
            f"{list(label_names)} vs {list(listed)}"
        )
    info = read_json(path / RUN_INFO)
    check_formats(path, info)
    return RunDir(
        path=path,
        kind=run_kind(path, info),
        label_names=label_names,
        thresholds=thresholds,
        calibration=calibration,
        info=info,
        train_config=read_json(path / TRAIN_CONFIG),
    )


def load_thresholds(path: Path) -> np.ndarray:
    """Per-class thresholds from a .npy file, checked: 1-D, finite, within [0, 1]."""
    try:
        thresholds = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:  # EOFError: an empty file
        raise RunFileError(f"{path}: not a NumPy array file ({err})") from None
    if thresholds.ndim != 1 or not np.issubdtype(thresholds.dtype, np.floating):
        raise RunFileError(
            f"{path}: expected a 1-D float array, got shape {thresholds.shape} "
            f"of {thresholds.dtype}"
        )
    bad = np.flatnonzero(~np.isfinite(thresholds) | (thresholds < 0) | (thresholds > 1))
    if bad.size:
        raise RunFileError(
            f"{path}: thresholds must be finite and within [0, 1]; "
            f"position {int(bad[0])} is {thresholds[bad[0]]}"
        )
    return thresholds


def check_calibration(calibration: dict, path: Path) -> dict:
    """Checks the values of thresholds.json that serving and the demo use.

    Python's JSON reader accepts NaN and Infinity, and a hand-edited file may hold
    strings; the demo's slider starts at "global_threshold".

    Args:
        calibration: the parsed thresholds.json ({} when absent).
        path: its path, for the error.

    Returns:
        `calibration`, unchanged.

    Raises:
        RunFileError: When "global_threshold" or a "per_class_thresholds" value is not
            a finite number in [0, 1], "at_least_one" is not a boolean, or
            "temperature" is not a finite positive number.
    """
    if "global_threshold" in calibration and not _probability(calibration["global_threshold"]):
        raise RunFileError(
            f'{path}: "global_threshold" must be a number in [0, 1], '
            f"got {calibration['global_threshold']!r}"
        )
    per_class = calibration.get("per_class_thresholds", {})
    if not isinstance(per_class, dict):
        raise RunFileError(f'{path}: "per_class_thresholds" must be an object (label: threshold)')
    for name, value in per_class.items():
        if not _probability(value):
            raise RunFileError(
                f'{path}: the threshold of "{name}" must be a number in [0, 1], got {value!r}'
            )
    if "at_least_one" in calibration and not isinstance(calibration["at_least_one"], bool):
        raise RunFileError(
            f'{path}: "at_least_one" must be true or false, got {calibration["at_least_one"]!r}'
        )
    temperature = calibration.get("temperature", 1.0)
    if not (_number(temperature) and math.isfinite(temperature) and temperature > 0):
        raise RunFileError(f'{path}: "temperature" must be a positive number, got {temperature!r}')
    return calibration


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # JSON true is no 1


def _probability(value) -> bool:
    return _number(value) and math.isfinite(value) and 0 <= value <= 1


def check_formats(path: Path, info: dict) -> None:
    """Refuses a run whose run_info.json or preprocess_config.json has an unknown format.

    Args:
        path: the run directory.
        info: its run_info.json ({} when absent).

    Raises:
        RunFileError: naming the file, when "format" in run_info.json is not
            `RUN_FORMAT` (missing = 1, runs written before it was recorded), or when
            preprocess_config.json exists and its "format_version" is missing or not
            one of `PREPROCESS_FORMATS`.
    """
    version = info.get("format", 1)
    if type(version) is not int or version != RUN_FORMAT:
        raise RunFileError(
            f"{path / RUN_INFO}: run format {version!r} is not one this emotag reads "
            f"({RUN_FORMAT}); a newer emotag wrote it?"
        )
    preprocess = path / PREPROCESS_CONFIG
    if preprocess.is_file():
        version = read_json(preprocess).get("format_version")
        if type(version) is not int or version not in PREPROCESS_FORMATS:
            raise RunFileError(
                f"{preprocess}: format_version {version!r} is not one this emotag reads "
                f"{PREPROCESS_FORMATS}"
            )


def _label_names(path: Path, calibration: dict) -> tuple[tuple[str, ...], Path | None]:
    """(label names, the file they came from): labels.txt, else thresholds.json's list."""
    from_json = tuple(calibration.get("labels", ()))
    labels_file = path / LABELS
    if not labels_file.is_file():
        return from_json, (path / THRESHOLDS_JSON if from_json else None)
    try:
        lines = labels_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise RunFileError(f"{labels_file}: not UTF-8 text ({err})") from None
    return tuple(name for name in map(str.strip, lines) if name), labels_file
