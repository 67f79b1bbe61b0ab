r"""Counting statistics from the per-checkpoint count histograms, in memory independent of M.

A run reduces its counts to histograms while it runs
(:class:`~trajectories.solvers.montecarlo.reductions.CountHistograms`), so its counting
statistics need no per-trajectory record. The estimators of ``tj.counting`` (mean, variance,
Mandel Q, k-statistics and their delete-one jackknife errors) depend on a column of counts
only through the values taken and their multiplicities: computed from a histogram they are
the same numbers, bit for bit, as from the records (:func:`hist_stats`).

Imperfect detection is applied to the histograms by drawing, for each true value ``v`` of
multiplicity ``m``, the ``m`` detected counts at once from a multinomial over the detected
values: the same law as thinning each trajectory's count (``docs/COUNTING.md``, detection),
one checkpoint at a time (the detected counts of one trajectory at two checkpoints are then
not linked; every statistic here is per checkpoint). This needs the joint law of the events
thinned together: it is available for one count of qubits (``"g"`` with misreads, when every
trajectory saw the same number of qubits by that checkpoint) and for one bath count; ``"net"``
with an efficiency below one needs the records.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from ..channels.tilted import Detection
from ..solvers.montecarlo.reductions import CountHistograms

__all__ = ["hist_stats", "detected_histograms", "HISTOGRAM_SPAWN_PART"]

#: ``spawn_key = (DETECTION_SPAWN_KEY, HISTOGRAM_SPAWN_PART)`` for the draws thinning a
#: histogram (parts 0 and 1 thin the records).
HISTOGRAM_SPAWN_PART = 2


def stats_from_sums(s: np.ndarray, n: np.ndarray, shift: float) -> np.ndarray:
    """Mean, variance, Mandel Q, k1..k4 from power sums ``s[p] = sum y^p`` (p = 0..4).

    ``y = x - shift``; ``s`` has shape ``(5, ...)``, ``n`` the sample sizes ``(...)``.
    Returns shape ``(7, ...)``: mean, var, Q, k1, k2, k3, k4 (NaN where undefined).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = s[1] / n
        a2, a3, a4 = s[2] / n, s[3] / n, s[4] / n
        m2 = np.maximum(a2 - ybar**2, 0.0)
        m3 = a3 - 3.0 * ybar * a2 + 2.0 * ybar**3
        m4 = a4 - 4.0 * ybar * a3 + 6.0 * ybar**2 * a2 - 3.0 * ybar**4
        k1 = ybar + shift
        k2 = np.where(n > 1, n * m2 / (n - 1.0), np.nan)
        k3 = np.where(n > 2, n**2 * m3 / ((n - 1.0) * (n - 2.0)), np.nan)
        k4 = np.where(
            n > 3,
            n**2 * ((n + 1.0) * m4 - 3.0 * (n - 1.0) * m2**2) / ((n - 1.0) * (n - 2.0) * (n - 3.0)),
            np.nan,
        )
        q = np.where(k1 != 0.0, k2 / k1 - 1.0, np.nan)
    return np.array([k1, k2, q, k1, k2, k3, k4])


