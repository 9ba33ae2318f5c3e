"""MODEL_CARD.md for a run directory, written from the run's own files.

Reads whatever of `train_config.json`, `run_info.json`, `overall_metrics.json`,
`per_class_report.csv`, `thresholds.json`, `labels.txt`, `embeddings.json` and
`preprocess_config.json` the run has; sections whose file is missing say so instead of
failing, so every training script's runs get a card.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from emotag.runs import layout
from emotag.runs.card_sections import (
    CardInputs,
    data_section,
    failure_modes,
    metrics_section,
    summary,
    thresholds_section,
    training_section,
)
from emotag.runs.card_text import how_to_load, intended_use

log = logging.getLogger(__name__)

CARD_NAME = layout.MODEL_CARD


def _read_per_class(run: Path) -> list[dict]:
    path = run / layout.PER_CLASS_REPORT
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [
            {"label": r["label"], **{k: float(r[k]) for k in ("precision", "recall", "f1")},
             "support": int(float(r["support"])),
             **{k: float(r[k]) for k in ("f1_low", "f1_high") if r.get(k)}}
            for r in csv.DictReader(f)
        ]  # fmt: skip


def _run_name(run: Path) -> str:
    # During training the card is written inside RunWriter's temporary ".<name>.tmp-XXXX"
    # directory, which is renamed to <name> afterwards.
    match = re.fullmatch(r"\.(.+)\.tmp-[^.]+", run.name)
    return match.group(1) if match else run.name


def _script_name(command: str) -> str:
    # Runs recorded before run_info.json had "model" still name their training script.
    scripts = [Path(w).stem for w in command.split() if w.endswith(".py")]
    return scripts[0] if scripts else ""


def read_card_inputs(run_dir: str | Path) -> CardInputs:
    """Whatever of the card's input files the run has."""
    # Partial: the card is written before training's last files, and tolerates any gap.
    opened = layout.open_run(run_dir, partial=True)
    run = opened.path
    return CardInputs(
        path=run, name=_run_name(run), config=opened.train_config, info=opened.info,
        thresholds=opened.calibration, metrics=opened.read_json(layout.OVERALL_METRICS),
        embeddings=opened.read_json(layout.EMBEDDINGS),
        preprocess=opened.read_json(layout.PREPROCESS_CONFIG),
        per_class=_read_per_class(run), labels=list(opened.label_names), kind=opened.kind,
    )  # fmt: skip


def render_model_card(run_dir: str | Path) -> str:
    """The Markdown text of a run's model card (see module docstring for the inputs)."""
    run = read_card_inputs(run_dir)
    model_kind = (
        run.info.get("model") or _script_name(run.info.get("command", "")) or run.kind
        or "unknown"
    )  # fmt: skip
    out = [f"# Model card: {run.name}", "", *summary(run, model_kind)]
    out += ["## Data and taxonomy", "", *data_section(run)]
    out += ["## Training", "", *training_section(run)]
    out += ["## Test metrics", "", *metrics_section(run)]
    out += ["## Thresholds", "", *thresholds_section(run.thresholds)]
    out += ["## Intended use", "", *intended_use(run.dataset)]
    out += ["## Known failure modes", "", *failure_modes(run)]
    out += ["## How to load", "", *how_to_load(run.name)]
    return "\n".join(out)


def write_model_card(run_dir: str | Path, strict: bool = True) -> Path | None:
    """Writes `MODEL_CARD.md` into the run directory.

    Args:
        run_dir: the run directory.
        strict: if False, a failure is logged and None returned instead of raised, so
            the card can never cost a finished training run (the end of every
            training script calls this through `emotag.evaluation.scoring.write_run_info`).

    Returns:
        The card's path, or None after a logged failure.
    """
    path = Path(run_dir) / CARD_NAME
    try:
        path.write_text(render_model_card(run_dir), encoding="utf-8")
    except Exception:
        if strict:
            raise
        log.exception("could not write %s; rerun src/model_card.py for this run", path)
        return None
    log.info("model card written to %s", path)
    return path
