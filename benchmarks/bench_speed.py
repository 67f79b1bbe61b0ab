"""Every trajectory path and the exact step, this checkout against another one, in one run.

The cases (all one worker unless said; records at the first and last checkpoints only):

- Jaynes-Cummings, the paper's Fig. 5 case (c = 1, theta = pi/sqrt(15), q = 0.25,
  gamma t_r = 0.1, nbar = 0.15) at N = 40 (1000 and 200 collisions; 1 and 2 workers) and
  N = 160 (the support tracking: the state does not fill the cutoff);
- the Rabi collision (the general sparse-Kraus path) at g/omega = 0.1 and 0.5, the latter
  with the suppressing modulation (the bare counter-rotating terms pump photons out of any
  cutoff), N = 40;
- a real beam: Poisson arrivals, a 5 % Gaussian theta spread (N = 40);
- a protocol: charge 500, store 500 collisions (N = 40);
- two cavities in series and simultaneously (N_A = N_B = 20);
- the exact solver's step (one collision and the exact loss interval on rho) at N = 80 and
  160, and its set-up.

Each case runs in a fresh Python process whose ``PYTHONPATH`` is the tree measured, with a
numba cache of its own for that tree (compiled by a first small run, not timed). The two
trees alternate case by case and each case is repeated (``--repeat``, the fastest kept), so
before and after share the machine's state. Trajectories are timed in CPU seconds of the
process for one worker and in wall-clock seconds for two.

Run:  python benchmarks/bench_speed.py [--before PATH] [--repeat 2] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import cpu_name, load_average  # noqa: E402  (benchmarks/ is the script folder)

HERE = Path(__file__).resolve().parent.parent

FIG5 = "theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15"
#: name -> (model expression, collisions, trajectories, workers); trajectories x --scale
TRAJECTORY_CASES = {
    "JC, Fig. 5, N = 40": (f"tj.Micromaser({FIG5}, cutoff=40)", 1000, 4000, 1),
    "JC, Fig. 5, N = 40, 200 collisions": (f"tj.Micromaser({FIG5}, cutoff=40)", 200, 20000, 1),
    "JC, Fig. 5, N = 40, 2 workers": (f"tj.Micromaser({FIG5}, cutoff=40)", 1000, 8000, 2),
    "JC, Fig. 5, N = 160": (f"tj.Micromaser({FIG5}, cutoff=160)", 1000, 4000, 1),
    "Rabi g/omega = 0.1, N = 40": (
        f"tj.Micromaser({FIG5}, cutoff=40, collision=tj.Rabi(0.1))",
        200,
        1000,
        1,
    ),
    "Rabi g/omega = 0.5 (suppressing modulation), N = 40": (
        f"tj.Micromaser({FIG5}, cutoff=40, "
        "collision=tj.Rabi(0.5, modulation=tj.Modulation.suppressing(40.0)))",
        500,
        2000,
        1,
    ),
    "Poisson arrivals, N = 40": (
        f"tj.Micromaser({FIG5}, cutoff=40, arrivals=tj.Arrivals.poisson())",
        1000,
        2000,
        1,
    ),
    "Gaussian theta spread 5 %, N = 40": (
        f"tj.Micromaser({FIG5}, cutoff=40, theta_spread=tj.ThetaSpread.gaussian(0.05))",
        1000,
        2000,
        1,
    ),
    "protocol: charge 500, store 500, N = 40": (
        f"tj.Protocol([tj.Stage(tj.Micromaser({FIG5}, cutoff=40), 500), "
        f"tj.Stage(tj.Micromaser({FIG5.replace('theta=tj.fine_tuned_theta(15)', 'theta=0.0')}"
        ", cutoff=40), 500)])",
        1000,
        2000,
        1,
    ),
    "network, series, N = 20 x 20": (
        "tj.Network(theta=(tj.fine_tuned_theta(15), tj.fine_tuned_theta(15)), q=0.25, c=1.0, "
        "gamma_tr=0.1, nbar=0.15, cutoff=(20, 20), topology='series')",
        200,
        2000,
        1,
    ),
    "network, simultaneous, N = 20 x 20": (
        "tj.Network(theta=(tj.fine_tuned_theta(15), tj.fine_tuned_theta(15)), q=0.25, c=1.0, "
        "gamma_tr=0.1, nbar=0.15, cutoff=(20, 20), topology='simultaneous')",
        200,
        2000,
        1,
    ),
}
EXACT_CUTOFFS = (80, 160)

_TRAJ = """
import json, time, warnings
import trajectories as tj
warnings.simplefilter("ignore")
model = {model}
k, m, jobs = {k}, {m}, {jobs}
kw = dict(checkpoints=[0, k], n_jobs=jobs, progress=False)
args = (model,) if isinstance(model, tj.Protocol) else (model, k)
tj.simulate(*args, n_trajectories=8 * jobs, seed=0, chunk_size=2, **kw)  # compile, workers
clock = time.process_time if jobs == 1 else time.perf_counter
t0 = clock()
ens = tj.simulate(*args, n_trajectories=m, seed=1, **kw)
dt = clock() - t0
k_total = int(ens.k[-1])
e = ens.total_energy if hasattr(ens, "total_energy") else ens.energy
mean, se = float(e.mean[-1]), float(e.stderr[-1])
print(json.dumps(dict(rate=m * k_total / dt, seconds=dt, energy=mean, stderr=se,
                      sampler=getattr(ens, "sampler", "root"), path=tj.__file__)))
