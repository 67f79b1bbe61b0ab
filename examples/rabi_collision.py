"""Beyond Jaynes-Cummings: the full Rabi collision, with and without frequency modulation.

The paper's model keeps only the rotating terms of the qubit-cavity coupling. ``tj.Rabi``
adds the counter-rotating ones (strength g/omega), which create photons in pairs and push the
battery off its plateau; the simultaneous frequency modulation ``tj.Modulation.suppressing``
(J_0(2 eta) = 0, nu = 40 omega) averages them away. The script charges the Fig. 5 battery
with each collision, exactly and (for the modulated one) with trajectories, and compares the
steady energies with the Jaynes-Cummings value. Without modulation, from g/omega = 0.3 on,
the counter-rotating terms pump population to the cutoff within a few collisions: the solver
refuses with ``tj.TruncationError``, whose message is printed.

    python examples/rabi_collision.py           # g/omega = 0.1, 0.3 and 1, N = 60
    python examples/rabi_collision.py --small   # g/omega = 1, N = 40
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script that only writes files needs no display
import matplotlib.pyplot as plt  # noqa: E402

import trajectories as tj  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", default=bool(os.getenv("EXAMPLES_SMALL")))
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(tempfile.gettempdir()) / "trajectories-examples"
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    small = args.small
    cutoff, n_collisions, n_trajectories = (40, 100, 300) if small else (60, 200, 2000)
    couplings = [1.0] if small else [0.1, 0.3, 1.0]
    args.output.mkdir(parents=True, exist_ok=True)

    jc = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=cutoff
    )
    suppress = tj.Modulation.suppressing(40.0)  # nu = 40 omega, eta such that J_0(2 eta) = 0
    cases = {"Jaynes-Cummings": jc}
    for g in couplings:
        cases[f"Rabi g/omega = {g}"] = jc.replace(collision=tj.Rabi(g))
        cases[f"Rabi g/omega = {g}, modulated"] = jc.replace(
            collision=tj.Rabi(g, modulation=suppress)
        )

    checkpoints = range(n_collisions + 1)
    fig, (ax, dev) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    reference = None
    print(f"{'collision':<32} {'steady energy':>14} {'E(k = ' + str(n_collisions) + ')':>12}")
    for i, (name, model) in enumerate(cases.items()):
        try:
            exact = tj.solve_exact(model, n_collisions, checkpoints=checkpoints)
            steady = tj.steady_state(model).energy
        except tj.TruncationError as error:  # the cutoff cannot hold what this collision pumps
            print(f"{name:<32} refused: {error}")
            continue
        print(f"{name:<32} {steady:14.6f} {exact.energy[-1]:12.6f}")
        ax.plot(exact.k, exact.energy, color=f"C{i}", lw=1, label=f"{name} (exact)")
        if reference is None:
            reference = exact.energy  # Jaynes-Cummings, the first case
        else:
            dev.semilogy(exact.k[1:], abs(exact.energy - reference)[1:], color=f"C{i}", label=name)

    modulated = cases[f"Rabi g/omega = {couplings[-1]}, modulated"]
    ens = tj.simulate(
        modulated,
        n_collisions,
        n_trajectories,
        seed=3,
        checkpoints=range(0, n_collisions + 1, n_collisions // 20),
    )
    print(f"\ntrajectories of the modulated collision: {ens}")
    ax.errorbar(
        ens.k,
        ens.energy.mean,
        yerr=ens.energy.stderr,
        fmt="o",
        mfc="none",
        color="k",
        ms=4,
        label="modulated, trajectories",
    )
    ax.set_xlabel("collisions k")
    ax.set_ylabel("energy [hbar omega]")
    ax.legend(fontsize=8, loc="lower right")
    dev.set_xlabel("collisions k")
    dev.set_ylabel("|E - E(Jaynes-Cummings)| [hbar omega]")
    dev.legend(fontsize=8)
    fig.savefig(args.output / "rabi_collision.png", dpi=120)
    plt.close(fig)
    print(f"figure: {args.output / 'rabi_collision.png'}")


if __name__ == "__main__":
    main()
