"""Time to first result (issue 20): a cold ``micromaser run`` (empty numba cache) against a warm.

Each repetition makes a fresh numba cache (``NUMBA_CACHE_DIR`` in a new temporary folder)
and a fresh run folder, runs ``micromaser run -q`` there (cold: every kernel compiled), then
``micromaser run -q --force`` with the same cache (warm: kernels loaded from it);
repetitions alternate cold and warm so that a change of load on the machine hits both.
The command is the console script's own code (``from trajectories.runs.cli import main``)
in a new interpreter, with this checkout first on ``PYTHONPATH``. Wall seconds and the CPU
seconds of the child are printed, and the gap cold - warm.

The breakdown (``--breakdown``, on by default) runs the cold command once more in one
process that listens to numba's ``numba:compile`` events: each dispatcher compiled, its
compile CPU seconds with the compiles it triggers (callees) and without them (exclusive),
and the part of the exclusive time spent inside LLVM (optimisation passes and machine-code
generation, from timing llvmlite's C calls). numba's own overloads of NumPy functions
(``np.empty`` ...) are summed on one line.

``--checkout PATH`` times another checkout of the package (e.g. an export of an older commit)
with the same script, alternated with this one, for a before/after in one sitting.

``--run-args`` adds options to the command, e.g. ``--run-args="--jobs 2 --trajectories 40"``.

Run:  python benchmarks/bench_cold.py [--reps 2] [--preset default] [--no-breakdown]
                                      [--checkout PATH] [--run-args ARGS]
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_name, load_average  # noqa: E402  (benchmarks/ is the script folder)

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from trajectories.runs.cli import main; sys.exit(main())"


def child_env(cache: str, root: Path = ROOT) -> dict[str, str]:
    """The environment of a run: the checkout first on the path, the given numba cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env["NUMBA_CACHE_DIR"] = cache
    return env


