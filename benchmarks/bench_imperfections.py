"""Cost of a real beam on the trajectory engine: random arrivals and a theta spread.

Fig. 5 case (c = 1, theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1, nbar = 0.15) at
N = 40 and 80, one worker, records at k = 0 and the end only. Prints the cost per
trajectory-collision of each beam and its ratio to the ideal beam, measured in one sitting
(each case run twice after compiling, the faster kept).

Run:  python benchmarks/bench_imperfections.py [--trajectories 1000] [--collisions 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from _common import cpu_name  # noqa: E402  (benchmarks/ is the script folder)

import trajectories as tj

BEAMS = {
    "ideal": {},
    "Poisson arrivals": dict(arrivals=tj.Arrivals.poisson()),
    "Bernoulli(0.5) arrivals": dict(arrivals=tj.Arrivals.bernoulli(0.5)),
    "Gaussian spread 5%": dict(theta_spread=tj.ThetaSpread.gaussian(0.05)),
    "uniform spread 5%": dict(theta_spread=tj.ThetaSpread.uniform(0.05)),
    "discrete spread (3 values)": dict(
        theta_spread=tj.ThetaSpread.discrete([0.95, 1.0, 1.05], [0.25, 0.5, 0.25])
    ),
    "Poisson + Gaussian 5%": dict(
        arrivals=tj.Arrivals.poisson(), theta_spread=tj.ThetaSpread.gaussian(0.05)
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=1000)
    ap.add_argument("--collisions", type=int, default=1000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    m, k = args.trajectories, args.collisions
    print(f"# real-beam trajectory benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}; {m} trajectories x {k} collisions, n_jobs = 1\n"
    )
    print("| beam | N | ns per trajectory-collision | ratio to ideal |")
    print("|---|---:|---:|---:|")
    for n in (40, 80):
        ideal = None
        for name, beam in BEAMS.items():
            model = tj.Micromaser(
                theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=n,
                **beam,
            )  # fmt: skip
            kw = dict(checkpoints=[0, k], rho_checkpoints="last", progress=False,
                      leakage_tol=1.0, chunk_size=max(m // 4, 1))  # fmt: skip
            tj.simulate(model, 10, 20, seed=0, **kw | dict(checkpoints=[0, 10]))  # compile
            best = np.inf
            for _ in range(2):
                t0 = time.perf_counter()
                tj.simulate(model, k, m, seed=1, **kw)
                best = min(best, time.perf_counter() - t0)
            ns = best / (m * k) * 1e9
            ideal = ns if ideal is None else ideal
            print(f"| {name} | {n} | {ns:.0f} | {ns / ideal:.2f} |")


if __name__ == "__main__":
    main()
