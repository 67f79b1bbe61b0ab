"""``python -m trajectories`` is the ``micromaser`` command."""

import sys

from .runs.cli import main

if __name__ == "__main__":
    sys.exit(main())
