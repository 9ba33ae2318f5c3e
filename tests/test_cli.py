"""The `emotag` command line: every flag of every command documented with its default
(help from the config field comments), closed sets as choices, clear errors."""

from __future__ import annotations

import argparse
import dataclasses
import re
import shlex
import subprocess
import sys

import pytest

from emotag import cli
from emotag.config import choice, dataclass_parser, field_comments, option

# Options hidden from --help on purpose: the protocol between a benchmark and the worker
# processes it starts, not something a person types.
HIDDEN = {("benchmark throughput", "--worker")}


def command_help(name: str, monkeypatch, capsys) -> tuple[argparse.ArgumentParser, str]:
    """The parser `emotag <name> --help` builds, and the help text it prints."""
    parsers = []
    original = argparse.ArgumentParser.parse_known_args

    def recording(self, args=None, namespace=None):
        parsers.append(self)
        return original(self, args, namespace)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", recording)
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option, so phrases are not wrapped
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*name.split(), "--help"])
    assert exit_info.value.code == 0, f"emotag {name} --help failed"
    return parsers[-1], capsys.readouterr().out


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_option_has_help_and_shows_its_default(name, monkeypatch, capsys):
    parser, text = command_help(name, monkeypatch, capsys)
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        flag = action.option_strings[-1] if action.option_strings else action.dest
        if (name, flag) in HIDDEN:
            assert action.help == argparse.SUPPRESS
            continue
        assert action.help and action.help != argparse.SUPPRESS and action.help.strip(), (
            f"emotag {name} {flag} has no help text"
        )
        shown = formatter._expand_help(action)
        if action.option_strings:
            wanted = "(required)" if action.required else "(default: "
            assert wanted in shown, f"emotag {name} {flag} does not show its default: {shown!r}"
        assert flat(shown) in flat(text), f"emotag {name} --help lacks {flag}'s help"


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_usage_examples_keep_their_continuation_lines(name, monkeypatch, capsys):
    # A lone backslash at a line's end inside a (non-raw) docstring joins the two lines,
    # leaving the next line's indentation inside the command: "...128         --embeddings".
    _, text = command_help(name, monkeypatch, capsys)
    examples = [line for line in text.splitlines() if line.lstrip().startswith("python ")]
    joined = [line for line in examples if re.search(r"\S {4,}--\w", line.split("#")[0])]
    assert not joined, f"emotag {name} --help joins example lines: {joined}"


def test_help_lines_read_as_the_field_comments(monkeypatch, capsys):
    _, text = command_help("train bilstm", monkeypatch, capsys)
    help_text = flat(text)
    # Trailing comment of a TrainConfig field.
    assert (
        "--attention-units ATTENTION_UNITS hidden size of the additive attention scorer "
        "(default: 128)" in help_text
    )
    # A field of the DatasetSpec base class, and one documented by the comment above it.
    assert (
        "--dev-fraction DEV_FRACTION share of train held out as dev when there is no dev file "
        "(default: 0.1)" in help_text
    )
    assert (
        "--label-cols LABEL_COLS comma-separated binary label columns; with --labels-col, the "
        "label names in id order (default: None)" in help_text
    )
    assert "--loss {cb_focal,focal,bce}" in help_text  # a closed set is a choice


@dataclasses.dataclass
class _Base:
    run: str = option(metavar="DIR")  # run directory
    size: int = 64  # rows per batch
    # a note above
    # over two lines
    name: str = "x"
    bare: int = 0
    # a reader's note, not the help
    kept: float = 0.5  # the trailing comment wins
    mode: str = choice("a", ("a", "b"))  # fmt: skip


@dataclasses.dataclass
class _Child(_Base):
    size: int = 32  # rows per batch, fewer
    share: float = 0.25  # 25% of the rows
    flag: bool = False  # switch it on
    runs: list[str] = option(default_factory=list, action="append")  # repeatable


def test_field_comments_trailing_above_inherited_and_overridden():
    assert field_comments(_Child) == {
        "run": "run directory",
        "size": "rows per batch, fewer",
        "name": "a note above over two lines",
        "bare": "",
        "kept": "the trailing comment wins",
        "mode": "",  # a tool's pragma is not help
        "share": "25% of the rows",
        "flag": "switch it on",
        "runs": "repeatable",
    }


