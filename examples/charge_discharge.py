"""Charge, store, discharge: a protocol, the battery's energy books and what it delivers.

The paper's coherent battery is charged by its qubits, stored (the qubits pass without
interacting: only the loss acts) and discharged into ground-state qubits. The exact solver
runs the three stages one after the other and keeps the energy books (energy from the
qubits, from the bath); trajectories run the same protocol, and ``tj.discharge_report``
says how much of the stored energy the discharge delivered, how fast, and how the delivered
quanta are distributed (exact, with the trajectory estimate beside it).

    python examples/charge_discharge.py            # 8000 trajectories, N = 40
    python examples/charge_discharge.py --small    # 2000 trajectories, N = 30
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
    cutoff, n_trajectories = (30, 2000) if args.small else (40, 8000)
    args.output.mkdir(parents=True, exist_ok=True)

    charge = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=cutoff
    )
    protocol = tj.Protocol([
        tj.Stage(charge, 100, name="charge"),
        tj.Stage(charge.replace(theta=0.0), 5, name="store"),              # loss only
        tj.Stage(charge.replace(q=1.0, c=0.0, theta=0.8), 30, name="use"),  # ground-state qubits
    ])  # fmt: skip
    print(protocol)
    exact = tj.solve_exact(protocol)  # every collision, with the energy books
    checkpoints = np.unique(np.concatenate([protocol.boundaries, np.arange(0, 136, 5)]))
    ens = tj.simulate(protocol, n_trajectories=n_trajectories, seed=5, n_jobs=args.jobs,
                      checkpoints=checkpoints)  # fmt: skip
    print(tj.compare(ens, tj.solve_exact(protocol, checkpoints=checkpoints)))

    report = tj.discharge_report(exact, stage=2, ensemble=ens)
    print(report.summary())
    books = exact.energy_from_qubits + exact.energy_from_bath
    print(f"books close: max |E(k) - E(0) - books| = "
          f"{np.abs(exact.energy - exact.energy[0] - books).max():.1e}")  # fmt: skip

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    left.plot(exact.k, exact.energy, "k-", lw=1, label="energy (exact)")
    left.errorbar(ens.k, ens.energy.mean, yerr=ens.energy.stderr, fmt="o", ms=3, mfc="none",
                  color="C0", label="energy (trajectories)")  # fmt: skip
    left.plot(exact.k, exact.ergotropy, "--", color="C1", lw=1, label="ergotropy (exact)")
    for b in protocol.boundaries[1:-1]:
        left.axvline(b, color="gray", lw=0.6, ls=":")
    left.set_xlabel("collisions k")
    left.set_ylabel(r"$\hbar\omega$")
    left.legend(fontsize=8)
    counts = report.trajectories["counts"]
    values, freq = np.unique(counts, return_counts=True)
    right.bar(values, freq / counts.size, color="C0", alpha=0.5, label="trajectories")
    right.plot(report.delivered_values, report.delivered_probabilities, "k.-", lw=1,
               label="exact")  # fmt: skip
    right.set_xlim(-0.5, values.max() + 1.5)
    right.set_xlabel("quanta delivered in the discharge")
    right.set_ylabel("probability")
    right.legend(fontsize=8)
    fig.savefig(args.output / "charge_discharge.png", dpi=120)
    plt.close(fig)
    print(f"figure: {args.output / 'charge_discharge.png'}")


if __name__ == "__main__":
    main()
