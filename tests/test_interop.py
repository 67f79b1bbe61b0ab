"""Data interop: results as xarray datasets and pandas tables, netCDF-readable result files,
compression, and a sweep's combined dataset (``tj.load_sweep``)."""

import sys

import h5py
import numpy as np
import pytest

import trajectories as tj
from trajectories.runs import io, runner, sweep
from trajectories.runs.runfile import parse_run_dict

xr = pytest.importorskip("xarray")
pd = pytest.importorskip("pandas")
pytest.importorskip("h5netcdf")

MODEL = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=0.0, gamma_tr=0.1, nbar=0.15,
                      cutoff=24)  # fmt: skip
CHECKPOINTS = range(0, 61, 10)


@pytest.fixture(scope="module")
def results():
    ens = tj.simulate(MODEL, 60, 120, seed=2**70 + 5, chunk_size=5, checkpoints=CHECKPOINTS,
                      rho_checkpoints=[20, 60], max_jumps=4)  # fmt: skip
    exact = tj.solve_exact(MODEL, 60, store_states=True)
    return ens, exact


def model_of(attrs):
    keys = MODEL.to_dict()
    return tj.Micromaser.from_dict({k: attrs[k] for k in keys})


# ----------------------------------------------------------------- to_xarray
def test_exact_to_xarray_has_the_arrays_on_k_and_n_and_the_model_as_attributes(results):
    _, exact = results
    ds = exact.to_xarray()
    np.testing.assert_array_equal(ds.k, exact.k)
    np.testing.assert_array_equal(ds.n, np.arange(MODEL.cutoff))
    for name in ("energy", "purity", "fano", "ergotropy", "entropy", "a_mean", "leakage"):
        assert ds[name].dims == ("k",)
        np.testing.assert_array_equal(ds[name], getattr(exact, name))
    assert ds.populations.dims == ("k", "n") and ds.states.dims == ("k", "n", "m")
    np.testing.assert_array_equal(ds.states, exact.states)
    assert model_of(ds.attrs) == MODEL
    assert ds.attrs["result"] == "exact" and ds.attrs["method"] == exact.method
    assert float(ds.energy.sel(k=30)) == exact.at(30)["energy"]
    table = exact.to_dataframe()
    assert list(table.index) == list(exact.k)
    np.testing.assert_array_equal(table.purity, exact.purity)


def test_ensemble_to_xarray_has_means_errors_coordinates_and_run_attributes(results):
    ens, _ = results
    ds = ens.to_xarray()
    np.testing.assert_array_equal(ds.k, ens.k)
    np.testing.assert_array_equal(ds.k_rho, [20, 60])
    for name in ("energy", "purity", "fano", "ergotropy"):
        np.testing.assert_array_equal(ds[name], getattr(ens, name).mean)
        np.testing.assert_array_equal(ds[f"{name}_stderr"], getattr(ens, name).stderr)
    assert ds.populations.dims == ("k_rho", "n")
    np.testing.assert_array_equal(ds.rho.sel(k_rho=60), ens.rho[1])
    assert model_of(ds.attrs) == MODEL
    # a 128-bit seed does not fit a netCDF integer: it is kept exactly, as text
    assert int(ds.attrs["seed"]) == ens.seed == 2**70 + 5
    assert ds.attrs["n_trajectories"] == 120 and ds.attrs["streams"] == ens.streams
    assert ds.attrs["version"] == tj.__version__
    full = ens.to_xarray(per_trajectory=True)
    np.testing.assert_array_equal(full.emissions, ens.per_trajectory.emissions)
    assert full.qubit_g.dims == ("trajectory", "k", "branch") and full.sizes["jump"] == 4


@pytest.mark.filterwarnings("ignore:You are writing invalid netcdf features")
def test_to_xarray_survives_a_netcdf_file_round_trip(tmp_path, results):
    ens, exact = results
    for i, ds in enumerate((ens.to_xarray(), exact.to_xarray())):
        path = tmp_path / f"r{i}.nc"
        ds.to_netcdf(path, engine="h5netcdf", invalid_netcdf=True)  # complex rho, <a>
        with xr.open_dataset(path, engine="h5netcdf") as back:
            xr.testing.assert_identical(back.load(), ds)


