"""The paper's cases (SPEC Sec. 7) and the computations behind each figure.

Everything a figure shows is computed here and returned as plain arrays; drawing
and writing files live in :mod:`analysis.reproduce`. Each curve is solved exactly
(every collision) and with trajectories (points with error bars); the claims of the
paper are turned into numbers by :func:`claims`.

Cutoffs: the incoherent detuned cases climb to E ~ 60 within 2000 collisions and
need N = 300; everything else lives below level 60 (the coherent pump is blocked at
59 -> 60 for theta = pi/sqrt(15)) and runs at N = 60. :func:`cutoff_change` measures
what raising the cutoff by half changes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

import trajectories as tj
from trajectories.solvers.exact import ExactPropagator

__all__ = [
    "Curve",
    "CURVES",
    "FIGURES",
    "CurveResult",
    "run_curve",
    "escape_scan",
    "steady_energy_vs_q",
    "claims",
    "settle_times",
    "rare_sector",
    "steady_summary",
    "lower_sector_fano",
    "cutoff_change",
    "eq7_check",
    "SETTLE_TOLS",
    "TRAP",
]

FINE = tj.fine_tuned_theta(15)
DETUNED = tj.fine_tuned_theta(15.6)
#: relative tolerances |x(k) - x(last)| <= tol |x(last)| used for energy and purity alike
#: (the Fig. 4 claim compares their settling times)
SETTLE_TOLS = (1e-3, 1e-4)
#: first level above the blocked transition 14 -> 15 of theta = pi/sqrt(15)
TRAP = 15


@dataclasses.dataclass(frozen=True)
class Curve:
    """One line of one of the paper's figures."""

    key: str
    label: str
    model: tj.Micromaser
    seed: int


def _curve(key, label, seed, **kw) -> Curve:
    return Curve(key, label, tj.Micromaser(**kw), seed)


CURVES: dict[str, Curve] = {
    c.key: c
    for c in [
        # Figs. 1-2: incoherent qubits (c = 0), no loss
        _curve("inc_fine_q025", r"$q=0.25,\ \theta=\pi/\sqrt{15}$", 101,
               theta=FINE, q=0.25, c=0.0, cutoff=300),
        _curve("inc_det_q025", r"$q=0.25,\ \theta=\pi/\sqrt{15.6}$", 102,
               theta=DETUNED, q=0.25, c=0.0, cutoff=300),
        _curve("inc_fine_q0", r"$q=0,\ \theta=\pi/\sqrt{15}$", 103,
               theta=FINE, q=0.0, c=0.0, cutoff=300),
        _curve("inc_det_q0", r"$q=0,\ \theta=\pi/\sqrt{15.6}$", 104,
               theta=DETUNED, q=0.0, c=0.0, cutoff=300),
        # Figs. 3-4: coherent qubits (c = 1), no loss
        _curve("coh_fine", r"$\theta=\pi/\sqrt{15}$", 201,
               theta=FINE, q=0.25, c=1.0, cutoff=60),
        _curve("coh_det", r"$\theta=\pi/\sqrt{15.6}$", 202,
               theta=DETUNED, q=0.25, c=1.0, cutoff=60),
        # Figs. 5-7: coherent qubits with thermal loss, nbar = 0.15
        _curve("loss_fine_01", r"$\theta=\pi/\sqrt{15},\ \gamma t_r=0.1$", 301,
               theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=60),
        _curve("loss_det_01", r"$\theta=\pi/\sqrt{15.6},\ \gamma t_r=0.1$", 302,
               theta=DETUNED, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=60),
        _curve("loss_fine_0001", r"$\theta=\pi/\sqrt{15},\ \gamma t_r=0.001$", 303,
               theta=FINE, q=0.25, c=1.0, gamma_tr=0.001, nbar=0.15, cutoff=60),
        _curve("loss_det_0001", r"$\theta=\pi/\sqrt{15.6},\ \gamma t_r=0.001$", 304,
               theta=DETUNED, q=0.25, c=1.0, gamma_tr=0.001, nbar=0.15, cutoff=60),
    ]
}  # fmt: skip

