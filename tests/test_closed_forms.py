"""Closed-form steady states (SPEC Sec. 5) on their own: edges, normalisation, no overflow."""

import numpy as np
import pytest

import trajectories as tj


def test_incoherent_m15_q025_values_from_the_geometric_formula():
    p = tj.incoherent_steady_populations(15, 0.25)
    r = 3.0
    rho0 = (r - 1) / (r**15 - 1)  # SPEC's corrected normalisation r^m (paper prints r^(m+1))
    assert np.allclose(p, rho0 * r ** np.arange(15), rtol=1e-13, atol=0)
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    n = np.arange(15)
    assert p @ n == pytest.approx(13.5000010454, abs=1e-10)
    assert tj.incoherent_steady_purity(15, 0.25) == pytest.approx(0.5000000697, abs=1e-10)


@pytest.mark.parametrize("fn", [tj.incoherent_steady_populations, tj.coherent_steady_populations])
def test_edges_q0_q1(fn):
    p0 = fn(15, 0.0, cutoff=20)
    assert p0.shape == (20,) and p0[14] == 1.0 and p0.sum() == 1.0
    p1 = fn(15, 1.0)
    assert p1[0] == 1.0 and p1.sum() == 1.0


def test_incoherent_half_filling_is_uniform():
    assert np.allclose(tj.incoherent_steady_populations(9, 0.5), np.full(9, 1 / 9), atol=1e-15)


@pytest.mark.parametrize("fn", [tj.incoherent_steady_populations, tj.coherent_steady_populations])
def test_large_m_does_not_overflow(fn):
    for q in (1e-6, 0.25, 0.5, 0.75, 1 - 1e-6):
        p = fn(5000, q)
        assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(p >= 0)


def test_coherent_recursion_eq15():
    m, q = 15, 0.25
    p = tj.coherent_steady_populations(m, q)
    n = np.arange(1, m)
    ratio = (1 - q) / q / np.tan(np.pi * np.sqrt(n) / (2 * np.sqrt(m))) ** 2
    assert np.allclose(p[1:] / p[:-1], ratio, rtol=1e-12)
    assert p @ np.arange(m) == pytest.approx(6.1503, abs=5e-5)


def test_bad_closed_form_arguments():
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        tj.incoherent_steady_populations(0, 0.3)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        tj.coherent_steady_populations(15, 1.5)
    with pytest.raises(ValueError, match="cutoff must be an integer >= 15"):
        tj.coherent_steady_populations(15, 0.5, cutoff=10)
