"""Large deviations (issue 22, first part): theta(s) of every count against dense references."""

from __future__ import annotations

import numpy as np
import pytest
from test_counting import _dense_tilted_pieces, _dense_tilted_step

import trajectories as tj
from trajectories._threads import single_threaded_blas
from trajectories.solvers.counting.network import network_rates
from trajectories.solvers.counting.scgf import rate_function, scgf

S = np.array([-0.6, -0.1, 0.0, 0.25, 0.8])


@pytest.mark.parametrize("count", tj.counting.COUNTS)
def test_theta_equals_the_log_of_the_dense_tilted_channels_leading_eigenvalue(count):
    c = 0.0 if count == "changed" else 0.7 * np.exp(-0.5j)  # "changed": definite incoming states
    model = tj.Micromaser(theta=1.3, q=0.3, c=c, gamma_tr=0.4, nbar=0.6, cutoff=9)
    got = scgf(model, S, count)
    with single_threaded_blas():
        pieces = _dense_tilted_pieces(model)
        ref = []
        for s in S:
            w = np.linalg.eigvals(_dense_tilted_step(pieces, count, np.exp(-s)))
            ref.append(np.log(w[np.argmax(np.abs(w))].real))
    assert np.allclose(got.theta, ref, atol=1e-10, rtol=0), np.abs(got.theta - ref).max()


def test_derivatives_at_zero_are_the_stationary_rates():
    model = tj.Micromaser(theta=1.05, q=0.0, c=0.0, gamma_tr=0.05, nbar=0.15, cutoff=40)
    h = 1e-4
    th = scgf(model, [-h, 0.0, h], "g").theta
    rates = tj.counting.stationary_rates(model, "g")
    assert -(th[2] - th[0]) / (2 * h) == pytest.approx(rates.rate, abs=1e-7)
    assert (th[2] - 2 * th[1] + th[0]) / h**2 == pytest.approx(rates.variance_rate, abs=1e-5)


def test_binomial_closed_form_without_interaction():
    model = tj.Micromaser(theta=0.0, q=0.3, cutoff=6)
    out = scgf(model, S, "g")  # from the vacuum: the only level reached
    assert np.allclose(out.theta, np.log(0.3 * np.exp(-S) + 0.7), atol=1e-12, rtol=0)


def test_bad_s_fails_before_work():
    model = tj.Micromaser(theta=1.0, q=0.3, cutoff=6)
    for bad in (np.nan, [0.0, np.inf], []):
        with pytest.raises(ValueError, match="s must be finite"):
            scgf(model, bad, "g")


def test_rate_function_of_independent_qubits_is_the_binomial_relative_entropy():
    model = tj.Micromaser(theta=0.0, q=0.3, cutoff=6)
    ldf = rate_function(model, "g", np.linspace(-2, 2, 21))
    x = ldf.x
    ref = x * np.log(x / 0.3) + (1 - x) * np.log((1 - x) / 0.7)
    assert np.allclose(x, 0.3 * np.exp(-ldf.s) / (0.3 * np.exp(-ldf.s) + 0.7), atol=1e-8)
    assert np.allclose(ldf.rate, ref, atol=1e-8, rtol=0)
    assert ldf.rate[10] == pytest.approx(0.0, abs=1e-12)  # I vanishes at the typical rate


def test_levels_behind_a_trapping_state_do_not_count():
    """Lossless, nbar = 0 is not needed: without a bath the trap at n = 14 (theta sqrt(15) =
    pi) closes the ladder from the vacuum; a state started above it sees another theta."""
    model = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.0, cutoff=24)
    low = scgf(model, S, "g")
    high = scgf(model, S, "g", initial_state=tj.fock_state(18, 24))
    assert low.dimension == 24 and not np.allclose(low.theta, high.theta)
    # below the trap: the dense chain on levels 0..14 only (excited qubits, incoherent)
    from trajectories.channels.tilted import TiltedChannel

    tilt = TiltedChannel(model, "g", True)
    for s, th in zip(S, low.theta, strict=True):
        x = np.eye(24, dtype=complex)[:15]
        y = tilt.collide(x, np.full(15, np.exp(-s), complex))[:, :15].T
        w = np.linalg.eigvals(y)
        assert th == pytest.approx(np.log(np.max(w.real)), abs=1e-10)


