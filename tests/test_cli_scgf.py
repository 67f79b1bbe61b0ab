"""``micromaser counts --scgf``: theta(s) and I(x) of a result file, a run file or the default.

Most commands run in-process (``main(argv)``, exit status returned); the refusal runs in a
subprocess, to see exactly what a user sees on stderr.
"""

import re
import subprocess
import sys

import numpy as np
import pytest

import trajectories as tj
from trajectories.runs.cli import main
from trajectories.runs.presets import preset_points
from trajectories.runs.runfile import load_run_file
from trajectories.runs.scgf_command import scgf_command

PNG = b"\x89PNG\r\n\x1a\n"
#: theta(s) from two scans of s that warm-start differently (the command solves in blocks)
#: agree to the eigensolver's accuracy, the 1e-10 checked against dense references
SOLVER_ACCURACY = 1e-10

RUNFILE = """
[model]
theta = 1.05
q = 0.3
c = 0.0
gamma_tr = [0.05, 0.1]
nbar = 0.1
cutoff = 12

[run]
trajectories = 10
collisions = 10
seed = 3

[output]
folder = "{folder}"
name = "tiny"
"""


def read_csv(path):
    """(header lines without '# ', {count: (s, theta, x, I)}) of a NAME-scgf.csv."""
    lines = path.read_text().splitlines()
    header = [line[2:] for line in lines if line.startswith("# ")]
    rows = [line.split(",") for line in lines[len(header) + 1 :]]
    assert lines[len(header)] == "count,s,theta,x,I"
    out = {}
    for c in dict.fromkeys(r[0] for r in rows):
        out[c] = np.array([[float(v) for v in r[1:]] for r in rows if r[0] == c]).T
    return header, out


def printed(text, name, count):
    """The mean -theta'(0) and variance theta''(0) printed for ``count`` of model ``name``."""
    block = text.split(f"== {name}:")[1].split(f"\n{count} (")[1]
    flat = " ".join(block.split())
    mean = re.search(r"mean -theta'\(0\) = (\S+),", flat).group(1)
    var = re.search(r"variance theta''\(0\) = ([^,;\s]+)", flat).group(1)
    return float(mean), float(var)


@pytest.fixture(scope="module")
def coherent_result(tmp_path_factory):
    """A result file of a small coherent lossy thermal model with complex c."""
    model = tj.Micromaser(theta=1.05, q=0.3, c=0.8 * np.exp(0.4j), gamma_tr=0.1, nbar=0.1,
                          cutoff=10)  # fmt: skip
    path = tmp_path_factory.mktemp("scgf") / "coh.h5"
    tj.save(path, exact=tj.solve_exact(model, 2))
    return path, model


