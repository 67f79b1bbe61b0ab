"""Protocols in run files ([[stage]] tables), their result files, ``show`` and figures."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import trajectories as tj
from trajectories.runs import io
from trajectories.runs.presets import preset_points
from trajectories.runs.runfile import RunFileError, apply_overrides, parse_run_dict
from trajectories.runs.runner import make_plots
from trajectories.solvers.montecarlo.result import EnsembleResult, Estimate

PNG = b"\x89PNG\r\n\x1a\n"
#: Whether this version's trajectory engine runs protocols (branch i18traj).

MODEL = {"theta": "pi/sqrt(15)", "q": 0.25, "c": 1, "gamma_tr": 0.1, "nbar": 0.15, "cutoff": 30}
STAGES = [
    {"name": "charge", "collisions": 30},
    {"name": "store", "collisions": 5, "theta": 0},
    {"name": "discharge", "collisions": 20, "q": 1, "c": 0, "theta": 0.64},
]


def spec(stages=None, run=None, model=None):
    return {
        "model": dict(MODEL if model is None else model),
        "stage": [dict(s) for s in (STAGES if stages is None else stages)],
        "run": {"exact": "only", **(run or {})},
    }


def test_stages_parse_into_a_protocol():
    (p,) = parse_run_dict(spec())
    proto = p.protocol
    assert isinstance(proto, tj.Protocol) and p.model is proto.stages[0].model
    assert [s.name for s in proto] == ["charge", "store", "discharge"]
    assert [s.kind for s in proto] == ["charge", "storage", "discharge"]
    assert [s.collisions for s in proto] == [30, 5, 20]
    assert proto.stages[1].model.theta == 0.0 and proto.stages[1].model.q == 0.25
    d = proto.stages[2].model
    assert (d.q, d.c, d.theta, d.gamma_tr, d.cutoff) == (1.0, 0.0, 0.64, 0.1, 30)
    assert p.run.collisions == 55 and p.run.exact == "only"
    assert {0, 30, 35, 55} <= set(p.run.checkpoints)  # the boundaries are checkpoints
    assert [s["name"] for s in p.to_dict()["stages"]] == ["charge", "store", "discharge"]


def test_unnamed_stages_and_a_matching_run_collisions():
    stages = [{"collisions": 10}, {"collisions": 4, "theta": 0}]
    (p,) = parse_run_dict(spec(stages, run={"collisions": 14}))
    assert [s.name for s in p.protocol] == ["stage 0", "stage 1"]


def test_sweep_over_a_stage_parameter():
    stages = [dict(s) for s in STAGES]
    stages[2]["theta"] = [0.5, 0.64, 0.8]
    points = parse_run_dict(spec(stages))
    assert [p.name for p in points] == [
        "run_stage2_theta-0.5", "run_stage2_theta-0.64", "run_stage2_theta-0.8"
    ]  # fmt: skip
    assert [p.protocol.stages[2].model.theta for p in points] == [0.5, 0.64, 0.8]
    assert [p.sweep_values for p in points][1] == {"stage2_theta": 0.64}
    assert all(p.protocol.stages[0].model.theta == points[0].model.theta for p in points)


def test_sweep_over_stage_collisions_and_a_model_key_together():
    stages = [dict(s) for s in STAGES]
    stages[1]["collisions"] = [5, 15]
    points = parse_run_dict({**spec(stages), "model": {**MODEL, "gamma_tr": [0.1, 0.01]}})
    assert len(points) == 4
    assert [p.run.collisions for p in points] == [55, 65, 55, 65]
    assert points[1].sweep_values == {"gamma_tr": 0.1, "stage1_collisions": 15}
    assert points[1].name == "run_gamma_tr-0.1_stage1_collisions-15"
    # [model] sweeps reach every stage that does not set the key
    assert {s.model.gamma_tr for s in points[3].protocol} == {0.01}


def test_overrides_keep_the_stages():
    (p,) = apply_overrides(parse_run_dict(spec()), seed=3)
    assert p.protocol.n_collisions == 55 and p.run.seed == 3


def _error(data) -> str:
    with pytest.raises(RunFileError) as err:
        parse_run_dict(data, source="p.toml")
    text = str(err.value)
    assert "\n" not in text
    return text


def _with(index, **changes):
    stages = [dict(s) for s in STAGES]
    stages[index].update(changes)
    return stages


@pytest.mark.parametrize(
    "stages,run,message",
    [
        (_with(2, collisions=0), {},
         "p.toml: stage[2] (discharge).collisions must be an integer >= 1, got 0"),
        ([{"collisions": 10}, {"collisions": 5, "cutoff": 40}], {},
         "p.toml: stage[1].cutoff: stages share the cutoff of [model]"),
        (_with(0, thetaa=1.0), {},
         "unknown key stage[0] (charge).thetaa; did you mean stage[0] (charge).theta?"),
        (_with(1, colisions=3), {}, "did you mean stage[1] (store).collisions?"),
        ([{"name": "a"}], {},
         "stage[0] (a).collisions is missing: every stage needs collisions = K"),
        (_with(2, collisions=2.5), {},
         "stage[2] (discharge).collisions must be an integer >= 1, got 2.5 (float)"),
        (_with(0, q=1.5), {}, "stage[0] (charge).q"),
        (_with(1, theta="pi/"), {}, "stage[1] (store).theta"),
        (_with(0, collision="rabi"), {}, "stage[0] (charge).collision = 'rabi' needs "
         "stage[0] (charge).g_over_omega"),
        (_with(2, theta=[]), {}, "stage[2] (discharge).theta is an empty list"),
        (_with(2, name=3), {}, "stage[2].name must be a non-empty string, got 3 (int)"),
        (STAGES, {"collisions": 500},
         "run.collisions = 500 differs from the stages' total 55 (30 + 5 + 20)"),
    ],
)  # fmt: skip
def test_stage_errors_are_one_line_naming_the_stage(stages, run, message):
    assert message in _error(spec(stages, run))


def test_stage_section_shape_errors():
    assert "[[stage]]" in _error({"model": MODEL, "stage": {"collisions": 3}})
    assert "stage[0] must be a table" in _error({"model": MODEL, "stage": [3]})
    assert "non-empty array" in _error({"model": MODEL, "stage": []})


def test_command_line_collisions_of_a_protocol_is_refused():
    with pytest.raises(RunFileError, match="command line: run.collisions = 100 differs"):
        apply_overrides(parse_run_dict(spec()), collisions=100)


def test_exact_only_and_its_errors():
    assert "or 'only'" in _error({"run": {"exact": "yes"}})
    (p,) = parse_run_dict({"run": {"exact": "only", "collisions": 10}})
    assert p.run.exact == "only" and p.protocol is None


def test_the_protocol_preset():
    (p,) = preset_points("protocol")
    assert [s.name for s in p.protocol] == ["charge", "store", "discharge"]
    assert p.protocol.cutoff == 60 and p.run.collisions == 550 and p.run.trajectories >= 2000
    assert p.run.exact is True


# ------------------------------------------------------------------ result files
@pytest.fixture(scope="module")
def exact():
    (p,) = parse_run_dict(spec())
    return tj.solve_exact(p.protocol)


def test_exact_protocol_round_trip(tmp_path, exact):
    path = io.save(tmp_path / "p.h5", exact=exact, metadata={"x": 1})
    rec = tj.load(path)
    back = rec.exact
    assert rec.protocol.to_dict() == exact.protocol.to_dict()
    assert back.protocol.to_dict() == exact.protocol.to_dict()
    for f in dataclasses.fields(back):
        x, y = getattr(exact, f.name), getattr(back, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y, equal_nan=True), f.name
    for name in ("energy_from_qubits", "switching_work", "energy_from_bath",
                 "energy_from_resets", "stage"):  # fmt: skip
        assert np.array_equal(getattr(back, name), getattr(exact, name)), name
    assert back.stage.tolist()[:2] == [0, 0] and back.stage[-1] == 2


def test_protocol_with_initial_states_round_trip(tmp_path):
    m = tj.Micromaser(theta=0.5, q=0.25, c=0.0, cutoff=12)
    proto = tj.Protocol([tj.Stage(m, 4), tj.Stage(m, 3, initial_state=tj.fock_state(2, 12))],
                        initial_state=tj.fock_state(1, 12))  # fmt: skip
    ex = tj.solve_exact(proto)
    back = tj.load(io.save(tmp_path / "i.h5", exact=ex)).exact
    assert np.array_equal(back.protocol.stages[1].initial_state, proto.stages[1].initial_state)
    assert np.array_equal(back.protocol.initial_state, proto.initial_state)
    assert np.array_equal(back.energy_from_resets, ex.energy_from_resets)


def test_files_without_books_load_with_none(tmp_path, exact):
    old = dataclasses.replace(exact, energy_from_qubits=None, switching_work=None,
                              energy_from_bath=None, energy_from_resets=None, stage=None,
                              protocol=None)  # fmt: skip
    rec = tj.load(io.save(tmp_path / "old.h5", exact=old))
    assert rec.protocol is None and rec.exact.protocol is None
    assert rec.exact.energy_from_qubits is None and rec.exact.stage is None


def _ensemble(model, k, books: bool):
    """A constructed ensemble result (the books only where this version has them)."""
    c, m = k.size, 6
    est = Estimate(np.linspace(0, 1, c), np.full(c, 0.01))
    z = np.zeros((m, c))
    per = tj.PerTrajectory(
        n_mean=z, n2_mean=z, qubit_g=np.zeros((m, c, 1), np.int64),
        qubit_e=np.zeros((m, c, 1), np.int64), emissions=z.astype(np.int64),
        absorptions=z.astype(np.int64), fock=z.astype(np.int64), alive=np.ones(m, bool),
        jump_times=np.zeros((m, 2)), jump_kinds=np.zeros((m, 2), np.int8),
        n_jumps=np.zeros(m, np.int64),
    )  # fmt: skip
    fields = {f.name for f in dataclasses.fields(EnsembleResult)}
    extra = {}
    if books:
        for name in ("energy_from_qubits", "energy_from_bath", "switching_work"):
            if name in fields:
                extra[name] = Estimate(np.cumsum(np.ones(c)), np.full(c, 0.1))
    return EnsembleResult(
        model=model, k=k, n_trajectories=m, chunk_size=3, n_chunks=2, seed=1, energy=est,
        purity=est, fano=est, ergotropy=est, populations=np.zeros((1, model.cutoff)),
        rho=np.zeros((1, model.cutoff, model.cutoff), complex), rho_index=np.array([c - 1]),
        leakage=np.zeros(c), leaked_trajectories=0, per_trajectory=per, jackknife_groups=2,
        n_jobs=1, backend="loky", seconds=0.1, **extra,
    )  # fmt: skip


def test_constructed_ensemble_round_trip_with_the_exact_protocol(tmp_path, exact):
    ens = _ensemble(exact.model, exact.k[::5], books=True)
    rec = tj.load(io.save(tmp_path / "e.h5", ensemble=ens, exact=exact))
    assert rec.protocol.to_dict() == exact.protocol.to_dict()
    assert np.array_equal(rec.ensemble.energy.mean, ens.energy.mean)
    fields = {f.name for f in dataclasses.fields(EnsembleResult)}
    for name in ("energy_from_qubits", "energy_from_bath", "switching_work"):
        if name in fields:  # the trajectory engine's books (branch i18traj)
            assert np.array_equal(getattr(rec.ensemble, name).mean, getattr(ens, name).mean)
    if "protocol" in fields:
        assert rec.ensemble.protocol.to_dict() == exact.protocol.to_dict()


def test_simulated_protocol_round_trip(tmp_path):  # pragma: no cover - branch i18traj
    (p,) = parse_run_dict(spec(run={"exact": True}))
    ens = tj.simulate(p.protocol, n_trajectories=40, seed=2, checkpoints=p.run.checkpoints)
    rec = tj.load(io.save(tmp_path / "s.h5", ensemble=ens))
    assert rec.ensemble.protocol.to_dict() == p.protocol.to_dict()
    for name in ("energy_from_qubits", "energy_from_bath", "switching_work"):
        assert np.array_equal(getattr(rec.ensemble, name).mean, getattr(ens, name).mean)
    assert np.array_equal(rec.ensemble.stage, ens.stage)


def test_to_xarray_has_the_books_and_stage(exact):
    pytest.importorskip("xarray")
    ds = exact.to_xarray()
    for name in ("energy_from_qubits", "switching_work", "energy_from_bath",
                 "energy_from_resets", "stage"):  # fmt: skip
        assert ds[name].dims == ("k",) and np.array_equal(ds[name].values, getattr(exact, name))
    assert "charge" in ds.attrs["protocol"]
    pytest.importorskip("pandas")
    assert "energy_from_bath" in exact.to_dataframe().columns


# ------------------------------------------------------------------ figures
def test_figures_of_a_protocol_and_of_a_single_model(tmp_path, exact):
    out = make_plots(None, exact, str(tmp_path), "p", ("png",))
    assert sorted(f.name for f in out) == ["p-books.png", "p-observables.png"]
    assert all(f.read_bytes()[:8] == PNG for f in out)
    single = tj.solve_exact(exact.model, 20)
    out = make_plots(None, single, str(tmp_path), "s", ("png",))
    assert (tmp_path / "s-books.png").read_bytes()[:8] == PNG and len(out) == 2


def test_books_figure_draws_exact_lines_and_ensemble_points(exact):
    ens = _ensemble(exact.model, exact.k[::5], books=True)
    fig = tj.plot.energy_books(ens, exact=exact)
    (ax,) = [a for a in fig.axes if a.get_xlabel()]
    labels = [t.get_text() for t in ax.texts]
    assert labels == [" charge", " store", " discharge"]
    assert ax.get_lines()  # exact lines and stage marks
    tj.plot.close(fig)
    with pytest.raises(ValueError, match="energy books"):
        tj.plot.energy_books(dataclasses.replace(exact, energy_from_qubits=None))


# ------------------------------------------------------------------ command line
RUN_FILE = """
[model]
theta = "pi/sqrt(15)"
q = 0.25
c = 1
gamma_tr = 0.1
nbar = 0.15
cutoff = 30
[run]
exact = "only"
checkpoints = { every = 5 }
[output]
name = "batt"
[[stage]]
name = "charge"
collisions = 30
[[stage]]
name = "store"
collisions = 5
theta = 0
[[stage]]
name = "discharge"
collisions = 20
q = 1
c = 0
theta = [0.5, 0.64]
"""


def micromaser(*args):
    proc = subprocess.run([sys.executable, "-m", "trajectories", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc


def test_micromaser_run_and_show_a_protocol_end_to_end(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(RUN_FILE)
    micromaser("run", path, "-o", tmp_path / "out", "--quiet")
    names = sorted(f.name for f in (tmp_path / "out").iterdir())
    for stem in ("batt_stage2_theta-0.5", "batt_stage2_theta-0.64"):
        assert {f"{stem}.h5", f"{stem}-observables.png", f"{stem}-books.png"} <= set(names)
    assert "batt-sweep.nc" in names
    rec = tj.load(tmp_path / "out" / "batt_stage2_theta-0.64.h5")
    assert rec.ensemble is None and rec.protocol.stages[2].model.theta == 0.64
    assert rec.metadata["request"]["protocol"]["stages"][2]["name"] == "discharge"
    show = micromaser("show", tmp_path / "out" / "batt_stage2_theta-0.64.h5").stdout
    # 80 columns (a long path is kept whole on a line of its own)
    assert all(len(line) <= 80 or " " not in line.strip() for line in show.splitlines()), show
    lines = show.splitlines()
    row = next(line for line in lines if line.lstrip().startswith("2 discharge"))
    assert row.split()[2:5] == ["discharge", "20", "36..55"]
    delivered = float(row.split()[-1])
    ex = rec.exact
    assert delivered == pytest.approx(ex.energy_from_qubits[35] - ex.energy_from_qubits[55],
                                      rel=1e-5)  # fmt: skip
    assert "energy books" in show and "balance residual" in show
    residual = float(show.split("balance residual ")[1].split()[0])
    assert abs(residual) < 1e-10


def test_bad_protocol_run_file_exits_2_with_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(RUN_FILE.replace("collisions = 20", "collisions = 0"))
    proc = subprocess.run([sys.executable, "-m", "trajectories", "run", str(path), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2
    assert "stage[2] (discharge).collisions must be an integer >= 1, got 0" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