def hist_stats(values: np.ndarray, mult: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of integer samples given as distinct values and multiplicities.

    Leave-one-out estimates depend only on the value left out, so the delete-one jackknife
    is computed once per distinct value and weighted by its multiplicity.

    Parameters
    ----------
    values : ndarray of int64, shape (V,)
        Distinct values, increasing.
    mult : ndarray of int64, shape (V,)
        Their multiplicities (> 0).

    Returns
    -------
    estimates, stderr : ndarray of float64, shape (7,)
        Mean, unbiased variance, Mandel Q, k-statistics k1..k4, and their delete-one
        jackknife standard errors (NaN where undefined).
    """
    n = int(mult.sum())
    if n == 0:
        return np.full(7, np.nan), np.full(7, np.nan)
    shift = float(np.round(float(values @ mult) / n))
    y = values.astype(np.float64) - shift
    powers = y[None, :] ** np.arange(5)[:, None]  # (5, V)
    s = powers @ mult  # (5,)
    full = stats_from_sums(s, np.asarray(float(n)), shift)
    if n < 2:
        return full, np.full(7, np.nan)
    loo = stats_from_sums(s[:, None] - powers, np.full(values.size, n - 1.0), shift)  # (7, V)
    with np.errstate(invalid="ignore"):
        bar = (loo @ mult) / n
        se = np.sqrt((n - 1.0) / n * (((loo - bar[:, None]) ** 2) @ mult))
    return full, se


def _thin_row(
    rng: np.random.Generator, values: np.ndarray, mult: np.ndarray, pmf_of
) -> tuple[int, np.ndarray]:
    """Detected histogram of one checkpoint: ``(lo, counts)`` from the true one."""
    pmfs = [pmf_of(int(v)) for v in values]
    width = max(p.size for p in pmfs) if pmfs else 0
    out = np.zeros(width, dtype=np.int64)
    for m, p in zip(mult, pmfs, strict=True):
        p = np.clip(p, 0.0, None)
        out[: p.size] += rng.multinomial(int(m), p / p.sum())
    return 0, out


def _binomial(n: int, p: float) -> np.ndarray:
    """The Binomial(n, p) probabilities of 0 .. n."""
    if not 0.0 < p < 1.0:
        return _point(n if p >= 1.0 else 0)
    k = np.arange(n + 1)
    log = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
    return np.exp(log + xlogy(k, p) + xlog1py(n - k, -p))


def _point(v: int) -> np.ndarray:
    out = np.zeros(v + 1)
    out[v] = 1.0
    return out


def detected_histograms(
    hist: CountHistograms, count: str, det: Detection, seed: int | None
) -> tuple[int, np.ndarray]:
    """The histograms of the detected count, per checkpoint.

    Parameters
    ----------
    hist : CountHistograms
        The run's true-count histograms.
    count : {"g", "e", "emission", "absorption", "net"}
        The count.
    det : Detection
        Efficiency and misreads (checked against ``count`` by the caller).
    seed : int or None
        Seed of the thinning draws (None for perfect detection: no draws).

    Returns
    -------
    lo : int
        The value of column 0.
    h : ndarray of int64, shape (C, V)
        ``h[c, v]``: trajectories (not leaked at checkpoint ``c``) whose detected count is
        ``lo + v``.

    Raises
    ------
    ValueError
        When the detected law cannot be drawn from histograms alone (``"net"`` with an
        efficiency below one; misreads when the trajectories saw different numbers of
        qubits by a checkpoint), naming the ``records`` option to run with instead.
    """
    if det.ideal:
        return hist.lo[count], hist.h[count]
    if count == "net":
        raise ValueError(
            "the detected 'net' count needs the joint emissions and absorptions of each "
            "trajectory: run simulate with records='all' (this ensemble kept histograms only)"
        )
    from .detection import DETECTION_SPAWN_KEY

    rng = np.random.Generator(
        np.random.Philox(
            np.random.SeedSequence(seed, spawn_key=(DETECTION_SPAWN_KEY, HISTOGRAM_SPAWN_PART))
        )
    )
    eta = det.efficiency
    eps_e, eps_g = det.misread
    rows = []
    for i in range(hist.h[count].shape[0]):
        values, mult = hist.at(count, i)
        if count in ("emission", "absorption") or not det.has_misread:
            keep = eta * (1.0 - (eps_g if count == "g" else eps_e))

            def pmf_of(v: int, keep: float = keep) -> np.ndarray:
                return _binomial(v, keep)
        else:
            n_q, mq = hist.at("qubits", i)
            if n_q.size > 1:
                raise ValueError(
                    f"misreads of the {count!r} count need each trajectory's g and e counts: "
                    f"at checkpoint {i} the trajectories saw {n_q.min()}..{n_q.max()} qubits; "
                    "run simulate with records='all' (this ensemble kept histograms only)"
                )
            total = int(n_q[0]) if n_q.size else 0
            same = eta * (1.0 - (eps_g if count == "g" else eps_e))  # counted, read right
            other = eta * (eps_e if count == "g" else eps_g)  # the other kind, misread

            def pmf_of(v: int, same: float = same, other: float = other, t: int = total):
                return np.convolve(_binomial(v, same), _binomial(t - v, other))

        rows.append(_thin_row(rng, values, mult, pmf_of)[1])
    width = max((r.size for r in rows), default=0)
    h = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        h[i, : r.size] = r
    return 0, h
