"""What a run records about itself: its configuration, cost, versions and headline figures."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from emotag.runs.model_card import write_model_card


def write_run_info(run_path: Path, config: dict, started: float, report: dict, **extra) -> dict:
    """Writes `train_config.json`, `run_info.json` (timing, memory, versions, figures)
    and `MODEL_CARD.md`."""
    import keras
    import tensorflow as tf

    (run_path / "train_config.json").write_text(json.dumps(config, indent=2))
    info = {
        "wall_time_s": round(time.time() - started, 1),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "test_macro_f1": report["macro"]["f1"],
        "test_micro_f1": report["micro"]["f1"],
        "test_macro_precision": report["macro"]["precision"],
        "test_macro_recall": report["macro"]["recall"],
        **extra,
    }
    (run_path / "run_info.json").write_text(json.dumps(info, indent=2))
    write_model_card(run_path, strict=False)
    return info
