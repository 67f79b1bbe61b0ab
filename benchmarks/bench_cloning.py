"""Cloning throughput: clone-collisions per second against plain trajectories, one core.

The same model runs as plain trajectories (``tj.simulate``, records at k = 0 and the end
only) and as cloning populations (``tj.solvers.montecarlo.cloning.cloning``, count ``g``,
s = 0.3) of several sizes; each case is run twice after compiling, the faster kept. A clone
collision costs one collision and loss interval of the same compiled driver (called once per
collision on the whole population, so each clone restarts its streams and reloads its
state) plus its share of the weights, the resampling and the copy of the population's state
vectors, all in the compiled loop of ``cloning_kernel``.

Run:  python benchmarks/bench_cloning.py [--collisions 400] [--work 400000]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import time
import warnings

import numpy as np
from _common import cpu_name, fig5, load_average  # noqa: E402  (benchmarks/ is the script folder)

import trajectories as tj
from trajectories.solvers.montecarlo.cloning import cloning

CLONES = (10, 100, 1000, 10000)


def _best(fn, repeats: int = 2) -> float:
    fn()  # compile / warm up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collisions", type=int, default=400)
    ap.add_argument("--work", type=int, default=400_000, help="clone-collisions per case")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    k = args.collisions
    print(f"# cloning benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}; load {load_average()}; n_jobs = 1, {k} collisions\n"
    )
    models = {
        "cutoff 20 (tests' model)": tj.Micromaser(
            theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=20
        ),
        "Fig. 5, N = 40": fig5(40),
    }
    print("| model | run | per second (collisions) | ratio to plain |")
    print("|---|---|---:|---:|")
    for name, model in models.items():
        m = max(args.work // k, 1)
        kw = dict(checkpoints=[0, k], rho_checkpoints="last", progress=False,
                  leakage_tol=1.0, chunk_size=max(m // 4, 1))  # fmt: skip
        plain = m * k / _best(functools.partial(tj.simulate, model, k, m, seed=1, **kw))
        print(f"| {name} | plain trajectories, {m} x {k} | {plain:.3g} | 1 |")
        for n_clones in CLONES:
            pops = max(args.work // (n_clones * k), 2)
            sec = _best(
                functools.partial(
                    cloning,
                    model,
                    0.3,
                    "g",
                    n_clones=n_clones,
                    n_collisions=k,
                    seed=1,
                    n_populations=pops,
                )  # fmt: skip
            )
            rate = pops * n_clones * k / sec
            print(
                f"| {name} | cloning, {pops} x {n_clones} clones x {k} | {rate:.3g} | "
                f"{rate / plain:.2f} |"
            )


if __name__ == "__main__":
    main()
