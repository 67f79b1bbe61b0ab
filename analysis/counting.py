"""Counting-statistics figures (issue 6): ``python -m analysis.counting [RESULT.h5]``.

The figure code lives in :mod:`trajectories.counting_figures` so that the installed
``micromaser counts`` command can use it; this script is its entry point in the analysis
folder, next to the other studies.
"""

from __future__ import annotations

import sys

from trajectories.counting_figures import *  # noqa: F403
from trajectories.counting_figures import main

if __name__ == "__main__":
    sys.exit(main())
