"""Run `emotag train bilstm`, or a bare `RunWriter`, and SIGKILL it at a named point.

    python tests/fault_injection.py after-epoch:2 [train flags]   # train, killed
    python tests/fault_injection.py none [train flags]            # train, not killed
    python tests/fault_injection.py swap-writer OUTPUT_DIR NAME   # RunWriter only

A test-only hook: the trainer has no kill switch; this script wraps one package
function in its own process so that the process kills itself (SIGKILL: no `finally`,
no `__exit__`, like the OOM killer or a preempted machine) at a chosen point:

    after-epoch:N  once epoch N's backup is committed (`TrainingBackup.on_epoch_end`)
    export         once the SavedModel is in the unfinished run, before model.keras
    swap           between `RunWriter`'s two renames: the previous run moved aside,
                   the new one not yet in its place
    none           no kill (a reference run in the same process setup)

`swap-writer` writes one `ok.json` run with a `RunWriter` and is killed at `swap`.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def kill() -> None:
    sys.stderr.write(f"fault_injection: SIGKILL pid {os.getpid()}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_epoch(number: int) -> None:
    from emotag.training.backup import TrainingBackup

    original = TrainingBackup.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == number:
            kill()

    TrainingBackup.on_epoch_end = on_epoch_end


def kill_after_export() -> None:
    import emotag.training.bilstm as trainer

    original = trainer.export_saved_model

    def export_saved_model(*args, **kwargs):
        original(*args, **kwargs)
        kill()

    trainer.export_saved_model = export_saved_model


def kill_mid_swap() -> None:
    original = Path.rename

    def rename(self, target):
        result = original(self, target)
        if ".old-pid" in Path(target).parent.name:  # the earlier run was just moved aside
            kill()
        return result

    Path.rename = rename


def main(argv: list[str]) -> int:
    point, rest = argv[0], argv[1:]
    if point == "swap-writer":  # no TensorFlow in this process
        from emotag.runs.writer import RunWriter

        kill_mid_swap()
        with RunWriter(rest[0], rest[1]) as run:
            run.write_json("ok.json", {"pid": os.getpid()})
        return 0
    from emotag.config import quiet_tensorflow

    quiet_tensorflow()  # as the scripts do, before the hooks import TensorFlow
    if point.startswith("after-epoch:"):
        kill_after_epoch(int(point.split(":", 1)[1]))
    elif point == "export":
        kill_after_export()
    elif point == "swap":
        kill_mid_swap()
    elif point != "none":
        raise SystemExit(f"unknown kill point {point!r}")
    from emotag.cli import run_script

    return run_script("train bilstm", rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
