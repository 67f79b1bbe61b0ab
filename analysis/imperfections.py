r"""A real micromaser: random arrivals, interaction-time spread and imperfect detection.

Produces ``docs/IMPERFECTIONS.md``, its figures (``docs/figures/imperfections-*.png``) and
``data/imperfections/results.json``::

    python -m analysis.imperfections                 # ~3 min on 2 cores
    python -m analysis.imperfections --report-only   # re-render page and figures from the data

The page is rendered from the data file only (:func:`render`), so the two cannot disagree.
Three parts:

(a) the classic micromaser (ground-state cavity pumped by excited qubits, ``q = 0``,
    ``c = 0``): steady photon number and Mandel Q against the pump parameter
    :math:`\Theta = \theta\sqrt{N_{ex}}`, :math:`N_{ex} = 1/(\gamma t_r)`, for regular,
    Poisson and Bernoulli(1/2) pumping and with a Gaussian theta spread; the steady
    populations of the incoherent model form a Markov chain, solved directly (checked against
    :func:`trajectories.steady_state` and, for Poisson pumping, against the
    Filipowicz-Javanainen-Meystre detailed balance);
(b) the paper's batteries (fine-tuned ``theta = pi/sqrt(15)``, ``q = 0.25``, incoherent
    ``c = 0`` and coherent ``c = 1``) with and without loss under 1, 5 and 10 % spread and
    Poisson arrivals: exact curves against ``k``, steady states with loss, escape times from
    the plateau below level 15 without loss;
(c) detection with efficiency 0.3-0.5: the Mandel Q of the detected qubit counts, exact,
    the number of repeated runs needed to see it, and a trajectory check of the thinning.

Convergence: every exact run records the weight leaked through its cutoff (below
``leakage_tol = 1e-8``, or the point is left out and said); the steady populations record
their top-level weight; the theta quadrature is converged to 1e-14 on the channel and its
node count is recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import trajectories as tj
from analysis.common import fmt, machine, to_plain
from trajectories._threads import single_threaded_blas
from trajectories.channels.collisions import collision_sequence
from trajectories.channels.loss import population_channel
from trajectories.errors import TruncationError
from trajectories.solvers.spectral import escape_time, steady_state

__all__ = ["main", "render", "figures", "classic_point"]

ROOT = Path(__file__).resolve().parents[1]
FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "data" / "imperfections"
DOC = ROOT / "docs" / "IMPERFECTIONS.md"

THETA15 = tj.fine_tuned_theta(15)
#: classic micromaser: N_ex qubits per photon lifetime
N_EX = 20.0
CLASSIC_CUTOFF = 110
#: the pump grid: steps of 0.05 plus the exact trapping positions (added below)
_GRID = np.round(np.arange(0.1, 15.0001, 0.05), 10)
CLASSIC_NBAR = (0.0, 0.15)


def _trap_pumps(max_pump: float, n_max: int = 20) -> list[tuple[int, int, float]]:
    """``(k, j, Theta)``: theta sqrt(k + 1) = j pi blocks k -> k + 1 for every qubit."""
    out = []
    for k in range(n_max):
        for j in (1, 2):
            pump = j * math.pi * math.sqrt(N_EX / (k + 1))
            if pump <= max_pump:
                out.append((k, j, pump))
    return sorted(out, key=lambda t: t[2])


CLASSIC_PUMP = np.unique(np.concatenate([_GRID, [t[2] for t in _trap_pumps(float(_GRID[-1]))]]))
#: (label, arrivals, Gaussian spread)
CLASSIC_BEAMS = (
    ("regular", "regular", 0.0),
    ("Poisson", "poisson", 0.0),
    ("Bernoulli(1/2)", ("bernoulli", 0.5), 0.0),
    ("regular, 5% spread", "regular", 0.05),
    ("regular, 10% spread", "regular", 0.10),
    ("Poisson, 10% spread", "poisson", 0.10),
)
#: battery variants: (label, arrivals, Gaussian spread)
BATTERY_BEAMS = (
    ("ideal", "regular", 0.0),
    ("1% spread", "regular", 0.01),
    ("5% spread", "regular", 0.05),
    ("10% spread", "regular", 0.10),
    ("Poisson", "poisson", 0.0),
    ("Poisson, 5% spread", "poisson", 0.05),
)
BATTERY_K = 2000
LOSSY = dict(gamma_tr=0.1, nbar=0.15)
EFFICIENCIES = (1.0, 0.5, 0.4, 0.3)
DETECTION_K = 1000


def _arrivals(a) -> tj.Arrivals:
    if isinstance(a, tuple):
        return tj.Arrivals.bernoulli(a[1])
    return tj.Arrivals(a)


def _spread(s: float) -> tj.ThetaSpread:
    return tj.ThetaSpread.gaussian(s)


# ======================================================================= (a) classic
def population_matrix(model: tj.Micromaser) -> np.ndarray:
    """One-step transition matrix of the populations (incoherent qubits), ``T[m, n]``."""
    channel = collision_sequence(model).at(1)
    n = model.cutoff
    coll = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        coll[:, j] = channel.apply_populations(e)[0]
    block, _ = population_channel(model)
    return block @ coll


def steady_populations(model: tj.Micromaser) -> np.ndarray:
    """Fixed point of :func:`population_matrix` (normalised), by one linear solve."""
    t = population_matrix(model)
    n = t.shape[0]
    a = t - np.eye(n)
    a[-1, :] = 1.0  # replace one equation by the normalisation
    b = np.zeros(n)
    b[-1] = 1.0
    p = np.linalg.solve(a, b)
    return np.clip(p, 0.0, None) / np.clip(p, 0.0, None).sum()


def detailed_balance(theta: float, gamma: float, nbar: float, n: int) -> np.ndarray:
    """Poisson-pumped steady populations for excited qubits (Filipowicz et al. 1986)."""
    p = np.ones(n)
    for k in range(1, n):
        s = math.sin(theta * math.sqrt(k)) ** 2
        p[k] = p[k - 1] * (gamma * nbar * k + s) / (gamma * (nbar + 1.0) * k)
    return p / p.sum()


def classic_point(args: tuple) -> dict:
    """Steady <n> and Mandel Q of the classic micromaser for one beam and temperature."""
    label, arrivals, spread, nbar = args
    gamma = 1.0 / N_EX
    mean, q, top, db = [], [], [], 0.0
    nodes = 1
    with single_threaded_blas():
        for pump in CLASSIC_PUMP:
            model = tj.Micromaser(
                theta=pump / math.sqrt(N_EX),
                q=0.0,
                gamma_tr=gamma,
                nbar=nbar,
                cutoff=CLASSIC_CUTOFF,
                arrivals=_arrivals(arrivals),
                theta_spread=_spread(spread),
            )
            p = steady_populations(model)
            k = np.arange(p.size)
            mu = float(p @ k)
            var = float(p @ k**2) - mu * mu
            mean.append(mu)
            q.append(var / mu - 1.0 if mu > 0 else 0.0)
            top.append(float(p[-5:].sum()))
            if arrivals == "poisson" and spread == 0.0:
                want = detailed_balance(model.theta, gamma, nbar, p.size)
                db = max(db, float(np.abs(p - want).max()))
            if spread:
                nodes = max(nodes, collision_sequence(model).quadrature.nodes)
    return {
        "label": label,
        "nbar": nbar,
        "mean": mean,
        "mandel_q": q,
        "top_weight": max(top),
        "detailed_balance_dev": db if arrivals == "poisson" and spread == 0.0 else None,
        "nodes": nodes,
    }


def classic_checks() -> dict:
    """The direct population solve against the package's steady-state solver, 6 points."""
    dev = 0.0
    for pump in (1.0, 3.3, 6.6, 9.9):
        for arr, s in (("regular", 0.0), ("poisson", 0.1)):
            m = tj.Micromaser(
                theta=pump / math.sqrt(N_EX),
                q=0.0,
                gamma_tr=1.0 / N_EX,
                nbar=0.15,
                cutoff=CLASSIC_CUTOFF,
                arrivals=arr,
                theta_spread=_spread(s),
            )
            p = steady_populations(m)
            dev = max(dev, float(np.abs(np.diagonal(steady_state(m).rho).real - p).max()))
    return {"steady_state_dev": dev}