"""

_EXACT = """
import json, time
import numpy as np
import trajectories as tj
from trajectories._threads import single_threaded_blas
from trajectories.solvers.exact import ExactPropagator
model = tj.Micromaser({fig5}, cutoff={n})
with single_threaded_blas():
    small = tj.Micromaser({fig5}, cutoff=10)  # load the compiled kernels, not timed
    ExactPropagator(small).step_dm(np.diag(np.r_[1.0, np.zeros(9)]).astype(complex))
    rho = np.zeros((model.cutoff, model.cutoff), complex); rho[0, 0] = 1
    t0 = time.process_time(); prop = ExactPropagator(model); prop.step_dm(rho)
    setup = time.process_time() - t0  # with the first step: layouts may be built on first use
    for _ in range(50):
        rho, _ = prop.step_dm(rho)
    best = np.inf
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(200):
            rho, _ = prop.step_dm(rho)
        best = min(best, (time.process_time() - t0) / 200)
print(json.dumps(dict(step=best, setup=setup)))
"""


def _run(tree: Path, code: str, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run(  # in a neutral folder: the current one would come first on sys.path
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cache_for(tree: Path) -> Path:
    tag = hashlib.sha1(str(tree.resolve()).encode()).hexdigest()[:10]
    path = Path(tempfile.gettempdir()) / f"bench_speed_numba_{tag}"
    path.mkdir(exist_ok=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="a checkout to compare with (e.g. a worktree)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the trajectories")
    ap.add_argument("--only", nargs="*", help="substrings of the case names to run")
    args = ap.parse_args()
    trees = {"after": HERE} if args.before is None else {"before": args.before, "after": HERE}
    caches = {name: _cache_for(tree) for name, tree in trees.items()}
    print("# speed of every path, before and after, in one run")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"numpy {np.__version__}; load average at the start {load_average()}")  # fmt: skip
    print("trees: " + ", ".join(f"{k} = {v}" for k, v in trees.items()) + "\n")
    cols = " | ".join(trees)
    print(f"| case | {cols} | after/before | energy (last) ± se, per tree |")
    print("|---|" + "---:|" * (len(trees) + 1) + "---|")
    for name, (model, k, m, jobs) in TRAJECTORY_CASES.items():
        if args.only and not any(s in name for s in args.only):
            continue
        code = _TRAJ.format(model=model, k=k, m=max(int(m * args.scale), 4 * jobs), jobs=jobs)
        best: dict = {}
        for _ in range(args.repeat):
            for tree_name, tree in trees.items():
                r = _run(tree, code, caches[tree_name])
                old = best.get(tree_name)
                if "error" in r or old is None or r["rate"] > old.get("rate", 0):
                    best[tree_name] = r if old is None or "error" not in r else old
        cells = [
            f"{best[t]['rate'] / 1e6:.3f} M/s" if "rate" in best[t] else best[t]["error"][:40]
            for t in trees
        ]
        ratio = (
            f"x{best['after']['rate'] / best['before']['rate']:.2f}"
            if len(trees) == 2 and all("rate" in best[t] for t in trees)
            else ""
        )
        energies = "; ".join(
            f"{best[t]['energy']:.4f} ± {best[t]['stderr']:.4f} ({best[t]['sampler']})"
            for t in trees
            if "energy" in best[t]
        )
        print(f"| {name} | {' | '.join(cells)} | {ratio} | {energies} |", flush=True)
    if args.only and not any("exact" in s for s in args.only):
        return
    print("\n| exact step (Fig. 5 case) | " + cols + " | after/before |")
    print("|---|" + "---:|" * (len(trees) + 1))
    for n in EXACT_CUTOFFS:
        code = _EXACT.format(fig5=FIG5, n=n)
        best = {}
        for _ in range(args.repeat):
            for tree_name, tree in trees.items():
                r = _run(tree, code, caches[tree_name])
                if "step" in r and ("step" not in best.get(tree_name, {}) or
                                    r["step"] < best[tree_name]["step"]):  # fmt: skip
                    best[tree_name] = r
                best.setdefault(tree_name, r)
        for what, unit, scale in (("step", "ms", 1e3), ("setup", "s", 1.0)):
            cells = [
                f"{best[t][what] * scale:.4f} {unit}" if what in best[t] else "failed"
                for t in trees
            ]
            ratio = (
                f"x{best['before'][what] / best['after'][what]:.2f} faster"
                if len(trees) == 2 and all(what in best[t] for t in trees)
                else ""
            )
            print(f"| {what} at N = {n} | {' | '.join(cells)} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
