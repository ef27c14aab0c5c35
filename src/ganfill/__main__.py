"""`python -m ganfill` runs the command line (torchrun uses this form)."""

import sys

from ganfill.cli import main

sys.exit(main())
