"""What the dev-tuned thresholds maximise: macro-F1, micro-F1 or Jaccard accuracy.

Macro-F1 is a sum of independent per-class terms, so each class's threshold is tuned
alone (`calibration.best_threshold_per_class`, exact). Micro-F1 and example-based
Jaccard couple the classes (shared totals; per-text unions), so their thresholds are
fitted by coordinate ascent: start from the best single threshold for the objective,
then repeatedly move each class's threshold to its best grid value with the others
fixed, until a full round changes nothing. Each step is exact on the grid and the
objective never decreases. SemEval-2018 E-c ranks systems by Jaccard accuracy
(Mohammad et al., SemEval 2018), where macro-tuned thresholds over-predict rare labels.

The grid is coarser than the macro search's exact cuts and the ascent stops at a local
optimum, so on a small dev set it can end below the macro thresholds on its own
objective. `fit_all_objectives` therefore climbs from the best single threshold and
from the macro thresholds, keeps the better ending, then lets each objective take
whichever of the fitted sets scores highest on it: on dev, every objective's thresholds
score at least as well on it as any other objective's.
"""

from __future__ import annotations

import numpy as np

from emotag.evaluation.intervals import jaccard_per_example
from emotag.runs.thresholds import apply_thresholds

OBJECTIVES = ("macro", "micro", "jaccard")
GRID = np.round(np.arange(0.02, 0.981, 0.01), 2).astype(np.float32)
MAX_ROUNDS = 10


def objective_score(objective: str, y_true, y_pred) -> float:
    """The value of `objective` for 0/1 predictions."""
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    if objective == "jaccard":
        return float(jaccard_per_example(y, p).mean())
    tp = (y & p).sum(axis=0)
    fp = (~y & p).sum(axis=0)
    fn = (y & ~p).sum(axis=0)
    if objective == "micro":
        denom = 2 * tp.sum() + fp.sum() + fn.sum()
        return float(2 * tp.sum() / denom) if denom else 0.0
    if objective == "macro":
        denom = 2 * tp + fp + fn
        return float(np.mean(np.divide(2 * tp, denom, out=np.zeros(len(tp)), where=denom > 0)))
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def _best_global(objective, probs, y, grid):
    scores = [objective_score(objective, y, probs >= t) for t in grid]
    return float(grid[int(np.argmax(scores))])


def _micro_column_scores(probs, y, thresholds, c, grid):
    """Micro-F1 for each grid value of class c's threshold, others fixed."""
    pred = probs >= thresholds
    yb = y.astype(bool)
    tp_rest = (yb & pred).sum() - (yb[:, c] & pred[:, c]).sum()
    fp_rest = (~yb & pred).sum() - (~yb[:, c] & pred[:, c]).sum()
    fn_rest = (yb & ~pred).sum() - (yb[:, c] & ~pred[:, c]).sum()
    col = probs[:, c][:, None] >= grid[None, :]  # (n, G)
    tp = tp_rest + (yb[:, c][:, None] & col).sum(axis=0)
    fp = fp_rest + (~yb[:, c][:, None] & col).sum(axis=0)
    fn = fn_rest + (yb[:, c][:, None] & ~col).sum(axis=0)
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros(len(grid)), where=denom > 0)


def _jaccard_column_scores(probs, y, thresholds, c, grid):
    """Mean Jaccard for each grid value of class c's threshold, others fixed."""
    pred = probs >= thresholds
    yb = y.astype(bool)
    inter_rest = (yb & pred).sum(axis=1) - (yb[:, c] & pred[:, c])
    union_rest = (yb | pred).sum(axis=1) - (yb[:, c] | pred[:, c])
    col = probs[:, c][:, None] >= grid[None, :]  # (n, G)
    inter = inter_rest[:, None] + (yb[:, c][:, None] & col)
    union = union_rest[:, None] + (yb[:, c][:, None] | col)
    jac = np.divide(inter, union, out=np.ones(inter.shape), where=union > 0)
    return jac.mean(axis=0)