#: figure -> (observable, curve keys)
FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fig1": ("energy", ("inc_fine_q025", "inc_det_q025", "inc_fine_q0", "inc_det_q0")),
    "fig2": ("purity", ("inc_fine_q025", "inc_fine_q0")),
    "fig3": ("energy", ("coh_fine", "coh_det")),
    "fig4": ("purity", ("coh_fine", "coh_det")),
    "fig5": ("energy", ("loss_fine_01", "loss_det_01", "loss_fine_0001", "loss_det_0001")),
    "fig6": ("purity", ("loss_fine_01", "loss_det_01", "loss_fine_0001", "loss_det_0001")),
    "fig7": ("fano", ("loss_fine_01", "loss_det_01", "loss_fine_0001", "loss_det_0001")),
}

#: the purity of the incoherent N = 300 cases is not needed (Fig. 2 is fine-tuned, where
#: levels >= 15 stay empty); rebuilding rho there would cost 20 x N^2 per checkpoint
_RHO_AT_LAST_ONLY = {"inc_det_q025", "inc_det_q0"}


@dataclasses.dataclass(frozen=True)
class CurveResult:
    curve: Curve
    exact: tj.ExactResult
    ensemble: tj.EnsembleResult | None


def run_curve(
    curve: Curve,
    *,
    n_collisions: int = 2000,
    trajectories: int = 2000,
    every: int = 50,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> CurveResult:
    """Exact solution at every collision and a trajectory ensemble every ``every`` collisions.

    ``progress`` goes to :func:`trajectories.simulate` (default: a bar when a person watches).
    """
    exact = tj.solve_exact(curve.model, n_collisions)
    ens = None
    if trajectories > 0:
        ks = np.unique(np.r_[np.arange(0, n_collisions + 1, every), n_collisions])
        ens = tj.simulate(
            curve.model,
            n_collisions,
            trajectories,
            seed=curve.seed,
            n_jobs=n_jobs,
            chunk_size=max(1, math.ceil(trajectories / 40)),
            checkpoints=ks,
            rho_checkpoints="last" if curve.key in _RHO_AT_LAST_ONLY else "all",
            progress=progress,
        )
    return CurveResult(curve, exact, ens)


def escape_scan(
    deltas: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2),
    *,
    q: float = 0.25,
    trap: int = 15,
    cutoff: int = 120,
    max_collisions: int = 4_000_000,
    block: int = 500,
) -> dict[str, Any]:
    r"""Fig. 1 inset: escape from the fine-tuned plateau at :math:`\theta = \pi/\sqrt{15+\delta}`.

    Exact populations path (c = 0, no loss: O(N) per collision). The escape time
    :math:`t^*` is the first collision at which the probability to be below level
    ``trap`` (the plateau's levels 0..14) falls to 1/2; weight that has climbed
    through the cutoff counts as escaped, so the criterion does not depend on it.
    The plateau survival probability P(n < ``trap``) is recorded on a logarithmic grid
    until it falls below 1% (after the escape the energy grows without bound, as in
    Fig. 1 at pi/sqrt(15.6)). Returns ``delta, dtheta, t_escape`` arrays, the fitted
    exponent of :math:`t^* \propto \delta\theta^{p}` with its standard error, and the
    survival curves.
    """
    grid = np.unique(np.round(np.logspace(0, math.log10(max_collisions), 400)).astype(int))
    rows, curves = [], {}
    for delta in deltas:
        model = tj.Micromaser(theta=tj.fine_tuned_theta(15 + delta), q=q, c=0.0, cutoff=cutoff)
        prop = ExactPropagator(model)
        p = np.zeros(cutoff)
        p[0] = 1.0
        k, t_escape, gi = 0, None, 0
        ks, survival = [0], [1.0]
        while k < max_collisions:
            for _ in range(block):
                p, _ = prop.step_populations(p)  # weight through the cutoff has escaped
                k += 1
                s_k = float(p[:trap].sum())
                while gi < grid.size and grid[gi] < k:
                    gi += 1
                if gi < grid.size and grid[gi] == k:
                    ks.append(k)
                    survival.append(s_k)
                if t_escape is None and s_k <= 0.5:
                    t_escape = k
            if s_k < 0.01:
                break
        rows.append((delta, FINE - model.theta, t_escape if t_escape is not None else np.nan))
        curves[delta] = (np.array(ks), np.array(survival))
    delta, dtheta, t_escape = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    ok = np.isfinite(t_escape)
    x, y = np.log(dtheta[ok]), np.log(t_escape[ok])
    coef, cov = np.polyfit(x, y, 1, cov=True) if ok.sum() > 2 else (np.full(2, np.nan), None)
    slope_err = float(np.sqrt(cov[0, 0])) if cov is not None else float("nan")
    return {
        "delta": delta,
        "dtheta": dtheta,
        "t_escape": t_escape,
        "exponent": float(coef[0]),
        "exponent_stderr": slope_err,
        "prefactor": float(np.exp(coef[1])),
        "cutoff": cutoff,
        "trap": trap,
        "curves": curves,
    }


