"""A non-ideal qubit beam (random arrivals, a theta spread) in run files, result files,
sweeps, ``micromaser show`` and figure titles.

No non-ideal model is simulated here: the results are an ideal model's exact solution with
the model replaced, so that only the reading and writing around the model is tested.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

import trajectories as tj
from trajectories.plot import style
from trajectories.runs import io, sweep
from trajectories.runs.points import beam_label
from trajectories.runs.runfile import RunFileError, apply_overrides, load_run_file, parse_run_dict

DISCRETE = {"discrete": {"values": [0.9, 1.1], "weights": [0.5, 0.5]}}


def points(model, **run):
    return parse_run_dict({"model": {"cutoff": 30, **model}, "run": {"collisions": 5, **run}})


def error(model):
    with pytest.raises(RunFileError) as info:
        points(model)
    return info.value


@pytest.fixture(scope="module")
def ideal_exact():
    return tj.solve_exact(tj.Micromaser(theta=0.8, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.1,
                                        cutoff=30), 5)  # fmt: skip


def with_model(result, model):
    """An ideal model's result relabelled with ``model`` (no beam physics is run)."""
    return dataclasses.replace(result, model=model)


# ----------------------------------------------------------------------- run-file forms
@pytest.mark.parametrize(
    "value,expected",
    [
        ("regular", tj.Arrivals.regular()),
        ("poisson", tj.Arrivals.poisson()),
        ({"bernoulli": 0.5}, tj.Arrivals.bernoulli(0.5)),
        ({"bernoulli": "1/4"}, tj.Arrivals.bernoulli(0.25)),
        ({"bernoulli": 1}, tj.Arrivals.regular()),
    ],
)
def test_arrivals_forms_give_the_model_field(value, expected):
    (p,) = points({"arrivals": value})
    assert p.model.arrivals == expected and p.model.theta_spread.is_none


@pytest.mark.parametrize(
    "value,expected",
    [
        ("none", tj.ThetaSpread.none()),
        ({"gaussian": 0.05}, tj.ThetaSpread.gaussian(0.05)),
        ({"uniform": 0.1}, tj.ThetaSpread.uniform(0.1)),
        ({"uniform": 1}, tj.ThetaSpread.uniform(1.0)),
        ({"gaussian": 0}, tj.ThetaSpread.none()),
        (DISCRETE, tj.ThetaSpread.discrete([0.9, 1.1], [0.5, 0.5])),
        ({"discrete": {"values": ["1 - 1/10", 1.1], "weights": [0.25, 0.75]}},
         tj.ThetaSpread.discrete([0.9, 1.1], [0.25, 0.75])),
    ],
)  # fmt: skip
def test_theta_spread_forms_give_the_model_field(value, expected):
    (p,) = points({"theta_spread": value})
    assert p.model.theta_spread == expected and p.model.arrivals.is_regular


def test_a_toml_file_with_both_beam_keys(tmp_path):
    path = tmp_path / "beam.toml"
    path.write_text(
        "[model]\ncutoff = 30\narrivals = { bernoulli = 0.5 }\n"
        "theta_spread = { discrete = { values = [0.9, 1.1], weights = [0.5, 0.5] } }\n"
        "[run]\ncollisions = 5\n"
    )
    (p,) = load_run_file(path)
    assert p.model.arrivals == tj.Arrivals.bernoulli(0.5)
    assert p.model.theta_spread == tj.ThetaSpread.discrete([0.9, 1.1], [0.5, 0.5])
    assert not p.model.is_ideal_beam


def test_the_point_dict_gives_the_run_file_forms_back_and_overrides_keep_them():
    (p,) = points({"arrivals": {"bernoulli": 0.5}, "theta_spread": DISCRETE})
    model = p.to_dict()["model"]
    assert model["arrivals"] == {"bernoulli": 0.5} and model["theta_spread"] == DISCRETE
    assert "arrivals" not in points({})[0].to_dict()["model"]  # the ideal beam: no keys
    (q,) = parse_run_dict({k: v for k, v in p.to_dict().items() if k in ("model", "run")})
    assert q.model == p.model
    unspecced = dataclasses.replace(p, _spec=None)  # rebuilt from to_dict
    assert apply_overrides([unspecced], collisions=10)[0].model == p.model


