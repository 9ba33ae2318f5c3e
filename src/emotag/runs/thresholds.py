"""Turning probabilities into labels with a run's per-class thresholds.

Kept apart from `emotag.evaluation.calibration` (which tunes the thresholds) so that
serving a run needs NumPy only.
"""

import numpy as np


def apply_thresholds(probs, thresholds, at_least_one=False):
    """Binary predictions from probabilities and thresholds.

    Args:
        probs: array-like `(n, C)` of probabilities.
        thresholds: scalar or `(C,)` array; class `c` is predicted when
            `probs[:, c] >= thresholds[c]`.
        at_least_one: if True, a row with no predicted class gets its
            highest-probability class. Plain argmax of the probabilities (not
            of probability / threshold) so that a very low threshold of a
            rare class does not make it the default answer.

    Returns:
        int array `(n, C)` of 0/1.
    """
    probs = np.asarray(probs, dtype=np.float32)
    pred = (probs >= np.asarray(thresholds, dtype=np.float32)).astype(np.int64)
    if at_least_one:
        empty = pred.sum(axis=1) == 0
        pred[empty, np.argmax(probs[empty], axis=1)] = 1
    return pred
