"""The ending every benchmark shares: the command echo, the machine and date it ran on, the
JSON document and the Markdown section it publishes (docs/benchmarks.md).

A benchmark's section states the command that made it (every option, defaults included, so
that the command reproduces the run), the machine (CPU count, torch threads, load average:
other processes inflate CPU timings) and the date. `Stamp` carries those three; `publish`
prints a section and replaces it in a Markdown file. This module loads torch only when asked
to describe it, so the API load benchmark (an HTTP client) stays free of it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

NOT_OPTIONS = ("command", "benchmark", "func")
"""Namespace entries of `ffedit bench …` that are not options of the benchmark."""


@dataclass(frozen=True)
class Stamp:
    """What a benchmark section says about its run."""

    command: str
    machine: str
    date: str


def command_line(benchmark: str, args: argparse.Namespace, **resolved: Any) -> str:
    """`ffedit bench BENCHMARK --option value …` of every option in `args` (in the order the
    benchmark declares them), with `resolved` values replacing the parsed ones (a default
    the run resolved, e.g. the preset's resolution). None and False options are left out,
    True ones are bare flags; a seed range prints as START:COUNT, a name list as a,b,c."""
    values = {key: value for key, value in vars(args).items() if key not in NOT_OPTIONS}
    values.update(resolved)
    parts = ["ffedit", "bench", benchmark]
    for key, value in values.items():
        if value is None or value is False:
            continue
        parts.append("--" + key.replace("_", "-"))
        if value is not True:
            parts.append(_option_text(value))
    return " ".join(parts)


def _option_text(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return f"{value[0]}:{len(value)}"  # a seed range
    if isinstance(value, list):
        return shlex.quote(",".join(str(v) for v in value))
    if isinstance(value, float):
        return f"{value:g}"
    return shlex.quote(str(value))


def stamp(benchmark: str, args: argparse.Namespace, *, torch_threads=True, **resolved) -> Stamp:
    """The command, this machine and today's date of a run (see `command_line`)."""
    return Stamp(
        command_line(benchmark, args, **resolved),
        describe_machine(torch_threads),
        datetime.date.today().isoformat(),
    )


def describe_machine(torch_threads: bool = True) -> str:
    """OS, architecture, CPU count, torch threads (unless `torch_threads` is False: an HTTP
    client without torch) and the 1-minute load average, e.g. 'Linux x86_64, 2 CPUs, …'."""
    torch_part = ""
    if torch_threads:
        import torch

        torch_part = f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{torch_part}load {os.getloadavg()[0]:.1f}"
    )


def describe_device(device: torch.device) -> str:
    """'cpu', or 'cuda (<GPU name>)'."""
    if device.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def json_ready(value: Any) -> Any:
    """`value` with every NaN float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def write_json(path: str, document: Any, indent: int = 1, strict: bool = True) -> None:
    """Write `document` as JSON to `path` atomically (`strict`: NaN becomes null, with a
    final newline; otherwise as json.dumps writes it)."""
    from ffedit.io.files import atomic_write_bytes

    if strict:
        text = json.dumps(json_ready(document), indent=indent, allow_nan=False) + "\n"
    else:
        text = json.dumps(document, indent=indent)
    atomic_write_bytes(path, text.encode())


def publish(body: str, markdown: str | None, title: str, echo: bool = True) -> None:
    """Print a benchmark's Markdown section (if `echo`) and, given a path, replace the
    section `title` of that Markdown file with it."""
    if echo:
        print(body)
    if markdown:
        from ffedit.io.markdown import write_markdown_section

        print(f"updated {write_markdown_section(markdown, title, body)}")
