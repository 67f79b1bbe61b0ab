"""Speed and memory of the trajectory engine (issue 3).

Fig. 5 case (c = 1, theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1, nbar = 0.15), N = 40,
10,000 trajectories x 1,000 collisions, at n_jobs = 1 and 2. Two recording plans:

- "dynamics": observables and records at k = 0 and 1000 only (rho at the end);
- "records every 10": records and rho rebuilt at 101 checkpoints (rho costs O(N^2) per
  trajectory per checkpoint on top of the O(N) per collision of the dynamics).

Prints trajectory-collisions per second and the peak of memory allocated in the main
process (tracemalloc: the per-trajectory records, the jackknife groups' rho sums and one
chunk in flight). The worker pool is started and the kernels compiled before timing.

Run:  python benchmarks/bench_trajectories.py [--trajectories 10000] [--collisions 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc

import numpy as np
from _common import cpu_name  # noqa: E402  (benchmarks/ is the script folder)

import trajectories as tj


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=10_000)
    ap.add_argument("--collisions", type=int, default=1000)
    ap.add_argument("--cutoff", type=int, default=40)
    ap.add_argument("--chunk-size", type=int, default=250)
    args = ap.parse_args()
    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=args.cutoff
    )
    n, k = args.trajectories, args.collisions
    plans = {
        "dynamics": dict(checkpoints=[0, k]),
        "records every 10": dict(checkpoints=range(0, k + 1, 10)),
    }
    print(f"# trajectory engine benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    print(
        f"model: Fig. 5 case, N = {args.cutoff}; {n} trajectories x {k} collisions, "
        f"chunks of {args.chunk_size}\n"
    )
    for n_jobs in (1, 2):  # compile, start the worker pool, load the compiled kernels there
        tj.simulate(model, 10, 400, seed=0, n_jobs=n_jobs, chunk_size=10, checkpoints=[0, 10])
    print("| plan | n_jobs | seconds | trajectory-collisions/s | peak memory |")
    print("|---|---:|---:|---:|---:|")
    for name, plan in plans.items():
        rates = {}
        for n_jobs in (1, 2):
            tracemalloc.start()
            t0 = time.perf_counter()
            ens = tj.simulate(
                model, k, n, seed=1, n_jobs=n_jobs, chunk_size=args.chunk_size, **plan
            )
            dt = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            mem = f"{peak / 2**20:.1f} MiB"
            rates[n_jobs] = n * k / dt
            print(f"| {name} | {n_jobs} | {dt:.2f} | {rates[n_jobs]:,.0f} | {mem} |")
        print(f"| {name} | speed-up 2 vs 1 | | x{rates[2] / rates[1]:.2f} | |")
    print(f"\nlast run: energy = {ens.energy.mean[-1]:.5f} ± {ens.energy.stderr[-1]:.5f}")


if __name__ == "__main__":
    main()