def test_dataclass_parser_help_types_and_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")
    parser = dataclass_parser(_Child, "Description line one.\n  indented line two.")
    help_text = parser.format_help()
    assert "Description line one.\n  indented line two." in help_text  # kept as written
    lines = flat(help_text)
    assert "--size SIZE rows per batch, fewer (default: 32)" in lines
    assert "--share SHARE 25% of the rows (default: 0.25)" in lines
    assert "--run DIR run directory (required)" in lines
    assert "--flag, --no-flag switch it on (default: False)" in lines
    assert "--mode {a,b}" in lines
    args = parser.parse_args(["--run", "r", "--runs", "a", "--runs", "b", "--flag"])
    config = _Child(**vars(args))
    assert (config.run, config.runs, config.flag, config.size) == ("r", ["a", "b"], True, 32)
    with pytest.raises(SystemExit):
        parser.parse_args(["--run", "r", "--mode", "c"])
    assert "invalid choice: 'c'" in capsys.readouterr().err


def test_no_command_and_unknown_command_are_clear_errors():
    with pytest.raises(SystemExit) as no_command:
        cli.main([])
    assert str(no_command.value.code).endswith("emotag: error: no command given")
    with pytest.raises(SystemExit) as unknown:
        cli.main(["frobnicate"])
    assert str(unknown.value.code).endswith("emotag: error: unknown command 'frobnicate'")
    with pytest.raises(SystemExit) as half:
        cli.main(["train"])
    assert "emotag train {bilstm,bert,baseline" in str(half.value.code)
    assert str(half.value.code).endswith("expected, got nothing")


def test_a_users_error_ends_the_command_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    missing = tmp_path / "nowhere"
    assert cli.main(["train", "bilstm", "--data-dir", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"emotag train bilstm: error: GoEmotions directory {missing} ")
    assert "missing: train.tsv" in err and "Traceback" not in err
    assert err.rstrip().endswith("(FileNotFoundError; EMOTAG_TRACEBACK=1 shows the traceback)")
    # The scripts in src/ name themselves.
    monkeypatch.setattr(sys, "argv", ["src/evaluate.py"])
    assert cli.run_script("evaluate", ["--model", str(missing)]) == 1
    assert capsys.readouterr().err.startswith(f"evaluate.py: error: {missing} is not a directory")
    # Asked for, the traceback is the exception itself.
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    with pytest.raises(FileNotFoundError, match="missing: train.tsv"):
        cli.main(["train", "bilstm", "--data-dir", str(missing)])


def test_only_a_users_errors_lose_their_traceback(monkeypatch, capsys):
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)

    def failing(error):
        def main(argv):
            raise error

        return main

    assert cli.reporting_errors(failing(ValueError("bad --thing: 3")), [], "emotag x") == 1
    assert capsys.readouterr().err.startswith("emotag x: error: bad --thing: 3\n(ValueError;")
    assert cli.reporting_errors(failing(PermissionError("read-only")), [], "emotag x") == 1
    with pytest.raises(KeyError):  # a bug, not the user's input: raised as it is
        cli.reporting_errors(failing(KeyError("k")), [], "emotag x")
    monkeypatch.setenv(cli.TRACEBACK_ENV, "0")  # "0" means off
    assert cli.reporting_errors(failing(ValueError("v")), [], "emotag x") == 1


def test_a_run_records_the_command_as_typed(monkeypatch):
    from emotag.runs.info import invocation

    # `emotag train bilstm --run-name "my run"`: the command's words once, quoted args.
    typed = ["/venv/bin/emotag", "train", "bilstm", "--run-name", "my run"]
    monkeypatch.setattr(sys, "argv", list(typed))
    seen = []
    cli.run_main(lambda argv: seen.append((invocation(), argv)), typed[3:],
                 prog="emotag train bilstm")  # fmt: skip
    assert seen == [("emotag train bilstm --run-name 'my run'", ["--run-name", "my run"])]
    assert sys.argv == typed  # restored
    # A script is run with python; without arguments, nothing trails.
    monkeypatch.setattr(sys, "argv", ["src/train_biLSTM.py", "--seed", "1"])
    assert invocation() == "python src/train_biLSTM.py --seed 1"
    monkeypatch.setattr(sys, "argv", ["src/train_biLSTM.py"])
    assert invocation() == "python src/train_biLSTM.py"


def test_benchmark_reports_name_their_command_shell_quoted(monkeypatch):
    from emotag.config import command_line

    assert command_line("benchmarks/quality.py", ["--seeds", "0", "1"]) == (
        "python benchmarks/quality.py --seeds 0 1"
    )
    # An argument with a space or quote pastes back as one argument.
    line = command_line("benchmarks/quality.py", ["--out", "my results", "--set", "note=it's"])
    assert line == "python benchmarks/quality.py --out 'my results' --set 'note=it'\"'\"'s'"
    assert shlex.split(line)[2:] == ["--out", "my results", "--set", "note=it's"]
    monkeypatch.setattr(sys, "argv", ["benchmarks/quality.py", "--report-only"])
    assert command_line("benchmarks/quality.py") == "python benchmarks/quality.py --report-only"


def test_python_m_emotag_help_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-m", "emotag", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: emotag <command>")
    for name in cli.COMMANDS:
        assert f"  {name} " in done.stdout


