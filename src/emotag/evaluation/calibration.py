"""Decision thresholds tuned on dev probabilities.

A class `c` is predicted when its probability is `>= threshold[c]`.
Probabilities are compared in float32 (what the model outputs and what is
saved), so thresholds found here reproduce the dev scores exactly.
"""

import json
import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from emotag.evaluation.metrics import macro_f1, per_class_f1
from emotag.evaluation.objectives import OBJECTIVES, fit_all_objectives, objective_score
from emotag.evaluation.reliability import platt_scale
from emotag.runs.layout import THRESHOLDS_JSON, THRESHOLDS_NPY
from emotag.runs.thresholds import apply_thresholds

# Default grid for the single global threshold.
DEFAULT_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


class ThresholdSearch(NamedTuple):
    """Result of `best_threshold_per_class`."""

    thresholds: np.ndarray  # (C,) float32
    f1: np.ndarray  # (C,) dev F1 of each class at its threshold
    fallback_classes: list  # indices of classes without dev positives


def _closest_to_half(candidates, scores):
    # Ties go to the threshold nearest 0.5: the least extreme of equally good choices.
    best = np.flatnonzero(scores == scores.max())
    return best[np.argmin(np.abs(candidates[best] - 0.5))]


def _exact_search(p, y):
    """Best-F1 threshold of one class over every distinct cut of `p`.

    `y` is 0/1, or a soft target in [0, 1]: F1 is then its expectation's plug-in, with
    true positives counted as the target mass above the cut (`threshold_target`).
    """
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order].astype(np.float64)
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(1.0 - y_sorted)
    # Only cut after the last of a run of equal probabilities.
    last = np.append(p_sorted[1:] != p_sorted[:-1], True)
    cut, tp, fp = p_sorted[last], tp[last], fp[last]
    f1 = 2.0 * tp / (tp + fp + y_sorted.sum())
    # Threshold halfway to the next lower distinct value, for a margin on
    # unseen data; if float32 rounding lands it on that value, use the cut.
    below = np.append(cut[1:], np.float32(0.0))
    thresholds = ((cut.astype(np.float64) + below) / 2.0).astype(np.float32)
    thresholds = np.where(thresholds > below, thresholds, cut)
    i = _closest_to_half(thresholds, f1)
    return thresholds[i], f1[i]


def _grid_search(p, y, grid):
    pred = p[:, None] >= grid[None, :]  # (n, G)
    f1 = per_class_f1(np.repeat(y[:, None], len(grid), axis=1), pred)
    i = _closest_to_half(grid, f1)
    return grid[i], f1[i]


def threshold_target(y_true, soft, gold_weight):
    """What per-class thresholds are tuned against: `gold_weight` x the 0/1 dev labels +
    the rest x `soft` (dev probabilities: the model's own, or its teacher's).

    A rare class's best cut on dev follows its few positives and moves with them; a soft
    target spreads each text's vote over the labels a model believes in, so the cut
    rests on more of dev. The F1 it maximises is the plug-in expected F1 (Jansche, 2007;
    Lipton et al., 2014, on thresholds for F1).

    Args:
        y_true: array-like `(n, C)` of 0/1 dev labels.
        soft: array-like `(n, C)` of probabilities for the same texts.
        gold_weight: weight of the labels in [0, 1]; 1 = the labels alone.

    Returns:
        float64 `(n, C)` in [0, 1].
    """
    if not 0.0 <= gold_weight <= 1.0:
        raise ValueError(f"gold_weight must be in [0, 1], got {gold_weight}")
    y_true = np.asarray(y_true, dtype=np.float64)
    soft = np.asarray(soft, dtype=np.float64)
    if soft.shape != y_true.shape:
        raise ValueError(f"soft labels {soft.shape} and labels {y_true.shape} differ in shape")
    return gold_weight * y_true + (1.0 - gold_weight) * soft


