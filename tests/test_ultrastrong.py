"""The phase-averaged Rabi channel of the ultrastrong study (random collision timing)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import random_density_matrix

import trajectories as tj
from analysis import ultrastrong as us
from trajectories._threads import single_threaded_blas
from trajectories.channels.rabi import RabiCollisions

THETA = tj.fine_tuned_theta(15)


def rabi(g=0.4, mod=None, n=10, omega_tr=None, **kw):
    col = tj.Rabi(g, modulation=mod, omega_tr=omega_tr)
    base = dict(theta=THETA, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15)
    return tj.Micromaser(**(base | kw), cutoff=n, collision=col)


@pytest.mark.parametrize("mod", [None, tj.Modulation(0.9, 7.0)])
def test_one_phase_is_the_packages_collision_at_that_phase(mod):
    """alphas=(alpha_k,), betas=(beta_k,) reproduce collision k of Rabi(omega_tr=...)."""
    omega_tr = 9.37
    m = rabi(g=1.0, mod=mod, n=6, omega_tr=omega_tr)
    with single_threaded_blas():  # small matrices: threads only add contention
        col = RabiCollisions(m)
    rho = random_density_matrix(m.cutoff, np.random.default_rng(3))
    for k in (2, 3):
        alpha, beta = col.phases(k)
        with single_threaded_blas():
            ours = us.phase_averaged_channel(
                m.replace(collision=tj.Rabi(1.0, mod)), (beta,), (alpha,)
            )
            b, leak_b = col.at(k).apply_dm(rho)
        a, leak_a = ours.apply_dm(rho)
        assert np.max(np.abs(a - b)) < 1e-13
        assert abs(leak_a - leak_b) < 1e-13


def test_alpha_average_is_the_limit_of_a_uniform_phase_grid():
    """The exact alpha average (split by excitation change) equals the mean over P equally
    spaced phases once P exceeds every difference m - m' that occurs (here P = 64)."""
    m = rabi(g=0.6, n=8)
    rho = random_density_matrix(m.cutoff, np.random.default_rng(5))
    exact, leak = us.phase_averaged_channel(m).apply_dm(rho)
    grid = tuple(2 * math.pi * i / 64 for i in range(64))
    mean, leak_grid = us.phase_averaged_channel(m, alphas=grid).apply_dm(rho)
    assert np.max(np.abs(exact - mean)) < 1e-13
    assert abs(leak - leak_grid) < 1e-13
    coarse, _ = us.phase_averaged_channel(m, alphas=grid[::16]).apply_dm(rho)  # 4 phases
    assert np.max(np.abs(exact - coarse)) > 1e-6  # the average is not trivial


def test_locked_fixed_point_is_the_steady_state():
    m = rabi(g=0.1, n=30)
    fp = us.channel_fixed_point(m, RabiCollisions(m).at(1))
    ss = tj.steady_state(m)
    assert fp["ok"]
    assert abs(fp["energy"] - ss.energy) < 1e-10
    assert abs(fp["purity"] - ss.purity) < 1e-10


def test_a_leaking_channel_has_no_fixed_point():
    m = rabi(g=1.0, n=20)
    fp = us.channel_fixed_point(m, us.phase_averaged_channel(m), maxit=3000)
    assert not fp["ok"] and fp["leak_per_collision"] > 1e-6


def test_bounded_modulations_keep_the_excursion():
    for name in us.BOUNDED:
        mod = us.bounded_modulation(name)
        if name.startswith("nu="):
            assert mod.eta * mod.nu_over_omega <= 1.0 + 1e-12
        elif name.startswith("slow"):
            assert mod.eta * mod.nu_over_omega > 1.0  # the slow condition needs more