def steady_energy_vs_q(
    qs_line: np.ndarray | None = None,
    qs_points: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9),
    *,
    m: int = 15,
    n_collisions: int = 3000,
) -> dict[str, np.ndarray]:
    """Fig. 3 inset: steady energy vs q from Eq. 15 (line) and from long exact runs (points)."""
    qs_line = np.linspace(0.0, 1.0, 201) if qs_line is None else qs_line
    n = np.arange(m)
    e_line = np.array([tj.coherent_steady_populations(m, q) @ n for q in qs_line])
    e_runs = []
    for q in qs_points:
        model = tj.Micromaser(theta=tj.fine_tuned_theta(m), q=q, c=1.0, cutoff=m + 10)
        e_runs.append(tj.solve_exact(model, n_collisions, checkpoints=[n_collisions]).energy[-1])
    return {
        "q_line": qs_line,
        "energy_line": e_line,
        "q_points": np.array(qs_points),
        "energy_points": np.array(e_runs),
        "energy_closed_form_at_points": np.array(
            [tj.coherent_steady_populations(m, q) @ n for q in qs_points]
        ),
    }


def _settle(k: np.ndarray, ok: np.ndarray) -> int:
    """First k from which ``ok`` holds at every later checkpoint."""
    bad = np.flatnonzero(~ok)
    if bad.size == 0:
        return int(k[0])
    if bad[-1] == k.size - 1:
        return -1
    return int(k[bad[-1] + 1])


def claims(results: dict[str, CurveResult]) -> dict[str, Any]:
    """The paper's claims as numbers from the exact solutions."""
    out: dict[str, Any] = {}
    ex = {key: r.exact for key, r in results.items()}
    if "inc_fine_q025" in ex:
        e = ex["inc_fine_q025"]
        out["K1"] = _settle(e.k, np.abs(e.energy - e.energy[-1]) <= 0.01 * e.energy[-1])
        out["E_fine_q025"] = float(e.energy[-1])
        out["P_fine_q025"] = float(e.purity[-1])
        out["E_closed_q025"] = float(tj.incoherent_steady_populations(15, 0.25) @ np.arange(15))
        out["P_closed_q025"] = tj.incoherent_steady_purity(15, 0.25)
    if "inc_fine_q0" in ex:
        e = ex["inc_fine_q0"]
        out["K2"] = _settle(e.k, 1.0 - e.purity < 1e-3)
        out["E_fine_q0"] = float(e.energy[-1])
        out["K_energy_q0"] = _settle(e.k, np.abs(e.energy - e.energy[-1]) <= 0.01 * e.energy[-1])
    for key in ("inc_det_q025", "inc_det_q0"):
        if key in ex:
            e = ex[key]
            out[f"E_{key}"] = float(e.energy[-1])
            half = e.k.size // 2
            out[f"growth_{key}"] = float(e.energy[-1] - e.energy[half])
    for key in ("coh_fine", "coh_det", "loss_fine_01", "loss_det_01", "loss_fine_0001",
                "loss_det_0001"):  # fmt: skip
        if key in ex:
            e = ex[key]
            out[f"E_{key}"] = float(e.energy[-1])
            out[f"P_{key}"] = float(e.purity[-1])
            out[f"F_{key}"] = float(e.fano[-1])
            out[f"W_{key}"] = float(e.ergotropy[-1])
            late = e.k >= e.k[-1] // 2
            out[f"Fmax_late_{key}"] = float(np.nanmax(e.fano[late]))
            out[f"K_energy_{key}"] = _settle(
                e.k, np.abs(e.energy - e.energy[-1]) <= 0.01 * e.energy[-1]
            )
            out[f"K_purity_{key}"] = _settle(e.k, np.abs(e.purity - e.purity[-1]) <= 1e-3)
            out[f"upper_{key}"] = float(e.populations[-1, 15:].sum())
    if "coh_fine" in ex:
        out["E_closed_coh"] = float(tj.coherent_steady_populations(15, 0.25) @ np.arange(15))
    out["settle"] = settle_times(results)
    return out


