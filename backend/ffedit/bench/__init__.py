"""Every `ffedit bench …`: quality and speed benchmarks that write docs/benchmarks.md.

One module per benchmark, each owning its measurement, its Markdown section, its command
line arguments (`add_arguments`) and its run (`run`):

- `render`: latency of one render of a preset (random weights), with and without SR;
- `synthface`: population statistics of the procedural face world and its render time;
- `generator`: fidelity of a distilled generator against its synthface teacher, and the
  latency of the renders the app serves;
- `layouts`: few-shot layout quality (adapters trained on N samples) and its ablations;
- `edits`: mask-driven edits against synthface's exact edits;
- `api`: a loopback load run of the served API (an HTTP client: no torch, no service);
- `busy`: the served API while layout trainings and an export run as jobs;
- `invert`: photo inversion (detection, camera, w and W+) against synthface's exact faces;
- `page`: the real page in headless Chromium, timed from a user's actions to what it shows;
- `workers`: the web process with Redis and CPU workers: renders with one vs two workers
  while jobs run, and a worker killed mid-edit (an HTTP client and processes, as `api`).
- `mesh`: exported face meshes against synthface's exact surfaces, and their time.

`report` holds the ending they share: the command echo, machine and date, JSON and the
Markdown section. The benchmarks may import any core package, never `service` or `api`.
Registering them imports none of their modules: a benchmark's module (and torch) is loaded
when its subcommand is parsed or its help shown, so `ffedit --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    "render": "median latency of one deterministic render, with and without super-resolution",
    "synthface": "synthface population statistics (labels, pixel shares, accessories, box) "
    "and speed",
    "layouts": "few-shot layout quality (mIoU vs synthface ground truth), ablations, shots, time",
    "generator": "fidelity of a distilled generator against synthface, and its serving latency",
    "edits": "mask-driven edits vs synthface's exact edits: target IoU, 3D consistency, PSNR, time",
    "api": "loopback load run of the served API: concurrent clients rendering views",
    "busy": "the served API while two trainings and a long export run: health latency, 5xx",
    "invert": "photo inversion vs synthface: camera error, input-view and unseen-view scores, time",
    "page": "the real page in headless Chromium: first face, views, drag, edit, training, ZIP",
    "workers": "web process + Redis + CPU workers: renders with 1 vs 2 workers under jobs, "
    "kill -9 of a worker mid-edit",
    "mesh": "exported meshes vs synthface's exact surfaces: distance both ways, vertex labels, "
    "time",
}
"""Benchmark name (its module in this package) → one-line help."""


class _BenchmarkParser(argparse.ArgumentParser):
    """The parser of one benchmark, configured from its module on first use: the module's
    `DESCRIPTION`, `add_arguments(parser)` and `run(args)`."""

    def __init__(self, *args, module: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._module = module

    def _configure(self) -> None:
        if self._module is None:
            return
        module = importlib.import_module(self._module)
        self._module = None
        self.description = module.DESCRIPTION
        module.add_arguments(self)
        self.set_defaults(func=module.run)

    def parse_known_args(self, args=None, namespace=None):
        self._configure()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._configure()
        return super().format_help()


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add `ffedit bench` and one subcommand per benchmark."""
    parser = subparsers.add_parser(
        "bench",
        help="measure quality and speed; results can be written to docs/benchmarks.md",
    )
    benchmarks = parser.add_subparsers(
        dest="benchmark", required=True, parser_class=_BenchmarkParser
    )
    for name, help_text in BENCHMARKS.items():
        benchmarks.add_parser(name, help=help_text, module=f"{__name__}.{name}")