def trapping_positions(max_pump: float) -> list[dict]:
    """Pump values where the transition k -> k+1 is blocked for every qubit (nbar = 0)."""
    return [{"k": k, "j": j, "pump": p} for k, j, p in _trap_pumps(max_pump)]


# ====================================================================== (b) batteries
def _battery_model(c: float, lossy: bool, arrivals, spread: float, cutoff: int) -> tj.Micromaser:
    loss = LOSSY if lossy else dict(gamma_tr=0.0, nbar=0.0)
    return tj.Micromaser(
        theta=THETA15,
        q=0.25,
        c=c,
        cutoff=cutoff,
        arrivals=_arrivals(arrivals),
        theta_spread=_spread(spread),
        **loss,
    )


def battery_case(args: tuple) -> dict:
    """Curves, steady state or escape time of one battery under one beam."""
    c, lossy, label, arrivals, spread = args
    ks = np.unique(np.concatenate([np.arange(0, 50), np.geomspace(50, BATTERY_K, 90).astype(int)]))
    out: dict = {"c": c, "lossy": lossy, "label": label, "arrivals": arrivals, "spread": spread}
    with single_threaded_blas():
        cutoff = 60 if lossy else 300
        model = _battery_model(c, lossy, arrivals, spread, cutoff)
        k_end = BATTERY_K
        while True:
            try:
                ex = tj.solve_exact(model, k_end, checkpoints=ks[ks <= k_end])
                break
            except TruncationError as err:  # keep the converged part of the curve
                k_end = max(int(err.collision) - 1, 1)
                out["truncated_at"] = k_end
        out.update(
            k=ex.k,
            energy=ex.energy,
            purity=ex.purity,
            ergotropy=ex.ergotropy,
            fano=ex.fano,
            leakage=float(ex.total_leakage),
            cutoff=cutoff,
            k_end=k_end,
        )
        if spread:
            out["nodes"] = collision_sequence(model).quadrature.nodes
        if lossy:
            ss = steady_state(model)
            out["steady"] = {
                "energy": ss.energy,
                "purity": ss.purity,
                "ergotropy": ss.ergotropy,
                "fano": ss.fano,
                # slowest relaxation (collisions): the largest finite time of the spectrum
                "relaxation": float(
                    np.max(ss.relaxation_collisions[np.isfinite(ss.relaxation_collisions)])
                ),
                "unique": ss.unique,
                "metastable": ss.metastable,
            }
            # the same with a larger cutoff: converged
            big = steady_state(_battery_model(c, lossy, arrivals, spread, 80))
            out["steady_cutoff_dev"] = abs(big.energy - ss.energy)
        else:
            e = escape_time(_battery_model(c, lossy, arrivals, spread, 60), below=15)
            out["escape"] = {
                "lifetime": e.lifetime,
                "lower_bound": bool(e.is_lower_bound),
                "energy": e.energy,
                "purity": e.purity,
            }
    return out


