"""Learning-rate schedules for fine-tuning pretrained encoders."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="emotag")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to a peak rate, then linear decay to a floor (BERT's schedule).

    The rate at optimizer step `s` (0-based; the first update uses step 0) is
    `peak * (s + 1) / warmup_steps` during warm-up, then falls linearly to
    `peak * end_ratio` at `total_steps` and stays there.

    Args:
        peak_learning_rate: rate at the end of warm-up.
        warmup_steps: steps of linear warm-up (0 = start at the peak).
        total_steps: step at which the decay reaches `peak * end_ratio`.
        end_ratio: final rate as a fraction of the peak.
        name: schedule name.

    Example:
    ```python
    schedule = WarmupLinearDecay(1e-4, warmup_steps=10, total_steps=100)
    schedule(9)  # 1e-4: warm-up done
    schedule(55)  # 5e-5: halfway down
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01)
    ```
    """

    def __init__(
        self,
        peak_learning_rate: float,
        warmup_steps: int,
        total_steps: int,
        end_ratio: float = 0.0,
        name: str = "warmup_linear_decay",
    ):
        if total_steps < 1 or not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, got "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.end_ratio = float(end_ratio)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = ops.minimum(1.0, (step + 1.0) / max(self.warmup_steps, 1))
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        decay = 1.0 - (1.0 - self.end_ratio) * progress
        in_warmup = step < self.warmup_steps
        return peak * ops.where(in_warmup, warmup, decay)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "end_ratio": self.end_ratio,
            "name": self.name,
        }
