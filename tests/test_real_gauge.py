"""The banded driver's two paths: float64 in the real gauge and complex128.

Both draw the same random numbers in the same order, so on the same seed they give the
same discrete records and the same continuous ones up to rounding. Also: the fused
collision + loss pass of ``run_banded`` against the unfused ``collide_banded`` +
``loss_interval`` (the sparse driver's leaves) on the same draws.
"""

import numpy as np
import pytest

import trajectories as tj
from trajectories._streams import DYNAMICS, new_state, stream_key, uniform
from trajectories._streams import start as start_stream
from trajectories.channels.collisions import collision_sequence
from trajectories.channels.kraus_unravelling import collide_banded
from trajectories.channels.loss import LossChannel
from trajectories.channels.loss_unravelling import loss_interval
from trajectories.solvers.montecarlo import kernels
from trajectories.solvers.montecarlo.chunks import InitialStates, Plan, chunk_records, run_chunk
from trajectories.solvers.montecarlo.kernel_inputs import (
    KernelInputs,
    PlanArrays,
    new_carry,
)

N = 30
KEY = stream_key(2026)
MODELS = {
    "fig5": dict(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15),
    "complex_c": dict(theta=tj.fine_tuned_theta(12), q=0.4, c=0.6 * np.exp(0.9j), gamma_tr=0.2),
    "strong_loss": dict(theta=0.9, q=0.3, c=0.5j, gamma_tr=0.7, nbar=0.5),
    "mixed_lossless": dict(theta=tj.fine_tuned_theta(20), q=0.35, c=-0.3),
    "incoherent": dict(theta=0.7, q=0.25, c=0.0, gamma_tr=0.1, nbar=0.15),
}


def _inputs(model: tj.Micromaser, n_collisions: int = 150) -> KernelInputs:
    return KernelInputs.from_channels(collision_sequence(model), LossChannel(model), n_collisions)


def _initial(kind: str, model: tj.Micromaser) -> np.ndarray:
    if kind == "fock_mixture":
        return np.diag(np.r_[0.5, 0.3, 0.2, np.zeros(N - 3)])
    # a coherent state whose phases follow the gauge: real there, complex outside
    alpha = 1.3 * 1j * np.exp(1j * np.angle(model.qubit_state[0, 1]))
    psi = tj.coherent_state(alpha, N)
    return np.outer(psi, psi.conj())


@pytest.mark.parametrize("initial", ["fock_mixture", "gauge_coherent"])
@pytest.mark.parametrize("name", list(MODELS))
def test_real_path_reproduces_the_complex_path_on_the_same_draws(name, initial):
    model = tj.Micromaser(cutoff=N, **MODELS[name])
    arrays = _inputs(model)
    states = InitialStates.from_density_matrix(_initial(initial, model))
    assert arrays.real_collision is not None and arrays.real_initial(states.vectors) is not None
    plan = Plan(np.array([0, 7, 60, 150]), np.array([-1, 0, 1, 2]), 30)
    real = run_chunk(arrays, plan, states, 600, 200, stream_key(5), 3)
    cplx = run_chunk(arrays, plan, states, 600, 200, stream_key(5), 3, real_path=False)
    for field in ("fock", "emissions", "absorptions", "qubit_g", "qubit_e", "alive", "n_jumps"):
        assert np.array_equal(getattr(real, field), getattr(cplx, field)), field
    for field in ("n_mean", "n2_mean", "jump_times", "leak_expected"):
        a, b = getattr(real, field), getattr(cplx, field)
        assert np.allclose(a, b, rtol=0, atol=1e-11, equal_nan=True), field
    # rho mapped back from the gauge: the coherences carry the phases g_m conj(g_n)
    assert np.max(np.abs(real.rho_sum - cplx.rho_sum)) / 200 < 1e-12
    if not (name == "incoherent" and initial == "fock_mixture"):  # Fock states stay Fock
        assert np.max(np.abs(cplx.rho_sum[:, 0, 1])) > 1e-3  # coherences present


def test_dispatch_uses_the_complex_path_when_the_gauged_state_is_not_real():
    model = tj.Micromaser(cutoff=N, **MODELS["fig5"])
    arrays = _inputs(model)
    psi = tj.coherent_state(1.3, N)  # real amplitudes: i^-n psi_n is not real
    states = InitialStates.from_density_matrix(np.outer(psi, psi))
    assert arrays.real_initial(states.vectors) is None
    vacuum = np.zeros((N, N))
    vacuum[0, 0] = 1.0
    assert arrays.real_initial(InitialStates.from_density_matrix(vacuum).vectors) is not None


