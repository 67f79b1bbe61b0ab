"""Protocols in the exact solver and the battery's energy books, against brute force.

The books of every exact run (energy from the qubits, switching work, energy from the bath)
are compared with a dense construction: the collision as the unitary on cavity and qubit
(Jaynes-Cummings, or the lab-frame Rabi Hamiltonian on many more levels), the loss as the
exponential of a dense Liouvillian, energies read before and after each collision.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

import trajectories as tj
from tests.helpers import annihilation, dense_collision, dense_loss, qubit_state

FIG5 = dict(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15)


def energy(rho: np.ndarray) -> float:
    return float(np.diagonal(rho).real @ np.arange(rho.shape[0]))


def brute_books_jc(model: tj.Micromaser, k: int):
    """Cumulative (from collisions, from bath) and E(k), dense, Jaynes-Cummings."""
    n = model.cutoff
    rho = np.zeros((n, n), dtype=complex)
    rho[0, 0] = 1.0
    coll, bath, energies = [0.0], [0.0], [0.0]
    for _ in range(k):
        mid = dense_collision(rho, model.theta, model.q, model.c)
        after = dense_loss(mid, model.gamma_tr, model.nbar) if model.has_loss else mid
        coll.append(coll[-1] + energy(mid) - energy(rho))
        bath.append(bath[-1] + energy(after) - energy(mid))
        energies.append(energy(after))
        rho = after
    return np.array(coll), np.array(bath), np.array(energies)


@pytest.mark.parametrize(
    "kw",
    [
        FIG5,
        dict(theta=1.3, q=0.4, c=0.7j, gamma_tr=0.3, nbar=0.5),
        dict(theta=0.9, q=0.25, c=0.0, gamma_tr=0.0, nbar=0.0),
        dict(theta=0.9, q=0.1, c=0.0, gamma_tr=0.2, nbar=0.0),
    ],
)
def test_jaynes_cummings_books_equal_brute_force(kw):
    model = tj.Micromaser(**kw, cutoff=16)
    k = 25
    coll, bath, energies = brute_books_jc(model, k)
    r = tj.solve_exact(model, k, leakage_tol=1.0)  # brute force has the same cutoff convention
    assert np.abs(r.energy - energies).max() < 1e-10
    assert np.abs(r.energy_from_qubits - coll).max() < 1e-10
    assert np.abs(r.energy_from_bath - bath).max() < 1e-10
    assert np.all(r.switching_work == 0.0)
    books = r.energy_from_qubits + r.switching_work + r.energy_from_bath + r.energy_from_resets
    assert np.abs(r.energy - r.energy[0] - books).max() < 1e-12


def test_jaynes_cummings_qubit_books_close_by_conservation():
    """(1-q) Tr rho - P(e out) equals E_mid - E_before collision by collision."""
    from trajectories.channels.books import EnergyOperators
    from trajectories.channels.collisions import collision_channel

    rng = np.random.default_rng(3)
    for c in (0.0, 0.8, 0.3 - 0.5j):
        model = tj.Micromaser(theta=1.1, q=0.35, c=c, cutoff=14)
        ops = EnergyOperators(collision_channel(model), model.q)
        g = rng.normal(size=(14, 14)) + 1j * rng.normal(size=(14, 14))
        g[:, -3:] = 0.0  # leave the top levels empty: no leak
        rho = g.conj().T @ g
        rho /= np.trace(rho).real
        e_before, e_mid, p_e, tr = ops.traces(rho)
        assert abs((e_mid - e_before) - ((1.0 - model.q) * tr - p_e)) < 1e-13
        mid = dense_collision(rho, model.theta, model.q, model.c)
        assert abs(e_mid - energy(mid)) < 1e-12


def lab_rabi_collision(rho: np.ndarray, model: tj.Micromaser, extra: int = 24):
    """Lab-frame Rabi collision on N + extra levels; kept block and P(qubit out in e, kept).

    H = omega (a^dag a + sigma_z/2) + g (a + a^dag)(sigma_+ + sigma_-), omega = 1, for
    tau = theta/g, then back to the frame rotating at omega (collisions start at multiples
    of 2 pi/omega, as with ``omega_tr = None``: the free evolution up to the next collision
    undoes the rotation of the coherences).
    """
    n = rho.shape[0]
    big = n + extra
    g = model.collision.g_over_omega
    tau = model.theta / g
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)  # |e><g|, basis (e, g)
    sz = np.diag([1.0, -1.0]).astype(complex)
    eye_q, eye_c = np.eye(2), np.eye(big)
    h0 = np.kron(eye_q, a.conj().T @ a) + 0.5 * np.kron(sz, eye_c)
    h = h0 + g * np.kron(sp + sp.conj().T, a + a.conj().T)
    u = expm(1j * tau * h0) @ expm(-1j * tau * h)
    rho_big = np.zeros((big, big), dtype=complex)
    rho_big[:n, :n] = rho
    full = u @ np.kron(qubit_state(model.q, model.c), rho_big) @ u.conj().T
    kept_e = full[:big, :big][:n, :n]
    kept_g = full[big:, big:][:n, :n]
    return kept_e + kept_g, float(np.trace(kept_e).real)


@pytest.mark.parametrize("loss", [dict(gamma_tr=0.0, nbar=0.0), dict(gamma_tr=0.2, nbar=0.3)])
def test_rabi_books_equal_brute_force_and_name_the_switching_work(loss):
    model = tj.Micromaser(
        theta=0.7, q=0.3, c=0.6, cutoff=14, collision=tj.Rabi(0.15, extra_levels=24), **loss
    )
    k = 12
    n = model.cutoff
    rho = np.zeros((n, n), dtype=complex)
    rho[0, 0] = 1.0
    coll = qub = bath = 0.0
    want = []
    for _ in range(k):
        mid, p_e = lab_rabi_collision(rho, model)
        after = dense_loss(mid, model.gamma_tr, model.nbar) if model.has_loss else mid
        coll += energy(mid) - energy(rho)
        qub += (1.0 - model.q) * np.trace(rho).real - p_e
        bath += energy(after) - energy(mid)
        rho = after
        want.append((energy(rho), qub, coll - qub, bath))
    want = np.array(want)
    r = tj.solve_exact(model, k, leakage_tol=1.0)  # brute force has the same cutoff convention
    got = np.stack([r.energy, r.energy_from_qubits, r.switching_work, r.energy_from_bath], 1)[1:]
    assert np.abs(got - want).max() < 1e-10
    assert np.abs(r.switching_work).max() > 1e-3  # counter-rotating terms do work
    books = r.energy_from_qubits + r.switching_work + r.energy_from_bath
    assert np.abs(r.energy - r.energy[0] - books).max() < 1e-12


def test_one_stage_protocol_is_the_model_bit_for_bit():
    model = tj.Micromaser(**FIG5, cutoff=40)
    a = tj.solve_exact(model, 200)
    b = tj.solve_exact(tj.Protocol([tj.Stage(model, 200)]))
    for name in ("energy", "purity", "fano", "ergotropy", "leakage", "energy_from_qubits",
                 "energy_from_bath"):  # fmt: skip
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert b.protocol is not None and np.all(b.stage == 0)


@pytest.mark.parametrize("c", [1.0, 0.0])
def test_two_stages_equal_two_consecutive_runs(c):
    charge = tj.Micromaser(**{**FIG5, "c": c}, cutoff=40)
    discharge = charge.replace(q=1.0, c=0.0, theta=0.64)
    first = tj.solve_exact(charge, 150, store_states=True, checkpoints=[0, 150])
    second = tj.solve_exact(discharge, 80, initial_state=first.states[-1])
    p = tj.solve_exact(tj.Protocol([tj.Stage(charge, 150), tj.Stage(discharge, 80)]))
    assert np.array_equal(p.energy[150:], second.energy)
    assert np.array_equal(p.purity[150:], second.purity)
    assert np.all(p.stage[:151] == 0) and np.all(p.stage[151:] == 1)
    # the books carry on: stage 2's increments are the second run's books
    d_qubits = p.energy_from_qubits[150:] - p.energy_from_qubits[150]
    assert np.abs(d_qubits - second.energy_from_qubits).max() < 1e-12


def test_storage_is_loss_only_and_ground_state_qubits_deliver_nothing_from_vacuum():
    model = tj.Micromaser(**FIG5, cutoff=40)
    store = model.replace(theta=0.0)
    p = tj.solve_exact(tj.Protocol([tj.Stage(model, 100), tj.Stage(store, 60)]), store_states=True)
    # storage: the qubits exchange nothing, the loss acts alone
    assert np.abs(p.energy_from_qubits[100:] - p.energy_from_qubits[100]).max() < 1e-12
    from trajectories.channels.loss import LossChannel

    loss = LossChannel(model)
    rho = p.states[100]
    for _ in range(60):
        rho = loss.apply_dm(rho)[0]
    assert np.abs(rho - p.states[-1]).max() < 1e-13
    # ground-state qubits on the vacuum at zero temperature: exactly nothing happens
    cold = tj.Micromaser(theta=0.64, q=1.0, c=0.0, gamma_tr=0.1, nbar=0.0, cutoff=20)
    r = tj.solve_exact(cold, 50)
    assert np.all(r.energy == 0.0) and np.all(r.energy_from_qubits == 0.0)


def test_a_stage_with_its_own_state_books_the_reset():
    model = tj.Micromaser(**FIG5, cutoff=30)
    fock = tj.fock_state(5, 30)
    p = tj.solve_exact(
        tj.Protocol([tj.Stage(model, 50), tj.Stage(model.replace(q=1.0, c=0.0), 30, fock)])
    )
    jump = p.energy_from_resets[51] - p.energy_from_resets[50]
    assert abs(jump - (5.0 - p.energy[50])) < 1e-12
    books = p.energy_from_qubits + p.switching_work + p.energy_from_bath + p.energy_from_resets
    assert np.abs(p.energy - p.energy[0] - books).max() < 1e-12


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda m: tj.Protocol([]), "at least one stage"),
        (lambda m: tj.Protocol([tj.Stage(m, 0)]), "collisions must be an integer >= 1, got 0"),
        (
            lambda m: tj.Protocol([(m, 10), (m.replace(cutoff=20), 5)]),
            r"stage 1 \(stage 1\) has cutoff=20",
        ),
        (lambda m: tj.Protocol([(m, 10), (m, -1)]), "stage 1: collisions must be"),
        (lambda m: tj.Protocol([(m, 10), "stage"]), "stage 1 must be a trajectories.Stage"),
        (lambda m: tj.Stage(m, 10, initial_state=np.ones(7) / 7**0.5), "initial_state"),
        (
            lambda m: tj.solve_exact(tj.Protocol([(m, 10)]), 11),
            "n_collisions must be the protocol's 10",
        ),
        (lambda m: tj.solve_exact(m), "n_collisions is required"),
    ],
)
def test_bad_protocols_fail_before_any_work_with_one_line(make, match):
    model = tj.Micromaser(**FIG5, cutoff=30)
    with pytest.raises(ValueError, match=match) as info:
        make(model)
    assert "\n" not in str(info.value)
