"""Discharge reports: delivered energy, its exact distribution, times and lifetimes.

The delivered quanta of a stage with ground-state qubits are the qubits that leave excited;
their distribution is checked against a count-resolved brute force (one density matrix per
count, dense collision split by the qubit's outcome, dense loss).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

import trajectories as tj
from tests.helpers import annihilation, dense_loss

FIG5 = dict(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15)


def outcome_blocks(theta: float, n: int):
    """Dense ground-state-qubit collision split by outcome: rho -> (e part, g part)."""
    big = n + 1
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)
    u = expm(-1j * theta * (np.kron(sp, a) + np.kron(sp.conj().T, a.conj().T)))
    # qubit in g (second basis vector): columns big..2big-1 of U act on |g> x cavity
    k_e = u[:big, big:][:n, :n]  # <e| U |g>, kept block
    k_g = u[big:, big:][:n, :n]  # <g| U |g>
    return k_e, k_g


def brute_delivered(model: tj.Micromaser, rho0: np.ndarray, k: int) -> np.ndarray:
    """P(j qubits leave in e over k collisions), by count-resolved density matrices."""
    k_e, k_g = outcome_blocks(model.theta, model.cutoff)
    rhos = [rho0.astype(complex)]
    for _ in range(k):
        new = []
        for j in range(len(rhos) + 1):
            mid = np.zeros_like(rho0, dtype=complex)
            if j < len(rhos):
                mid += k_g @ rhos[j] @ k_g.conj().T
            if j >= 1:
                mid += k_e @ rhos[j - 1] @ k_e.conj().T
            new.append(dense_loss(mid, model.gamma_tr, model.nbar) if model.has_loss else mid)
        rhos = new
    return np.array([np.trace(r).real for r in rhos])


@pytest.mark.parametrize("c", [1.0, 0.0])
def test_delivered_distribution_equals_the_count_resolved_brute_force(c):
    charge = tj.Micromaser(**{**FIG5, "c": c}, cutoff=14)
    discharge = charge.replace(q=1.0, c=0.0, theta=0.64)
    p = tj.Protocol([tj.Stage(charge, 40), tj.Stage(discharge, 12)])
    r = tj.solve_exact(p, store_states=True, leakage_tol=1.0)
    rep = tj.discharge_report(r)
    want = brute_delivered(discharge, r.states[40], 12)
    got = np.zeros(want.size)
    got[rep.delivered_values[rep.delivered_values < want.size]] = rep.delivered_probabilities[
        rep.delivered_values < want.size
    ]
    assert np.abs(got - want).max() < 1e-10
    assert rep.kind == "discharge" and rep.k_start == 40 and rep.k_end == 52


def test_mean_delivered_quanta_are_the_energy_books_of_the_stage():
    """With the cutoff holding the state (leak < 1e-12), both give the same energy."""
    charge = tj.Micromaser(**FIG5, cutoff=40)
    p = tj.Protocol([tj.Stage(charge, 100), tj.Stage(charge.replace(q=1.0, c=0.0), 60)])
    r = tj.solve_exact(p)
    assert r.total_leakage < 1e-12
    rep = tj.discharge_report(r)
    assert abs(rep.delivered_mean - rep.delivered) < 1e-9


def test_report_recomputes_the_stage_start_when_states_are_not_stored():
    charge = tj.Micromaser(**FIG5, cutoff=30)
    p = tj.Protocol([tj.Stage(charge, 100), tj.Stage(charge.replace(theta=0.0), 20),
                     tj.Stage(charge.replace(q=1.0, c=0.0, theta=0.5), 40)])  # fmt: skip
    a = tj.discharge_report(tj.solve_exact(p))
    b = tj.discharge_report(tj.solve_exact(p, store_states=True))
    assert np.array_equal(a.delivered_values, b.delivered_values)
    assert np.abs(a.delivered_probabilities - b.delivered_probabilities).max() < 1e-13


def test_times_efficiencies_and_lifetimes_follow_their_definitions():
    charge = tj.Micromaser(**FIG5, cutoff=40)
    store = charge.replace(theta=0.0)
    p = tj.Protocol([tj.Stage(charge, 200), tj.Stage(store, 80), tj.Stage(charge.replace(
        q=1.0, c=0.0, theta=0.64), 100)])  # fmt: skip
    r = tj.solve_exact(p)
    s = tj.discharge_report(r, 1)
    assert s.kind == "storage" and s.delivered == 0.0 and math.isnan(s.collisions_to_50)
    # storage at zero detuning and nbar: the energy decays towards nbar; 1/e crossing in between
    e = r.energy[200:281]
    k_e = s.energy_lifetime
    i = int(math.floor(k_e))
    assert e[i] >= e[0] / math.e >= e[i + 1]
    d = tj.discharge_report(r, 2)
    took = -(r.energy_from_qubits[280:381] - r.energy_from_qubits[280])
    assert abs(d.delivered - took[-1]) < 1e-15
    j = int(math.floor(d.collisions_to_90))
    assert took[j] <= 0.9 * d.delivered <= took[j + 1]
    assert abs(d.efficiency_energy - d.delivered / r.energy[280]) < 1e-15
    assert abs(d.power_per_collision - d.delivered / 100) < 1e-15
    assert abs(d.power_per_interaction_time - d.delivered / (100 * 0.64)) < 1e-15


def test_incoherent_discharge_delivers_sub_poissonian_quanta_from_a_fock_like_state():
    """A Fock state |5> discharged without loss by pi/sqrt(5)... qubits: deterministic steps."""
    theta = math.pi / 2 / math.sqrt(5)  # sin^2(theta sqrt 5) = 1/2: random, but bounded by 5
    m = tj.Micromaser(theta=theta, q=1.0, c=0.0, cutoff=12)
    p = tj.Protocol([tj.Stage(m, 400, initial_state=tj.fock_state(5, 12))])
    rep = tj.discharge_report(tj.solve_exact(p))
    assert abs(rep.delivered - 5.0) < 1e-9  # every quantum delivered eventually
    assert rep.delivered_probabilities[5] > 1 - 1e-9
    assert rep.delivered_variance < 1e-8


def test_bad_report_requests_fail_with_one_line():
    m = tj.Micromaser(**FIG5, cutoff=20)
    r = tj.solve_exact(tj.Protocol([(m, 10), (m.replace(q=1.0, c=0.0), 10)]), checkpoints=[0, 20])
    with pytest.raises(ValueError, match="checkpoints at the start and the end of stage 1"):
        tj.discharge_report(r)
    with pytest.raises(ValueError, match=r"stage must be in \[-2, 1\], got 2"):
        tj.discharge_report(r, 2)