# ------------------------------------------------------------------ what it computes
def test_result_file_theta_matches_scgf_and_cumulants_match_stationary_rates(
    coherent_result, tmp_path, capsys
):
    path, model = coherent_result
    status = main(["counts", "--scgf", str(path), "--count", "g", "emission", "--s-range",
                   "-1", "1.5", "--s-points", "16", "-o", str(tmp_path), "-q"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert max(len(line) for line in out.splitlines() if not line.startswith("wrote")) <= 80
    header, curves = read_csv(tmp_path / "coh-scgf.csv")
    assert list(curves) == ["g", "emission"]
    assert (tmp_path / "coh-scgf.png").read_bytes()[:8] == PNG
    assert f"wrote {tmp_path / 'coh-scgf.csv'}" in out
    for count, (s, theta, x, rate) in curves.items():
        assert np.allclose(s, np.linspace(-1.0, 1.5, 16), rtol=0, atol=1e-15)
        ref = tj.counting.scgf(model, s, count).theta
        assert np.max(np.abs(theta - ref)) < SOLVER_ACCURACY, count
        assert np.allclose(rate, -s * x - theta, rtol=0, atol=1e-15)  # the Legendre pairs
        assert np.all(np.diff(x) < 0)  # theta convex: x(s) decreasing
        exact = tj.counting.stationary_rates(model, count)
        mean, var = printed(out, "coh", count)
        assert mean == pytest.approx(exact.rate, abs=1e-8)  # measured: 4e-11
        assert var == pytest.approx(exact.variance_rate, rel=1e-6)  # measured: 1e-8
    # the header says what the numbers are and of which model
    text = "\n".join(header)
    assert tj.__version__ in text and "cutoff=10" in text and "gamma_tr=0.1" in text
    assert "(0.7368" in text  # the complex c, in the model's repr
    assert "perfect detection" in text and "x(s) = -theta'(s)" in text


def test_run_file_treats_every_point_with_all_counts_where_run_would_write(tmp_path, capsys):
    runfile = tmp_path / "tiny.toml"
    runfile.write_text(RUNFILE.format(folder=tmp_path / "out"))
    status = main(["counts", "--scgf", str(runfile), "--count", "all", "--s-points", "11",
                   "--efficiency", "0.7", "--misread", "0.05", "0.02", "-q"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    points = load_run_file(runfile)
    assert len(points) == 2
    for point in points:
        assert f"== {point.name}:" in out
        _, curves = read_csv(tmp_path / "out" / f"{point.name}-scgf.csv")
        assert list(curves) == ["g", "e", "emission", "absorption", "net"]  # lossy: all five
        for count, (s, theta, _, _) in curves.items():
            misread = (0.05, 0.02) if count in ("g", "e") else (0.0, 0.0)
            ref = tj.counting.scgf(point.model, s, count, efficiency=0.7, misread=misread)
            assert np.max(np.abs(theta - ref.theta)) < SOLVER_ACCURACY, (point.name, count)
        assert (tmp_path / "out" / f"{point.name}-scgf.png").read_bytes()[:8] == PNG
    assert "efficiency eta = 0.7, misread eps_e = 0.05" in out


def test_no_file_is_the_default_model_of_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status = main(["counts", "--scgf", "--s-points", "3", "--s-range", "-0.1", "0.1", "-q"])
    out = capsys.readouterr().out
    assert status == 0
    model = preset_points("default")[0].model
    header, curves = read_csv(tmp_path / "runs" / "default-scgf.csv")
    assert "the built-in default model" in "\n".join(header)
    s, theta, _, _ = curves["g"]
    assert np.max(np.abs(theta - tj.counting.scgf(model, s, "g").theta)) < SOLVER_ACCURACY
    assert "cutoff=60" in out and "== default:" in out


# ------------------------------------------------------------------ refusals
def test_refused_model_ends_in_one_line_and_a_nonzero_status(tmp_path):
    model = tj.Micromaser(theta=1.05, q=0.2, gamma_tr=0.05, nbar=0.15, cutoff=12,
                          collision=tj.Rabi(0.05, omega_tr=100.0))  # fmt: skip
    path = tj.save(tmp_path / "rabi.h5", exact=tj.solve_exact(model, 3))
    proc = subprocess.run(
        [sys.executable, "-m", "trajectories", "counts", "--scgf", str(path), "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("micromaser: error: rabi: theta(s) of 'g' refused:")
    assert "periodic collision schedule" in lines[0]
    assert not list(tmp_path.glob("rabi-scgf*"))


@pytest.mark.parametrize(
    "args, named",
    [
        (["--s-range", "nan", "1"], "--s-range"),
        (["--s-range", "1", "inf"], "--s-range"),
        (["--s-range", "1", "-1"], "--s-range"),
        (["--s-range", "0.5", "0.5"], "--s-range"),
        (["--s-points", "2"], "--s-points"),
        (["--count", "photons"], "--count"),
        (["--efficiency", "1.5"], "efficiency"),
        (["--seed", "3"], "--seed"),
    ],
)
def test_bad_options_are_refused_before_work_naming_the_option(
    args, named, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # the default model: nothing may be computed or written
    status = main(["counts", "--scgf", *args, "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"micromaser: error: {named}"), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_counts_without_scgf_keeps_its_positional_result_and_refuses_scgf_options(tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["counts"])
    assert stop.value.code == 2
    proc = subprocess.run([sys.executable, "-m", "trajectories", "counts"], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2
    assert "the following arguments are required: result" in proc.stderr
    assert main(["counts", str(tmp_path / "x.h5"), "--s-points", "5"]) == 2


def test_networks_and_protocols_are_refused_before_work(tmp_path):
    net = tj.Network(theta=(0.0, 0.0), q=0.3, c=0.0, gamma_tr=0.1, nbar=0.0, cutoff=(3, 3))
    path = tj.save(tmp_path / "net.h5", exact=tj.solve_exact(net, 2))
    with pytest.raises(ValueError, match="net.h5 holds a network of two cavities"):
        scgf_command(path, s_points=3)
    model = tj.Micromaser(theta=1.0, q=0.3, gamma_tr=0.1, cutoff=4)
    protocol = tj.Protocol([tj.Stage(model, 3), tj.Stage(model.replace(theta=0.0), 2)])
    path = tj.save(tmp_path / "protocol.h5", exact=tj.solve_exact(protocol))
    with pytest.raises(ValueError, match="protocol of 2 stages"):
        scgf_command(path, s_points=3)
    assert not list(tmp_path.glob("*-scgf*"))


# ------------------------------------------------------------------ the figure
def test_scgf_figure_marks_the_typical_rate_or_says_why_not():
    import matplotlib

    matplotlib.use("Agg")
    from trajectories.plot.large_deviations import scgf_figure, typical_rate

    model = tj.Micromaser(theta=0.0, q=0.3, cutoff=4)  # binomial: x(0) = q
    both = tj.counting.rate_function(model, "g", np.linspace(-1.0, 1.0, 21))
    assert typical_rate(both) == pytest.approx(0.3, abs=1e-8)
    fig = scgf_figure(both, model=model)
    dashed = [ln for ln in fig.axes[1].lines if ln.get_linestyle() == "--"]
    assert any(np.allclose(ln.get_xdata(), 0.3, atol=1e-8) for ln in dashed)
    right = tj.counting.rate_function(model, "g", np.linspace(0.2, 1.0, 9))
    assert np.isnan(typical_rate(right))
    fig = scgf_figure(right)
    assert any("not marked" in t.get_text() for sub in fig.subfigs for t in sub.texts)
    with pytest.raises(ValueError, match="typical"):
        scgf_figure([both, right], typical=[0.3])
    tj.plot.close(fig)
