"""RunWriter: finished run directories get the mode a plain mkdir gives (issue 15, defect 6).

Kill-safety of RunWriter is tested in test_fault_tolerance.py."""

from __future__ import annotations

import os
import stat

import pytest

from emotag.runs.writer import RunWriter


@pytest.fixture
def umask():
    """Sets the process umask for one test, restoring it afterwards."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(
    "mask, expected", [(0o022, 0o755), (0o027, 0o750), (0o002, 0o775)], ids=oct
)
def test_a_finished_run_has_the_mode_of_a_plain_mkdir(tmp_path, umask, mask, expected):
    umask(mask)
    with RunWriter(tmp_path / "artifacts", "run") as run:
        assert mode(run.path) == expected  # also while being written
        (run.path / "saved_model").mkdir()
        run.write_json("info.json", {"ok": True})
    final = tmp_path / "artifacts" / "run"
    assert mode(final) == expected == 0o777 & ~mask  # not mkdtemp's 0o700
    assert mode(final / "saved_model") == expected
    with RunWriter(tmp_path / "artifacts", "run") as run:  # replacing a finished run
        run.write_json("info.json", {"again": True})
    assert mode(final) == expected
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == ["run"]


def test_temp_dir_names_stay_unique_and_carry_the_pid(tmp_path):
    writers = [RunWriter(tmp_path, "run") for _ in range(3)]
    paths = [writer.__enter__().path for writer in writers]
    assert len(set(paths)) == 3
    assert all(p.name.startswith(f".run.tmp-pid{os.getpid()}-") for p in paths)
    for writer in writers:
        writer.__exit__(ValueError, ValueError("abandoned"), None)
    assert list(tmp_path.iterdir()) == []
