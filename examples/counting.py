"""Counting statistics of the outgoing qubits: trajectories against the exact distribution.

Every trajectory is a detector record: each qubit leaves the cavity in g or in e. The number
of qubits found in g after k collisions has a distribution that the trajectories sample and
that ``tj.counting.exact_distribution`` computes exactly (from the one-step channel tilted by
a counting field). The script compares the two (chi-square test), prints the Mandel Q
parameter against k (below 0: the qubits leave sub-Poissonian, more regular than a coin
toss), its long-time value from ``tj.counting.stationary_rates``, and writes a figure.

    python examples/counting.py             # 4000 trajectories x 500 collisions, N = 30
    python examples/counting.py --small     # 1000 x 200, N = 24
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script that only writes files needs no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import trajectories as tj  # noqa: E402


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
    cutoff, n_collisions, n_trajectories = (24, 200, 1000) if args.small else (30, 500, 4000)
    args.output.mkdir(parents=True, exist_ok=True)

    # The paper's Fig. 5 case; the energy stays near 4, so a small cutoff holds (the solvers
    # raise TruncationError if more than 1e-8 of the population reaches it).
    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=cutoff
    )
    checkpoints = np.arange(0, n_collisions + 1, n_collisions // 20)
    ens = tj.simulate(
        model, n_collisions, n_trajectories, seed=11, n_jobs=args.jobs, checkpoints=checkpoints
    )

    stats = tj.counting.from_ensemble(ens, "g")  # counts, mean, variance, Mandel Q per k
    moments = tj.counting.exact_moments(model, n_collisions, "g", checkpoints=checkpoints)
    exact = tj.counting.exact_distribution(model, n_collisions, "g", checkpoints=[n_collisions])
    rates = tj.counting.stationary_rates(model, "g")
    print(stats)
    print(moments)
    print(rates)

    print(f"\n{'k':>5} {'mean exact':>11} {'trajectories':>18}", end="")
    print(f" {'Q exact':>9} {'Q trajectories':>18}")
    for i in range(1, checkpoints.size, 4):
        print(
            f"{checkpoints[i]:5d} {moments.mean[i]:11.4f} {stats.mean.mean[i]:9.4f} ± "
            f"{stats.mean.stderr[i]:6.4f} {moments.mandel_q[i]:9.4f} {stats.mandel_q.mean[i]:9.4f}"
            f" ± {stats.mandel_q.stderr[i]:6.4f}"
        )
    print(f"long-time: {rates.rate:.6f} qubits in g per collision, Mandel Q {rates.mandel_q:.6f}")

    # Chi-square of the counts at the last checkpoint against the exact distribution.
    last = stats.counts[stats.valid[:, -1], -1]
    test = tj.counting.chi_square(last, exact.values, exact.probabilities[-1])
    print(
        f"chi-square at k = {n_collisions}: {test.statistic:.1f} for {test.dof} degrees of "
        f"freedom, p = {test.pvalue:.3f}"
    )

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    values, probabilities, errors = tj.counting.histogram(stats)
    left.errorbar(values, probabilities, yerr=errors, fmt=".", color="C0", label="trajectories")
    left.plot(exact.values, exact.probabilities[-1], "-", color="k", lw=1, label="exact")
    lo, hi = np.flatnonzero(exact.probabilities[-1] > 1e-5)[[0, -1]]
    left.set_xlim(exact.values[lo], exact.values[hi])
    left.set_xlabel(f"qubits found in g after k = {n_collisions} collisions")
    left.set_ylabel("probability")
    left.legend()
    right.errorbar(
        checkpoints[1:],
        stats.mandel_q.mean[1:],
        yerr=stats.mandel_q.stderr[1:],
        fmt="o",
        mfc="none",
        color="C0",
        label="trajectories",
    )
    right.plot(checkpoints[1:], moments.mandel_q[1:], "-", color="k", lw=1, label="exact")
    right.axhline(rates.mandel_q, ls=":", color="k", label="long-time limit")
    right.set_xlabel("collisions k")
    right.set_ylabel("Mandel Q of the g count")
    right.legend()
    fig.savefig(args.output / "counting.png", dpi=120)
    plt.close(fig)
    print(f"figure: {args.output / 'counting.png'}")


if __name__ == "__main__":
    main()
