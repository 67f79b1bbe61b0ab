"""Runs whose memory and disk do not grow with the number of trajectories (issue 21).

Result files keep the record columns and the count histograms; a run with a chunk directory
streams its records into the file that becomes the result and keeps the accumulator's state
instead of its chunks; a resume after SIGKILL is bit-identical; tj.load reads large records
lazily; a dask cluster gives the numbers loky gives.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import trajectories as tj
from trajectories.runs import chunkstore, io
from trajectories.runs.cli import main
from trajectories.runs.records import RecordView
from trajectories.solvers.montecarlo.reductions import HISTOGRAM_COUNTS

MODEL = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=0.8, gamma_tr=0.1, nbar=0.15,
                      cutoff=20)  # fmt: skip
RUN = dict(seed=3, chunk_size=3, checkpoints=range(0, 31, 10), max_jumps=3, progress=False)
RECORDS = (
    "n_mean", "n2_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "fock", "alive",
    "jump_times", "jump_kinds", "n_jumps", "collision_energy", "bath_energy",
)  # fmt: skip

RUNFILE = """
[model]
theta = "pi/sqrt(15)"
q = 0.25
c = 1.0
gamma_tr = 0.1
nbar = 0.15
cutoff = 20

[run]
trajectories = {trajectories}
collisions = 40
seed = 5
chunk_size = {chunk}
checkpoints = {{ every = 10 }}
rho_checkpoints = "last"
leakage_tol = 1e-3
{records}
exact = false

