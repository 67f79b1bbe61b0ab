"""Networks of two cavities in the runs layer: run files, result files, the command line.

Grouped by what they protect: the ``[network]`` table builds the network the Python API
builds, and every bad input is one line naming the key before any work; ``micromaser run``
on a network file writes a self-describing result file whose exact solution is the API's,
and a figure; ``show`` and ``plot`` read it; ``tj.save``/``tj.load`` give back the same
results, every array equal. The trajectories' parts need ``tj.simulate`` for networks
(``tj.NetworkEnsemble``) and are skipped in versions without it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # the tests choose the backend; the package never does

import trajectories as tj  # noqa: E402
from trajectories.runs import io  # noqa: E402
from trajectories.runs.cli import main  # noqa: E402
from trajectories.runs.runfile import RunFileError, apply_overrides, parse_run_dict  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
#: ``run.exact`` of a run that can run here: trajectories too when this version has them
EXACT = "true"

TINY = """
[network]
theta = [0.3, "0.6/2"]
q = 0.5
c = {{ abs = 0.8, phase = 0.3 }}
gamma_tr = 0.1
nbar = [0.1, 0.0]
cutoff = [4, 4]
topology = "{topology}"

[run]
trajectories = 400
collisions = 6
seed = 11
chunk_size = 50
leakage_tol = 0.05
exact = {exact}

