"""Metastability and escape times: long-lived is not steady.

1. The paper's Fig. 5 battery with weak loss (gamma t_r = 0.001) charges to E = 6.1 within a
   few hundred collisions and stays there for billions: ``tj.steady_state`` finds that the
   true fixed point is elsewhere, ``tj.escape_time`` gives the plateau's lifetime.
2. Incoherent qubits (c = 0) without loss, theta detuned from pi/sqrt(15): the plateau
   below level 15 leaks through the no-longer-blocked step 14 -> 15. The escape time grows
   like 1/dtheta^2; its prefactor follows from the closed-form plateau (printed next to it).
3. The same escape seen trajectory by trajectory: the fraction of trajectories still on the
   plateau (one photon number sampled from each) decays as exp(-k/tau), like the exact
   population below level 15.

    python examples/metastability.py            # 12 detunings, 2000 trajectories
    python examples/metastability.py --small    # 5 detunings, 500 trajectories
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script that only writes files needs no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

import trajectories as tj  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", default=bool(os.getenv("EXAMPLES_SMALL")))
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(tempfile.gettempdir()) / "trajectories-examples"
    )
    return parser.parse_args()


def weak_loss() -> None:
    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.001, nbar=0.15, cutoff=60
    )
    ss = tj.steady_state(model)  # fixed point of one step (collision, then loss)
    esc = tj.escape_time(model, below=40)  # lifetime of the plateau held below level 40
    print("1. Fig. 5 case, gamma t_r = 0.001")
    print(f"   fixed point: energy {ss.energy:.4f}, metastable: {ss.metastable}")
    qs = ss.quasi_stationary
    print(f"   state reached from the vacuum: energy {qs.energy:.4f}, lifetime {qs.lifetime:.3g}")
    print(f"   escape below level 40: {esc.lifetime:.4g} collisions")


def escape_scan(m_primes: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    dtheta = np.array([tj.fine_tuned_theta(m) - tj.fine_tuned_theta(15) for m in m_primes])
    tau = np.array(
        [
            tj.escape_time(
                tj.Micromaser(theta=tj.fine_tuned_theta(m), q=q, cutoff=40), below=15
            ).lifetime
            for m in m_primes
        ]
    )
    return dtheta, tau


def main() -> None:
    args = arguments()
    small = args.small
    args.output.mkdir(parents=True, exist_ok=True)
    weak_loss()

    q = 0.25
    m_primes = np.array([15.01, 15.02, 15.05, 15.1, 15.2])
    if not small:
        more = [15.15, 14.8, 14.85, 14.9, 14.95, 14.98, 14.99]
        m_primes = np.sort(np.concatenate([m_primes, more]))
    dtheta, tau = escape_scan(m_primes, q)
    slope, _ = np.polyfit(np.log(np.abs(dtheta)), np.log(tau), 1)
    # Escape needs the step 14 -> 15, probability (1-q) sin^2(theta sqrt 15) ~ (1-q) 15 dtheta^2,
    # from the plateau's population of level 14 (closed form of the fine-tuned steady state).
    p14 = tj.incoherent_steady_populations(15, q)[14]
    print("\n2. incoherent plateau, no loss: escape time against the detuning")
    print(f"{'m_prime':>8} {'dtheta':>11} {'tau':>12} {'tau dtheta^2':>13}")
    for m, d, t in zip(m_primes, dtheta, tau, strict=True):
        print(f"{m:8.2f} {d:11.4e} {t:12.5g} {t * d * d:13.5f}")
    print(f"   fitted exponent: tau ~ |dtheta|^{slope:.4f}")
    print(f"   predicted limit of tau dtheta^2: 1/((1-q) 15 p_14) = {1 / ((1 - q) * 15 * p14):.5f}")

    # 3. trajectories at m' = 15.2: the escaped weight climbs to the cutoff and leaves; here
    # that is wanted (it counts as escaped), so the leakage check is switched off.
    model = tj.Micromaser(theta=tj.fine_tuned_theta(15.2), q=q, cutoff=40)
    lifetime = tj.escape_time(model, below=15).lifetime
    ks = np.linspace(0, 3 * lifetime, 31).round().astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.TruncationWarning)
        exact = tj.solve_exact(model, ks[-1], checkpoints=ks, leakage_tol=np.inf)
        ens = tj.simulate(
            model,
            ks[-1],
            500 if small else 2000,
            seed=5,
            checkpoints=ks,
            leakage_tol=np.inf,
            rho_checkpoints="last",
        )
    fock = ens.per_trajectory.fock  # one photon number per trajectory, -1 after a leak
    on_plateau = (fock >= 0) & (fock < 15)
    survival = on_plateau.mean(axis=0)
    survival_err = np.sqrt(survival * (1 - survival) / fock.shape[0])
    print(f"\n3. m' = 15.2, tau = {lifetime:.5g}: fraction on the plateau")
    print(f"{'k':>6} {'exact':>8} {'trajectories':>17} {'exp(-k/tau)':>12}")
    for i in range(0, ks.size, 6):
        print(
            f"{ks[i]:6d} {exact.populations[i, :15].sum():8.4f} {survival[i]:8.4f} ± "
            f"{survival_err[i]:.4f} {np.exp(-ks[i] / lifetime):12.4f}"
        )

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    left.loglog(np.abs(dtheta), tau, "o", mfc="none", label="escape_time")
    left.loglog(
        np.abs(dtheta),
        1 / ((1 - q) * 15 * p14 * dtheta**2),
        "k-",
        lw=1,
        label="1/((1-q) 15 p_14 dtheta^2)",
    )
    left.xaxis.set_minor_formatter(NullFormatter())  # decades only: no crowded labels
    left.set_xlabel("|dtheta|")
    left.set_ylabel("lifetime of the plateau [collisions]")
    left.legend()
    right.plot(ks, exact.populations[:, :15].sum(axis=1), "k-", lw=1, label="exact P(n < 15)")
    right.errorbar(ks, survival, yerr=survival_err, fmt="o", mfc="none", label="trajectories")
    right.plot(ks, np.exp(-ks / lifetime), ":", color="C1", label="exp(-k/tau)")
    right.set_xlabel("collisions k")
    right.set_ylabel("population on the plateau")
    right.legend()
    fig.savefig(args.output / "metastability.png", dpi=120)
    plt.close(fig)
    print(f"figure: {args.output / 'metastability.png'}")


if __name__ == "__main__":
    main()
