"""The loss a saved BiLSTM `model.keras` is compiled with, kept beside the layers.

A `.keras` file names its loss by registered name ("emotag>ClassBalancedFocalLoss"), so
loading it needs this class registered, and serving or inspecting a run must not import
training code: the class lives in the models stage, and `emotag.training.losses` (which
computes its class weights and picks a loss by name) imports it from here.

Reference: Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on
Effective Number of Samples", CVPR 2019.
"""

import keras
from keras import ops


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
            all ones (plain focal loss). See
            `emotag.training.losses.class_balanced_weights`.
        gamma: float >= 0, focusing parameter; larger values down-weight
            examples the model already gets right.
        from_logits: whether `y_pred` are logits rather than probabilities.
        name: name of the loss.
        reduction: Keras reduction over the batch.

    Example:
    ```python
    from emotag.training.losses import class_balanced_weights

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