def test_the_counting_namespace_exports_them():
    assert tj.counting.scgf is scgf and tj.counting.rate_function is rate_function


# ------------------------------------------------------------------ every model option
RABI = dict(theta=1.05, q=0.2, gamma_tr=0.1, nbar=0.1, cutoff=20)


def test_a_rabi_schedule_of_period_one_is_the_same_channel_as_no_schedule():
    s = [-0.5, 0.5]
    a = scgf(tj.Micromaser(**RABI, collision=tj.Rabi(0.5, omega_tr=np.pi)), s, "g")
    b = scgf(tj.Micromaser(**RABI, collision=tj.Rabi(0.5)), s, "g")
    assert np.allclose(a.theta, b.theta, atol=1e-12, rtol=0)


@pytest.mark.parametrize("s", [-0.3, 0.3])
def test_a_rabi_schedule_of_period_two_agrees_with_cloning_its_trajectories(s):
    """theta = ln(lambda) / 2 of the product of the two channels of one period; cloning runs
    the trajectories through the alternating phases one collision at a time."""
    model = tj.Micromaser(**RABI, collision=tj.Rabi(1.0, omega_tr=np.pi / 2))
    exact = scgf(model, s, "g").theta[0]
    clo = tj.counting.cloning(model, s, "g", n_clones=400, n_collisions=200, seed=4,
                              n_populations=8)  # fmt: skip
    assert abs(clo.scgf - exact) < 5 * clo.stderr
    assert abs(clo.scgf - (exact + 0.005)) > 5 * clo.stderr


def test_an_aperiodic_rabi_schedule_is_refused_before_work():
    model = tj.Micromaser(**RABI, collision=tj.Rabi(0.05, omega_tr=100.0))
    with pytest.raises(ValueError, match="periodic collision schedule"):
        scgf(model, 0.1, "g")


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
def test_network_derivatives_at_zero_are_its_stationary_rates(topology):
    net = tj.Network(theta=(0.6, 0.5), q=0.5, gamma_tr=1.0, nbar=0.1, cutoff=(12, 12),
                     topology=topology)  # fmt: skip
    h = 1e-4
    th = scgf(net, [-h, 0.0, h], "e").theta
    rates = network_rates(net, "e", tol=1e-8)  # 1e-10 is below these cutoffs' leak
    assert th[1] == pytest.approx(0.0, abs=1e-8)  # log(1 - leak) at these cutoffs
    assert -(th[2] - th[0]) / (2 * h) == pytest.approx(rates.rate, abs=1e-7)
    assert (th[2] - 2 * th[1] + th[0]) / h**2 == pytest.approx(rates.variance_rate, abs=1e-5)


def test_a_protocol_stage_is_its_model_from_its_initial_state():
    model = tj.Micromaser(theta=tj.fine_tuned_theta(4), q=0.0, cutoff=12)
    stage = tj.Stage(model, 10, initial_state=tj.fock_state(6, 12))  # above the trap at 3
    s = [-0.4, 0.4]
    a = scgf(stage, s, "g").theta
    assert np.array_equal(a, scgf(model, s, "g", initial_state=tj.fock_state(6, 12)).theta)
    assert not np.allclose(a, scgf(model, s, "g").theta)  # the vacuum sees another sector


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(s=0.1, count="photons"), "count must be one of"),
        (dict(s=0.1, count="g", tol=-1.0), "tol"),
        (dict(s=0.1, count="g", max_ratio=1.5), "max_ratio"),
        (dict(s=0.1, count="g", efficiency=1.2), "efficiency"),
        (dict(s=0.1, count="emission", misread=(0.1, 0.0)), "misread"),
        (dict(s=[0.0, np.nan], count="g"), "s must be finite"),
    ],
)
def test_bad_input_fails_before_work_naming_the_parameter(kwargs, match):
    model = tj.Micromaser(theta=1.0, q=0.3, gamma_tr=0.1, cutoff=8)
    with pytest.raises(ValueError, match=match):
        scgf(model, **kwargs)