def best_threshold_per_class(probs, y_true, grid=None, fallback=0.5, target=None):
    """Per-class thresholds maximising each class's dev F1.

    With `grid=None` the search is exact: every distinct probability of the
    class is a candidate cut, and the threshold is placed halfway between
    the chosen cut and the next lower distinct probability (one sort per
    class; milliseconds for 5k x 28). Ties go to the threshold closest to 0.5.

    Args:
        probs: array-like `(n, C)` of dev probabilities.
        y_true: array-like `(n, C)` of 0/1 dev labels.
        grid: optional 1-D array of candidate thresholds instead of the exact search.
        fallback: threshold for classes with no dev positives (their F1
            cannot be tuned); they are listed in `fallback_classes`.
        target: what the exact search maximises F1 against in place of `y_true`
            (`threshold_target`); `f1` is still scored on `y_true`.

    Returns:
        `ThresholdSearch(thresholds, f1, fallback_classes)`.
    """
    probs = np.asarray(probs, dtype=np.float32)
    y_true = np.asarray(y_true).astype(bool)
    if probs.shape != y_true.shape:
        raise ValueError(f"probs {probs.shape} and labels {y_true.shape} differ in shape")
    if target is None:
        target = y_true
    elif grid is not None:
        raise ValueError("a soft target needs the exact search (grid=None)")
    elif np.shape(target) != y_true.shape:
        raise ValueError(f"target {np.shape(target)} and labels {y_true.shape} differ in shape")
    num_classes = probs.shape[1]
    thresholds = np.full(num_classes, fallback, dtype=np.float32)
    fallback_classes = []
    for c in range(num_classes):
        if not y_true[:, c].any():
            fallback_classes.append(c)
            continue
        if grid is None:
            thresholds[c], _ = _exact_search(probs[:, c], target[:, c])
        else:
            grid_32 = np.asarray(grid, dtype=np.float32)
            thresholds[c], _ = _grid_search(probs[:, c], y_true[:, c], grid_32)
    # Recomputed from the thresholds so the scores match apply_thresholds exactly.
    f1 = per_class_f1(y_true, probs >= thresholds)
    return ThresholdSearch(thresholds, f1, fallback_classes)