def lossless_arrivals_check() -> float:
    """Without loss the arrival times do nothing: Poisson equals regular (max |dE|)."""
    a = tj.solve_exact(_battery_model(1.0, False, "regular", 0.05, 60), 300)
    b = tj.solve_exact(_battery_model(1.0, False, "poisson", 0.05, 60), 300)
    return float(np.abs(a.energy - b.energy).max())


# ====================================================================== (c) detection
def detection_case(args: tuple) -> dict:
    """Exact Mandel Q of the detected qubit counts for several efficiencies."""
    name, model = args
    rows = []
    with single_threaded_blas():
        for eta in EFFICIENCIES:
            m = tj.counting.exact_moments(
                model, DETECTION_K, "g", efficiency=eta, checkpoints=[DETECTION_K]
            )
            q = float(m.mandel_q[-1])
            rows.append(
                {
                    "eta": eta,
                    "mean": float(m.mean[-1]),
                    "mandel_q": q,
                    "runs_5sigma": runs_needed(q),
                }
            )
    return {"name": name, "model": model.to_dict(), "rows": rows}


def runs_needed(q: float, z: float = 5.0) -> float:
    r"""Repetitions ``M`` after which a Mandel Q is ``z`` standard errors from 0.

    For nearly Gaussian counts the sample variance has relative standard error
    :math:`\sqrt{2/M}`, so :math:`\mathrm{se}(Q) \approx (1 + Q)\sqrt{2/M}` and
    :math:`M = 2 [z (1 + Q)/Q]^2`.
    """
    if q == 0:
        return math.inf
    return 2.0 * (z * (1.0 + q) / q) ** 2


def detection_trajectories(n_traj: int = 4000, seed: int = 17) -> dict:
    """Thinned trajectory counts against the exact detected moments (Fig. 5 battery)."""
    model = tj.Micromaser(theta=THETA15, q=0.25, c=1.0, cutoff=40, **LOSSY)
    k = 300
    ens = tj.simulate(model, k, n_traj, seed=seed, checkpoints=[0, k], n_jobs=2)
    rows = []
    for eta in (1.0, 0.4):
        stats = tj.counting.from_ensemble(ens, "g", efficiency=eta)
        exact = tj.counting.exact_moments(model, k, "g", efficiency=eta, checkpoints=[k])
        q_hat, q_se = float(stats.mandel_q.mean[-1]), float(stats.mandel_q.stderr[-1])
        rows.append(
            {
                "eta": eta,
                "q": q_hat,
                "q_stderr": q_se,
                "q_exact": float(exact.mandel_q[-1]),
                "z": (q_hat - float(exact.mandel_q[-1])) / q_se,
            }
        )
    return {"trajectories": n_traj, "k": k, "seed": seed, "rows": rows}