def test_batch_refuses_unknown_flags_and_passes_beam_options_after_separator(capsys):
    from emotag.serving.batch import parse_args

    own = ["--model", "run", "--input", "in.txt", "--output", "out.jsonl"]
    config, beam_args = parse_args([*own, "--", "--runner=DataflowRunner", "--project", "p"])
    assert (config.model, config.input, config.output) == ("run", "in.txt", "out.jsonl")
    assert beam_args == ["--runner=DataflowRunner", "--project", "p"]
    assert parse_args(own)[1] == []
    with pytest.raises(SystemExit) as exit_info:
        parse_args([*own, "--runer=DataflowRunner"])  # mistyped, before any "--"
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --runer=DataflowRunner" in capsys.readouterr().err


def test_model_means_a_run_directory_everywhere(capsys):
    from emotag.audit.audit import parse_args as audit_args
    from emotag.augment.generate import parse_args as augment_args

    assert audit_args(["--learner", "bilstm"]).learner == "bilstm"
    config = augment_args(["--rare-below", "10", "--llm-model", "qwen2.5"])
    assert (config.rare_below, config.llm_model) == (10, "qwen2.5")
    for parse, argv in (
        (audit_args, ["--model", "bilstm"]),
        (augment_args, ["--model", "qwen2.5"]),
        (augment_args, ["--threshold", "10"]),
    ):
        with pytest.raises(SystemExit):
            parse(argv)
        assert f"unrecognized arguments: {' '.join(argv)}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        audit_args(["--learner", "svm"])
    assert "invalid choice: 'svm'" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_batch_size_flag_takes_only_a_positive_int(name, monkeypatch, capsys):
    """Issue 15: --batch-size 0 crashed mid-run and -3 exited 0 with all-zero scores."""
    parser, _ = command_help(name, monkeypatch, capsys)
    for action in parser._actions:
        # --limit too: 0 trained on all of train, -3 on none of it.
        if ("batch" in action.dest or action.dest == "limit") and action.option_strings:
            for bad in ("0", "-3"):
                with pytest.raises(argparse.ArgumentTypeError, match="positive integer"):
                    action.type(bad)
            assert action.type("7") == 7


@pytest.mark.parametrize("value", ["0", "-3"])
def test_predict_refuses_a_batch_size_below_one_before_loading_anything(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", "--model", "/nonexistent/run", "--batch-size", value, "text"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --batch-size: must be a positive integer, got {value}" in err


def test_a_run_records_the_code_it_started_from_not_the_checkout_at_its_end(tmp_path, monkeypatch):
    import json

    from emotag.runs import info as run_info

    monkeypatch.setattr(run_info, "code_version", lambda source=None: "0.0.0 (git moved on)")
    scores = {"f1": 0.5, "precision": 0.5, "recall": 0.5}
    report = {"macro": scores, "micro": scores}
    written = run_info.write_run_info(tmp_path, {"seed": 1}, 0.0, report, kind="tfidf-lr")
    assert written["emotag"] == run_info.CODE_AT_START != "0.0.0 (git moved on)"
    assert json.loads((tmp_path / "run_info.json").read_text())["emotag"] == run_info.CODE_AT_START


def test_a_run_records_the_processor_it_trained_on(tmp_path, monkeypatch):
    import os

    from emotag.runs.info import machine

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    cpu = ("processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 167\n"
           "model name\t: Intel(R) Xeon(R) Processor\nstepping\t: 1\n"
           "flags\t\t: fpu sse avx2 {avx}\n")  # fmt: skip
    path = tmp_path / "cpuinfo"
    path.write_text(cpu.format(n=0, avx="avx512f avx512bw") + "\n" + cpu.format(n=1, avx=""))
    expected = "Intel(R) Xeon(R) Processor (family 6 model 167 stepping 1), 2 CPUs"
    assert machine(path) == expected + ", avx512f"
    path.write_text(cpu.format(n=0, avx="avx512bw"))  # avx512bw alone is not avx512f
    assert machine(path) == expected
    assert machine(tmp_path / "missing").endswith(", 2 CPUs")  # not Linux: still an answer


def test_a_run_records_the_code_that_made_it(tmp_path):
    from emotag import __version__
    from emotag.runs.info import code_version

    assert code_version(tmp_path) == __version__  # an installed copy: no checkout
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "a.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert code_version(tmp_path) == f"{__version__} (git {head[:12]})"
    (tmp_path / "notes.txt").write_text("untracked files do not count")
    assert code_version(tmp_path) == f"{__version__} (git {head[:12]})"
    (tmp_path / "a.py").write_text("x = 2\n")
    assert code_version(tmp_path) == f"{__version__} (git {head[:12]} + local changes)"
