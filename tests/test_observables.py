"""Observables on states whose values are known in closed form (SPEC Sec. 3)."""

import numpy as np
import pytest
from helpers import annihilation, random_density_matrix
from scipy.special import gammaln

import trajectories as tj
from trajectories import observables as obs


def test_fock_state_observables():
    rho = np.diag(tj.fock_state(4, 12)).astype(complex)
    rho = np.outer(tj.fock_state(4, 12), tj.fock_state(4, 12).conj())
    assert obs.energy(rho) == 4.0
    assert obs.purity(rho) == 1.0
    assert obs.fano_factor(rho) == 0.0
    assert obs.ergotropy(rho) == pytest.approx(4.0, abs=1e-13)
    assert obs.von_neumann_entropy(rho) == pytest.approx(0.0, abs=1e-13)


def test_vacuum_fano_is_nan_not_a_division_error():
    rho = tj.as_density_matrix(None, 5)
    with np.errstate(all="raise"):
        assert np.isnan(obs.fano_factor(rho))
    assert obs.ergotropy(rho) == 0.0


def test_coherent_state_moments():
    alpha = 1.3 * np.exp(0.4j)
    psi = tj.coherent_state(alpha, 60)
    rho = np.outer(psi, psi.conj())
    assert obs.mean_a(rho) == pytest.approx(alpha, abs=1e-12)
    assert obs.energy(rho) == pytest.approx(abs(alpha) ** 2, abs=1e-12)
    assert obs.fano_factor(rho) == pytest.approx(1.0, abs=1e-10)
    qd = obs.quadratures(rho)
    assert qd["x_mean"] == pytest.approx(np.sqrt(2) * alpha.real, abs=1e-12)
    assert qd["p_mean"] == pytest.approx(np.sqrt(2) * alpha.imag, abs=1e-12)
    assert qd["x_var"] == pytest.approx(0.5, abs=1e-12)
    assert qd["p_var"] == pytest.approx(0.5, abs=1e-12)
    # pure state: ergotropy is all of the energy
    assert obs.ergotropy(rho) == pytest.approx(abs(alpha) ** 2, abs=1e-12)


def test_mean_a_matches_trace_with_the_annihilation_operator(rng):
    rho = random_density_matrix(9, rng)
    a = annihilation(9)
    assert obs.mean_a(rho) == pytest.approx(np.trace(rho @ a), abs=1e-14)
    x = (a + a.conj().T) / np.sqrt(2)
    assert obs.quadratures(rho)["x_mean"] == pytest.approx(np.trace(rho @ x).real, abs=1e-14)


def test_thermal_state_fano_entropy_and_passivity():
    nbar, n = 0.7, 200
    rho = tj.thermal_state(nbar, n)
    assert obs.energy(rho) == pytest.approx(nbar, rel=1e-12)
    assert obs.fano_factor(rho) == pytest.approx(1 + nbar, rel=1e-12)
    s_exact = (nbar + 1) * np.log(nbar + 1) - nbar * np.log(nbar)
    assert obs.von_neumann_entropy(rho) == pytest.approx(s_exact, rel=1e-12)
    assert obs.ergotropy(rho) == pytest.approx(0.0, abs=1e-14)  # passive


def test_ergotropy_of_random_states(rng):
    # passive state: decreasing populations on the diagonal
    p = np.sort(rng.random(10))[::-1]
    rho = np.diag(p / p.sum()).astype(complex)
    assert obs.ergotropy(rho) == pytest.approx(0.0, abs=1e-14)
    # a pure state with the same energy has all of it extractable
    psi = rng.normal(size=10) + 1j * rng.normal(size=10)
    psi /= np.linalg.norm(psi)
    rho = np.outer(psi, psi.conj())
    assert obs.ergotropy(rho) == pytest.approx(obs.energy(rho), abs=1e-12)
    # mixed: 0 <= W <= E, and the stack version equals the single ones
    stack = np.stack([random_density_matrix(10, rng) for _ in range(4)])
    w = obs.ergotropy(stack)
    assert w.shape == (4,)
    assert np.all(w >= -1e-12) and np.all(w <= obs.energy(stack) + 1e-12)
    assert np.allclose(w, [obs.ergotropy(r) for r in stack], rtol=0, atol=1e-14)


def test_purity_and_entropy_of_maximally_mixed_state():
    n = 7
    rho = np.eye(n, dtype=complex) / n
    assert obs.purity(rho) == pytest.approx(1 / n)
    assert obs.von_neumann_entropy(rho) == pytest.approx(np.log(n))


def test_coherent_state_helper_is_the_poisson_distribution():
    alpha = 2.0
    p = np.abs(tj.coherent_state(alpha, 80)) ** 2
    k = np.arange(80)
    assert np.allclose(p, np.exp(-(alpha**2) + 2 * k * np.log(alpha) - gammaln(k + 1)), atol=1e-14)


def test_eigenvalues_ignoring_an_empty_tail_equal_the_full_spectrum(rng):
    n = 40
    rho = np.zeros((n, n), dtype=complex)
    rho[:10, :10] = random_density_matrix(10, rng)
    # a physically irrelevant tail, as populations decaying towards the cutoff leave it
    tail = np.zeros(n)
    tail[10:] = 1e-70 * 0.5 ** np.arange(30)
    rho += np.diag(tail)
    exact = np.sort(np.concatenate([np.linalg.eigvalsh(rho[:10, :10]), tail[10:]]))
    trimmed = obs.eigenvalues(rho)
    assert trimmed.shape == (n,)
    assert np.max(np.abs(trimmed - exact)) < 1e-15  # rounding of the 10 x 10 block only
    assert np.max(np.abs(trimmed - np.linalg.eigvalsh(rho))) < 1e-14
    assert obs.ergotropy_from_eigenvalues(obs.energy(rho), trimmed) == pytest.approx(
        obs.ergotropy(rho), abs=1e-13
    )
