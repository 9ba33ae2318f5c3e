"""(Re)write MODEL_CARD.md for trained runs.

Usage:
    python src/model_card.py --model artifacts/<run>
    python src/model_card.py --model artifacts/<run-a> --model artifacts/<run-b>
    python src/model_card.py --model artifacts/<run> --stdout      # print, write nothing

New runs get their card at the end of training (emotag.evaluation.scoring.write_run_info); this
script refreshes cards of existing runs, e.g. after an evaluation or a card change.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from emotag.config import dataclass_parser, option, setup_logging
from emotag.runs.model_card import render_model_card, write_model_card


@dataclasses.dataclass
class ModelCardConfig:
    model: list[str] = option(action="append")  # run directory; repeat for several runs
    stdout: bool = False  # print the cards instead of writing <run>/MODEL_CARD.md


def build_parser():
    """The command line of `emotag card` (flags and help from `ModelCardConfig`)."""
    return dataclass_parser(ModelCardConfig, __doc__)


def parse_args(argv=None) -> ModelCardConfig:
    return ModelCardConfig(**vars(build_parser().parse_args(argv)))


def run(config: ModelCardConfig, out=None) -> list[Path]:
    """Writes (or prints) the card of each run; returns the written paths."""
    written = []
    for run_dir in config.model:
        if not Path(run_dir).is_dir():
            raise FileNotFoundError(f"{run_dir} is not a directory")
        if config.stdout:
            (out or sys.stdout).write(render_model_card(run_dir))
        else:
            written.append(write_model_card(run_dir))
    return written


def main(argv=None) -> int:
    setup_logging(timestamps=False)
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
