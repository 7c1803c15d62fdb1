"""`python -m ffedit.cli …` runs the `ffedit` command."""

import sys

from ffedit.cli import run

sys.exit(run())