def test_counting_statistics_to_xarray(results):
    ens, _ = results
    stats = tj.counting.from_ensemble(ens, "emission")
    ds = stats.to_xarray()
    np.testing.assert_array_equal(ds.k, ens.k)
    np.testing.assert_array_equal(ds["mean"], stats.mean.mean)
    np.testing.assert_array_equal(ds.mandel_q_stderr, stats.mandel_q.stderr)
    np.testing.assert_array_equal(ds.kappa_3, stats.cumulants[2].mean)
    np.testing.assert_array_equal(ds.counts, stats.counts)
    assert ds.attrs["count"] == "emission" and model_of(ds.attrs) == MODEL


def test_per_trajectory_records_as_a_long_table(results):
    ens, _ = results
    per = ens.per_trajectory
    df = ens.to_dataframe()
    assert df.index.names == ["trajectory", "k"] and len(df) == 120 * len(CHECKPOINTS)
    assert df.loc[(7, 40), "emissions"] == per.emissions[7, 4]
    assert df.loc[(7, 40), "qubit_g"] == per.qubit_g[7, 4].sum()
    assert df.loc[(3, 60), "qubit_e_1"] == per.qubit_e[3, 6, 1]  # c = 0: two branches
    means = df.groupby("k").emissions.mean()
    np.testing.assert_allclose(means.to_numpy(), per.emissions.mean(axis=0))
    with pytest.raises(ValueError, match="7 checkpoints"):
        per.to_dataframe(k=[0, 1])


# ----------------------------------------------------------------- result files
def test_xarray_opens_a_written_result_with_k_as_a_coordinate(tmp_path, results):
    ens, exact = results
    path = io.save(tmp_path / "r.h5", ensemble=ens, exact=exact)
    with xr.open_dataset(path, engine="h5netcdf", group="ensemble") as ds:
        assert "k" in ds.coords and "n" in ds.coords
        assert not any(d.startswith("phony") for d in ds.dims)
        np.testing.assert_array_equal(ds.k, ens.k)
        np.testing.assert_array_equal(ds.energy_mean.sel(k=40), ens.energy.mean[4])
        assert ds.rho.dims == ("k_rho", "n", "m")
        np.testing.assert_array_equal(ds.k_rho, [20, 60])
    with xr.open_dataset(path, engine="h5netcdf", group="ensemble/per_trajectory") as ds:
        assert ds.n_mean.dims == ("trajectory", "k")
        np.testing.assert_array_equal(ds.k, ens.k)
    with xr.open_dataset(path, engine="h5netcdf", group="exact") as ds:
        np.testing.assert_array_equal(ds.populations.sel(k=60), exact.populations[-1])


def test_density_matrices_and_records_are_compressed(tmp_path, results):
    ens, exact = results
    path = io.save(tmp_path / "r.h5", ensemble=ens, exact=exact)
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 1  # every record column: version-1 readers read it
        assert f.attrs["format_minor"] == io.FORMAT_MINOR
        for name in ("ensemble/rho", "exact/states", "ensemble/per_trajectory/n_mean",
                     "ensemble/per_trajectory/emissions"):  # fmt: skip
            ds = f[name]
            assert ds.compression == "gzip", name
            assert ds.id.get_storage_size() < ds.size * ds.dtype.itemsize, name
    rec = tj.load(path)  # and they read back unchanged
    np.testing.assert_array_equal(rec.ensemble.rho, ens.rho)
    np.testing.assert_array_equal(rec.ensemble.per_trajectory.n_mean, ens.per_trajectory.n_mean)


# ----------------------------------------------------------------- sweeps
def run_sweep(tmp_path, model, run):
    spec = {"model": {"cutoff": 26, **model},
            "run": {"trajectories": 20, "collisions": 20, "seed": 1, "chunk_size": 1,
                    "checkpoints": {"every": 10}, **run},
            "output": {"folder": str(tmp_path), "name": "sw", "plots": []}}  # fmt: skip
    points = parse_run_dict(spec)
    for point in points:
        runner.execute(runner.RunRequest.from_point(point), progress=False)
    return points


