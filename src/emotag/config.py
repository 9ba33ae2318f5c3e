"""Configuration shared by every command: flags generated from a config dataclass,
logging, and a quiet TensorFlow start-up.

A command's flags are the fields of its config dataclass (`dataclass_parser`); each
flag's `--help` text is the comment on its field's line, or the comment lines directly
above the field when its line has none (`field_comments`), so the meaning of a setting
is written once, next to its default.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import logging
import os
import shlex
import sys
import tempfile
import textwrap
import time
import tokenize
from typing import Any, TypeVar

T = TypeVar("T")

# Field annotations are strings (scripts use `from __future__ import annotations`);
# the first word picks the parser, so "int | None" parses as int.
_PARSERS = {"int": int, "float": float}
# Comments addressed to tools, not readers.
_PRAGMAS = ("fmt:", "noqa", "type:", "pragma", "isort:")


def option(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
           positional: bool = False, **argparse_kwargs) -> Any:  # fmt: skip
    """A dataclass field whose flag needs more than its type says (`add_argument` keywords).

    Args:
        default, default_factory: as for `dataclasses.field`; neither = a required flag.
        positional: an argument without `--` (e.g. the texts of `emotag predict`).
        **argparse_kwargs: passed on to `add_argument`, e.g. `action="append"`,
            `metavar="DIR"`, `type=non_negative_int`, `nargs="*"`.

    Example:
    >>> @dataclasses.dataclass
    ... class Config:
    ...     model: list[str] = option(action="append")  # run directory (repeatable)
    """
    metadata = {"argparse": argparse_kwargs, "positional": positional}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def choice(default: str, options: tuple[str, ...] | list[str]):
    """A dataclass field whose flag accepts only `options` (argparse `choices`).

    Example:
    >>> @dataclasses.dataclass
    ... class Config:
    ...     loss: str = choice("bce", ("bce", "focal"))
    """
    return dataclasses.field(default=default, metadata={"choices": tuple(options)})


def positive_int(text: str) -> int:
    """argparse `type` of sizes that must be at least 1 (batch sizes): 0 or -3 is an
    error at the command line, not a crash or an empty result later."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse `type` of counts where 0 has a meaning of its own (e.g. "TensorFlow's")."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse `type` of amounts where 0 means "off" and a negative value has no meaning."""
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def unit_fraction(text: str) -> float:
    """argparse `type` of multipliers in (0, 1]: a share kept, where 1 keeps everything."""
    value = float(text)
    if not 0 < value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def unit_interval(text: str) -> float:
    """argparse `type` of weights in [0, 1], where both ends mean something (all or none)."""
    value = float(text)
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and ends every option's help with its default
    ("(default: 64)"), or "(required)" for an option that has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "%(default)" in text or action.default is argparse.SUPPRESS:
            return text
        if action.required:
            return f"{text} (required)"
        return f"{text} (default: {_shown(action.default)})"


def _shown(value: Any) -> str:
    """A default as it would be typed: lists space-separated; `%` escaped for argparse."""
    if isinstance(value, (list, tuple)) and value:
        value = " ".join(map(str, value))
    elif value == "":
        value = '""'
    return str(value).replace("%", "%%")


def command_parser(description: str | None = None) -> argparse.ArgumentParser:
    """An empty parser with the commands' help layout (`HelpFormatter`)."""
    return argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)


def field_comments(config_cls: type) -> dict[str, str]:
    """Each field's comment in the source of a dataclass and its dataclass bases.

    The comment on the field's line (all its lines, for a field written over several);
    without one, the comment lines directly above the field. A subclass that redeclares
    a field replaces its base's comment. Classes without source (defined in a REPL) give
    no comments.

    Returns:
        {field name: comment text, lines joined by spaces} ("" for uncommented fields).
    """
    comments: dict[str, str] = {}
    for cls in reversed(config_cls.__mro__):
        if dataclasses.is_dataclass(cls) and cls is not object:
            comments.update(_class_comments(cls))
    return comments