[output]
folder = "{folder}"
name = "r"
plots = []
"""


@pytest.fixture(autouse=True)
def state_after_every_chunk(monkeypatch):
    """In this process, the state is written after every chunk (not once a second)."""
    monkeypatch.setattr(chunkstore, "STATE_SECONDS", 0.0)


def runfile(tmp_path: Path, name="run.toml", *, trajectories=400, chunk=20, records="last",
            folder=None) -> Path:  # fmt: skip
    path = tmp_path / name
    line = "" if records is None else f"records = {records!r}".replace("'", '"')
    path.write_text(RUNFILE.format(trajectories=trajectories, chunk=chunk, records=line,
                                   folder=folder or tmp_path / "out"))  # fmt: skip
    return path


def run_cli(capsys, *args) -> int:
    code = main([str(a) for a in args])
    capsys.readouterr()
    return code


def same_ensemble(a, b, records=True) -> None:
    """Estimates, rho, histograms and (optionally) every record equal bit for bit."""
    for name in ("energy", "purity", "fano", "ergotropy"):
        for part in ("mean", "stderr"):
            x, y = getattr(getattr(a, name), part), getattr(getattr(b, name), part)
            assert np.array_equal(x, y, equal_nan=True), name
    assert np.array_equal(a.rho, b.rho) and np.array_equal(a.leakage, b.leakage)
    assert a.n_trajectories == b.n_trajectories
    for name in HISTOGRAM_COUNTS:
        assert a.count_histograms.lo[name] == b.count_histograms.lo[name], name
        assert np.array_equal(a.count_histograms.h[name], b.count_histograms.h[name]), name
    if records:
        assert np.array_equal(a.record_k, b.record_k)
        assert (a.per_trajectory is None) == (b.per_trajectory is None)
        if a.per_trajectory is not None:
            for name in RECORDS:
                x = np.asarray(getattr(a.per_trajectory, name))
                y = np.asarray(getattr(b.per_trajectory, name))
                assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name


# ------------------------------------------------------------------------- result files
@pytest.fixture(scope="module")
def ensembles():
    return {r: tj.simulate(MODEL, 30, 60, records=r, **RUN)
            for r in ("all", "last", "none", (10, 30))}  # fmt: skip


@pytest.mark.parametrize("records", ["all", "last", "none", (10, 30)])
def test_save_load_keeps_record_columns_histograms_and_no_records(tmp_path, ensembles, records):
    ens = ensembles[records]
    back = tj.load(tj.save(tmp_path / "r.h5", ensemble=ens)).ensemble
    same_ensemble(back, ens)
    assert np.array_equal(back.record_index, ens.record_index)
    with h5py.File(tmp_path / "r.h5", "r") as f:
        g = f["ensemble"]
        # version-1 readers would take the columns for every checkpoint: refused by them
        assert f.attrs["format_version"] == (1 if records == "all" else 2)
        assert f.attrs["format_minor"] == io.FORMAT_MINOR
        assert ("per_trajectory" in g) == (records != "none")
        if records != "none":  # the records' own k: their columns' checkpoints
            assert list(g["per_trajectory/k"][()]) == list(ens.record_k)
        assert g["count_histograms/fock"].attrs["lo"] == ens.count_histograms.lo["fock"]
        assert "description" in g["count_histograms/net"].attrs


def test_every_record_choice_has_the_same_estimates_and_histograms(ensembles):
    full = ensembles["all"]
    for records in ("last", "none", (10, 30)):
        same_ensemble(ensembles[records], full, records=False)
    last = ensembles["last"].per_trajectory
    assert np.array_equal(last.fock[:, 0], full.per_trajectory.fock[:, -1])


def test_files_without_the_new_datasets_load_as_before(tmp_path, ensembles):
    path = tj.save(tmp_path / "r.h5", ensemble=ensembles["all"])
    with h5py.File(path, "r+") as f:  # what a file of format 1.1 holds
        for name in ("record_index", "k_record", "count_histograms"):
            del f["ensemble"][name]
        f.attrs["format_minor"] = 1
    ens = tj.load(path).ensemble
    assert ens.record_index is None and ens.count_histograms is None
    assert np.array_equal(ens.record_k, ens.k)
    assert np.array_equal(ens.per_trajectory.fock, ensembles["all"].per_trajectory.fock)


def test_lazy_records_are_array_like_and_read_on_access(tmp_path, ensembles):
    ens = ensembles["all"]
    path = tj.save(tmp_path / "r.h5", ensemble=ens)
    lazy = tj.load(path, lazy=True).ensemble
    per, ref = lazy.per_trajectory, ens.per_trajectory
    fock = per.fock
    assert isinstance(fock, RecordView)
    assert fock.shape == ref.fock.shape and fock.dtype == ref.fock.dtype
    assert len(fock) == 60 and fock.ndim == 2 and fock.nbytes == ref.fock.nbytes
    assert np.array_equal(fock[5:9, 1], ref.fock[5:9, 1])
    assert np.array_equal(fock[[0, 3]], ref.fock[[0, 3]])
    assert np.array_equal(np.asarray(fock), ref.fock)
    assert np.array_equal(fock >= 0, ref.fock >= 0)  # operators and ufuncs
    assert np.array_equal(fock.sum(axis=0), ref.fock.sum(axis=0))  # numpy's methods
    assert np.array_equal(per.jumps_overflow, ref.jumps_overflow)
    assert np.array_equal(per.qubits_energy, ref.qubits_energy)
    # eager below the size limit (the default), lazy above it
    assert isinstance(tj.load(path).ensemble.per_trajectory.fock, np.ndarray)
    io_limit = io.LAZY_RECORD_BYTES
    try:
        io.LAZY_RECORD_BYTES = 1000
        assert isinstance(tj.load(path).ensemble.per_trajectory.fock, RecordView)
    finally:
        io.LAZY_RECORD_BYTES = io_limit


def test_counting_statistics_work_on_lazily_read_records(tmp_path, ensembles):
    ens = ensembles["all"]
    lazy = tj.load(tj.save(tmp_path / "r.h5", ensemble=ens), lazy=True).ensemble
    for count, kw in (("g", {}), ("net", {}), ("g", {"efficiency": 0.7, "seed": 1})):
        a = tj.counting.from_ensemble(lazy, count, **kw)
        b = tj.counting.from_ensemble(ens, count, **kw)
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, np.ndarray):
                assert np.array_equal(x, y, equal_nan=True), (count, f.name)


# ------------------------------------------------------------ streamed records, saved state
def test_a_cli_run_streams_its_records_into_the_result(tmp_path, capsys):
    assert run_cli(capsys, "run", runfile(tmp_path), "-q") == 0
    ens = tj.load(tmp_path / "out" / "r.h5").ensemble
    ref = tj.simulate(tj.load(tmp_path / "out" / "r.h5").model, 40, 400, seed=5, chunk_size=20,
                      checkpoints=range(0, 41, 10), rho_checkpoints="last", records="last",
                      progress=False)  # fmt: skip
    same_ensemble(ens, ref)
    assert ens.per_trajectory.fock.shape == (400, 1)
    with h5py.File(tmp_path / "out" / "r.h5", "r") as f:
        ds = f["ensemble/per_trajectory/fock"]
        assert ds.maxshape[0] is None and ds.chunks[0] == 20 and ds.compression == "gzip"
    assert not (tmp_path / "out" / "r.chunks").exists()


def test_records_option_and_run_file_key_reach_the_run_and_its_identity(tmp_path, capsys):
    source = runfile(tmp_path, records=None)
    assert run_cli(capsys, "run", source, "-q", "--records", "10,40") == 0
    ens = tj.load(tmp_path / "out" / "r.h5").ensemble
    assert list(ens.record_k) == [10, 40]
    assert run_cli(capsys, "run", source, "-q", "--records", "none", "--force") == 0
    rec = tj.load(tmp_path / "out" / "r.h5")
    assert rec.ensemble.per_trajectory is None and rec.metadata["request"]["records"] == "none"
    with pytest.raises(SystemExit):
        main(["run", str(source), "--records", "first"])
    assert run_cli(capsys, "run", source, "-q", "--records", "15", "--force") == 2  # not a k


def test_a_resume_with_other_records_is_refused(tmp_path, capsys, monkeypatch):
    def interrupt(self, acc, chunk):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(chunkstore.ChunkDirectory, "absorbed", interrupt)
        assert run_cli(capsys, "run", runfile(tmp_path), "-q") == 130
    from trajectories.runs import runner

    req = runner.RunRequest.from_manifest(
        chunkstore.ChunkDirectory(tmp_path / "out" / "r.chunks").manifest["request"]
    )
    with pytest.raises(runner.RunError, match="other settings"):
        runner.execute(dataclasses.replace(req, records="all"), resume=True, progress=False)


@pytest.mark.parametrize("records", ["last", "all"])
def test_a_kill_between_the_records_and_the_state_resumes_bit_identically(
    tmp_path, capsys, monkeypatch, records
):
    clean = runfile(tmp_path, "clean.toml", records=records, folder=tmp_path / "clean")
    assert run_cli(capsys, "run", clean, "-q") == 0
    original = chunkstore.ChunkDirectory.absorbed
    calls = {"n": 0}

    def absorbed(self, acc, chunk):  # the records of chunk 6 are written, its state is not
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        original(self, acc, chunk)

    with monkeypatch.context() as m:
        m.setattr(chunkstore.ChunkDirectory, "absorbed", absorbed)
        assert run_cli(capsys, "run", runfile(tmp_path, records=records), "-q") == 130
    chunks = tmp_path / "out" / "r.chunks"
    assert chunkstore.ChunkDirectory(chunks).saved_chunks() == 6
    with h5py.File(chunks / "result.h5.part", "r") as f:
        assert f["ensemble/per_trajectory/fock"].shape[0] == 7 * 20  # one chunk too many
    assert run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q") == 0
    same_ensemble(tj.load(tmp_path / "out" / "r.h5").ensemble,
                  tj.load(tmp_path / "clean" / "r.h5").ensemble)  # fmt: skip


@pytest.mark.parametrize("damage", ["state", "records"])
def test_a_damaged_state_or_records_file_is_recomputed_bit_identically(
    tmp_path, capsys, monkeypatch, caplog, damage
):
    clean = runfile(tmp_path, "clean.toml", folder=tmp_path / "clean")
    assert run_cli(capsys, "run", clean, "-q") == 0
    original = chunkstore.ChunkDirectory.absorbed
    calls = {"n": 0}

    def absorbed(self, acc, chunk):
        original(self, acc, chunk)
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(chunkstore.ChunkDirectory, "absorbed", absorbed)
        assert run_cli(capsys, "run", runfile(tmp_path), "-q") == 130
    chunks = tmp_path / "out" / "r.chunks"
    target = chunks / ("state.npz" if damage == "state" else "result.h5.part")
    target.write_bytes(target.read_bytes()[:200])
    caplog.set_level("WARNING", logger="trajectories")
    assert run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q") == 0
    assert any("recomputing" in r.getMessage() for r in caplog.records)
    same_ensemble(tj.load(tmp_path / "out" / "r.h5").ensemble,
                  tj.load(tmp_path / "clean" / "r.h5").ensemble)  # fmt: skip


def test_sigkill_mid_run_then_resume_is_bit_identical(tmp_path, capsys):
    kw = dict(trajectories=3000, chunk=20, records="last")
    clean = runfile(tmp_path, "clean.toml", folder=tmp_path / "clean", **kw)
    assert run_cli(capsys, "run", clean, "-q") == 0
    source = runfile(tmp_path, **kw)
    env = {**os.environ, "PYTHONPATH": str(Path(tj.__file__).parents[1])}
    cmd = [sys.executable, "-m", "trajectories", "run", str(source), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    store = chunkstore.ChunkDirectory(tmp_path / "out" / "r.chunks")
    deadline = time.time() + 120
    try:
        while time.time() < deadline and store.saved_chunks() < 10 and proc.poll() is None:
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / "out" / "r.h5").exists(), "the run finished before the kill"
    assert 10 <= store.saved_chunks() < 150
    assert run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q") == 0
    same_ensemble(tj.load(tmp_path / "out" / "r.h5").ensemble,
                  tj.load(tmp_path / "clean" / "r.h5").ensemble)  # fmt: skip


def _sizes(folder: Path) -> dict[str, int]:
    out = {}
    for p in list(folder.rglob("*")):
        try:
            if p.is_file():
                out[str(p.relative_to(folder))] = p.stat().st_size
        except FileNotFoundError:  # removed while listed
            pass
    return out


def _run_sampling_disk(capsys, source: Path, folder: Path) -> list[dict[str, int]]:
    samples: list[dict[str, int]] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            samples.append(_sizes(folder))
            time.sleep(0.01)

    t = threading.Thread(target=poll)
    t.start()
    try:
        assert run_cli(capsys, "run", source, "-q") == 0
    finally:
        stop.set()
        t.join()
    samples.append(_sizes(folder))
    return samples


def test_disk_use_of_a_run_is_bounded_independently_of_its_size(tmp_path, capsys):
    """records="last": while it runs, the run's files are its manifest, its state, its
    streamed records (b bytes per trajectory, b the uncompressed bytes of one trajectory's
    records at one checkpoint) and at most two chunk files (one worker); the part that is
    not records is the same for M and 4M trajectories."""
    worst = {}
    for m in (800, 3200):  # 40 and 160 chunks: 20 jackknife groups in both
        folder = tmp_path / f"m{m}"
        samples = _run_sampling_disk(capsys, runfile(tmp_path, f"r{m}.toml", trajectories=m,
                                                     folder=folder), folder)  # fmt: skip
        per = tj.load(folder / "r.h5").ensemble.per_trajectory
        b = sum(np.asarray(getattr(per, f.name)).nbytes for f in dataclasses.fields(per)) / m
        assert b < 120  # one checkpoint: <n>, <n^2>, counts, Fock sample, books, flags
        during = [s for s in samples if any(k.startswith("r.chunks/") for k in s)]
        assert len(during) > 5, "too few samples while the run ran"
        other = []
        for s in during:
            chunk_files = [k for k in s if k.startswith("r.chunks/chunk-")]
            assert len(chunk_files) <= 2, chunk_files
            assert s.get("r.chunks/result.h5.part", 0) <= b * m + 256 * 1024
            # the records' file, before and after it is renamed to the result (the last
            # samples can see r.h5 while the chunk directory is being removed)
            records = ("r.chunks/result.h5.part", "r.h5")
            other.append(sum(v for k, v in s.items() if k not in records))
        state = max(s.get("r.chunks/state.npz", 0) for s in during)
        chunk = max((v for s in during for k, v in s.items() if "chunk-" in k), default=0)
        # manifest and lock (a few kB), a state and its .tmp while it is replaced, two chunks
        worst[m] = 2 * state + 2 * chunk + 8192
        assert max(other) <= worst[m], during[int(np.argmax(other))]
        final = (folder / "r.h5").stat().st_size
        assert final <= b * m + 512 * 1024  # records (compressed) + estimates, rho, histograms
    # the bound itself does not grow with M (the sampled worst case depends on the timing of
    # the samples: whether one caught a state being replaced while two chunks were on disk)
    print(worst)
    assert worst[3200] <= 1.05 * worst[800]


# ---------------------------------------------------------------------------------- dask
@pytest.mark.parametrize("records", ["none", "last"])
def test_a_dask_cluster_gives_what_loky_gives(records):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    kw = dict(RUN, records=records, n_jobs=2)
    loky = tj.simulate(MODEL, 30, 60, backend="loky", **kw)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)  # fmt: skip
    try:
        with distributed.Client(cluster):
            dask = tj.simulate(MODEL, 30, 60, backend="dask", **kw)
    finally:
        cluster.close()
    same_ensemble(dask, loky)
    assert (dask.per_trajectory is None) == (records == "none")


def test_a_full_disk_while_the_result_is_completed_keeps_the_records_for_resume(
    tmp_path, capsys, monkeypatch
):
    clean = runfile(tmp_path, "clean.toml", folder=tmp_path / "clean")
    assert run_cli(capsys, "run", clean, "-q") == 0
    original = io._write_ensemble

    def full(g, ens):  # the ensemble and its scales are written, then the disk is full
        original(g, ens)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out" / "r.h5"))

    with monkeypatch.context() as m:
        m.setattr(io, "_write_ensemble", full)
        assert run_cli(capsys, "run", runfile(tmp_path), "-q") == 1
    chunks = tmp_path / "out" / "r.chunks"
    assert (chunks / "result.h5.part").exists() and not (tmp_path / "out" / "r.h5").exists()
    assert run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q") == 0
    same_ensemble(tj.load(tmp_path / "out" / "r.h5").ensemble,
                  tj.load(tmp_path / "clean" / "r.h5").ensemble)  # fmt: skip
    with h5py.File(tmp_path / "out" / "r.h5", "r") as f:  # one set of scales, attached
        pt = f["ensemble/per_trajectory"]
        assert len(pt["fock"].dims[0]) == 1 and pt["fock"].dims[0][0].name.endswith("/trajectory")
