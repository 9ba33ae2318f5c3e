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
        self.class_weights = _plain_floats(class_weights)
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
        return ops.mean(_weigh_classes(element, self.class_weights), axis=-1)  # (batch,)

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


@keras.saving.register_keras_serializable(package="emotag")
class DistillationLoss(keras.losses.Loss):
    """A gold-label loss on labelled rows plus a soft-target loss against a teacher.

    Knowledge distillation into a small student (Hinton, Vinyals, Dean, 2015; for a BiLSTM
    student of BERT: Tang et al., 2019). `y_true` packs three blocks per row: the gold
    multi-hot labels (`C` columns), the teacher's probabilities (`C`) and a 0/1 flag
    saying whether the row has gold labels (rows of a transfer set have none). Per row:

    `(1 - soft_weight) * has_gold * gold_loss + soft_weight * soft_term`

    where the soft term compares the student with the teacher at temperature `T`, both
    probabilities softened as `sigmoid(logit(p) / T)`: binary cross-entropy averaged over
    classes (`soft_loss="bce"`) or the mean squared difference of the logits
    (`soft_loss="mse"`, Tang et al.'s choice); the BCE term is multiplied by `T**2` so
    its gradients keep their scale as `T` changes (Hinton et al.). With `class_weights`,
    each class's soft element is multiplied by its weight before the mean over classes,
    as the class-balanced gold loss weights its classes.

    Args:
        gold_loss: the loss of labelled rows (a `keras.losses.Loss`, or its serialized
            config); it must reduce over classes in `call`, as Keras losses do.
        soft_weight: float in [0, 1], the weight of the soft term.
        temperature: float > 0.
        soft_loss: "bce" or "mse".
        class_weights: list of floats of length `num_classes` weighting the soft term's
            classes, or None for all ones.
        name: name of the loss.
        reduction: Keras reduction over the batch.

    Example:
    ```python
    loss = DistillationLoss(keras.losses.BinaryCrossentropy(), soft_weight=0.5)
    gold, teacher, has_gold = [[1.0, 0.0]], [[0.8, 0.3]], [[1.0]]
    loss(np.concatenate([gold, teacher, has_gold], axis=1), [[0.7, 0.2]])
    ```
    """

    def __init__(
        self,
        gold_loss=None,
        soft_weight=0.5,
        temperature=1.0,
        soft_loss="bce",
        class_weights=None,
        name="distillation_loss",
        reduction="sum_over_batch_size",
    ):
        super().__init__(name=name, reduction=reduction)
        if isinstance(gold_loss, dict):
            gold_loss = keras.saving.deserialize_keras_object(gold_loss)
        self.gold_loss = gold_loss or keras.losses.BinaryCrossentropy()
        if not 0.0 <= soft_weight <= 1.0:
            raise ValueError(f"soft_weight must be in [0, 1], got {soft_weight}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if soft_loss not in ("bce", "mse"):
            raise ValueError(f"soft_loss must be 'bce' or 'mse', got {soft_loss!r}")
        self.soft_weight = float(soft_weight)
        self.temperature = float(temperature)
        self.soft_loss = soft_loss
        self.class_weights = _plain_floats(class_weights)

    def call(self, y_true, y_pred):
        classes = y_pred.shape[-1]
        y_true = ops.cast(y_true, y_pred.dtype)
        gold = y_true[:, :classes]  # (batch, classes)
        teacher = y_true[:, classes : 2 * classes]  # (batch, classes)
        has_gold = y_true[:, 2 * classes]  # (batch,)
        gold_term = self.gold_loss.call(gold, y_pred)  # (batch,)
        soft_term = self._soft(teacher, y_pred)  # (batch,)
        return (1.0 - self.soft_weight) * has_gold * gold_term + self.soft_weight * soft_term

    def _soft(self, teacher, student):
        eps = keras.config.epsilon()
        t_logit = _logit(teacher, eps) / self.temperature
        s_logit = _logit(student, eps) / self.temperature
        if self.soft_loss == "mse":
            element = ops.square(s_logit - t_logit)
            scale = 1.0
        else:
            target = ops.sigmoid(t_logit)
            # BCE from logits: log_sigmoid keeps saturated students finite.
            element = -(
                target * ops.log_sigmoid(s_logit) + (1.0 - target) * ops.log_sigmoid(-s_logit)
            )
            scale = self.temperature**2
        return ops.mean(_weigh_classes(element, self.class_weights), axis=-1) * scale

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "gold_loss": keras.saving.serialize_keras_object(self.gold_loss),
                "soft_weight": self.soft_weight,
                "temperature": self.temperature,
                "soft_loss": self.soft_loss,
                "class_weights": self.class_weights,
            }
        )
        return config


def _plain_floats(class_weights):
    """A list of plain floats (get_config stays JSON-serialisable whatever was passed)."""
    return None if class_weights is None else [float(w) for w in class_weights]


def _weigh_classes(element, class_weights):
    """`element` (batch, classes) times each class's weight; None leaves it as it is."""
    if class_weights is None:
        return element
    return element * ops.convert_to_tensor(class_weights, dtype=element.dtype)


def _logit(p, eps):
    p = ops.clip(p, eps, 1.0 - eps)
    return ops.log(p) - ops.log(1.0 - p)
