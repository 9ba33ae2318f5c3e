"""The data-size-aware epoch cap and patience, and the recorded stop reason."""

import pytest

from emotag.training.budget import ENCODER_RULE, EpochBudget, epoch_budget, stop_reason


@pytest.mark.parametrize(
    "steps, epochs, patience",
    [
        (680, 12, 3),  # GoEmotions train at batch 64: ceil(8000/680)=12, ceil(1500/680)=3
        (16, 100, 10),  # 1,000 texts: ceil(8000/16)=500 -> the 100-epoch bound; 94 -> 10
        (157, 51, 10),  # 10,000 texts: ceil(8000/157)=51, ceil(1500/157)=10
        (400, 20, 4),  # ceil(8000/400)=20, ceil(1500/400)=4
        (5000, 12, 2),  # a huge set: 12 passes at least, patience at least 2
    ],
)
def test_budget_scales_with_steps_per_epoch(steps, epochs, patience):
    budget = epoch_budget(steps)
    assert (budget.epochs, budget.patience) == (epochs, patience)
    assert budget.epochs_rule == budget.patience_rule == "data size"


@pytest.mark.parametrize(
    "steps, epochs, patience",
    [
        (1360, 3, 1),  # GoEmotions train at batch 32: 3 passes at least; ceil(200/1360)=1
        (313, 4, 1),  # 10,000 texts: ceil(1000/313)=4, ceil(200/313)=1
        (97, 10, 2),  # 3,000 texts: ceil(1000/97)=11 -> 10; ceil(200/97)=3 -> 2
        (34, 10, 2),  # 1,000 texts: 30 -> 10; 6 -> 2
    ],
)
def test_encoder_budget_scales_with_steps_per_epoch(steps, epochs, patience):
    budget = epoch_budget(steps, rule=ENCODER_RULE)
    assert (budget.epochs, budget.patience) == (epochs, patience)


def test_explicit_epochs_and_patience_win():
    budget = epoch_budget(16, epochs=3, patience=1)
    assert (budget.epochs, budget.patience) == (3, 1)
    assert (budget.epochs_rule, budget.patience_rule) == ("--epochs", "--patience")
    assert budget.to_json()["steps_per_epoch"] == 16


@pytest.mark.parametrize("kwargs", [{"steps_per_epoch": 0}, {"steps_per_epoch": 5, "epochs": 0},
                                    {"steps_per_epoch": 5, "patience": 0}])  # fmt: skip
def test_bad_budget_arguments(kwargs):
    with pytest.raises(ValueError):
        epoch_budget(**kwargs)


def test_stop_reasons():
    budget = EpochBudget(12, 3, 680, "data size", "data size")
    assert stop_reason(budget, 9, True, 6) == (
        "early stopping: no dev macro-F1 gain for 3 epochs after epoch 6"
    )
    capped = stop_reason(budget, 12, False, 12)
    assert capped.startswith("the epoch cap (12, data size)") and "more epochs may help" in capped
    assert stop_reason(budget, 12, False, 10) == "the epoch cap (12, data size); best epoch 10"
    assert "interrupted" in stop_reason(budget, 4, False, 4)


def test_tiny_run_records_its_budget_and_why_it_stopped(tiny_data_dir, tmp_path):
    import json
    import math

    from emotag.training.bilstm import TrainConfig, train

    config = TrainConfig(
        data_dir=str(tiny_data_dir),
        embeddings="random",
        embedding_dim=8,
        lstm_units=4,
        attention_units=4,
        batch_size=16,
        min_count=1,
        patience=1,
        output_dir=str(tmp_path),
        run_name="budget",
        verbose=0,
    )  # fmt: skip  (epochs=None: the cap comes from the data size)
    info = json.loads((train(config) / "run_info.json").read_text())
    budget = info["epoch_budget"]
    steps = budget["steps_per_epoch"]
    assert steps >= 10  # 160 texts in batches of 16, length-bucketed (some part-full)
    assert budget["epochs"] == min(100, max(12, math.ceil(8000 / steps)))
    assert (budget["patience"], budget["patience_rule"]) == (1, "--patience")
    # Patience 1 stops one epoch after the best, long before the cap.
    assert info["epochs_run"] == info["best_epoch"] + 1 < budget["epochs"]
    assert info["stop_reason"] == (
        f"early stopping: no dev macro-F1 gain for 1 epochs after epoch {info['best_epoch']}"
    )
    card = (tmp_path / "budget" / "MODEL_CARD.md").read_text()
    assert "why training stopped" in card
    # The wall time splits into preparing (data, vectors), fitting, and writing the run.
    assert info["prepare_time_s"] >= 0 and info["fit_time_s"] > 0
    assert info["prepare_time_s"] + info["fit_time_s"] <= info["wall_time_s"]
    assert f"| of which training (s) | {info['fit_time_s']} |" in card
