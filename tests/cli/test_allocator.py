"""glibc malloc tuning at `ffedit` start-up (run in subprocesses: it is process-wide)."""

import os
import platform
import subprocess
import sys

import pytest

from ffedit.cli.allocator import USER_SETTINGS

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)

TUNE = "from ffedit.cli.allocator import tune_glibc_malloc; print(tune_glibc_malloc())"


def _tune(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", TUNE], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_glibc_accepts_every_setting():
    """mallopt answers 0 to a parameter or value it does not take."""
    env = dict(os.environ)
    for name in USER_SETTINGS:
        env.pop(name, None)
    assert _tune(env) == "True"


def test_the_users_own_malloc_settings_win():
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="131072")
    assert _tune(env) == "False"
