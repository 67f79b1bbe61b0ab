"""How the engines scale (issue 7, item 3): cutoff, chunk size, workers, memory, exact solver.

Fig. 5 case: coherent (c = 1), theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1, nbar = 0.15,
starting from vacuum. Measured in one run:

1. trajectory-collisions per second of ``tj.simulate`` (one worker) vs the cutoff
   N = 20 ... 320, with the trajectory count chosen per N so each point takes a few seconds;
   the fixed cost of a call (model set-up, measured as ``simulate(model, 0, 1)``) is also
   reported and taken out in a second rate column;
2. the same vs chunk size (25, 100, 250, 1000) at N = 40, with 1 and 2 workers;
3. speed-up from 1 to 2 workers at N = 40 and N = 160;
4. peak memory allocated in the main process (tracemalloc) vs the number of trajectories
   (1e3, 1e4, 1e5) with records at 11 checkpoints, next to the size of the records;
5. the exact solver: set-up (``ExactPropagator(model)``) and seconds per collision
   (``step_dm``, a few hundred steps), N = 20 ... 320.

BLAS is pinned to one thread in the main process (threadpoolctl; the workers pin it
themselves), the joblib worker pool is started and the numba kernels are compiled (and
loaded in the workers) before anything is timed. Trajectory timings are wall-clock times
of whole ``simulate`` calls (set-up, chunks, reduction); exact-solver steps are the best of
three repeats. Where everything runs in this process (one worker, the exact solver) the
rates use its CPU time, so that other jobs sharing the machine stay out of the numbers; the
chunk-size and worker tables are wall clock (the workers are other processes), and a
machine shared with other jobs shows up there as missing speed-up.

Run:  python benchmarks/bench_scaling.py [--scale 1.0] [--figure PATH]
(``--scale`` multiplies every trajectory count, 0.1 for a quick look; the figure goes to
``docs/figures/performance-scaling.png`` by default). Prints Markdown tables
and writes the figure. About 2.5 minutes on a 2-core machine at ``--scale 1``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _common import cpu_name, fig5, load_average  # noqa: E402  (benchmarks/ is the script folder)
from threadpoolctl import threadpool_limits

import trajectories as tj

ROOT = Path(__file__).resolve().parents[1]
CUTOFFS = (20, 40, 80, 160, 320)
#: trajectories per cutoff (collisions: RATE_COLLISIONS), about 3-4 s per point on one core
TRAJECTORIES_PER_N = {20: 16_000, 40: 14_000, 80: 6_000, 160: 4_000, 320: 800}
RATE_COLLISIONS = 500
CHUNK_SIZES = (25, 100, 250, 1000)
CHUNK_TRAJECTORIES = 10_000
WORKER_CASES = {40: 20_000, 160: 5_000}  # N: trajectories (RATE_COLLISIONS each)
MEMORY_TRAJECTORIES = (1_000, 10_000, 100_000)
MEMORY_COLLISIONS = 100  # checkpoints every 10: 11 checkpoints
EXACT_STEPS = 300
REPEAT_PARALLEL = 2  # chunk-size and worker runs: best of this many (wall clock)


def clock() -> tuple[float, float]:
    """(wall, CPU of this process) seconds."""
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - t0[0], cpu - t0[1]


def _cpu_ticks() -> tuple[int, int]:
    """(busy CPU ticks of the whole machine, CPU ticks of this process and its descendants).

    Linux only (/proc); (0, 0) elsewhere. The descendants are the joblib workers.
    """
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        busy = sum(fields) - fields[3] - fields[4]  # minus idle and iowait
        parent, ticks = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry)
            parent[pid] = int(rest[1])
            ticks[pid] = int(rest[11]) + int(rest[12])  # utime + stime
        ours, me = 0, os.getpid()
        for pid, t in ticks.items():
            p = pid
            while p > 1 and p != me:
                p = parent.get(p, 0)
            if p == me:
                ours += t
        return busy, ours
    except (OSError, ValueError, IndexError):
        return 0, 0


def timed_simulate(model: tj.Micromaser, n_collisions: int, n_traj: int, **kw) -> tuple:
    """(wall seconds, CPU seconds of the main process, result, others' load in cores).

    Others' load: the CPU the rest of the machine used during the call, in cores (busy
    time of all processors minus that of this process and its workers, over the wall time);
    0 on an otherwise idle machine. Workers that exited during the call are not counted.
    """
    b0, o0 = _cpu_ticks()
    t0 = clock()
    ens = tj.simulate(model, n_collisions, n_traj, seed=1, **kw)
    wall, cpu = since(t0)
    b1, o1 = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    others = max(0.0, ((b1 - b0) - (o1 - o0)) / hz / wall) if b1 else float("nan")
    return wall, cpu, ens, others


def fastest_simulate(repeat: int, *args, **kw) -> tuple:
    """``timed_simulate`` ``repeat`` times; the run with the smallest wall time."""
    return min((timed_simulate(*args, **kw) for _ in range(repeat)), key=lambda r: r[0])


def fixed_cost(model: tj.Micromaser) -> float:
    """CPU seconds of a ``simulate`` call without collisions (model set-up, dispatch, reduce)."""
    best = np.inf
    for _ in range(2):
        t0 = clock()
        tj.simulate(model, 0, 1, seed=0, n_jobs=1, checkpoints=[0])
        best = min(best, since(t0)[1])
    return best


def warm_up() -> None:
    small = fig5(20)
    for n_jobs in (1, 2):  # compile, start the loky pool, load the cached kernels there
        for _ in range(2):
            tj.simulate(small, 20, 200, seed=0, n_jobs=n_jobs, chunk_size=25, checkpoints=[0, 20])


def bench_cutoff(scale: float) -> list[dict]:
    print("## Trajectories vs cutoff (1 worker, chunks of 250)\n")
    print(
        f"{RATE_COLLISIONS} collisions per trajectory, records and rho at k = 0 and "
        f"{RATE_COLLISIONS}; fixed cost = a `simulate(model, 0, 1)` call (set-up). With one "
        "worker everything runs in this process: rates use its CPU time; wall/CPU > 1 shows "
        "time lost to other jobs on the machine.\n"
    )
    print(
        "| N | trajectories | CPU seconds | wall/CPU | trajectory-collisions/s | fixed cost [s] "
        "| trajectory-collisions/s without fixed cost | energy at k = 500 |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for n in CUTOFFS:
        model = fig5(n)
        m = max(50, int(TRAJECTORIES_PER_N[n] * scale))
        setup = fixed_cost(model)
        wall, cpu, ens, _ = timed_simulate(
            model,
            RATE_COLLISIONS,
            m,
            n_jobs=1,
            chunk_size=250,
            checkpoints=[0, RATE_COLLISIONS],
            rho_checkpoints="last",
        )
        work = m * RATE_COLLISIONS
        rate, rate_net = work / cpu, work / max(cpu - setup, 1e-9)
        e, se = ens.energy.mean[-1], ens.energy.stderr[-1]
        print(
            f"| {n} | {m:,} | {cpu:.2f} | {wall / cpu:.2f} | {rate:,.0f} | {setup:.3f} "
            f"| {rate_net:,.0f} | {e:.4f} ± {se:.4f} |",
            flush=True,
        )
        rows.append(dict(n=n, m=m, seconds=cpu, rate=rate, setup=setup, rate_net=rate_net))
    print()
    return rows


def bench_chunks(scale: float) -> list[dict]:
    m = max(200, int(CHUNK_TRAJECTORIES * scale))
    print(f"## Trajectories vs chunk size (N = 40, {m:,} x {RATE_COLLISIONS} collisions)\n")
    print(
        f"Wall-clock rates, best of {REPEAT_PARALLEL} runs (the workers run in other "
        "processes). Others' load = CPU used by the rest of the machine during that run, in "
        "cores: with 2 cores, anything above ~0.1 takes speed from the 2-worker runs.\n"
    )
    print(
        "| chunk size | chunks | n_jobs | wall seconds | main-process CPU s "
        "| trajectory-collisions/s | others' load [cores] |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    model = fig5(40)
    rows = []
    for chunk in CHUNK_SIZES:
        for n_jobs in (1, 2):
            dt, cpu, ens, others = fastest_simulate(
                REPEAT_PARALLEL,
                model,
                RATE_COLLISIONS,
                m,
                n_jobs=n_jobs,
                chunk_size=chunk,
                checkpoints=[0, RATE_COLLISIONS],
                rho_checkpoints="last",
            )
            rate = m * RATE_COLLISIONS / dt
            print(
                f"| {chunk} | {ens.n_chunks} | {n_jobs} | {dt:.2f} | {cpu:.2f} | {rate:,.0f} "
                f"| {others:.2f} |",
                flush=True,
            )
            rows.append(dict(chunk=chunk, n_jobs=n_jobs, seconds=dt, rate=rate))
    print()
    return rows


def bench_workers(scale: float) -> list[dict]:
    print(f"## Trajectories vs workers (chunks of 250, wall clock, best of {REPEAT_PARALLEL})\n")
    print(
        "| N | trajectories | n_jobs | wall seconds | main-process CPU s "
        "| trajectory-collisions/s | speed-up | others' load [cores] |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for n, m0 in WORKER_CASES.items():
        model = fig5(n)
        m = max(200, int(m0 * scale))
        base = None
        for n_jobs in (1, 2):
            dt, cpu, _, others = fastest_simulate(
                REPEAT_PARALLEL,
                model,
                RATE_COLLISIONS,
                m,
                n_jobs=n_jobs,
                chunk_size=250,
                checkpoints=[0, RATE_COLLISIONS],
                rho_checkpoints="last",
            )
            rate = m * RATE_COLLISIONS / dt
            base = base or rate
            print(
                f"| {n} | {m:,} | {n_jobs} | {dt:.2f} | {cpu:.2f} | {rate:,.0f} "
                f"| x{rate / base:.2f} | {others:.2f} |",
                flush=True,
            )
            rows.append(dict(n=n, n_jobs=n_jobs, seconds=dt, rate=rate))
    print()
    return rows


def records_bytes(ens) -> int:
    pt = ens.per_trajectory
    return sum(v.nbytes for v in vars(pt).values() if isinstance(v, np.ndarray))


def bench_memory(scale: float) -> list[dict]:
    ks = list(range(0, MEMORY_COLLISIONS + 1, 10))
    print(
        f"## Peak memory vs trajectories (N = 40, {MEMORY_COLLISIONS} collisions, "
        f"{len(ks)} checkpoints with records and rho, 2 workers, chunks of 250)\n"
    )
    print(
        "Peak = largest memory allocated in the main process during the call (tracemalloc, "
        "traced from the call's start); records = size of `ens.per_trajectory`.\n"
    )
    print(
        "| trajectories | seconds | peak memory [MiB] | records [MiB] | peak per trajectory [B] |"
    )
    print("|---:|---:|---:|---:|---:|")
    model = fig5(40)
    rows = []
    for m0 in MEMORY_TRAJECTORIES:
        m = max(100, int(m0 * scale))
        tracemalloc.start()
        t0 = time.perf_counter()
        ens = tj.simulate(
            model, MEMORY_COLLISIONS, m, seed=1, n_jobs=2, chunk_size=250, checkpoints=ks
        )
        dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rec = records_bytes(ens)
        print(
            f"| {m:,} | {dt:.2f} | {peak / 2**20:.1f} | {rec / 2**20:.1f} | {peak / m:,.0f} |",
            flush=True,
        )
        rows.append(dict(m=m, peak=peak, records=rec))
        del ens
    print()
    return rows


def best_of(fn, repeat: int) -> float:
    """Smallest CPU time of ``repeat`` calls (single-threaded, in this process)."""
    best = np.inf
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, since(t0)[1])
    return best


def bench_exact() -> list[dict]:
    print(f"## Exact solver vs cutoff (`ExactPropagator.step_dm`, {EXACT_STEPS} steps)\n")
    print(
        "set-up = `ExactPropagator(model)` (collision weights, exact loss blocks), best of 3 "
        "(1 at N = 320); step = one collision + loss on rho, best of 3 runs of "
        f"{EXACT_STEPS} steps after 50 steps away from the vacuum; CPU seconds, BLAS pinned to "
        "one thread.\n"
    )
    print("| N | set-up [s] | seconds per collision | collisions/s | growth of step |")
    print("|---:|---:|---:|---:|---|")
    tj.ExactPropagator(fig5(10))  # first-call costs (imports, scipy) out of the timing
    rows = []
    prev = None
    for n in CUTOFFS:
        model = fig5(n)
        setup = best_of(lambda m=model: tj.ExactPropagator(m), 1 if n >= 320 else 3)
        prop = tj.ExactPropagator(model)
        rho = tj.as_density_matrix(None, n)
        for _ in range(50):
            rho, _ = prop.step_dm(rho)

        def steps(rho=rho, prop=prop) -> None:
            r = rho
            for _ in range(EXACT_STEPS):
                r, _ = prop.step_dm(r)

        step = best_of(steps, 3) / EXACT_STEPS
        growth = "" if prev is None else f"x{step / prev[1]:.1f} for x{n / prev[0]:g} in N"
        print(f"| {n} | {setup:.4f} | {step:.3e} | {1 / step:,.0f} | {growth} |", flush=True)
        rows.append(dict(n=n, setup=setup, step=step))
        prev = (n, step)
    print()
    return rows


def plot(cut, chunks, memory, exact, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(10, 7.5))
    a = ax[0, 0]
    ns = [r["n"] for r in cut]
    a.loglog(ns, [r["rate"] for r in cut], "o-", label="whole call")
    a.loglog(ns, [r["rate_net"] for r in cut], "s--", label="without fixed cost (set-up)")
    a.set_xlabel("cutoff N")
    a.set_ylabel("trajectory-collisions / s (1 worker)")
    a.set_title("trajectories vs cutoff")
    a.legend()
    a = ax[0, 1]
    for n_jobs, marker in ((1, "o-"), (2, "s-")):
        rr = [r for r in chunks if r["n_jobs"] == n_jobs]
        a.semilogx([r["chunk"] for r in rr], [r["rate"] for r in rr], marker, label=f"{n_jobs}")
    a.set_xlabel("chunk size (trajectories)")
    a.set_ylabel("trajectory-collisions / s")
    a.set_title("N = 40: chunk size and workers (n_jobs)")
    a.set_ylim(bottom=0)
    a.legend(title="n_jobs")
    a = ax[1, 0]
    ms = [r["m"] for r in memory]
    a.loglog(ms, [r["peak"] / 2**20 for r in memory], "o-", label="peak (tracemalloc)")
    a.loglog(ms, [r["records"] / 2**20 for r in memory], "s--", label="per-trajectory records")
    a.set_xlabel("trajectories")
    a.set_ylabel("MiB in the main process")
    a.set_title("memory, 11 checkpoints, N = 40")
    a.legend()
    a = ax[1, 1]
    ns = [r["n"] for r in exact]
    a.loglog(ns, [r["step"] for r in exact], "o-", label="seconds per collision")
    a.loglog(ns, [r["setup"] for r in exact], "s--", label="set-up seconds")
    a.set_xlabel("cutoff N")
    a.set_ylabel("seconds")
    a.set_title("exact density-matrix solver")
    a.legend()
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for a in (ax[0, 0], ax[1, 1]):
        a.set_xticks(CUTOFFS)
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_formatter(NullFormatter())
    for a in ax.flat:
        a.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"trajectories {tj.__version__}: Fig. 5 case, {cpu_name()}, {os.cpu_count()} cores"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply trajectory counts")
    ap.add_argument(
        "--figure", type=Path, default=ROOT / "docs" / "figures" / "performance-scaling.png"
    )
    args = ap.parse_args()
    warnings.simplefilter("ignore", tj.StatisticsWarning)  # few chunks: known, irrelevant here
    # a single chunk leaves the jackknife's delete-a-group estimates empty (0/0 -> NaN errors
    # of purity and Fano factor); none of those is used here
    warnings.filterwarnings("ignore", "invalid value", RuntimeWarning, "trajectories")
    t_start = clock()
    print(f"# Scaling benchmark, trajectories {tj.__version__}\n")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}; load average at start: {load_average()}\n"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        warm_up()
        cut = bench_cutoff(args.scale)
        chunks = bench_chunks(args.scale)
        bench_workers(args.scale)
        memory = bench_memory(args.scale)
        exact = bench_exact()
    plot(cut, chunks, memory, exact, args.figure)
    wall, cpu = since(t_start)
    print(
        f"total {wall:.0f} s wall ({cpu:.0f} s CPU in this process); load average at end: "
        f"{load_average()}"
    )


if __name__ == "__main__":
    main()
