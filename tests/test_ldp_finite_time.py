"""The large-deviation principle at finite k: exact count distributions against exp(-k I(x)).

For a count N_k with a smooth theta(s), the local large-deviation (Bahadur-Rao) form is

    P(N_k = n) = c(s) exp(-k I(x)) / sqrt(2 pi k theta''(s)) * (1 + O(1/k)),   x = n / k,

with s the field that selects x (theta'(s) = -x) and c(s) = lim Tr[T_s^k rho_0] / lambda(s)^k
the overlap of the initial state with the tilted chain's leading eigenvectors. The exact
finite-k distribution (Fourier inversion on the unit circle) and theta, I, theta'' (leading
eigenvalue at real z = e^{-s}) come from different computations; c(s) from iterating the
tilted channel at real z. The ratio must approach 1 like 1/k, and -(1/k) ln P must approach
I(x) from above (like ln(k) / (2k)).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

import trajectories as tj
from trajectories.channels.tilted import TiltedChannel
from trajectories.solvers.counting.scgf import scgf

MODEL = tj.Micromaser(theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=20)
KS = (100, 200, 400, 800)


def _theta(count, s):
    return scgf(MODEL, [s], count).theta[0]


def _derivatives(count, s, h=1e-4):
    t = scgf(MODEL, [s - h, s, s + h], count).theta
    return (t[2] - t[0]) / (2 * h), (t[2] - 2 * t[1] + t[0]) / h**2


def _overlap(count, s, k=3000):
    """c(s) = Tr[T_s^k rho_0] / lambda(s)^k at large k (vacuum start), by iteration."""
    tilt = TiltedChannel(MODEL, count, True)
    z = np.array([np.exp(-s)], dtype=complex)
    blocks = tilt.loss_blocks(z)
    x = np.zeros((1, MODEL.cutoff), dtype=complex)
    x[0, 0] = 1.0
    log_norm = 0.0
    for _ in range(k):
        x = blocks.apply(tilt.collide(x, z))
        t = x.sum().real
        log_norm += np.log(t)
        x /= t
    return np.exp(log_norm - k * _theta(count, s))


@pytest.mark.parametrize("count, fraction", [("g", 0.85), ("g", 1.1), ("emission", 0.85)])
def test_exact_distribution_approaches_the_local_large_deviation_form(count, fraction):
    rate = -_derivatives(count, 0.0)[0]
    ex = tj.counting.exact_distribution(MODEL, max(KS), count, checkpoints=KS, leakage_tol=1.0)
    defect, excess = [], []
    for k, row in zip(KS, ex.probabilities, strict=True):
        n = int(round(fraction * rate * k))
        x = n / k
        s = brentq(lambda s, x=x: -_derivatives(count, s)[0] - x, -3.0, 3.0, xtol=1e-12)
        theta = _theta(count, s)
        rate_fn = -s * x - theta  # I(x) by the Legendre transform
        p = row[np.flatnonzero(ex.values == n)[0]]
        assert 1e-12 < p < 0.5  # a deviation, resolved by the exact distribution
        prediction = (_overlap(count, s) * np.exp(-k * rate_fn)
                      / np.sqrt(2 * np.pi * k * _derivatives(count, s)[1]))  # fmt: skip
        defect.append(p / prediction - 1.0)
        excess.append(-np.log(p) / k - rate_fn)
    defect, excess = np.array(defect), np.array(excess)
    assert abs(defect[-1]) < 0.02, defect  # within 2 % at k = 800
    halving = defect[:-1] / defect[1:]  # O(1/k): halves with each doubling of k
    assert np.all((halving > 1.6) & (halving < 2.4)), halving
    assert np.all(excess > 0) and np.all(np.diff(excess) < 0), excess  # I(x) from above
