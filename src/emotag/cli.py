"""The `emotag` command: one entry point whose subcommands are the project's scripts.

    emotag train bilstm [flags]      same as python src/train_biLSTM.py
    emotag predict --model RUN TEXT  same as python src/inference.py
    emotag <command> --help          every flag, its meaning and default

Each subcommand is the `main(argv)` of one package module, imported only when chosen,
so `emotag predict` never loads training code.

An error the user can mend from its message (a path that is not there or not a run, a
file in the wrong format, a value a command refuses, a failed download: `OSError` and
`ValueError`) ends the command with one line, `emotag <command>: error: ...`, and exit
status 1; `EMOTAG_TRACEBACK=1` shows the traceback instead. Other exceptions are bugs
and keep their traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

from emotag import __version__
from emotag.config import quiet_tensorflow

# command -> (module with `main(argv) -> int`, one-line summary). "train" and
# "benchmark" take a second word: the model kind or the benchmark.
COMMANDS: dict[str, tuple[str, str]] = {
    "train bilstm": ("emotag.training.bilstm", "train the BiLSTM + attention tagger (default)"),
    "train bert": ("emotag.training.bert", "fine-tune a BERT-family encoder"),
    "train baseline": (
        "emotag.training.baseline", "train the TF-IDF + logistic-regression baseline"
    ),
    "train lexicon": (
        "emotag.training.lexicon", "NRC emotion lexicon (VADER for sentiment) baseline"
    ),
    "distill": (
        "emotag.distill.student", "train the BiLSTM on a teacher run's probabilities too"
    ),
    "predict": ("emotag.commands.predict", "tag texts with a run (arguments, --file or stdin)"),
    "evaluate": ("emotag.commands.evaluate", "score a run on a split of its dataset"),
    "ensemble": ("emotag.serving.ensemble", "average runs' probabilities into one calibrated run"),
    "app": ("emotag.commands.app", "Gradio demo for one or more runs"),
    "batch": ("emotag.serving.batch", "score a large text file with Apache Beam"),
    "audit": ("emotag.audit.audit", "rank training examples whose labels look wrong"),
    "augment": ("emotag.augment.generate", "new texts for rare classes, or LLM label checks"),
    "card": ("emotag.commands.card", "(re)write a run's MODEL_CARD.md"),
    "behave": ("emotag.commands.behave", "behavioural tests (negation, emoji, identity...)"),
    "compare": ("emotag.commands.compare", "paired bootstrap: is run B better than run A?"),
    "benchmark quality": ("emotag.benchmarks.quality", "default model and ablations over seeds"),
    "benchmark label-quality": (
        "emotag.benchmarks.label_quality", "dropping flagged rows, augmenting rare classes"
    ),
    "benchmark throughput": ("emotag.benchmarks.throughput", "texts/s and latency of runs"),
    "benchmark batch-scale": (
        "emotag.benchmarks.batch_scale", "emotag batch on a million lines: texts/s, peak memory"
    ),
    "benchmark calibration": (
        "emotag.benchmarks.calibration", "threshold objectives and temperature scaling of runs"
    ),
    "benchmark thresholds": (
        "emotag.benchmarks.thresholds", "exact vs bagged per-class thresholds, chosen on dev"
    ),
    "benchmark soft-thresholds": (
        "emotag.benchmarks.soft_thresholds", "thresholds tuned against soft dev labels"
    ),
    "benchmark learning-curve": (
        "emotag.benchmarks.learning_curve", "test macro-F1 by training size, four models"
    ),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        f"usage: emotag <command> [flags]   (emotag {__version__})",
        "",
        "Multi-label emotion classification: train, calibrate, evaluate, explain, serve.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()),
        "",
        "`emotag <command> --help` lists the command's flags with their defaults.",
    ]
    return "\n".join(lines)


def resolve(argv: list[str]) -> tuple[str, list[str]]:
    """(command name, its own arguments) for a command line; raises SystemExit on error."""
    for words in (2, 1):
        name = " ".join(argv[:words])
        if len(argv) >= words and name in COMMANDS:
            return name, argv[words:]
    groups = sorted({name.split()[0] for name in COMMANDS if " " in name})
    if argv and argv[0] in groups:
        kinds = [name.split()[1] for name in COMMANDS if name.startswith(argv[0] + " ")]
        wanted = f"emotag {argv[0]} {{{','.join(kinds)}}}"
        got = f"got {argv[1]!r}" if len(argv) > 1 else "got nothing"
        raise SystemExit(f"{usage()}\n\nemotag: error: {wanted} expected, {got}")
    raise SystemExit(f"{usage()}\n\nemotag: error: unknown command {argv[0]!r}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit(f"{usage()}\n\nemotag: error: no command given")
    if argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"emotag {__version__}")
        return 0
    name, rest = resolve(argv)
    quiet_tensorflow()
    module = importlib.import_module(COMMANDS[name][0])
    return run_main(module.main, rest, prog=f"emotag {name}")


def run_script(name: str, argv: list[str] | None = None) -> int:
    """What `src/*.py` run: command `name` with the script's own arguments."""
    quiet_tensorflow()
    module = importlib.import_module(COMMANDS[name][0])
    args = sys.argv[1:] if argv is None else argv
    return reporting_errors(module.main, args, os.path.basename(sys.argv[0]) or name)


# What `reporting_errors` prints as one line: bad paths, files, values, downloads.
USER_ERRORS = (OSError, ValueError)
TRACEBACK_ENV = "EMOTAG_TRACEBACK"  # set (to anything but "" or "0"): tracebacks as raised


def reporting_errors(main_fn, argv: list[str], prog: str) -> int:
    """`main_fn(argv)`, with a `USER_ERRORS` exception printed as one line (exit status 1).

    The line names the command and the exception's type (a bare `requests` message is
    clearer with it), and says how to see the traceback.
    """
    try:
        return int(main_fn(argv) or 0)
    except USER_ERRORS as err:
        if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
            raise
        kind = type(err).__name__
        print(f"{prog}: error: {err}\n({kind}; {TRACEBACK_ENV}=1 shows the traceback)",
              file=sys.stderr)  # fmt: skip
        return 1


def run_main(main_fn, argv: list[str], prog: str) -> int:
    """Calls a command's `main`, naming it `prog` in usage and error messages.

    While it runs, `sys.argv` is `[prog, *argv]`, so a run records the command as typed
    (`emotag.runs.info.invocation`). A user's error ends it as `reporting_errors` says.
    """
    saved = sys.argv
    sys.argv = [prog, *argv]
    try:
        return reporting_errors(main_fn, argv, prog)
    finally:
        sys.argv = saved


if __name__ == "__main__":
    sys.exit(main())
