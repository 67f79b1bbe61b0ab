"""Counting-statistics figures (issue 6): ``python -m analysis.counting [RESULT.h5]``.

The figure code lives in :mod:`trajectories.plot.counting` so that the installed
``micromaser counts`` command can use it; this script is its entry point in the analysis
folder, next to the other studies.
"""

from __future__ import annotations

import sys

from trajectories.plot.counting import *  # noqa: F403
from trajectories.plot.counting import main

if __name__ == "__main__":
    sys.exit(main())