def test_a_network_counts_only_its_outgoing_qubits():
    net = tj.Network(theta=(0.6, 0.5), q=0.5, gamma_tr=1.0, nbar=0.1, cutoff=(6, 6))
    with pytest.raises(ValueError, match="for a network"):
        scgf(net, 0.1, "emission")
    with pytest.raises(ValueError, match="model must be"):
        scgf("not a model", 0.1, "g")


# ------------------------------------------------------------ nearly reducible chains
METASTABLE = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.001,
                           nbar=0.15, cutoff=60)  # fmt: skip  # two basins, switching ~1e-10


def test_a_sweep_along_s_does_not_follow_a_subdominant_basin():
    """Warm starts from the last eigenvector must not lose the other basin: along a sweep
    each theta equals the one solved from scratch, and the refusal at s = 0 (separation
    1 - 1.7e-10) does not depend on the path to it."""
    grid = [-1e-2, -1e-4, -1e-6, -1e-8, -1e-9, 0.0, 1e-9, 3e-9, 1e-8]
    sweep = scgf(METASTABLE, grid, "g", max_ratio=1 - 1e-13)
    for s, th in zip(grid[::4], sweep.theta[::4], strict=True):
        cold = scgf(METASTABLE, [s], "g", max_ratio=1 - 1e-13).theta[0]
        assert th == pytest.approx(cold, abs=1e-11)  # the wrong branch was 1.7e-10 off
    assert 1.0 - sweep.ratio[-1] < 1e-9  # the other basin's branch is seen, not taken
    for path in ([0.0], [-0.5, -0.1, 0.0]):
        with pytest.raises(ValueError, match="not separated"):
            scgf(METASTABLE, path, "g")


def test_a_nearly_degenerate_pair_is_not_mistaken_for_a_separated_eigenvalue():
    """The detuned gamma t_r = 0.001 battery: its two leading eigenvalues at s = 0 are 9e-11
    apart. A first step of ARPACK at a loose tolerance saw one of them and the next one
    (ratio 0.99) and accepted s = 0; the separation must be resolved below 1 - max_ratio."""
    model = tj.Micromaser(theta=np.pi / np.sqrt(15.6), q=0.25, c=1.0, gamma_tr=0.001,
                          nbar=0.15, cutoff=60)  # fmt: skip
    with pytest.raises(ValueError, match="not separated"):
        scgf(model, [0.0], "g")


def test_stationary_rates_refuse_a_gap_below_rounding():
    """Classic micromaser at N_ex = 200 in its bistable window: the two basins switch at a
    rate of 1e-15 per collision; the perturbation theory would return a rate of 0.635
    against 0.339 from energy balance."""
    model = tj.Micromaser(theta=6.6 / np.sqrt(200), q=0.0, gamma_tr=1 / 200, nbar=0.15,
                          cutoff=440, arrivals=tj.Arrivals.poisson())  # fmt: skip
    with pytest.raises(ValueError, match="not determined in double precision"):
        tj.counting.stationary_rates(model, "g")


@pytest.mark.parametrize("count", ["g", "e", "emission", "absorption", "net"])
def test_five_point_derivatives_at_zero_are_the_stationary_rates_to_1e8(count):
    """Coherent lossy thermal model, every count: -theta'(0) and theta''(0) by five-point
    differences (step 2e-3, truncation ~h^4) against the perturbation theory of
    stationary_rates (measured agreement 1e-11 and 5e-10; rounding of theta bounds the
    second derivative at about 1e-13 / h^2 = 2.5e-8)."""
    model = tj.Micromaser(theta=1.3, q=0.3, c=0.7 * np.exp(-0.5j), gamma_tr=0.4, nbar=0.6,
                          cutoff=9)  # fmt: skip
    h = 2e-3
    t = scgf(model, h * np.arange(-2.0, 3.0), count).theta
    d1 = (t[0] - 8 * t[1] + 8 * t[3] - t[4]) / (12 * h)
    d2 = (-t[0] + 16 * t[1] - 30 * t[2] + 16 * t[3] - t[4]) / (12 * h * h)
    rates = tj.counting.stationary_rates(model, count)
    assert -d1 == pytest.approx(rates.rate, abs=1e-8)
    assert d2 == pytest.approx(rates.variance_rate, abs=1e-7)