def timed_run(args: list[str], cwd: str, cache: str, root: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``micromaser`` command in a new interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, env=child_env(cache, root),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def cold_warm(command: list[str], reps: int, roots: list[Path]) -> None:
    """Alternated cold and warm runs of each checkout; one line each, then the best gaps."""
    print("| checkout | rep | cold wall [s] | cold CPU [s] | warm wall [s] | warm CPU [s] "
          "| gap wall [s] |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    times: dict[Path, list] = {root: [] for root in roots}
    for r in range(reps):
        for root in roots:
            cache = tempfile.mkdtemp(prefix="cold-cache-")
            folder = tempfile.mkdtemp(prefix="cold-run-")
            try:
                cold = timed_run(command, folder, cache, root)
                warm = timed_run([*command, "--force"], folder, cache, root)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
                shutil.rmtree(folder, ignore_errors=True)
            times[root].append((cold, warm))
            print(f"| {describe(root)} | {r + 1} | {cold[0]:.2f} | {cold[1]:.2f} | {warm[0]:.2f} "
                  f"| {warm[1]:.2f} | {cold[0] - warm[0]:.2f} |")  # fmt: skip
    print()
    for root, pairs in times.items():
        if not pairs:
            continue
        c, w = min(p[0][0] for p in pairs), min(p[1][0] for p in pairs)
        print(f"{describe(root)}: best cold {c:.2f} s, best warm {w:.2f} s wall: gap {c - w:.2f} s")


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def describe(root: Path) -> str:
    """The checkout's commit (``+`` if its package has changes), or its folder if not in git."""
    if _git(root, "rev-parse", "--show-toplevel") != str(root):
        return str(root)
    dirty = _git(root, "status", "--porcelain", "--", "trajectories")
    return _git(root, "rev-parse", "--short", "HEAD") + ("+" if dirty else "")


def breakdown(command: list[str]) -> None:
    """Run the cold command in a child that records every compile (see the module docstring)."""
    cache = tempfile.mkdtemp(prefix="cold-cache-")
    folder = tempfile.mkdtemp(prefix="cold-run-")
    try:
        subprocess.run([sys.executable, __file__, "--child", shlex.join(command)], cwd=folder,
                       env=child_env(cache), check=True)  # fmt: skip
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def _child(command: list[str]) -> None:
    """In the child: listen to the compiles, run the command, print the table."""
    import numba.core.event as ev

    llvm = [0.0]  # CPU seconds inside llvmlite's C calls
    try:
        from llvmlite.binding import ffi

        wrapper = ffi._lib_fn_wrapper
        call = wrapper.__call__

        def timed_call(self, *a, **k):
            t = time.process_time()
            try:
                return call(self, *a, **k)
            finally:
                llvm[0] += time.process_time() - t

        wrapper.__call__ = timed_call
    except (ImportError, AttributeError):  # another llvmlite: no LLVM column
        llvm = None

    stack: list[list[float]] = []
    rows: list[tuple[str, str, float, float, float]] = []

    class Compiles(ev.Listener):
        def on_start(self, event):
            stack.append([time.process_time(), 0.0, llvm[0] if llvm else 0.0, 0.0])

        def on_end(self, event):
            t0, child, l0, lchild = stack.pop()
            total = time.process_time() - t0
            ltotal = (llvm[0] - l0) if llvm else 0.0
            if stack:
                stack[-1][1] += total
                stack[-1][3] += ltotal
            fn = event.data["dispatcher"].py_func
            module = fn.__module__ or ""
            name = module.rsplit(".", 1)[-1] + "." + fn.__qualname__
            if not module.startswith("trajectories"):
                name = "numba overloads (np.empty, np.zeros, min, ...)"
            kinds = sorted({str(getattr(a, "dtype", "")) for a in event.data["args"]} - {""})
            rows.append((name, ",".join(k for k in kinds if "complex" in k or "float" in k),
                         total, total - child, ltotal - lchild))  # fmt: skip

    ev.register("numba:compile", Compiles())
    import trajectories
    from trajectories.runs.cli import main

    t0 = time.process_time()
    main(command)
    run = time.process_time() - t0

    by = collections.OrderedDict()
    for name, kinds, total, excl, lex in rows:
        n, t, e, le, k = by.get(name, (0, 0.0, 0.0, 0.0, set()))
        by[name] = (
            n + 1,
            max(t, total),
            e + excl,
            le + lex,
            k | set(filter(None, kinds.split(","))),
        )
    print(f"\n# compiles of a cold 'micromaser {shlex.join(command)}' (one process, CPU s), "
          f"trajectories {trajectories.__version__}")  # fmt: skip
    print(
        "| dispatcher (in compile order) | specialisations | array dtypes | with callees "
        "| exclusive | of which LLVM |"
    )
    print("|---|---:|---|---:|---:|---:|")
    for name, (n, total, excl, lex, kinds) in by.items():
        print(f"| {name} | {n} | {' '.join(sorted(kinds))} | {total:.2f} | {excl:.2f} | "
              f"{lex:.2f} |")  # fmt: skip
    compile_cpu = sum(r[3] for r in rows)
    llvm_cpu = sum(r[4] for r in rows)
    print(f"\ncompiling: {compile_cpu:.2f} s CPU ({llvm_cpu:.2f} s in LLVM) of {run:.2f} s for "
          f"the whole command in this process; {len(rows)} compiles")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2, help="cold/warm pairs (default 2)")
    ap.add_argument("--preset", default="default", help="the preset run (default 'default')")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the per-kernel table")
    ap.add_argument("--checkout", type=Path, help="another checkout to time, alternated")
    ap.add_argument("--run-args", default="", help="more options of 'micromaser run'")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(shlex.split(args.child))
        return
    command = ["run", "--preset", args.preset, "-q", *shlex.split(args.run_args)]
    import numba

    roots = [ROOT] + ([args.checkout.resolve()] if args.checkout else [])
    print(f"# time to first result: cold against warm 'micromaser {shlex.join(command)}', "
          f"checkouts {', '.join(describe(r) for r in roots)}")  # fmt: skip
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numba {numba.__version__}, load average {load_average()}, wall and CPU seconds\n"
    )
    cold_warm(command, args.reps, roots)
    if not args.no_breakdown:
        breakdown(command)
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
