"""The README and docs/: links and anchors resolve, the front page stays short, its commands run.

Anchors follow GitHub's slug rule: lowercase, drop every character but letters, digits, spaces,
hyphens and underscores, spaces to hyphens, and a repeated heading gets ``-1``, ``-2``...
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 200
# `lookalike <group> <command>`: the subcommands that take a subcommand of their own.
COMMAND_GROUPS = frozenset({"index"})

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the text may hold one level of brackets.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(].*?)?\s*\)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
COMMAND = re.compile(r"\blookalike((?:[ \t]+[a-z][a-z0-9-]*)+)")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def file_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def split_fenced(text: str) -> tuple[list[str], list[str]]:
    """The lines outside fenced code blocks, and those inside them (fence lines left out)."""
    outside: list[str] = []
    inside: list[str] = []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif fenced:
            inside.append(line)
        else:
            outside.append(line)
    return outside, inside


def slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading's anchor in a Markdown file, numbered as GitHub numbers repeats."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    outside, _ = split_fenced(path.read_text(encoding="utf-8"))
    for line in outside:
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(path: Path) -> list[str]:
    """The targets of the links and images outside code: fenced blocks and inline spans."""
    outside, _ = split_fenced(path.read_text(encoding="utf-8"))
    targets: list[str] = []
    for line in outside:
        targets.extend(LINK.findall(INLINE_CODE.sub("", line)))
    return targets


def broken(path: Path, target: str) -> str | None:
    """Why a link from ``path`` to ``target`` does not resolve, or None when it does."""
    if EXTERNAL.match(target):
        return None  # http(s), mailto: not checked here
    file_part, _, anchor = target.partition("#")
    dest = (path.parent / file_part).resolve() if file_part else path
    if not dest.exists():
        return f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}"
    if anchor:
        if dest.suffix != ".md" or dest.is_dir():
            return f"{target}: an anchor into a file that is not Markdown"
        if anchor not in anchors(dest):
            return f"{target}: no heading #{anchor} in {file_id(dest)}"
    return None


@pytest.mark.parametrize("path", markdown_files(), ids=file_id)
def test_links_and_anchors_resolve(path: Path) -> None:
    problems = [why for target in links(path) if (why := broken(path, target))]
    assert not problems, f"{file_id(path)} has broken links:\n" + "\n".join(problems)


def test_docs_pages_exist_and_start_with_a_title() -> None:
    pages = sorted(DOCS.glob("*.md"))
    assert pages, "no Markdown pages under docs/"
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        assert lines and lines[0].startswith("# "), f"{file_id(page)} must start with '# Title'"
        summary = next((line for line in lines[1:] if line.strip()), "")
        assert summary and not summary.startswith("#"), f"{file_id(page)}: no summary line"


def test_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_readme_links_every_docs_page() -> None:
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for target in links(README)
        if not EXTERNAL.match(target) and target.partition("#")[0]
    }
    missing = [file_id(page) for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not missing, f"README.md does not link: {', '.join(missing)}"


def readme_commands() -> list[tuple[str, ...]]:
    """The distinct `lookalike <subcommand>` named in README.md's code blocks and backticks."""
    text = README.read_text(encoding="utf-8")
    outside, inside = split_fenced(text)
    code = inside + [span for line in outside for _, span in INLINE_CODE.findall(line)]
    commands: set[tuple[str, ...]] = set()
    for line in code:
        for match in COMMAND.finditer(line):
            words = match.group(1).split()
            size = 2 if words[0] in COMMAND_GROUPS and len(words) > 1 else 1
            commands.add(tuple(words[:size]))
    return sorted(commands)


def test_readme_names_commands() -> None:
    assert ("run",) in readme_commands()


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_readme_command_help(words: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *words, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"lookalike {' '.join(words)} --help:\n{done.stderr}"


@pytest.mark.parametrize("target", ["run", "test"])
def test_make_targets(target: str) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        [make, "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"make -n {target}:\n{done.stderr}"