def settle_times(
    results: dict[str, CurveResult], keys: tuple[str, ...] = ("coh_fine", "inc_fine_q0")
) -> dict[str, dict[str, dict[str, int]]]:
    """First collision from which |x(k) - x(last)| <= tol |x(last)| at every later collision,
    for energy and purity with the same relative tolerances :data:`SETTLE_TOLS`."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for key in keys:
        if key not in results:
            continue
        e = results[key].exact
        out[key] = {
            obs: {
                f"{tol:g}": _settle(
                    e.k,
                    np.abs(getattr(e, obs) - getattr(e, obs)[-1]) <= tol * abs(getattr(e, obs)[-1]),
                )
                for tol in SETTLE_TOLS
            }
            for obs in ("energy", "purity")
        }
    return out


def lower_sector_fano(populations: np.ndarray, trap: int = TRAP) -> np.ndarray:
    """Fano factor of the state conditioned on n < ``trap`` (rows: collisions)."""
    low = populations[:, :trap]
    norm = low.sum(axis=1)
    n = np.arange(trap, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = (low @ n) / norm
        m2 = (low @ n**2) / norm
        return (m2 - m1**2) / m1


def rare_sector(result: CurveResult, trap: int = TRAP) -> dict[str, Any]:
    """The weight above the blocked transition and what a trajectory ensemble sees of it.

    Exact side: the weight w in levels >= ``trap`` at the last collision, its mean photon
    number and its contribution to <n^2>; the Fano factor of the full state and of the state
    conditioned on n < ``trap``. Trajectory side (if any): how many trajectories hold a Fock
    sample at n >= ``trap`` at the last checkpoint and at any checkpoint, and the largest |z|
    of the Fano estimate against the full and against the conditioned exact value. With
    M trajectories the weight is sampled about M w times: an ensemble with M << 1/w shows the
    conditioned state, whatever its error bar says.
    """
    ex = result.exact
    pops = ex.populations
    n = np.arange(pops.shape[1], dtype=float)
    w = pops[:, trap:].sum(axis=1)
    f_low = lower_sector_fano(pops, trap)
    out: dict[str, Any] = {
        "w": float(w[-1]),
        "upper_mean_n": float(pops[-1, trap:] @ n[trap:] / w[-1]) if w[-1] > 0 else math.nan,
        "n2_contribution": float(pops[-1, trap:] @ n[trap:] ** 2),
        "fano": float(ex.fano[-1]),
        "fano_lower": float(f_low[-1]),
        "k_every10": ex.k[::10].tolist(),
        "fano_lower_every10": f_low[::10].tolist(),
        "w_every10": w[::10].tolist(),
    }
    ens = result.ensemble
    if ens is not None:
        idx = np.searchsorted(ex.k, ens.k)
        ok = ens.k > 0
        est, se = ens.fano.mean[ok], ens.fano.stderr[ok] + 2e-10
        fock = ens.per_trajectory.fock
        out.update(
            M=int(ens.n_trajectories),
            fano_traj=float(ens.fano.mean[-1]),
            fano_traj_stderr=float(ens.fano.stderr[-1]),
            z_full=float(np.nanmax(np.abs(est - ex.fano[idx][ok]) / se)),
            z_lower=float(np.nanmax(np.abs(est - f_low[idx][ok]) / se)),
            sampled_last=int(np.sum(fock[:, -1] >= trap)),
            sampled_any=int(np.sum(np.any(fock >= trap, axis=1))),
            expected_last=float(ens.n_trajectories * w[-1]),
        )
    return out


def steady_summary(result: CurveResult) -> dict[str, Any]:
    """The fixed point of the one-step channel on the curve's cutoff, against the run.

    ``steady_state`` (residual <= 1e-12, refuses otherwise); its slowest relaxation time
    -1/ln|lambda_1| (the metastable mode when there is one) and, when the channel is
    metastable, the quasi-stationary state reached from the vacuum and its lifetime.
    """
    from trajectories.solvers.spectral import steady_state

    ss = steady_state(result.curve.model)
    rel = ss.spectrum.relaxation_collisions
    out = {
        "cutoff": result.curve.model.cutoff,
        "energy": float(ss.energy),
        "purity": float(ss.purity),
        "residual": float(ss.residual),
        "metastable": bool(ss.metastable),
        "relaxation": float(rel[1]),
        "run_minus_fixed": float(result.exact.energy[-1] - ss.energy),
    }
    if ss.quasi_stationary is not None:
        qs = ss.quasi_stationary
        out.update(qs_energy=float(qs.energy), qs_lifetime=float(qs.lifetime))
    return out


def cutoff_change(curve: Curve, n_collisions: int = 2000, factor: float = 1.5) -> dict[str, float]:
    """Largest change of each observable over all collisions when the cutoff grows by half."""
    ks = range(0, n_collisions + 1, 10)
    a = tj.solve_exact(curve.model, n_collisions, checkpoints=ks)
    bigger = curve.model.replace(cutoff=int(math.ceil(factor * curve.model.cutoff)))
    b = tj.solve_exact(bigger, n_collisions, checkpoints=ks)
    return {
        name: float(np.nanmax(np.abs(getattr(a, name) - getattr(b, name))))
        for name in ("energy", "purity", "fano", "ergotropy")
    } | {"cutoff": curve.model.cutoff, "bigger": bigger.cutoff}


def eq7_check(cutoff: int = 30, seed: int = 5) -> dict[str, float]:
    """The paper's Eq. (7) as printed vs with the stray a^dag removed, against our channel.

    Dense operators on ``cutoff`` levels, c = 1, q = 0.25, theta = pi/sqrt(15), applied
    to a random state whose top levels are empty (so truncation plays no role).
    Returns the largest deviations from the channel built from U (SPEC Sec. 2.1) and the
    Hermiticity and trace errors of each version.
    """
    rng = np.random.default_rng(seed)
    n = cutoff
    low = n - 3
    g = rng.normal(size=(low, low)) + 1j * rng.normal(size=(low, low))
    rho = np.zeros((n, n), dtype=complex)
    rho[:low, :low] = g @ g.conj().T
    rho /= np.trace(rho).real
    q, c, theta = 0.25, 1.0, FINE
    levels = np.arange(n, dtype=float)
    a = np.diag(np.sqrt(levels[1:]), 1)
    ad = a.T
    c_n1 = np.diag(np.cos(theta * np.sqrt(levels + 1)))
    c_n = np.diag(np.cos(theta * np.sqrt(levels)))
    s_n1 = np.diag(np.sin(theta * np.sqrt(levels + 1)) / np.sqrt(levels + 1))
    k = c * math.sqrt(q * (1 - q))
    common = (
        (1 - q) * c_n1 @ rho @ c_n1
        + q * s_n1 @ a @ rho @ ad @ s_n1
        + (1 - q) * ad @ s_n1 @ rho @ s_n1 @ a
        + q * c_n @ rho @ c_n
    )
    coherent = c_n @ rho @ s_n1 @ a + c_n1 @ rho @ ad @ s_n1 - s_n1 @ a @ rho @ c_n1
    printed = common + 1j * k * (coherent - ad @ s_n1 @ rho @ ad @ c_n)
    corrected = common + 1j * k * (coherent - ad @ s_n1 @ rho @ c_n)
    model = tj.Micromaser(theta=theta, q=q, c=c, cutoff=n)
    ours, _ = tj.CollisionChannel(model).apply_dm(rho)
    return {
        "cutoff": cutoff,
        "q": q,
        "c": c,
        "printed_vs_ours": float(np.max(np.abs(printed - ours))),
        "corrected_vs_ours": float(np.max(np.abs(corrected - ours))),
        "printed_hermiticity_error": float(np.max(np.abs(printed - printed.conj().T))),
        "printed_trace_error": float(abs(np.trace(printed) - 1)),
        "corrected_trace_error": float(abs(np.trace(corrected) - 1)),
    }