def test_real_gauge_makes_the_jaynes_cummings_kraus_operators_real():
    model = tj.Micromaser(cutoff=N, **MODELS["complex_c"])
    arrays = _inputs(model)
    g = arrays.gauge
    assert np.allclose(np.abs(g), 1.0)
    col, real = arrays.collision, arrays.real_collision
    for j, shift in enumerate(col.ks):
        dense = np.diag(col.kd[j])
        dense_r = np.diag(real.kd[j])
        rows = np.arange(1, N) if shift == 1 else np.arange(N - 1)
        dense[rows, rows - shift] = col.ko[j, rows]
        dense_r[rows, rows - shift] = real.ko[j, rows]
        gauged = g.conj()[:, None] * dense * g[None, :]
        big = np.unravel_index(np.argmax(np.abs(gauged)), gauged.shape)
        phase = gauged[big] / abs(gauged[big])
        assert np.allclose(gauged, phase * dense_r, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "name, start, n_coll",
    [("strong_loss", "coherent", 40), ("fig5", "vacuum", 300)],
)
def test_fused_collision_and_loss_equal_collide_then_loss_interval(name, start, n_coll):
    """run_banded (fused passes, support tracking: levels above the state's support are
    left out) against collide_banded + loss_interval on all N levels, same draws. In the
    Fig. 5 case the state lives below the blocked 14 -> 15 transition most of the time."""
    model = tj.Micromaser(cutoff=N, **MODELS[name])
    arrays = _inputs(model, n_coll)
    psi0 = tj.coherent_state(0.8 + 0.5j, N) if start == "coherent" else tj.fock_state(0, N)
    psi0 = psi0.astype(complex)
    max_jumps = 400
    ks = np.array([0, n_coll])
    out = chunk_records(1, N, Plan(ks, np.array([-1, 0]), max_jumps), 2)
    a, col, loss = arrays, arrays.collision, arrays.loss
    kernels.run_banded(
        psi0[None, :].copy(), col, a.outcomes, loss, a.beam_arrays,
        PlanArrays(ks, np.array([-1, 0]), max_jumps, 0, 0, n_coll, 0), KEY, 17, out,
        new_carry(1, 2),
    )  # fmt: skip
    out = out._asdict()
    # the same trajectory (number 17), unfused, from Python: the same dynamics stream
    rng = new_state()
    start_stream(rng, KEY[0], KEY[1], np.uint64(17), np.uint64(DYNAMICS))
    psi, buf = psi0.copy(), np.empty(N, complex)
    jump_log = np.zeros((max_jumps + 1, 2))
    sqrt_n = np.sqrt(np.arange(N + 1.0))
    n_em = n_ab = 0
    leak = 0.0
    for k in range(1, n_coll + 1):
        j, p_leak, _ = collide_banded(
            psi, buf, col.kd, col.ko, col.ks, col.leak_top, uniform(rng), psi.shape[0]
        )
        assert j >= 0
        de, da, alive, lv = loss_interval(
            psi, buf, sqrt_n, loss.gamma, loss.nbar, loss.full_decay, loss.full_damp, loss.leak,
            rng, jump_log, k - 1.0,
        )  # fmt: skip
        assert alive
        n_em, n_ab, leak = n_em + de, n_ab + da, leak + p_leak + lv
    count = int(jump_log[0, 0])
    assert count > 20 and count == out["n_jumps"][0] == n_em + n_ab <= max_jumps
    assert (out["emissions"][0, -1], out["absorptions"][0, -1]) == (n_em, n_ab)
    assert np.allclose(out["jump_times"][0, :count], jump_log[1 : count + 1, 0], atol=1e-12)
    assert np.allclose(out["jump_kinds"][0, :count], jump_log[1 : count + 1, 1])
    assert abs(out["leak_expected"][-1] - leak) < 1e-15
    p = np.abs(psi) ** 2
    assert abs(out["n_mean"][0, -1] - p @ np.arange(N)) < 1e-11
    rho = np.outer(psi, psi.conj())
    assert np.allclose(np.triu(out["rho_sum"][0]), np.triu(rho), atol=1e-12)