[output]
folder = "{folder}"
name = "tiny"
plots = ["png"]
"""

NET = {"theta": [0.3, 0.3], "q": 0.5}  # the smallest valid [network] table


def tiny_file(tmp_path: Path, topology: str = "series", exact: str = EXACT) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(topology=topology, exact=exact, folder=tmp_path / "out"))
    return path


def tiny_network(topology: str = "series") -> tj.Network:
    return tj.Network(theta=(0.3, 0.3), q=0.5, c=0.8 * complex(math.cos(0.3), math.sin(0.3)),
                      gamma_tr=0.1, nbar=(0.1, 0.0), cutoff=(4, 4), topology=topology)  # fmt: skip


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def only(data: dict) -> dict:
    """The run description with the exact solution alone (runs in any version)."""
    return {**data, "run": {"exact": "only", "collisions": 4, **data.get("run", {})}}


def assert_same_fields(a, b) -> None:
    """Two results of one dataclass with every field equal (arrays element by element)."""
    assert type(a) is type(b)
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, field.name
            np.testing.assert_array_equal(x, y, err_msg=field.name)
        elif isinstance(x, tj.Estimate):
            np.testing.assert_array_equal(x.mean, y.mean, err_msg=field.name)
            np.testing.assert_array_equal(x.stderr, y.stderr, err_msg=field.name)
        elif dataclasses.is_dataclass(x) and not isinstance(x, tj.Network):
            assert_same_fields(x, y)
        else:
            assert x == y, (field.name, x, y)


# ----------------------------------------------------------------------- run files
def test_network_table_builds_the_network_the_api_builds():
    data = {
        "network": {
            "theta": ["pi/sqrt(15)", 0.5], "q": 0.25, "c": {"abs": 0.6, "phase": 0.9},
            "gamma_tr": 0.1, "nbar": [0.15, 0.0], "cutoff": [6, 5], "topology": "simultaneous",
            "arrivals": {"bernoulli": 0.5}, "theta_spread": {"gaussian": 0.05},
        },
        "run": {"collisions": 10, "exact": "only"},
    }  # fmt: skip
    (point,) = parse_run_dict(data)
    expected = tj.Network(
        theta=(tj.fine_tuned_theta(15), 0.5), q=0.25, c=0.6 * complex(math.cos(0.9), math.sin(0.9)),
        gamma_tr=(0.1, 0.1), nbar=(0.15, 0.0), cutoff=(6, 5), topology="simultaneous",
        arrivals=tj.Arrivals.bernoulli(0.5), theta_spread=tj.ThetaSpread.gaussian(0.05),
    )  # fmt: skip
    assert point.model == expected
    assert point.run.rho_checkpoints == "last"  # the joint state: the last checkpoint only
    assert point.protocol is None
    # the point's description is a valid [network] table for the same network
    again = parse_run_dict({"network": point.to_dict()["network"], "run": data["run"]})
    assert again[0].model == expected
    assert "max_jumps" not in point.to_dict()["run"]


def test_missing_keys_take_the_network_defaults():
    (point,) = parse_run_dict(only({"network": NET}))
    assert point.model == tj.Network(theta=(0.3, 0.3), q=0.5)


def test_sweeps_over_topology_and_pairs_name_each_point():
    data = only({
        "network": {**NET, "topology": ["series", "simultaneous"],
                    "gamma_tr": [0.1, [0.1, 0.01]], "cutoff": [5, 4]},
        "output": {"name": "pair"},
    })  # fmt: skip
    points = parse_run_dict(data)
    assert [p.name for p in points] == [
        "pair_topology-series_gamma_tr-0.1", "pair_topology-series_gamma_tr-0.1,0.01",
        "pair_topology-simultaneous_gamma_tr-0.1", "pair_topology-simultaneous_gamma_tr-0.1,0.01",
    ]  # fmt: skip
    assert [p.model.gamma_tr for p in points] == [(0.1, 0.1), (0.1, 0.01)] * 2
    assert [p.model.topology for p in points] == ["series"] * 2 + ["simultaneous"] * 2
    assert points[1].sweep_values == {"topology": "series", "gamma_tr": (0.1, 0.01)}
    thetas = parse_run_dict(only({"network": {**NET, "theta": [[0.3, 0.3], [0.3, 0.1]]}}))
    assert [p.model.theta for p in thetas] == [(0.3, 0.3), (0.3, 0.1)]


def test_command_line_overrides_are_validated_again_for_a_network():
    points = parse_run_dict(only({"network": NET, "run": {"checkpoints": {"every": 2}}}))
    (moved,) = apply_overrides(points, collisions=8, seed=3)
    assert moved.model == points[0].model
    assert moved.run.checkpoints == (0, 2, 4, 6, 8) and moved.run.seed == 3


BAD = [
    ({"model": {}, "network": NET}, "network", "not both"),
    ({"network": NET, "stage": [{"collisions": 2}]}, "stage", "[[stage]] tables"),
    ({"network": 3}, "network", "[network] must be a table"),
    ({"network": {"q": 0.5}}, "network.theta", "network.theta is missing"),
    ({"network": {"theta": [0.3, 0.3]}}, "network.q", "network.q is missing"),
    ({"network": {**NET, "theta": 0.3}}, "network.theta", "must be a pair [theta_A, theta_B]"),
    ({"network": {**NET, "theta": [0.3, 0.3, 0.3]}}, "network.theta", "must be a pair"),
    ({"network": {**NET, "theta": [0.3, -0.3]}}, "network.theta[1]", "must be >= 0, got -0.3"),
    ({"network": {**NET, "theta": ["pi/x", 0.3]}}, "network.theta[0]", "unknown name 'x'"),
    ({"network": {**NET, "q": 1.5}}, "network.q", "network.q must be in [0, 1], got 1.5"),
    ({"network": {**NET, "q": "half"}}, "network.q", "unknown name 'half'"),
    ({"network": {**NET, "c": 2}}, "network.c", "network.c must satisfy abs(c) <= 1"),
    ({"network": {**NET, "c": {"abs": 0.5, "angle": 1}}}, "network.c.angle",
     "unknown key network.c.angle"),
    ({"network": {**NET, "gamma_tr": -1}}, "network.gamma_tr", "must be >= 0, got -1"),
    ({"network": {**NET, "gamma_tr": [0.1, 0.2, 0.3]}}, "network.gamma_tr",
     "must be one value or a pair [A, B], got a list of 3"),
    ({"network": {**NET, "nbar": [0.1, -0.1]}}, "network.nbar[1]", "must be >= 0, got -0.1"),
    ({"network": {**NET, "cutoff": 4}}, "network.cutoff", "must be a pair [N_A, N_B] of integers"),
    ({"network": {**NET, "cutoff": [1, 4]}}, "network.cutoff[0]", "integer >= 2, got 1"),
    ({"network": {**NET, "cutoff": [4, 2.5]}}, "network.cutoff[1]", "integer >= 2, got 2.5"),
    ({"network": {**NET, "cutoff": [100, 100]}}, "network.cutoff", "N_A * N_B <= 8192"),
    ({"network": {**NET, "topology": "parallel"}}, "network.topology",
     "one of 'series', 'simultaneous', got 'parallel'"),
    ({"network": {**NET, "thetaa": 1}}, "network.thetaa", "did you mean network.theta?"),
    ({"network": {**NET, "collision": "rabi"}}, "network.collision",
     "unknown key network.collision"),
    ({"network": {**NET, "arrivals": "sometimes"}}, "network.arrivals",
     "network.arrivals must be 'regular', 'poisson' or { bernoulli = p }"),
    ({"network": {**NET, "theta_spread": {"gaussian": -1}}}, "network.theta_spread.gaussian",
     "must be a number >= 0, got -1"),
    ({"network": {**NET, "theta": [[[0.3, 0.3]], [0.3, 0.3]]}}, "network.theta", "nests lists"),
    ({"network": {**NET, "topology": ["series", "series"]}}, "network.topology",
     "repeats a value"),
    ({"network": NET, "run": {"max_jumps": 10}}, "run.max_jumps", "does not apply to a network"),
    ({"network": NET, "run": {"rho_checkpoints": "none"}}, "run.rho_checkpoints",
     "'none' is not available for a network"),
    ({"netwrk": NET}, "netwrk", "did you mean network?"),
]  # fmt: skip


@pytest.mark.parametrize("data, key, message", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_bad_network_run_files_fail_with_one_line_naming_the_key(data, key, message):
    data = {**data, "run": {"exact": "only", **data.get("run", {})}}
    with pytest.raises(RunFileError) as info:
        parse_run_dict(data, source="net.toml")
    text = str(info.value)
    assert message in text, text
    assert info.value.key == key and text.startswith("net.toml: ")
    assert "\n" not in text


def test_the_guides_network_run_file_is_valid():
    text = (ROOT / "docs" / "guide" / "networks.md").read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[network]" in b]
    assert blocks
    for block in blocks:
        data = tomllib.loads(block)
        points = parse_run_dict(data)
        assert {p.model.topology for p in points} == {"series", "simultaneous"}


# ----------------------------------------------------------------------- the command line
def test_run_writes_a_result_file_whose_exact_solution_is_the_apis_and_a_plot(tmp_path, capsys):
    code, out, err = run_cli(capsys, "run", tiny_file(tmp_path, "simultaneous"), "-q")
    assert code == 0, err
    result = tmp_path / "out" / "tiny.h5"
    assert f"wrote {result}" in out
    assert (tmp_path / "out" / "tiny-observables.png").read_bytes()[:8] == PNG
    assert not (tmp_path / "out" / "tiny.chunks").exists()
    rec = tj.load(result)
    net = tiny_network("simultaneous")
    assert rec.model == net
    with h5py.File(result) as f:
        assert f.attrs["kind"] == "network" and f.attrs["format_version"] == 2
        assert f.attrs["status"] == "complete"
        assert f["model"].attrs["network"] == "simultaneous"
        assert list(f["exact/energy"].dims[1].keys()) == ["cavity"]
    assert rec.metadata["request"]["seed"] == 11 and rec.metadata["kind"] == "network"
    api = tj.solve_exact(net, 6, checkpoints=range(7), leakage_tol=0.05)
    names = ("energy", "total_energy", "purity", "ergotropy", "collective_ergotropy",
             "log_negativity", "mutual_information", "local_ergotropy", "p_excited")  # fmt: skip
    for name in names:
        np.testing.assert_allclose(getattr(rec.exact, name), getattr(api, name), rtol=1e-12,
                                   atol=1e-14, err_msg=name)  # fmt: skip
    # excitation books: what the qubits lost is what the cavities gained or lost to baths
    ex = rec.exact
    gained = ex.energy_from_collisions.sum(axis=1) + ex.energy_from_bath.sum(axis=1)
    np.testing.assert_allclose(ex.total_energy - ex.total_energy[0], gained, atol=1e-12)
    assert rec.ensemble is not None


def test_show_prints_every_observable_of_the_pair_within_80_columns(tmp_path, capsys):
    run_cli(capsys, "run", tiny_file(tmp_path), "-q")
    code, out, err = run_cli(capsys, "show", tmp_path / "out" / "tiny.h5", "--rows", "4")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80, out
    heads = ("E_A", "E_B", "E_A+E_B", "purity A", "purity B", "ergotropy", "local A",
             "local B", "collective", "log neg.", "mutual inf.", "network (series)")  # fmt: skip
    for head in heads:
        assert head in out, head
    ex = tj.load(tmp_path / "out" / "tiny.h5").exact
    last = next(line for line in out.splitlines() if line.split()[:1] == ["6"])
    assert float(last.split()[3]) == pytest.approx(ex.total_energy[-1], rel=1e-5)
    assert "joint state from the trajectories at k = 6" in out
    assert "±" in out


def test_plot_writes_the_network_figure_in_each_format(tmp_path, capsys):
    run_cli(capsys, "run", tiny_file(tmp_path), "-q")
    code, out, err = run_cli(capsys, "plot", tmp_path / "out" / "tiny.h5", "-o",
                             tmp_path / "figs", "--format", "png", "pdf")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "figs" / "tiny-observables.png").read_bytes()[:8] == PNG
    assert (tmp_path / "figs" / "tiny-observables.pdf").read_bytes()[:4] == b"%PDF"
    assert out.count("wrote ") == 2


def test_commands_a_network_cannot_take_exit_2_with_one_line(tmp_path, capsys):
    runfile = tiny_file(tmp_path)
    code, _, err = run_cli(capsys, "run", runfile, "-q", "--timeout", "10")
    assert code == 2 and "--timeout cannot stop a network run" in one_line(err)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    run_cli(capsys, "run", runfile, "-q")
    code, _, err = run_cli(capsys, "counts", tmp_path / "out" / "tiny.h5")
    assert code == 2 and "counting statistics are for one cavity" in one_line(err)
    code, _, err = run_cli(capsys, "run", runfile, "-q")
    assert code == 2 and "exists; use --force" in one_line(err)


def test_steady_prints_the_networks_fixed_point_or_says_why_not(tmp_path, capsys):
    code, out, err = run_cli(capsys, "steady", tiny_file(tmp_path))
    assert "== tiny: network (series)" in out
    if "refused" in out:  # a version whose steady_state takes no network
        assert code == 1 and "Traceback" not in err
    else:
        assert code == 0 and "fixed point: energy A" in out, out + err


def test_a_network_sweep_gives_one_dataset_with_the_network_variables(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    text = TINY.format(topology="series", exact='"only"', folder=tmp_path / "out")
    path.write_text(text.replace('topology = "series"', 'topology = ["series", "simultaneous"]'))
    code, out, err = run_cli(capsys, "run", path, "-q")
    assert code == 0, err
    ds = tj.load_sweep(tmp_path / "out", "tiny")
    assert ds.sizes["topology"] == 2 and ds.sizes["cavity"] == 2
    for topology in ("series", "simultaneous"):
        ex = tj.load(tmp_path / "out" / f"tiny_topology-{topology}.h5").exact
        got = ds.exact_energy.sel(topology=topology).values
        np.testing.assert_array_equal(got, ex.energy)
        np.testing.assert_array_equal(ds.exact_log_negativity.sel(topology=topology).values,
                                      ex.log_negativity)  # fmt: skip


# ----------------------------------------------------------------------- result files
def test_save_and_load_give_back_the_exact_result_array_for_array(tmp_path):
    net = tiny_network().replace(topology="simultaneous", gamma_tr=(0.1, 0.05),
                                 arrivals=tj.Arrivals.poisson())  # fmt: skip
    exact = tj.solve_exact(net, 5, store_states=True, leakage_tol=0.05)
    path = tj.save(tmp_path / "x.h5", exact=exact, metadata={"note": "tiny"})
    rec = tj.load(path)
    assert rec.model == net and rec.ensemble is None and rec.metadata["note"] == "tiny"
    assert_same_fields(exact, rec.exact)
    bare = tj.solve_exact(net, 5, leakage_tol=0.05)  # no states: None comes back
    assert tj.load(tj.save(tmp_path / "y.h5", exact=bare)).exact.states is None


def test_result_groups_read_as_labelled_datasets(tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    exact = tj.solve_exact(tiny_network(), 4, leakage_tol=0.05)
    path = tj.save(tmp_path / "x.h5", exact=exact)
    with xr.open_dataset(path, engine="h5netcdf", group="exact") as ds:
        assert ds.energy.dims == ("k", "cavity") and ds.populations_b.dims == ("k", "n_b")
        np.testing.assert_array_equal(ds.energy.sel(cavity=1).values, exact.energy[:, 1])
        assert "description" in ds.mutual_information.attrs


def test_a_newer_network_format_asks_for_an_upgrade_and_mixed_results_are_refused(tmp_path):
    exact = tj.solve_exact(tiny_network(), 3, leakage_tol=0.05)
    path = tj.save(tmp_path / "x.h5", exact=exact)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 3
    with pytest.raises(io.ResultFileError, match="reads formats up to 2: upgrade"):
        tj.load(path)
    single = tj.solve_exact(tj.Micromaser(theta=0.3, q=0.5, cutoff=4), 3)
    with pytest.raises(ValueError, match="both be results of a network"):
        tj.save(tmp_path / "y.h5", ensemble=single, exact=exact)
    assert not (tmp_path / "y.h5").exists()


# ----------------------------------------------------------------------- figures
def test_the_network_figure_has_a_panel_per_observable_and_legends_outside():
    exact = tj.solve_exact(tiny_network(), 6, leakage_tol=0.05)
    fig = tj.plot.observables(exact)  # dispatches to tj.plot.network_observables
    try:
        assert len(fig.axes) == 5
        labels = [ax.get_ylabel() for ax in fig.axes]
        assert labels[0].startswith("energy") and "negativity" in labels[3]
        energy = fig.axes[0]
        assert len(energy.lines) == 3
        np.testing.assert_array_equal(energy.lines[2].get_ydata(), exact.total_energy)
        for ax in fig.axes[:3]:
            legend = ax.get_legend()
            assert len(legend.get_texts()) == 3
            fig.canvas.draw()
            assert legend.get_window_extent().y0 >= ax.get_window_extent().y1 - 1
        assert "simultaneous" not in fig.get_suptitle() and "series network" in fig.get_suptitle()
    finally:
        tj.plot.close(fig)
    with pytest.raises(ValueError, match="network's result"):
        tj.plot.network_observables(tj.solve_exact(tj.Micromaser(theta=0.3, q=0.5, cutoff=4), 2))


# ----------------------------------------------------------------------- trajectories
@pytest.fixture(scope="module")
def ensemble():
    return tj.simulate(tiny_network(), 6, 400, seed=5, chunk_size=50,
                       rho_checkpoints=[3, 6], leakage_tol=0.05)  # fmt: skip


def test_save_and_load_give_back_the_ensemble_and_its_records(tmp_path, ensemble):
    exact = tj.solve_exact(tiny_network(), 6, checkpoints=ensemble.k, leakage_tol=0.05)
    rec = tj.load(tj.save(tmp_path / "x.h5", ensemble=ensemble, exact=exact))
    assert isinstance(rec.ensemble, tj.NetworkEnsemble)
    assert_same_fields(ensemble, rec.ensemble)
    assert_same_fields(exact, rec.exact)
    with h5py.File(tmp_path / "x.h5") as f:
        assert f["ensemble"].attrs["seed"] == 5
        assert list(f["ensemble/purity_mean"].dims[0].keys()) == ["rho_k"]


def test_the_runs_trajectories_agree_with_its_exact_solution(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", tiny_file(tmp_path), "-q")
    assert code == 0, err
    rec = tj.load(tmp_path / "out" / "tiny.h5")
    ens, ex = rec.ensemble, rec.exact
    assert ens.n_trajectories == 400 and ens.seed == 11
    np.testing.assert_array_equal(ens.k, ex.k)
    z = (ens.energy.mean[1:] - ex.energy[1:]) / ens.energy.stderr[1:]
    assert np.all(np.abs(z) < 5), z
    i = np.searchsorted(ex.k, ens.rho_k)
    zp = (ens.purity.mean - ex.purity[i]) / ens.purity.stderr
    assert np.all(np.abs(zp) < 5), zp


def test_the_figure_draws_the_ensembles_error_bars_over_the_exact_curves(ensemble):
    from matplotlib.container import ErrorbarContainer

    exact = tj.solve_exact(tiny_network(), 6, leakage_tol=0.05)
    fig = tj.plot.network_observables(ensemble, exact=exact)
    try:
        energy, purity = fig.axes[0], fig.axes[1]
        assert sum(isinstance(c, ErrorbarContainer) for c in energy.containers) == 3
        assert len(energy.lines) >= 3  # the exact curves
        bars = [c for c in purity.containers if isinstance(c, ErrorbarContainer)]
        assert bars and all(len(c.lines[0].get_xdata()) == ensemble.rho_k.size for c in bars)
    finally:
        tj.plot.close(fig)
