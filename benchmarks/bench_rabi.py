"""Speed of the general (sparse-Kraus) trajectory path: the Rabi collision (issue 20).

The Fig. 5 case (c = 1, theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1, nbar = 0.15) with
the Rabi collision at g/omega = 0.1 (bare) and 0.5 with the suppressing modulation
``Modulation.suppressing(40.0)`` (the bare collision leaks through a 40-level cutoff within a
few hundred collisions at 0.5). One worker, records (and rho) at k = 0 and the last
collision, chunks of 100; CPU seconds of this process (``time.process_time``), best of
``--repeat``, after a warm-up that compiles the kernels. Two timings:

- "trajectories": the chunks of a run (``run_chunk``: the compiled driver and its
  records) on kernel inputs built once;
- "simulate": the whole ``tj.simulate`` call, which also builds the Rabi channels (the
  time-ordered unitary: about 18 s per build at g/omega = 0.5 with modulation, where the
  RK integrator runs, and it is built twice per call) and reduces the records.

Run:  python benchmarks/bench_rabi.py [--g 0.1 0.5] [--cutoff 40] [--trajectories 2000]
      [--collisions 1000] [--repeat 3] [--simulate]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from _common import cpu_name, load_average  # noqa: E402  (benchmarks/ is the script folder)

import trajectories as tj
from trajectories._streams import stream_key
from trajectories.channels.collisions import collision_sequence
from trajectories.channels.loss import LossChannel
from trajectories.solvers.montecarlo.chunks import InitialStates, Plan, run_chunk
from trajectories.solvers.montecarlo.kernel_inputs import KernelInputs


def rabi_model(g: float, cutoff: int) -> tj.Micromaser:
    """The benchmark model at coupling ``g`` (g/omega); modulated above 0.3."""
    mod = tj.Modulation.suppressing(40.0) if g > 0.3 else None
    return tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=cutoff,
        collision=tj.Rabi(g, modulation=mod),
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--g", type=float, nargs="+", default=[0.1, 0.5])
    ap.add_argument("--cutoff", type=int, default=40)
    ap.add_argument("--trajectories", type=int, default=2000)
    ap.add_argument("--collisions", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--simulate", action="store_true", help="also time the whole simulate call")
    args = ap.parse_args()
    n, k = args.trajectories, args.collisions
    print(f"# Rabi trajectory benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, load {load_average()}, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"N = {args.cutoff}; {n} trajectories x {k} collisions, 1 worker, records at 0 and {k}")
    print(
        "| g/omega | trajectories: CPU s (best) | trajectory-collisions/s | <n> at the end "
        "| simulate: CPU s |"
    )
    print("|---:|---:|---:|---:|---:|")
    chunk = 100
    for g in args.g:
        model = rabi_model(g, args.cutoff)
        inputs = KernelInputs.from_channels(collision_sequence(model), LossChannel(model), k)
        plan = Plan(np.array([0, k]), np.array([-1, 0]), 100)
        vacuum = np.zeros((args.cutoff, args.cutoff))
        vacuum[0, 0] = 1.0
        states = InitialStates.from_density_matrix(vacuum)
        key = stream_key(1)
        run_chunk(inputs, plan, states, 0, 2, key, 0)  # compile
        best = np.inf
        for _ in range(args.repeat):
            t0 = time.process_time()
            n_end = []
            for start in range(0, n, chunk):
                res = run_chunk(inputs, plan, states, start, min(chunk, n - start), key, 0)
                n_end.append(res.n_mean[:, -1])
            best = min(best, time.process_time() - t0)
        whole = ""
        if args.simulate:
            t0 = time.process_time()
            tj.simulate(model, k, n, seed=1, n_jobs=1, chunk_size=chunk, checkpoints=[0, k])
            whole = f"{time.process_time() - t0:.2f}"
        mean_n = np.concatenate(n_end).mean()
        print(f"| {g} | {best:.2f} | {n * k / best:,.0f} | {mean_n:.6f} | {whole} |")


if __name__ == "__main__":
    main()
