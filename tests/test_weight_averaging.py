"""--weight-averaging: an exponential moving average of the weights is what dev scores,
what the run keeps, and what it exports."""

import json

import keras
import numpy as np
import pytest

from emotag.training import bilstm


def test_momentum_gives_the_asked_horizon_in_epochs():
    assert bilstm.ema_momentum(1.0, 100) == pytest.approx(0.99)
    assert bilstm.ema_momentum(0.5, 1000) == pytest.approx(0.998)
    assert bilstm.ema_momentum(2.0, 50) == pytest.approx(0.99)
    # A horizon under one step averages nothing: the weights themselves.
    assert bilstm.ema_momentum(0.01, 10) == 0.0


@pytest.mark.parametrize("value", ["-1", "nan", "x"])
def test_a_negative_or_unreadable_horizon_is_refused_at_the_command_line(value, capsys):
    with pytest.raises(SystemExit):
        bilstm.parse_args(["--weight-averaging", value])
    assert "--weight-averaging" in capsys.readouterr().err


def test_off_by_default_and_the_plain_optimizer_is_kept():
    assert bilstm.TrainConfig().weight_averaging == 0.0


def test_dev_scores_and_the_run_keeps_the_moving_average(tiny_data_dir, tmp_path, monkeypatch):
    raw, scored = [], []

    class Recording(bilstm.ValidationMacroF1):
        def on_train_batch_end(self, batch, logs=None):
            raw.append([w.numpy().copy() for w in self.model.trainable_weights])

        def on_epoch_end(self, epoch, logs=None):
            scored.append([w.numpy().copy() for w in self.model.trainable_weights])
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(bilstm, "ValidationMacroF1", Recording)
    config = bilstm.TrainConfig(
        data_dir=str(tiny_data_dir), embeddings="random", embedding_dim=16, epochs=3,
        lstm_units=8, attention_units=8, batch_size=16, min_count=1, verbose=0,
        output_dir=str(tmp_path), run_name="ema", weight_averaging=0.5,
    )  # fmt: skip
    run_dir = bilstm.train(config)

    steps = len(raw) // 3
    momentum = bilstm.ema_momentum(0.5, steps)
    assert 0 < momentum < 1
    # Hand-rolled Polyak average (Keras starts it at the first step's weights).
    averages, average = [], None
    for step, weights in enumerate(raw):
        if average is None:
            average = [w.copy() for w in weights]
        else:
            average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
        if (step + 1) % steps == 0:
            averages.append(average)
    assert len(scored) == len(averages) == 3
    for epoch_scored, epoch_average, epoch_raw in zip(scored, averages, raw[steps - 1 :: steps]):
        for s, a in zip(epoch_scored, epoch_average):
            np.testing.assert_allclose(s, a, rtol=1e-4, atol=1e-5)
        # ... and not the raw weights of the epoch's last step
        assert any(not np.allclose(s, r, atol=1e-5) for s, r in zip(epoch_scored, epoch_raw))
    # Training went on from the raw weights: one step into the second epoch, the weights
    # are nearer the first epoch's last raw weights than their average.
    def distance(a, b):
        return np.sqrt(sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b)))

    assert distance(raw[steps], raw[steps - 1]) < distance(raw[steps], averages[0])
    best = json.loads((run_dir / "run_info.json").read_text())["best_epoch"]
    kept = keras.saving.load_model(run_dir / "model.keras").trainable_weights
    for k, a in zip(kept, averages[best - 1]):
        np.testing.assert_allclose(k.numpy(), a, rtol=1e-4, atol=1e-5)
    train_config = json.loads((run_dir / "train_config.json").read_text())
    assert train_config["weight_averaging"] == 0.5
