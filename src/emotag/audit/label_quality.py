"""Confident learning for multi-label data: which training labels look wrong.

1. `out_of_fold_probabilities`: k-fold (iterative stratification, seeded), each fold
   scored by a model that never saw it, so a memorised wrong label cannot vouch for
   itself.
2. `find_label_issues`: per class, cleanlab's confident learning (Northcutt et al.,
   2021) treats the label as a binary task, estimates the confident joint of given
   vs. likely-true labels from per-class thresholds (the mean predicted probability
   of the examples given that label) and flags the examples it prunes
   (`prune_by_noise_rate`). A flag is either a *missing* label (given 0, confidently
   1) or a *spurious* one (given 1, confidently 0). Examples are ranked by cleanlab's
   multi-label quality score (self-confidence per class, pooled with an exponential
   moving average over classes; lower = more likely mislabelled).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emotag.data.goemotions import Split
from emotag.data.splits import stratification_targets

log = logging.getLogger(__name__)

# (train row indices, held-out row indices) -> (held-out rows, labels) probabilities.
FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]


def out_of_fold_probabilities(
    labels: np.ndarray, fit_predict: FitPredict, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Probabilities for every row from a model trained on the other folds.

    Args:
        labels: (n, labels) multi-hot, for the stratification.
        fit_predict: trains on the first index array, returns probabilities of the second.
        folds: k; every row is held out exactly once.
        seed: fold assignment seed.

    Returns:
        (n, labels) float32 out-of-fold probabilities.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    splitter = MultilabelStratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    targets = stratification_targets(labels)
    probs = np.full(labels.shape, np.nan, dtype=np.float32)
    splits = splitter.split(np.zeros(len(labels)), targets)
    for train_idx, held_idx in tqdm(splits, total=folds, desc="folds"):
        probs[held_idx] = fit_predict(np.sort(train_idx), np.sort(held_idx))
    if np.isnan(probs).any():
        raise RuntimeError("some rows got no out-of-fold probability")
    return probs


@dataclasses.dataclass
class LabelIssues:
    """Confident-learning verdicts for n examples and C classes."""

    per_class: np.ndarray  # (n, C) bool: the given label of class c looks wrong
    quality: np.ndarray  # (n,) label quality score in [0, 1]; lower = more suspicious

    @property
    def flagged(self) -> np.ndarray:
        """(n,) bool: at least one class looks wrong."""
        return self.per_class.any(axis=1)

    def ranking(self) -> np.ndarray:
        """Indices of flagged examples, most suspicious first."""
        flagged = np.flatnonzero(self.flagged)
        return flagged[np.argsort(self.quality[flagged], kind="stable")]


def find_label_issues(labels: np.ndarray, probs: np.ndarray) -> LabelIssues:
    """Confident learning per class (module docstring) with cleanlab.

    Args:
        labels: (n, C) multi-hot given labels; rows without a label are fine.
        probs: (n, C) out-of-fold probabilities.

    Returns:
        `LabelIssues`.
    """
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    if labels.shape != probs.shape:
        raise ValueError(f"labels {labels.shape} and probabilities {probs.shape} differ")
    label_lists = [np.flatnonzero(row).tolist() for row in labels]
    probs = np.clip(probs.astype(np.float64), 1e-6, 1 - 1e-6)
    with warnings.catch_warnings():
        # cleanlab warns about classes without positives (tiny data); they get no flags.
        warnings.simplefilter("ignore")
        per_class = find_multilabel_issues_per_class(label_lists, probs, n_jobs=1)
        quality = get_label_quality_scores(label_lists, probs)
    return LabelIssues(np.asarray(per_class, dtype=bool), np.asarray(quality, dtype=np.float64))


def class_summary(labels: np.ndarray, issues: LabelIssues, label_names: list[str]) -> list[dict]:
    """Per class: examples given it, flags of a spurious and of a missing label."""
    given = labels.astype(bool)
    rows = []
    for c, name in enumerate(label_names):
        spurious = int((issues.per_class[:, c] & given[:, c]).sum())
        missing = int((issues.per_class[:, c] & ~given[:, c]).sum())
        count = int(given[:, c].sum())
        rows.append({
            "label": name, "given": count, "flagged_spurious": spurious,
            "flagged_missing": missing,
            "spurious_share": round(spurious / count, 4) if count else 0.0,
        })  # fmt: skip
    return rows


def format_summary(rows: list[dict]) -> str:
    """The per-class summary as a fixed-width text table."""
    header = f"{'label':<16}{'given':>8}{'spurious':>10}{'missing':>9}{'share':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['label']:<16}{r['given']:>8}{r['flagged_spurious']:>10}"
            f"{r['flagged_missing']:>9}{r['spurious_share']:>8.1%}"
        )
    return "\n".join(lines)


ISSUE_COLUMNS = ("rank", "id", "text", "given", "suggested_add", "suggested_remove", "quality")


def write_issues_csv(
    path: str | Path,
    split: Split,
    issues: LabelIssues,
    probs: np.ndarray,
    label_names: list[str],
) -> int:
    """Writes the flagged examples, most suspicious first (`ISSUE_COLUMNS`).

    `suggested_add` / `suggested_remove` list the flagged classes with their
    out-of-fold probability ("joy:0.93"). The `id` column is what `--exclude-ids` reads.

    Returns:
        The number of rows written.
    """
    order = issues.ranking()
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(ISSUE_COLUMNS)
        for rank, i in enumerate(order, start=1):
            given = split.labels[i].astype(bool)
            flagged = issues.per_class[i]

            def names(mask, i=i):
                return ",".join(f"{label_names[c]}:{probs[i, c]:.2f}" for c in np.flatnonzero(mask))

            writer.writerow([
                rank, split.ids[i], split.texts[i],
                ",".join(label_names[c] for c in np.flatnonzero(given)),
                names(flagged & ~given), names(flagged & given), f"{issues.quality[i]:.4f}",
            ])  # fmt: skip
    return len(order)
