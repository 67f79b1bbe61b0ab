"""Steady states, spectra, metastability and escape times of the one-step channel (issue 9).

Every number is checked against an independent construction: a dense N^2 x N^2 channel built
from ``expm`` on N+1 levels (small N only), long runs of ``solve_exact``, the closed forms
of SPEC Sec. 5, or survival curves of direct exact runs with the same absorbing boundary.
"""

from __future__ import annotations

import io
import math
import types

import numpy as np
import pytest
from helpers import annihilation, dense_collision, dense_loss_generator, qubit_state, unvec, vec
from scipy.linalg import expm

import trajectories as tj
from trajectories.channels.one_step import OneStepChannel
from trajectories.runs.cli import steady_command
from trajectories.solvers.spectral import (
    SteadyStateError,
    escape_time,
    quasi_stationary,
    spectrum,
    steady_state,
)

TH15 = tj.fine_tuned_theta(15)


def dense_channel(model: tj.Micromaser) -> np.ndarray:
    """T as a dense (N^2, N^2) matrix in the row-major vec convention of OneStepChannel.

    Built from the definitions, independently of the package: U = expm(-i theta (a s+ + h.c.))
    on N+1 levels (so the weight leaving level N-1 is caught, then dropped), the collision
    superoperator sum_ab (rho_q)_ab sum_o U_oa . U_ob^dag restricted to the first N levels,
    and the loss superoperator expm of the dense Lindbladian with the package's leaky top.
    Row-major vec: vec(A X B) = kron(A, B^T) vec(X).
    """
    n = model.cutoff
    big = n + 1
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)  # |e><g|, basis (e, g)
    u = expm(-1j * model.theta * (np.kron(sp, a) + np.kron(sp.conj().T, a.conj().T)))
    blocks = {
        (o, i): u[o * big : o * big + n, i * big : i * big + n] for o in (0, 1) for i in (0, 1)
    }
    rq = qubit_state(model.q, model.c)
    phi = np.zeros((n * n, n * n), dtype=complex)
    for i in (0, 1):
        for j in (0, 1):
            for o in (0, 1):
                phi += rq[i, j] * np.kron(blocks[o, i], blocks[o, j].conj())
    gen = dense_loss_generator(n, model.gamma_tr, model.nbar, leaky_top=True)  # column-major
    perm = np.arange(n * n).reshape(n, n).T.reshape(-1)  # row-major index -> column-major
    loss = expm(gen)[np.ix_(perm, perm)]
    return loss @ phi


def test_dense_reference_agrees_with_brute_force_partial_trace(rng):
    model = tj.Micromaser(theta=0.9, q=0.3, c=0.7 * np.exp(0.4j), gamma_tr=0.2, nbar=0.3, cutoff=5)
    x = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    loss = expm(dense_loss_generator(5, 0.2, 0.3, leaky_top=True))
    h1, h2 = (x + x.conj().T) / 2, (x - x.conj().T) / 2j
    ref = sum(
        f * unvec(loss @ vec(dense_collision(h, model.theta, model.q, model.c)), 5)
        for f, h in ((1, h1), (1j, h2))
    )
    assert np.max(np.abs((dense_channel(model) @ x.reshape(-1)).reshape(5, 5) - ref)) < 1e-13


def vacuum(n: int) -> np.ndarray:
    rho = np.zeros((n, n), dtype=complex)
    rho[0, 0] = 1.0
    return rho


# --------------------------------------------------------------------- the operator itself
@pytest.mark.parametrize(
    "model",
    [
        tj.Micromaser(theta=0.9, q=0.3, c=0.7 * np.exp(0.4j), gamma_tr=0.2, nbar=0.3, cutoff=7),
        tj.Micromaser(theta=1.3, q=0.6, c=0.0, gamma_tr=0.05, nbar=0.0, cutoff=6),
        tj.Micromaser(theta=0.9, q=0.25, c=1.0, gamma_tr=0.0, cutoff=6),
    ],
)
def test_matrix_free_operator_and_adjoint_equal_dense_construction(model, rng):
    dense = dense_channel(model)
    op = OneStepChannel(model).operator()
    n2 = model.cutoff**2
    x = rng.normal(size=(n2, 3)) + 1j * rng.normal(size=(n2, 3))  # general, non-Hermitian
    for v in x.T:
        assert np.max(np.abs(op.matvec(v) - dense @ v)) < 1e-12
        assert np.max(np.abs(op.rmatvec(v) - dense.conj().T @ v)) < 1e-12
    # the operator on the basis reproduces the whole matrix
    full = np.stack([op.matvec(e) for e in np.eye(n2, dtype=complex)], axis=1)
    assert np.max(np.abs(full - dense)) < 1e-12