def bagged_threshold_per_class(
    probs, y_true, resamples, seed=0, fallback=0.5, exact=None, target=None
):
    """Per-class thresholds averaged over bootstrap resamples of dev (bagging).

    The exact search (`best_threshold_per_class`) fits each class's cut to the few dev
    positives it has, and the cut moves with them; averaging the best cuts of
    `resamples` resamples (drawn with replacement, seeded) is Breiman's (1996) bagging
    applied to the threshold: a steadier cut for unseen text, at a small cost on dev.
    A class's average covers the resamples that hold any of its positives; a class
    without dev positives keeps `fallback`.

    Args:
        probs: array-like `(n, C)` of dev probabilities.
        y_true: array-like `(n, C)` of 0/1 dev labels.
        resamples: bootstrap resamples (>= 1).
        seed: seed of the resampling (the same seed, the same thresholds).
        fallback: threshold for classes with no dev positives.
        exact: the exact search on the same `probs`, `y_true`, `fallback` and `target`,
            when the caller has it already; None = searched here.
        target: soft target each resample's search maximises F1 against
            (`threshold_target`); None = `y_true`.

    Returns:
        `ThresholdSearch` whose `f1` is each class's F1 on all of dev at its threshold.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    probs = np.asarray(probs, dtype=np.float32)
    y_true = np.asarray(y_true).astype(bool)
    target = y_true if target is None else np.asarray(target)
    if exact is None:
        exact = best_threshold_per_class(probs, y_true, fallback=fallback, target=target)
    rng = np.random.default_rng(seed)
    total = np.zeros(probs.shape[1])
    count = np.zeros(probs.shape[1])
    for _ in range(resamples):
        rows = rng.integers(0, len(probs), len(probs))
        search = best_threshold_per_class(
            probs[rows], y_true[rows], fallback=fallback, target=target[rows]
        )
        seen = y_true[rows].any(axis=0)
        total[seen] += search.thresholds[seen]
        count[seen] += 1
    thresholds = np.where(count > 0, total / np.maximum(count, 1), exact.thresholds)
    thresholds = thresholds.astype(np.float32)
    return ThresholdSearch(
        thresholds, per_class_f1(y_true, probs >= thresholds), exact.fallback_classes
    )


def best_global_threshold(probs, y_true, grid=None):
    """Single threshold for all classes maximising dev macro-F1.

    Args:
        probs: array-like `(n, C)` of dev probabilities.
        y_true: array-like `(n, C)` of 0/1 dev labels.
        grid: 1-D array of candidates; defaults to 0.05, 0.06, ..., 0.95.

    Returns:
        `(threshold, macro_f1)`; ties go to the threshold closest to 0.5.
    """
    probs = np.asarray(probs, dtype=np.float32)
    grid = np.asarray(DEFAULT_GRID if grid is None else grid, dtype=np.float32)
    scores = np.array([macro_f1(y_true, probs >= t) for t in grid])
    i = _closest_to_half(grid, scores)
    return float(grid[i]), float(scores[i])


def _short(x):
    # Shortest decimal that reads back as the same float32, for readable JSON.
    return float(np.format_float_positional(np.float32(x)))


@dataclass
class Calibration:
    """Thresholds chosen on dev data and the dev scores behind the choice."""

    thresholds: np.ndarray  # (C,) float32 per-class thresholds, used by predict()
    global_threshold: float  # best single threshold, kept for comparison
    at_least_one: bool  # force the argmax class on empty rows; kept only if it helps dev
    dev_scores: dict  # variant name -> dev macro-F1
    fallback_classes: list = field(default_factory=list)  # class indices with no dev positives
    per_class_dev_f1: np.ndarray | None = None  # (C,) dev F1 at the per-class thresholds
    objective: str = "macro"  # what the thresholds maximise on dev: macro | micro | jaccard
    objective_dev_score: float | None = None  # the objective's dev value at the thresholds
    temperature: float = 1.0  # logits divided by this before thresholds (1 = not scaled)
    temperature_info: dict | None = None  # the dev fit behind `temperature` (reliability.py)
    # bootstrap resamples of dev the per-class thresholds were averaged over (0 = exact)
    threshold_resamples: int = 0
    # weight of the dev labels in what the per-class thresholds were tuned against; the
    # rest is `threshold_soft_labels`' probabilities (threshold_target). 1 = labels alone
    threshold_gold_weight: float = 1.0
    # whose: "own" (the model's) or "teacher", ", Platt-scaled" if refitted to the labels
    threshold_soft_labels: str | None = None

    def export_settings(self) -> dict:
        """The exporters' keyword arguments that this calibration decides."""
        return {
            "at_least_one": bool(self.at_least_one),
            "objective": self.objective,
            "temperature": float(self.temperature),
        }

    def predict(self, probs):
        """0/1 predictions `(n, C)` with the per-class thresholds and `at_least_one`."""
        return apply_thresholds(probs, self.thresholds, self.at_least_one)

    def to_json(self, label_names):
        """JSON-ready dict keyed by label name."""
        if len(label_names) != len(self.thresholds):
            raise ValueError(
                f"{len(label_names)} label names for {len(self.thresholds)} thresholds"
            )
        result = {
            "rule": "predict label when probability >= its threshold",
            "labels": list(label_names),
            "per_class_thresholds": {
                n: _short(t) for n, t in zip(label_names, self.thresholds, strict=True)
            },
            "global_threshold": _short(self.global_threshold),
            "at_least_one": bool(self.at_least_one),
            "dev_macro_f1": {k: float(v) for k, v in self.dev_scores.items()},
            "fallback_classes": [label_names[c] for c in self.fallback_classes],
            "objective": self.objective,
            "objective_dev_score": self.objective_dev_score,
            "temperature": float(self.temperature),
            "threshold_resamples": int(self.threshold_resamples),
            "threshold_gold_weight": float(self.threshold_gold_weight),
            "threshold_soft_labels": self.threshold_soft_labels,
        }
        if self.temperature_info is not None:
            result["temperature_fit"] = self.temperature_info
        if self.per_class_dev_f1 is not None:
            result["per_class_dev_f1"] = dict(
                zip(label_names, map(float, self.per_class_dev_f1), strict=True)
            )
        return result

    def save(self, directory, label_names):
        """Write `per_class_thresholds.npy` (float32) and `thresholds.json`."""
        os.makedirs(directory, exist_ok=True)
        np.save(os.path.join(directory, THRESHOLDS_NPY), self.thresholds.astype("float32"))
        with open(os.path.join(directory, THRESHOLDS_JSON), "w", encoding="utf-8") as f:
            json.dump(self.to_json(label_names), f, indent=2)

    @classmethod
    def load(cls, directory):
        """Read a calibration written by `save`; the .npy holds the exact thresholds."""
        thresholds = np.load(os.path.join(directory, THRESHOLDS_NPY))
        with open(os.path.join(directory, THRESHOLDS_JSON), encoding="utf-8") as f:
            meta = json.load(f)
        labels = meta["labels"]
        per_class_f1_map = meta.get("per_class_dev_f1")
        return cls(
            thresholds=thresholds,
            global_threshold=meta["global_threshold"],
            at_least_one=meta["at_least_one"],
            dev_scores=meta["dev_macro_f1"],
            fallback_classes=[labels.index(n) for n in meta["fallback_classes"]],
            per_class_dev_f1=(
                None
                if per_class_f1_map is None
                else np.array([per_class_f1_map[n] for n in labels])
            ),
            objective=meta.get("objective", "macro"),  # runs before objectives: macro
            objective_dev_score=meta.get("objective_dev_score"),
            temperature=float(meta.get("temperature", 1.0)),
            temperature_info=meta.get("temperature_fit"),
            threshold_resamples=int(meta.get("threshold_resamples", 0)),  # older runs: exact
            threshold_gold_weight=float(meta.get("threshold_gold_weight", 1.0)),  # older: labels
            threshold_soft_labels=meta.get("threshold_soft_labels"),
        )


