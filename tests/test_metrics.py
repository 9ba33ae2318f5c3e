import csv
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from emotag.evaluation.metrics import (
    macro_f1,
    multilabel_report,
    per_class_f1,
    write_per_class_csv,
)
from emotag.training.callbacks import ValidationMacroF1

LABELS = ["joy", "anger", "neutral"]
Y_TRUE = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]])
Y_PRED = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1]])
# joy:     true {0,2}   pred {0,2,3}: tp 2 fp 1 fn 0 -> P 2/3, R 1,   F1 4/5, support 2
# anger:   true {1,2}   pred {1}:     tp 1 fp 0 fn 1 -> P 1,   R 1/2, F1 2/3, support 2
# neutral: true {0,1,3} pred {1,3}:   tp 2 fp 0 fn 1 -> P 1,   R 2/3, F1 4/5, support 3
PER_CLASS = [(2 / 3, 1.0, 0.8, 2), (1.0, 0.5, 2 / 3, 2), (1.0, 2 / 3, 0.8, 3)]
EXPECTED = {
    "macro": (8 / 9, 13 / 18, 34 / 45),
    # pooled tp 5, fp 1, fn 2
    "micro": (5 / 6, 5 / 7, 10 / 13),
    # support-weighted 2:2:3
    "weighted": (19 / 21, 5 / 7, 16 / 21),
    # rows: (P, R, F1) = (1, 1/2, 2/3), (1, 1, 1), (1, 1/2, 2/3), (1/2, 1, 2/3)
    "samples": (0.875, 0.75, 0.75),
}


def test_multilabel_report_hand_computed():
    report = multilabel_report(Y_TRUE, Y_PRED, LABELS)
    assert report["num_examples"] == 4
    for average, (p, r, f) in EXPECTED.items():
        assert report[average]["precision"] == pytest.approx(p), average
        assert report[average]["recall"] == pytest.approx(r), average
        assert report[average]["f1"] == pytest.approx(f), average
    for row, name, (p, r, f, s) in zip(report["per_class"], LABELS, PER_CLASS, strict=True):
        assert row["label"] == name
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p, r, f))
        assert row["support"] == s


def test_fast_f1_helpers():
    np.testing.assert_allclose(per_class_f1(Y_TRUE, Y_PRED), [0.8, 2 / 3, 0.8])
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx(34 / 45)
    # A class never true and never predicted counts as 0, as sklearn's zero_division=0.
    assert macro_f1([[1, 0], [0, 0]], [[1, 0], [0, 0]]) == pytest.approx(0.5)


def test_report_shape_mismatch():
    with pytest.raises(ValueError):
        multilabel_report(Y_TRUE, Y_PRED, LABELS[:2])


def test_write_per_class_csv(tmp_path):
    path = tmp_path / "per_class.csv"
    write_per_class_csv(multilabel_report(Y_TRUE, Y_PRED, LABELS), path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == LABELS
    assert float(rows[1]["recall"]) == pytest.approx(0.5)
    assert rows[2]["support"] == "3"


def tiny_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = np.stack([x[:, 0] > 0, x[:, 1] > 0.5, x[:, 2] + x[:, 3] > 0], axis=1).astype("float32")
    return x, y


def tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_callback_feeds_early_stopping_and_checkpoint(tmp_path):
    x, y = tiny_data()
    x_val, y_val = tiny_data(16, seed=1)
    f1_callback = ValidationMacroF1(x_val, y_val, batch_size=8)
    early = keras.callbacks.EarlyStopping(
        monitor="val_macro_f1", mode="max", patience=5, restore_best_weights=True
    )
    checkpoint = keras.callbacks.ModelCheckpoint(
        tmp_path / "best.keras", monitor="val_macro_f1", mode="max", save_best_only=True
    )
    model = tiny_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x, y, epochs=2, batch_size=8, verbose=0, callbacks=[f1_callback, early, checkpoint]
        )
    assert not [w for w in caught if "val_macro_f1" in str(w.message)]
    scores = history.history["val_macro_f1"]
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert len(history.history["val_macro_f1_at_0.5"]) == 2
    assert [h["val_macro_f1"] for h in f1_callback.history] == scores
    assert early.best == pytest.approx(max(scores))
    assert (tmp_path / "best.keras").exists()
    assert f1_callback.thresholds.shape == (3,)


def test_callback_with_dataset_of_pairs():
    x, y = tiny_data()
    x_val, y_val = tiny_data(16, seed=1)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(5)
    f1_callback = ValidationMacroF1(val_ds, y_val, name="dev_f1")
    model = tiny_model()
    history = model.fit(x, y, epochs=1, verbose=0, callbacks=[f1_callback])
    assert "dev_f1" in history.history
    # Tuned thresholds can only match or beat the fixed 0.5 threshold on the same data.
    assert history.history["dev_f1"][0] >= history.history["dev_f1_at_0.5"][0]
