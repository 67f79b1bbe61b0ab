"""Trajectories of a real beam: random arrivals and a theta spread (docs/MODEL.md, Sec. 9).

The trajectories draw each interval ``T`` and each qubit's theta from the distribution
itself (the beam stream); their average must be the exact channel averaged over ``T`` and
theta. The reference here is brute force and independent of the package's channels: the
dense ``N^2 x N^2`` Liouvillian (``helpers.dense_loss_generator``), averaged over ``T``
in closed form (Poisson: ``(1 - L)^-1``; Bernoulli: ``p E (1 - (1-p) E)^-1``,
``E = expm(p L)``), and the dense collision (``helpers.dense_collision``, on N + 1 levels)
averaged over theta (a discrete spread exactly; a continuous one by 96-point
Gauss-Legendre quadrature of its density, converged far below the statistical errors).
Fixed seeds; every check is |estimate - exact| <= 5 standard errors, a chi-square of the
sampled Fock numbers (p > 1e-3) or a KS test of the recorded theta (p > 1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    annihilation,
    dense_collision,
    dense_loss_generator,
    qubit_state,
    superop,
    unvec,
    vec,
)
from scipy import stats
from scipy.linalg import expm

import trajectories as tj

N = 14
K = 60
M = 3000
CHECKS = [0, 5, 10, 20, 40, 60]
pytestmark = pytest.mark.filterwarnings("ignore:only .* chunks for .* jackknife groups")


def averaged_loss(model: tj.Micromaser) -> np.ndarray:
    """E_T[exp(L T)] as an N^2 x N^2 matrix, brute force."""
    n = model.cutoff
    gen = dense_loss_generator(n, model.gamma_tr, model.nbar, leaky_top=True)
    one = np.eye(n * n)
    arr = model.arrivals
    if arr.kind == "regular":
        return expm(gen)
    if arr.kind == "poisson":
        return np.linalg.inv(one - gen)
    e = expm(arr.p * gen)
    return arr.p * e @ np.linalg.inv(one - (1.0 - arr.p) * e)


def dense_collision_superop(theta: float, q: float, c: complex, n: int) -> np.ndarray:
    """Tr_q[U (rho_q x rho) U^dag] as an N^2 x N^2 matrix: U = expm on N + 1 cavity levels
    (the extra level catches the weight the kept space loses), output kept on N levels."""
    big = n + 1
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)  # |e><g| in basis (e, g)
    u = expm(-1j * theta * (np.kron(sp, a) + np.kron(sp.conj().T, a.conj().T)))
    blocks = [[u[o * big : o * big + n, i * big : i * big + n] for i in range(2)] for o in range(2)]
    rq = qubit_state(q, c)
    out = np.zeros((n * n, n * n), dtype=complex)
    for o in range(2):
        for i in range(2):
            for j in range(2):
                if rq[i, j] != 0:
                    out += rq[i, j] * superop(blocks[o][i], blocks[o][j].conj().T)
    return out


def averaged_collision(model: tj.Micromaser) -> np.ndarray:
    """E_theta[Phi_theta] as an N^2 x N^2 matrix, brute force (dense unitaries)."""
    spread = model.theta_spread
    x, w = spread.nodes() if spread.is_discrete else spread.nodes(96)
    out = np.zeros((model.cutoff**2,) * 2, dtype=complex)
    for xv, wv in zip(x, w, strict=True):
        out += wv * dense_collision_superop(model.theta * xv, model.q, model.c, model.cutoff)
    return out


def test_dense_collision_superop_is_the_dense_collision():
    rng = np.random.default_rng(4)
    n = 6
    g = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    rho = g @ g.conj().T
    rho /= np.trace(rho)
    direct = dense_collision(rho, 0.9, 0.3, 0.4 + 0.2j)
    assert np.allclose(unvec(dense_collision_superop(0.9, 0.3, 0.4 + 0.2j, n) @ vec(rho), n),
                       direct, atol=1e-13)  # fmt: skip


def reference(model: tj.Micromaser, ks) -> dict[str, np.ndarray]:
    """Energy, purity, Fano factor and populations of rho(k) from the vacuum, brute force."""
    n = model.cutoff
    step = averaged_loss(model) @ averaged_collision(model)
    rho = np.zeros((n, n), dtype=complex)
    rho[0, 0] = 1.0
    v = vec(rho)
    out = {"energy": [], "purity": [], "fano": [], "populations": []}
    levels = np.arange(n)
    for k in range(max(ks) + 1):
        if k in ks:
            r = unvec(v, n)
            p = np.diagonal(r).real
            e, e2 = p @ levels, p @ levels**2
            out["energy"].append(e)
            out["purity"].append(np.vdot(r, r).real)
            out["fano"].append((e2 - e * e) / e if e > 0 else np.nan)
            out["populations"].append(p)
        v = step @ v
    return {key: np.array(val) for key, val in out.items()}


def run(model: tj.Micromaser, m: int = M, **kw) -> tj.EnsembleResult:
    kw = {"seed": 2026, "chunk_size": 150, "checkpoints": CHECKS, "progress": False,
          "leakage_tol": 1.0, **kw}  # fmt: skip
    return tj.simulate(model, K, m, **kw)


def z_scores(ens: tj.EnsembleResult, ref: dict[str, np.ndarray]) -> dict[str, float]:
    out = {}
    for name in ("energy", "purity", "fano"):
        est = getattr(ens, name)
        ok = est.stderr > 0
        z = np.abs(est.mean - ref[name])[ok] / est.stderr[ok]
        out[name] = float(z.max()) if z.size else 0.0
    return out


def fock_chi2_pvalue(ens: tj.EnsembleResult, ref: dict[str, np.ndarray], c: int) -> float:
    """Chi-square of the sampled Fock numbers at checkpoint ``c`` against exact P(n)."""
    fock = ens.per_trajectory.fock[:, c]
    p = ref["populations"][c]
    p = p / p.sum()
    counts = np.bincount(fock[fock >= 0], minlength=p.size)
    expected = p * counts.sum()
    # pool the levels with fewer than 5 expected counts into one bin
    small = expected < 5
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue)


BASE = dict(theta=1.1, q=0.3, gamma_tr=0.3, nbar=0.2, cutoff=N)
CASES = {
    "poisson_c0": dict(c=0.0, arrivals=tj.Arrivals.poisson()),
    "poisson_c1": dict(c=1.0, arrivals=tj.Arrivals.poisson()),
    "bernoulli_0.3": dict(c=0.5, arrivals=tj.Arrivals.bernoulli(0.3)),
    "gaussian_0.1": dict(c=1.0, theta_spread=tj.ThetaSpread.gaussian(0.1)),
    "uniform_0.2": dict(c=0.5, theta_spread=tj.ThetaSpread.uniform(0.2)),
    "discrete_2pt": dict(c=0.5j, theta_spread=tj.ThetaSpread.discrete([0.7, 1.2], [0.4, 0.6])),
    "all_together": dict(
        c=0.6 + 0.3j, arrivals=tj.Arrivals.bernoulli(0.5), theta_spread=tj.ThetaSpread.gaussian(0.2)
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_beam_trajectories_average_to_the_exact_channel(name):
    model = tj.Micromaser(**BASE, **CASES[name])
    ens = run(model)
    ref = reference(model, CHECKS)
    # the brute-force reference is the package's exact solver (independently built)
    exact = tj.solve_exact(model, K, checkpoints=CHECKS, leakage_tol=1.0)
    for key in ("energy", "purity", "fano"):
        assert np.allclose(getattr(exact, key), ref[key], rtol=0, atol=1e-10, equal_nan=True), key
    z = z_scores(ens, ref)
    assert max(z.values()) <= 5.0, (name, z)
    assert fock_chi2_pvalue(ens, ref, len(CHECKS) - 1) > 1e-3
    assert fock_chi2_pvalue(ens, ref, 2) > 1e-3


def test_poisson_trajectories_are_not_regular_ones():
    """Negative control: Poisson trajectories against the regular-arrival reference fail.

    Strong loss and a cold bath: regular and Poisson intervals give clearly different
    photon numbers (resolvent against exponential of the same generator)."""
    kw = dict(theta=1.1, q=0.0, c=0.0, gamma_tr=1.0, nbar=0.0, cutoff=N)
    ens = run(tj.Micromaser(**kw, arrivals=tj.Arrivals.poisson()), m=2000)
    wrong = reference(tj.Micromaser(**kw), CHECKS)
    right = reference(tj.Micromaser(**kw, arrivals=tj.Arrivals.poisson()), CHECKS)
    assert z_scores(ens, right)["energy"] <= 5.0
    assert z_scores(ens, wrong)["energy"] > 5.0


def test_ideal_beam_draws_nothing_from_the_beam_stream():
    """Bernoulli(1) normalises to regular arrivals; a discrete spread of one value 1 to none:
    the same records bit for bit as the default model (nothing drawn from the beam stream)."""
    kw = dict(**BASE, c=0.5)
    ideal = run(tj.Micromaser(**kw), m=300, max_jumps=10)
    same = run(
        tj.Micromaser(
            **kw,
            arrivals=tj.Arrivals.bernoulli(1.0),
            theta_spread=tj.ThetaSpread.discrete([1.0], [1.0]),
        ),
        m=300,
        max_jumps=10,
    )
    for f in ("n_mean", "fock", "jump_times", "qubit_g", "emissions"):
        assert np.array_equal(
            getattr(ideal.per_trajectory, f), getattr(same.per_trajectory, f), equal_nan=True
        )


def test_beam_records_are_reproducible_across_workers():
    model = tj.Micromaser(
        **BASE, c=0.5, arrivals=tj.Arrivals.poisson(), theta_spread=tj.ThetaSpread.uniform(0.3)
    )
    kw = dict(m=200, max_jumps=8, record_theta=True, chunk_size=25)
    one = run(model, n_jobs=1, **kw)
    again = run(model, n_jobs=1, **kw)
    two = run(model, n_jobs=2, **kw)
    for f in ("n_mean", "fock", "jump_times", "qubit_g", "theta"):
        a = getattr(one.per_trajectory, f)
        assert np.array_equal(a, getattr(again.per_trajectory, f), equal_nan=True)
        assert np.array_equal(a, getattr(two.per_trajectory, f), equal_nan=True)
    # jump times are real time: increasing, within the sum of the drawn intervals
    t = one.per_trajectory.jump_times
    for row in t:
        row = row[np.isfinite(row)]
        assert np.all(np.diff(row) >= 0)


def test_recorded_theta_follows_the_spread():
    sigma = 0.1
    model = tj.Micromaser(**BASE, c=1.0, theta_spread=tj.ThetaSpread.gaussian(sigma))
    ens = run(model, m=100, record_theta=True, rho_checkpoints="none")
    x = ens.per_trajectory.theta.ravel().astype(np.float64)
    assert x.size == 100 * K and np.all(np.isfinite(x))
    # float32 records: the KS statistic is insensitive to their 6e-8 rounding
    assert stats.kstest(x, stats.norm(1.0, sigma).cdf).pvalue > 1e-3
    model = tj.Micromaser(
        **BASE, c=1.0, theta_spread=tj.ThetaSpread.discrete([0.5, 2], [0.25, 0.75])
    )
    x = run(model, m=100, record_theta=True, rho_checkpoints="none").per_trajectory.theta
    counts = np.array([np.count_nonzero(x == 0.5), np.count_nonzero(x == 2.0)])
    assert counts.sum() == x.size
    assert stats.chisquare(counts, np.array([0.25, 0.75]) * x.size).pvalue > 1e-3


@pytest.mark.parametrize(
    "extra, count, control",
    [
        (dict(arrivals=tj.Arrivals.poisson()), "emission", True),
        # Bernoulli(0.3) changes the absorption counts too little to be told from the
        # ideal beam with 4000 trajectories: no negative control there
        (dict(arrivals=tj.Arrivals.bernoulli(0.3)), "absorption", False),
        (dict(theta_spread=tj.ThetaSpread.gaussian(0.15)), "g", True),
        (dict(arrivals=tj.Arrivals.poisson(), theta_spread=tj.ThetaSpread.uniform(0.2)), "g", True),
    ],
)
def test_beam_count_distributions_match_the_exact_counting_statistics(extra, count, control):
    """Per-trajectory counts of a non-ideal beam against the exact tilted-channel distribution.

    A negative control runs the same test against the ideal beam's distribution, which must be
    rejected: the chi-square can fail.
    """
    from trajectories.statistics.counting import chi_square

    kw = dict(theta=1.1, q=0.3, c=0.0, gamma_tr=0.3, nbar=0.4, cutoff=20)
    model = tj.Micromaser(**kw, **extra)
    ens = run(model, 4000)
    counts = tj.counting.from_ensemble(ens, count).counts[:, -1]
    exact = tj.counting.exact_distribution(model, K, count, checkpoints=[K], leakage_tol=1.0)
    test = chi_square(counts, exact.values, exact.probabilities[-1])
    assert test.pvalue > 1e-3, test
    if not control:
        return
    ideal = tj.counting.exact_distribution(
        tj.Micromaser(**kw), K, count, checkpoints=[K], leakage_tol=1.0
    )
    assert chi_square(counts, ideal.values, ideal.probabilities[-1]).pvalue < 1e-6


def test_strength_tables_agree_with_numpy_cos_sin():
    """The per-qubit cos/sin of theta_i sqrt(m) (no libm): numpy's values to rounding.

    Random theta_i (up to a 3x spread of the strongest theta the package uses) on m = 0 ..
    400, and phases within a few ulp of multiples of pi/2 (trapping: sin = 0), both signs;
    the libm fallback beyond POLY_MAX_PHASE too. Then the operators that
    ``spread_operators`` builds from the tables are those of the qubit's own theta_i.
    """
    from trajectories.channels.beam_unravelling import (
        POLY_MAX_PHASE,
        spread_operators,
        strength_tables,
    )

    rng = np.random.default_rng(17)
    sqrt_n = np.sqrt(np.arange(401.0))
    cs, sn = np.zeros(401), np.zeros(401)
    worst = 0.0
    thetas = np.concatenate([rng.uniform(0.0, 3.0, 2000), -rng.uniform(0.0, 3.0, 200)])
    for theta in thetas:
        strength_tables(theta, sqrt_n, cs, sn, 400)
        phase = theta * sqrt_n
        worst = max(worst, np.abs(cs - np.cos(phase)).max(), np.abs(sn - np.sin(phase)).max())
    # phases at and next to k pi/2, |k| < 200 (the table's sqrt_n is then the phase itself)
    near = np.arange(-200, 200)[:, None] * (np.pi / 2) + np.array([0.0, 1e-15, -3e-15, 1e-9])
    near = np.concatenate([near.ravel(), np.nextafter(near.ravel(), np.inf)])
    near = np.concatenate([near, -np.nextafter(near, -np.inf)])
    c, s = np.empty(near.size), np.empty(near.size)
    strength_tables(1.0, near, c, s, near.size - 1)
    worst = max(worst, np.abs(c - np.cos(near)).max(), np.abs(s - np.sin(near)).max())
    assert worst < 1e-14
    assert worst <= 2.3e-16  # measured 1.1e-16: one ulp
    # beyond the polynomial's range: libm
    big = np.array([0.0, 1.0, 4.0])
    strength_tables(POLY_MAX_PHASE, big, c, s, 2)
    assert np.array_equal(c[:3], np.cos(POLY_MAX_PHASE * big))
    # the operators of theta_i on the first n levels
    theta, n = 0.811 * 1.07, 30
    strength_tables(theta, sqrt_n, cs, sn, n)
    a, b = np.array([0.5, 0.8]), np.array([-0.6, 0.3])
    ks = np.array([-1, 1])
    kd, ko = np.zeros((2, 40)), np.zeros((2, 40))
    spread_operators(kd, ko, a, b, ks, cs, sn, n)
    m = np.arange(n)
    np.testing.assert_allclose(kd[0, :n], a[0] * np.cos(theta * np.sqrt(m + 1)), atol=1e-15)
    np.testing.assert_allclose(ko[1, :n], b[1] * np.sin(theta * np.sqrt(m)), atol=1e-15)