def test_window_with_absorbing_floor_is_the_projected_channel(rng):
    model = tj.Micromaser(theta=0.8, q=0.35, c=0.5j, gamma_tr=0.1, nbar=0.4, cutoff=7)
    floor = 2
    dense = dense_channel(model)
    keep = [i * 7 + j for i in range(floor, 7) for j in range(floor, 7)]
    projected = dense[np.ix_(keep, keep)]
    ch = OneStepChannel(model, floor=floor)
    op, adj = ch.operator(), ch.operator(adjoint=True)
    for v in (rng.normal(size=(25, 2)) + 1j * rng.normal(size=(25, 2))).T:
        assert np.max(np.abs(op.matvec(v) - projected @ v)) < 1e-12
        assert np.max(np.abs(adj.matvec(v) - projected.conj().T @ v)) < 1e-12


@pytest.mark.parametrize("floor", [0, 2])
def test_sector_blocks_equal_the_full_channel_on_one_diagonal(floor, rng):
    model = tj.Micromaser(theta=1.1, q=0.3, c=0.0, gamma_tr=0.15, nbar=0.2, cutoff=8)
    ch = OneStepChannel(model, floor=floor)
    m = ch.size
    for d in (0, 1, 3, -2):
        size = m - abs(d)
        x = rng.normal(size=size) + 1j * rng.normal(size=size)
        big = np.zeros((m, m), dtype=complex)
        r = np.arange(size)
        rows, cols = (r, r + d) if d >= 0 else (r - d, r)
        big[rows, cols] = x
        out = ch.apply(big)
        assert np.max(np.abs(out[rows, cols] - ch.sector_apply(d, x))) < 1e-13
        rest = out.copy()
        rest[rows, cols] = 0.0
        assert np.max(np.abs(rest)) < 1e-13  # c = 0: nothing leaves the diagonal d


@pytest.mark.parametrize(
    "model",
    [
        tj.Micromaser(theta=0.9, q=0.3, c=0.7 * np.exp(0.4j), gamma_tr=0.2, nbar=0.3, cutoff=7),
        tj.Micromaser(theta=1.1, q=0.3, c=0.0, gamma_tr=0.15, nbar=0.2, cutoff=7),
    ],
)
def test_spectrum_matches_dense_eigenvalues_with_biorthonormal_vectors(model):
    dense = dense_channel(model)
    w = np.linalg.eigvals(dense)
    w = w[np.argsort(-np.abs(w))]
    spec = spectrum(model, n_eigs=6, vectors=True)
    assert spec.method == ("sectors" if model.c == 0 else "liouville")
    for lam in spec.eigenvalues:
        assert np.min(np.abs(w - lam)) < 1e-10
    assert np.allclose(np.sort(np.abs(spec.eigenvalues))[::-1], np.abs(w[: spec.eigenvalues.size]))
    n = model.cutoff
    r = spec.right.reshape(spec.eigenvalues.size, -1)
    left = spec.left.reshape(r.shape)
    assert np.max(np.abs(left.conj() @ r.T - np.eye(r.shape[0]))) < 1e-8
    for lam, rk, lk in zip(spec.eigenvalues, r, left, strict=True):
        assert np.linalg.norm(dense @ rk - lam * rk) < 1e-10 * np.linalg.norm(rk)
        assert np.linalg.norm(dense.conj().T @ lk - np.conj(lam) * lk) < 1e-10 * np.linalg.norm(lk)
    # these small cutoffs leak (not fine-tuned): no eigenvalue 1, every time is finite
    assert spec.multiplicity_of_one == 0 and np.abs(spec.eigenvalues[0]) < 1 - 1e-6
    assert np.allclose(spec.relaxation_collisions, -1 / np.log(np.abs(spec.eigenvalues)))
    assert spec.right[0].shape == (n, n)


