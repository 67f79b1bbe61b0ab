"""The mixture sampler of the loss's jump times against exact laws and an independent sampler.

The trajectory kernels draw the first jump time of a loss interval as a mixture of
exponentials (a level, then its exponential clock truncated to the interval) and the jump's
kind from that level's two clocks (``docs/MODEL.md``, Sec. 3). Tested here, on the compiled
leaf :func:`loss_interval` called from Python:

- the first jump time against the exact no-jump probability (KS test);
- the mean numbers of emissions and absorptions per interval against their exact integrals;
- the whole law of an interval (number of jumps, their times, kinds, the final state's
  photon number) against an independent sampler written here from the definitions: the root
  solve of the no-jump norm ``S(t) = u`` (scipy's brentq) and the jump drawn from the rates
  of the state at that time (the sampler of earlier versions), by two-sample tests. The same
  tests reject the reference sampler run with a 15 % larger decay rate (the tests have teeth).

All on populations: with a diagonal no-jump evolution and ``a``, ``a^dag`` jumps, the jump
statistics depend on the state only through its photon-number populations.
"""

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.linalg import expm

import trajectories as tj
from trajectories._streams import DYNAMICS, new_state, start, stream_key
from trajectories.channels.loss import LossChannel, loss_generator_block
from trajectories.channels.loss_unravelling import SAMPLER, loss_interval

KEY = stream_key(20261201)
CASES = {
    # several jumps per interval, thermal bath, a coherent state high in the cutoff
    "strong_thermal": dict(gamma=0.8, nbar=0.6, n=30, alpha=2.0),
    # zero temperature: the vacuum cannot jump, emissions only
    "cold": dict(gamma=0.5, nbar=0.0, n=20, alpha=1.5),
    # weak loss: rare jumps, the level draw over a long tail of small rates
    "weak": dict(gamma=0.02, nbar=0.15, n=40, alpha=3.0),
}


def _setup(case):
    c = CASES[case]
    model = tj.Micromaser(
        theta=0.0, q=0.5, c=0.0, gamma_tr=c["gamma"], nbar=c["nbar"], cutoff=c["n"]
    )
    psi = np.abs(tj.coherent_state(c["alpha"], c["n"]))  # populations are what matter
    return model, psi


def _mixture_intervals(model, psi0, count, first=0):
    """``count`` loss intervals of length 1 from ``psi0`` with the package's sampler."""
    arr = LossChannel(model).trajectory_arrays()
    gamma, nbar, full_decay, full_damp, leak = arr
    n = psi0.size
    sqrt_n = np.sqrt(np.arange(n + 1.0))
    rng = new_state()
    buf = np.empty(n)
    out = []
    for i in range(count):
        start(rng, KEY[0], KEY[1], np.uint64(first + i), np.uint64(DYNAMICS))
        psi = psi0.copy()
        log = np.zeros((64, 2))
        n_em, n_ab, alive, _ = loss_interval(
            psi, buf, sqrt_n, gamma, nbar, full_decay, full_damp, leak, rng, log, 0.0
        )
        k = int(log[0, 0])
        photons = np.abs(psi) ** 2 @ np.arange(n) if alive else -1.0
        out.append((n_em, n_ab, log[1 : k + 1, 0].copy(), log[1 : k + 1, 1].copy(), photons))
    return out


def _root_intervals(psi0, gamma, nbar, count, seed):
    """The reference: root solve of S(t) = u, the jump drawn from the rates at t."""
    rng = np.random.default_rng(seed)
    n = psi0.size
    levels = np.arange(n)
    a, b = gamma * nbar, gamma * (2 * nbar + 1)
    out = []
    for _ in range(count):
        w = np.abs(psi0) ** 2
        t_rem, t_now = 1.0, 0.0
        n_em = n_ab = 0
        times, kinds = [], []
        alive = True
        while True:
            w = w / w.sum()
            u = rng.random()
            s = lambda t, w=w: np.exp(-(a + b * levels) * t) @ w  # noqa: E731
            if s(t_rem) >= u:
                w = w * np.exp(-(a + b * levels) * t_rem)
                break
            t = optimize.brentq(lambda t, s=s, u=u: s(t) - u, 0.0, t_rem, xtol=1e-14)
            wt = w * np.exp(-(a + b * levels) * t)
            r_em = gamma * (nbar + 1) * levels @ wt
            r_ab = gamma * nbar * (levels + 1) @ wt
            t_now += t
            t_rem -= t
            times.append(t_now)
            if rng.random() * (r_em + r_ab) < r_em:
                w = np.r_[(levels * wt)[1:], 0.0]
                n_em += 1
                kinds.append(-1.0)
            else:
                n_ab += 1
                kinds.append(1.0)
                if rng.random() * ((levels + 1) @ wt) < n * wt[-1]:  # from the top: leaks
                    alive = False
                    break
                w = np.r_[0.0, ((levels + 1) * wt)[:-1]]
        photons = w @ levels / w.sum() if alive else -1.0
        out.append((n_em, n_ab, np.array(times), np.array(kinds), photons))
    return out


def _chi2_two_sample(x, y):
    """p-value of a chi-square test that two samples of small integers share one law."""
    top = max(x.max(), y.max())
    cx = np.bincount(x, minlength=top + 1)
    cy = np.bincount(y, minlength=top + 1)
    keep = cx + cy >= 10  # pool the sparse tail into one cell
    table = np.array([np.r_[cx[keep], cx[~keep].sum()], np.r_[cy[keep], cy[~keep].sum()]])
    table = table[:, table.sum(axis=0) > 0]
    return stats.chi2_contingency(table)[1]


