"""Error bars right both ways: every ensemble estimator against its formula, and its
statistics against independent seeds (issue 13, item 9).

1. Deterministic: hand-built chunks (``ChunkResult``) of known states go through
   ``EnsembleAccumulator``; each estimator must equal its textbook formula computed here
   from the individual states: the unbiased purity ``(sum_k m_k^2 - M)/(M(M-1))`` of
   Fock ensembles and the pairwise overlaps of general ones, energy mean and standard
   error, Fano factor, ergotropy, and the delete-a-group jackknife (equal groups: the
   textbook ``sqrt((G-1)/G sum (theta_g - mean)^2)``; unequal groups: Busing, Meijer and
   van der Leeden, Stat. Comput. 9, 3 (1999), and its closed form for a mean).
2. Statistical, fixed seeds: with ``M = 20`` trajectories the bias ``(1-P)/M`` of
   ``Tr(rho_hat^2)`` is many standard errors of a mean over 200 seeds, and the package's
   estimate has none; over 300 seeds the reported standard errors match the observed
   spread (coverage of ``|z| < 1`` and ``|z| < 2``, and the ratio of the two).

The upper bound on the error bars of the trajectory-vs-exact agreement tests and the
trace of the rebuilt rho are in ``helpers.assert_agrees_with_exact``.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

import trajectories as tj
from trajectories.solvers.montecarlo.accumulator import EnsembleAccumulator
from trajectories.solvers.montecarlo.chunks import ChunkResult
from trajectories.solvers.montecarlo.result import jackknife

N = 8
MODEL = tj.Micromaser(theta=0.5, q=0.5, cutoff=N)
LEVELS = np.arange(N, dtype=float)


# ------------------------------------------------------------------ hand-built ensembles
def make_chunk(index: int, psis: np.ndarray, n_mean: np.ndarray | None = None) -> ChunkResult:
    """A chunk whose trajectories end (checkpoint 0) in the rows of ``psis`` (normalised
    states, or zero rows for trajectories that leaked)."""
    psis = np.asarray(psis, dtype=np.complex128)
    m = psis.shape[0]
    w = np.abs(psis) ** 2
    alive = w.sum(axis=1) > 0
    nm = w @ LEVELS if n_mean is None else np.asarray(n_mean, dtype=float)
    zeros = np.zeros((m, 1), dtype=np.int32)
    return ChunkResult(
        index=index,
        n_trajectories=m,
        rho_sum=np.einsum("in,im->nm", psis, psis.conj())[None],
        n_alive=np.array([np.count_nonzero(alive)]),
        leak_expected=np.zeros(1),
        n_mean=nm[:, None],
        n2_mean=(w @ LEVELS**2)[:, None],
        qubit_g=zeros[:, :, None].copy(),
        qubit_e=zeros[:, :, None].copy(),
        emissions=zeros.copy(),
        absorptions=zeros.copy(),
        fock=np.where(alive, np.argmax(w, axis=1), -1).astype(np.int32)[:, None],
        alive=alive,
        jump_times=np.zeros((m, 0)),
        jump_kinds=np.zeros((m, 0), dtype=np.int8),
        n_jumps=np.zeros(m, dtype=np.int64),
        seconds=0.0,
    )


def build(psis: np.ndarray, sizes: list[int], groups: int = 20, n_mean=None):
    """The EnsembleResult of ``psis`` cut into chunks of ``sizes`` (in order)."""
    assert sum(sizes) == len(psis)
    bounds = np.cumsum([0, *sizes])
    chunks = [
        make_chunk(i, psis[a:b], None if n_mean is None else n_mean[a:b])
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]
    acc = EnsembleAccumulator(
        MODEL, np.array([0]), np.array([0]), len(chunks), groups, int(bounds[-1])
    )
    for ch in chunks:
        acc.add(ch)
    return acc.result(seed=0, chunk_size=max(sizes), n_jobs=1, backend="hand", seconds=0.0)


def fock_states(counts) -> np.ndarray:
    """``m_k`` trajectories in ``|k>`` for ``counts = (m_0, m_1, ...)``, shuffled."""
    levels = np.repeat(np.arange(len(counts)), counts)
    levels = np.random.default_rng(len(levels)).permutation(levels)
    return np.eye(N, dtype=np.complex128)[levels]


def random_states(m: int, rng: np.random.Generator, leaked: int = 0) -> np.ndarray:
    v = rng.normal(size=(m, N)) + 1j * rng.normal(size=(m, N))
    v *= np.exp(-0.4 * LEVELS)  # weight on low levels, like a battery state
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[rng.choice(m, size=leaked, replace=False)] = 0.0
    return v


# reference formulas, computed from the individual states
def purity_ref(psis: np.ndarray) -> float:
    """Mean of |<psi_i|psi_j>|^2 over ordered pairs i != j."""
    m = len(psis)
    s = np.abs(psis.conj() @ psis.T) ** 2
    return float((s.sum() - np.trace(s)) / (m * (m - 1)))


def fano_ref(psis: np.ndarray) -> float:
    w = np.abs(psis) ** 2
    a, b = np.mean(w @ LEVELS), np.mean(w @ LEVELS**2)
    return float((b - a * a) / a)


def ergotropy_ref(psis: np.ndarray) -> float:
    rho = psis.T @ psis.conj() / len(psis)
    lam = np.sort(np.linalg.eigvalsh(rho))[::-1]
    return float(np.diag(rho).real @ LEVELS - lam @ LEVELS)


REFERENCE = {"purity": purity_ref, "fano": fano_ref, "ergotropy": ergotropy_ref}


def groups_of(sizes: list[int], n_groups: int) -> list[np.ndarray]:
    """Trajectory indices of each jackknife group: chunk c goes to group c mod G."""
    bounds = np.cumsum([0, *sizes])
    out = [[] for _ in range(min(n_groups, len(sizes)))]
    for c, (a, b) in enumerate(itertools.pairwise(bounds)):
        out[c % len(out)].extend(range(a, b))
    return [np.array(g) for g in out]


# ------------------------------------------------------------------ 1. formulas
@pytest.mark.parametrize(
    "counts,sizes",
    [
        ((20,), [20]),  # one Fock state: a pure ensemble, purity exactly 1
        ((10, 10), [5, 5, 5, 5]),
        ((3, 0, 5, 2, 0, 0, 0, 1), [4, 7]),
        ((1, 1), [1, 1]),  # M = 2: (2 - 2) / 2 = 0
        ((7, 3, 1, 9, 4, 2, 6, 8), [1, 9, 2, 8, 3, 7, 4, 6]),  # unequal chunks
    ],
)
def test_purity_of_fock_ensembles_is_the_unbiased_formula(counts, sizes):
    psis = fock_states(counts)
    m = len(psis)
    ens = build(psis, sizes)
    want = (np.sum(np.square(counts)) - m) / (m * (m - 1))
    assert ens.purity.mean[0] == pytest.approx(want, rel=1e-13, abs=1e-15)
    # the plug-in Tr(rho_hat^2) = sum m_k^2 / M^2 is biased upward by (1 - P) / M exactly
    biased = np.sum(np.square(counts)) / m**2
    assert np.sum(np.abs(ens.rho[0]) ** 2) == pytest.approx(biased, rel=1e-13)
    assert biased - want == pytest.approx((1 - want) / m, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("leaked", [0, 3])
def test_purity_of_pure_states_is_the_mean_pairwise_overlap(leaked, rng):
    """General states, and leaked trajectories (zero vectors): S = sum |psi_i><psi_i| over
    the survivors, A = their number, M all trajectories."""
    psis = random_states(37, rng, leaked)
    ens = build(psis, [5] * 7 + [2])
    assert ens.purity.mean[0] == pytest.approx(purity_ref(psis), rel=1e-12)
    # the rebuilt rho has the trace of the survivors
    assert np.trace(ens.rho[0]).real == pytest.approx((37 - leaked) / 37, rel=1e-14)
    assert ens.leaked_trajectories == leaked


def test_energy_mean_and_standard_error_are_the_sample_formulas(rng):
    """Merged chunk by chunk (Chan et al.), equal to the sample mean and
    ``sqrt(sum (x - mean)^2 / (M - 1) / M)`` evaluated exactly (rational arithmetic), also
    on top of an offset of 1e8, where a one-pass sum of squares loses every digit."""
    sizes = [3, 11, 1, 7, 20, 2]
    m = sum(sizes)
    psis = fock_states((m,))
    for offset, rel in ((0.0, 1e-13), (1e8, 1e-7)):
        x = offset + rng.exponential(2.0, size=m)
        exact = [Fraction(v) for v in x]
        mean = sum(exact) / m
        var = sum((v - mean) ** 2 for v in exact) / (m - 1)
        ens = build(psis, sizes, n_mean=x)
        assert ens.energy.mean[0] == pytest.approx(float(mean), rel=1e-15)
        assert ens.energy.stderr[0] == pytest.approx(np.sqrt(float(var) / m), rel=rel)
        naive = np.sqrt((np.sum(x**2) / m - np.mean(x) ** 2) * m / (m - 1) / m)
        assert offset == 0 or naive != pytest.approx(np.sqrt(float(var) / m), rel=1e-2)


@pytest.mark.parametrize(
    "counts", [(3, 0, 5, 2, 0, 0, 0, 1), (0, 10), (4, 4, 4, 4), (1, 2, 3, 4, 5, 6, 7, 8)]
)
def test_fano_and_ergotropy_of_fock_ensembles(counts):
    """rho_hat = diag(m_k / M): F = Var(k)/<k> (population variance), and
    W = sum_k k p_k - sum_j j p_(j) with the p sorted in decreasing order."""
    psis = fock_states(counts)
    ens = build(psis, [len(psis)])
    p = np.asarray(counts, dtype=float) / len(psis)
    k = np.arange(len(counts))
    mean = p @ k
    assert ens.fano.mean[0] == pytest.approx((p @ k**2 - mean**2) / mean, rel=1e-13)
    w = mean - np.sort(p)[::-1] @ k
    assert ens.ergotropy.mean[0] == pytest.approx(w, rel=1e-12, abs=1e-13)


def test_vacuum_ensemble_has_no_fano_factor_and_pure_ensembles_have_no_spread(rng):
    ens = build(fock_states((12,)), [3, 3, 3, 3])
    assert np.isnan(ens.fano.mean[0])  # <n> = 0: undefined, never a division by zero
    psi = random_states(1, rng)
    ens = build(np.repeat(psi, 12, axis=0), [3, 3, 3, 3])
    assert ens.purity.mean[0] == pytest.approx(1.0, rel=1e-13)
    assert ens.ergotropy.mean[0] == pytest.approx(ens.energy.mean[0], rel=1e-12)  # W = E
    for name in ("energy", "purity", "fano", "ergotropy"):
        assert getattr(ens, name).stderr[0] == pytest.approx(0.0, abs=1e-12), name


@pytest.mark.parametrize("name", ["purity", "fano", "ergotropy"])
def test_jackknife_with_equal_groups_is_the_textbook_delete_a_group_formula(name, rng):
    """G groups of equal size: se^2 = (G-1)/G sum_g (theta_(g) - mean)^2, with theta_(g)
    recomputed from the states outside group g."""
    g, sizes = 6, [4] * 12  # two chunks per group
    psis = random_states(sum(sizes), rng, leaked=2)
    ens = build(psis, sizes, groups=g)
    assert ens.jackknife_groups == g
    ref = REFERENCE[name]
    everyone = np.arange(len(psis))
    theta = np.array([ref(psis[np.setdiff1d(everyone, grp)]) for grp in groups_of(sizes, g)])
    want = np.sqrt((g - 1) / g * np.sum((theta - theta.mean()) ** 2))
    got = getattr(ens, name)
    assert got.mean[0] == pytest.approx(ref(psis), rel=1e-12)
    assert got.stderr[0] == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("name", ["purity", "fano", "ergotropy"])
def test_jackknife_with_unequal_groups_is_the_weighted_delete_a_group_formula(name, rng):
    """Busing et al. (1999): with n trajectories, m_g in group g, h_g = n/m_g,
    theta_J = G theta - sum_g (1 - m_g/n) theta_(g), pseudo-values
    h_g theta - (h_g - 1) theta_(g), se^2 = (1/G) sum_g (pseudo_g - theta_J)^2/(h_g - 1)."""
    sizes = [2, 9, 4, 1, 7, 3, 12, 5, 6]  # 9 chunks in 5 groups: 2+3, 9+12, 4+5, 1+6, 7
    psis = random_states(sum(sizes), rng)
    ens = build(psis, sizes, groups=5)
    ref = REFERENCE[name]
    full = ref(psis)
    n = len(psis)
    everyone = np.arange(n)
    terms, theta_j = [], 5 * full
    parts = groups_of(sizes, 5)
    for grp in parts:
        theta_g = ref(psis[np.setdiff1d(everyone, grp)])
        h = n / len(grp)
        theta_j -= (1 - len(grp) / n) * theta_g
        terms.append((h * full - (h - 1) * theta_g, h))
    var = sum((pseudo - theta_j) ** 2 / (h - 1) for pseudo, h in terms) / 5
    assert len({len(p) for p in parts}) > 1  # really unequal
    assert getattr(ens, name).stderr[0] == pytest.approx(np.sqrt(var), rel=1e-9)


def test_jackknife_of_a_mean_is_the_between_group_variance(rng):
    """For a linear statistic the pseudo-values are the group means ybar_g, so
    se^2 = (1/G) sum_g m_g (ybar_g - ybar)^2 / (n - m_g); equal groups give the textbook
    formula, and (G-1)/G sum (theta_(g) - mean)^2 equals it."""
    for sizes in ([5, 5, 5, 5], [1, 8, 3, 12, 6]):
        y = [rng.normal(size=s) for s in sizes]
        n, g = sum(sizes), len(sizes)
        total = np.concatenate(y).mean()
        leave = np.array([(np.concatenate(y).sum() - yy.sum()) / (n - yy.size) for yy in y])
        got = jackknife(np.array(total), leave, np.array(sizes, dtype=float))
        want = np.sqrt(sum(yy.size * (yy.mean() - total) ** 2 / (n - yy.size) for yy in y) / g)
        assert got == pytest.approx(want, rel=1e-12)
        if len(set(sizes)) == 1:
            textbook = np.sqrt((g - 1) / g * np.sum((leave - leave.mean()) ** 2))
            assert got == pytest.approx(textbook, rel=1e-12)
    assert np.isnan(jackknife(np.array(1.0), np.array([[1.0]]), np.array([3.0])))  # G < 2


# ------------------------------------------------------------------ 2. statistics
SMALL = tj.Micromaser(
    theta=tj.fine_tuned_theta(15), q=0.25, c=0.0, gamma_tr=0.1, nbar=0.15, cutoff=30
)


@pytest.mark.filterwarnings("ignore::trajectories.StatisticsWarning")
def test_purity_is_unbiased_at_twenty_trajectories_where_tr_rho_hat_squared_is_not():
    """M = 20 trajectories, 200 seeds: the mean of the purity estimates is within 4.5
    standard errors (of that mean) of the exact purity; the plug-in Tr(rho_hat^2), biased
    by (1 - P)/M = 0.043 here, misses it by about 20 standard errors, so a run reporting
    it fails this test (as do the hand-built formula tests above)."""
    m, k, seeds = 20, 40, range(200)
    exact = tj.solve_exact(SMALL, k, checkpoints=[0, k])
    unbiased, plug_in, energy = [], [], []
    for s in seeds:
        ens = tj.simulate(SMALL, k, m, seed=5000 + s, chunk_size=m, checkpoints=[0, k],
                          rho_checkpoints="last")  # fmt: skip
        unbiased.append(ens.purity.mean[-1])
        plug_in.append(np.sum(np.abs(ens.rho[-1]) ** 2))
        energy.append(ens.energy.mean[-1])
    unbiased, plug_in, energy = map(np.array, (unbiased, plug_in, energy))
    n = len(seeds)
    se = unbiased.std(ddof=1) / np.sqrt(n)
    z = (unbiased.mean() - exact.purity[-1]) / se
    z_plug_in = (plug_in.mean() - exact.purity[-1]) / se
    assert abs(z) <= 4.5, (z, unbiased.mean(), exact.purity[-1])
    assert z_plug_in > 10.0, z_plug_in  # the wrong estimator fails by many sigma
    # run by run, the two differ by exactly (1 - P_hat)/M (no trajectory leaked)
    assert np.allclose(plug_in - unbiased, (1 - unbiased) / m, rtol=1e-10, atol=1e-14)
    se_e = energy.std(ddof=1) / np.sqrt(n)
    assert abs(energy.mean() - exact.energy[-1]) <= 4.5 * se_e


CALIBRATION = tj.Micromaser(
    theta=tj.fine_tuned_theta(15.6), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30
)


def test_standard_errors_match_the_spread_over_independent_seeds():
    """300 runs of 200 trajectories in 20 chunks (20 jackknife groups), each against the
    exact solution: the fraction of |z| < 1 and |z| < 2 agrees with its expectation within
    4 binomial standard errors, and the root-mean-square reported error agrees with the
    standard deviation of the estimates over the seeds within 25%.

    Expectations: the normal distribution for the energy (a mean of 200 values); Student's
    t with G - 1 = 19 degrees of freedom for the jackknifed purity and Fano factor (their
    error bars come from 20 groups). Error bars inflated 4.5x would put 100% inside
    |z| < 1; error bars that grow with the error (a run wrong by being noisy) would spread
    the estimates far beyond the reported errors.
    """
    m, k, runs = 200, 40, 300
    exact = tj.solve_exact(CALIBRATION, k, checkpoints=[0, k])
    names = ("energy", "purity", "fano")
    est = {o: np.empty(runs) for o in names}
    err = {o: np.empty(runs) for o in names}
    for r in range(runs):
        ens = tj.simulate(CALIBRATION, k, m, seed=90_000 + r, chunk_size=10,
                          checkpoints=[0, k], rho_checkpoints="last")  # fmt: skip
        assert ens.jackknife_groups == 20
        for o in names:
            est[o][r] = getattr(ens, o).mean[-1]
            err[o][r] = getattr(ens, o).stderr[-1]
    for o in names:
        ref = getattr(exact, o)[-1]
        z = (est[o] - ref) / err[o]
        law = stats.norm() if o == "energy" else stats.t(df=19)
        for width in (1.0, 2.0):
            p = law.cdf(width) - law.cdf(-width)
            coverage = np.mean(np.abs(z) < width)
            tol = 4.0 * np.sqrt(p * (1 - p) / runs)
            assert abs(coverage - p) <= tol, (o, width, coverage, p, tol)
        ratio = np.sqrt(np.mean(err[o] ** 2)) / est[o].std(ddof=1)
        assert 0.8 <= ratio <= 1.25, (o, ratio)