# --------------------------------------------------------------------- steady state, lossy
@pytest.mark.parametrize("c", [1.0, 0.0, 0.6 * np.exp(0.9j)])
def test_lossy_steady_state_equals_long_time_limit_of_exact_solver(c):
    model = tj.Micromaser(theta=TH15, q=0.25, c=c, gamma_tr=0.1, nbar=0.15, cutoff=40)
    ss = steady_state(model)
    ex = tj.solve_exact(model, 600, checkpoints=[600])  # gap 1 - |lambda_1| > 0.08
    assert ss.residual < 1e-12
    assert ss.unique and not ss.metastable and ss.quasi_stationary is None
    assert abs(ss.energy - ex.energy[-1]) < 1e-9
    assert abs(ss.purity - ex.purity[-1]) < 1e-9
    assert abs(ss.ergotropy - ex.ergotropy[-1]) < 1e-9
    assert abs(np.trace(ss.rho) - 1) < 1e-14 and np.allclose(ss.rho, ss.rho.conj().T, atol=0)
    assert np.linalg.eigvalsh(ss.rho)[0] > -1e-13


def test_metastable_weak_loss_quasi_stationary_state_from_vacuum():
    """gamma t_r = 0.001 (paper Figs. 5-7): the state reached from vacuum is not the fixed point."""
    model = tj.Micromaser(theta=TH15, q=0.25, c=1.0, gamma_tr=0.001, nbar=0.15, cutoff=60)
    ss = steady_state(model)
    assert ss.metastable and ss.unique and ss.residual < 1e-12
    assert ss.slow_rates.size == 1 and 0 < ss.slow_rates[0] < 1e-8
    qs = ss.quasi_stationary
    ex = tj.solve_exact(model, 2000, checkpoints=[2000])
    assert abs(qs.energy - ex.energy[-1]) < 1e-4
    assert abs(qs.purity - ex.purity[-1]) < 1e-4
    assert abs(qs.energy - 6.109) < 1e-3
    assert qs.lifetime == pytest.approx(-1 / math.log1p(-ss.slow_rates[0]), rel=1e-9)
    # the fixed point sits in the upper basin (levels 15-59), far from what vacuum reaches
    assert ss.energy > 40 and abs(ss.energy - qs.energy) > 30
    # its value agrees with the well-conditioned basin computation (window [15, 60)) within
    # the error the solver states for itself
    basin = escape_time(model, above=15)
    assert abs(ss.energy - basin.energy) <= ss.energy_error
    assert basin.lifetime > 1e14  # the upper basin does not decay on any accessible time
    # the eigenvector mixes in the slow mode by ~ residual / (1 - lambda_1); on 70 levels the
    # admixture comes out with negative weight in the empty basin and is shifted back, within
    # that uncertainty, to a positive state
    ss70 = steady_state(model.replace(cutoff=70))
    assert np.linalg.eigvalsh(ss70.rho)[0] > -1e-12
    assert abs(ss70.energy - basin.energy) <= ss70.energy_error


def test_unresolved_gap_is_refused_and_quasi_stationary_still_available():
    # emission only (nbar = 0): the upper basin [5, 19] drains to [0, 4] at ~4e-13 per
    # collision, below what the eigenvalue resolves
    model = tj.Micromaser(
        theta=tj.fine_tuned_theta(5), q=0.25, c=1.0, gamma_tr=1e-5, nbar=0.0, cutoff=20
    )
    with pytest.raises(SteadyStateError, match="not determined"):
        steady_state(model)
    qs = quasi_stationary(model)
    ex = tj.solve_exact(model, 3000, checkpoints=[3000])
    assert abs(qs.energy - ex.energy[-1]) < 1e-6
    # the flux keeps the digits the eigenvalue has lost
    esc = escape_time(model, above=5)
    assert not esc.is_lower_bound and 1e-13 < esc.rate < 1e-12
    assert esc.rate_down > 1e6 * max(esc.rate_up, 1e-300)


def test_no_fixed_point_when_population_leaks_through_the_cutoff():
    # incoherent, detuned, lossless: the energy grows without bound (paper Fig. 1)
    model = tj.Micromaser(theta=tj.fine_tuned_theta(15.6), q=0.25, c=0.0, cutoff=20)
    with pytest.raises(SteadyStateError, match="no fixed point|residual"):
        steady_state(model)


