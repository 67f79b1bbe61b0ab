"""Imperfect detection of the counted events: efficiency and misreads (docs/COUNTING.md).

The exact detected distributions are checked against constructions that do not use the
detection code: the binomial thinning of the perfectly detected distribution (scipy.stats),
and, for misreads, a direct composition over the joint qubit record (every collision sends
out exactly one qubit, so n_e = k - n_g and the joint distribution is the one of n_g). The
thinned trajectory counts are checked against the exact detected distributions by
chi-square tests, with a negative control that rejects the undetected distribution.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import trajectories as tj
from trajectories.statistics import counting as cn

FINE = tj.fine_tuned_theta(15)
#: a coherent model and an incoherent one, both with loss and a thermal bath
MODELS = {
    "coherent": tj.Micromaser(theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=20),
    "incoherent": tj.Micromaser(theta=FINE, q=0.4, c=0.0, gamma_tr=0.2, nbar=0.3, cutoff=20),
}
K = 30
CHECKPOINTS = [10, K]


def _thinned(values: np.ndarray, p: np.ndarray, eta: float) -> np.ndarray:
    """``P_eta(j) = sum_n P(n) C(n, j) eta^j (1 - eta)^(n - j)`` on ``values`` (n >= 0)."""
    j = values[:, None]
    return (stats.binom.pmf(j, values[None, :], eta) * p[None, :]).sum(axis=1)


def _aligned(values_a, p_a, values_b, p_b):
    """Two distributions on the union of their (consecutive, from 0) supports."""
    n = max(values_a[-1], values_b[-1]) + 1
    a, b = np.zeros(n), np.zeros(n)
    a[values_a] = p_a
    b[values_b] = p_b
    return a, b


# ---------------------------------------------------------------------------- exact side
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("count", ["g", "e", "emission"])
def test_exact_detected_distribution_is_the_binomial_thinning(name, count):
    model, eta = MODELS[name], 0.4
    true = cn.exact_distribution(model, K, count, checkpoints=CHECKPOINTS, progress=False)
    det = cn.exact_distribution(
        model, K, count, checkpoints=CHECKPOINTS, efficiency=eta, progress=False
    )
    assert det.efficiency == eta and "eta = 0.4" in repr(det)
    for k in CHECKPOINTS:
        v, p = true.at(k)
        vd, pd = det.at(k)
        want, got = _aligned(v, _thinned(v, p, eta), vd, pd)
        assert np.max(np.abs(got - want)) < 1e-12, (k, np.max(np.abs(got - want)))
        assert got.sum() > 1.0 - 1e-8  # not trivially zero


@pytest.mark.parametrize("name", list(MODELS))
def test_mandel_q_of_detected_counts_is_eta_times_q(name):
    model = MODELS[name]
    for count in ("g", "e", "emission", "absorption"):
        true = cn.exact_moments(model, K, count, checkpoints=CHECKPOINTS, progress=False)
        for eta in (0.4, 0.85):
            det = cn.exact_moments(
                model, K, count, checkpoints=CHECKPOINTS, efficiency=eta, progress=False
            )
            np.testing.assert_allclose(det.mean, eta * true.mean, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(det.mandel_q, eta * true.mandel_q, rtol=0, atol=1e-10)
    # the long-time value from the leading eigenvalue of the tilted channel
    rate = cn.stationary_rates(model, "g")
    rate_det = cn.stationary_rates(model, "g", efficiency=0.4)
    assert abs(rate_det.mandel_q - 0.4 * rate.mandel_q) < 1e-10
    assert abs(rate_det.rate - 0.4 * rate.rate) < 1e-12


def _misread_composition(values, p_g, k, eta, eps_e, eps_g, count):
    """Detected-count distribution composed from the true one: qubit by qubit, independent.

    Given ``n`` qubits in g (and ``k - n`` in e), the detected ``"g"`` count is
    ``Binomial(n, eta (1 - eps_g)) + Binomial(k - n, eta eps_e)`` (and symmetrically).
    """
    out = np.zeros(k + 1)
    for n, pn in zip(values, p_g, strict=True):
        if pn == 0.0 or n < 0 or n > k:
            continue
        n_right, n_wrong = (n, k - n) if count == "g" else (k - n, n)
        right = eta * (1.0 - (eps_g if count == "g" else eps_e))
        wrong = eta * (eps_e if count == "g" else eps_g)
        a = stats.binom.pmf(np.arange(n_right + 1), n_right, right)
        b = stats.binom.pmf(np.arange(n_wrong + 1), n_wrong, wrong)
        out[: n_right + n_wrong + 1] += pn * np.convolve(a, b)
    return out


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize(
    "eta, misread", [(1.0, (0.1, 0.1)), (0.7, (0.1, 0.05)), (0.4, (0.02, 0.01))]
)
def test_misread_distribution_equals_the_composition_over_the_qubit_record(name, eta, misread):
    model, k = MODELS[name], 12
    true_g = cn.exact_distribution(model, k, "g", checkpoints=[k], progress=False)
    v, p = true_g.at(k)
    for count in ("g", "e"):
        det = cn.exact_distribution(
            model, k, count, checkpoints=[k], efficiency=eta, misread=misread, progress=False
        )
        vd, pd = det.at(k)
        want = _misread_composition(v, p, k, eta, *misread, count)
        got = np.zeros(k + 1)
        got[vd[(vd >= 0) & (vd <= k)]] = pd[(vd >= 0) & (vd <= k)]
        assert np.max(np.abs(got - want)) < 1e-12, (count, np.max(np.abs(got - want)))
        assert det.misread == misread and "eps_e" in det.describe()


def test_mean_of_misread_counts_mixes_the_true_means():
    model, eta, (eps_e, eps_g) = MODELS["coherent"], 0.6, (0.07, 0.03)
    ng = cn.exact_moments(model, K, "g", progress=False).mean
    ne = cn.exact_moments(model, K, "e", progress=False).mean
    g = cn.exact_moments(model, K, "g", efficiency=eta, misread=(eps_e, eps_g), progress=False)
    e = cn.exact_moments(model, K, "e", efficiency=eta, misread=(eps_e, eps_g), progress=False)
    np.testing.assert_allclose(g.mean, eta * ((1 - eps_g) * ng + eps_e * ne), rtol=1e-12)
    np.testing.assert_allclose(e.mean, eta * ((1 - eps_e) * ne + eps_g * ng), rtol=1e-12)


def test_perfect_detection_keywords_give_the_same_numbers_bit_for_bit():
    model = MODELS["coherent"]
    for count in ("g", "emission", "net"):
        a = cn.exact_distribution(model, 15, count, progress=False)
        b = cn.exact_distribution(
            model, 15, count, efficiency=1.0, misread=(0.0, 0.0), progress=False
        )
        for field in ("probabilities", "mean", "variance", "mandel_q", "tail_mass"):
            assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field
        assert repr(a).endswith("s)") and "eta" not in repr(a)
    r1 = cn.stationary_rates(model, "g")
    r2 = cn.stationary_rates(model, "g", efficiency=1.0, misread=(0.0, 0.0))
    assert (r1.rate, r1.mandel_q) == (r2.rate, r2.mandel_q)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(efficiency=1.5), ["efficiency", "1.5", "[0, 1]"]),
        (dict(efficiency=-0.1), ["efficiency", "-0.1", "[0, 1]"]),
        (dict(efficiency=float("nan")), ["efficiency", "nan"]),
        (dict(misread=(0.2, 1.2)), ["eps_g", "1.2", "[0, 1]"]),
        (dict(misread=(-0.2, 0.0)), ["eps_e", "-0.2", "[0, 1]"]),
        (dict(misread=0.1), ["misread", "pair"]),
    ],
)
def test_bad_detection_parameters_are_refused_in_one_line(kwargs, words):
    model = MODELS["coherent"]
    calls = [
        lambda: cn.exact_distribution(model, K, "g", **kwargs),
        lambda: cn.exact_moments(model, K, "g", **kwargs),
        lambda: cn.stationary_rates(model, "g", **kwargs),
    ]
    for call in calls:
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg and all(w in msg for w in words), msg


def test_misread_of_a_bath_count_is_refused():
    model = MODELS["coherent"]
    with pytest.raises(ValueError, match="qubit counts") as err:
        cn.exact_distribution(model, K, "emission", misread=(0.01, 0.0))
    assert "\n" not in str(err.value)
    # the efficiency alone is fine for the bath
    cn.exact_moments(model, 3, "emission", efficiency=0.5, progress=False)


# ---------------------------------------------------------------------------- trajectories
@pytest.fixture(scope="module")
def ensemble():
    model = MODELS["coherent"]
    ens = tj.simulate(model, K, 3000, seed=5, chunk_size=150, checkpoints=[0, 10, 20, K],
                      rho_checkpoints="none", progress=False)  # fmt: skip
    return model, ens


@pytest.mark.parametrize(
    "count, eta, misread",
    [("g", 0.4, (0.0, 0.0)), ("emission", 0.4, (0.0, 0.0)), ("e", 0.7, (0.1, 0.05))],
)
def test_thinned_trajectories_follow_the_exact_detected_distribution(ensemble, count, eta, misread):
    model, ens = ensemble
    st = cn.from_ensemble(ens, count, efficiency=eta, misread=misread, seed=2)
    det = cn.exact_distribution(
        model, K, count, checkpoints=[K], efficiency=eta, misread=misread, progress=False
    )
    x = st.counts[st.valid[:, -1], -1]
    v, p = det.at(K)
    chi = cn.chi_square(x, v, p)
    assert chi.pvalue > 1e-3 and chi.dof >= 4, chi
    z = (st.mean.mean[-1] - det.mean[-1]) / st.mean.stderr[-1]
    assert abs(z) < 5.0, z
    assert "detected counts" in st.describe() and "seed 2" in st.describe()
    # negative control: the undetected distribution is far from the thinned counts
    true = cn.exact_distribution(model, K, count, checkpoints=[K], progress=False)
    vt, pt = true.at(K)
    assert cn.chi_square(x, vt, pt).pvalue < 1e-6


def test_thinning_is_reproducible_monotone_and_below_the_true_counts(ensemble):
    _, ens = ensemble
    for count in ("g", "e", "emission", "absorption"):
        a = cn.from_ensemble(ens, count, efficiency=0.4, seed=2)
        b = cn.from_ensemble(ens, count, efficiency=0.4, seed=2)
        c = cn.from_ensemble(ens, count, efficiency=0.4, seed=3)
        true = cn.from_ensemble(ens, count)
        assert np.array_equal(a.counts, b.counts)
        assert not np.array_equal(a.counts, c.counts)
        assert np.all(np.diff(a.counts, axis=1) >= 0)
        assert np.all(a.counts <= true.counts) and np.all(a.counts[:, 0] == 0)
        # the thinning never detects more in an interval than happened in it
        assert np.all(np.diff(a.counts, axis=1) <= np.diff(true.counts, axis=1))
    # one detector: detected g and e together never exceed the qubits sent out
    g = cn.detected_counts(ens, "g", efficiency=0.7, misread=(0.2, 0.1), seed=4)
    e = cn.detected_counts(ens, "e", efficiency=0.7, misread=(0.2, 0.1), seed=4)
    assert np.all(g + e <= np.asarray(ens.k)[None, :])
    # default seed: the ensemble's own
    d = cn.from_ensemble(ens, "g", efficiency=0.4)
    assert d.detection_seed == ens.seed
    assert np.array_equal(
        d.counts, cn.from_ensemble(ens, "g", efficiency=0.4, seed=ens.seed).counts
    )
    # perfect detection: the records themselves, no draws
    ideal = cn.from_ensemble(ens, "g", efficiency=1.0, misread=(0.0, 0.0))
    assert np.array_equal(ideal.counts, ens.per_trajectory.qubit_g.sum(axis=2))
    assert ideal.detection_seed is None and "true counts" in ideal.describe()


def test_from_ensemble_validates_before_any_work(ensemble):
    _, ens = ensemble
    for kwargs, word in [
        (dict(efficiency=2.0), "efficiency"),
        (dict(misread=(0.0, 1.5)), "eps_g"),
        (dict(efficiency=0.5, seed=-1), "seed"),
    ]:
        with pytest.raises(ValueError, match=word) as err:
            cn.from_ensemble(ens, "g", **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="qubit counts"):
        cn.from_ensemble(ens, "absorption", efficiency=0.5, misread=(0.1, 0.0))


# --------------------------------------------------------------------------------- CLI
def test_counts_command_with_efficiency(tmp_path, ensemble):
    _, ens = ensemble
    path = tj.save(tmp_path / "small.h5", ensemble=ens)
    cmd = [sys.executable, "-m", "trajectories", "counts", str(path), "-o", str(tmp_path),
           "--quiet", "--efficiency", "0.4", "--misread", "0.02", "0.01"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("wrote")[0]
    assert "efficiency eta = 0.4" in table and "eps_e = 0.02" in table, table
    assert f"seed {ens.seed}" in table
    assert max(len(line) for line in table.splitlines()) <= 80
    bad = subprocess.run(cmd[:-5] + ["--efficiency", "1.4"], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "efficiency" in bad.stderr, bad.stderr
