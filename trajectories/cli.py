"""Command line: ``micromaser run`` (also ``python -m trajectories``).

With no arguments, ``micromaser run`` solves the paper's lossy coherent case
(Fig. 5: theta = pi/sqrt(15), q = 0.25, c = 1, gamma t_r = 0.1, nbar = 0.15)
exactly for 2000 collisions and writes a result file and a plot.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np

from ._version import __version__
from .exact import solve_exact
from .model import Micromaser, fine_tuned_theta

__all__ = ["main", "DEFAULT_MODEL"]

#: The built-in default: the paper's Fig. 5 case with gamma t_r = 0.1.
DEFAULT_MODEL = dict(theta=fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=60)
DEFAULT_COLLISIONS = 2000


def _save_npz(path: Path, result, meta: dict) -> None:
    arrays = {
        name: getattr(result, name)
        for name in (
            "k",
            "energy",
            "purity",
            "fano",
            "ergotropy",
            "entropy",
            "populations",
            "leakage",
            "trace",
        )
    }
    np.savez(path, metadata=json.dumps(meta), **arrays)


def _run(args: argparse.Namespace) -> int:
    from . import plot

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / args.name
    files = [stem.with_suffix(".npz"), stem.with_suffix(".png")]
    existing = [f for f in files if f.exists()]
    if existing and not args.force:
        print(f"micromaser: {existing[0]} exists; use --force to overwrite", file=sys.stderr)
        return 2
    model = Micromaser(**DEFAULT_MODEL)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat()
    result = solve_exact(model, args.collisions)
    meta = {
        "package": "micromaser-trajectories",
        "version": __version__,
        "solver": "solve_exact",
        "method": result.method,
        "model": model.to_dict(),
        "n_collisions": args.collisions,
        "started": started,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(),
    }
    _save_npz(files[0], result, meta)
    plot.observables(result, files[1])
    print(result)
    print(f"wrote {files[0]} and {files[1]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``micromaser`` command."""
    parser = argparse.ArgumentParser(prog="micromaser", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="solve the default case and write a result file and a plot")
    run.add_argument("-o", "--output", default="results", help="output folder (default: results)")
    run.add_argument("--name", default="fig5-exact", help="file stem (default: fig5-exact)")
    run.add_argument("--collisions", type=int, default=DEFAULT_COLLISIONS)
    run.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
