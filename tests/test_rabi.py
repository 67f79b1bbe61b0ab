"""The Rabi collision (issue 8): integrators, Jaynes-Cummings limit, modulation, symmetries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as la
from helpers import assert_agrees_with_exact, random_density_matrix
from scipy.integrate import solve_ivp

import trajectories as tj
from trajectories.channels import rabi_unitary as cr
from trajectories.channels.collisions import collision_channel
from trajectories.channels.rabi import RabiCollisions
from trajectories.model.interactions import JaynesCummings, Modulation, Rabi, phase_schedule

THETA = tj.fine_tuned_theta(15)


def rabi_model(g=0.3, mod=None, c=1.0, n=12, q=0.25, omega_tr=None, **kw):
    col = Rabi(g, modulation=mod, omega_tr=omega_tr)
    return tj.Micromaser(theta=THETA, q=q, c=c, cutoff=n, collision=col, **kw)


def trace_norm(x):
    return float(np.sum(np.abs(np.linalg.eigvalsh(0.5 * (x + x.conj().T)))))


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Rabi(0.0), "g_over_omega"),
        (lambda: Rabi(-0.1), "g_over_omega"),
        (lambda: Rabi(5.0), "g_over_omega"),
        (lambda: Rabi(0.1, omega_tr=-1.0), "omega_tr"),
        (lambda: Rabi(0.1, extra_levels=1), "extra_levels"),
        (lambda: Rabi(0.1, modulation="fast"), "modulation"),
        (lambda: Modulation(eta=-0.5, nu_over_omega=10), "eta"),
        (lambda: Modulation(eta=1.0, nu_over_omega=0.0), "nu_over_omega"),
        (lambda: tj.Micromaser(theta=1, q=0.2, collision="rabi"), "collision"),
        (lambda: rabi_model(g=0.1, omega_tr=5.0), "omega_tr"),  # tau = 8.1 > t_r
    ],
)
def test_bad_input_names_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_default_is_jaynes_cummings_and_files_keep_their_keys():
    m = tj.Micromaser(theta=0.5, q=0.2, c=0.3j)
    assert m.collision == JaynesCummings() and m.is_jaynes_cummings
    assert list(m.to_dict()) == ["theta", "q", "c_real", "c_imag", "gamma_tr", "nbar", "cutoff"]
    r = rabi_model(mod=Modulation.suppressing(20.0), omega_tr=7.0)
    assert tj.Micromaser.from_dict(r.to_dict()) == r


# ----------------------------------------------------------------------- integrators
def brute_force_unitary(model, levels, t0=0.0):
    """Dense time-ordered exponential on the full qubit x cavity space (no sectors)."""
    col = model.collision
    g, tau = col.g_over_omega, col.duration(model.theta)
    eta, nu = (col.modulation.eta, col.modulation.nu_over_omega) if col.modulation else (0, 1)
    a = np.diag(np.sqrt(np.arange(1.0, levels)), 1)
    sp = np.array([[0.0, 1.0], [0.0, 0.0]])  # |e><g| in the basis (e, g)
    rot = np.kron(sp, a) + np.kron(sp.T, a.T)
    b = np.kron(sp, a.T)

    def rhs(t, y):
        ph = 2 * t + 2 * eta * math.sin(nu * t)
        h = g * (rot + np.exp(1j * ph) * b + np.exp(-1j * ph) * b.T)
        return (-1j * h @ y.reshape(2 * levels, -1)).ravel()

    y0 = np.eye(2 * levels, dtype=complex).ravel()
    sol = solve_ivp(rhs, (t0, t0 + tau), y0, method="DOP853", rtol=1e-13, atol=1e-13)
    return sol.y[:, -1].reshape(2 * levels, 2 * levels)


def lab_frame_unitary(model, levels):
    """The interaction-picture unitary from the *lab-frame* Hamiltonian of Eqs. 2 and 6,
    H(t) = omega(t) X + g (a + a^dag) sigma_x, U_I = exp(i Theta(tau) X) U_lab(tau): checks
    the derivation of phi(t) = 2 omega t + 2 eta sin(nu t) (X and a^dag a + sigma_z / 2
    differ by a constant: a global phase, removed below)."""
    col = model.collision
    g, tau = col.g_over_omega, col.duration(model.theta)
    eta, nu = col.modulation.eta, col.modulation.nu_over_omega
    a = np.diag(np.sqrt(np.arange(1.0, levels)), 1)
    sx = np.array([[0.0, 1.0], [1.0, 0.0]])
    x = np.diag(np.concatenate([np.arange(levels) + 1.0, np.arange(levels)]))
    coupling = g * np.kron(sx, a + a.T)

    def rhs(t, y):
        h = (1 + eta * nu * math.cos(nu * t)) * x + coupling
        return (-1j * h @ y.reshape(2 * levels, -1)).ravel()

    y0 = np.eye(2 * levels, dtype=complex).ravel()
    sol = solve_ivp(rhs, (0, tau), y0, method="DOP853", rtol=1e-13, atol=1e-13)
    u_lab = sol.y[:, -1].reshape(2 * levels, 2 * levels)
    big_theta = tau + eta * math.sin(nu * tau)
    return np.exp(1j * big_theta * np.diag(x))[:, None] * u_lab


def test_interaction_picture_matches_the_lab_frame():
    m = rabi_model(g=0.4, mod=Modulation(0.9, 5.0), n=6)
    levels = 16
    mine = cr.rabi_unitary(m, levels=levels).u
    lab = lab_frame_unitary(m, levels)
    assert np.max(np.abs(mine - lab)) < 1e-9


@pytest.mark.parametrize("mod", [None, Modulation.suppressing(10.0)])
def test_integrators_agree_on_the_unitary(mod):
    m = rabi_model(g=0.3, mod=mod, n=10)
    levels = 24
    methods = ["rk", "magnus"] + (["eigen"] if mod is None else [])
    us = {k: cr.rabi_unitary(m, method=k, levels=levels).u for k in methods}
    us["brute"] = brute_force_unitary(m, levels)
    for k, u in us.items():
        assert np.max(np.abs(u.conj().T @ u - np.eye(2 * levels))) < 1e-11, k
        assert np.max(np.abs(u - us["rk"])) < 1e-10, k


def test_magnus_is_sixth_order():
    sec = cr.sectors(8)[0]
    phi = cr._phase_fn(1.2, 7.0, 0.3)
    ref = cr._magnus6(sec, 0.5, 1.0, phi, 512)
    e1 = np.max(np.abs(cr._magnus6(sec, 0.5, 1.0, phi, 16) - ref))
    e2 = np.max(np.abs(cr._magnus6(sec, 0.5, 1.0, phi, 32) - ref))
    assert 40 < e1 / e2 < 90  # 2^6 = 64


def test_collision_starting_later_is_a_phase_conjugation():
    """U(t0) = R_alpha W(beta) R_alpha^dag, against brute force started at t0."""
    t0 = 2.3
    m = rabi_model(g=0.4, mod=Modulation(1.0, 6.5), n=8, omega_tr=t0)
    ch = RabiCollisions(m)
    assert ch.period is None
    levels = ch.levels
    u_direct = brute_force_unitary(m, levels, t0=t0)
    rho = random_density_matrix(8, np.random.default_rng(3))
    # brute-force channel of collision 2 (starts at t0)
    big = np.zeros((levels, levels), dtype=complex)
    big[:8, :8] = rho
    rq = m.qubit_state
    out = u_direct @ np.kron(rq, big) @ u_direct.conj().T
    cav = out[:levels, :levels] + out[levels:, levels:]
    mine, leak = ch.at(2).apply_dm(rho)
    assert np.max(np.abs(mine - cav[:8, :8])) < 1e-10
    assert leak == pytest.approx(1 - np.trace(cav[:8, :8]).real, abs=1e-10)


def test_completeness_and_level_convergence():
    m = rabi_model(g=0.8, n=15)
    ch = RabiCollisions(m).at(1)
    total = sum(k.dense().conj().T @ k.dense() for k in ch.kraus) + ch.leak_matrix()
    assert np.max(np.abs(total - np.eye(15))) < 1e-12
    w1 = cr.rabi_unitary(m)
    w2 = cr.rabi_unitary(m, levels=w1.levels + 12)
    for o in "eg":
        for i in "eg":
            a, b = w1.block(o, i)[: w1.levels - 4, :15], w2.block(o, i)[: w1.levels - 4, :15]
            assert np.max(np.abs(a - b)) < 1e-11
    # the leak form is the weight above the cutoff
    psi = np.zeros(15, complex)
    psi[-1] = 1
    assert ch.leak_of(np.outer(psi, psi)) > 1e-3


def test_kraus_storage_drops_far_diagonals():
    """Weak coupling: far diagonals fall below 1e-15 and are not stored."""
    ch = RabiCollisions(rabi_model(g=0.01, n=30)).at(1)
    for k in ch.kraus:
        assert k.offsets.size < 2 * 30 - 1
        assert np.all(np.abs(k.values[k.values != 0]) >= 1e-15)


# ------------------------------------------------------------------ physics checks
def jc_deviation(g, n=12, rho=None):
    m = rabi_model(g=g, n=n)
    if rho is None:
        rho = np.zeros((n, n), complex)
        rho[5, 5] = 1.0
    a, _ = RabiCollisions(m).at(1).apply_dm(rho)
    b, _ = collision_channel(m.replace(collision=JaynesCummings())).apply_dm(rho)
    return trace_norm(a - b)


def test_jaynes_cummings_limit_envelope_is_first_order():
    """The deviation oscillates with g (through omega tau = theta / g); its envelope, the
    maximum over each of 5 log-spaced windows, falls like (g/omega)^1 (module docstring)."""
    gs = np.geomspace(1e-3, 3e-2, 60)
    dev = np.array([jc_deviation(g) for g in gs])
    windows = np.array_split(np.arange(gs.size), 5)
    top = [w[np.argmax(dev[w])] for w in windows]
    slope = np.polyfit(np.log(gs[top]), np.log(dev[top]), 1)[0]
    assert 0.85 < slope < 1.15, slope
    assert dev.max() < 0.2 and np.all(dev > 0)


def test_modulation_restores_jaynes_cummings_at_g_03():
    n, g = 20, 0.3
    rng = np.random.default_rng(7)
    rho = np.zeros((n, n), complex)
    rho[:15, :15] = random_density_matrix(15, rng)  # the fine-tuned cavity lives below 15
    mod = Modulation.suppressing(40.0)
    dev_mod = jc_deviation_model(rabi_model(g=g, mod=mod, n=n), rho)
    dev_bare = jc_deviation_model(rabi_model(g=g, n=n), rho)
    d1, d2 = cr.modulation_residual(g, THETA, 14, mod.eta, mod.nu_over_omega)
    assert dev_mod <= 2 * (d1 + d2)  # ||U rho U^+ - V rho V^+||_1 <= 2 ||U - V||
    assert dev_bare > 10 * dev_mod and dev_bare > 0.3


def jc_deviation_model(m, rho):
    a, _ = RabiCollisions(m).at(1).apply_dm(rho)
    b, _ = collision_channel(m.replace(collision=JaynesCummings())).apply_dm(rho)
    return trace_norm(a - b)


@pytest.mark.parametrize(
    "mod, omega_tr",
    [(None, None), (Modulation.suppressing(10.0), None), (Modulation(0.7, 5.3), 9.1)],
)
def test_parity_maps_c_to_minus_c(mod, omega_tr):
    n = 12
    rng = np.random.default_rng(11)
    rho = random_density_matrix(n, rng)
    par = np.diag((-1.0) ** np.arange(n))
    c = 0.6 * np.exp(0.4j)
    plus = RabiCollisions(rabi_model(mod=mod, c=c, n=n, omega_tr=omega_tr))
    minus = RabiCollisions(rabi_model(mod=mod, c=-c, n=n, omega_tr=omega_tr))
    for k in (1, 2):
        lhs, leak_l = minus.at(k).apply_dm(rho)
        rhs, leak_r = plus.at(k).apply_dm(par @ rho @ par)
        assert np.max(np.abs(lhs - par @ rhs @ par)) < 1e-13
        assert leak_l == pytest.approx(leak_r, abs=1e-15)


def test_phase_of_c_matters_for_rabi_not_for_jaynes_cummings():
    def energy(m):
        return tj.solve_exact(m, 10, checkpoints=[10]).energy[-1]

    rabi = [energy(rabi_model(g=0.2, c=c, n=50)) for c in (1.0, 1j)]
    jc = [energy(rabi_model(g=0.2, c=c, n=50).replace(collision=JaynesCummings())) for c in (1, 1j)]
    assert abs(rabi[0] - rabi[1]) > 0.05
    assert abs(jc[0] - jc[1]) < 1e-10


def test_phase_schedules():
    assert phase_schedule(Rabi(0.1)) == (1, 0.0, 0.0)
    assert phase_schedule(Rabi(0.1, omega_tr=math.pi))[0] == 1  # 2 omega t_r = 2 pi
    assert phase_schedule(Rabi(0.1, omega_tr=math.pi / 2))[0] == 2
    assert phase_schedule(Rabi(0.1, omega_tr=1.0))[0] is None
    mod = Modulation(1.0, 3.0)
    assert phase_schedule(Rabi(0.1, mod, omega_tr=math.pi))[0] == 2  # nu t_r = 3 pi


def test_exact_solver_follows_the_collision_sequence():
    """solve_exact with a period-2 schedule equals alternating the two channels by hand."""
    m = rabi_model(g=0.8, n=14, omega_tr=math.pi / 2, gamma_tr=0.05, nbar=0.1)
    ch = RabiCollisions(m)
    loss = tj.ExactPropagator(m.replace(collision=JaynesCummings())).loss
    rho = tj.as_density_matrix(None, 14)
    for k in range(1, 7):
        rho, _ = ch.at(k).apply_dm(rho)
        rho, _ = loss.apply_dm(rho)
    r = tj.solve_exact(m, 6, checkpoints=[6], store_states=True, leakage_tol=1.0)
    assert np.max(np.abs(r.states[-1] - rho)) < 1e-14
    assert ch.at(1) is ch.at(3) and ch.at(1) is not ch.at(2)


def test_counter_rotating_leakage_is_reported():
    m = rabi_model(g=1.0, n=8, q=0.0)
    with pytest.raises(tj.TruncationError, match="counter-rotating"):
        tj.solve_exact(m, 200, leakage_tol=1e-6)


def test_steady_state_of_a_rabi_model_matches_long_evolution():
    m = rabi_model(g=0.1, n=40, gamma_tr=0.1, nbar=0.15)
    s = tj.steady_state(m)
    r = tj.solve_exact(m, 1500, checkpoints=[1500])
    assert s.energy == pytest.approx(r.energy[-1], abs=1e-8)
    assert s.purity == pytest.approx(r.purity[-1], abs=1e-8)


def test_save_and_load_keep_the_collision(tmp_path):
    m = rabi_model(mod=Modulation.suppressing(12.0), n=10)
    r = tj.solve_exact(m, 5)
    path = tj.save(tmp_path / "rabi.h5", exact=r)
    back = tj.load(path)
    assert back.model == m
    np.testing.assert_array_equal(back.exact.energy, r.energy)


def test_unmodulated_unitary_is_independent_of_beta():
    m = rabi_model(n=8)
    a = cr.rabi_unitary(m, beta=0.0, levels=20).u
    b = cr.rabi_unitary(m, beta=1.3, levels=20).u
    assert np.array_equal(a, b)
    assert la.norm(a) > 0


# ---------------------------------------------------------------------- trajectories
@pytest.mark.parametrize(
    "col, n, k, extra",
    [
        (Rabi(0.15), 30, 60, dict(c=0.7 * np.exp(0.5j), gamma_tr=0.1, nbar=0.15)),
        # period-2 schedule: nu t_r = 9 pi
        (Rabi(0.5, Modulation.suppressing(9.0), omega_tr=math.pi), 24, 30, dict(gamma_tr=0.05)),
        # every collision its own phase (omega t_r = 4 is not a rational multiple of pi)
        (Rabi(0.3, omega_tr=4.0), 40, 20, dict(q=0.5, c=0.0, gamma_tr=0.2, nbar=0.3)),
    ],
)
def test_trajectories_agree_with_the_exact_solver(col, n, k, extra):
    """|estimate - exact| <= 5 se + 1e-9 for energy, purity, Fano and ergotropy, with error
    bars no larger than the exact solution allows."""
    kw = dict(theta=THETA, q=0.25, c=1.0, cutoff=n, collision=col)
    kw.update(extra)
    m = tj.Micromaser(**kw)
    ks = np.linspace(0, k, 7).astype(int)
    ex = tj.solve_exact(m, k, checkpoints=ks, leakage_tol=1e-6, store_states=True)
    ens = tj.simulate(
        m, k, 4000, seed=21, n_jobs=1, chunk_size=100, checkpoints=ks, leakage_tol=1e-6
    )
    assert_agrees_with_exact(ens, ex)  # within 5 se, error bars bounded, trace = 1 - leak


# ------------------------------------------------------------------------ run files
def test_run_file_describes_a_rabi_collision():
    from trajectories.runs.runfile import apply_overrides, parse_run_dict

    model = {"collision": "rabi", "g_over_omega": [0.1, 0.2], "eta": "suppress"}
    model |= {"nu_over_omega": 20, "omega_tr": "4*pi", "cutoff": 20}
    points = parse_run_dict({"model": model, "run": {"collisions": 5}})
    assert [p.model.collision for p in points] == [
        Rabi(g, Modulation.suppressing(20.0), omega_tr=4 * math.pi) for g in (0.1, 0.2)
    ]
    again = apply_overrides(points, trajectories=10)
    assert [p.model for p in again] == [p.model for p in points]


@pytest.mark.parametrize(
    "model, key",
    [
        ({"g_over_omega": 0.1}, "model.g_over_omega"),  # without collision = 'rabi'
        ({"collision": "rabi"}, "model.g_over_omega"),
        ({"collision": "rabi", "g_over_omega": 0.0}, "model.g_over_omega"),
        ({"collision": "rabi", "g_over_omega": 0.1, "eta": 1.0}, "model.nu_over_omega"),
        ({"collision": "rabbi", "g_over_omega": 0.1}, "model.collision"),
    ],
)
def test_run_file_collision_errors_name_the_key(model, key):
    from trajectories.runs.runfile import RunFileError, parse_run_dict

    with pytest.raises(RunFileError, match=key.replace(".", r"\.")):
        parse_run_dict({"model": model})


def test_modulated_dynamics_stays_within_the_telescoped_bound():
    """Over k collisions (nbar = 0, so the Jaynes-Cummings states stay on levels <= 14),
    rho_mod(k) - rho_JC(k) = sum_j T_mod^(k-1-j) (T_mod - T_JC) rho_JC(j): the trace norm
    is at most k * 2 (delta_1 + delta_2). Without modulation it is visibly larger."""
    n, g, k = 18, 0.3, 8
    mod = Modulation.suppressing(100.0)
    d1, d2 = cr.modulation_residual(g, THETA, 14, mod.eta, mod.nu_over_omega)
    bound = k * 2 * (d1 + d2)
    assert bound < 1.0  # the bound says something

    def state(m):
        r = tj.solve_exact(m, k, checkpoints=[k], store_states=True, leakage_tol=math.inf)
        return r.states[-1]

    jc = state(rabi_model(g=g, n=n, gamma_tr=0.1).replace(collision=JaynesCummings()))
    dist_mod = trace_norm(state(rabi_model(g=g, mod=mod, n=n, gamma_tr=0.1)) - jc)
    dist_bare = trace_norm(state(rabi_model(g=g, n=n, gamma_tr=0.1)) - jc)
    assert dist_mod <= bound
    assert dist_bare > 10 * dist_mod and dist_bare > 0.5
