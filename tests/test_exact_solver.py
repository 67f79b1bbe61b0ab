"""The exact density-matrix solver: closed forms, invariants, truncation, arguments."""

import numpy as np
import pytest
from helpers import dense_collision, dense_loss, random_density_matrix

import trajectories as tj

TH15 = tj.fine_tuned_theta(15)


def test_incoherent_fine_tuned_reaches_geometric_steady_state():
    m = tj.Micromaser(theta=TH15, q=0.25, c=0.0, cutoff=20)
    r = tj.solve_exact(m, 20000, checkpoints=[20000])
    assert r.method == "populations"
    p_exact = tj.incoherent_steady_populations(15, 0.25, cutoff=20)
    assert np.max(np.abs(r.populations[-1] - p_exact)) < 1e-9
    assert abs(r.energy[-1] - p_exact @ np.arange(20)) < 1e-9
    assert abs(r.purity[-1] - tj.incoherent_steady_purity(15, 0.25)) < 1e-9


def test_incoherent_q0_reaches_fock_state_m_minus_1():
    m = tj.Micromaser(theta=TH15, q=0.0, c=0.0, cutoff=20)
    r = tj.solve_exact(m, 20000, checkpoints=[20000])
    p_exact = tj.incoherent_steady_populations(15, 0.0, cutoff=20)
    assert p_exact[14] == 1.0
    assert np.max(np.abs(r.populations[-1] - p_exact)) < 1e-9
    assert abs(r.energy[-1] - 14.0) < 1e-9 and abs(r.purity[-1] - 1.0) < 1e-9


def test_coherent_fine_tuned_reaches_cot2_steady_state_and_is_pure():
    m = tj.Micromaser(theta=TH15, q=0.25, c=1.0, cutoff=20)
    r = tj.solve_exact(m, 3000, checkpoints=[3000])
    p_exact = tj.coherent_steady_populations(15, 0.25, cutoff=20)
    assert np.max(np.abs(r.populations[-1] - p_exact)) < 1e-9
    assert abs(r.energy[-1] - p_exact @ np.arange(20)) < 1e-9
    assert abs(r.purity[-1] - 1.0) < 1e-9
    assert abs(r.ergotropy[-1] - r.energy[-1]) < 1e-9  # pure: all energy extractable


def test_detuned_incoherent_run_with_small_cutoff_raises_truncation_error():
    m = tj.Micromaser(theta=tj.fine_tuned_theta(15.6), q=0.25, c=0.0, cutoff=40)
    with pytest.raises(tj.TruncationError, match=r"cutoff=40.*try cutoff=80") as info:
        tj.solve_exact(m, 2000)
    assert info.value.leakage > 1e-8 and info.value.cutoff == 40
    r = tj.solve_exact(m.replace(cutoff=300), 2000, checkpoints=[0, 2000])
    assert r.total_leakage < 1e-20 and r.energy[-1] > 20


def test_trace_plus_leakage_is_one_over_a_leaky_run():
    m = tj.Micromaser(theta=0.9, q=0.2, c=0.6 * np.exp(0.3j), gamma_tr=0.3, nbar=0.5, cutoff=8)
    r = tj.solve_exact(m, 200, leakage_tol=np.inf)
    assert r.total_leakage > 1e-3
    assert np.max(np.abs(r.trace + r.leakage - 1.0)) < 1e-12
    assert np.all(np.diff(r.leakage) >= 0)


def test_one_step_equals_dense_collision_then_dense_loss(rng):
    n = 7
    rho = random_density_matrix(n, rng)
    m = tj.Micromaser(theta=1.1, q=0.4, c=0.7j, gamma_tr=0.2, nbar=0.3, cutoff=n)
    r = tj.solve_exact(m, 1, initial_state=rho, store_states=True, leakage_tol=np.inf)
    ref = dense_loss(dense_collision(rho, 1.1, 0.4, 0.7j), 0.2, 0.3)
    assert np.max(np.abs(r.states[1] - ref)) < 1e-12
    assert np.max(np.abs(r.states[0] - rho)) < 1e-15


def test_populations_path_equals_density_matrix_path_for_incoherent_qubits():
    m = tj.Micromaser(theta=1.3, q=0.3, c=0.0, gamma_tr=0.05, nbar=0.2, cutoff=40)
    a = tj.solve_exact(m, 300, checkpoints=range(0, 301, 50))
    b = tj.solve_exact(m, 300, checkpoints=range(0, 301, 50), method="density_matrix")
    assert a.method == "populations" and b.method == "density_matrix"
    for name in ("energy", "purity", "fano", "ergotropy", "entropy", "leakage", "x_var"):
        assert np.nanmax(np.abs(getattr(a, name) - getattr(b, name))) < 1e-12, name
    assert np.max(np.abs(a.populations - b.populations)) < 1e-13


