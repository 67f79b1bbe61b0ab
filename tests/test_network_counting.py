"""Networks: steady states and the counting statistics of the outgoing qubits."""

from __future__ import annotations

import math

import numpy as np
import pytest

import trajectories as tj

NET = dict(q=0.6, gamma_tr=0.3, nbar=0.02, cutoff=(14, 14))


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
@pytest.mark.parametrize("c", [0.0, 0.6 - 0.3j])
def test_steady_state_is_the_long_time_limit(topology, c):
    net = tj.Network(theta=(0.7, 0.5), c=c, topology=topology, **NET)
    ss = tj.steady_state(net)
    assert isinstance(ss, tj.NetworkSteadyState)
    assert ss.residual < 1e-10
    assert abs(np.trace(ss.rho) - 1) < 1e-12
    assert np.linalg.eigvalsh(ss.rho).min() > -1e-12
    # the exact evolution reaches it: the distance falls like |lambda_1|^k
    k = int(40 * ss.relaxation_collisions)
    r = tj.solve_exact(net, k, checkpoints=[k], store_states=True)
    assert np.abs(r.states[-1] - ss.rho).max() < 1e-9
    assert abs(r.ergotropy[-1] - ss.observables["ergotropy"]) < 1e-9
    assert abs(r.log_negativity[-1] - ss.observables["log_negativity"]) < 1e-9


def test_steady_state_refuses_a_leaking_cutoff():
    net = tj.Network(theta=(0.5, 0.7), q=0.5, gamma_tr=0.1, nbar=0.15, cutoff=(8, 8))
    with pytest.raises(tj.SteadyStateError, match="residual"):
        tj.steady_state(net)


def test_uncoupled_counts_are_binomial():
    net = tj.Network(theta=(0.0, 0.0), q=0.3, c=0.5, cutoff=(3, 3))
    m = tj.counting.exact_moments(net, 12, "g")
    k = np.arange(13)
    assert np.allclose(m.mean, 0.3 * k, atol=1e-12)
    assert np.allclose(m.variance, 0.21 * k, atol=1e-12)
    d = tj.counting.exact_distribution(net, 12, "e", checkpoints=[12])
    binom = [math.comb(12, j) * 0.7**j * 0.3 ** (12 - j) for j in range(13)]
    assert np.allclose(d.probabilities[0], binom, atol=1e-13)


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
def test_moments_distribution_and_rates_agree(topology):
    net = tj.Network(theta=(0.7, 0.5), c=0.6, topology=topology, **NET)
    m = tj.counting.exact_moments(net, 40, "g", checkpoints=[20, 40])
    d = tj.counting.exact_distribution(net, 40, "g", checkpoints=[20, 40])
    assert np.allclose(d.mean, m.mean, atol=1e-10)
    assert np.allclose(d.variance, m.variance, atol=1e-10)
    assert np.allclose(d.probabilities.sum(1), 1 - m.leakage, atol=1e-12)
    r = tj.counting.stationary_rates(net, "g")
    long = tj.counting.exact_moments(net, 300, "g", checkpoints=[150, 300])
    assert abs((long.mean[1] - long.mean[0]) / 150 - r.rate) < 1e-9
    assert abs((long.variance[1] - long.variance[0]) / 150 - r.variance_rate) < 1e-7
    # sub-Poissonian: the coherent drive regularises the outgoing qubits
    assert r.mandel_q < -0.5


def test_detection_thins_the_counts():
    net = tj.Network(theta=(0.7, 0.5), c=0.0, topology="series", **NET)
    full = tj.counting.exact_moments(net, 30, "g", checkpoints=[30])
    eta = 0.4
    thin = tj.counting.exact_moments(net, 30, "g", checkpoints=[30], efficiency=eta)
    # binomial thinning: mean eta m, variance eta^2 v + eta (1 - eta) m
    assert abs(thin.mean[0] - eta * full.mean[0]) < 1e-10
    expect = eta**2 * full.variance[0] + eta * (1 - eta) * full.mean[0]
    assert abs(thin.variance[0] - expect) < 1e-10
    # misreads: every e read as g and every g read as e swaps the counts
    swapped = tj.counting.exact_moments(net, 30, "g", checkpoints=[30], misread=(1.0, 1.0))
    e = tj.counting.exact_moments(net, 30, "e", checkpoints=[30])
    assert abs(swapped.mean[0] - e.mean[0]) < 1e-10


def test_qubit_counts_close_the_books():
    """Each qubit that leaves in g gave its excitation to the pair (c = 0, no loss, no leak)."""
    net = tj.Network(theta=(0.7, 0.5), q=0.25, cutoff=(16, 16), topology="simultaneous")
    r = tj.solve_exact(net, 20, checkpoints=[20])
    m = tj.counting.exact_moments(net, 20, "g", checkpoints=[20])
    # out in g: 20 - E[e out]; excitations given = E[came in e] - E[left in e]
    e_out = 20 - m.mean[0]
    assert abs(r.total_energy[-1] - (0.75 * 20 - e_out)) < 1e-10
    assert abs(r.p_excited[-1] - e_out) < 1e-10


def test_count_must_be_defined_for_a_network():
    net = tj.Network(theta=(0.7, 0.5), q=0.25, cutoff=(4, 4))
    with pytest.raises(ValueError, match="count must be one of"):
        tj.counting.exact_moments(net, 5, "emission")
    with pytest.raises(ValueError, match="efficiency"):
        tj.counting.exact_moments(net, 5, "g", efficiency=1.5)


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
def test_trajectory_counts_agree_with_exact_moments(topology):
    net = tj.Network(
        theta=(0.9, 0.6), q=0.6, c=0.5, gamma_tr=0.3, nbar=0.02, cutoff=(12, 12),
        topology=topology,
    )  # fmt: skip
    ens = tj.simulate(net, 30, 3000, seed=11, checkpoints=[10, 30])
    exact = tj.counting.exact_moments(net, 30, "g", checkpoints=[10, 30])
    for eta in (1.0, 0.6):
        stats = tj.counting.from_ensemble(ens, "g", efficiency=eta)
        m = tj.counting.exact_moments(net, 30, "g", checkpoints=[10, 30], efficiency=eta)
        for est, ref in ((stats.mean, m.mean), (stats.variance, m.variance)):
            assert np.all(np.abs(est.mean - ref) <= 5 * est.stderr + 1e-9)
    # a wrong reference fails: the counts resolve q to better than 0.05
    wrong = tj.counting.exact_moments(net.replace(q=0.65), 30, "g", checkpoints=[10, 30])
    stats = tj.counting.from_ensemble(ens, "g")
    assert np.any(np.abs(stats.mean.mean - wrong.mean) > 5 * stats.mean.stderr)
    assert exact.mean[-1] > 0
    with pytest.raises(ValueError, match="for a network"):
        tj.counting.from_ensemble(ens, "emission")
