"""What a run records about itself: its configuration, cost, versions and headline figures."""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from emotag.runs.layout import EXCLUDED_IDS, KINDS, RUN_FORMAT, RUN_INFO, TRAIN_CONFIG
from emotag.runs.model_card import write_model_card


def invocation() -> str:
    """The command that started this process, as a user would type it again.

    A script (`python src/train_biLSTM.py --seed 1`) is named with `python`; an `emotag`
    command is named by its words (`cli.run_main` sets `sys.argv[0]` to "emotag train
    bilstm" and the rest of `sys.argv` to its own arguments). Arguments are shell-quoted.
    """
    program, args = sys.argv[0], sys.argv[1:]
    if program.endswith(".py"):
        program = f"python {shlex.quote(program)}"
    return " ".join([program, shlex.join(args)]) if args else program


def code_version(source: Path | None = None) -> str:
    """The emotag version, with the git commit of its checkout when it runs from one.

    "0.1.0 (git 1a2b3c4d5e6f)", "+ local changes" when tracked files differ from that
    commit; the bare version for an installed wheel or where git is not available.
    """
    from emotag import __version__

    source = source or Path(__file__).resolve().parents[3]  # src/emotag/runs/info.py

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(source), *args], capture_output=True,
                                  text=True, timeout=10)  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if not (source / ".git").exists() or not (commit := git("rev-parse", "HEAD")):
        return __version__
    changed = git("status", "--porcelain", "--untracked-files=no")
    return f"{__version__} (git {commit[:12]}{' + local changes' if changed else ''})"


# The code as it stood when this process started (the trainers import this module at their
# top): a checkout that moves on while a run trains must not be recorded as its maker.
CODE_AT_START = code_version()


def machine(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The processor the run trained on: "<model name> (family F model M stepping S),
    N CPUs[, avx512f]", N the CPUs this process may use.

    The same training command has given different BiLSTM runs on fresh machines while on
    one machine it reproduces bit for bit; numeric kernels are chosen by instruction set,
    so each run records its processor to let such differences be traced.
    Reads `/proc/cpuinfo` (Linux); elsewhere `platform.processor()`.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"{platform.processor() or platform.machine() or 'unknown'}, {cpus} CPUs"
    first = text.split("\n\n")[0]  # every processor repeats the first one's description
    fields = {}
    for line in first.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    name = fields.get("model name") or platform.processor() or "unknown"
    ident = [f"{word} {fields[key]}" for key, word in
             [("cpu family", "family"), ("model", "model"), ("stepping", "stepping")]
             if key in fields]  # fmt: skip
    out = name + (f" ({' '.join(ident)})" if ident else "") + f", {cpus} CPUs"
    return out + (", avx512f" if "avx512f" in fields.get("flags", "").split() else "")


def write_run_info(
    run_path: Path,
    config: dict,
    started: float,
    report: dict,
    *,
    kind: str,
    excluded_ids: Iterable[str] | None = None,
    **extra,
) -> dict:
    """Writes `train_config.json`, `run_info.json` and `MODEL_CARD.md` (and, for a run
    trained with `exclude_ids`, the ids it left out as `excluded_ids.txt`).

    Args:
        run_path: the run directory being written.
        config: the resolved configuration, saved as `train_config.json`.
        started: `time.time()` when the run started.
        report: the test report (`emotag.evaluation.metrics.multilabel_report`).
        kind: the run's kind (`emotag.runs.layout.KINDS`), which `open_run` reads back.
        excluded_ids: the training ids the run left out (`Dataset.excluded_ids`, as the
            loader read them); required when `config` has `exclude_ids`.
        **extra: further entries of `run_info.json`.

    Returns:
        The `run_info.json` payload.
    """
    import keras
    import tensorflow as tf

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if config.get("exclude_ids") and excluded_ids is None:
        raise ValueError("config has exclude_ids: pass the excluded_ids the run left out")
    (run_path / TRAIN_CONFIG).write_text(json.dumps(config, indent=2))
    if config.get("exclude_ids"):
        # The run keeps the ids it left out: a cross-fit teacher (`emotag distill
        # --cross-fit-teacher`) reads them from here wherever the list file has gone.
        # They are the ids the loader read, not the file now (it may have changed since).
        ids = sorted(excluded_ids)
        (run_path / EXCLUDED_IDS).write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    info = {
        "format": RUN_FORMAT,  # open_run refuses formats it does not know
        "kind": kind,
        "wall_time_s": round(time.time() - started, 1),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command": invocation(),
        "emotag": CODE_AT_START,  # which code made the run: results are compared across days
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "machine": machine(),  # which processor: kernels, and so the weights, follow it
        "test_macro_f1": report["macro"]["f1"],
        "test_micro_f1": report["micro"]["f1"],
        "test_macro_precision": report["macro"]["precision"],
        "test_macro_recall": report["macro"]["recall"],
        **extra,
    }
    (run_path / RUN_INFO).write_text(json.dumps(info, indent=2))
    write_model_card(run_path, strict=False)
    return info
