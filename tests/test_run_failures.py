"""Every failure path of a run ends in one clear line, and nothing that can be kept is lost.

The table in docs/RELIABILITY.md lists each fault, what the user sees, and the test here
(or in test_cli.py) that proves it. Commands run in-process through ``cli.main`` (the
same code as the ``micromaser`` script) except where a second process or a pipe is the
point of the test.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import trajectories as tj
from trajectories.runs import chunkstore, io
from trajectories.runs.cli import main
from trajectories.runs.runlock import _start_time

RUNFILE = """
[model]
theta = "pi/sqrt(15)"
q = 0.25
c = 1.0
gamma_tr = 0.1
nbar = 0.15
cutoff = {cutoff}

[run]
trajectories = {trajectories}
collisions = 60
seed = 7
chunk_size = 6
checkpoints = {{ every = 20 }}
exact = {exact}

[output]
folder = "{folder}"
name = "r"
plots = []
"""


def runfile(tmp_path: Path, name: str = "run.toml", *, cutoff="20", trajectories=120,
            exact="true", folder=None) -> Path:  # fmt: skip
    path = tmp_path / name
    folder = folder or tmp_path / "out"
    path.write_text(RUNFILE.format(cutoff=cutoff, trajectories=trajectories, exact=exact,
                                   folder=folder))  # fmt: skip
    return path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def same_result(a: Path, b: Path) -> None:
    ra, rb = tj.load(a).ensemble, tj.load(b).ensemble
    for name in ("energy", "purity", "fano", "ergotropy"):
        for part in ("mean", "stderr"):
            x, y = getattr(getattr(ra, name), part), getattr(getattr(rb, name), part)
            assert np.array_equal(x, y, equal_nan=True), name
    assert np.array_equal(ra.rho, rb.rho)
    for f in ("n_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "fock"):
        assert np.array_equal(getattr(ra.per_trajectory, f), getattr(rb.per_trajectory, f)), f


# ------------------------------------------------------------ failures that cannot resume
@pytest.mark.parametrize("exact", ["true", "false"])
def test_failed_run_leaves_nothing_and_the_corrected_rerun_needs_no_force(tmp_path, capsys,
                                                                         exact):  # fmt: skip
    # exact = true: the exact solver finds the truncation before any chunk exists;
    # exact = false: the trajectories find it after some chunks were saved
    code, _, err = run_cli(capsys, "run", runfile(tmp_path, cutoff="12", exact=exact), "-q")
    assert code == 1
    assert "run failed" in one_line(err) and "cutoff=12" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []
    code, _, err = run_cli(capsys, "run", runfile(tmp_path, cutoff="20", exact=exact), "-q")
    assert code == 0, err
    assert (tmp_path / "out" / "r.h5").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r.h5"]


# --------------------------------------------------------------------------------- sweeps
def test_sweep_stops_at_a_failing_point_and_names_it_and_the_options(tmp_path, capsys):
    sweep = runfile(tmp_path, cutoff="[12, 20]")
    code, _, err = run_cli(capsys, "run", sweep, "-q")
    assert code == 1
    line = one_line(err)
    assert "point 1 of 2" in line and "--keep-going" in line and "--skip-existing" in line
    assert list((tmp_path / "out").glob("*.h5")) == []
    assert list((tmp_path / "out").glob("*.chunks")) == []


def test_sweep_keep_going_runs_every_point_and_skip_existing_skips_finished(tmp_path, capsys):
    sweep = runfile(tmp_path, cutoff="[12, 20, 11]")
    code, _, err = run_cli(capsys, "run", sweep, "-q", "--keep-going")
    assert code == 1
    assert "2 of 3 points failed" in err and "Traceback" not in err
    summary = err[err.index("2 of 3 points failed") :].strip().splitlines()
    assert len(summary) == 3 and all("cutoff=1" in ln for ln in summary[1:])
    done = list((tmp_path / "out").glob("*.h5"))
    assert len(done) == 1 and tj.load(done[0]).model.cutoff == 20
    assert list((tmp_path / "out").glob("*.chunks")) == []
    # a rerun is refused because the finished point exists, and the message says what to do
    code, _, err = run_cli(capsys, "run", runfile(tmp_path, cutoff="[20, 24]"), "-q")
    assert code == 2 and "--skip-existing" in one_line(err)
    before = done[0].stat().st_mtime_ns
    code, _, err = run_cli(capsys, "run", runfile(tmp_path, cutoff="[20, 24]"), "-q",
                           "--skip-existing")  # fmt: skip
    assert code == 0, err
    assert done[0].stat().st_mtime_ns == before
    assert sorted(tj.load(p).model.cutoff for p in (tmp_path / "out").glob("*.h5")) == [20, 24]


# ----------------------------------------------------------------------- files read badly
def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tj.solve_exact(tj.Micromaser(theta=0.5, q=0.3, cutoff=8), 4)
    newer = tj.save(tmp_path / "newer.h5", exact=good)
    with h5py.File(newer, "a") as f:
        f.attrs["format_version"] = io.FORMAT_VERSION + 1
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(tj.save(tmp_path / "whole.h5", exact=good).read_bytes()[:3000])
    (tmp_path / "folder.h5").mkdir()
    files = {
        "missing": (tmp_path / "nope.h5", "no such file"),
        "run file": (runfile(tmp_path), "it is a run file"),
        "not hdf5": (text, "not an hdf5"),
        "foreign": (foreign, "not a micromaser-trajectories result"),
        "newer": (newer, "upgrade"),
        "damaged": (damaged, "damaged"),
        "folder": (tmp_path / "folder.h5", "folder"),
    }
    if os.geteuid() != 0:  # root reads any file: the case exists only for other users
        locked = tj.save(tmp_path / "locked.h5", exact=good)
        locked.chmod(0)
        files["unreadable"] = (locked, "not readable")
    return files


@pytest.mark.parametrize("command", ["show", "plot", "counts"])
def test_every_bad_file_a_command_reads_gives_one_line_and_exit_2(tmp_path, capsys, command):
    for kind, (path, message) in _bad_files(tmp_path).items():
        code, out, err = run_cli(capsys, command, path)
        assert code == 2, (kind, err)
        line = one_line(err)
        assert path.name in line and message in line.lower(), (kind, line)


def test_resume_of_a_bad_path_gives_one_line_and_exit_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", tmp_path / "nope.h5", "--resume")
    assert code == 2 and "nothing to resume" in one_line(err)
    chunks = tmp_path / "x.chunks"
    chunks.mkdir()
    (chunks / "manifest.json").write_text("{ half")
    code, _, err = run_cli(capsys, "run", tmp_path / "x.h5", "--resume")
    assert code == 2 and "damaged manifest" in one_line(err)
    code, _, err = run_cli(capsys, "show", tmp_path / "x.h5")
    assert code == 2 and "damaged manifest" in one_line(err)


def test_show_says_unknown_for_times_the_file_does_not_carry(tmp_path, capsys):
    path = tj.save(tmp_path / "api.h5", exact=tj.solve_exact(tj.Micromaser(0.5, 0.3, cutoff=8), 4))
    code, out, _ = run_cli(capsys, "show", path)
    assert code == 0
    assert "started unknown; finished unknown" in out and "None" not in out


def test_show_into_a_closed_pipe_ends_quietly(tmp_path):
    ens = tj.simulate(tj.Micromaser(0.5, 0.3, cutoff=40), 20, 40, seed=1, chunk_size=2)
    path = tj.save(tmp_path / "r.h5", ensemble=ens)
    for reader in ("head -2", "true"):  # "true" reads nothing: every write meets a closed pipe
        proc = subprocess.run(
            ["bash", "-c", f"{sys.executable} -m trajectories show {path} | {reader}; "
             f"exit ${{PIPESTATUS[0]}}"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", proc.stderr


# ------------------------------------------------------------------------ chunk integrity
def _interrupt_after(monkeypatch, n_chunks: int) -> None:
    original = chunkstore.ChunkDirectory.save
    count = {"n": 0}

    def save(self, chunk):
        original(self, chunk)
        count["n"] += 1
        if count["n"] == n_chunks:
            raise KeyboardInterrupt

    monkeypatch.setattr(chunkstore.ChunkDirectory, "save", save)


def test_damaged_and_foreign_chunks_are_reported_and_recomputed_bit_identically(
    tmp_path, capsys, caplog, monkeypatch
):
    clean = runfile(tmp_path, "clean.toml", folder=tmp_path / "clean", exact="false")
    assert run_cli(capsys, "run", clean, "-q")[0] == 0
    # states deferred (as for a large one): the interrupted runs keep every chunk file
    monkeypatch.setattr(chunkstore, "STATE_SECONDS", float("inf"))
    # a foreign run with other settings, interrupted: its chunks are the "foreign" ones
    other = runfile(tmp_path, "other.toml", folder=tmp_path / "other", exact="false",
                    trajectories=130)  # fmt: skip
    with monkeypatch.context() as m:
        _interrupt_after(m, 5)
        assert run_cli(capsys, "run", other, "-q")[0] == 130
        _interrupt_after(m, 8)
        assert run_cli(capsys, "run", runfile(tmp_path, exact="false"), "-q")[0] == 130
    chunks = tmp_path / "out" / "r.chunks"
    files = sorted(chunks.glob("chunk-*.npz"))
    assert len(files) == 8
    files[1].write_bytes(files[1].read_bytes()[:-100])  # truncated
    data = bytearray(files[2].read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    files[2].write_bytes(bytes(data))
    foreign = next((tmp_path / "other" / "r.chunks").glob("chunk-000003-*.npz"))
    files[3].unlink()
    (chunks / foreign.name).write_bytes(foreign.read_bytes())  # same index, another run
    files[4].write_bytes(b"")  # empty
    caplog.set_level("WARNING", logger="trajectories")
    code, _, err = run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q")
    assert code == 0, err
    reports = [r.getMessage() for r in caplog.records if "recomputing" in r.getMessage()]
    assert len(reports) == 4, reports
    assert {int(r.split()[1]) for r in reports} == {1, 2, 3, 4}
    assert any("another run" in r for r in reports)
    assert sum("checksum" in r for r in reports) == 3
    same_result(tmp_path / "out" / "r.h5", tmp_path / "clean" / "r.h5")
    assert not chunks.exists()


# --------------------------------------------------------------------- one writer per output
def _write_lock(path: Path, pid: int, host: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"host": host or socket.gethostname(), "pid": pid, "start": _start_time(pid),
              "since": "2026-12-01T00:00:00+00:00"}  # fmt: skip
    path.write_text(json.dumps(record))


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(tmp_path, capsys):
    lock = tmp_path / "out" / "r.lock"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_lock(lock, holder.pid)
        code, _, err = run_cli(capsys, "run", runfile(tmp_path), "-q")
        assert code == 2
        line = one_line(err)
        assert f"pid {holder.pid}" in line and "r.lock" in line
        assert not (tmp_path / "out" / "r.chunks").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale and the next run takes it over
    code, _, err = run_cli(capsys, "run", runfile(tmp_path), "-q")
    assert code == 0, err
    assert not lock.exists()
    # a lock of another host cannot be checked and is respected
    _write_lock(lock, 1, host="elsewhere.example")
    code, _, err = run_cli(capsys, "run", runfile(tmp_path), "-q", "--force")
    assert code == 2 and "elsewhere.example" in one_line(err)


def test_a_running_cli_run_holds_its_output_and_a_killed_one_resumes(tmp_path, capsys):
    source = runfile(tmp_path, trajectories=1600, exact="false")
    proc = subprocess.Popen([sys.executable, "-m", "trajectories", "run", str(source), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    chunks = tmp_path / "out" / "r.chunks"
    deadline = time.time() + 120
    while time.time() < deadline and chunkstore.ChunkDirectory(chunks).saved_chunks() < 3:
        time.sleep(0.05)
    try:
        code, _, err = run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q")
        assert code == 2 and f"pid {proc.pid}" in one_line(err)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (tmp_path / "out" / "r.lock").exists()  # left behind by the killed process
    code, _, err = run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q")
    assert code == 0, err
    assert not (tmp_path / "out" / "r.lock").exists()


# ------------------------------------------------------------------------------ full disk
def _disk_full_after(monkeypatch, n_writes: int, code: int = errno.ENOSPC) -> None:
    original = chunkstore.ChunkDirectory._write_atomic
    count = {"n": 0}

    def write(target, data):
        if "chunk" in target.name:
            count["n"] += 1
            if count["n"] > n_writes:
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_bytes(data[: len(data) // 2])  # the write got halfway
                try:
                    raise OSError(code, os.strerror(code), str(tmp))
                finally:
                    tmp.unlink()
        original(target, data)

    monkeypatch.setattr(chunkstore.ChunkDirectory, "_write_atomic", staticmethod(write))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_full_disk_stops_the_run_keeps_finished_chunks_and_resume_completes_it(
    tmp_path, capsys, monkeypatch, code
):
    # a full disk, a folder made unwritable, or a file system remounted read-only mid-run
    monkeypatch.setattr(chunkstore, "STATE_SECONDS", 0.0)  # a state after every chunk
    clean = runfile(tmp_path, "clean.toml", folder=tmp_path / "clean")
    assert run_cli(capsys, "run", clean, "-q")[0] == 0
    with monkeypatch.context() as m:
        _disk_full_after(m, 5, code)
        status, _, err = run_cli(capsys, "run", runfile(tmp_path), "-q")
    assert status == 1
    line = one_line(err)
    assert os.strerror(code) in line and "--resume" in line and "5 finished" in line
    chunks = tmp_path / "out" / "r.chunks"
    # the five chunks are in the saved state (their files merged and removed)
    assert chunkstore.ChunkDirectory(chunks).saved_chunks() == 5
    assert list(chunks.glob("chunk-*.npz")) == [] and list(chunks.glob("*.tmp")) == []
    assert not (tmp_path / "out" / "r.lock").exists()
    code, _, err = run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q")
    assert code == 0, err
    same_result(tmp_path / "out" / "r.h5", tmp_path / "clean" / "r.h5")


def test_full_disk_while_writing_the_result_keeps_every_chunk(tmp_path, capsys, monkeypatch):
    clean = runfile(tmp_path, "clean.toml", folder=tmp_path / "clean")
    assert run_cli(capsys, "run", clean, "-q")[0] == 0

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out" / "r.h5"))

    with monkeypatch.context() as m:
        m.setattr(io, "_write_result", full)
        code, _, err = run_cli(capsys, "run", runfile(tmp_path), "-q")
    assert code == 1 and "20 finished chunks are kept" in one_line(err)
    assert not (tmp_path / "out" / "r.h5").exists()
    assert not (tmp_path / "out" / "r.h5.part").exists()
    code, _, err = run_cli(capsys, "run", tmp_path / "out" / "r.h5", "--resume", "-q")
    assert code == 0, err
    same_result(tmp_path / "out" / "r.h5", tmp_path / "clean" / "r.h5")
