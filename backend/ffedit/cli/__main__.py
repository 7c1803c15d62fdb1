"""`python -m ffedit.cli …` runs the `ffedit` command."""

import sys

from ffedit.cli import main

sys.exit(main())
