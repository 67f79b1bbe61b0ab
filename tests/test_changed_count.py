"""The count of qubits that changed their state (came in e and left in g, or the reverse).

Defined for qubits that arrive in |e> or |g>. Checked against a dense tilted channel built
from the incoming-resolved collision (expm), against the identities it must satisfy (all
excited qubits: "changed" is "g"), and on trajectories and cloning against the exact values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import unvec, vec
from test_counting import _dense_tilted_pieces

import trajectories as tj
from trajectories._threads import single_threaded_blas
from trajectories.solvers.counting.scgf import scgf

MODEL = dict(theta=1.3, q=0.3, c=0.0, gamma_tr=0.4, nbar=0.6, cutoff=9)
COHERENT = tj.Micromaser(theta=1.05, q=0.3, c=0.5, gamma_tr=0.1, nbar=0.1, cutoff=10)


def _dense_changed_step(pieces, z: complex, eta: float = 1.0, eps=(0.0, 0.0)) -> np.ndarray:
    """Weight ``1 - w + w z`` on each (incoming, outgoing) part; ``w`` is the probability
    that the qubit is detected in the state it did not come in."""
    from scipy.linalg import expm

    phi, lind, _emit, _absorb = pieces
    eps_e, eps_g = eps
    w = {"eg": eta * (1 - eps_g), "ee": eta * eps_e, "ge": eta * (1 - eps_e), "gg": eta * eps_g}
    step = sum((1 - wi + wi * z) * phi[k] for k, wi in w.items())
    return expm(lind) @ step


@pytest.mark.parametrize("detection", [(1.0, (0.0, 0.0)), (0.6, (0.05, 0.1))])
def test_distribution_and_theta_match_a_dense_incoming_resolved_channel(detection):
    eta, eps = detection
    model = tj.Micromaser(**MODEL)
    k, size = 10, 16
    rho0 = np.outer(tj.coherent_state(0.8, 9), tj.coherent_state(0.8, 9).conj())
    with single_threaded_blas():
        pieces = _dense_tilted_pieces(model)
        gen = np.zeros(size, complex)
        for lidx in range(size):
            t = _dense_changed_step(pieces, np.exp(2j * np.pi * lidx / size), eta, eps)
            x = vec(rho0)
            for _ in range(k):
                x = t @ x
            gen[lidx] = np.trace(unvec(x, 9))
        s = np.array([-0.7, -0.2, 0.3, 1.1])
        ref_theta = []
        for si in s:
            w = np.linalg.eigvals(_dense_changed_step(pieces, np.exp(-si), eta, eps))
            ref_theta.append(np.log(w[np.argmax(np.abs(w))].real))
    ref = np.fft.fft(gen).real / size
    ex = tj.counting.exact_distribution(
        model, k, "changed", initial_state=rho0, checkpoints=[k], leakage_tol=1.0,
        efficiency=eta, misread=eps,
    )  # fmt: skip
    assert np.allclose(ex.probabilities[0][: k + 1], ref[: k + 1], atol=1e-12, rtol=0)
    got = scgf(model, s, "changed", efficiency=eta, misread=eps)
    assert np.allclose(got.theta, ref_theta, atol=1e-10, rtol=0)


@pytest.mark.parametrize("q, same_as", [(0.0, "g"), (1.0, "e")])
def test_pure_incoming_states_make_it_the_count_of_the_other_state(q, same_as):
    model = tj.Micromaser(theta=1.1, q=q, gamma_tr=0.2, nbar=0.3, cutoff=40)
    a = tj.counting.exact_distribution(model, 15, "changed", initial_state=tj.fock_state(3, 40))
    b = tj.counting.exact_distribution(model, 15, same_as, initial_state=tj.fock_state(3, 40))
    assert np.array_equal(a.probabilities, b.probabilities)
    s = [-0.5, 0.4]
    assert np.array_equal(scgf(model, s, "changed").theta, scgf(model, s, same_as).theta)


def test_no_interaction_changes_nothing():
    model = tj.Micromaser(theta=0.0, q=0.4, cutoff=6)
    assert np.allclose(scgf(model, [-1.0, 0.5], "changed").theta, 0.0, atol=1e-13)


def test_stationary_rates_are_the_derivatives_of_theta():
    model = tj.Micromaser(theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=20)
    rates = tj.counting.stationary_rates(model, "changed")
    h = 1e-4
    th = scgf(model, [-h, 0.0, h], "changed").theta
    assert -(th[2] - th[0]) / (2 * h) == pytest.approx(rates.rate, abs=1e-7)
    assert (th[2] - 2 * th[1] + th[0]) / h**2 == pytest.approx(rates.variance_rate, abs=1e-5)


def test_qubits_in_a_superposition_are_refused_everywhere_before_work():
    msg = "'changed' needs qubits that arrive in"
    with pytest.raises(ValueError, match=msg):
        scgf(COHERENT, 0.1, "changed")
    with pytest.raises(ValueError, match=msg):
        tj.counting.exact_distribution(COHERENT, 5, "changed")
    with pytest.raises(ValueError, match=msg):
        tj.counting.cloning(COHERENT, 0.1, "changed", n_clones=10, n_collisions=5, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = tj.simulate(COHERENT, 5, 200, seed=2, n_jobs=1)
    with pytest.raises(ValueError, match=msg):
        tj.counting.from_ensemble(ens, "changed")


@pytest.fixture(scope="module")
def incoherent_run():
    model = tj.Micromaser(theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = tj.simulate(model, 40, 4000, seed=11, n_jobs=1, records="all")
    return model, ens


@pytest.mark.parametrize("detection", [(1.0, (0.0, 0.0)), (0.6, (0.05, 0.1))])
def test_trajectory_counts_agree_with_the_exact_moments(incoherent_run, detection):
    model, ens = incoherent_run
    eta, eps = detection
    ks = [5, 20, 40]
    st = tj.counting.from_ensemble(ens, "changed", efficiency=eta, misread=eps)
    ex = tj.counting.exact_moments(model, 40, "changed", checkpoints=ks, efficiency=eta,
                                   misread=eps)  # fmt: skip
    idx = [int(np.flatnonzero(ens.k == k)[0]) for k in ks]
    z_mean = (st.mean.mean[idx] - ex.mean) / st.mean.stderr[idx]
    z_var = (st.variance.mean[idx] - ex.variance) / st.variance.stderr[idx]
    assert np.all(np.abs(z_mean) < 5), z_mean
    assert np.all(np.abs(z_var) < 5), z_var
    # and a wrong reference is rejected: the "g" count's mean differs by many errors
    wrong = tj.counting.exact_moments(model, 40, "g", checkpoints=ks, efficiency=eta,
                                      misread=eps)  # fmt: skip
    assert np.max(np.abs((st.mean.mean[idx] - wrong.mean) / st.mean.stderr[idx])) > 10


def test_without_per_branch_records_the_count_is_refused_naming_records(incoherent_run):
    model, _ = incoherent_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = tj.simulate(model, 10, 100, seed=1, n_jobs=1, records="none")
    with pytest.raises(ValueError, match="records='all'"):
        tj.counting.from_ensemble(ens, "changed")


@pytest.mark.parametrize("s", [-0.3, 0.3])
def test_cloning_estimates_theta_of_the_changed_count(s):
    model = tj.Micromaser(theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=20)
    exact = scgf(model, s, "changed").theta[0]
    clo = tj.counting.cloning(model, s, "changed", n_clones=400, n_collisions=200, seed=3,
                              n_populations=8)  # fmt: skip
    assert abs(clo.scgf - exact) < 5 * clo.stderr
    assert abs(clo.scgf - (exact + 0.01)) > 5 * clo.stderr  # a 0.01 error would be seen