# ------------------------------------------------------------- lossless fine-tuned cases
@pytest.mark.parametrize("cutoff, classes", [(60, 2), (70, 2), (135, 3)])
def test_lossless_incoherent_closed_form_and_multiplicity_of_one(cutoff, classes):
    """Multiplicity of eigenvalue 1, derived from the sector structure.

    c = 0 keeps every diagonal d separately. Populations (d = 0) follow a birth-death chain:
    up n -> n+1 with (1-q) sin^2(theta sqrt(n+1)), down n+1 -> n with q sin^2(theta sqrt(n+1)).
    At theta = pi/sqrt(15) both vanish exactly across n+1 = 15 j^2 (15, 60, 135, ...), so the
    chain splits into classes [0, 14], [15, 59], [60, 134], ... Each class that lies entirely
    below the cutoff is closed, irreducible (0 < q < 1) and aperiodic (it can stay), so it
    contributes exactly one eigenvalue 1 (Perron-Frobenius); a class cut by the cutoff pushes
    weight through it and has spectral radius < 1. With gamma = 0 the coherences (d != 0)
    decay: |T_d| is dominated entrywise by a substochastic matrix with strict inequality
    somewhere in every class (cosines of incommensurate sqrt(n)), so no d != 0 eigenvalue has
    modulus 1 for 0 < q < 1. Hence multiplicity = number of j >= 1 with 15 j^2 <= N.
    """
    assert classes == sum(1 for j in range(1, 10) if 15 * j * j <= cutoff)
    model = tj.Micromaser(theta=TH15, q=0.25, c=0.0, cutoff=cutoff)
    spec = spectrum(model, n_eigs=8)
    assert spec.multiplicity_of_one == classes
    assert set(spec.sectors[spec.stationary]) == {0}
    assert not np.any(spec.peripheral)
    ss = steady_state(model)  # the limit from vacuum: projection with the left vectors
    assert not ss.unique and ss.multiplicity == classes and ss.residual < 1e-12
    p = tj.incoherent_steady_populations(15, 0.25, cutoff=cutoff)
    assert np.max(np.abs(np.diagonal(ss.rho).real - p)) < 1e-10
    assert abs(ss.energy - p @ np.arange(cutoff)) < 1e-9
    assert abs(ss.purity - tj.incoherent_steady_purity(15, 0.25)) < 1e-10


def test_multiplicity_of_one_on_the_dense_channel():
    """Same count on the brute-force channel (no sectors used): m = 5, N = 22: classes
    [0, 4] and [5, 19] closed, [20, 21] cut by the cutoff -> 2."""
    model = tj.Micromaser(theta=tj.fine_tuned_theta(5), q=0.3, c=0.0, cutoff=22)
    w = np.linalg.eigvals(dense_channel(model))
    assert np.count_nonzero(np.abs(w - 1) < 1e-10) == 2
    assert spectrum(model, n_eigs=6).multiplicity_of_one == 2


def test_peripheral_modes_excluded_and_left_vectors_select_the_limit():
    """q = 0: every qubit excited; |14> and |59> are trapping Fock states. The coherence
    |14><59| picks up cos(pi) cos(2 pi) = -1 per collision: eigenvalue -1 (sectors +-45)."""
    model = tj.Micromaser(theta=TH15, q=0.0, c=0.0, cutoff=62)
    spec = spectrum(model, n_eigs=6, vectors=True)
    assert spec.multiplicity_of_one == 2
    per = spec.peripheral
    assert np.count_nonzero(per) == 2 and np.allclose(spec.eigenvalues[per], -1)
    assert set(np.abs(spec.sectors[per])) == {45}
    ss = steady_state(model)
    assert abs(ss.rho[14, 14] - 1) < 1e-12  # Fock |m-1> (SPEC Sec. 5)
    psi = np.zeros(62)
    psi[[0, 20]] = 1 / math.sqrt(2)  # vacuum + |20>: ends half in |14>, half in |59>
    ss2 = steady_state(model, from_state=psi)
    assert abs(ss2.rho[14, 14] - 0.5) < 1e-12 and abs(ss2.rho[59, 59] - 0.5) < 1e-12
    assert abs(ss2.rho[14, 59]) < 1e-12  # the oscillating coherence is not in the limit


def test_lossless_coherent_limit_is_the_pure_cot2_state():
    model = tj.Micromaser(theta=TH15, q=0.25, c=1.0, cutoff=62)
    ss = steady_state(model)
    p = tj.coherent_steady_populations(15, 0.25, cutoff=62)
    assert np.max(np.abs(np.diagonal(ss.rho).real - p)) < 1e-10
    assert abs(ss.purity - 1) < 1e-10 and not ss.unique
    assert np.any(ss.spectrum.peripheral)  # coherences between the two trapping states