def test_a_grid_sweep_gives_one_dataset_with_the_parameters_as_dimensions(tmp_path):
    points = run_sweep(tmp_path, {"gamma_tr": [0.05, 0.1], "nbar": [0.1, 0.15, 0.2]}, {})
    path = sweep.write_sweep(points)
    assert path == tmp_path / "sw-sweep.nc"
    ds = tj.load_sweep(tmp_path)
    assert ds.energy.dims == ("gamma_tr", "nbar", "k")
    np.testing.assert_array_equal(ds.gamma_tr, [0.05, 0.1])
    np.testing.assert_array_equal(ds.nbar, [0.1, 0.15, 0.2])
    assert ds.attrs["sweep"] == "grid" and ds.attrs["cutoff"] == 26
    for point in points:
        rec = tj.load(tmp_path / f"{point.name}.h5")
        at = ds.sel(**point.sweep_values)
        np.testing.assert_array_equal(at.energy, rec.ensemble.energy.mean)
        np.testing.assert_array_equal(at.purity_stderr, rec.ensemble.purity.stderr)
        np.testing.assert_array_equal(at.exact_energy, rec.exact.energy[::10])
        # the energy books travel with the observables
        np.testing.assert_array_equal(at.energy_from_bath, rec.ensemble.energy_from_bath.mean)
        np.testing.assert_array_equal(
            at.exact_energy_from_qubits, rec.exact.energy_from_qubits[::10]
        )
        assert bool(at.complete) and str(at.result_file.values) == f"{point.name}.h5"


def test_a_sweep_that_is_no_grid_lies_along_points_with_the_parameters_as_coordinates(
    tmp_path,
):
    points = run_sweep(tmp_path, {"q": [0.1, 0.2, 0.3], "cutoff": [24, 26, 28]},
                       {"collisions": [10, 20, 20], "sweep": "zip"})  # fmt: skip
    sweep.write_sweep(points)
    (tmp_path / f"{points[1].name}.h5").unlink()  # a failed point: rewritten without it
    sweep.write_sweep(points)
    ds = tj.load_sweep(tmp_path / "sw-sweep.nc")
    assert ds.energy.dims == ("point", "k") and ds.attrs["sweep"] == "points"
    np.testing.assert_array_equal(ds.q, [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(ds.cutoff.values, [24, 26, 28])
    np.testing.assert_array_equal(ds.k, [0, 10, 20])  # the union of the points' checkpoints
    np.testing.assert_array_equal(ds.complete, [True, False, True])
    assert np.isnan(ds.energy.sel(point=0, k=20)) and np.isnan(ds.energy.sel(point=1)).all()
    assert ds.sizes["n"] == 28 and np.isnan(ds.populations.sel(point=0, n=27)).all()
    rec = tj.load(tmp_path / f"{points[2].name}.h5")
    np.testing.assert_array_equal(ds.energy.sel(point=2), rec.ensemble.energy.mean)


def test_load_sweep_names_what_is_missing(tmp_path):
    with pytest.raises(io.ResultFileError, match="no combined sweep file"):
        tj.load_sweep(tmp_path)
    for name in ("a", "b"):
        (tmp_path / f"{name}-sweep.nc").write_bytes(b"")
    with pytest.raises(io.ResultFileError, match=r"several sweeps \(a, b\): pass name="):
        tj.load_sweep(tmp_path)


# ----------------------------------------------------------------- the optional extra
@pytest.mark.parametrize("module", ["xarray", "pandas"])
def test_conversions_without_the_extra_name_it(monkeypatch, results, tmp_path, module):
    ens, exact = results
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    message = f"needs {module}: pip install 'micromaser-trajectories\\[xarray\\]'"
    calls = [exact.to_dataframe]
    if module == "xarray":
        calls += [ens.to_xarray, exact.to_xarray, lambda: tj.load_sweep(tmp_path),
                  tj.counting.from_ensemble(ens, "g").to_xarray]  # fmt: skip
    else:
        calls += [ens.to_dataframe, ens.per_trajectory.to_dataframe]
    for call in calls:
        with pytest.raises(ImportError, match=message):
            call()
