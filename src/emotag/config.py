"""Configuration shared by every command: flags generated from a config dataclass,
logging, and a quiet TensorFlow start-up."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
from typing import Any, TypeVar

T = TypeVar("T")

# Field annotations are strings (scripts use `from __future__ import annotations`);
# the first word picks the parser, so "int | None" parses as int.
_PARSERS = {"int": int, "float": float}


def choice(default: str, options: tuple[str, ...] | list[str]):
    """A dataclass field whose flag accepts only `options` (argparse `choices`).

    Example:
    >>> @dataclasses.dataclass
    ... class Config:
    ...     loss: str = choice("bce", ("bce", "focal"))
    """
    return dataclasses.field(default=default, metadata={"choices": tuple(options)})


def dataclass_parser(config_cls: type, description: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with one `--flag-name` per field of a config dataclass.

    `bool` fields become `--flag/--no-flag`; `int` and `float` fields (optionally
    `| None`) are parsed as such; anything else is a string, restricted to the field's
    options when it was declared with `choice`. Defaults are the fields'.

    Args:
        config_cls: a dataclass whose fields all have defaults.
        description: shown by `--help`, usually the script's docstring.

    Returns:
        An `argparse.ArgumentParser`; callers may add checks or extra arguments.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        kind = field.type if isinstance(field.type, str) else field.type.__name__
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
            continue
        parser.add_argument(
            flag,
            type=_PARSERS.get(kind.split(" ")[0], str),
            default=field.default,
            choices=field.metadata.get("choices"),
        )
    return parser


def parse_config(config_cls: type[T], argv=None, description: str | None = None) -> T:
    """Parses `argv` (default `sys.argv[1:]`) into an instance of `config_cls`."""
    args: dict[str, Any] = vars(dataclass_parser(config_cls, description).parse_args(argv))
    return config_cls(**args)


def setup_logging(timestamps: bool = True) -> None:
    """INFO logging to stderr in the scripts' one format; timestamps for long-running jobs."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {fmt}" if timestamps else fmt)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_intra_op_threads_flag(parser: argparse.ArgumentParser) -> None:
    """`--intra-op-threads` for scripts that serve a run (see `predictor.configure_threads`)."""
    parser.add_argument(
        "--intra-op-threads",
        type=_non_negative_int,
        help="TensorFlow intra-op threads per process (default: what the run serves best "
        "with, 1 for BiLSTM runs; 0 = TensorFlow's default)",
    )


def command_line(script: str, argv=None) -> str:
    """How a script was called, for result tables (`argv` None = the real command line)."""
    return " ".join(["python", script, *(sys.argv[1:] if argv is None else argv)])


# TensorFlow's start-up lines that report a normal CPU-only machine, not a failure.
_TF_NOISE = (
    "All log messages before absl::InitializeLog",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized",
    "To enable the following instructions",
    "Unable to register cu",
    "computation placer already registered",
    "TF-TRT Warning",
)


def quiet_tensorflow() -> None:
    """Imports TensorFlow with its start-up noise filtered out; other stderr lines pass.

    TensorFlow's C++ start-up messages (no CUDA driver, failed cuInit, oneDNN, CPU
    instructions) are written before its log level applies, so they are caught at the
    file-descriptor level while TensorFlow is imported and its devices are listed.
    Devices are only listed, not initialised: thread pools can still be sized after.
    Called once by the `emotag` command and the scripts; a no-op if TensorFlow is
    already imported.
    """
    if "tensorflow" in sys.modules:
        return
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines()
    kept = [line for line in lines if not any(noise in line for noise in _TF_NOISE)]
    if kept:
        print("\n".join(kept), file=sys.stderr)