def calibrate(
    probs, y_true, grid=None, global_grid=None, fallback=0.5, objective="macro", resamples=0,
    gold_weight=1.0, soft_labels=None, soft_source="teacher", platt=False,
):  # fmt: skip
    """Choose per-class thresholds, a global threshold and the at-least-one rule on dev.

    Args:
        probs: array-like `(n, C)` of dev probabilities.
        y_true: array-like `(n, C)` of 0/1 dev labels.
        grid: candidates for the per-class search; None for the exact search.
        global_grid: candidates for the global threshold; None for `DEFAULT_GRID`.
        fallback: threshold for classes without dev positives.
        objective: what the per-class thresholds maximise (`emotag.evaluation.objectives`):
            "macro" (each class's F1, exact), "micro" or "jaccard" (coordinate ascent,
            `fit_all_objectives`: never below another objective's thresholds on dev).
        resamples: 0 = the exact per-class search; more = its thresholds averaged over
            that many bootstrap resamples of dev (`bagged_threshold_per_class`, seed 0;
            `grid` is then not used).
        gold_weight: weight of `y_true` in what the per-class thresholds are tuned
            against (`threshold_target`); 1 = the labels alone. Below 1 the search is
            exact (or bagged), whatever `grid`.
        soft_labels: `(n, C)` dev probabilities of another model (a student's teacher)
            making up the rest of the target; None = `probs` themselves ("own").
        soft_source: the record's name for `soft_labels` ("teacher").
        platt: Platt-scale the soft labels to `y_true` first (`reliability.platt_scale`),
            so a model whose probabilities are off (a class-balanced loss inflates a rare
            class's) does not pull its cuts with them.

    Returns:
        `Calibration`. `dev_scores` (dev macro-F1) holds the variants `fixed_0.5`,
        `global`, `per_class` and `per_class_at_least_one` (and, when bagged or tuned
        against a soft target, `per_class_exact`: the exact search on the labels, what
        the thresholds give up on dev);
        `at_least_one` is True only if it strictly improves on `per_class`.
    """
    target, source = None, None
    if gold_weight < 1:
        source = "own" if soft_labels is None else soft_source
        soft = probs if soft_labels is None else soft_labels
        if platt:
            soft, source = platt_scale(soft, y_true), f"{source}, Platt-scaled"
        target = threshold_target(y_true, soft, gold_weight)
        grid = None
    # The labels' own best cuts: what bagging or a soft target gives up on dev.
    exact = None
    if resamples or target is not None:
        exact = best_threshold_per_class(probs, y_true, fallback=fallback)
    if resamples:
        search = bagged_threshold_per_class(
            probs, y_true, resamples, fallback=fallback, target=target,
            exact=exact if target is None else None,
        )  # fmt: skip
    else:
        search = best_threshold_per_class(
            probs, y_true, grid=grid, fallback=fallback, target=target
        )
    global_t, global_f1 = best_global_threshold(probs, y_true, grid=global_grid)
    scores = {
        "fixed_0.5": macro_f1(y_true, apply_thresholds(probs, 0.5)),
        "global": global_f1,
        "per_class": float(np.mean(search.f1)),
        "per_class_at_least_one": macro_f1(
            y_true, apply_thresholds(probs, search.thresholds, at_least_one=True)
        ),
    }
    if exact is not None:
        scores["per_class_exact"] = float(np.mean(exact.f1))
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    thresholds = search.thresholds
    plain, with_rule = scores["per_class"], scores["per_class_at_least_one"]
    if objective != "macro":
        thresholds = fit_all_objectives(probs, y_true, search.thresholds)[objective]
        plain, with_rule = (
            objective_score(objective, y_true, apply_thresholds(probs, thresholds, at_least_one=a))
            for a in (False, True)
        )
        scores["chosen"] = macro_f1(y_true, apply_thresholds(probs, thresholds))
    at_least_one = with_rule > plain
    # The thresholds' own dev F1 per class (the macro search's when macro is the objective).
    chosen_f1 = per_class_f1(y_true, apply_thresholds(probs, thresholds))
    return Calibration(
        thresholds=thresholds,
        global_threshold=global_t,
        at_least_one=at_least_one,
        dev_scores=scores,
        fallback_classes=search.fallback_classes,
        per_class_dev_f1=search.f1 if objective == "macro" else chosen_f1,
        objective=objective,
        objective_dev_score=max(plain, with_rule),
        threshold_resamples=int(resamples),
        threshold_gold_weight=float(gold_weight),
        threshold_soft_labels=source,
    )


def calibrated_macro_f1(probs, y_true):
    """Dev macro-F1 after `calibrate` tunes its thresholds on the same dev data.

    The score to compare models or hyper-parameters by on dev, since every model is
    served with its own tuned per-class thresholds (and at-least-one rule).
    """
    scores = calibrate(probs, y_true).dev_scores
    return max(scores["per_class"], scores["per_class_at_least_one"])
