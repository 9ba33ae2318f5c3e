"""Behavioural tests of a run (CheckList-style): failure rates by capability.

Usage:
    emotag behave --model artifacts/<run>                   # -> <run>/behaviour/
    emotag behave --model artifacts/<run> --out reports/behaviour-bilstm

Runs the template-generated cases of `emotag.analysis.behaviour_suite` (negation,
intensifiers and hedges, emoji, typos / casing / elongation, identity terms, sarcasm)
through the run's `Predictor` with its calibrated thresholds, and writes
behaviour.md (a table with example failures) and behaviour.json. Cases name emotions
by concept; those the run's label set cannot express are skipped and counted.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

from emotag.analysis.behaviour import run_tests, write_results
from emotag.analysis.behaviour_suite import build_suite
from emotag.config import dataclass_parser, option, positive_int, setup_logging
from emotag.runs.layout import BEHAVIOUR_DIR
from emotag.serving.predictor import Predictor

log = logging.getLogger("behave")


@dataclasses.dataclass
class BehaveConfig:
    model: str | None = None  # run directory to test (required)
    out: str | None = None  # output directory; None = <model>/behaviour
    examples: int = 3  # example failures shown per test
    seed: int = 0  # fixes where the typo test swaps letters
    batch_size: int = option(256, type=positive_int)  # texts per model call


def parse_args(argv=None) -> BehaveConfig:
    parser = dataclass_parser(BehaveConfig, __doc__)
    config = BehaveConfig(**vars(parser.parse_args(argv)))
    if not config.model:
        parser.error("--model is required")
    return config


def behave(config: BehaveConfig) -> Path:
    """Runs the suite on the run and writes the table.

    Returns:
        The Markdown table's path.
    """
    predictor = Predictor.load(config.model, batch_size=config.batch_size)
    results = run_tests(build_suite(config.seed), predictor, max_examples=config.examples)
    out = Path(config.out) if config.out else predictor.run_dir / BEHAVIOUR_DIR
    md, _ = write_results(results, out, title=f"Behavioural tests: {predictor.run_dir.name}")
    for r in results:
        rate = "n/a" if r.failure_rate is None else f"{r.failure_rate:.1%}"
        log.info("%-26s %-44s %s %3d cases  fail %s", r.capability, r.name, r.kind, r.cases, rate)
    log.info("table written to %s", md)
    return md


def main(argv=None) -> int:
    setup_logging(timestamps=False)
    behave(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
