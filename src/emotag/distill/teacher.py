"""A teacher's probabilities over many texts, computed once and cached on disk.

Any run is a teacher (BiLSTM, BERT, TF-IDF, lexicon with a SavedModel, ensemble): its
SavedModel's calibrated probabilities (after the run's temperature, before thresholds)
are what a student learns. Labelling the training set and a transfer set with a
fine-tuned MiniLM takes minutes on a CPU, so the result is kept in
`<cache_dir>/teacher-labels/<teacher>-<texts>.npy`, keyed by the teacher's identity (a
digest of its SavedModel's graph and variable index, which change whenever the model
does, wherever the run directory lives) and by the texts. A further student run with
the same teacher and texts reads the file; a retrained teacher or other texts miss it.

A teacher that was trained on the training texts scores them better than text it never
saw (GoEmotions' ensemble teacher: macro-F1 0.616 on train, 0.529 on test), so its soft
targets there lean towards the gold labels. Cross-fit teachers
(`cross_fitted_probabilities`) are the alternative: runs trained with `--exclude-ids`,
each labelling only the training texts it never saw, as out-of-fold predictions do in
stacking (Wolpert, 1992); trained on less data, they are also weaker teachers (with
two halves of GoEmotions they taught no better; README).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emotag.data.splits import read_id_list
from emotag.runs import layout

log = logging.getLogger(__name__)

# The files that pin what a SavedModel computes (the variable index holds each tensor's
# checksum); the variable shards themselves are large and add nothing to the key.
IDENTITY_FILES = ("saved_model.pb", "variables/variables.index", "fingerprint.pb")
CHUNK = 4096  # texts per Predictor call between progress-bar updates


def teacher_identity(run_dir: str | Path) -> str:
    """A hex digest of what the run's SavedModel computes (see module docstring).

    Raises:
        NotARunError: When `run_dir` is not a run directory.
        FileNotFoundError: When the run has no SavedModel.
    """
    run = layout.open_run(run_dir)
    saved = run.saved_model
    if not (saved / "saved_model.pb").is_file():
        raise FileNotFoundError(
            f"teacher {run.path} has no SavedModel ({saved}); a teacher must be servable"
        )
    digest = hashlib.sha256()
    digest.update("\n".join(run.label_names).encode("utf-8"))
    for name in IDENTITY_FILES:
        path = saved / name
        if path.is_file():
            digest.update(name.encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()


def texts_digest(texts: Sequence[str]) -> str:
    """A hex digest of the texts and their order."""
    digest = hashlib.sha256(str(len(texts)).encode("ascii"))
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def cache_path(cache_dir: str | Path, teacher_id: str, texts_id: str) -> Path:
    return Path(cache_dir) / "teacher-labels" / f"{teacher_id[:20]}-{texts_id[:20]}.npy"


def label_texts(
    run_dir: str | Path,
    texts: Sequence[str],
    cache_dir: str | Path,
    what: str = "texts",
    batch_size: int = 256,
) -> np.ndarray:
    """The teacher's (len(texts), labels) probabilities, from the cache or computed.

    Args:
        run_dir: the teacher run.
        texts: the texts to label.
        cache_dir: where `teacher-labels/` lives.
        what: what the texts are, for the log and the progress bar ("train").
        batch_size: texts per SavedModel call.

    Returns:
        float32 probabilities, one row per text.
    """
    teacher_id, texts_id = teacher_identity(run_dir), texts_digest(texts)
    path = cache_path(cache_dir, teacher_id, texts_id)
    if path.is_file():
        probs = np.load(path)
        if probs.shape[0] == len(texts):
            log.info("teacher %s on %d %s: cached in %s", run_dir, len(texts), what, path)
            return probs
        log.warning("%s holds %d rows for %d texts; labelling again", path, len(probs), len(texts))
    from tqdm.auto import tqdm

    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(run_dir, batch_size=batch_size)
    probs = np.zeros((len(texts), len(predictor.label_names)), dtype="float32")
    with tqdm(total=len(texts), desc=f"teacher {Path(run_dir).name}: {what}", unit="text") as bar:
        for start in range(0, len(texts), CHUNK):
            chunk = list(texts[start : start + CHUNK])
            probs[start : start + len(chunk)] = predictor.predict_proba(chunk, errors="skip")
            bar.update(len(chunk))
    if np.isnan(probs).any():
        raise ValueError(f"teacher {run_dir} could not score some {what} (NaN probabilities)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, probs)
    os.replace(tmp, path)  # a killed run leaves no half-written cache entry
    path.with_suffix(".json").write_text(
        json.dumps({"teacher": str(Path(run_dir).resolve()), "texts": what, "rows": len(texts)})
    )
    log.info("teacher %s on %d %s: cached in %s", run_dir, len(texts), what, path)
    return probs


def check_label_set(run_dir: str | Path, label_names: Sequence[str]) -> None:
    """Raises ValueError when the teacher run's labels are not the student's."""
    names = layout.open_run(run_dir).label_names
    if tuple(names) != tuple(label_names):
        raise ValueError(
            f"teacher {run_dir} predicts {list(names)}, but the student's data has "
            f"{list(label_names)}; a teacher must share the student's label set"
        )


def teacher_probabilities(
    runs: Sequence[str | Path],
    texts: Sequence[str],
    cache_dir: str | Path,
    label_names: Sequence[str],
    what: str = "texts",
) -> np.ndarray:
    """The mean probabilities of several teachers (each cached on its own).

    Raises:
        ValueError: When a teacher's labels differ from the student's `label_names`.
    """
    total = None
    for run_dir in runs:
        check_label_set(run_dir, label_names)
        probs = label_texts(run_dir, texts, cache_dir, what)
        total = probs if total is None else total + probs
    return total / len(runs)


def held_out_ids(run_dir: str | Path) -> set[str]:
    """The training ids a run never saw: those of its `--exclude-ids` file.

    Read from the copy the run keeps (`excluded_ids.txt`); a run written before runs
    kept one is read from the file its train_config.json names. For an ensemble run,
    its members' ids, which must be the same for all of them (a member that saw a text
    would hand that text's gold labels back).

    Raises:
        ValueError: When the run (or a member) left no training text out, or the
            members of an ensemble left out different ones.
        FileNotFoundError: When an older run's id file is gone (a relative path is
            read from the working directory, as at training time).
    """
    run = layout.open_run(run_dir)
    members = run.info.get("members")
    if members:
        sets = [held_out_ids(member["run_dir"]) for member in members]
        if any(ids != sets[0] for ids in sets[1:]):
            raise ValueError(
                f"the members of {run.path} left out different training ids; a cross-fit "
                f"ensemble's members must all be trained with the same --exclude-ids"
            )
        return sets[0]
    listed = run.train_config.get("exclude_ids")
    if not listed:
        raise ValueError(
            f"{run.path} was trained on every training text (no --exclude-ids in its "
            f"train_config.json), so it cannot label any of them out of fold"
        )
    if (run.path / layout.EXCLUDED_IDS).is_file():
        return read_id_list(run.path / layout.EXCLUDED_IDS)
    if not Path(listed).is_file():
        raise FileNotFoundError(
            f"{run.path} left out the training ids listed in {listed}, which is not a file "
            f"(relative paths are read from {Path.cwd()}), and the run keeps no "
            f"{layout.EXCLUDED_IDS} (written before runs kept one); run from where it was "
            f"trained"
        )
    return read_id_list(listed)


def cross_fitted_probabilities(
    runs: Sequence[str | Path],
    ids: Sequence[str],
    texts: Sequence[str],
    cache_dir: str | Path,
    label_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Each training text's mean probabilities from the runs that never saw it.

    Args:
        runs: cross-fit teacher runs (`held_out_ids`).
        ids, texts: the training rows.
        cache_dir: where `teacher-labels/` lives (each run's held-out texts cached).
        label_names: the student's labels, which every run must predict.

    Returns:
        (probabilities, votes): (n, labels) float32, zero where no run held the row
        out, and (n,) how many runs labelled each row.

    Raises:
        ValueError: When a run's labels differ from `label_names` or it left out none
            of these training texts.
    """
    total = np.zeros((len(texts), len(label_names)), dtype="float32")
    votes = np.zeros(len(texts), dtype="int64")
    for run_dir in runs:
        check_label_set(run_dir, label_names)
        held = held_out_ids(run_dir)
        rows = np.array([i for i, row_id in enumerate(ids) if row_id in held], dtype="int64")
        if not len(rows):
            raise ValueError(
                f"cross-fit teacher {run_dir} left out none of these {len(ids)} training texts "
                f"(its --exclude-ids are not their ids)"
            )
        total[rows] += label_texts(run_dir, [texts[i] for i in rows], cache_dir,
                                   what=f"train held out ({len(rows)})")  # fmt: skip
        votes[rows] += 1
    covered = votes > 0
    total[covered] /= votes[covered, None]
    return total, votes
