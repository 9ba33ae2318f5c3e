"""Losses for multi-label training with a long-tailed label distribution.

Reference: Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on
Effective Number of Samples", CVPR 2019.
"""

import keras
import numpy as np
from keras import ops

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


@keras.saving.register_keras_serializable(package="emotag")
class ClassBalancedFocalLoss(keras.losses.Loss):
    """Class-weighted sigmoid focal loss for multi-label classification.

    Per element (class `c` of one example) with probability `p`:
    `-alpha_c * [y * (1 - p)^gamma * log(p) + (1 - y) * p^gamma * log(1 - p)]`.
    As in Cui et al.'s sigmoid CB-focal loss, the class weight `alpha_c`
    multiplies both the positive and the negative term of that class. The
    element losses are averaged over classes, then reduced over the batch by
    `reduction`. With `gamma=0` and unit weights it equals binary
    cross-entropy.

    Args:
        class_weights: list of floats of length `num_classes`, or None for
            all ones (plain focal loss). See `class_balanced_weights`.
        gamma: float >= 0, focusing parameter; larger values down-weight
            examples the model already gets right.
        from_logits: whether `y_pred` are logits rather than probabilities.
        name: name of the loss.
        reduction: Keras reduction over the batch.

    Example:
    ```python
    weights = class_balanced_weights([500, 40, 3], beta=0.999)
    loss = ClassBalancedFocalLoss(class_weights=list(weights), gamma=2.0)
    loss([[1.0, 0.0, 1.0]], [[0.9, 0.2, 0.4]])
    ```
    """

    def __init__(
        self,
        class_weights=None,
        gamma=2.0,
        from_logits=False,
        name="class_balanced_focal_loss",
        reduction="sum_over_batch_size",
    ):
        super().__init__(name=name, reduction=reduction)
        # Plain floats keep get_config JSON-serialisable whatever was passed.
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.gamma = float(gamma)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        eps = keras.config.epsilon()
        if self.from_logits:
            # log_sigmoid avoids log(0) for large-magnitude logits. p is still
            # clipped because it only feeds the modulating factors, whose
            # gradient p**(gamma - 1) is infinite at a saturated 0 or 1.
            p = ops.clip(ops.sigmoid(y_pred), eps, 1.0 - eps)
            log_p = ops.log_sigmoid(y_pred)
            log_not_p = ops.log_sigmoid(-y_pred)
        else:
            p = ops.clip(y_pred, eps, 1.0 - eps)
            log_p = ops.log(p)
            log_not_p = ops.log(1.0 - p)
        positive = y_true * log_p
        negative = (1.0 - y_true) * log_not_p
        if self.gamma != 0.0:
            positive = positive * ops.power(1.0 - p, self.gamma)
            negative = negative * ops.power(p, self.gamma)
        element = -(positive + negative)  # (batch, classes)
        if self.class_weights is not None:
            element = element * ops.convert_to_tensor(self.class_weights, dtype=y_pred.dtype)
        return ops.mean(element, axis=-1)  # (batch,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_weights": self.class_weights,
                "gamma": self.gamma,
                "from_logits": self.from_logits,
            }
        )
        return config


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
