"""Large deviations (issue 22): the cloning estimator of theta(s) against the exact tilted channel.

Every check is statistical with fixed seeds: an estimate passes when it is within 5 standard
errors (from independent populations) of the exact theta(s) of
:func:`trajectories.solvers.counting.scgf.scgf`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import trajectories as tj
from trajectories.solvers.counting.scgf import scgf
from trajectories.solvers.montecarlo import cloning as cloning_module
from trajectories.solvers.montecarlo.cloning import CloningResult, cloning

#: A small model with loss: cutoff 20, no trapping state within reach at these s.
MODEL = tj.Micromaser(theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=20)
#: Clones, collisions and populations of the accuracy tests (about 0.5 s each).
RUN = dict(n_clones=400, n_collisions=200, n_populations=8)
Z = 5.0  # standard errors


def _z(out: CloningResult, exact: float) -> float:
    return (out.scgf - exact) / out.stderr


@pytest.mark.parametrize("count", ["g", "emission"])
@pytest.mark.parametrize("s", [-0.3, -0.1, 0.1, 0.3])
def test_cloning_agrees_with_the_leading_eigenvalue_of_the_tilted_channel(count, s):
    exact = scgf(MODEL, s, count).theta[0]
    out = cloning(MODEL, s, count, seed=11, **RUN)
    assert abs(_z(out, exact)) < Z, (out, exact)
    assert out.stderr < 1e-3  # the test has power: theta(s) changes by ~0.05 per 0.1 of s


@pytest.mark.parametrize("count", ["e", "absorption", "net"])
def test_cloning_agrees_for_the_other_counts(count):
    exact = scgf(MODEL, 0.3, count).theta[0]
    out = cloning(MODEL, 0.3, count, seed=12, **RUN)
    assert abs(_z(out, exact)) < Z, (out, exact)


def test_a_wrong_theta_is_rejected():
    exact = scgf(MODEL, 0.3, "g").theta[0]
    out = cloning(MODEL, 0.3, "g", seed=13, **RUN)
    assert abs(_z(out, exact)) < Z
    assert abs(_z(out, exact + 0.05)) > Z
    assert abs(_z(out, exact - 0.01)) > Z


def test_tilted_rate_is_minus_the_derivative_of_theta():
    h = 1e-4
    th = scgf(MODEL, [0.3 - h, 0.3 + h], "g").theta
    out = cloning(MODEL, 0.3, "g", seed=14, **RUN)
    slope = -(th[1] - th[0]) / (2 * h)
    assert abs(out.rate - slope) < Z * out.rate_stderr, (out, slope)


def test_independent_qubits_follow_the_binomial_closed_form():
    model = tj.Micromaser(theta=0.0, q=0.3, cutoff=4)  # no interaction, no loss
    for s in (-0.5, 0.5):
        out = cloning(model, s, "g", n_clones=200, n_collisions=100, seed=15)
        assert abs(_z(out, math.log(0.3 * math.exp(-s) + 0.7))) < Z


def test_coherent_qubits_and_complex_vectors():
    model = tj.Micromaser(theta=1.05, q=0.3, c=0.6 * np.exp(0.4j), gamma_tr=0.1, nbar=0.1,
                          cutoff=16)  # fmt: skip
    exact = scgf(model, -0.2, "g").theta[0]
    out = cloning(model, -0.2, "g", seed=16, **RUN)
    assert abs(_z(out, exact)) < Z, (out, exact)


@pytest.mark.parametrize(
    "initial",
    [
        (np.eye(20)[0] + np.eye(20)[1]) / math.sqrt(2.0),  # not real in the gauge: complex
        tj.thermal_state(0.5, 20),  # mixed: each clone draws its component
    ],
    ids=["superposition", "thermal"],
)
def test_theta_does_not_depend_on_the_initial_state(initial):
    exact = scgf(MODEL, 0.3, "emission").theta[0]
    out = cloning(MODEL, 0.3, "emission", seed=22, initial_state=initial, **RUN)
    assert abs(_z(out, exact)) < Z, (out, exact)


def test_finite_population_bias_shrinks_with_the_population():
    s, count = 1.0, "g"  # a strong tilt, where few clones are visibly biased
    exact = scgf(MODEL, s, count).theta[0]
    small = cloning(MODEL, s, count, n_clones=8, n_collisions=300, n_populations=20, seed=17)
    large = cloning(MODEL, s, count, n_clones=256, n_collisions=300, n_populations=20, seed=17)
    bias_small, bias_large = small.scgf - exact, large.scgf - exact
    assert abs(bias_small) > Z * small.stderr  # 8 clones: biased, many error bars away
    assert abs(bias_large) < Z * large.stderr + 0.2 * abs(bias_small)
    assert abs(bias_large) < abs(bias_small) / 3


def test_results_are_reproducible_from_the_seed_whatever_the_workers():
    kw = dict(n_clones=50, n_collisions=40, n_populations=3)
    a = cloning(MODEL, 0.3, "emission", seed=18, **kw)
    b = cloning(MODEL, 0.3, "emission", seed=18, n_jobs=2, backend="threading", **kw)
    c = cloning(MODEL, 0.3, "emission", seed=19, **kw)
    assert np.array_equal(a.log_growth, b.log_growth)
    assert a.scgf == b.scgf and a.stderr == b.stderr
    assert not np.array_equal(a.log_growth, c.log_growth)
    assert a.log_growth.shape == (3, 40) and a.populations.shape == (3,)
    assert a.burn_in == 10 and a.seed == 18
    assert "populations x 50 clones" in repr(a)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(s=math.nan), r"^s must be a finite real number"),
        (dict(s=math.inf), r"^s must be a finite real number"),
        (dict(n_clones=1), r"^n_clones must be an integer >= 2, got 1$"),
        (dict(count="photons"), r"^count must be one of .*got 'photons'$"),
        (dict(n_populations=1), r"^n_populations must be an integer >= 2, got 1$"),
        (dict(n_collisions=0), r"^n_collisions must be an integer >= 1, got 0$"),
        (dict(burn_in=10), r"^burn_in must be an integer in \[0, n_collisions - 1\]"),
        (dict(n_jobs=0), r"^n_jobs must be a non-zero integer"),
    ],
)
def test_bad_input_fails_before_work(monkeypatch, kwargs, match):
    def no_work(*args, **kw):  # pragma: no cover - must not run
        raise AssertionError("a population ran")

    monkeypatch.setattr(cloning_module, "_run_population", no_work)
    args = dict(s=0.3, count="g", n_clones=10, n_collisions=10, seed=1) | kwargs
    with pytest.raises(ValueError, match=match) as err:
        cloning(MODEL, args.pop("s"), args.pop("count"), **args)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_cloning_with_poisson_arrivals_agrees_with_the_averaged_channel():
    model = MODEL.replace(arrivals=tj.Arrivals.poisson())
    for s in (-0.3, 0.3):
        exact = scgf(model, s, "g").theta[0]
        out = cloning(model, s, "g", seed=20, **RUN)
        assert abs(_z(out, exact)) < Z, (out, exact)


@pytest.mark.slow
def test_cloning_with_a_rabi_collision_runs_the_sparse_driver():
    model = tj.Micromaser(theta=1.05, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=14,
                          collision=tj.Rabi(g_over_omega=0.1))  # fmt: skip
    exact = scgf(model, 0.3, "g").theta[0]
    out = cloning(model, 0.3, "g", seed=21, **RUN)
    assert abs(_z(out, exact)) < Z, (out, exact)


def test_a_population_that_all_leaks_is_reported():
    # every excited qubit lifts level 1 to the cutoff 2: sin^2(theta sqrt 2) = 1
    model = tj.Micromaser(theta=math.pi / (2 * math.sqrt(2)), q=0.0, cutoff=2)
    with pytest.raises(ValueError, match=r"^every clone of population 0 leaked .* cutoff"):
        cloning(model, 0.0, "g", n_clones=2, n_collisions=50, seed=1)
