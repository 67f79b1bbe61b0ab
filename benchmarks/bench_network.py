"""Speed and memory of network trajectories against the exact network solver.

The issue's case on two cavities: theta = (pi/sqrt(15),) * 2, q = 0.25, gamma t_r = 0.1,
nbar = 0.15, c = 1 (coherent qubits) and c = 0, both topologies, N_A = N_B = 10, 20, 30,
40. For each:

- trajectories: trajectory-collisions per second on one core (CPU time of this process, so
  that other load on the machine does not count): the chunk runner alone on trajectories
  of 1000 collisions from vacuum (doubled until it runs at least a second); the set-up of a
  run (the collision's shell blocks and the trajectory arrays, built once per run; wall
  clock, BLAS on one thread as in ``tj.simulate``); and the
  peak of memory allocated (tracemalloc) by a whole ``tj.simulate`` run of a few
  trajectories with the joint rho kept at the end (20 jackknife groups);
- exact solver: one step (collision and loss) timed alone, wall clock, one BLAS thread;
  the observables of one checkpoint; the peak memory of a ``tj.solve_exact`` run.

The kernels are compiled before timing. Run:

    python benchmarks/bench_network.py [--cutoffs 10 20 30 40] [--collisions 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc
import warnings

import numpy as np
from _common import cpu_name, load_average  # noqa: E402  (benchmarks/ is the script folder)

import trajectories as tj
from trajectories._streams import stream_key
from trajectories._threads import single_threaded_blas
from trajectories.solvers.montecarlo.network_kernel import NetworkInputs, run_network_chunk

#: collisions of the exact solver's timing run at each cutoff
EXACT_COLLISIONS = {10: 50, 20: 20, 30: 10, 40: 5}


def network(n: int, topology: str, c: float) -> tj.Network:
    """The issue's case on cutoffs ``(n, n)``."""
    return tj.Network(
        theta=(tj.fine_tuned_theta(15),) * 2, q=0.25, c=c, gamma_tr=0.1, nbar=0.15,
        cutoff=(n, n), topology=topology,
    )  # fmt: skip


def trajectories(net: tj.Network, k: int) -> tuple[float, float, float, float]:
    """``(trajectory-collisions per CPU second, set-up seconds, peak MiB, total energy)``."""
    d = net.dimension
    rho0 = np.zeros((d, d), dtype=complex)
    rho0[0, 0] = 1.0
    t0 = time.perf_counter()
    with single_threaded_blas():  # as in tj.simulate
        inputs = NetworkInputs.build(net, rho0, np.array([0, k]), np.array([-1, -1]))
    setup = time.perf_counter() - t0
    key = stream_key(1)
    m = 4
    while True:
        t0 = time.process_time()
        chunk = run_network_chunk(inputs, 0, m, key, 0)
        dt = time.process_time() - t0
        if dt >= 1.0 or m >= 4096:
            break
        m *= 2
    energy = float(chunk.n_mean[:, -1].sum(axis=1).mean())
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tj.simulate(net, k, 40, seed=1, n_jobs=1, chunk_size=2, checkpoints=[0, k],
                    rho_checkpoints="last", leakage_tol=np.inf, progress=False)  # fmt: skip
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return m * k / dt, setup, peak / 2**20, energy


def exact(net: tj.Network, n: int) -> tuple[float, float, float]:
    """``(seconds per collision, seconds per checkpoint, peak MiB)`` of the exact solver.

    The step (collision and loss, one BLAS thread) is timed alone on the maximally mixed
    state (full support: the cost of a dense step does not depend on the state); the
    observables of one checkpoint (two ``D x D`` eigendecompositions and the reduced states)
    apart; the peak memory of a whole ``solve_exact`` run of ``n`` collisions.
    """
    from trajectories.bipartite import bipartite_observables
    from trajectories.channels.network_step import NetworkStep

    d = net.dimension
    rho = np.eye(d, dtype=np.complex128) / d
    with single_threaded_blas():
        step = NetworkStep(net)
        step.step(rho)
        t0 = time.perf_counter()
        for _ in range(n):
            rho, _ = step.step(rho)
        per = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        bipartite_observables(rho, net.cutoff)
        obs = time.perf_counter() - t0
    tracemalloc.start()
    tj.solve_exact(net, n, checkpoints=[n], leakage_tol=np.inf)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return per, obs, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cutoffs", type=int, nargs="+", default=[10, 20, 30, 40])
    ap.add_argument("--collisions", type=int, default=1000)
    ap.add_argument("--no-exact", action="store_true", help="skip the exact solver")
    args = ap.parse_args()
    k = args.collisions
    print(f"# network benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}; load average at start: {load_average()}"
    )
    print(f"issue's case, {k} collisions from vacuum; trajectories on one core (CPU time)\n")
    trajectories(network(4, "series", 1.0), 5)  # compile / load the kernels
    head = "| N_A = N_B | topology | c | traj-collisions/s | set-up s | peak MiB | <n_A + n_B> |"
    print(
        head
        + (" exact ms/collision | s/checkpoint | exact peak MiB |" if not args.no_exact else "")
    )
    print("|---:|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if not args.no_exact else ""))
    for n in args.cutoffs:
        for topology in ("series", "simultaneous"):
            for c in (1.0, 0.0):
                net = network(n, topology, c)
                rate, setup, mem, energy = trajectories(net, k)
                row = (
                    f"| {n} | {topology} | {c:g} | {rate:,.0f} | {setup:.2f} | {mem:.1f} | "
                    f"{energy:.3f} |"
                )
                if not args.no_exact:
                    per, obs, emem = exact(net, EXACT_COLLISIONS.get(n, 2))
                    row += f" {1e3 * per:.3g} | {obs:.3g} | {emem:.0f} |"
                print(row, flush=True)
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
