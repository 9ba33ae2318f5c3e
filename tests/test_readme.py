"""The README and docs/*.md against the code: commands, flags, modules, links."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import shlex
from pathlib import Path

import pytest

from emotag import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "emotag"
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]  # a new page is checked unasked


def section(text: str, heading: str) -> str:
    """The body of the `## heading` section (up to the next `## ` heading)."""
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def bash_lines(text: str) -> list[str]:
    """Lines of the ```bash blocks, with `\\` continuations joined."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        lines += block.replace("\\\n", " ").splitlines()
    return lines


def emotag_calls(line: str) -> list[list[str]]:
    """The argument lists of every `emotag ...` call on a shell line (comments dropped)."""
    calls = []
    for segment in re.split(r"\s[|&]+\s", line):
        words = shlex.split(segment, comments=True)
        starts = [i for i, w in enumerate(words) if w == "emotag" or w.endswith("/bin/emotag")]
        if starts:
            args = words[starts[0] + 1 :]
            for stop in ("--", ">", ">>"):  # Beam's options, redirections
                args = args[: args.index(stop)] if stop in args else args
            calls.append(args)
    return calls


def help_text(command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        cli.main([*command.split(), "--help"])
    assert exit_info.value.code in (0, None), command
    return out.getvalue()


def test_fresh_machine_commands_work_outside_the_development_layout():
    text = README.read_text(encoding="utf-8")
    assert "../shared" not in text
    quickstart = bash_lines(section(text, "Two commands for a fresh machine"))
    assert quickstart[:2] == [
        "bash setup.sh && .venv/bin/emotag train bilstm",
        "bash setup.sh && .venv/bin/python -m pytest",
    ]
    # The test command is the one CI runs after pointing GOEMOTIONS_DIR at its copy.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash setup.sh" in ci and ci.rstrip().endswith(".venv/bin/python -m pytest")


def test_commands_table_lists_every_command_with_its_script():
    rows = re.findall(
        r"^\| `emotag ([a-z -]+)` \| (?:`([\w/.]+)`)? *\|", section(
            README.read_text(encoding="utf-8"), "Commands"), re.M,
    )  # fmt: skip
    assert sorted(name for name, _ in rows) == sorted(cli.COMMANDS)
    scripts = {}
    for path in [*ROOT.glob("src/*.py"), *ROOT.glob("benchmarks/*.py")]:
        match = re.search(r'run_script\("([^"]+)"\)', path.read_text(encoding="utf-8"))
        if match:
            scripts[path.relative_to(ROOT).as_posix()] = match.group(1)
    assert {script: name for name, script in rows if script} == scripts


def test_documented_emotag_calls_use_existing_commands_and_flags():
    calls = [c for doc in DOCS for line in bash_lines(doc.read_text("utf-8"))
             for c in emotag_calls(line)]  # fmt: skip
    assert len(calls) > 20  # the parsing found the examples
    helps: dict[str, str] = {}
    for args in calls:
        command, rest = cli.resolve(args)
        if command not in helps:
            helps[command] = help_text(command)
        for flag in (a.split("=")[0] for a in rest if a.startswith("--")):
            assert re.search(rf"{flag}\b", helps[command]), f"emotag {command} {flag}"


def test_emotag_calls_parser_finds_pipes_flags_and_separator():
    assert emotag_calls("cat a.txt | emotag predict --model r --threshold 0.4  # note") == [
        ["predict", "--model", "r", "--threshold", "0.4"]
    ]
    assert emotag_calls(".venv/bin/emotag batch --model r -- --runner X > o") == [
        ["batch", "--model", "r"]
    ]
    assert emotag_calls("bash setup.sh && .venv/bin/python -m pytest") == []


def stage_map() -> str:
    """The How-it-works list of subpackages, up to the import rule."""
    text = section(README.read_text(encoding="utf-8"), "How it works")
    return text[: text.index("The import rule")]


def test_stage_map_names_every_subpackage_and_only_existing_modules():
    text = stage_map()
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages <= set(re.findall(r"`(\w+)/`", text))
    missing = []
    for bullet in re.split(r"\n- ", text)[1:]:
        folder = PACKAGE
        for token in re.findall(r"`([\w./]+)`", bullet):
            if token.endswith("/") and (PACKAGE / token).is_dir():
                folder = PACKAGE / token
            elif token.endswith((".py", "/")) and not any(
                (base / token).exists() for base in (folder, PACKAGE, ROOT)
            ):
                missing.append(f"{folder.relative_to(PACKAGE)}/{token}")
    assert not missing


def test_docs_name_only_existing_paths_and_modules():
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for path in re.findall(r"`(emotag/[\w/]+\.py)`", text):
            if not (ROOT / "src" / path).is_file():
                missing.append(f"{doc.name}: {path}")
        for path in re.findall(r"`((?:src|tests|benchmarks|docs)/[\w/.-]+)`", text):
            if not (ROOT / path).exists():
                missing.append(f"{doc.name}: {path}")
        for dotted in re.findall(r"`(emotag(?:\.\w+)+)", text):
            if not dotted_exists(dotted):
                missing.append(f"{doc.name}: {dotted}")
    assert not missing


def dotted_exists(dotted: str) -> bool:
    """Whether `emotag.a.b[.name]` is a module, or a name defined at a module's top level."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = PACKAGE.parent.joinpath(*parts[:cut])
        source = base.with_suffix(".py")
        source = source if source.is_file() else base / "__init__.py"
        if source.is_file():
            rest = parts[cut:]
            if not rest:
                return True
            pattern = rf"^(?:def|class) {rest[0]}\b|^{rest[0]}\b.*="
            return len(rest) == 1 and bool(re.search(pattern, source.read_text("utf-8"), re.M))
    return False


def test_dotted_exists_tells_modules_and_names_from_typos():
    assert dotted_exists("emotag.serving.predictor")
    assert dotted_exists("emotag.serving.predictor.configure_threads")
    assert dotted_exists("emotag.data")
    assert not dotted_exists("emotag.serving.predictr")
    assert not dotted_exists("emotag.serving.predictor.no_such_function")


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_heading_anchor_follows_github():
    assert heading_anchor("The soft term's form (2026-12-03)") == "the-soft-terms-form-2026-12-03"
    assert heading_anchor("Distillation: the BiLSTM taught by the ensemble") == (
        "distillation-the-bilstm-taught-by-the-ensemble"
    )


def test_relative_links_reach_existing_files_and_headings():
    broken = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            linked = (doc.parent / path).resolve() if path else doc
            if not linked.exists():
                broken.append(f"{doc.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
                broken.append(f"{doc.name}: {target}")
    assert not broken


@functools.cache
def heading_anchors(path: Path) -> frozenset[str]:
    """The anchors of a Markdown file's headings (lines in code blocks are not headings)."""
    code_free = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.S)
    return frozenset(heading_anchor(h) for h in re.findall(r"^#+ (.+)$", code_free, re.M))