def _class_comments(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines: dict[int, tuple[str, bool]] = {}  # line -> (comment, whether code precedes it)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if not text.startswith(_PRAGMAS):
                lines[token.start[0]] = (text, bool(token.line[: token.start[1]].strip()))
    class_node = ast.parse(source).body[0]
    return {
        node.target.id: _field_comment(node, lines)
        for node in getattr(class_node, "body", [])
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def _field_comment(node: ast.AnnAssign, lines: dict[int, tuple[str, bool]]) -> str:
    end = node.end_lineno or node.lineno
    trailing = [lines[n][0] for n in range(node.lineno, end + 1) if n in lines and lines[n][1]]
    if trailing:
        return " ".join(trailing)
    above, n = [], node.lineno - 1
    while n in lines and not lines[n][1]:
        above.insert(0, lines[n][0])
        n -= 1
    return " ".join(above)


def dataclass_parser(config_cls: type, description: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with one `--flag-name` per field of a config dataclass.

    Each flag's help is its field's comment (`field_comments`), followed by its default.
    `bool` fields become `--flag/--no-flag`; `int` and `float` fields (optionally
    `| None`) are parsed as such, `list[...]` fields take one or more values; anything
    else is a string, restricted to the field's options when it was declared with
    `choice`. Fields declared with `option` pass their own `add_argument` keywords;
    fields without a default are required flags.

    Args:
        config_cls: a dataclass.
        description: shown by `--help`, usually the script's docstring.

    Returns:
        An `argparse.ArgumentParser`; callers may add checks or extra arguments.
    """
    parser = command_parser(description)
    comments = field_comments(config_cls)
    for field in dataclasses.fields(config_cls):
        _add_field(parser, field, comments.get(field.name, ""))
    return parser


def _add_field(parser: argparse.ArgumentParser, field: dataclasses.Field, comment: str) -> None:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    kind = kind or str(field.type)
    required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    if field.default is not dataclasses.MISSING:
        default = field.default
    else:
        default = None if required else field.default_factory()
    kwargs: dict[str, Any] = {"default": default, "help": comment.replace("%", "%%")}
    extra = field.metadata.get("argparse", {})
    if kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    else:
        item = kind.removeprefix("list[").split("]")[0]
        kwargs["type"] = _PARSERS.get(item.split(" ")[0], str)
        if kind.startswith("list[") and "action" not in extra:
            kwargs["nargs"] = "+"
        if "choices" in field.metadata:
            kwargs["choices"] = field.metadata["choices"]
    kwargs.update(extra)
    if field.metadata.get("positional"):
        parser.add_argument(field.name, **kwargs)
    else:
        parser.add_argument("--" + field.name.replace("_", "-"), required=required, **kwargs)


def parse_config(config_cls: type[T], argv=None, description: str | None = None) -> T:
    """Parses `argv` (default `sys.argv[1:]`) into an instance of `config_cls`."""
    args: dict[str, Any] = vars(dataclass_parser(config_cls, description).parse_args(argv))
    return config_cls(**args)


def setup_logging(timestamps: bool = True) -> None:
    """INFO logging to stderr in the scripts' one format; timestamps for long-running jobs."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {fmt}" if timestamps else fmt)


class StepLog:
    """Logs the steps of a long phase at INFO: each one as it starts, and its time when done.

    For work a person waits on without a progress bar (scoring, calibration, export), so a
    log shows what is running and where the time went.

    Args:
        logger: where the lines go.

    Example:
    >>> steps = StepLog(logging.getLogger("train"))
    >>> steps.start("exporting the SavedModel")  # INFO exporting the SavedModel ...
    >>> steps.done()  # INFO exporting the SavedModel: 0.0 s
    """

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.current: str | None = None
        self.started = 0.0

    def start(self, what: str) -> None:
        """Ends the running step, if any, and starts `what`."""
        self.done()
        self.current, self.started = what, time.perf_counter()
        self.logger.info("%s ...", what)

    def done(self) -> None:
        """Logs the running step's duration; nothing when no step runs."""
        if self.current is not None:
            seconds = time.perf_counter() - self.started
            self.logger.info("%s: %.1f s", self.current, seconds)
            self.current = None


def command_line(script: str, argv=None) -> str:
    """How a script was called, for result tables (`argv` None = the real command line),
    shell-quoted like `emotag.runs.info.invocation` so it can be pasted back."""
    return shlex.join(["python", script, *(sys.argv[1:] if argv is None else argv)])


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
    # Later C++ notices come while ops run, outside the capture: e.g. "oneDNN supports
    # DT_INT32 only on platforms with AVX-512. Falling back to ... Eigen", logged at ERROR
    # level on some CPUs. Level 3 mutes them; real failures still raise in Python. A
    # level the user set (0 shows everything) is kept.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()  # what Python wrote before must not land in the capture
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
