"""Cluster backends and adaptive stopping (issue 7)."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_agrees_with_exact

import trajectories as tj

MODEL = tj.Micromaser(theta=tj.fine_tuned_theta(15.6), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15,
                      cutoff=30)  # fmt: skip
KW = dict(seed=31, chunk_size=20, checkpoints=range(0, 41, 10), max_jumps=5)


def same(a, b):
    for name in ("energy", "purity", "fano", "ergotropy"):
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(x.mean, y.mean, equal_nan=True), name
        assert np.array_equal(x.stderr, y.stderr, equal_nan=True), name
    assert np.array_equal(a.rho, b.rho)
    assert np.array_equal(a.per_trajectory.n_mean, b.per_trajectory.n_mean)
    assert np.array_equal(a.per_trajectory.jump_times, b.per_trajectory.jump_times, equal_nan=True)


def test_dask_local_cluster_gives_numbers_identical_to_loky():
    distributed = pytest.importorskip("distributed", reason="dask is an optional extra ([dask])")
    loky = tj.simulate(MODEL, 40, 800, n_jobs=2, backend="loky", **KW)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster):
            dask = tj.simulate(MODEL, 40, 800, n_jobs=-1, backend="dask", **KW)
    assert dask.backend == "dask" and dask.n_chunks == 40
    same(loky, dask)


def test_dask_without_a_client_says_how_to_make_one():
    pytest.importorskip("distributed", reason="dask is an optional extra ([dask])")
    with pytest.raises(ValueError, match="needs a dask Client"):
        tj.simulate(MODEL, 40, 40, n_jobs=2, backend="dask", **KW)


def test_missing_extra_gives_a_one_line_error_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # 'import ray' fails, installed or not
    with pytest.raises(ValueError, match=r"needs the ray extra: pip install "
                       r"'micromaser-trajectories\[ray\]'") as info:  # fmt: skip
        tj.simulate(MODEL, 40, 40, n_jobs=2, backend="ray", **KW)
    assert "\n" not in str(info.value)


def test_adaptive_stopping_reaches_the_target_and_stops_reproducibly():
    exact = tj.solve_exact(MODEL, 40, store_states=True)
    full = tj.simulate(MODEL, 40, 4000, n_jobs=1, **KW)
    target = 2.0 * float(np.max(full.energy.stderr))  # reachable with ~1/4 of the trajectories
    runs = [tj.simulate(MODEL, 40, 4000, n_jobs=n, target_stderr=target, **KW) for n in (1, 2)]
    for ens in runs:
        assert ens.stop_reason == "target_stderr"
        assert np.max(ens.energy.stderr) <= target
        assert 20 * 20 <= ens.n_trajectories < 4000  # not before jackknife_groups chunks
        assert_agrees_with_exact(ens, exact)
    same(runs[0], runs[1])  # same stopping chunk on any number of workers
    # it stopped at the first chunk that met the target: one chunk fewer would not have
    fewer = tj.simulate(MODEL, 40, runs[0].n_trajectories - 20, n_jobs=1, **KW)
    assert np.max(fewer.energy.stderr) > target or fewer.n_chunks < 20
    assert full.stop_reason == "n_trajectories"


def test_adaptive_stopping_on_purity_uses_its_jackknife_error():
    ens = tj.simulate(MODEL, 40, 4000, target_stderr=0.01, target="purity", **KW)
    assert ens.stop_reason == "target_stderr"
    se = ens.purity.stderr[np.isfinite(ens.purity.mean)]
    assert np.max(se) <= 0.01 and ens.n_trajectories < 4000


def test_timeout_stops_early_says_so_and_the_partial_result_is_valid():
    ens = tj.simulate(MODEL, 40, 200_000, n_jobs=1, timeout=0.5, **KW)
    assert ens.stop_reason == "timeout"
    assert 0 < ens.n_trajectories < 200_000 and ens.n_trajectories % 20 == 0
    assert ens.per_trajectory.n_mean.shape[0] == ens.n_trajectories
    assert_agrees_with_exact(ens, tj.solve_exact(MODEL, 40, store_states=True))


def test_bad_adaptive_arguments():
    with pytest.raises(ValueError, match="target_stderr must be > 0"):
        tj.simulate(MODEL, 40, 40, target_stderr=0.0, **KW)
    with pytest.raises(ValueError, match="target must be one of"):
        tj.simulate(MODEL, 40, 40, target_stderr=0.1, target="entropy", **KW)
    with pytest.raises(ValueError, match="timeout must be"):
        tj.simulate(MODEL, 40, 40, timeout=-1.0, **KW)


def test_command_line_on_a_local_dask_cluster(tmp_path):
    pytest.importorskip("distributed", reason="dask is an optional extra ([dask])")
    proc = subprocess.run(
        [sys.executable, "-m", "trajectories", "run", "--cluster", "local:2", "--trajectories",
         "200", "--collisions", "30", "-o", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rec = tj.load(tmp_path / "default.h5")
    assert rec.ensemble.backend == "dask" and rec.ensemble.n_trajectories == 200


def test_cold_kernels_with_workers_run_the_first_chunk_here_and_give_the_same_numbers(
    monkeypatch,
):
    from trajectories.solvers.montecarlo import simulate as simulate_module

    warm = tj.simulate(MODEL, 40, 200, n_jobs=2, backend="loky", **KW)
    ran_here = []
    real_run_chunk = simulate_module.run_chunk

    def spy(*args, **kwargs):
        ran_here.append(args[-1])  # the chunk index (a worker appends to its own copy)
        return real_run_chunk(*args, **kwargs)

    monkeypatch.setattr(simulate_module, "kernels_cached", lambda *d: False)
    monkeypatch.setattr(simulate_module, "run_chunk", spy)
    cold = tj.simulate(MODEL, 40, 200, n_jobs=2, backend="loky", **KW)
    assert ran_here == [0]  # the other chunks ran in the workers
    same(warm, cold)
