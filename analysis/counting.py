"""Counting-statistics figures: ``python -m analysis.counting [RESULT.h5]``.

    python -m analysis.counting [RESULT.h5] [-o FOLDER] [--format png pdf]

With a result file (``micromaser run`` output) the figures are made from its ensemble, as
``micromaser counts RESULT.h5`` does; without one, a fresh small run (Fig. 5 model at N = 30,
3000 trajectories of 200 collisions, every collision recorded, jump log on) is made first.
The figures and their meaning: :mod:`trajectories.plot.counting`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import trajectories as tj
from trajectories.plot.counting import make_figures
from trajectories.runs.cli import counts_command


def fresh_run(
    *, trajectories: int = 3000, collisions: int = 200, seed: int = 1, n_jobs: int = 1
) -> tj.EnsembleResult:
    """A small run for the figures: the Fig. 5 model at N = 30, every collision recorded.

    Jump log capacity 400 per trajectory (about 4x the mean number of jumps).
    """
    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30
    )
    return tj.simulate(
        model,
        collisions,
        trajectories,
        seed=seed,
        n_jobs=n_jobs,
        checkpoints=range(collisions + 1),
        rho_checkpoints="last",
        max_jumps=400,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: figures from a result file, or from a fresh small run."""
    ap = argparse.ArgumentParser(
        prog="python -m analysis.counting",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("result", nargs="?", help="result file (.h5); default: a fresh small run")
    ap.add_argument("-o", "--output", default=None, help="output folder")
    ap.add_argument("--format", nargs="+", default=["png"], choices=["png", "pdf", "svg"])
    ap.add_argument("--no-exact", action="store_true", help="skip exact distributions")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per exact distribution")
    ap.add_argument("--trajectories", type=int, default=3000, help="fresh run only")
    ap.add_argument("--jobs", type=int, default=1, help="fresh run only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="counting: %(message)s", stream=sys.stderr)
    exact: bool | str = False if args.no_exact else "auto"
    if args.result:
        counts_command(
            args.result, args.output, args.format, exact=exact, budget_seconds=args.budget
        )
        return 0
    ens = fresh_run(trajectories=args.trajectories, n_jobs=args.jobs)
    folder = Path(args.output or "runs/counting")
    written, table = make_figures(
        ens, folder, "fresh", args.format, exact=exact, budget_seconds=args.budget
    )
    print(table)
    for p in written:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
