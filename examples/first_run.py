"""First run: trajectories of the paper's Fig. 5 case next to the exact solution.

Coherent qubits (c = 1, q = 0.25) charge the cavity at the fine-tuned angle
theta = pi/sqrt(15) while it loses photons to a thermal bath (gamma t_r = 0.1, nbar = 0.15).
The exact density-matrix solver gives rho(k) after every collision k; the Monte Carlo
trajectories estimate the same observables with error bars. The script prints both at a few
checkpoints, the z-scores of the trajectories against the exact curve, and writes two figures.

    python examples/first_run.py            # 4000 trajectories x 2000 collisions, N = 60
    python examples/first_run.py --small    # 500 x 300, N = 40 (a few seconds)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import trajectories as tj


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", default=bool(os.getenv("EXAMPLES_SMALL")))
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers (-1: all cores)")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(tempfile.gettempdir()) / "trajectories-examples"
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    cutoff, n_collisions, n_trajectories = (40, 300, 500) if args.small else (60, 2000, 4000)
    args.output.mkdir(parents=True, exist_ok=True)

    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=cutoff
    )
    checkpoints = range(0, n_collisions + 1, n_collisions // 100)

    exact = tj.solve_exact(model, n_collisions, checkpoints=checkpoints)
    ens = tj.simulate(
        model, n_collisions, n_trajectories, seed=7, n_jobs=args.jobs, checkpoints=checkpoints
    )
    print(model)
    print(ens)

    print(f"\n{'k':>5} {'energy exact':>13} {'trajectories':>20} {'purity exact':>13}")
    for i in range(0, ens.k.size, ens.k.size // 5):
        e, p = ens.energy, ens.purity
        print(
            f"{ens.k[i]:5d} {exact.energy[i]:13.5f} {e.mean[i]:11.5f} ± {e.stderr[i]:6.4f}"
            f" {exact.purity[i]:13.5f}   {p.mean[i]:.5f} ± {p.stderr[i]:.4f}"
        )

    print("\nz-scores of the trajectories against the exact solver:")
    print(tj.compare(ens, exact))

    fig = tj.plot.observables(ens, args.output / "first_run.png", exact=exact)
    tj.plot.close(fig)
    fig = tj.plot.photon_distribution(ens, args.output / "first_run_pn.png", exact=exact)
    tj.plot.close(fig)
    print(f"\nfigures: {args.output / 'first_run.png'}, {args.output / 'first_run_pn.png'}")


if __name__ == "__main__":
    main()
