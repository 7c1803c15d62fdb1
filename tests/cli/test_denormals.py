"""Denormals flushed in every torch thread by the `ffedit` command (`ffedit.cli.run`); run
in subprocesses: the setting is per thread and inherited, so each case needs a fresh process."""

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86 FTZ/DAZ")

HALVE_DENORMALS = """
import torch

def count_nonzero_halved_denormals(args=None):
    torch.set_num_threads(2)
    halved = torch.full((1_000_000,), 1e-39) * 0.5  # split across both threads
    print(int((halved != 0).sum()))
"""

AS_A_SUBCOMMAND = """
import ffedit.cli

def register_probe(subparsers):
    subparsers.add_parser("probe").set_defaults(func=count_nonzero_halved_denormals)

ffedit.cli._registrars = lambda: [register_probe]
ffedit.cli.run(["probe"])
"""


def _run(code: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", HALVE_DENORMALS + code], capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip())


def test_without_flushing_halved_denormals_stay_nonzero():
    """The control: the arithmetic keeps denormals unless told otherwise."""
    assert _run("count_nonzero_halved_denormals()") == 1_000_000


def test_every_ffedit_subcommand_runs_with_denormals_flushed_in_all_threads():
    assert _run(AS_A_SUBCOMMAND) == 0


def test_calling_main_in_process_leaves_the_callers_setting_alone():
    """Tests and other in-process callers of `main` keep denormals (hypothesis checks this)."""
    assert _run(AS_A_SUBCOMMAND.replace(".run(", ".main(")) == 1_000_000
