"""Serve the emotion tagger as a Gradio web app.

Usage:
    python src/app.py --model artifacts/<run>
    python src/app.py --model artifacts/<run-a> --model artifacts/<run-b> --port 8080
    python src/app.py --model artifacts/<run> --host 0.0.0.0 --max-chars 5000

Each --model is a run directory, picked in the page by its name. The page shows the
predicted emotions, every class's probability against its threshold, a switch between
the calibrated per-class thresholds and one global threshold, and (for attention
models) a heat map of the attention weights. The app listens on 127.0.0.1:7860 unless
told otherwise; --share (a public Gradio link) is off by default. The submit action is
also an API endpoint, `/predict`, usable with `gradio_client`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a demo

from emotag.app.views import DEFAULT_MAX_CHARS
from emotag.config import dataclass_parser, option, setup_logging
from emotag.serving.predictor import Predictor

log = logging.getLogger("app")


@dataclasses.dataclass
class AppConfig:
    # run directory; repeat for several runs, picked in the page (the first at start)
    model: list[str] = option(action="append")
    host: str = "127.0.0.1"  # address to listen on; 0.0.0.0 accepts other machines
    port: int = 7860  # port to listen on
    share: bool = False  # also serve through a public *.gradio.live link
    max_chars: int = DEFAULT_MAX_CHARS  # longer texts get a message, not a prediction
    queue_size: int = 32  # waiting requests beyond this are refused


def build_parser():
    """The command line of `emotag app` (flags and help from `AppConfig`)."""
    return dataclass_parser(AppConfig, __doc__)


def parse_args(argv=None) -> AppConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_chars < 1:
        parser.error("--max-chars must be positive")
    return AppConfig(**vars(args))


def load_predictors(run_dirs: list[str]) -> dict[str, Predictor]:
    """Run name -> Predictor; runs sharing a directory name get their parent's name too."""
    paths = [Path(d) for d in run_dirs]
    names = [p.name for p in paths]
    predictors = {}
    for path, name in zip(paths, names):
        if names.count(name) > 1:
            name = f"{path.parent.name}/{name}"
        predictors[name] = Predictor.load(path)
        log.info("loaded %s from %s", name, path)
    return predictors


def build(config: AppConfig):
    """The app's Blocks for `config`, not yet launched."""
    from emotag.app.ui import build_app  # Gradio: only when the app is built, not for --help

    return build_app(load_predictors(config.model), max_chars=config.max_chars)


def main(argv=None) -> int:
    setup_logging(timestamps=False)
    config = parse_args(argv)
    from emotag.app.ui import launch

    launch(build(config), config.host, config.port, config.share, config.queue_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