def _two_sample_pvalues(ours, ref):
    """p-values comparing every statistic of the interval's law, worst first."""
    jumps = [np.array([r[0] + r[1] for r in s]) for s in (ours, ref)]
    em = [np.array([r[0] for r in s]) for s in (ours, ref)]
    first = [np.array([r[2][0] for r in s if r[2].size]) for s in (ours, ref)]
    second = [np.array([r[2][1] for r in s if r[2].size > 1]) for s in (ours, ref)]
    # rounded: at zero temperature a coherent state stays coherent, <n> is one number
    photons = [np.round([r[4] for r in s], 9) for s in (ours, ref)]
    p = {
        "jumps": _chi2_two_sample(*jumps),
        "emissions": _chi2_two_sample(*em),
        "first time": stats.ks_2samp(*first).pvalue,
        "final <n>": stats.ks_2samp(*photons).pvalue,
    }
    if min(second[0].size, second[1].size) > 50:
        p["second time"] = stats.ks_2samp(*second).pvalue
    return p


def test_the_sampler_name_is_stored_with_every_result():
    model = tj.Micromaser(theta=0.5, q=0.5, c=0.0, gamma_tr=0.1, nbar=0.1, cutoff=10)
    ens = tj.simulate(model, 5, 40, seed=1, chunk_size=1)
    assert SAMPLER == "mixture" and ens.sampler == "mixture"
    assert "mixture" in repr(ens._attrs())


@pytest.mark.parametrize("case", list(CASES))
def test_first_jump_time_follows_the_exact_no_jump_probability(case):
    model, psi0 = _setup(case)
    c = CASES[case]
    runs = _mixture_intervals(model, psi0, 6000)
    first = np.array([r[2][0] for r in runs if r[2].size])
    levels = np.arange(c["n"])
    rates = c["gamma"] * ((c["nbar"] + 1) * levels + c["nbar"] * (levels + 1))
    pop = psi0**2
    s = lambda t: np.exp(-np.multiply.outer(t, rates)) @ pop  # noqa: E731
    # the fraction with a jump, and the conditional law of the first jump time
    p_jump = 1 - s(1.0)
    se = np.sqrt(p_jump * (1 - p_jump) / len(runs))
    assert abs(first.size / len(runs) - p_jump) < 5 * se
    assert first.size > 200
    assert stats.kstest(first, lambda t: (1 - s(t)) / p_jump).pvalue > 1e-3
    # with teeth: a 15 % faster decay is rejected, by its jump probability or its law
    fast = lambda t: (1 - s(1.15 * t)) / (1 - s(1.15))  # noqa: E731
    assert (
        abs(first.size / len(runs) - (1 - s(1.15))) > 5 * se
        or stats.kstest(first, fast).pvalue < 1e-4
    )


@pytest.mark.parametrize("case", list(CASES))
def test_emissions_and_absorptions_per_interval_equal_the_exact_integrals(case):
    model, psi0 = _setup(case)
    c = CASES[case]
    runs = _mixture_intervals(model, psi0, 6000, first=10**6)
    n, gamma, nbar = c["n"], c["gamma"], c["nbar"]
    g0 = loss_generator_block(gamma, nbar, n, 0)
    aug = np.zeros((2 * n, 2 * n))
    aug[:n, :n] = g0
    aug[n:, :n] = np.eye(n)
    integral = expm(aug)[n:, :n] @ psi0**2  # int_0^1 p(t) dt
    levels = np.arange(n)
    exact = (gamma * (nbar + 1) * integral @ levels, gamma * nbar * integral @ (levels + 1))
    for counts, value in zip(([r[0] for r in runs], [r[1] for r in runs]), exact, strict=True):
        counts = np.asarray(counts, dtype=float)
        se = max(counts.std(ddof=1), 1e-12) / np.sqrt(counts.size)
        assert abs(counts.mean() - value) < 5 * se + 1e-12, (counts.mean(), value, se)
        # not trivially passing: a 40 % error would be seen
        assert value == 0.0 or 0.4 * value > 5 * se
    # the mean photon number at the end is Tr[n Lambda(rho)] (normalised states, averaged)
    rho, _ = LossChannel(model).apply_dm(np.outer(psi0, psi0))
    photons = np.array([r[4] for r in runs])
    assert np.all(photons >= 0)  # nothing leaks from these states
    se = photons.std(ddof=1) / np.sqrt(photons.size)
    assert abs(photons.mean() - np.trace(rho).real ** -1 * (np.diag(rho).real @ levels)) < (
        5 * se + 1e-9
    )


@pytest.mark.parametrize("case", list(CASES))
def test_mixture_and_root_solve_samplers_agree_in_law(case):
    model, psi0 = _setup(case)
    c = CASES[case]
    ours = _mixture_intervals(model, psi0, 3000, first=2 * 10**6)
    ref = _root_intervals(psi0, c["gamma"], c["nbar"], 3000, seed=11)
    p = _two_sample_pvalues(ours, ref)
    assert min(p.values()) > 1e-3, p
    # the kinds: emissions and absorptions at the same times in law (jump counts per kind)
    ab = [np.array([r[1] for r in s]) for s in (ours, ref)]
    if c["nbar"] > 0:
        assert _chi2_two_sample(*ab) > 1e-3


def test_the_two_sample_tests_reject_a_wrong_decay_rate():
    model, psi0 = _setup("strong_thermal")
    c = CASES["strong_thermal"]
    ours = _mixture_intervals(model, psi0, 3000, first=3 * 10**6)
    wrong = _root_intervals(psi0, 1.15 * c["gamma"], c["nbar"], 3000, seed=12)
    assert min(_two_sample_pvalues(ours, wrong).values()) < 1e-4