@pytest.mark.parametrize("phi", [0.9, -2.5])
def test_phase_of_c_rotates_the_state_and_leaves_invariants(phi):
    base = tj.Micromaser(theta=0.7, q=0.3, c=0.8, gamma_tr=0.1, nbar=0.2, cutoff=30)
    a = tj.solve_exact(base, 40, checkpoints=[10, 40], store_states=True)
    b = tj.solve_exact(
        base.replace(c=0.8 * np.exp(1j * phi)), 40, checkpoints=[10, 40], store_states=True
    )
    r = np.diag(np.exp(1j * phi * np.arange(30)))
    for sa, sb in zip(a.states, b.states, strict=True):
        assert np.max(np.abs(sb - r @ sa @ r.conj().T)) < 1e-12
    for name in ("energy", "purity", "fano", "ergotropy"):
        assert np.max(np.abs(getattr(a, name) - getattr(b, name))) < 1e-12
    assert np.max(np.abs(b.a_mean - np.exp(1j * phi) * a.a_mean)) < 1e-12
    assert np.min(np.abs(a.a_mean)) > 0.1  # the phase is really visible in <a>


def test_mixed_initial_state_and_positivity_along_the_run(rng):
    n = 25
    m = tj.Micromaser(theta=0.6, q=0.4, c=0.5, gamma_tr=0.1, nbar=0.15, cutoff=n)
    rho0 = np.zeros((n, n), dtype=complex)
    rho0[:8, :8] = random_density_matrix(8, rng)
    r = tj.solve_exact(m, 100, initial_state=rho0, checkpoints=range(0, 101, 10), store_states=True)
    assert r.method == "density_matrix"
    assert np.min(np.linalg.eigvalsh(r.states)) > -1e-12
    assert np.max(np.abs(r.states - r.states.conj().transpose(0, 2, 1))) == 0.0
    assert np.allclose(r.purity, [np.trace(s @ s).real for s in r.states], atol=1e-13)


def test_default_checkpoints_and_result_fields():
    m = tj.Micromaser(theta=TH15, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30)
    r = tj.solve_exact(m, 20)
    assert np.array_equal(r.k, np.arange(21))
    assert r.populations.shape == (21, 30) and r.states is None
    assert np.isnan(r.fano[0]) and r.energy[0] == 0.0 and r.purity[0] == 1.0
    assert "ExactResult(method='density_matrix'" in repr(r)
    assert r.at(20)["energy"] == r.energy[-1]
    with pytest.raises(ValueError, match="not a checkpoint"):
        r.at(21)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(n_collisions=-1), "n_collisions must be an integer >= 0, got -1"),
        (dict(n_collisions=10.0), r"n_collisions must be an integer >= 0, got 10.0 \(float\)"),
        (dict(n_collisions=10, checkpoints=[0, 11]), r"checkpoints\[1\] = 11 is outside"),
        (dict(n_collisions=10, checkpoints=[5, 3]), "strictly increasing"),
        (dict(n_collisions=10, checkpoints=[]), "at least one"),
        (dict(n_collisions=10, checkpoints=[1.5]), r"checkpoints\[0\] must be an integer"),
        (dict(n_collisions=10, leakage_tol=-1.0), "leakage_tol must be >= 0"),
        (dict(n_collisions=10, method="rk4"), "method must be one of"),
        (dict(n_collisions=10, initial_state=np.ones(3)), "initial_state must be a vector"),
    ],
)
def test_bad_solver_arguments_fail_before_work(kwargs, message):
    m = tj.Micromaser(theta=0.5, q=0.5, c=1.0, cutoff=10)
    with pytest.raises(ValueError, match=message):
        tj.solve_exact(m, **kwargs)


def test_populations_method_refused_where_it_would_be_wrong():
    m = tj.Micromaser(theta=0.5, q=0.5, c=1.0, cutoff=10)
    with pytest.raises(ValueError, match="method='populations' needs incoherent"):
        tj.solve_exact(m, 5, method="populations")
    with pytest.raises(ValueError, match="model must be a Micromaser"):
        tj.solve_exact("fig5", 5)


def test_leakage_close_to_the_tolerance_warns_once():
    m = tj.Micromaser(theta=tj.fine_tuned_theta(15.6), q=0.25, c=0.0, cutoff=40)
    exact = tj.solve_exact(m, 2000, leakage_tol=np.inf, checkpoints=[2000])
    leak = exact.total_leakage
    with pytest.warns(tj.TruncationWarning, match="within a factor 10") as record:
        tj.solve_exact(m, 2000, leakage_tol=5 * leak, checkpoints=[2000])
    assert len(record) == 1
