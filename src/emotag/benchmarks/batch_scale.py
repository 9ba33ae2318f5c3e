"""Batch scoring at scale: `emotag batch` over a large file, its memory over time.

Usage:
    python benchmarks/batch_scale.py                          # 1,000,000 lines, default run
    python benchmarks/batch_scale.py --lines 20000 --out /tmp/bs   # a quick look

Writes a seeded file of synthetic sentences as `id<TAB>text` lines, with bad lines spread
through it in turn (invalid UTF-8, an empty text, a huge line of --huge-chars characters,
a line without an id), runs `emotag batch --with-ids` on it in a child process (the local
FnApiRunner, as a user would) and reads the resident memory (VmRSS) of the child's
process tree from /proc every --sample-seconds. Then it reads the output back, streaming,
and checks one record per line in input order, each with its id, and an error exactly on
the lines without an id. Reports texts/s and peak RSS, and the memory at each progress
line of the job (lines done), in <out>/batch_scale.json and batch_scale.md.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emotag.config import command_line, option, parse_config, positive_int, setup_logging

log = logging.getLogger("batch_scale")
BAD_KINDS = ("invalid-utf8", "empty", "huge", "no-id")  # in turn, one every --bad-every lines
SUBJECTS = ["I", "You", "We", "My friend", "This team", "The ref", "My mom", "[NAME]"]
VERBS = ["love", "hate", "can't believe", "am so grateful for", "am scared of", "laughed at",
         "miss", "am confused by", "am proud of", "feel sad about", "am annoyed by"]  # fmt: skip
OBJECTS = ["this game", "the new update", "your comment", "that movie", "the news",
           "this thread", "his answer", "the ending", "her joke", "the whole thing"]  # fmt: skip
TAILS = ["!", ".", "?", " lol", " 😂", "!!!", " tbh", "...", ""]
PROGRESS = re.compile(r"^(\S+ \S+) INFO batch_predict: ([\d,]+) lines scored \(")


@dataclasses.dataclass
class BatchScaleConfig:
    model: str = "artifacts/bilstm-fine-minilm-static-s42"  # run directory to score with
    lines: int = option(1_000_000, type=positive_int)  # lines in the input file
    bad_every: int = option(1000, type=positive_int)  # one bad line in this many (kinds in turn)
    huge_chars: int = option(200_000, type=positive_int)  # characters of each huge line
    seed: int = 0  # seed of the synthetic sentences
    max_batch: int = option(512, type=positive_int)  # emotag batch --max-batch
    progress_every: int = option(50_000, type=positive_int)  # emotag batch --progress-every
    sample_seconds: float = 0.5  # how often the child's memory is read
    # where the input and output files go; None = a temporary directory, removed after
    work_dir: str | None = None
    out: str = "benchmarks/results"  # where batch_scale.json and batch_scale.md are written


def bad_kind(number: int, bad_every: int) -> str | None:
    """The kind of bad line at 1-based line `number`, None for a good one."""
    if number % bad_every != bad_every // 2:
        return None
    return BAD_KINDS[(number // bad_every) % len(BAD_KINDS)]


def write_input(path: Path, config: BatchScaleConfig) -> dict[str, int]:
    """Writes the synthetic input file; returns the count of each kind of line."""
    rng = random.Random(config.seed)
    counts = dict.fromkeys(("good", *BAD_KINDS), 0)
    huge = b"so much " * (config.huge_chars // 8)
    with open(path, "wb") as out:
        for number in range(1, config.lines + 1):
            kind = bad_kind(number, config.bad_every)
            text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            text = (text + rng.choice(TAILS)).encode()
            head = f"t{number}\t".encode()
            if kind == "invalid-utf8":
                text = b"bad \xff\xfe\xc3 bytes " + text
            elif kind in ("empty", "huge"):
                text = b"" if kind == "empty" else huge
            out.write((text if kind == "no-id" else head + text) + b"\n")
            counts[kind or "good"] += 1
    return counts


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants, from /proc (MB)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces
            children.setdefault(parent, []).append(int(entry.name))
    total_kb, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


def run_job(command: list[str], log_path: Path, every: float) -> tuple[float, list]:
    """Runs `command`, sampling its process tree's RSS; returns (wall s, [(t, MB)])."""
    samples, started = [], time.time()
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_file)
        while proc.poll() is None:
            samples.append((time.time() - started, tree_rss_mb(proc.pid)))
            time.sleep(every)
    wall = time.time() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}; see {log_path}")
    return wall, samples


def progress_points(log_text: str, started: float, samples: list) -> list[dict]:
    """(lines done, seconds, RSS MB then) at each progress line of the job's log."""
    points = []
    for line in log_text.splitlines():
        match = PROGRESS.match(line)
        if not match:
            continue
        stamp, millis = match.group(1).split(",")
        seconds = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
        seconds -= started
        rss = min(samples, key=lambda sample: abs(sample[0] - seconds))[1]
        points.append({"lines": int(match.group(2).replace(",", "")), "s": seconds, "rss_mb": rss})
    return points


