import json

import pytest

pytestmark = pytest.mark.slow


def test_search_runs_trials_on_dev_and_writes_log(tiny_data_dir, tmp_path):
    from emotag.training.bilstm import TrainConfig, search

    config = TrainConfig(
        data_dir=str(tiny_data_dir), embeddings="random", embedding_dim=8, lstm_units=8,
        attention_units=8, batch_size=32, min_count=1, output_dir=str(tmp_path), verbose=0,
        search=True, search_trials=2, search_epochs=1,
    )  # fmt: skip
    record = search(config)
    log = json.loads((tmp_path / "search-fine" / "search_log.json").read_text())
    assert log["best_values"] == record["best_values"]
    assert len(log["trials"]) == 2
    assert set(log["best_values"]) == {"gamma", "beta", "lstm_units", "dropout",
                                       "learning_rate", "trainable_embeddings"}  # fmt: skip
    scores = [t["score"] for t in log["trials"]]
    assert log["best_score"] == max(scores) and all(0 <= s <= 1 for s in scores)
    assert not list(tmp_path.glob("bilstm-*"))  # a search writes no run directory