# ======================================================================== figures
COLORS = ("black", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def figures(d: dict) -> None:
    """The three figures of the page, from the data only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pump = np.asarray(d["classic"]["pump"])
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)
    for col, nbar in enumerate(CLASSIC_NBAR):
        rows = [r for r in d["classic"]["rows"] if r["nbar"] == nbar]
        for r, color in zip(rows, COLORS, strict=False):
            style = "-" if "spread" not in r["label"] else "--"
            axes[0, col].plot(pump, np.asarray(r["mean"]) / N_EX, style, color=color, lw=1.1,
                              label=r["label"])  # fmt: skip
            axes[1, col].plot(pump, r["mandel_q"], style, color=color, lw=1.1)
        axes[0, col].set_title(rf"$\bar n$ = {nbar:g}, $N_{{ex}}$ = {N_EX:g}")
        axes[1, col].axhline(0.0, color="gray", lw=0.6)
        axes[1, col].set_xlabel(r"pump parameter $\Theta = \theta\sqrt{N_{ex}}$")
        if nbar == 0.0:
            for t in d["classic"]["traps"]:
                axes[1, col].axvline(t["pump"], color="gray", lw=0.4, ls=":")
    axes[0, 0].set_ylabel(r"$\langle n\rangle / N_{ex}$")
    axes[1, 0].set_ylabel("Mandel Q of the photons")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Classic micromaser (excited qubits): steady state vs pump; dotted: trapping "
                 "states (n̄ = 0)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(FIG_DIR / "imperfections-classic.png", dpi=120)
    plt.close(fig)

    for lossy, name in ((False, "lossless"), (True, "lossy")):
        fig, axes = plt.subplots(2, 4, figsize=(13, 6), sharex=True)
        for row, c in enumerate((0.0, 1.0)):
            cases = [b for b in d["batteries"] if b["lossy"] == lossy and b["c"] == c]
            for b, color in zip(cases, COLORS, strict=False):
                k = np.asarray(b["k"], dtype=float)
                for col, key in enumerate(("energy", "purity", "ergotropy", "fano")):
                    style = ":" if "Poisson" in b["label"] else "-"
                    axes[row, col].plot(np.maximum(k, 0.8), b[key], style, color=color, lw=1.1,
                                        label=b["label"])  # fmt: skip
            for col, key in enumerate(("energy", "purity", "ergotropy", "Fano factor")):
                axes[row, col].set_xscale("log")
                axes[row, col].set_title(f"{'c = 0' if c == 0 else 'c = 1'}: {key}", fontsize=9)
            axes[row, 0].set_ylabel("incoherent, c = 0" if c == 0 else "coherent, c = 1")
        for ax in axes[1]:
            ax.set_xlabel("collisions k (k = 0 drawn at 0.8)")
        axes[0, 0].legend(fontsize=7)
        loss = "no loss" if not lossy else r"$\gamma t_r$ = 0.1, $\bar n$ = 0.15"
        title = rf"Fine-tuned batteries ($\theta = \pi/\sqrt{{15}}$, q = 0.25), {loss}; "
        fig.suptitle(title + "curves end where the cutoff stops holding the state", fontsize=10)
        fig.tight_layout()
        fig.savefig(FIG_DIR / f"imperfections-{name}.png", dpi=110)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for det, color in zip(d["detection"], COLORS[1:], strict=False):
        eta = np.array([r["eta"] for r in det["rows"]])
        q = np.array([r["mandel_q"] for r in det["rows"]])
        ax.plot(eta, q, "o", color=color, label=det["name"])
        ax.plot([0, 1], [0, q[eta == 1.0][0]], "-", color=color, lw=0.7)
    ax.axhline(0.0, color="gray", lw=0.6)
    ax.axvspan(0.3, 0.5, color="0.9")
    ax.set_xlabel(r"detection efficiency $\eta$")
    ax.set_ylabel(f"Mandel Q of qubits detected in g (k = {d['meta']['detection_k']})")
    ax.legend(fontsize=7)
    ax.set_title(r"Points: exact; lines: $\eta Q$. Shaded: today's detectors", fontsize=9)
    fig.tight_layout()
    fig.savefig(FIG_DIR / "imperfections-detection.png", dpi=120)
    plt.close(fig)


# ========================================================================= page
def render(d: dict) -> str:
    """The page, from the data only."""
    meta, cl = d["meta"], d["classic"]
    pump = np.asarray(cl["pump"])
    lines = [
        "# A real micromaser: arrivals, interaction-time spread, detection",
        "",
        "Generated by `python -m analysis.imperfections` from `data/imperfections/results.json`"
        f" ({fmt(meta['seconds'])} s on {meta['machine']}, version {meta['version']}); every "
        "number below is read from that file. The physics is in [the model page](MODEL.md), "
        "Sec. 11.",
        "",
        "## Assumptions",
        "",
        "Time in collisions (mean interval t_r), energy in units of hbar omega "
        "(the mean photon number). Random arrivals keep the mean interval t_r. The theta "
        "spread is Gaussian with relative width sigma (truncated at theta >= 0), theta_i = "
        "theta x_i for qubit i. Everything is exact (density matrices, steady states and "
        "escape times from the averaged channels; counting statistics from the tilted "
        "channel) except the last check, which is a trajectory ensemble.",
        "",
        "## (a) The classic micromaser",
        "",
        f"Excited qubits (q = 0, c = 0) pump an initially empty cavity; N_ex = 1/(gamma t_r) = "
        f"{N_EX:g} qubits per photon lifetime, pump parameter Theta = theta sqrt(N_ex) from "
        f"{pump[0]:g} to {pump[-1]:g} in steps of 0.05 plus the {len(cl['traps'])} trapping "
        f"pumps below, cutoff "
        f"{meta['classic_cutoff']}. The steady populations of incoherent qubits form a Markov "
        "chain: each point is one linear solve of its one-step transition matrix.",
        "",
        "![classic](figures/imperfections-classic.png)",
        "",
        "| beam | nbar | min Q | at Theta | max <n>/N_ex | quadrature nodes |",
        "|---|---|---|---|---|---|",
    ]
    for r in cl["rows"]:
        q = np.asarray(r["mandel_q"])
        i = int(np.argmin(q))
        lines.append(
            f"| {r['label']} | {r['nbar']:g} | {q[i]:.3f} | {pump[i]:g} | "
            f"{max(r['mean']) / N_EX:.3f} | {r['nodes']} |"
        )
    rows = {(r["label"], r["nbar"]): r for r in cl["rows"]}

    def at(label, nbar, x):
        return rows[(label, nbar)], int(np.argmin(np.abs(pump - x)))

    def visibility(r, x):
        """Depth of the dip at x: 1 - <n>(x) / (mean of <n> at x - 0.3 and x + 0.3)."""
        n = np.asarray(r["mean"])
        i, lo, hi = (int(np.argmin(np.abs(pump - y))) for y in (x, x - 0.3, x + 0.3))
        return 1.0 - n[i] / (0.5 * (n[lo] + n[hi])), n[i]

    lines += [
        "",
        "Trapping states (nbar = 0): when theta sqrt(k+1) = j pi the transition k -> k+1 is "
        "blocked for every qubit, so a cavity started below k + 1 stays there: a dip of the "
        "photon number where the free steady state would lie above k + 1. Each trapping pump "
        "is on the grid exactly. Dip depth = 1 - <n>(trap) / (mean of <n> at Theta - 0.3 and "
        "Theta + 0.3); "
        "the traps where the ideal regular beam dips by more than 10 %:",
        "",
        "| k -> k+1 blocked | Theta | <n> regular | dip regular | dip Poisson | "
        "dip 5% spread | dip 10% spread |",
        "|---|---|---|---|---|---|---|",
    ]
    deep = []
    groups: dict[float, list] = {}
    for t in cl["traps"]:  # traps at one pump (theta sqrt(k+1) = j pi for several k) together
        groups.setdefault(round(t["pump"], 9), []).append(t)
    for x, ts in sorted(groups.items()):
        v_reg, n_reg = visibility(rows[("regular", 0.0)], x)
        if v_reg <= 0.1:
            continue
        v_poi, _ = visibility(rows[("Poisson", 0.0)], x)
        v5, _ = visibility(rows[("regular, 5% spread", 0.0)], x)
        v10, _ = visibility(rows[("regular, 10% spread", 0.0)], x)
        deep.append((v_reg, v5, v10))
        ks = ", ".join(f"{t['k']} (j = {t['j']})" for t in ts)
        lines.append(
            f"| {ks} | {x:.4f} | {n_reg:.3f} | {v_reg:.3f} | {v_poi:.3f} | {v5:.3f} | {v10:.3f} |"
        )
    deep = np.array(deep)
    reg = rows[("regular", 0.15)]
    poi = rows[("Poisson", 0.15)]
    ber = rows[("Bernoulli(1/2)", 0.15)]
    qr, qp, qb = (float(np.min(r["mandel_q"])) for r in (reg, poi, ber))
    ch = cl["checks"]
    lines += [
        "",
        f"Pump statistics: at nbar = 0.15 the most sub-Poissonian steady state has Q = "
        f"{qr:.3f} with regular pumping, {qb:.3f} with Bernoulli(1/2) and {qp:.3f} with "
        "Poisson pumping: regular injection removes part of the pump noise, the classic "
        "result, and Bernoulli(p) interpolates. A theta spread washes the trapping dips out: "
        f"over the {len(deep)} tabulated traps the mean depth falls from "
        f"{deep[:, 0].mean():.3f} (ideal) to {deep[:, 1].mean():.3f} with a 5 % spread and "
        f"{deep[:, 2].mean():.3f} with 10 %, because sin(theta x sqrt(k+1)) = 0 no longer "
        "holds for every qubit.",
        "",
        f"Checks: the Poisson-pumped populations equal the Filipowicz-Javanainen-Meystre "
        f"detailed balance to {fmt(max(r['detailed_balance_dev'] for r in cl['rows'] if r['detailed_balance_dev'] is not None))}"  # noqa: E501
        f" over the whole grid (both temperatures); the direct solve equals "
        f"`tj.steady_state` to {fmt(ch['steady_state_dev'])} at 8 points; the top five levels "
        f"of the cutoff hold at most {fmt(max(r['top_weight'] for r in cl['rows']))} of the "
        "population at any point.",
        "",
        "## (b) The paper's batteries under a real beam",
        "",
        "Fine-tuned theta = pi/sqrt(15), q = 0.25, incoherent (c = 0) and coherent (c = 1) "
        f"qubits, from the vacuum, {meta['battery_k']} collisions, without loss (cutoff 300) "
        "and with gamma t_r = 0.1, nbar = 0.15 (cutoff 60). Without loss the arrival times do "
        "nothing (nothing happens between collisions): Poisson and regular arrivals give "
        f"the same energies (largest difference {fmt(d['lossless_arrivals_dev'])}), so only "
        "the spread is shown there.",
        "",
        "### Without loss: the plateau below level 15 becomes metastable",
        "",
        "![lossless](figures/imperfections-lossless.png)",
        "",
        "| beam | c | plateau lifetime (collisions) | plateau energy | plateau purity | "
        "converged to k | energy there |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in (b for b in d["batteries"] if not b["lossy"]):
        e = b["escape"]
        life = e["lifetime"]
        life_s = ("> " if e["lower_bound"] else "") + fmt(life)
        if life != "inf" and float(life) > 1e25:  # escape only through the rounding of theta
            life_s = f"blocked ({fmt(life)})"
        lines.append(
            f"| {b['label']} | {b['c']:g} | {life_s} | {fmt(e['energy'])} | {fmt(e['purity'])} | "
            f"{b['k_end']} | {fmt(b['energy'][-1])} |"
        )
    inc = {b["label"]: b for b in d["batteries"] if not b["lossy"] and b["c"] == 0}
    coh = {b["label"]: b for b in d["batteries"] if not b["lossy"] and b["c"] == 1}
    lines += [
        "",
        "The lifetime is the escape time from the quasi-stationary state below level 15 "
        "(`tj.escape_time(model, below=15)`). The ideal plateau is exact: the transition "
        "14 -> 15 is blocked for every qubit, and the only escape left, through "
        "sin(theta sqrt 15) ~ 1e-16 (theta = pi/sqrt(15) rounded to double precision), "
        "gives the 'blocked' lifetimes above 1e30 collisions. With a spread the incoherent "
        "battery, whose "
        "plateau state piles up at level 14, leaves it after "
        f"{fmt(inc['1% spread']['escape']['lifetime'])}, "
        f"{fmt(inc['5% spread']['escape']['lifetime'])} and "
        f"{fmt(inc['10% spread']['escape']['lifetime'])} collisions (1, 5, 10 %); the coherent "
        "battery, whose state sits near E = 6 far below the blocked level, holds for "
        f"{fmt(coh['1% spread']['escape']['lifetime'])}, "
        f"{fmt(coh['5% spread']['escape']['lifetime'])} and "
        f"{fmt(coh['10% spread']['escape']['lifetime'])} collisions. Without loss nothing limits "
        "the energy of the escaped weight, which keeps climbing; the exact curves end "
        "where the weight escaping to the cutoff exceeds 1e-8 ('converged to k'; that "
        "weight is the escaped part, not an error of the plateau).",
        "",
        "### With loss: steady states",
        "",
        "![lossy](figures/imperfections-lossy.png)",
        "",
        "| beam | c | energy | purity | ergotropy | Fano | slowest relaxation (collisions) |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in (b for b in d["batteries"] if b["lossy"]):
        s = b["steady"]
        lines.append(
            f"| {b['label']} | {b['c']:g} | {fmt(s['energy'], 4)} | {fmt(s['purity'], 4)} | "
            f"{fmt(s['ergotropy'], 4)} | {fmt(s['fano'], 4)} | {fmt(s['relaxation'])} |"
        )
    lossy = {(b["label"], b["c"]): b["steady"] for b in d["batteries"] if b["lossy"]}
    dev = max(b["steady_cutoff_dev"] for b in d["batteries"] if b["lossy"])
    unique = all(b["steady"]["unique"] for b in d["batteries"] if b["lossy"])
    g = LOSSY["gamma_tr"]

    def s_(label, c, key):
        return fmt(lossy[(label, c)][key], 3)

    lines += [
        "",
        (
            "With loss the battery has a unique steady state for every beam. "
            if unique
            else "Not every lossy case has a unique steady state (see the table). "
        )
        + "A theta spread changes it little: the coherent battery's purity goes "
        f"{s_('ideal', 1.0, 'purity')} -> {s_('10% spread', 1.0, 'purity')} and its "
        f"ergotropy {s_('ideal', 1.0, 'ergotropy')} -> {s_('10% spread', 1.0, 'ergotropy')} at "
        "10 % spread (the loss, not the blocked transition, holds the state below level 15). "
        "Poisson arrivals matter more, and not only for the worse: the coherent battery's "
        f"purity drops to {s_('Poisson', 1.0, 'purity')} and its Fano factor rises "
        f"{s_('ideal', 1.0, 'fano')} -> {s_('Poisson', 1.0, 'fano')}, while its energy rises "
        f"{s_('ideal', 1.0, 'energy')} -> {s_('Poisson', 1.0, 'energy')} and its ergotropy "
        f"{s_('ideal', 1.0, 'ergotropy')} -> {s_('Poisson', 1.0, 'ergotropy')}. The energy "
        "rises because a photon survives an exponential interval with probability "
        f"E[exp(-gamma T)] = 1/(1 + gamma t_r) = {1.0 / (1.0 + g):.4f}, more than "
        f"exp(-gamma t_r) = {math.exp(-g):.4f} for a regular one (convexity); the random "
        "intervals mix the state, hence the lower purity and the larger Fano factor. The "
        "incoherent battery gains energy too "
        f"({s_('ideal', 0.0, 'energy')} -> {s_('Poisson', 0.0, 'energy')}) but loses "
        f"ergotropy ({s_('ideal', 0.0, 'ergotropy')} -> {s_('Poisson', 0.0, 'ergotropy')}). "
        f"Steady states at cutoff 60 and 80 agree to {fmt(dev)} in energy.",
        "",
        "## (c) What a detector sees",
        "",
        f"Mandel Q of the number of qubits detected in g after k = {meta['detection_k']} "
        "collisions (exact, tilted channel). A detector of efficiency eta thins the counts "
        "binomially, and Q_eta = eta Q exactly. 'Runs for 5 sigma' is the number M of "
        "repeated k-collision experiments after which Q_eta lies 5 standard errors below 0, "
        "M = 2 [5 (1 + Q)/Q]^2 (the sample variance of nearly Gaussian counts has relative "
        "error sqrt(2/M)).",
        "",
        "![detection](figures/imperfections-detection.png)",
        "",
        "| system | eta | mean detected | Q_eta | Q_eta / Q | runs for 5 sigma |",
        "|---|---|---|---|---|---|",
    ]
    for det in d["detection"]:
        q1 = det["rows"][0]["mandel_q"]
        for r in det["rows"]:
            lines.append(
                f"| {det['name']} | {r['eta']:g} | {fmt(r['mean'], 5)} | {r['mandel_q']:.4f} | "
                f"{r['mandel_q'] / q1:.6f} | {fmt(r['runs_5sigma'])} |"
            )
    det = {x["name"].split(",")[0].split(" (")[0]: x for x in d["detection"]}
    coh_rows = det["coherent battery"]["rows"]
    cl_rows = next(x for x in d["detection"] if x["name"].startswith("classic"))["rows"]
    lines += [
        "",
        "The batteries' qubit counts are strongly sub-Poissonian, and a detector of "
        f"efficiency 0.3 still sees Q = {coh_rows[-1]['mandel_q']:.3f} for the coherent "
        f"battery, resolved at 5 sigma after about {fmt(coh_rows[-1]['runs_5sigma'])} runs of "
        f"{meta['detection_k']} qubits. The classic micromaser at its most sub-Poissonian "
        f"photon statistics (photon Q = {qp:.3f}) counts its qubits almost Poissonian over "
        f"{meta['detection_k']} collisions (Q = {cl_rows[0]['mandel_q']:.4f}): a detector "
        f"of efficiency 0.3 needs about {fmt(cl_rows[-1]['runs_5sigma'])} runs to resolve it.",
    ]
    tr = d["detection_trajectories"]
    lines += [
        "",
        f"Trajectory check (Fig. 5 battery, cutoff 40, {tr['trajectories']} trajectories, "
        f"seed {tr['seed']}, k = {tr['k']}): the recorded counts thinned with the run's seed "
        "(`tj.counting.from_ensemble(ens, 'g', efficiency=eta)`) against the exact detected "
        "moments:",
        "",
        "| eta | Q from trajectories | standard error | exact Q_eta | z |",
        "|---|---|---|---|---|",
    ]
    for r in tr["rows"]:
        lines.append(
            f"| {r['eta']:g} | {r['q']:.4f} | {r['q_stderr']:.4f} | {r['q_exact']:.4f} | "
            f"{r['z']:+.2f} |"
        )
    lines.append("")
    return "\n".join(lines)


# ========================================================================= driver
def compute(jobs: int) -> dict:
    t0 = time.time()
    classic_args = [(lab, arr, s, nb) for nb in CLASSIC_NBAR for lab, arr, s in CLASSIC_BEAMS]
    battery_args = [
        (c, lossy, lab, arr, s)
        for c in (0.0, 1.0)
        for lossy in (False, True)
        for lab, arr, s in BATTERY_BEAMS
        if lossy or arr == "regular"  # without loss the arrivals do nothing (checked)
    ]
    det_models = [
        ("coherent battery (Fig. 5 case)", _battery_model(1.0, True, "regular", 0.0, 60)),
        ("incoherent battery, with loss", _battery_model(0.0, True, "regular", 0.0, 60)),
    ]
    with ProcessPoolExecutor(jobs) as pool:
        classic = list(pool.map(classic_point, classic_args))
        batteries = list(pool.map(battery_case, battery_args))
        # the classic micromaser at its most sub-Poissonian pump (Poisson pumping, nbar = 0.15)
        poisson = next(r for r in classic if r["label"] == "Poisson" and r["nbar"] == 0.15)
        i = int(np.argmin(poisson["mandel_q"]))
        pump = float(CLASSIC_PUMP[i])
        det_models.append(
            (
                f"classic micromaser, Poisson pumping, Theta = {pump:g}",
                tj.Micromaser(
                    theta=pump / math.sqrt(N_EX), q=0.0, gamma_tr=1.0 / N_EX, nbar=0.15,
                    cutoff=CLASSIC_CUTOFF, arrivals="poisson",
                ),
            )
        )  # fmt: skip
        detection = list(pool.map(detection_case, det_models))
    return {
        "meta": {
            "machine": machine(),
            "python": platform.python_version(),
            "version": tj.__version__,
            "seconds": None,
            "n_ex": N_EX,
            "classic_cutoff": CLASSIC_CUTOFF,
            "battery_k": BATTERY_K,
            "detection_k": DETECTION_K,
        },
        "classic": {
            "pump": CLASSIC_PUMP,
            "rows": classic,
            "checks": classic_checks(),
            "traps": trapping_positions(float(CLASSIC_PUMP[-1])),
        },
        "batteries": batteries,
        "lossless_arrivals_dev": lossless_arrivals_check(),
        "detection": detection,
        "detection_trajectories": detection_trajectories(),
        "_t0": t0,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: compute (or reload) the data, then render figures and page."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--report-only", action="store_true", help="re-render from the data")
    args = parser.parse_args(argv)
    data_file = DATA_DIR / "results.json"
    if not args.report_only:
        d = compute(args.jobs)
        d["meta"]["seconds"] = time.time() - d.pop("_t0")
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        data_file.write_text(json.dumps(to_plain(d), separators=(",", ":")))
    d = json.loads(data_file.read_text())
    FIG_DIR.mkdir(parents=True, exist_ok=True)
    figures(d)
    DOC.write_text(render(d))
    print(f"wrote {DOC.relative_to(ROOT)}, {data_file.relative_to(ROOT)} and the figures")


if __name__ == "__main__":
    main()
