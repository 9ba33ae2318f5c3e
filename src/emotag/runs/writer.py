"""Run directories that appear whole or not at all."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shlex
import shutil
import sys
from pathlib import Path

log = logging.getLogger(__name__)


class RunWriter:
    """Context manager: write into a temporary sibling directory, rename on success.

    On an exception the temporary directory is removed and any earlier run of the
    same name is left untouched. An existing run is replaced only after the new one
    is complete (it is moved aside, the new one renamed in, then the old one deleted),
    and the finished run's path is logged at INFO.
    A process killed while writing (SIGKILL skips `__exit__`) leaves its temporary
    directory behind; each temporary name carries its writer's process id, and the
    next writer of the same run deletes those whose process is gone, never reusing one.
    A process killed between the two renames of a replacement leaves the earlier run
    in `.NAME.old-pid<pid>-*` and nothing at NAME: the next writer of that name (and
    `emotag.runs.layout.open_run`) puts it back (`restore_interrupted_swap`).

    Args:
        output_dir: parent directory of runs (created if needed).
        name: the run's directory name.

    Example:
    >>> with RunWriter("artifacts", "demo") as run:
    ...     run.write_json("info.json", {"ok": True})
    """

    def __init__(self, output_dir: str | Path, name: str):
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"invalid run name {name!r}")
        self.output_dir = Path(output_dir)
        self.final_path = self.output_dir / name
        self.path: Path | None = None

    def __enter__(self) -> RunWriter:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        restore_interrupted_swap(self.final_path)
        for stale in self.stale_temp_dirs():
            shutil.rmtree(stale, ignore_errors=True)
        self.path = make_dir(self.output_dir, f".{self.final_path.name}.tmp-pid{os.getpid()}-")
        return self

    def stale_temp_dirs(self) -> list[Path]:
        """Temporary directories of this run left by writers that no longer run."""
        stale = []
        for path in self.output_dir.glob(f".{self.final_path.name}.tmp-pid*-*"):
            match = re.fullmatch(r".*\.tmp-pid(\d+)-[^-]*", path.name)
            if match and not _process_alive(int(match.group(1))):
                stale.append(path)
        return stale

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return False
        old = None
        if self.final_path.exists():
            old = make_dir(self.output_dir, f".{self.final_path.name}.old-pid{os.getpid()}-")
            self.final_path.rename(old / "run")  # a kill from here to the next rename: see above
        self.path.rename(self.final_path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.path = self.final_path
        log.info("run written to %s", self.final_path)
        return False

    def write_json(self, name: str, payload) -> Path:
        target = self.path / name
        target.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
        return target


def restore_interrupted_swap(final_path: str | Path) -> Path | None:
    """Puts back a run hidden by a writer killed between its two renames.

    Only directories `.NAME.old-pid<pid>-*` whose process is gone are considered: with
    nothing at `final_path`, the newest one's run is renamed back; the others (and all of
    them when `final_path` exists: a replacement that finished but was not cleaned up)
    are deleted. Directories of older writers without a pid in their name are left alone.

    Args:
        final_path: the run directory's path.

    Returns:
        `final_path` when a run was restored, else None.
    """
    final_path = Path(final_path)
    leftovers = [
        path
        for path in final_path.parent.glob(f".{final_path.name}.old-pid*-*")
        if (match := re.fullmatch(r".*\.old-pid(\d+)-[^-]*", path.name))
        and not _process_alive(int(match.group(1)))
    ]
    restored = None
    candidates = [path for path in leftovers if (path / "run").is_dir()]
    if candidates and not final_path.exists():
        newest = max(candidates, key=lambda path: path.stat().st_mtime)
        try:
            (newest / "run").rename(final_path)
        except OSError as err:  # another process restored it first, or a read-only store
            log.warning("could not restore %s from %s: %s", final_path, newest, err)
            return None
        log.warning("restored %s, left in %s by a writer killed while replacing it",
                    final_path, newest.name)  # fmt: skip
        restored = final_path
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return restored


def make_dir(parent: Path, prefix: str) -> Path:
    """Creates a new directory `parent/<prefix><random hex>`, as `tempfile.mkdtemp` does,
    but with the mode a plain mkdir gives (0o777 minus the umask), not mkdtemp's 0o700.

    The temporary directory becomes the finished run by a rename, so its mode is the
    run's: owner-only runs could not be served from another account (a TF Serving
    container, a shared model store). The kernel applies the umask, so it is never read
    (reading it means setting it, process-wide).

    Args:
        parent: an existing directory.
        prefix: the name's start; the random part has no "-" (names are parsed by it).

    Returns:
        The new directory.
    """
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free name {prefix}* in {parent}")


def try_it_command(run_dir: str | Path, text: str = "Thank you so much!") -> str:
    """The command line that tags `text` with a finished run, for a trainer's last log line.

    `emotag` when it is on PATH; otherwise the `emotag` script beside this interpreter (a
    virtual environment that is not activated, e.g. `.venv/bin/emotag`), else `python -m
    emotag`, so the line works as pasted.

    Returns:
        e.g. `emotag predict --model artifacts/bilstm-s42 'Thank you so much!'`
    """
    if shutil.which("emotag"):
        program = "emotag"
    else:
        script = Path(sys.executable).parent / "emotag"
        program = _relative(script) if script.exists() else f"{_relative(sys.executable)} -m emotag"
    return f"{program} predict --model {shlex.quote(str(run_dir))} {shlex.quote(text)}"


def _relative(path: str | Path) -> str:
    """`path` relative to the working directory when inside it, shell-quoted."""
    path = Path(path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())
    return shlex.quote(str(path))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
