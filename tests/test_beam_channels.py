"""A real beam in the exact channels: random arrivals and a spread of theta.

Each averaged channel is checked against brute force (a dense Liouvillian integrated over
the interval distribution; the mixture of the channels themselves), against the
Filipowicz-Javanainen-Meystre detailed balance of the Poisson-pumped micromaser, and for the
limits that must hold exactly (Bernoulli(1) is regular, Bernoulli(p -> 0) tends to Poisson
at rate O(p), zero spread is no spread).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.integrate import quad_vec
from scipy.linalg import expm

import trajectories as tj
from trajectories.channels.arrivals import averaged_exp
from trajectories.channels.collisions import collision_sequence
from trajectories.channels.jaynes_cummings import jaynes_cummings_channel
from trajectories.channels.loss import LossChannel, loss_generator_block
from trajectories.channels.one_step import OneStepChannel
from trajectories.channels.spread import averaged_collision, mixture, spread_nodes
from trajectories.model.imperfections import QUADRATURE_TOL

FIG5 = dict(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15)


def random_rho(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    rho = a @ a.conj().T
    return rho / np.trace(rho).real


def dense_liouvillian(gamma: float, nbar: float, n: int) -> np.ndarray:
    """Row-major vec(rho) generator with the package's cutoff convention.

    Emission a rho a^dag, absorption a^dag rho a with a^dag truncated (weight raised out of
    level N-1 is lost), no-jump rates Gamma_n including the absorption out of the top level.
    """
    a = np.diag(np.sqrt(np.arange(1.0, n)), 1)
    ad = a.T.copy()
    rates = gamma * ((nbar + 1.0) * np.arange(n) + nbar * (np.arange(n) + 1.0))
    eye = np.eye(n)
    big = gamma * (nbar + 1.0) * np.kron(a, a) + gamma * nbar * np.kron(ad, ad)
    big -= 0.5 * (np.kron(np.diag(rates), eye) + np.kron(eye, np.diag(rates)))
    return big


@pytest.mark.parametrize("gamma, nbar", [(0.1, 0.15), (0.7, 0.0), (0.05, 2.0)])
@pytest.mark.parametrize("kind", ["poisson", "bernoulli"])
def test_averaged_loss_equals_brute_force_integral_over_interval(gamma, nbar, kind):
    n = 8 if kind == "poisson" else 12
    arrivals = tj.Arrivals.poisson() if kind == "poisson" else tj.Arrivals.bernoulli(0.3)
    model = tj.Micromaser(theta=0.5, q=0.2, gamma_tr=gamma, nbar=nbar, cutoff=n, arrivals=arrivals)
    big = dense_liouvillian(gamma, nbar, n)
    if kind == "poisson":  # E[exp(L T)], T ~ Exp(1), by adaptive quadrature
        avg, err = quad_vec(
            lambda t: math.exp(-t) * expm(big * t),
            0.0,
            48.0,
            epsabs=1e-13,
            epsrel=0.0,
            norm="max",
            limit=400,
        )  # the tail beyond T = 48 weighs e^-48 = 1.4e-21
        assert err < 1e-11
    else:  # the geometric series over j slots, summed until its terms underflow
        p = 0.3
        e = expm(p * big)
        avg = np.zeros_like(big)
        power = np.eye(n * n)
        for j in range(1, 400):
            power = power @ e
            avg += p * (1.0 - p) ** (j - 1) * power
    rho = random_rho(n, 3)
    want = (avg @ rho.reshape(-1)).reshape(n, n)
    for layout in ("band", "dense"):
        loss = LossChannel(model)
        loss.set_layout(layout)
        got, leaked = loss.apply_dm(rho)
        assert np.abs(got - want).max() < 1e-10, layout
        # the leak is what the trace lost
        assert abs(np.trace(want).real + leaked - 1.0) < 1e-10


def test_bernoulli_one_is_regular_and_small_p_tends_to_poisson_at_rate_p():
    g = loss_generator_block(0.1, 0.15, 30, 2)
    one = averaged_exp(g, SimpleNamespace(kind="bernoulli", p=1.0))
    assert np.abs(one - expm(g)).max() < 1e-15
    assert tj.Arrivals.bernoulli(1.0) == tj.Arrivals.regular()
    poisson = averaged_exp(g, tj.Arrivals.poisson())
    errs = [
        np.abs(averaged_exp(g, tj.Arrivals.bernoulli(p)) - poisson).max()
        for p in (0.04, 0.02, 0.01)
    ]
    # O(p): halving p halves the distance (ratios within 5% of 2; O(p^2) would give 4)
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert ratios.shape == (2,) and np.all(np.abs(ratios - 2.0) < 0.1), errs
    assert 0.0 < errs[-1] < 0.01


def detailed_balance(theta: float, q: float, gamma: float, nbar: float, n: int) -> np.ndarray:
    """Steady populations of the Poisson-pumped micromaser with incoherent qubits.

    p_k [gamma (nbar+1) k + q s_k] = p_(k-1) [gamma nbar k + (1-q) s_k], s_k = sin^2(theta sqrt k)
    (Filipowicz, Javanainen, Meystre, Phys. Rev. A 34, 3077 (1986), with ground-state qubits).
    """
    p = np.ones(n)
    for k in range(1, n):
        s = math.sin(theta * math.sqrt(k)) ** 2
        p[k] = p[k - 1] * (gamma * nbar * k + (1.0 - q) * s) / (gamma * (nbar + 1.0) * k + q * s)
    return p / p.sum()


@pytest.mark.parametrize(
    "theta, q, gamma, nbar",
    [(1.2, 0.0, 0.1, 0.15), (0.8, 0.3, 0.05, 0.5), (2.1, 0.1, 0.2, 0.0), (0.5, 0.6, 0.3, 1.0)],
)
def test_poisson_pumped_steady_state_is_the_detailed_balance_product(theta, q, gamma, nbar):
    n = 60
    model = tj.Micromaser(theta=theta, q=q, gamma_tr=gamma, nbar=nbar, cutoff=n, arrivals="poisson")
    want = detailed_balance(theta, q, gamma, nbar, n)
    assert want[-1] < 1e-12  # the cutoff holds the state
    got = np.diagonal(tj.steady_state(model).rho).real
    assert np.abs(got - want).max() < 1e-10


def test_poisson_pumping_is_noisier_than_regular():
    """The noise reduction of regular pumping: Mandel Q lower than with Poisson arrivals."""
    base = tj.Micromaser(theta=1.2, q=0.0, gamma_tr=0.1, nbar=0.15, cutoff=40)
    q = {}
    for arr in ("regular", "poisson"):
        p = np.diagonal(tj.steady_state(base.replace(arrivals=arr)).rho).real
        k = np.arange(p.size)
        mean = p @ k
        q[arr] = (p @ k**2 - mean**2) / mean - 1.0
    assert q["regular"] < q["poisson"] < 0.0
    # and the regular one is not the detailed-balance value (which holds for Poisson only)
    pb = detailed_balance(1.2, 0.0, 0.1, 0.15, 40)
    p_reg = np.diagonal(tj.steady_state(base).rho).real
    assert np.abs(p_reg - pb).max() > 1e-3


@pytest.mark.parametrize("c", [0.0, 0.6j, 1.0])
def test_two_point_spread_is_the_average_of_the_two_channels(c):
    n = 16
    spread = tj.ThetaSpread.discrete([0.7, 1.25], [0.3, 0.7])
    model = tj.Micromaser(theta=1.1, q=0.35, c=c, cutoff=n, theta_spread=spread)
    rho = random_rho(n, 5)
    ideal = model.replace(theta_spread=tj.ThetaSpread())
    a = jaynes_cummings_channel(ideal.replace(theta=1.1 * 0.7))
    b = jaynes_cummings_channel(ideal.replace(theta=1.1 * 1.25))
    want = 0.3 * a.apply(rho)[0] + 0.7 * b.apply(rho)[0]
    want_leak = 0.3 * a.leak_of(rho) + 0.7 * b.leak_of(rho)
    channel = collision_sequence(model).at(1)
    got, leak = channel.apply(rho)
    assert np.abs(got - want).max() < 1e-14
    assert abs(leak - want_leak) < 1e-15
    # the pair-weight form (the exact solver's fused step) gives the same map
    assert np.abs(channel.pair_weights.apply(rho) - want).max() < 1e-14


@pytest.mark.parametrize(
    "spread",
    [tj.ThetaSpread.gaussian(0.05), tj.ThetaSpread.gaussian(0.3), tj.ThetaSpread.uniform(0.2)],
)
def test_factorised_average_equals_the_mixture_of_every_node(spread):
    """Re-factorising the averaged operators changes nothing but their number."""
    model = tj.Micromaser(theta=0.9, q=0.25, c=0.8, cutoff=20, theta_spread=spread)
    x, w, quad = spread_nodes(model)
    assert quad.change < QUADRATURE_TOL
    ideal = model.replace(theta_spread=tj.ThetaSpread())
    full = mixture([jaynes_cummings_channel(ideal.replace(theta=0.9 * xj)) for xj in x], w)
    channel, quad = averaged_collision(model)
    assert quad.operators < len(full.kraus)
    rho = random_rho(20, 9)
    # through the Kraus operators (not the pair weights)
    got = sum(k.sandwich(rho) for k in channel.kraus)
    want = sum(k.sandwich(rho) for k in full.kraus)
    assert np.abs(got - want).max() < 1e-13
    # completeness: sum K^dag K + M_leak = 1
    total = sum(k.dense().conj().T @ k.dense() for k in channel.kraus) + channel.leak_matrix()
    assert np.abs(total - np.eye(20)).max() < 1e-13


def test_gaussian_quadrature_converges_on_the_observables():
    """The default quadrature against one with twice as many nodes, after 300 collisions."""
    model = tj.Micromaser(**FIG5, cutoff=40, theta_spread=tj.ThetaSpread.gaussian(0.1))
    x, w, quad = spread_nodes(model)
    got = tj.solve_exact(model, 300, checkpoints=[0, 100, 300])
    x2, w2 = model.theta_spread.nodes(2 * x.size)
    ideal = model.replace(theta_spread=tj.ThetaSpread())
    fine = mixture([jaynes_cummings_channel(ideal.replace(theta=model.theta * v)) for v in x2], w2)
    loss = LossChannel(model)
    rho = tj.as_density_matrix(None, 40)
    energies = []
    for k in range(1, 301):
        rho = loss.apply_dm(fine.apply(rho)[0])[0]
        if k in (100, 300):
            energies.append(np.trace(rho * np.arange(40)).real)
    assert np.abs(got.energy[1:] - energies).max() < 1e-12
    # and the spread matters: far more than the convergence error
    ideal_run = tj.solve_exact(ideal, 300, checkpoints=[0, 100, 300])
    assert np.abs(ideal_run.energy[1:] - got.energy[1:]).max() > 1e-3


def test_zero_spread_is_no_spread_and_regular_is_the_default():
    assert tj.ThetaSpread.gaussian(0.0) == tj.ThetaSpread.none()
    assert tj.ThetaSpread.uniform(0.0) == tj.ThetaSpread.none()
    assert tj.ThetaSpread.discrete([1.0], [1.0]) == tj.ThetaSpread.none()
    m = tj.Micromaser(**FIG5, cutoff=30)
    a = tj.solve_exact(m, 50)
    b = tj.solve_exact(m.replace(theta_spread=tj.ThetaSpread.gaussian(0.0), arrivals="regular"), 50)
    assert np.array_equal(a.energy, b.energy) and np.array_equal(a.purity, b.purity)


def test_spread_breaks_trapping():
    """Fine-tuned trapping (sin(theta sqrt 15) = 0) blocks 14 -> 15 only for the exact theta."""
    base = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.0, cutoff=80)
    trapped = tj.solve_exact(base, 100, checkpoints=[100])
    spread = tj.solve_exact(
        base.replace(theta_spread=tj.ThetaSpread.gaussian(0.05)), 100, checkpoints=[100]
    )
    p_trapped = trapped.populations[-1]
    p_spread = spread.populations[-1]
    assert p_trapped[15:].sum() < 1e-20
    assert p_spread[15:].sum() > 0.3


@pytest.mark.parametrize(
    "kw",
    [
        dict(arrivals="poisson"),
        dict(arrivals=tj.Arrivals.bernoulli(0.4)),
        dict(theta_spread=tj.ThetaSpread.gaussian(0.05)),
        dict(arrivals="poisson", theta_spread=tj.ThetaSpread.uniform(0.1)),
    ],
)
def test_every_deterministic_solver_takes_the_beam(kw):
    model = tj.Micromaser(**FIG5, cutoff=40, **kw)
    ss = tj.steady_state(model)
    step = OneStepChannel(model)
    out, leak = step.step_dm(ss.rho)
    assert np.abs(out - ss.rho).max() < 1e-10  # a fixed point of the averaged channel
    ex = tj.solve_exact(model, 3000, checkpoints=[3000])
    assert abs(ex.energy[-1] - ss.energy) < 1e-6
    assert tj.spectrum(model).eigenvalues.size > 0
    esc = tj.escape_time(model, below=10)
    assert esc.lifetime > 1.0 and np.isfinite(esc.lifetime)
    incoherent = model.replace(c=0.0)
    dist = tj.counting.exact_distribution(incoherent, 30, count="g")
    assert abs(dist.probabilities[-1].sum() - 1.0) < 1e-9


def test_rabi_with_a_discrete_spread_is_the_mixture_and_refuses_the_rest():
    col = tj.Rabi(0.1)
    spread = tj.ThetaSpread.discrete([0.9, 1.1], [0.5, 0.5])
    model = tj.Micromaser(theta=0.8, q=0.3, c=1.0, cutoff=14, collision=col, theta_spread=spread)
    ideal = model.replace(theta_spread=tj.ThetaSpread())
    rho = random_rho(14, 2)
    a = collision_sequence(ideal.replace(theta=0.72)).at(1).apply(rho)[0]
    b = collision_sequence(ideal.replace(theta=0.88)).at(1).apply(rho)[0]
    got = collision_sequence(model).at(1).apply(rho)[0]
    assert np.abs(got - 0.5 * (a + b)).max() < 1e-13
    with pytest.raises(ValueError, match="theta_spread must be discrete with a Rabi"):
        model.replace(theta_spread=tj.ThetaSpread.gaussian(0.05))
    with pytest.raises(ValueError, match="arrivals must be regular with a Rabi"):
        model.replace(arrivals="poisson")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: tj.Arrivals.bernoulli(0.0), r"arrivals p must be in \(0, 1\], got 0.0"),
        (lambda: tj.Arrivals.bernoulli(1.5), r"arrivals p must be in \(0, 1\], got 1.5"),
        (lambda: tj.Arrivals("sometimes"), "arrivals must be 'regular', 'poisson' or 'bernoulli'"),
        (lambda: tj.ThetaSpread.gaussian(-0.1), "theta_spread sigma must be >= 0, got -0.1"),
        (lambda: tj.ThetaSpread.uniform(1.5), r"theta_spread width must be in \[0, 1\], got 1.5"),
        (lambda: tj.ThetaSpread.discrete([0.9, 1.1], [0.5, 0.6]), "weights must sum to 1"),
        (lambda: tj.ThetaSpread.discrete([0.9, -1.0], [0.5, 0.5]), r"values\[1\] must be >= 0"),
        (lambda: tj.ThetaSpread.discrete([0.9], [0.5, 0.5]), "same length"),
        (
            lambda: tj.Micromaser(theta=1.0, q=0.0, arrivals=3),
            "arrivals must be trajectories.Arrivals",
        ),
    ],
)
def test_bad_beam_parameters_fail_with_one_line(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


def test_beam_round_trips_through_the_stored_parameters():
    for kw in (
        dict(arrivals=tj.Arrivals.bernoulli(0.25), theta_spread=tj.ThetaSpread.uniform(0.1)),
        dict(arrivals="poisson", theta_spread=tj.ThetaSpread.discrete([0.5, 1.5], [0.25, 0.75])),
    ):
        m = tj.Micromaser(**FIG5, **kw)
        assert tj.Micromaser.from_dict(m.to_dict()) == m
    assert set(tj.Micromaser(**FIG5).to_dict()) == {
        "theta", "q", "c_real", "c_imag", "gamma_tr", "nbar", "cutoff"
    }  # fmt: skip