# ----------------------------------------------------------------------------- sweeps
def test_a_list_of_forms_is_a_sweep_axis_labelled_by_the_form():
    pts = points({"arrivals": ["regular", "poisson", {"bernoulli": 0.5}]})
    assert [p.name for p in pts] == ["run_arrivals-regular", "run_arrivals-poisson",
                                     "run_arrivals-bernoulli-0.5"]  # fmt: skip
    assert [p.sweep_values for p in pts][2] == {"arrivals": "bernoulli-0.5"}
    assert [p.model.arrivals.kind for p in pts] == ["regular", "poisson", "bernoulli"]
    pts = points({"theta_spread": ["none", {"uniform": 0.1}, DISCRETE]})
    assert [p.sweep_values["theta_spread"] for p in pts] == [
        "none", "uniform-0.1", "discrete-0.9@0.5-1.1@0.5"]  # fmt: skip


def test_a_list_as_the_width_of_a_table_sweeps_the_flat_parameter():
    pts = points({"theta_spread": {"gaussian": [0.01, 0.05, 0.1]}, "gamma_tr": [0.1, 0.2]})
    assert len(pts) == 6
    assert pts[0].name == "run_theta_spread_width-0.01_gamma_tr-0.1"
    assert pts[-1].sweep_values == {"theta_spread_width": 0.1, "gamma_tr": 0.2}
    assert [p.model.theta_spread for p in pts[::2]] == [
        tj.ThetaSpread.gaussian(s) for s in (0.01, 0.05, 0.1)]  # fmt: skip
    pts = points({"arrivals": {"bernoulli": [0.2, 0.5]}, "q": [0.1, 0.2]}, sweep="zip")
    assert [p.sweep_values for p in pts] == [{"arrivals_p": 0.2, "q": 0.1},
                                             {"arrivals_p": 0.5, "q": 0.2}]  # fmt: skip
    assert pts[1].model.arrivals == tj.Arrivals.bernoulli(0.5)


def test_beam_labels_are_distinct_for_distinct_forms():
    assert beam_label(tj.Arrivals.bernoulli(0.1 + 1e-12)) != beam_label(tj.Arrivals.bernoulli(0.1))
    assert beam_label(tj.ThetaSpread.gaussian(0.05)) == "gaussian-0.05"
    assert beam_label(tj.Arrivals.poisson()) == "poisson"


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "model,key,words",
    [
        ({"arrivals": {"bernoulli": 0}}, "model.arrivals.bernoulli", ["(0, 1]", "got 0"]),
        ({"arrivals": {"bernoulli": 1.5}}, "model.arrivals.bernoulli", ["(0, 1]", "got 1.5"]),
        ({"theta_spread": {"gaussian": -0.1}}, "model.theta_spread.gaussian", [">= 0", "-0.1"]),
        ({"theta_spread": {"uniform": 2}}, "model.theta_spread.uniform", ["[0, 1]", "got 2"]),
        ({"theta_spread": {"discrete": {"values": [0.9, 1.1], "weights": [0.5, 0.4]}}},
         "model.theta_spread.discrete.weights", ["sum to 1", "0.9"]),
        ({"theta_spread": {"discrete": {"values": [0.9, 1.1], "weights": [0.5]}}},
         "model.theta_spread.discrete.weights", ["one weight per value", "1 weights for 2"]),
        ({"theta_spread": {"discrete": {"values": [0.9, 1.1]}}},
         "model.theta_spread.discrete.weights", ["needs"]),
        ({"theta_spread": {"discrete": {"values": [-1, 2], "weights": [0.5, 0.5]}}},
         "model.theta_spread.discrete.values[0]", [">= 0", "-1"]),
        ({"theta_spread": {"lorentzian": 0.1}}, "model.theta_spread.lorentzian",
         ["unknown key", "gaussian, uniform, discrete"]),
        ({"theta_spread": {"gausian": 0.1}}, "model.theta_spread.gausian",
         ["did you mean model.theta_spread.gaussian"]),
        ({"theta_spread": "gaussian"}, "model.theta_spread", ["{ gaussian = .. }"]),
        ({"theta_spread": {"gaussian": 0.1, "uniform": 0.1}}, "model.theta_spread",
         ["'none', { gaussian = sigma }"]),
        ({"arrivals": "poison"}, "model.arrivals", ["'regular', 'poisson'", "did you mean"]),
        ({"arrivals": "bernoulli"}, "model.arrivals", ["{ bernoulli = .. }"]),
        ({"arrivals": 3}, "model.arrivals", ["got 3 (int)"]),
        ({"arrivals": {"poisson": 1}}, "model.arrivals.poisson", ["unknown key"]),
        ({"arrivals": "poisson", "collision": "rabi", "g_over_omega": 0.1}, "model.arrivals",
         ["regular with a Rabi collision"]),
        ({"arrivals": ["regular", {"bernoulli": 1}]}, "model.arrivals", ["repeats a value"]),
        ({"theta_spread": {"uniform": [0.1, 0.1]}}, "model.theta_spread.uniform",
         ["repeats a value"]),
        ({"theta_spread": {"uniform": []}}, "model.theta_spread.uniform", ["empty list"]),
        ({"theta_spread": {"uniform": [0.1, 2]}}, "model.theta_spread.uniform", ["got 2"]),
    ],
)  # fmt: skip
def test_bad_beam_values_are_one_line_errors_naming_the_key(model, key, words):
    err = error(model)
    assert err.key == key and "\n" not in str(err)
    assert key in str(err), str(err)
    for w in words:
        assert w in str(err), str(err)


