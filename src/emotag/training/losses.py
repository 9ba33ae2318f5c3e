"""Losses for multi-label training with a long-tailed label distribution.

Reference: Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on
Effective Number of Samples", CVPR 2019.
"""

import keras
import numpy as np

# The loss class is in the models stage, so loading a saved model needs no training code.
from emotag.models.losses import ClassBalancedFocalLoss

LOSS_CHOICES = ("cb_focal", "focal", "bce")


def class_balanced_weights(counts, beta=0.999, normalize=True):
    """Class weights from the effective number of samples (Cui et al., 2019).

    `w_c = (1 - beta) / (1 - beta ** n_c)`, the inverse of the effective
    number of samples of class `c`. A class with count 0 has an infinite
    weight by this formula; it gets the largest weight among the other
    classes instead (it never appears as a positive anyway, so the weight
    only scales its negative term). If every count is 0 all weights are 1.

    Args:
        counts: sequence of non-negative ints, positives per class.
        beta: float in `[0, 1)`. `0` gives uniform weights; values close to 1
            approach inverse-frequency weighting.
        normalize: if True, scale the weights to sum to the number of classes
            so the overall loss scale matches an unweighted loss.

    Returns:
        float64 array of shape `(num_classes,)`.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or np.any(counts < 0):
        raise ValueError(f"counts must be a 1-D array of non-negative numbers, got {counts}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    present = counts > 0
    if not present.any():
        return np.ones_like(counts)
    weights = np.empty_like(counts)
    weights[present] = (1.0 - beta) / (1.0 - np.power(beta, counts[present]))
    weights[~present] = weights[present].max()
    if normalize:
        weights = weights * len(counts) / weights.sum()
    return weights


def make_loss(name, class_counts=None, gamma=2.0, beta=0.999, from_logits=False):
    """Build a training loss by name.

    Args:
        name: one of `"cb_focal"` (class-balanced focal), `"focal"` (focal
            with unit weights) or `"bce"` (`keras.losses.BinaryCrossentropy`).
        class_counts: positives per class in the training set; required for
            `"cb_focal"`, ignored otherwise.
        gamma: focusing parameter for the focal losses.
        beta: effective-number parameter for `"cb_focal"`.
        from_logits: whether the model outputs logits.

    Returns:
        A `keras.losses.Loss`.
    """
    if name == "cb_focal":
        if class_counts is None:
            raise ValueError("make_loss('cb_focal') needs class_counts")
        weights = class_balanced_weights(class_counts, beta=beta)
        return ClassBalancedFocalLoss(
            class_weights=weights.tolist(), gamma=gamma, from_logits=from_logits
        )
    if name == "focal":
        return ClassBalancedFocalLoss(
            class_weights=None, gamma=gamma, from_logits=from_logits, name="focal_loss"
        )
    if name == "bce":
        return keras.losses.BinaryCrossentropy(from_logits=from_logits)
    raise ValueError(f"Unknown loss {name!r}; choose one of {', '.join(LOSS_CHOICES)}")
