"""The command line end to end, through subprocesses (issue 4)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import trajectories as tj
from trajectories.runs.chunkstore import ChunkDirectory

PNG = b"\x89PNG\r\n\x1a\n"


def micromaser(*args, cwd=None, check=True, timeout=300):
    proc = subprocess.run(
        [sys.executable, "-m", "trajectories", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


SMALL = """
[model]
theta = "pi/sqrt(15)"
q = 0.25
c = 1.0
gamma_tr = {gamma}
nbar = 0.15
cutoff = 40

[run]
trajectories = {trajectories}
collisions = {collisions}
seed = 7
chunk_size = {chunk}
checkpoints = {{ every = 20 }}
exact = true

[output]
folder = "{folder}"
name = "small"
"""


def write_runfile(path, **kw):
    cfg = dict(gamma="0.1", trajectories=200, collisions=60, chunk=10, folder=path.parent / "out")
    cfg.update(kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SMALL.format(**cfg))
    return path


def widest(text):
    return max((len(line) for line in text.splitlines()), default=0)


def test_help_of_every_command_fits_80_columns_and_names_defaults_and_choices():
    for command in ((), ("run",), ("show",), ("plot",), ("counts",), ("steady",),
                    ("presets",)):  # fmt: skip
        text = micromaser(*command, "--help").stdout
        assert widest(text) <= 80, (command, text)
    run = micromaser("run", "--help").stdout
    assert "fig5" in run and "ultrastrong" in run  # the --preset choices
    assert "(default:" in run
    assert "(default: 11)" in micromaser("show", "--help").stdout
    assert "(default: 60" in micromaser("counts", "--help").stdout
    bad = micromaser("run", "--preset", "fig9", check=False)
    assert bad.returncode == 2 and "fig5" in bad.stderr


def test_show_fits_80_columns_and_prints_z_scores_against_the_exact_solution(tmp_path):
    runfile = write_runfile(tmp_path / "small.toml", trajectories=100, chunk=10)
    micromaser("run", runfile, "--quiet")
    show = micromaser("show", tmp_path / "out" / "small.h5").stdout
    assert widest(show) <= 80, show
    assert "z = (trajectories - exact) / standard error" in show
    assert "max |z| at any checkpoint: energy" in show
    rec = tj.load(tmp_path / "out" / "small.h5")
    e, x = rec.ensemble.energy, rec.exact.energy
    i = rec.ensemble.k.size - 1  # the last checkpoint's row: exact value and z of the energy
    j = int(np.searchsorted(rec.exact.k, rec.ensemble.k[i]))
    z = (e.mean[i] - x[j]) / e.stderr[i]
    row = [line for line in show.splitlines() if line.split()[:1] == [str(rec.ensemble.k[i])]]
    assert len(row) == 2 and f"({z:+.2f})" in row[1], show


def test_progress_of_a_run_is_a_line_in_a_log_and_nothing_with_quiet(tmp_path):
    runfile = write_runfile(tmp_path / "small.toml", trajectories=40, chunk=10)
    logged = micromaser("run", runfile)  # stderr is a pipe here: a log, not a terminal
    assert "40/40 trajectories (100%)" in logged.stderr and "\r" not in logged.stderr
    quiet = micromaser("run", runfile, "--quiet", "--force")
    assert "trajectories (" not in quiet.stderr


def test_default_run_writes_a_result_file_and_a_png(tmp_path):
    proc = micromaser("run", "--trajectories", 200, "--collisions", 60, "-o", tmp_path / "d",
                      "--quiet")  # fmt: skip
    result = tmp_path / "d" / "default.h5"
    assert result.is_file() and (tmp_path / "d" / "default-observables.png").read_bytes()[:8] == PNG
    assert "max |z| against the exact solver" in proc.stdout
    rec = tj.load(result)
    assert rec.ensemble.n_trajectories == 200 and rec.exact is not None
    assert rec.model.gamma_tr == 0.1 and rec.model.c == 1.0
    assert not (tmp_path / "d" / "default.chunks").exists()
    # a second run refuses to overwrite, before any work, and --force overwrites
    again = micromaser("run", "--trajectories", 200, "--collisions", 60, "-o", tmp_path / "d",
                       check=False)  # fmt: skip
    assert again.returncode == 2 and "exists; use --force" in again.stderr


def test_sweep_run_file_gives_one_result_per_point_then_show_and_plot(tmp_path):
    runfile = write_runfile(tmp_path / "sweep.toml", gamma="[0.001, 0.1]")
    micromaser("run", runfile, "--quiet")
    out = tmp_path / "out"
    results = sorted(out.glob("*.h5"))
    assert len(results) == 2, list(out.iterdir())
    gammas = sorted(tj.load(r).model.gamma_tr for r in results)
    assert gammas == [0.001, 0.1]
    combined = pytest.importorskip("xarray") and tj.load_sweep(out)  # small-sweep.nc
    assert combined.energy.dims == ("gamma_tr", "k") and list(combined.gamma_tr) == [0.001, 0.1]
    show = micromaser("show", results[0])
    assert "status: complete" in show.stdout and "seed 7" in show.stdout
    assert "energy" in show.stdout and "±" in show.stdout
    plot = micromaser("plot", results[0], "--format", "png", "pdf", "-o", tmp_path / "figs",
                      "--k", 40)  # fmt: skip
    figs = sorted((tmp_path / "figs").iterdir())
    # observables, books (the energy books of every exact run), photons, records: 2 formats
    assert len(figs) == 8, figs
    assert {f.name.split("-")[-1] for f in figs} >= {"books.png", "books.pdf"}
    for f in figs:
        head = f.read_bytes()[:8]
        assert head == PNG if f.suffix == ".png" else head.startswith(b"%PDF")
    assert "wrote" in plot.stdout


def test_presets_are_listed_and_runnable(tmp_path):
    listing = micromaser("presets").stdout
    for name in ("default", "fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7"):
        assert name in listing
    micromaser("run", "--preset", "fig3", "--trajectories", 40, "--collisions", 20,
               "-o", tmp_path, "--quiet")  # fmt: skip
    assert len(list(tmp_path.glob("*.h5"))) == 2  # two theta values


@pytest.mark.parametrize(
    "text,message",
    [
        ("[model]\nq = 1.5\n", "model.q"),
        ("[run]\ntrajectores = 10\n", "did you mean run.trajectories"),
        ("[run]\ntrajectories = 'many'\n", "run.trajectories"),
        ("[model]\ntheta = 'pi/sqrt(15'\n", "model.theta"),
        ("[model]\ntheta = \"__import__('os').system('touch HACKED')\"\n", "model.theta"),
        ("[model]\nq = [0.1, 0.2]\nnbar = [0.1]\n[run]\nsweep = 'zip'\n", "zip"),
        ("[run]\ncollisions = 10\ncheckpoints = [0, 20]\n", "run.checkpoints"),
        ("[bogus]\nx = 1\n", "bogus"),
        ("this is not toml", "toml"),
    ],
)
def test_bad_run_files_exit_2_with_one_line_and_leave_nothing(tmp_path, text, message):
    runfile = tmp_path / "bad.toml"
    runfile.write_text(text + f'\n[output]\nfolder = "{tmp_path / "out"}"\n')
    proc = micromaser("run", runfile, check=False, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message.lower() in lines[0].lower(), proc.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "HACKED").exists()


def _saved(chunks: Path) -> int:
    """Chunks an interrupted run keeps: in its saved state, or as files waiting their turn."""
    store = ChunkDirectory(chunks)
    return store.saved_chunks() + len(list(chunks.glob("chunk-*.npz")))


def test_killed_run_resumes_to_the_same_numbers_as_an_uninterrupted_one(tmp_path):
    kw = dict(trajectories=1600, collisions=1000, chunk=40)
    killed = write_runfile(tmp_path / "a" / "run.toml", folder=tmp_path / "a" / "out", **kw)
    clean = write_runfile(tmp_path / "b" / "run.toml", folder=tmp_path / "b" / "out", **kw)
    micromaser("run", clean, "--quiet")
    chunks = tmp_path / "a" / "out" / "small.chunks"
    proc = subprocess.Popen([sys.executable, "-m", "trajectories", "run", str(killed), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and _saved(chunks) < 8:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = _saved(chunks)
    assert 8 <= saved < 40, saved
    show = micromaser("show", tmp_path / "a" / "out" / "small.h5")
    assert "status: incomplete" in show.stdout and "--resume" in show.stdout
    micromaser("run", tmp_path / "a" / "out" / "small.h5", "--resume", "--quiet")
    a = tj.load(tmp_path / "a" / "out" / "small.h5")
    b = tj.load(tmp_path / "b" / "out" / "small.h5")
    for name in ("energy", "purity", "fano", "ergotropy"):
        for part in ("mean", "stderr"):
            x, y = (
                getattr(getattr(a.ensemble, name), part),
                getattr(getattr(b.ensemble, name), part),
            )
            assert np.array_equal(x, y, equal_nan=True), name
    for f in ("n_mean", "qubit_g", "emissions", "absorptions", "fock"):
        assert np.array_equal(getattr(a.ensemble.per_trajectory, f),
                              getattr(b.ensemble.per_trajectory, f))  # fmt: skip
    assert np.array_equal(a.ensemble.rho, b.ensemble.rho)
    assert not chunks.exists()


def test_sigterm_stops_cleanly_and_says_how_to_resume(tmp_path):
    runfile = write_runfile(tmp_path / "run.toml", trajectories=1600, collisions=1000, chunk=40)
    chunks = tmp_path / "out" / "small.chunks"
    proc = subprocess.Popen([sys.executable, "-m", "trajectories", "run", str(runfile), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and _saved(chunks) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    assert _saved(chunks) >= 3


def test_unwritable_output_folder_fails_before_work(tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/micromaser-cannot-write-here")
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    proc = micromaser("run", "--trajectories", 20, "--collisions", 5, "-o", target, check=False)
    assert proc.returncode == 2 and "not writable" in proc.stderr


def test_counts_command_writes_counting_figures(tmp_path):
    micromaser("run", "--trajectories", 400, "--collisions", 40, "-o", tmp_path, "--quiet")
    proc = micromaser("counts", tmp_path / "default.h5", "-o", tmp_path / "counts")
    figs = sorted((tmp_path / "counts").glob("*.png"))
    assert figs and all(f.read_bytes()[:8] == PNG for f in figs)
    assert "wrote" in proc.stdout
    table = proc.stdout.split("wrote")[0]
    assert widest(table) <= 80, table
    assert "counts after k = 40 collisions" in table and "p@k" not in table
    assert "histograms at k = 40 against the exact distributions" in table
    # cutoff 60 with coherent qubits: the long-time rates are not computed, and it says why
    assert "long-time rates" in table and "N = 60" in table and "N = 40" in table
    assert proc.stderr.count("counting statistics: 100%") == 1  # progress, as in a log


def test_steady_command_prints_the_fixed_point_and_relaxation_times(tmp_path):
    runfile = write_runfile(tmp_path / "s.toml", gamma="[0.1, 0.5]")
    proc = micromaser("steady", runfile)
    assert proc.stdout.count("fixed point: energy") == 2
    assert "relaxation time" in proc.stdout
    bad = micromaser("steady", tmp_path / "missing.toml", check=False)
    assert bad.returncode == 2


def test_protocol_preset_runs_and_shows_its_stages(tmp_path):
    micromaser("run", "--preset", "protocol", "--trajectories", 40, "-o", tmp_path, "--quiet")
    assert (tmp_path / "protocol-books.png").read_bytes()[:8] == PNG
    show = micromaser("show", tmp_path / "protocol.h5").stdout
    assert "discharge" in show and "balance residual" in show