@pytest.mark.parametrize(
    "text,message",
    [
        ("arrivals = { bernoulli = 0 }", "model.arrivals.bernoulli must be in (0, 1]"),
        ("theta_spread = { uniform = 2 }", "model.theta_spread.uniform must be in [0, 1]"),
        ("theta_spread = { weibull = 2 }", "unknown key model.theta_spread.weibull"),
    ],
)
def test_bad_beam_run_files_exit_2_with_one_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(f'[model]\n{text}\n[output]\nfolder = "{tmp_path / "out"}"\n')
    proc = subprocess.run([sys.executable, "-m", "trajectories", "run", str(path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------- result files
BEAMS = [
    {"arrivals": tj.Arrivals.poisson()},
    {"arrivals": tj.Arrivals.bernoulli(0.3), "theta_spread": tj.ThetaSpread.gaussian(0.05)},
    {"theta_spread": tj.ThetaSpread.uniform(0.1)},
    {"theta_spread": tj.ThetaSpread.discrete([0.9, 1.0, 1.1], [0.2, 0.5, 0.3])},
    {"theta_spread": tj.ThetaSpread.discrete([1.2], [1.0])},  # one value: a 1-element array
]


@pytest.mark.parametrize("beam", BEAMS)
def test_results_of_a_non_ideal_beam_round_trip_exactly(tmp_path, ideal_exact, beam):
    model = ideal_exact.model.replace(**beam)
    path = io.save(tmp_path / "r.h5", exact=with_model(ideal_exact, model))
    rec = tj.load(path)
    assert rec.model == model and rec.model.to_dict() == model.to_dict()
    np.testing.assert_array_equal(rec.exact.energy, ideal_exact.energy)


def test_a_file_without_the_beam_keys_loads_as_the_ideal_beam(tmp_path, ideal_exact):
    model = ideal_exact.model.replace(arrivals="poisson",
                                      theta_spread=tj.ThetaSpread.gaussian(0.1))  # fmt: skip
    path = io.save(tmp_path / "old.h5", exact=with_model(ideal_exact, model))
    with h5py.File(path, "r+") as f:  # as a file of an earlier version: no beam keys
        for key in ("arrivals", "arrivals_p", "theta_spread", "theta_spread_width"):
            if key in f["model"].attrs:
                del f["model"].attrs[key]
        assert set(f["model"].attrs) == {"theta", "q", "c_real", "c_imag", "gamma_tr", "nbar",
                                         "cutoff"}  # fmt: skip
    rec = tj.load(path)
    assert rec.model.is_ideal_beam and rec.model == ideal_exact.model


@pytest.mark.filterwarnings("ignore:You are writing invalid netcdf features")
@pytest.mark.parametrize("beam", BEAMS[2:])
def test_to_xarray_stores_a_discrete_spread_as_array_attributes(tmp_path, ideal_exact, beam):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    model = ideal_exact.model.replace(**beam)
    ds = with_model(ideal_exact, model).to_xarray()
    if model.theta_spread.kind == "discrete":
        np.testing.assert_array_equal(ds.attrs["theta_spread_values"], model.theta_spread.values)
    assert tj.Micromaser.from_dict(ds.attrs) == model
    ds.to_netcdf(tmp_path / "x.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "x.nc", engine="h5netcdf") as back:
        assert tj.Micromaser.from_dict(back.attrs) == model


def _write_points(pts, result):
    for p in pts:
        p.stem.parent.mkdir(parents=True, exist_ok=True)
        io.save(f"{p.stem}.h5", exact=with_model(result, p.model))


def test_combined_sweep_file_over_beam_forms_and_widths(tmp_path, ideal_exact):
    pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    out = {"folder": str(tmp_path), "name": "s"}
    model = {"cutoff": 30, "theta_spread": {"gaussian": [0.01, 0.05]}, "gamma_tr": [0.1, 0.2]}
    pts = parse_run_dict({"model": model, "run": {"collisions": 5}, "output": out})
    _write_points(pts, ideal_exact)
    ds = sweep.load_sweep(sweep.write_sweep(pts))
    assert ds.sizes["theta_spread_width"] == 2 and ds.sizes["gamma_tr"] == 2
    np.testing.assert_array_equal(ds.theta_spread_width, [0.01, 0.05])
    assert ds.attrs["theta_spread"] == "gaussian"  # shared by every point

    model = {"cutoff": 30, "arrivals": ["regular", "poisson", {"bernoulli": 0.5}],
             "theta_spread": DISCRETE}  # fmt: skip
    pts = parse_run_dict({"model": model, "run": {"collisions": 5}, "output": out})
    _write_points(pts, ideal_exact)
    ds = sweep.load_sweep(sweep.write_sweep(pts))
    assert list(ds.arrivals.values) == ["regular", "poisson", "bernoulli-0.5"]
    np.testing.assert_array_equal(ds.attrs["theta_spread_values"], [0.9, 1.1])
    assert "arrivals_p" not in ds.attrs  # not shared


# ------------------------------------------------------------------ show and titles
def test_show_describes_a_non_ideal_beam_within_80_columns(tmp_path, ideal_exact):
    spread = tj.ThetaSpread.discrete([0.8, 0.9, 1.0, 1.1, 1.2], [0.1, 0.2, 0.4, 0.2, 0.1])
    model = ideal_exact.model.replace(arrivals=tj.Arrivals.bernoulli(0.5), theta_spread=spread)
    path = io.save(tmp_path / "beam.h5", exact=with_model(ideal_exact, model))
    proc = subprocess.run([sys.executable, "-m", "trajectories", "show", str(path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80, proc.stdout
    assert model.arrivals.describe() in text and spread.describe() in text, proc.stdout
    ideal = io.save(tmp_path / "ideal.h5", exact=ideal_exact)
    proc = subprocess.run([sys.executable, "-m", "trajectories", "show", str(ideal)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "arrivals" not in proc.stdout and "spread" not in proc.stdout


def test_figure_titles_name_a_non_ideal_beam_on_a_second_line(ideal_exact):
    ideal = ideal_exact.model
    assert "\n" not in style.model_title(ideal)
    model = ideal.replace(arrivals="poisson", theta_spread=tj.ThetaSpread.gaussian(0.05))
    first, second = style.model_title(model).split("\n")
    assert first == style.model_title(ideal)
    assert second == "poisson arrivals, Gaussian theta spread (sigma = 5%)"


def test_the_resume_manifest_keeps_a_non_ideal_beam():
    from trajectories.runs import runner

    (p,) = points({"arrivals": {"bernoulli": 0.5}, "theta_spread": DISCRETE}, seed=3)
    request = runner.RunRequest.from_point(p)
    text = json.dumps(request.to_manifest())
    assert runner.RunRequest.from_manifest(json.loads(text)).model == p.model
