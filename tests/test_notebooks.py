"""Execute the notebooks top to bottom against the tiny run and the tiny data."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Outputs name runs and repository-relative paths, never where a machine keeps them.
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|root|home|Users|opt|usr)/")


def output_text(nb) -> str:
    """Every text of every output: streams, tracebacks, plain, HTML and Markdown data."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts += [out.get("text", ""), *out.get("traceback", [])]
            data = out.get("data", {})
            parts += [data.get(kind, "") for kind in ("text/plain", "text/html", "text/markdown")]
    return "\n".join("".join(p) if isinstance(p, list) else p for p in parts)


def test_notebooks_are_committed_without_errors_and_small():
    import nbformat

    assert [p.name for p in NOTEBOOKS] == [
        "01_data_exploration.ipynb", "02_model_comparison.ipynb", "03_error_analysis.ipynb",
    ]  # fmt: skip
    for path in NOTEBOOKS:
        assert path.stat().st_size < 1_000_000, path.name
        nb = nbformat.read(path, as_version=4)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, path.name
        assert not MACHINE_PATH.findall(output_text(nb)), path.name
        assert "sys.path" not in "".join(c.source for c in nb.cells), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tiny_run_dir, tiny_data_dir, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("GOEMOTIONS_DIR", str(tiny_data_dir))
    monkeypatch.setenv("EMOTAG_ARTIFACTS", str(tiny_run_dir.parent))
    monkeypatch.setenv("EMOTAG_RUN", tiny_run_dir.name)
    monkeypatch.setenv("EMOTAG_NB_LIMIT", "40")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    print(f"\n{path.name} executed in {time.perf_counter() - started:.1f} s")
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "every notebook shows at least one figure"
    text = "".join(o.get("text", "") for o in outputs)
    everything = output_text(nb)
    for machine_path in (str(tiny_run_dir.parent), str(tiny_data_dir), str(ROOT)):
        assert machine_path not in everything
    if path.stem.startswith("02"):
        assert "1 run(s)" in text
    if path.stem.startswith("03"):
        html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
        assert "emotag-heatmap" in html or "No examples" in html