def test_degenerate_clusters_get_biorthonormal_left_vectors():
    """Lossless coherent, 30 levels: the blocks rho_AB and rho_BA between the invariant
    subspaces {0..14} and {15..29} give every real eigenvalue of that block twice."""
    model = tj.Micromaser(theta=TH15, q=0.25, c=1.0, cutoff=30)
    spec = spectrum(model, n_eigs=10, vectors=True)
    lam = spec.eigenvalues
    assert np.sum(np.abs(lam[:, None] - lam[None, :]) < 1e-12) > lam.size  # degenerate pairs
    r = spec.right.reshape(lam.size, -1)
    left = spec.left.reshape(r.shape)
    assert np.max(np.abs(left.conj() @ r.T - np.eye(lam.size))) < 1e-6
    ch = OneStepChannel(model)
    for k in range(lam.size):
        res = ch.apply_adjoint(spec.left[k]) - np.conj(lam[k]) * spec.left[k]
        assert np.linalg.norm(res) < 1e-10 * np.linalg.norm(spec.left[k])


# ------------------------------------------------------------------ relaxation times
@pytest.mark.parametrize("c", [0.0, 1.0, 0.6 * np.exp(0.9j)])
def test_governing_mode_relaxation_rate_matches_exact_approach(c):
    model = tj.Micromaser(theta=TH15, q=0.25, c=c, gamma_tr=0.1, nbar=0.15, cutoff=40)
    spec = spectrum(model, n_eigs=8, vectors=True)
    g = spec.governing(vacuum(40))
    lam = spec.eigenvalues[g]
    assert abs(lam.imag) < 1e-10  # a real mode: a pure exponential approach
    if spec.sectors is not None:
        assert spec.sectors[g] == 0  # energy only sees the populations
    ss = steady_state(model)
    ex = tj.solve_exact(model, 160)
    dev = np.abs(ex.energy - ss.energy)
    fit_rate = -np.polyfit(ex.k[100:160], np.log(dev[100:160]), 1)[0]
    assert fit_rate == pytest.approx(-math.log(abs(lam)), rel=0.01)
    # the slower modes that the start or the energy does not see are really slower
    assert spec.relaxation_collisions[g] == pytest.approx(-1 / math.log(abs(lam)))


# ------------------------------------------------------------------------- escape times
@pytest.mark.parametrize(
    "model, below, k_end",
    [
        (tj.Micromaser(theta=tj.fine_tuned_theta(15.6), q=0.25, c=0.0, cutoff=40), 15, 4000),
        (
            tj.Micromaser(
                theta=tj.fine_tuned_theta(15.6), q=0.4, c=0.8, gamma_tr=0.02, nbar=1.0, cutoff=30
            ),
            10,
            2500,
        ),
    ],
)
def test_escape_time_matches_survival_of_direct_exact_run(model, below, k_end):
    esc = escape_time(model, below=below)
    assert not esc.is_lower_bound and esc.converged
    assert 1e-4 < esc.rate < 1e-2  # a fast escape: the direct run sees it
    # the same absorbing boundary: the model with cutoff = below, leakage = escaped weight
    ex = tj.solve_exact(model.replace(cutoff=below), k_end, leakage_tol=math.inf)
    survival = ex.trace
    k0 = k_end // 2
    fit = -np.polyfit(ex.k[k0:], np.log(survival[k0:]), 1)[0]
    assert fit == pytest.approx(-math.log1p(-esc.rate), rel=0.02)
    # the survival curve itself: S(k) = S(k0) (1 - rate)^(k - k0) over the late window
    pred = survival[k0] * (1 - esc.rate) ** (ex.k[k0:] - k0)
    assert np.max(np.abs(pred / survival[k0:] - 1)) < 0.02
    assert esc.lifetime == pytest.approx(1 / fit, rel=0.02)


def test_escape_rate_from_flux_agrees_with_eigenvalue_where_both_resolve():
    model = tj.Micromaser(theta=TH15, q=0.25, c=1.0, gamma_tr=0.001, nbar=0.15, cutoff=40)
    esc = escape_time(model, below=40)
    assert 1e-10 < esc.rate < 1e-9 and not esc.is_lower_bound
    assert esc.rate == pytest.approx(esc.rate_from_eigenvalue, rel=1e-4)
    assert esc.energy == pytest.approx(6.107, abs=1e-3)