# Objectives fitted by coordinate ascent -> each grid value's score for one class.
COLUMN_SCORES = {"micro": _micro_column_scores, "jaccard": _jaccard_column_scores}


def fit_thresholds(objective: str, probs, y_true, grid=GRID, starts=()) -> np.ndarray:
    """Per-class thresholds maximising micro-F1 or Jaccard on dev (coordinate ascent).

    Args:
        objective: "micro" or "jaccard" (macro: `best_threshold_per_class`).
        probs: `(n, C)` dev probabilities.
        y_true: `(n, C)` 0/1 dev labels.
        grid: candidate thresholds, float32.
        starts: further `(C,)` thresholds to climb from besides the best single grid
            threshold; the best ending is returned, so it never scores below any start.

    Returns:
        float32 `(C,)` thresholds.
    """
    if objective not in COLUMN_SCORES:
        raise ValueError(f"coordinate ascent fits 'micro' or 'jaccard', got {objective!r}")
    probs = np.asarray(probs, dtype=np.float32)
    y = np.asarray(y_true)
    grid = np.asarray(grid, dtype=np.float32)
    single = np.full(probs.shape[1], _best_global(objective, probs, y, grid), np.float32)
    endings = [_climb(objective, probs, y, t, grid) for t in (single, *starts)]
    return max(endings, key=lambda ending: ending[1])[0]  # the first of equals


def _climb(objective, probs, y, start, grid) -> tuple[np.ndarray, float]:
    """Coordinate ascent from `start`: (thresholds, their dev score)."""
    thresholds = np.array(start, dtype=np.float32)  # a copy: the ascent edits it
    best = objective_score(objective, y, apply_thresholds(probs, thresholds))
    for _ in range(MAX_ROUNDS):
        improved = False
        for c in range(probs.shape[1]):
            scores = COLUMN_SCORES[objective](probs, y, thresholds, c, grid)
            i = int(np.argmax(scores))
            if scores[i] > best + 1e-12:
                thresholds[c], best, improved = grid[i], float(scores[i]), True
        if not improved:
            break
    return thresholds, best


def fit_all_objectives(probs, y_true, macro_thresholds) -> dict[str, np.ndarray]:
    """Dev-tuned thresholds for every objective, each the best on dev for its own.

    Args:
        probs: `(n, C)` dev probabilities.
        y_true: `(n, C)` 0/1 dev labels.
        macro_thresholds: `(C,)` the exact per-class macro-F1 search's thresholds
            (`emotag.evaluation.calibration.best_threshold_per_class`).

    Returns:
        {"macro", "micro", "jaccard": float32 `(C,)` thresholds}. Micro's and Jaccard's
        are climbed from the best single threshold and from the macro thresholds
        (`fit_thresholds(starts=...)`), then each keeps whichever of the three sets
        scores highest on it (its own on a tie).
    """
    probs = np.asarray(probs, dtype=np.float32)
    y = np.asarray(y_true)
    macro = np.asarray(macro_thresholds, dtype=np.float32)
    fitted = {"macro": macro}
    fitted.update({o: fit_thresholds(o, probs, y, starts=[macro]) for o in COLUMN_SCORES})
    chosen = {"macro": macro}
    for objective in COLUMN_SCORES:
        candidates = [fitted[objective]] + [t for o, t in fitted.items() if o != objective]
        scores = [objective_score(objective, y, apply_thresholds(probs, t)) for t in candidates]
        chosen[objective] = candidates[int(np.argmax(scores))]
    return chosen


def objective_table(probs, y_true, thresholds_by_objective: dict, at_least_one=False) -> dict:
    """Each objective's thresholds scored by every objective: what each costs the others."""
    return {
        tuned_for: {
            scored_by: objective_score(
                scored_by, y_true, apply_thresholds(probs, t, at_least_one=at_least_one)
            )
            for scored_by in OBJECTIVES
        }
        for tuned_for, t in thresholds_by_objective.items()
    }
