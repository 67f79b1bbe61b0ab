"""A parameter sweep from a script: charged energy and purity against the loss rate.

Each point of the sweep (gamma t_r, and the bath's nbar) is one exact solution and one
ensemble of trajectories, run as an independent joblib task; each task runs its trajectories
on one worker, so the points, not the chunks, are spread over the cores. The seed of each
point is drawn from one root seed, so the sweep is reproducible and independent of how many
workers run it. The script writes the table as CSV and a figure.

With a dask cluster, run the same tasks on it: ``from distributed import Client;
client = Client(...)`` and wrap the ``Parallel`` call in ``joblib.parallel_config("dask")``.
(The command line does the same from a run file: ``micromaser run sweep.toml``.)

    python examples/sweep.py --jobs 2           # 9 loss rates x 2 baths, N = 60
    python examples/sweep.py --small            # 4 x 2 points, N = 40
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script that only writes files needs no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

import trajectories as tj  # noqa: E402

ROOT_SEED = 2023


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", default=bool(os.getenv("EXAMPLES_SMALL")))
    parser.add_argument("--jobs", type=int, default=2, help="points run in parallel")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(tempfile.gettempdir()) / "trajectories-examples"
    )
    return parser.parse_args()


def one_point(seed: int, gamma_tr: float, nbar: float, size: dict) -> dict:
    """Exact and trajectory values after ``size['collisions']`` collisions at one point."""
    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(15),
        q=0.25,
        c=1.0,
        gamma_tr=gamma_tr,
        nbar=nbar,
        cutoff=size["cutoff"],
    )
    n = size["collisions"]
    exact = tj.solve_exact(model, n, checkpoints=[n])
    ens = tj.simulate(model, n, size["trajectories"], seed=seed, checkpoints=[0, n])
    return {
        "gamma_tr": gamma_tr,
        "nbar": nbar,
        "energy_exact": exact.energy[-1],
        "energy": ens.energy.mean[-1],
        "energy_stderr": ens.energy.stderr[-1],
        "purity_exact": exact.purity[-1],
        "purity": ens.purity.mean[-1],
        "purity_stderr": ens.purity.stderr[-1],
    }


def main() -> None:
    args = arguments()
    if args.small:
        gammas = [0.03, 0.1, 0.3, 1.0]
        size = {"cutoff": 40, "collisions": 200, "trajectories": 300}
    else:
        gammas = list(np.geomspace(0.01, 1.0, 9))
        size = {"cutoff": 60, "collisions": 1000, "trajectories": 2000}
    points = [(g, nbar) for nbar in (0.0, 0.15) for g in gammas]
    args.output.mkdir(parents=True, exist_ok=True)

    seeds = np.random.SeedSequence(ROOT_SEED).generate_state(len(points))  # one per point
    tasks = (delayed(one_point)(int(seeds[i]), g, nbar, size) for i, (g, nbar) in enumerate(points))
    rows = Parallel(n_jobs=args.jobs)(tasks)

    table = args.output / "sweep.csv"
    with table.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{'gamma_tr':>9} {'nbar':>5} {'E exact':>9} {'E trajectories':>18} {'z':>6}")
    for r in rows:
        z = (r["energy"] - r["energy_exact"]) / r["energy_stderr"]
        print(
            f"{r['gamma_tr']:9.4g} {r['nbar']:5.2f} {r['energy_exact']:9.4f}"
            f" {r['energy']:9.4f} ± {r['energy_stderr']:.4f} {z:6.2f}"
        )

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    for nbar, color in ((0.0, "C0"), (0.15, "C1")):
        sel = [r for r in rows if r["nbar"] == nbar]
        g = [r["gamma_tr"] for r in sel]
        for ax, name in zip(axes, ("energy", "purity"), strict=True):
            exact = [r[f"{name}_exact"] for r in sel]
            ax.plot(g, exact, "-", color=color, label=f"exact, nbar={nbar}")
            ax.errorbar(
                g,
                [r[name] for r in sel],
                yerr=[r[f"{name}_stderr"] for r in sel],
                fmt="o",
                mfc="none",
                color=color,
                label=f"trajectories, nbar={nbar}",
            )
    for ax, label in zip(axes, ("energy [hbar omega]", "purity"), strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("gamma t_r")
        ax.set_ylabel(label)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"after {size['collisions']} collisions, theta = pi/sqrt(15), q = 0.25, c = 1")
    fig.savefig(args.output / "sweep.png", dpi=120)
    plt.close(fig)
    print(f"\ntable: {table}\nfigure: {args.output / 'sweep.png'}")


if __name__ == "__main__":
    main()