def test_escape_rate_below_double_precision_is_reported_as_a_lower_bound():
    # emission only: the upper basin [15, 59] decays through level 15, whose population in
    # it (~1e-22) is at the rounding floor of the coherent terms: only a bound is possible
    model = tj.Micromaser(theta=TH15, q=0.25, c=1.0, gamma_tr=1e-3, nbar=0.0, cutoff=60)
    esc = escape_time(model, above=15)
    assert esc.is_lower_bound and esc.lifetime > 1e20
    assert esc.rate < 10 * esc.rate_noise


def _rounded_like_another_cpu(monkeypatch, rounding):
    """Make escape_time's channel round differently, as another CPU would: the banded loss
    layout (other summation order, entries below 1e-18 dropped) or every coefficient
    perturbed by one rounding unit with a seed the verdict does not use."""
    orig = OneStepChannel.__init__

    def init(self, model, **kw):
        orig(self, model, **kw)
        if rounding == "band":
            self.loss.set_layout("band")
        else:
            other = self.perturbed(np.finfo(float).eps, rounding)
            self.collisions, self.loss = other.collisions, other.loss

    monkeypatch.setattr(OneStepChannel, "__init__", init)


@pytest.mark.parametrize("rounding", ["band", 101, 102])
def test_escape_rate_verdicts_do_not_depend_on_how_the_machine_rounds(monkeypatch, rounding):
    # at the floor: a bound whatever the rounding (on one CPU the flux came out 3.5e-24, on
    # another 6.5e-23 and "resolved" when only the fluctuation counted as noise)
    floor_case = tj.Micromaser(theta=TH15, q=0.25, c=1.0, gamma_tr=1e-3, nbar=0.0, cutoff=60)
    ref = escape_time(floor_case, above=15)
    # well above the floor: resolved whatever the rounding, the same rate within its noise
    resolved = tj.Micromaser(
        theta=tj.fine_tuned_theta(5), q=0.25, c=1.0, gamma_tr=1e-5, nbar=0.0, cutoff=20
    )
    ref_ok = escape_time(resolved, above=5)
    _rounded_like_another_cpu(monkeypatch, rounding)
    esc = escape_time(floor_case, above=15)
    assert ref.is_lower_bound and esc.is_lower_bound
    # the rounding floor is what separates them, not the fluctuation
    assert esc.rounding_noise > esc.rate_noise / 2
    assert abs(esc.rate - ref.rate) < esc.rate_noise + ref.rate_noise
    ok = escape_time(resolved, above=5)
    assert not ref_ok.is_lower_bound and not ok.is_lower_bound
    assert abs(ok.rate - ref_ok.rate) < ok.rate_noise + ref_ok.rate_noise


def test_perturbed_channel_differs_from_the_channel_by_rounding_only():
    model = tj.Micromaser(theta=TH15, q=0.25, c=0.6, gamma_tr=0.1, nbar=0.15, cutoff=20)
    ch = OneStepChannel(model)
    other = ch.perturbed(np.finfo(float).eps, 1)
    rho = tj.as_density_matrix(tj.fock_state(3, 20), 20)
    for _ in range(5):
        rho = ch.step(rho)[0]
    a, b = ch.step(rho)[0], other.step(rho)[0]
    assert 0 < np.abs(a - b).max() < 1e-14
    # the original channel is untouched
    assert np.array_equal(ch.step(rho)[0], a)


def test_escape_time_checks_its_window():
    model = tj.Micromaser(theta=TH15, q=0.25, c=1.0, cutoff=40)
    with pytest.raises(ValueError, match="outside the window"):
        escape_time(model, below=20, from_state=tj.fock_state(25, 40))
    with pytest.raises(ValueError, match="below must be <="):
        escape_time(model, below=41)
    with pytest.raises(ValueError, match=">= 2 levels"):
        escape_time(model, below=20, above=19)


# ------------------------------------------------------------------------- the command
def test_steady_command_prints_observables_and_relaxation_times():
    good = types.SimpleNamespace(
        name="fig5_lossy",
        model=tj.Micromaser(theta=TH15, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30),
    )
    bad = types.SimpleNamespace(
        name="leaky", model=tj.Micromaser(theta=tj.fine_tuned_theta(15.6), q=0.25, cutoff=20)
    )
    buf = io.StringIO()
    assert steady_command([good], file=buf) == 0
    text = buf.getvalue()
    assert "fig5_lossy" in text and "fixed point: energy 3.80" in text and "tau =" in text
    buf = io.StringIO()
    assert steady_command([bad], file=buf) == 1
    assert "refused" in buf.getvalue()
