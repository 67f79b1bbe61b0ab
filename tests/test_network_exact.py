"""Networks of two cavities, exact solver: against an independent dense construction on
A x B x qubit, the single-battery limit, the A <-> B symmetry and the bright/dark modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import trajectories as tj
from trajectories.channels.arrivals import averaged_exp

# ----------------------------------------------------------------- dense reference
# Everything below is built from scratch with dense matrices on enlarged spaces, sharing
# nothing with the package's shell blocks, strided loss or bipartite observables.


def _enlarged(net: tj.Network) -> int:
    """Levels per cavity so that every shell reachable from the kept space is complete."""
    return net.cutoff[0] + net.cutoff[1] + 1


def _kept(net: tj.Network, big: int) -> np.ndarray:
    na, nb = net.cutoff
    return np.array([a * big + b for a in range(na) for b in range(nb)])


def _dense_hamiltonians(net: tj.Network):
    big = _enlarged(net)
    a = np.diag(np.sqrt(np.arange(1.0, big)), 1)
    one = np.eye(big)
    sp = np.array([[0.0, 1.0], [0.0, 0.0]])  # |e><g|, qubit basis (e, g)
    A = np.kron(np.kron(a, one), np.eye(2))
    B = np.kron(np.kron(one, a), np.eye(2))
    S = np.kron(np.eye(big * big), sp)
    ta, tb = net.theta
    ha = ta * (A @ S + A.T @ S.T)
    hb = tb * (B @ S + B.T @ S.T)
    if net.topology == "simultaneous":
        return [np.linalg.eigh(ha + hb)]
    return [np.linalg.eigh(ha), np.linalg.eigh(hb)]  # U = U_B U_A


def _dense_collision(net: tj.Network, theta_scale: float = 1.0, eig=None):
    """The collision channel from dense unitaries, exp(-i x H) by eigendecomposition."""
    big = _enlarged(net)
    u = np.eye(2 * big * big, dtype=complex)
    for w, v in eig or _dense_hamiltonians(net):
        u = (v * np.exp(-1j * theta_scale * w)) @ v.conj().T @ u
    kept = _kept(net, big)

    def apply(rho):
        full = np.zeros((big * big, big * big), dtype=complex)
        full[np.ix_(kept, kept)] = rho
        out = u @ np.kron(full, net.qubit_state) @ u.conj().T
        out = out.reshape(big * big, 2, big * big, 2).trace(axis1=1, axis2=3)
        return out[np.ix_(kept, kept)]

    return apply


def _dense_loss(net: tj.Network):
    """exp of the two-cavity Lindbladian restricted to the kept levels (weight leaving = leak)."""
    big = max(net.cutoff) + 1
    a = np.diag(np.sqrt(np.arange(1.0, big)), 1)
    one = np.eye(big)
    A, B = np.kron(a, one), np.kron(one, a)
    (ga, gb), (na, nb) = net.gamma_tr, net.nbar
    jumps = [
        math.sqrt(ga * (na + 1)) * A, math.sqrt(ga * na) * A.T,
        math.sqrt(gb * (nb + 1)) * B, math.sqrt(gb * nb) * B.T,
    ]  # fmt: skip
    d = big * big
    eye = np.eye(d)
    gen = np.zeros((d * d, d * d))
    for j in jumps:
        jj = j.T @ j
        gen += np.kron(j, j) - 0.5 * np.kron(jj, eye) - 0.5 * np.kron(eye, jj.T)
    kept = np.array([a_ * big + b_ for a_ in range(net.cutoff[0]) for b_ in range(net.cutoff[1])])
    pairs = (kept[:, None] * d + kept[None, :]).reshape(-1)
    prop = averaged_exp(gen[np.ix_(pairs, pairs)], net.arrivals)

    def apply(rho):
        return (prop @ rho.reshape(-1)).reshape(rho.shape)

    return apply


def _dense_observables(rho, cutoff):
    na, nb = cutoff
    r4 = rho.reshape(na, nb, na, nb)
    ra = np.trace(r4, axis1=1, axis2=3)
    rb = np.trace(r4, axis1=0, axis2=2)
    ea = float(np.real(np.trace(ra @ np.diag(np.arange(na)))))
    eb = float(np.real(np.trace(rb @ np.diag(np.arange(nb)))))
    h = np.kron(np.diag(np.arange(na)), np.eye(nb)) + np.kron(np.eye(na), np.diag(np.arange(nb)))
    w = np.sort(np.linalg.eigvalsh(rho))[::-1]
    levels = np.sort(np.diag(h))
    pt = r4.transpose(0, 3, 2, 1).reshape(na * nb, na * nb)

    def ent(x):
        v = np.linalg.eigvalsh(x)
        v = v[v > 1e-300]
        return float(-np.sum(v * np.log(v)))

    def ergo(x, lv):
        v = np.sort(np.linalg.eigvalsh(x))[::-1]
        return float(np.real(np.trace(x @ np.diag(lv)))) - float(v @ np.sort(lv))

    return {
        "energy": (ea, eb),
        "purity": float(np.real(np.trace(rho @ rho))),
        "ergotropy": ea + eb - float(w @ levels),
        "local_ergotropy": (ergo(ra, np.arange(na)), ergo(rb, np.arange(nb))),
        "log_negativity": float(np.log(np.sum(np.abs(np.linalg.eigvalsh(pt))))),
        "mutual_information": ent(ra) + ent(rb) - ent(rho),
    }


def _dense_run(net, n, rho0=None):
    col, loss = _dense_collision(net), _dense_loss(net)
    d = net.dimension
    rho = np.zeros((d, d), dtype=complex) if rho0 is None else rho0.astype(complex)
    if rho0 is None:
        rho[0, 0] = 1.0
    out = [rho]
    for _ in range(n):
        rho = loss(col(rho))
        out.append(rho)
    return out


CASES = [
    dict(topology="series", c=0.6 - 0.5j, nbar=(0.2, 0.05)),
    dict(topology="simultaneous", c=0.6 - 0.5j, nbar=(0.2, 0.05)),
    dict(topology="series", c=0.0, nbar=0.1),
    dict(topology="simultaneous", c=1j, nbar=(0.0, 0.3)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['topology']}-c={c['c']}")
def test_against_dense_construction(case):
    net = tj.Network(theta=(0.9, 0.55), q=0.35, gamma_tr=(0.15, 0.3), cutoff=(4, 3), **case)
    n = 6
    states = _dense_run(net, n)
    r = tj.solve_exact(net, n, checkpoints=range(n + 1), leakage_tol=math.inf, store_states=True)
    for k in range(n + 1):
        ref = _dense_observables(states[k], net.cutoff)
        assert np.abs(r.states[k] - states[k]).max() < 1e-12
        assert np.allclose(r.energy[k], ref["energy"], atol=1e-10, rtol=0)
        assert abs(r.purity[k] - ref["purity"]) < 1e-10
        assert abs(r.ergotropy[k] - ref["ergotropy"]) < 1e-10
        assert np.allclose(r.local_ergotropy[k], ref["local_ergotropy"], atol=1e-10, rtol=0)
        assert abs(r.log_negativity[k] - ref["log_negativity"]) < 1e-10
        assert abs(r.mutual_information[k] - ref["mutual_information"]) < 1e-10
    # the small cutoffs leak: the reference loses the same weight
    assert abs(r.trace[-1] - np.trace(states[-1]).real) < 1e-12
    assert r.leakage[-1] > 1e-6
    # entanglement is generated (the test would not see a wrong partial transpose otherwise)
    assert r.log_negativity.max() > 1e-3


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
def test_complex_initial_state_against_dense(topology):
    """A state that no gauge makes real takes the complex path."""
    net = tj.Network(
        theta=(0.9, 0.55), q=0.35, c=0.6 - 0.5j, gamma_tr=(0.15, 0.3), nbar=(0.2, 0.05),
        cutoff=(4, 3), topology=topology,
    )  # fmt: skip
    rng = np.random.default_rng(5)
    psi = rng.normal(size=12) + 1j * rng.normal(size=12)
    psi /= np.linalg.norm(psi)
    rho0 = np.outer(psi, psi.conj())
    states = _dense_run(net, 4, rho0)
    r = tj.solve_exact(
        net, 4, initial_state=psi, checkpoints=range(5), leakage_tol=math.inf, store_states=True
    )
    for k in range(5):
        assert np.abs(r.states[k] - states[k]).max() < 1e-12
        ref = _dense_observables(states[k], net.cutoff)
        assert abs(r.log_negativity[k] - ref["log_negativity"]) < 1e-10
        assert abs(r.ergotropy[k] - ref["ergotropy"]) < 1e-10


@pytest.mark.parametrize(
    "arrivals", [tj.Arrivals.poisson(), tj.Arrivals.bernoulli(0.4)], ids=["poisson", "bern"]
)
def test_random_arrivals_against_dense(arrivals):
    net = tj.Network(
        theta=(0.9, 0.55), q=0.35, c=0.5, gamma_tr=(0.15, 0.3), nbar=(0.2, 0.05),
        cutoff=(3, 4), topology="simultaneous", arrivals=arrivals,
    )  # fmt: skip
    states = _dense_run(net, 4)
    r = tj.solve_exact(net, 4, checkpoints=[4], leakage_tol=math.inf, store_states=True)
    assert np.abs(r.states[-1] - states[-1]).max() < 1e-12


def test_discrete_theta_spread_is_the_mixture():
    base = dict(q=0.3, c=0.7, gamma_tr=0.1, nbar=0.1, cutoff=(4, 4), topology="simultaneous")
    spread = tj.ThetaSpread.discrete([0.8, 1.3], [0.25, 0.75])
    net = tj.Network(theta=(0.9, 0.5), theta_spread=spread, **base)
    col_lo = _dense_collision(net, 0.8)
    col_hi = _dense_collision(net, 1.3)
    loss = _dense_loss(net)
    rho = np.zeros((16, 16), dtype=complex)
    rho[0, 0] = 1
    for _ in range(3):
        rho = loss(0.25 * col_lo(rho) + 0.75 * col_hi(rho))
    r = tj.solve_exact(net, 3, checkpoints=[3], leakage_tol=math.inf, store_states=True)
    assert np.abs(r.states[-1] - rho).max() < 1e-12


def test_gaussian_spread_converges_to_the_integral():
    """The quadrature average equals a brute-force fine trapezoid integral over x."""
    net = tj.Network(
        theta=(0.9, 0.5), q=0.3, c=0.7, cutoff=(3, 3), topology="series",
        theta_spread=tj.ThetaSpread.gaussian(0.1),
    )  # fmt: skip
    x = np.linspace(1 - 0.9, 1 + 0.9, 181)  # +-9 sigma, the support; h = 0.1 sigma
    c = net.theta_spread.density(x) * (x[1] - x[0])
    c[[0, -1]] *= 0.5  # trapezoid (the ends carry ~1e-18)
    c /= c.sum()
    rho = np.zeros((9, 9), dtype=complex)
    rho[0, 0] = 1
    eig = _dense_hamiltonians(net)
    ref = sum(ci * _dense_collision(net, xi, eig)(rho) for xi, ci in zip(x, c, strict=True))
    r = tj.solve_exact(net, 1, checkpoints=[1], leakage_tol=math.inf, store_states=True)
    assert np.abs(r.states[-1] - ref).max() < 1e-12  # trapezoid: exponential convergence


# ----------------------------------------------------------------- physical limits


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
def test_theta_b_zero_is_the_single_battery(topology):
    net = tj.Network(
        theta=(0.5, 0.0), q=0.6, c=0.7 + 0.2j, gamma_tr=(0.1, 0.2), nbar=(0.15, 0.05),
        cutoff=(30, 20), topology=topology,
    )  # fmt: skip
    n = 40
    r = tj.solve_exact(net, n, checkpoints=range(n + 1))
    single = tj.solve_exact(net.cavity(0), n)
    assert np.abs(r.energy[:, 0] - single.energy).max() < 1e-12
    assert np.abs(r.local_purity[:, 0] - single.purity).max() < 1e-12
    assert np.abs(r.local_ergotropy[:, 0] - single.ergotropy).max() < 1e-12
    # B sees loss only: a thermalising vacuum (detailed balance, no drive)
    b = tj.solve_exact(net.cavity(1).replace(theta=0.0), n)
    assert np.abs(r.energy[:, 1] - b.energy).max() < 1e-12
    assert r.energy[-1, 1] > 0  # heated by its bath, nbar = 0.05
    assert np.abs(r.log_negativity).max() < 1e-10  # a product state stays one
    assert np.abs(r.mutual_information).max() < 1e-10


def _swap(rho, n):
    return rho.reshape(n, n, n, n).transpose(1, 0, 3, 2).reshape(n * n, n * n)


def test_simultaneous_swap_symmetry():
    kw = dict(q=0.3, c=0.8j, cutoff=(8, 8), topology="simultaneous")
    net = tj.Network(theta=(0.7, 0.4), gamma_tr=(0.05, 0.2), nbar=(0.1, 0.3), **kw)
    swapped = tj.Network(theta=(0.4, 0.7), gamma_tr=(0.2, 0.05), nbar=(0.3, 0.1), **kw)
    r = tj.solve_exact(net, 8, checkpoints=[8], store_states=True, leakage_tol=math.inf)
    s = tj.solve_exact(swapped, 8, checkpoints=[8], store_states=True, leakage_tol=math.inf)
    assert np.abs(_swap(r.states[-1], 8) - s.states[-1]).max() < 1e-13
    # with theta_A = theta_B and equal baths the state itself is symmetric
    sym = tj.Network(theta=(0.6, 0.6), gamma_tr=0.1, nbar=0.2, **kw)
    x = tj.solve_exact(sym, 8, checkpoints=[8], store_states=True, leakage_tol=math.inf)
    assert np.abs(_swap(x.states[-1], 8) - x.states[-1]).max() < 1e-13
    assert abs(x.energy[-1, 0] - x.energy[-1, 1]) < 1e-13


def test_series_is_not_symmetric():
    """The first cavity a qubit meets is not equivalent to the second (a check with teeth)."""
    net = tj.Network(theta=(0.6, 0.6), q=0.0, cutoff=(8, 8), topology="series")
    r = tj.solve_exact(net, 3, checkpoints=[3], leakage_tol=math.inf)
    assert abs(r.energy[-1, 0] - r.energy[-1, 1]) > 1e-2


@pytest.mark.parametrize("c", [0.0, 1.0, 0.5j])
def test_bright_mode_is_one_cavity_at_theta_sqrt2(c):
    """theta_A = theta_B: only (a + b)/sqrt 2 couples, with strength theta sqrt 2; the dark
    mode (a - b)/sqrt 2 only feels its bath (equal baths act on both modes alike): from
    vacuum it warms as nbar (1 - exp(-gamma k))."""
    theta = 0.45
    net = tj.Network(
        theta=(theta, theta), q=0.4, c=c, gamma_tr=0.1, nbar=0.05, cutoff=(22, 22),
        topology="simultaneous",
    )  # fmt: skip
    n = 25
    r = tj.solve_exact(net, n, checkpoints=range(n + 1), store_states=True)
    bright = tj.Micromaser(theta=theta * math.sqrt(2), q=0.4, c=c, gamma_tr=0.1, nbar=0.05,
                           cutoff=40)  # fmt: skip
    single = tj.solve_exact(bright, n)
    k = np.arange(n + 1)
    dark_energy = 0.05 * (1.0 - np.exp(-0.1 * k))
    assert np.abs(r.total_energy - single.energy - dark_energy).max() < 1e-10
    na = 22
    a = np.kron(np.diag(np.sqrt(np.arange(1.0, na)), 1), np.eye(na))
    b = np.kron(np.eye(na), np.diag(np.sqrt(np.arange(1.0, na)), 1))
    dark = (a - b) / math.sqrt(2)
    nd = dark.conj().T @ dark
    for rho, e in zip(r.states, dark_energy, strict=True):
        assert abs(np.trace(rho @ nd) - e) < 1e-10


def test_books_close_and_global_ergotropy_bounds_local():
    net = tj.Network(
        theta=(0.8, 0.6), q=0.5, c=0.9, gamma_tr=(0.1, 0.15), nbar=0.05, cutoff=(20, 20),
        topology="series",
    )  # fmt: skip
    r = tj.solve_exact(net, 60)
    closed = r.energy[0] + r.energy_from_collisions + r.energy_from_bath
    assert np.abs(closed - r.energy).max() < 1e-12
    # excitation conservation: what the qubits lost went into the cavities (no leak here)
    assert r.total_leakage < 1e-10
    assert np.abs(r.energy_from_qubits - r.energy_from_collisions.sum(1)).max() < 1e-9
    assert np.all(r.collective_ergotropy >= -1e-12)
    assert np.all(r.ergotropy <= r.total_energy + 1e-12)
    assert r.collective_ergotropy.max() > 1e-3


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cutoff=20), "cutoff must be a pair"),
        (dict(cutoff=(20, 20, 20)), "cutoff must be one value or a pair"),
        (dict(theta=0.8), "theta must be a pair"),
        (dict(theta=(0.8,)), "theta must be one value or a pair"),
        (dict(topology="ring"), "topology must be one of"),
        (dict(gamma_tr=(0.1, -0.1)), r"gamma_tr\[1\]"),
        (dict(nbar=(0.1, 0.2, 0.3)), "nbar must be one value or a pair"),
        (dict(cutoff=(1, 20)), r"cutoff\[0\]"),
        (dict(cutoff=(100, 100)), "N_A \\* N_B"),
        (dict(q=1.5), "q must be"),
    ],
)
def test_bad_input_one_line(kwargs, match):
    base = dict(theta=(0.8, 0.8), q=0.25, cutoff=(10, 10))
    base.update(kwargs)
    with pytest.raises(ValueError, match=match) as err:
        tj.Network(**base)
    assert "\n" not in str(err.value)


def test_solver_arguments_checked_before_work():
    net = tj.Network(theta=(0.8, 0.8), q=0.25, cutoff=(4, 4))
    with pytest.raises(ValueError, match="n_collisions"):
        tj.solve_exact(net, -1)
    with pytest.raises(ValueError, match="checkpoints"):
        tj.solve_exact(net, 5, checkpoints=[3, 2])
    with pytest.raises(ValueError, match="method"):
        tj.solve_exact(net, 5, method="populations")
    with pytest.raises(ValueError, match="initial_state"):
        tj.solve_exact(net, 5, initial_state=np.ones(5))


def test_round_trip_dict():
    net = tj.Network(
        theta=(0.8, 0.3), q=0.25, c=0.2 - 0.1j, gamma_tr=(0.1, 0.0), nbar=0.3,
        cutoff=(12, 7), topology="simultaneous", arrivals="poisson",
        theta_spread=tj.ThetaSpread.uniform(0.1),
    )  # fmt: skip
    assert tj.Network.from_dict(net.to_dict()) == net
