"""Trajectories of protocols (charge, store, discharge): stages, carried records, energy books.

Checked against the exact solver stage by stage (``tj.solve_exact(protocol)``) with fixed
seeds: every observable and the three energy books within 5 standard errors at every
checkpoint, the delivered count of the discharge against its exact distribution, and the
random streams (one stage is the single-model run bit for bit; the first ``M``
trajectories do not depend on ``M``, the chunks or the workers).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import trajectories as tj
from trajectories.model.interactions import Rabi
from trajectories.statistics.compare import SE_FLOOR
from trajectories.statistics.counting import chi_square

N = 30
CHARGE = tj.Micromaser(
    theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=N
)
STORE = CHARGE.replace(theta=0.0)
DISCHARGE = CHARGE.replace(q=1.0, c=0.0, theta=0.64)
K_CHARGE, K_STORE, K_DISCHARGE = 60, 20, 40
CHECKPOINTS = list(range(0, K_CHARGE + K_STORE + K_DISCHARGE + 1, 5))
M = 3000
BOOKS = ("energy_from_qubits", "switching_work", "energy_from_bath")


def three_stages(discharge: tj.Micromaser = DISCHARGE) -> tj.Protocol:
    return tj.Protocol(
        [
            tj.Stage(CHARGE, K_CHARGE, name="charge"),
            tj.Stage(STORE, K_STORE, name="store"),
            tj.Stage(discharge, K_DISCHARGE, name="discharge"),
        ]
    )


def run(protocol, n=M, **kw):
    opts = dict(seed=11, chunk_size=100, checkpoints=CHECKPOINTS, progress=False)
    opts.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.StatisticsWarning)
        return tj.simulate(protocol, n_trajectories=n, **opts)


@pytest.fixture(scope="module")
def ensemble():
    return run(three_stages())


@pytest.fixture(scope="module")
def exact():
    return tj.solve_exact(three_stages(), store_states=True)


def records(ens):
    per = ens.per_trajectory
    out = {f.name: getattr(per, f.name) for f in dataclasses.fields(per)}
    out["rho"] = ens.rho
    out["leakage"] = ens.leakage
    return out


def assert_same_records(a, b):
    ra, rb = records(a), records(b)
    assert ra.keys() == rb.keys()
    for name in ra:
        assert np.array_equal(ra[name], rb[name], equal_nan=True), name


# ------------------------------------------------------------------ streams and stages
@pytest.mark.parametrize(
    "model",
    [
        CHARGE.replace(cutoff=14),
        DISCHARGE.replace(cutoff=10, c=0.5),  # mixed qubit: two branches
        tj.Micromaser(
            theta=0.5, q=0.4, c=1.0, gamma_tr=0.05, nbar=0.1, cutoff=10, collision=Rabi(0.1)
        ),
    ],  # fmt: skip
    ids=["fig5", "mixed-qubit", "rabi"],
)
def test_one_stage_protocol_is_the_single_model_run_bit_for_bit(model):
    rho0 = np.diag(np.r_[0.5, 0.3, 0.2, np.zeros(model.cutoff - 3)])  # mixed: stream 2
    opts = dict(seed=5, chunk_size=7, checkpoints=[0, 3, 10, 25], max_jumps=10,
                record_theta=True, progress=False, initial_state=rho0, leakage_tol=1.0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tj.StatisticsWarning)
        single = tj.simulate(model, 25, 30, **opts)
        one = tj.simulate(tj.Protocol([tj.Stage(model, 25)]), n_trajectories=30, **opts)
    assert_same_records(single, one)
    for name in ("energy", "purity", "fano", *BOOKS):
        assert np.array_equal(
            getattr(single, name).mean, getattr(one, name).mean, equal_nan=True
        ), name
    assert one.stage.tolist() == [0, 0, 0, 0] and one.protocol is not None
    assert single.protocol is None


def test_workers_and_prefix_do_not_change_the_trajectories():
    protocol = three_stages()
    base = run(protocol, 120, chunk_size=20)
    two = run(protocol, 120, chunk_size=20, n_jobs=2)
    assert_same_records(base, two)
    double = run(protocol, 240, chunk_size=35)
    for name, a in records(base).items():
        if name in ("rho", "leakage"):
            continue
        assert np.array_equal(a, records(double)[name][:120], equal_nan=True), name


def test_validation_is_one_line_before_any_work():
    protocol = three_stages()
    with pytest.raises(ValueError, match="protocol's 120 collisions"):
        tj.simulate(protocol, 100, 10)
    with pytest.raises(ValueError, match="n_trajectories is required"):
        tj.simulate(protocol)
    with pytest.raises(ValueError, match="n_collisions is required"):
        tj.simulate(CHARGE, n_trajectories=10)
    own = tj.Protocol([tj.Stage(CHARGE, 5, initial_state=tj.fock_state(1, N))])
    with pytest.raises(ValueError, match="initial state given twice"):
        tj.simulate(own, n_trajectories=10, initial_state=tj.fock_state(2, N))
    with pytest.raises(ValueError, match="checkpoints"):
        tj.simulate(protocol, n_trajectories=10, checkpoints=[0, 121])


# ------------------------------------------------------------- against the exact solver
def test_three_stages_agree_with_the_exact_solution(ensemble, exact):
    assert ensemble.stage.tolist() == exact.stage[np.searchsorted(exact.k, ensemble.k)].tolist()
    cmp = tj.compare(ensemble, exact)
    assert set(cmp.z) >= {"energy", "purity", "fano", *BOOKS}
    assert cmp.passed(), cmp.summary()
    # the books are not trivially zero: charge brings energy in, discharge takes it out
    q = ensemble.energy_from_qubits.mean
    assert q[CHECKPOINTS.index(60)] > 5.0 and q[-1] < q[CHECKPOINTS.index(80)] - 0.5
    assert np.all(ensemble.switching_work.mean == 0.0)  # Jaynes-Cummings


def test_negative_control_another_discharge_theta_is_rejected(ensemble):
    wrong = tj.solve_exact(three_stages(DISCHARGE.replace(theta=0.9)))
    idx = np.searchsorted(wrong.k, ensemble.k)
    worst = 0.0
    for name in ("energy", "energy_from_qubits", "energy_from_bath"):
        est = getattr(ensemble, name)
        z = (est.mean - getattr(wrong, name)[idx]) / (est.stderr + SE_FLOOR)
        worst = max(worst, float(np.nanmax(np.abs(z))))
    assert worst > 5.0
    with pytest.raises(ValueError, match="same protocol"):
        tj.compare(ensemble, wrong)


def test_books_close_per_trajectory(ensemble):
    per = ensemble.per_trajectory
    change = per.n_mean - per.n_mean[:, :1]
    resid = change - per.collision_energy - per.bath_energy  # no stage replaces the state
    assert np.max(np.abs(resid)) < 1e-12
    assert np.array_equal(per.qubit_energy, per.collision_energy)  # Jaynes-Cummings


def test_delivered_count_of_the_discharge_by_chi_square(ensemble, exact):
    """Ground-state qubits (q = 1): each qubit leaving in e carries one quantum away."""
    c0, c1 = CHECKPOINTS.index(80), CHECKPOINTS.index(120)
    per = ensemble.per_trajectory
    assert per.alive.all()
    delivered = per.qubit_e[:, c1].sum(axis=1) - per.qubit_e[:, c0].sum(axis=1)
    rho_start = exact.states[int(np.searchsorted(exact.k, 80))]
    dist = tj.counting.exact_distribution(
        DISCHARGE, K_DISCHARGE, count="e", initial_state=rho_start, checkpoints=[K_DISCHARGE]
    )
    values, p = dist.at(K_DISCHARGE)
    test = chi_square(delivered, values, p)
    assert test.pvalue > 1e-3, test
    assert delivered.mean() > 0.5  # the discharge does deliver


def test_a_stage_with_its_own_initial_state():
    fresh = np.diag(np.r_[np.zeros(3), 0.6, 0.4, np.zeros(N - 5)])  # mixed: stage stream 2
    protocol = tj.Protocol(
        [
            tj.Stage(CHARGE, 30),
            tj.Stage(DISCHARGE, 20, initial_state=fresh, name="fresh battery"),
            tj.Stage(STORE, 10),
        ]
    )
    ks = list(range(0, 61, 5))
    ens = run(protocol, 2000, checkpoints=ks)
    exact = tj.solve_exact(protocol)
    assert tj.compare(ens, exact).passed(), tj.compare(ens, exact).summary()
    per = ens.per_trajectory
    resets = per.n_mean - per.n_mean[:, :1] - per.collision_energy - per.bath_energy
    before = np.asarray(ks) <= 30
    assert np.max(np.abs(resets[:, before])) < 1e-12
    after = resets[:, ~before]  # the jump of each trajectory's energy, then constant
    assert np.max(np.abs(after - after[:, :1])) < 1e-12
    mean_reset = float(after[:, 0].mean())
    se = float(after[:, 0].std(ddof=1) / np.sqrt(after.shape[0]))
    e30 = exact.energy[30]
    assert abs(mean_reset - (3.4 - e30)) < 5 * se + 1e-9
    assert exact.energy_from_resets[-1] == pytest.approx(3.4 - e30, abs=1e-9)
    # the fresh states, drawn from the stage's own stream, then 5 collisions: the photon
    # numbers sampled at k = 35 follow the exact distribution (3 or 4 photons at k = 30)
    c35 = ks.index(35)
    pop = exact.populations[list(exact.k).index(35)]
    test = chi_square(per.fock[:, c35], np.arange(pop.size), pop)
    assert test.pvalue > 1e-3, test
    assert per.fock[:, c35].max() >= 2  # not all discharged: the test sees the tail


def test_a_rabi_stage_in_a_protocol():
    """The switching work per trajectory (collisions minus qubits, from the counts) is
    carried by the counter-rotating outcomes, of probability ~ (g/omega)^2 per collision:
    g/omega = 0.1 samples them well with 2000 trajectories (at 0.05 the rare outcomes are
    missing from some samples and the sample error bar cannot see it)."""
    charge = tj.Micromaser(theta=0.8, q=0.5, c=0.0, gamma_tr=0.05, nbar=0.1, cutoff=16)
    rabi = tj.Micromaser(theta=0.8, q=1.0, c=0.0, gamma_tr=0.05, nbar=0.1, cutoff=16,
                         collision=Rabi(0.1))  # fmt: skip
    protocol = tj.Protocol([tj.Stage(charge, 8), tj.Stage(rabi, 4)])
    ens = run(protocol, 2000, checkpoints=range(13))
    exact = tj.solve_exact(protocol)
    cmp = tj.compare(ens, exact)
    assert cmp.passed(), cmp.summary()
    assert ens.per_trajectory.qubit_energy.shape == (2000, 13)
    assert np.max(np.abs(exact.switching_work)) > 1e-3  # the Rabi switching is seen