def check_output(path: Path, config: BatchScaleConfig) -> dict[str, int]:
    """Reads the records back (streaming) against the input's design.

    Raises:
        AssertionError: On a missing, extra or misplaced record, a wrong id, or an error
            on a line that should have none (or none where it should).
    """
    count = errors = 0
    with open(path, encoding="utf-8") as records:
        for count, text in enumerate(records, start=1):
            record = json.loads(text)
            kind = bad_kind(count, config.bad_every)
            assert record["line"] == count, f"record {count} has line {record['line']}"
            want_id = None if kind == "no-id" else f"t{count}"
            assert record["id"] == want_id, f"line {count}: id {record['id']!r}"
            assert ("error" in record) == (kind == "no-id"), f"line {count}: {record}"
            errors += "error" in record
    assert count == config.lines, f"{count} records for {config.lines} lines"
    return {"records": count, "errors": errors}


def measure(config: BatchScaleConfig, work: Path) -> dict:
    """Writes the input, runs the job, checks the output; returns the figures."""
    source, output, job_log = work / "texts.tsv", work / "predictions.jsonl", work / "batch.log"
    log.info("writing %s lines to %s", f"{config.lines:,}", source)
    counts = write_input(source, config)
    command = [sys.executable, "-m", "emotag", "batch", "--model", config.model,
               "--input", str(source), "--output", str(output), "--with-ids",
               "--max-batch", str(config.max_batch),
               "--progress-every", str(config.progress_every)]  # fmt: skip
    load_before = os.getloadavg()[0]
    log.info("running: %s", " ".join(command))
    started = time.time()
    wall, samples = run_job(command, job_log, config.sample_seconds)
    points = progress_points(job_log.read_text(), started, samples)
    log.info("checking %s", output)
    checked = check_output(output, config)
    scoring = points[-1]["s"] - points[0]["s"] if len(points) > 1 else None
    return {
        "lines": config.lines, "line_kinds": counts, "input_mb": source.stat().st_size / 2**20,
        "output_mb": output.stat().st_size / 2**20, **checked,
        "wall_s": wall, "texts_per_s": config.lines / wall,
        "scoring_texts_per_s": (points[-1]["lines"] - points[0]["lines"]) / scoring
        if scoring else None,
        "peak_rss_mb": max(rss for _, rss in samples),
        "largest_child_max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "progress": points, "rss_samples": samples[:: max(1, len(samples) // 200)],
        "load_average": [load_before, os.getloadavg()[0]], "cpus": os.cpu_count(),
    }  # fmt: skip


def markdown(figures: dict, command: str) -> str:
    """The result table of batch_scale.md."""
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in figures["line_kinds"].items())
    progress = "\n".join(
        f"| {p['lines']:,} | {p['s']:.0f} | {p['rss_mb']:.0f} |" for p in figures["progress"]
    )
    scoring = figures["scoring_texts_per_s"]
    return f"""# Batch scoring at scale

Command: `{command}`

`emotag batch --with-ids` (Apache Beam RunInference, local FnApiRunner, one worker
process) on {figures['lines']:,} lines ({kinds}); input {figures['input_mb']:.0f} MB,
output {figures['output_mb']:.0f} MB. Machine: {figures['cpus']} CPUs shared with other
jobs, 1-minute load average {figures['load_average'][0]:.1f} before, \
{figures['load_average'][1]:.1f} after.
The output was read back: {figures['records']:,} records, one per line, in input order,
each with its id; {figures['errors']:,} with an error (the lines without an id, and only
those).

| figure | value |
| --- | ---: |
| wall time (start-up, model load, scoring, merge) | {figures['wall_s']:.0f} s |
| texts/s over the wall time | {figures['texts_per_s']:,.0f} |
| texts/s while scoring (between the first and last progress lines) | \
{f"{scoring:,.0f}" if scoring else "n/a"} |
| peak RSS of the process tree (VmRSS sampled) | {figures['peak_rss_mb']:,.0f} MB |
| largest process's max RSS (getrusage) | {figures['largest_child_max_rss_mb']:,.0f} MB |

Memory against lines done (the job's progress lines):

| lines scored | s | RSS MB |
| ---: | ---: | ---: |
{progress}
"""


def write_report(out: Path, figures: dict, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch_scale.json").write_text(json.dumps({"command": command, **figures}, indent=1))
    (out / "batch_scale.md").write_text(markdown(figures, command))
    log.info("wrote %s and %s", out / "batch_scale.json", out / "batch_scale.md")


def main(argv=None) -> int:
    setup_logging()
    config = parse_config(BatchScaleConfig, argv, description=__doc__)
    with tempfile.TemporaryDirectory(prefix="batch-scale-") as scratch:
        work = Path(config.work_dir or scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures = measure(config, work)
    command = command_line("benchmarks/batch_scale.py", argv)
    write_report(Path(config.out), figures, command)
    log.info("%s texts/s, peak RSS %.0f MB", f"{figures['texts_per_s']:,.0f}",
             figures["peak_rss_mb"])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
