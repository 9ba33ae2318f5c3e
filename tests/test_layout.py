"""The package layout's promises: stages import only from their own or earlier stages,
no import cycles, and serving a run loads nothing from training."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "emotag"

# The data path, in order. Side rooms share a rank and do not import each other;
# the command layer (cli, commands, benchmarks) may import anything.
STAGES = {
    "__init__": 0, "config": 0,
    "data": 1, "text": 2, "embeddings": 3, "models": 4, "runs": 5,
    "evaluation": 6, "training": 7, "serving": 8,
    "app": 9, "audit": 9, "augment": 9, "analysis": 9,
    "distill": 10,  # teaches the trainer (training) with served runs (serving), augments
    "commands": 11, "benchmarks": 11, "cli": 11, "__main__": 11,
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> set[str]:
    """Every emotag module `path` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "emotag"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "emotag":
                continue
            for alias in node.names:  # `from emotag.x import y` may name a module y
                sub = f"{node.module}.{alias.name}"
                found.add(sub if module_path(sub) else node.module)
    return found


def module_path(module: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_subpackage_has_a_rank():
    stages = {stage_of(m) for m in import_graph()}
    assert stages <= set(STAGES), f"add {stages - set(STAGES)} to STAGES"


def test_modules_import_only_their_own_or_earlier_stages():
    wrong = []
    for module, targets in import_graph().items():
        src = stage_of(module)
        for target in targets:
            dst = stage_of(target)
            if dst != src and STAGES[dst] >= STAGES[src] and STAGES[src] < 11:
                wrong.append(f"{module} ({src}) imports {target} ({dst})")
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles():
    graph = import_graph()
    # A package's __init__ importing its own modules is not a cycle of the code.
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    assert find_cycle(graph) is None


def loaded_modules_after_predicting(run_dir: Path) -> list[str]:
    script = (
        "import json, sys\n"
        "from emotag.serving.predictor import Predictor\n"
        "p = Predictor.load(sys.argv[1])\n"
        "p.predict(['thanks so much!', 'why?'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(run_dir)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.slow
def test_serving_a_bilstm_run_loads_no_training_code(tiny_run_dir):
    modules = loaded_modules_after_predicting(tiny_run_dir)
    assert "emotag.serving.predictor" in modules  # the check ran the real path
    assert not [m for m in modules if m.startswith("emotag.training")]
    # TensorFlow itself loads Keras (and Keras its scikit-learn wrapper), so those are
    # not the project's doing; the project's own heavy training imports must not appear.
    assert not [m for m in modules if m.startswith(("keras_hub", "gensim", "emotag.evaluation"))]
