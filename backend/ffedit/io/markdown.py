"""Sections of Markdown documents (docs/benchmarks.md): read one, replace one, atomically.

A section is a level-2 heading `## Title` and everything up to the next level-2 heading.
Benchmark commands own one section each and rewrite only that section; the rest of the file,
including sections written by other commands, is kept byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

from ffedit.io.files import atomic_write_bytes


def _section_bounds(lines: list[str], title: str) -> tuple[int, int] | None:
    heading = f"## {title}"
    for start, line in enumerate(lines):
        if line.rstrip() == heading:
            end = next(
                (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                len(lines),
            )
            return start, end
    return None


def read_markdown_section(path: str | os.PathLike, title: str) -> str | None:
    """The body (text after the heading line) of section `## title`, or None if absent."""
    target = Path(path)
    if not target.exists():
        return None
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    bounds = _section_bounds(lines, title)
    return None if bounds is None else "".join(lines[bounds[0] + 1 : bounds[1]])


def write_markdown_section(
    path: str | os.PathLike, title: str, body: str, document_title: str = "Benchmarks"
) -> Path:
    """Replace (or append) section `## title` with `body`; a missing file is created with
    a `# document_title` heading. Written atomically; returns the path."""
    target = Path(path)
    text = target.read_text(encoding="utf-8") if target.exists() else f"# {document_title}\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    section = [f"## {title}\n", "\n", body.rstrip("\n") + "\n"]
    bounds = _section_bounds(lines, title)
    if bounds is None:
        lines += ["\n", *section]
    else:
        following = ["\n"] if bounds[1] < len(lines) else []
        lines[bounds[0] : bounds[1]] = section + following
    return atomic_write_bytes(target, "".join(lines).encode("utf-8"))
