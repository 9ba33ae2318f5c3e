"""--lr-drop: Adam's rate is multiplied by a factor after each epoch that sets no new best
dev macro-F1, counted from the early-stopping record (so a resumed run keeps its rate)."""

import json

import keras
import numpy as np
import pytest

from emotag.training import bilstm
from emotag.training.callbacks import DropRateOnPlateau
from emotag.training.fault_tolerance import PersistentEarlyStopping


def _record(scores, mode="max"):
    stopper = PersistentEarlyStopping("unused", "val_macro_f1", mode=mode)
    stopper.epochs = [{"val_macro_f1": s} for s in scores]
    return stopper


def _compiled_model(rate):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def _rate_of(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def test_each_epoch_without_a_new_best_halves_the_rate():
    # Epochs 2 (0.4 < 0.5), 4 (a tie with the best is not a gain) and 5 (0.55 < 0.6) miss.
    drop = DropRateOnPlateau(_record([0.5, 0.4, 0.6, 0.6, 0.55, 0.7]), 0.5, 0.004)
    assert [drop.misses(e) for e in range(7)] == [0, 0, 1, 1, 2, 3, 3]
    assert [drop.rate(e) for e in range(7)] == pytest.approx(
        [0.004, 0.004, 0.002, 0.002, 0.001, 0.0005, 0.0005]
    )


def test_a_minimised_score_misses_when_it_rises():
    drop = DropRateOnPlateau(_record([1.0, 0.8, 0.9, 0.7], mode="min"), 0.1, 1.0)
    assert [drop.misses(e) for e in range(5)] == [0, 0, 0, 1, 1]


def test_a_resumed_record_trains_at_the_killed_runs_rate(tmp_path):
    # The killed run recorded three epochs, the second a miss, then was restarted: a new
    # stopper reads the record back and the rate of epoch 4 is the base halved once.
    stopper = PersistentEarlyStopping(tmp_path, "val_macro_f1", patience=5)
    model = _compiled_model(0.01)
    stopper.set_model(model)
    for epoch, score in enumerate([0.3, 0.2, 0.35]):
        stopper.on_epoch_end(epoch, {"val_macro_f1": score})

    resumed = PersistentEarlyStopping(tmp_path, "val_macro_f1", patience=5)
    resumed.on_train_begin()
    fresh = _compiled_model(0.01)
    drop = DropRateOnPlateau(resumed, 0.5, 0.01)
    drop.set_model(fresh)
    drop.on_epoch_begin(3)
    assert _rate_of(fresh) == pytest.approx(0.005)
    # Epoch 3 run again (not backed up before the kill): only epochs 1-2 count.
    drop.on_epoch_begin(2)
    assert _rate_of(fresh) == pytest.approx(0.005)
    drop.on_epoch_begin(1)
    assert _rate_of(fresh) == pytest.approx(0.01)


@pytest.mark.parametrize("value", ["0", "1.5", "-0.5", "nan", "x"])
def test_a_factor_outside_zero_to_one_is_refused(value, capsys):
    with pytest.raises(SystemExit):
        bilstm.parse_args(["--lr-drop", value])
    assert "--lr-drop" in capsys.readouterr().err
    with pytest.raises(ValueError, match="factor"):
        DropRateOnPlateau(_record([]), 0.0, 0.1)


def test_off_by_default():
    assert bilstm.TrainConfig().lr_drop == 1.0


def test_a_run_trains_each_epoch_at_the_rate_its_record_gives(tiny_data_dir, tmp_path):
    # A large rate on tiny data makes dev macro-F1 wander, so some epochs miss.
    config = bilstm.TrainConfig(
        data_dir=str(tiny_data_dir), embeddings="random", embedding_dim=16, epochs=6,
        patience=10, lstm_units=8, attention_units=8, batch_size=8, min_count=1,
        learning_rate=0.05, lr_drop=0.5, verbose=0, output_dir=str(tmp_path), run_name="lrd",
    )  # fmt: skip
    run_dir = bilstm.train(config)
    history = json.loads((run_dir / "history.json").read_text())
    scores, rates = history["val_macro_f1"], history["learning_rate"]
    assert len(scores) == len(rates) == 6
    expected, best = [], -np.inf
    rate = 0.05
    for score in scores:
        expected.append(rate)
        if score > best:
            best = score
        else:
            rate *= 0.5
    assert rates == pytest.approx(expected)
    assert len(set(rates)) > 1  # this seed's run misses before its last epoch: a drop ran
    assert json.loads((run_dir / "train_config.json").read_text())["lr_drop"] == 0.5
    assert "| lr_drop | 0.5 |" in (run_dir / "MODEL_CARD.md").read_text()
