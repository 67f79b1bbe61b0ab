"""Speed of the exact density-matrix solver (issue 2): set-up and seconds per collision.

Fig. 5 case: coherent (c = 1), theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1,
nbar = 0.15, for cutoffs N = 40, 80, 160 (and more with --cutoffs).

- set-up: building the collision weights and the exact loss blocks (``ExactPropagator``)
- step: one collision + loss on the density matrix (``ExactPropagator.step_dm``)
- solve_exact: per collision with observables (eigvalsh for ergotropy/entropy) recorded
  at every collision, the default

Run:  python benchmarks/bench_exact.py [--cutoffs 40 80 160] [--repeat 5]
Prints a Markdown table; the best of ``repeat`` timings (CPU seconds of this process, so
that other jobs on a shared machine do not enter) is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from _common import cpu_name  # noqa: E402  (benchmarks/ is the script folder)
from threadpoolctl import threadpool_limits

import trajectories as tj


def best_of(fn, repeat: int) -> float:
    """Smallest CPU time (seconds of this process, single-threaded) of ``repeat`` calls."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cutoffs", type=int, nargs="+", default=[40, 80, 160])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=400)
    args = ap.parse_args()

    print(f"# exact solver benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}, BLAS pinned to one thread, CPU seconds\n"
    )
    print(
        "| N | set-up [s] | step [ms/collision] | solve_exact, observables every collision "
        "[ms/collision] |"
    )
    print("|---:|---:|---:|---:|")
    with threadpool_limits(limits=1, user_api="blas"):
        run(args)


def run(args: argparse.Namespace) -> None:
    prev = None
    for n in args.cutoffs:
        model = tj.Micromaser(
            theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=n
        )
        setup = best_of(lambda: tj.ExactPropagator(model), args.repeat)  # noqa: B023
        prop = tj.ExactPropagator(model)
        rho = tj.as_density_matrix(None, n)
        for _ in range(50):  # move away from the vacuum
            rho, _ = prop.step_dm(rho)

        def run_steps(rho=rho, prop=prop):
            r = rho
            for _ in range(args.steps):
                r, _ = prop.step_dm(r)

        step = best_of(run_steps, args.repeat) / args.steps
        solve = best_of(lambda: tj.solve_exact(model, 200), max(1, args.repeat // 2)) / 200  # noqa: B023
        growth = "" if prev is None else f" (x{step / prev[1]:.1f} for x{n / prev[0]:g} in N)"
        print(f"| {n} | {setup:.4f} | {step * 1e3:.4f}{growth} | {solve * 1e3:.3f} |")
        prev = (n, step)


if __name__ == "__main__":
    main()
