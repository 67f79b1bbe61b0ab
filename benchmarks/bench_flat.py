"""Ten million trajectories in flat memory and disk (issue 21).

Fig. 5 case (c = 1, theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1, nbar = 0.15), N = 40,
100 collisions, default 101 checkpoints, rho at the last one. Each case runs in a fresh
process; a thread samples the resident memory (RSS) of the driver and of every worker
process (psutil) every 0.2 s, and the disk used by the run's files (result file and chunk
directory). Energy and purity at k = 100 are compared with the exact solver (z = difference
over the standard error).

Cases (``--case``):

- ``api``: ``tj.simulate(..., n_jobs=2, records="none")`` (the Python API; nothing on disk);
- ``cli``: ``micromaser run`` of a run file with ``records = "last"`` on 2 workers (the
  records stream to the result file; chunks are absorbed into a saved state);
- ``dask``: ``tj.simulate(..., backend="dask", records="none")`` on a
  ``distributed.LocalCluster`` of 2 single-threaded workers.

Run:  python benchmarks/bench_flat.py --case api --trajectories 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _common import cpu_name  # noqa: E402  (benchmarks/ is the script folder)

HERE = Path(__file__).resolve().parent
MODEL = dict(theta=None, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=40)


class Sampler(threading.Thread):
    """Peak RSS of this process and of its descendants (per process), and peak disk use."""

    def __init__(self, folder: Path | None, period: float = 0.2, pid: int | None = None):
        super().__init__(daemon=True)
        self.folder, self.period, self.pid = folder, period, pid
        self.driver = 0
        self.workers: dict[int, int] = {}
        self.disk = 0
        self.stop = threading.Event()

    def run(self) -> None:
        me = psutil.Process(self.pid)
        while not self.stop.is_set():
            self.sample(me)
            time.sleep(self.period)
        self.sample(me)

    def sample(self, me) -> None:
        try:
            self.driver = max(self.driver, me.memory_info().rss)
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                self.workers[child.pid] = max(self.workers.get(child.pid, 0), rss)
        except psutil.Error:
            pass
        if self.folder is not None:
            self.disk = max(self.disk, _du(self.folder))


def _du(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def _model():
    import trajectories as tj

    kw = dict(MODEL, theta=tj.fine_tuned_theta(15))
    return tj.Micromaser(**kw)


def _compare(ens) -> dict:
    import trajectories as tj

    ex = tj.solve_exact(ens.model, int(ens.k[-1]), checkpoints=[int(ens.k[-1])])
    out = {}
    for name in ("energy", "purity"):
        est = getattr(ens, name)
        exact = float(getattr(ex, name)[-1])
        out[name] = dict(
            mean=float(est.mean[-1]), stderr=float(est.stderr[-1]), exact=exact,
            z=float((est.mean[-1] - exact) / est.stderr[-1]),
        )  # fmt: skip
    return out


def run_api(m: int, k: int, backend: str) -> dict:
    import warnings

    import trajectories as tj

    model = _model()
    cluster = client = None
    if backend == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
        client = Client(cluster)
    tj.simulate(model, k, 2000, seed=1, n_jobs=2, backend=backend, records="none",
                rho_checkpoints="last", progress=False)  # warm: compiled, pool started  # fmt: skip
    sampler = Sampler(None)
    sampler.start()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = tj.simulate(model, k, m, seed=2026, n_jobs=2, backend=backend, records="none",
                          rho_checkpoints="last", chunk_size=500, progress=False)  # fmt: skip
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    if client is not None:
        client.close()
        cluster.close()
    return dict(wall_s=wall, driver_rss=sampler.driver, worker_rss=sorted(sampler.workers.values()),
                disk=0, rate=m * k / wall, **_compare(ens))  # fmt: skip


def run_cli(m: int, k: int) -> dict:
    import trajectories as tj

    folder = Path(tempfile.mkdtemp(prefix="bench_flat_"))
    run = folder / "flat.toml"
    theta = tj.fine_tuned_theta(15)
    run.write_text(
        "[model]\n"
        f"theta = {theta!r}\nq = 0.25\nc = 1.0\ngamma_tr = 0.1\nnbar = 0.15\ncutoff = 40\n"
        "[run]\n"
        f"collisions = {k}\ntrajectories = {m}\nseed = 2026\njobs = 2\n"
        'rho_checkpoints = "last"\nrecords = "last"\nchunk_size = 500\nexact = false\n'
        f'[output]\nfolder = "{folder}"\nname = "flat"\n'
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "trajectories", "run", str(run), "-q"],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    sampler = Sampler(folder, pid=proc.pid)  # the driver is the command's process
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(err[-2000:])
    rec = tj.load(folder / "flat.h5")
    files = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    return dict(wall_s=wall, driver_rss=sampler.driver, worker_rss=sorted(sampler.workers.values()),
                disk_peak=sampler.disk, files=files, rate=m * k / wall, folder=str(folder),
                **_compare(rec.ensemble))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("api", "cli", "dask"), default="api")
    ap.add_argument("--trajectories", type=int, default=10**6)
    ap.add_argument("--collisions", type=int, default=100)
    args = ap.parse_args()
    print(f"# {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.case == "cli":
        out = run_cli(args.trajectories, args.collisions)
    else:
        out = run_api(args.trajectories, args.collisions, "dask" if args.case == "dask" else "loky")
    out.update(case=args.case, trajectories=args.trajectories, collisions=args.collisions)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
