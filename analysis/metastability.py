r"""Metastability of the micromaser battery from the one-step channel (issue 9).

Produces ``docs/METASTABILITY.md``, its figures and ``data/metastability/results.json``::

    python -m analysis.metastability                  # ~4 min on 2 cores
    python -m analysis.metastability --quick          # skips the 250-level windows
    python -m analysis.metastability --report-only    # re-render page and figures from the data

The page is rendered from the data file only (:func:`render`), so the two cannot disagree.

Everything is computed from :mod:`trajectories.solvers.spectral`: the spectrum of
:math:`T = \Lambda\circ\Phi` (SPEC Sec. 2), quasi-stationary states
:math:`\sum_{k\,\mathrm{slow}}R_k\mathrm{Tr}(L_k^\dagger\rho_0)`, and escape rates from the
probability flux across absorbing boundaries,
:math:`\kappa = [\mathrm{Tr}\rho_{qs} - \mathrm{Tr}T_W(\rho_{qs})]/\mathrm{Tr}\rho_{qs}`,
lifetime :math:`-1/\ln(1-\kappa)` collisions. Direct runs of :func:`trajectories.solve_exact`
are used as checks. Sections:

1. incoherent ``q = 0.25``: escape time from the plateau below level 15 against
   :math:`\delta\theta = \theta - \pi/\sqrt{15}` (the paper's Fig. 1 inset), fit of
   :math:`\tau\propto|\delta\theta|^{-p}`;
2. coherent detuned plateau (``theta = pi/sqrt(15.6)``, ``c = 1``): lifetime without and
   with loss;
3. the two basins at ``gamma t_r = 0.001`` (``theta = pi/sqrt(15)``, ``q = 0.25``, ``c = 1``,
   ``nbar = 0.15``) and the rates between them against ``gamma t_r``;
4. the fixed point against the cutoff (60 ... 250 levels).

Convergence: windows with absorbing boundaries do not depend on the cutoff above them;
the gap table (60 levels) is repeated on 70; direct runs record the population leaked
through their cutoff; escape rates within 10x of their rounding noise are only bounds.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import trajectories as tj
from trajectories._threads import single_threaded_blas
from trajectories.progress import ProgressArg, track
from trajectories.solvers.exact import DEFAULT_LEAKAGE_TOL
from trajectories.solvers.spectral import (
    ONE_TOL,
    SteadyStateError,
    escape_time,
    spectrum,
    steady_state,
)

__all__ = ["main", "TASKS", "render", "figures", "to_plain"]

THETA15 = tj.fine_tuned_theta(15)
Q = 0.25
NBAR = 0.15
ROOT = Path(__file__).resolve().parents[1]
FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "data" / "metastability"
DOC = ROOT / "docs" / "METASTABILITY.md"
PAPER_DATA = ROOT / "data" / "paper"
GAP_CUTOFFS = (60, 70)
#: illustration of a lifetime in seconds: one qubit per microsecond
QUBIT_INTERVAL_S = 1e-6


def _coherent(gamma: float, cutoff: int, theta: float = THETA15) -> tj.Micromaser:
    return tj.Micromaser(theta=theta, q=Q, c=1.0, gamma_tr=gamma, nbar=NBAR, cutoff=cutoff)


def _esc(e) -> dict:
    """Plain numbers of an EscapeTime."""
    return {
        "rate": e.rate,
        "rate_up": e.rate_up,
        "rate_down": e.rate_down,
        "noise": e.rate_noise,
        "noise_up": e.rate_up_noise,
        "noise_down": e.rate_down_noise,
        "lifetime": e.lifetime,
        "lower_bound": e.is_lower_bound,
        "rate_eig": e.rate_from_eigenvalue,
        "converged": e.converged,
        "polish_iterations": e.polish_iterations,
        "energy": e.energy,
        "purity": e.purity,
        "pops": np.diagonal(e.rho).real.copy(),
        "above": e.above,
        "below": e.below,
    }


# ================================================================= 1. incoherent, dtheta
def task_incoherent_escape() -> dict:
    """Escape time from the plateau below 15 for c = 0, q = 0.25, no loss, vs dtheta."""
    paper = [15.01, 15.02, 15.05, 15.1, 15.15, 15.2]  # the paper's inset: theta < pi/sqrt(15)
    other = [14.99, 14.98, 14.95, 14.9, 14.85, 14.8]  # theta > pi/sqrt(15)
    wide = [15.3, 15.4]  # further out the next near-blocked level (16) gets in the way
    rows = []
    for m_eff in paper + other + wide:
        theta = tj.fine_tuned_theta(m_eff)
        model = tj.Micromaser(theta=theta, q=Q, c=0.0, cutoff=60)
        taus = {L: escape_time(model, below=L).lifetime for L in (15, 20, 30)}
        rows.append((m_eff, theta - THETA15, taus[15], taus[20], taus[30]))
    rows = np.array(rows)
    # direct exact runs on a large cutoff: weight below level 20 against k / tau
    direct = {}
    for m_eff in (15.2, 15.1):
        theta = tj.fine_tuned_theta(m_eff)
        model = tj.Micromaser(theta=theta, q=Q, c=0.0, cutoff=150)
        tau = escape_time(model, below=20).lifetime
        k_end = int(3 * tau)
        ks = np.unique(np.linspace(0, k_end, 301).astype(int))
        ex = tj.solve_exact(model, k_end, checkpoints=ks, leakage_tol=math.inf)
        below20 = ex.populations[:, :20].sum(axis=1)
        direct[m_eff] = {
            "k": ex.k,
            "below20": below20,
            "tau": tau,
            "energy": ex.energy,
            "cutoff": model.cutoff,
            "leak": float(ex.leakage[-1]),
        }
    return {"rows": rows, "paper": paper, "other": other, "direct": direct}


def _fit_exponent(dtheta: np.ndarray, tau: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope of log tau against log |dtheta|: (p, standard error, prefactor)."""
    from scipy.stats import linregress

    fit = linregress(np.log(np.abs(dtheta)), np.log(tau))
    return -fit.slope, fit.stderr, math.exp(fit.intercept)


# ========================================================== 2. coherent detuned plateau
def task_coherent_detuned() -> dict:
    """theta = pi/sqrt(15.6), c = 1, q = 0.25: plateau lifetime without and with loss."""
    theta = tj.fine_tuned_theta(15.6)
    out = {"lossless": {}, "lossy": {}}
    lossless = tj.Micromaser(theta=theta, q=Q, c=1.0, cutoff=60)
    vac = tj.fock_state(0, 60)
    for L in (15, 16, 18, 20, 25, 30, 40, 50):
        out["lossless"][L] = _esc(escape_time(lossless, below=L, from_state=vac))
    lossy = tj.Micromaser(theta=theta, q=Q, c=1.0, gamma_tr=0.001, nbar=NBAR, cutoff=80)
    for L in (20, 30, 40, 50):
        out["lossy"][L] = _esc(escape_time(lossy, below=L, from_state=tj.fock_state(0, 80)))
    # the state reached from vacuum, lossless, on 120 levels (direct run)
    ex = tj.solve_exact(
        tj.Micromaser(theta=theta, q=Q, c=1.0, cutoff=120),
        6000,
        checkpoints=[0, 300, 1000, 3000, 6000],
        leakage_tol=math.inf,
    )
    out["direct"] = {
        "k": ex.k,
        "energy": ex.energy,
        "purity": ex.purity,
        "leak": ex.leakage,
        "cutoff": 120,
        "pops_last": ex.populations[-1],
    }
    # Eq. 15 recursion for this theta (Slosser-Meystre cotangent state), log10 p_n / p_0
    n = np.arange(1, 160)
    log_ratio = math.log((1 - Q) / Q) + 2 * np.log(np.abs(1 / np.tan(theta * np.sqrt(n) / 2)))
    out["cot_log10"] = np.concatenate([[0.0], np.cumsum(log_ratio)]) / math.log(10)
    return out


# ================================================================ 3. two basins, gamma
def task_two_basins() -> dict:
    """gamma t_r = 0.001: fixed point, quasi-stationary state from vacuum, basin windows."""
    model = _coherent(0.001, 60)
    t0 = time.perf_counter()
    ss = steady_state(model)
    t_ss = time.perf_counter() - t0
    qs = ss.quasi_stationary
    basin_a = _esc(escape_time(model, below=40))  # plateau below 40: basin A and its escape
    basin_b = _esc(escape_time(model, above=15))  # levels 15-59: basin B
    b_down10 = _esc(escape_time(model, above=10))
    vac = tj.solve_exact(model, 5000, checkpoints=range(0, 5001, 10))  # leakage tol 1e-8
    # |40> spreads over sectors B and C (60-134) before it settles: 150 levels hold it
    from40 = tj.solve_exact(
        _coherent(0.001, 150),
        5000,
        initial_state=tj.fock_state(40, 150),
        checkpoints=range(0, 5001, 10),
    )
    return {
        "ss": {
            "energy": ss.energy,
            "purity": ss.purity,
            "ergotropy": ss.ergotropy,
            "residual": ss.residual,
            "energy_error": ss.energy_error,
            "metastable": ss.metastable,
            "slow_rates": ss.slow_rates,
            "eigenvalues": ss.spectrum.eigenvalues,
            "seconds": t_ss,
            "pops": np.diagonal(ss.rho).real.copy(),
        },
        "qs": {
            "energy": qs.energy,
            "purity": qs.purity,
            "ergotropy": qs.ergotropy,
            "lifetime": qs.lifetime,
            "pops": np.diagonal(qs.rho).real.copy(),
        },
        "A": basin_a,
        "B": basin_b,
        "B10": b_down10,
        "vac": {"k": vac.k, "energy": vac.energy, "purity": vac.purity, "leak": vac.total_leakage},
        "from40": {
            "k": from40.k,
            "energy": from40.energy,
            "purity": from40.purity,
            "above59": from40.populations[:, 60:].sum(axis=1),
            "leak": from40.total_leakage,
        },
    }


GAMMAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 1e-1)


def task_gap(gamma: float, cutoff: int = 60) -> dict:
    """Leading eigenvalues and the flux rates A -> B (escape below 40) and B -> A (escape
    below level 10 from the window [10, cutoff)) for one gamma t_r."""
    model = _coherent(gamma, cutoff)
    spec = spectrum(model, n_eigs=6)
    ab = escape_time(model, below=40)
    ba = escape_time(model, above=10)
    out = {
        "gamma": gamma,
        "cutoff": cutoff,
        "rates_eig": 1.0 - np.abs(spec.eigenvalues),
        "k_ab": ab.rate,
        "k_ab_bound": ab.is_lower_bound,
        "E_A": ab.energy,
        "k_ba": ba.rate_down,
        "k_ba_noise": ba.rate_down_noise,
        "E_B": ba.energy,
    }
    try:
        ss = steady_state(model)
        out.update(E_fixed=ss.energy, metastable=ss.metastable, fixed_err=ss.energy_error)
    except SteadyStateError:
        out.update(E_fixed=np.nan, metastable=True, fixed_err=np.nan)
    return out


# ==================================================================== 4. cutoff scan
def task_cutoff_direct(cutoff: int) -> dict:
    """steady_state on one cutoff (refusals recorded)."""
    model = _coherent(0.001, cutoff)
    t0 = time.perf_counter()
    try:
        ss = steady_state(model)
        spec = ss.spectrum
        res = {
            "ok": True,
            "energy": ss.energy,
            "purity": ss.purity,
            "residual": ss.residual,
            "energy_error": ss.energy_error,
            "slow_rates": ss.slow_rates,
            "pops": np.diagonal(ss.rho).real.copy(),
        }
    except SteadyStateError as err:
        res = {"ok": False, "reason": str(err)}
        spec = err.spectrum
    res.update(cutoff=cutoff, rates_eig=1.0 - np.abs(spec.eigenvalues))
    res["seconds"] = time.perf_counter() - t0
    return res


def task_window(cutoff: int, below: int | None, above: int) -> dict:
    """One escape window on a cutoff (basin states and rates between sectors)."""
    t0 = time.perf_counter()
    e = _esc(escape_time(_coherent(0.001, cutoff), below=below, above=above))
    e.update(cutoff=cutoff, seconds=time.perf_counter() - t0)
    return e


# ============================================================================ driver
def _tasks(quick: bool) -> list[tuple]:
    tasks = [
        ("window", task_window, (250, 200, 60)),  # C -> D (slowest first)
        ("window", task_window, (250, None, 110)),  # D basin, D -> C
        ("window", task_window, (150, None, 40)),  # C basin, C -> B
        ("cutoff", task_cutoff_direct, (150,)),
        ("cutoff", task_cutoff_direct, (120,)),
        ("window", task_window, (150, 100, 0)),  # B -> C
        ("two_basins", task_two_basins, ()),
        ("cutoff", task_cutoff_direct, (100,)),
        ("incoherent", task_incoherent_escape, ()),
        ("detuned", task_coherent_detuned, ()),
        ("cutoff", task_cutoff_direct, (70,)),
        ("cutoff", task_cutoff_direct, (60,)),
    ]
    tasks += [("gap", task_gap, (g, n)) for n in GAP_CUTOFFS for g in GAMMAS]
    if quick:
        tasks = [t for t in tasks if not (t[0] == "window" and t[2][0] == 250)]
    return tasks


#: The computations, as (kind, function, arguments).
TASKS = _tasks(False)


def _call(fn, args):
    with single_threaded_blas():
        return fn(*args)


def run_all(jobs: int, quick: bool, progress: ProgressArg = None) -> dict:
    """Every computation of :func:`_tasks` on ``jobs`` processes; one bar over the tasks
    (``trajectories.progress``: by default when a person watches)."""
    tasks = _tasks(quick)
    results: dict = {"cutoff": {}, "window": {}, "gap": []}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [(kind, args, pool.submit(_call, fn, args)) for kind, fn, args in tasks]
        for kind, args, fut in track(futures, progress, desc="metastability", unit="tasks"):
            value = fut.result()
            if kind == "cutoff":
                results["cutoff"][args[0]] = value
            elif kind == "window":
                results["window"][args] = value
            elif kind == "gap":
                results["gap"].append(value)
            else:
                results[kind] = value
    results["gap"].sort(key=lambda r: (r["cutoff"], r["gamma"]))
    return results


# ============================================================================ data file
def to_plain(x):
    """JSON-ready copy: arrays to lists (complex as [re, im]), keys to strings."""
    if isinstance(x, dict):
        return {_key(k): to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        if np.iscomplexobj(x):
            return [[float(v.real), float(v.imag)] for v in x.ravel()]
        return to_plain(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x)
    if isinstance(x, complex):
        return [x.real, x.imag]
    return x


def _key(k) -> str:
    if isinstance(k, tuple):
        return ",".join("None" if v is None else str(v) for v in k)
    if isinstance(k, float):
        return repr(k)
    return str(k)


def reproduction_t_star(folder: Path = PAPER_DATA) -> dict:
    """The Fig. 1 inset's t* (docs/REPRODUCTION.md), copied so this page can compare with it."""
    with open(folder / "fig1_inset.csv") as fh:
        rows = list(csv.DictReader(fh))
    fit = json.loads((folder / "metadata.json").read_text())["escape_fit"]
    return {
        "cutoff": fit["cutoff"],
        "trap": fit["trap"],
        "delta": [float(r["delta"]) for r in rows],
        "dtheta": [float(r["dtheta"]) for r in rows],
        "t_escape": [float(r["t_escape"]) for r in rows],
        "exponent": fit["exponent"],
        "exponent_stderr": fit["exponent_stderr"],
    }


def metadata(seconds: float, jobs: int, quick: bool) -> dict:
    p = tj.incoherent_steady_populations(15, Q)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "seconds": seconds,
        "jobs": jobs,
        "quick": quick,
        "version": tj.__version__,
        "python": platform.python_version(),
        "q": Q,
        "nbar": NBAR,
        "theta15": THETA15,
        "p14": float(p[14]),
        "tau_dtheta2_limit": 1.0 / ((1 - Q) * 15 * float(p[14])),
        "leakage_tol": DEFAULT_LEAKAGE_TOL,
        "one_tol": ONE_TOL,
        "gammas": list(GAMMAS),
        "gap_cutoffs": list(GAP_CUTOFFS),
        "qubit_interval_s": QUBIT_INTERVAL_S,
    }


# ============================================================================ rendering
def _mod(z) -> float:
    return math.hypot(*z) if isinstance(z, list) else abs(z)


def _fit_rows(rows: np.ndarray, ms: list[float]) -> tuple[float, float, float, int]:
    sel = np.isin(np.round(rows[:, 0], 6), np.round(ms, 6))
    pw, se, pref = _fit_exponent(rows[sel, 1], rows[sel, 3])
    return pw, se, pref, int(sel.sum())


def _bound_txt(e: dict, fmt: str = ".1e") -> str:
    return f"< {max(e['rate'], 0) + 3 * e['noise']:{fmt}}"


def _part_cell(w: dict, part: str) -> str:
    """The rate through one boundary ("up" or "down"): resolved above 10x its own noise
    (its fluctuation plus its rounding floor), else the upper limit rate + 3x noise."""
    rate, noise = w[f"rate_{part}"], w[f"noise_{part}"]
    if rate > 10 * noise:
        return f"{rate:.4g}"
    return _bound_txt({"rate": rate, "noise": noise}, ".0e")


def _rate_cell(e: dict, digits: str = ".3g") -> str:
    return _bound_txt(e, ".0e") if e["lower_bound"] else f"{e['rate']:{digits}}"


def _life_cell(e: dict) -> str:
    return f">= {e['lifetime']:.2g}" if e["lower_bound"] else f"{e['lifetime']:.2g}"


def _weight_b(g: dict) -> tuple[float, bool]:
    """w_B = k_AB / (k_AB + k_BA), and whether k_BA is resolved."""
    kab, kba = g["k_ab"], g["k_ba"]
    resolved = kba > 10 * g["k_ba_noise"]
    if not resolved:
        return 1.0, False
    return kab / (kab + kba), True


def render(data: dict) -> str:
    """The markdown page, from the contents of ``results.json`` only."""
    r, meta = data["results"], data["metadata"]
    out: list[str] = []
    p = out.append
    p("# Steady states, metastability and relaxation times")
    p("")
    p(
        f"Generated by `python -m analysis.metastability --jobs {meta['jobs']}` on {meta['date']} "
        f"({meta['seconds']:.0f} s with {meta['jobs']} workers; trajectories {meta['version']}, "
        f"Python {meta['python']}). Every number on this page is rendered from "
        "`data/metastability/results.json` by the same script (`--report-only` renders it "
        "again; `tests/test_reports.py` checks that this page is exactly that rendering). "
        "Figures: `docs/figures/metastability-*.png`. The methods are in "
        "`trajectories/solvers/spectral/`; `tests/test_steady.py` checks them against dense "
        "constructions, long "
        "`solve_exact` runs, the closed forms and survival curves."
    )
    p("")
    if meta.get("quick"):
        p("> **Quick run**: the 250-level windows of Sec. 4 are skipped.")
        p("")
    tb = r["two_basins"]
    p("## Assumptions")
    p("")
    p(
        "- **Units.** Time in collisions (one collision followed by one loss interval t_r; "
        "qubits arrive regularly, every t_r), energy in hbar omega above the ground state "
        "(= mean photon number), rates per collision. Jaynes-Cummings collisions (the paper's "
        f"model). Unless said otherwise q = {meta['q']:g}, nbar = {meta['nbar']:g}, and the "
        "coherent protocol has c = 1."
    )
    p(
        "- **Steady.** The *fixed point* is the eigenvector of eigenvalue 1 of the one-step "
        "channel T = Lambda o Phi on the stated cutoff: with loss it depends on the cutoff "
        "(Sec. 4), so each is quoted with its cutoff. The *quasi-stationary state* from a start "
        "is what a run shows between the fast relaxation and the lifetime. The *escape time* "
        "or *lifetime* tau of a plateau is -1/ln(1 - kappa), kappa the escape rate per "
        "collision from a window of levels with absorbing boundaries: the e-folding time of "
        "the survival probability. (docs/REPRODUCTION.md's t* is a different quantity, "
        "compared in Sec. 1.)"
    )
    p(
        "- **Cutoffs and convergence.** Each section names its cutoff. A window with absorbing "
        "boundaries does not depend on the cutoff above it. The gap table of Sec. 3 (60 levels) "
        f"is repeated on {meta['gap_cutoffs'][-1]} levels (changes quoted). Direct `solve_exact` "
        "runs quote the population they leaked through their cutoff (the solver refuses more "
        f"than {meta['leakage_tol']:g} unless a run says otherwise). Escape rates within 10x of "
        "their rounding noise are reported only as upper limits (lifetimes as lower bounds); "
        "every escape rate below comes from a converged polishing of the window's "
        "quasi-stationary state unless marked."
    )
    p("")
    p("## How the numbers are computed")
    p("")
    p(
        "- **One-step channel** `T = Lambda o Phi` (the collision channel, then the exact loss "
        "channel of one interval) as a matrix-free operator on the N^2-dimensional Liouville "
        "space, applied with the banded collision and block loss channels; complex, "
        "non-Hermitian vectors go through the split `X = H1 + i H2`. The adjoint `T^dag` "
        "(banded Kraus operators, transposed loss blocks) gives the left eigenvectors. For "
        "`c = 0` each diagonal `d = n - m` is a separate sector and is solved on its own."
    )
    p(
        "- **Spectrum**: ARPACK (`eigs`, largest modulus) plus a Rayleigh-Ritz step on the "
        "converged subspace; relaxation times `-1/ln|lambda_k|`."
    )
    p(
        "- **Fixed point**: the eigenvector of eigenvalue 1, with residual "
        "`||T(rho) - rho||`. **Quasi-stationary state** reached from `rho0`: the projection on "
        "the slow eigenvalues with the left eigenvectors, `sum_k R_k Tr(L_k^dag rho0)` (T is "
        "not normal)."
    )
    p(
        "- **Escape rate** from a window of levels (absorbing boundaries): the probability flux "
        "out of the window in its quasi-stationary state, a sum of non-negative terms, after "
        "power iterations that rebuild the state's tail from its bulk. It keeps its digits far "
        "below the point where `1 - lambda` has none. Its noise is the fluctuation over the "
        "last block of power iterations plus its rounding floor: the range of the flux over "
        "three copies of the channel with every coefficient perturbed by one rounding unit "
        "(fixed seeds; rounding errors are systematic, so the fluctuation alone misses them, "
        "and their size depends on the CPU). Where the flux through a boundary is within 10x "
        "of its noise, only an upper limit on that rate (flux + 3x noise; a lower bound on "
        "the lifetime) is reported: the verdict is the same on every machine."
    )
    ss = tb["ss"]
    p(
        "- **What double precision cannot do.** A fixed point next to a slow mode "
        "`1 - lambda_1` is determined only to about `residual / (1 - lambda_1)` along that "
        f"mode: at gamma t_r = 0.001 the directly computed fixed point carries "
        f"`+-{ss['energy_error']:.1e}` in energy (the solver reports it as `energy_error`). The "
        "basin windows are well conditioned and give the precise values. When two eigenvalues "
        f"are within {meta['one_tol']:g} of 1 in a lossy model, `steady_state` refuses instead "
        "of guessing (Sec. 4)."
    )
    p("")
    out += _section1(r, meta)
    out += _section2(r, meta)
    out += _section3(r, meta)
    out += _section4(r, meta)
    out += _verdict(r, meta)
    out += _usage(r)
    return "\n".join(out) + "\n"


def _section1(r: dict, meta: dict) -> list[str]:
    inc = r["incoherent"]
    rows = np.array(inc["rows"])
    paper, other = inc["paper"], inc["other"]
    fits = [
        ("the paper's range m' = " + f"{min(paper):g} ... {max(paper):g}", paper, "a"),
        ("m' = " + f"{min(other):g} ... {max(other):g}", other, "b"),
        ("both signs", paper + other, "c"),
    ]
    out = [
        "## 1. Incoherent plateau: escape time against dtheta (paper's Fig. 1 inset)",
        "",
        f"c = 0, q = {meta['q']:g}, no loss, theta = pi/sqrt(m') near pi/sqrt(15). Escape time "
        "tau = lifetime of the plateau held below level L (`escape_time(model, below=L)`), "
        "60 levels (the absorbing boundary at L makes the cutoff irrelevant). Every point "
        "computed is in the table; the last column says which fits use it:",
        "",
        "| m' | dtheta | tau, L = 15 | tau, L = 20 | tau, L = 30 | tau(L = 20) dtheta^2 | fits |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m_eff, dth, t15, t20, t30 in rows:
        used = ", ".join(tag for _, ms, tag in fits if any(abs(m_eff - x) < 1e-9 for x in ms))
        out.append(
            f"| {m_eff:.2f} | {dth:+.4e} | {t15:.5e} | {t20:.5e} | {t30:.5e} | "
            f"{t20 * dth**2:.5f} | {used or '-'} |"
        )
    fit_txt = []
    for label, ms, tag in fits:
        pw, se, _, n = _fit_rows(rows, ms)
        fit_txt.append(f"({tag}) {label}, {n} points: **p = {pw:.4f} +- {se:.4f}**")
    small = rows[np.argsort(np.abs(rows[:, 1]))[:2]]
    loc = -np.log(small[1, 3] / small[0, 3]) / np.log(abs(small[1, 1] / small[0, 1]))
    i152 = int(np.argmin(np.abs(rows[:, 0] - 15.2)))
    d15 = abs(rows[i152, 2] / rows[i152, 3] - 1)
    d30 = abs(rows[i152, 4] / rows[i152, 3] - 1)
    near = rows[np.argmin(np.abs(rows[:, 1]))]
    out += [
        "",
        "- Fits `tau = C |dtheta|^-p` with L = 20 (standard error of the slope): "
        + "; ".join(fit_txt)
        + f". The local exponent between the two smallest |dtheta| is {loc:.4f}.",
        "- The 1/dtheta^2 law holds, with the prefactor derived: escape needs the blocked step "
        "14 -> 15, whose probability is (1-q) sin^2(theta sqrt 15) = (1-q) 15 dtheta^2 + "
        f"O(dtheta^3) from the plateau population p_14 = {meta['p14']:.6f} (closed form), so "
        f"tau dtheta^2 -> 1/((1-q) 15 p_14) = {meta['tau_dtheta2_limit']:.5f}; the table "
        f"approaches it ({near[3] * near[1] ** 2:.5f} at the smallest |dtheta|). The fitted "
        "p < 2 is the O(dtheta) correction (the data are deterministic: the standard error "
        "measures curvature, not noise).",
        f"- The absorbing level hardly matters: at m' = {rows[i152, 0]:g}, tau(L = 15) and "
        f"tau(L = 30) differ from tau(L = 20) by {d15:.1%} and {d30:.1e} (from 15 the walk "
        "climbs: 15 -> 14 is suppressed like 14 -> 15).",
    ]
    direct = []
    for m_eff, d in inc["direct"].items():
        k, s = np.array(d["k"]), np.array(d["below20"])
        sel = (k > 0.5 * d["tau"]) & (k <= 3 * d["tau"])
        slope = -np.polyfit(k[sel], np.log(s[sel]), 1)[0]
        direct.append(
            f"m' = {float(m_eff):g}: tau = {d['tau']:.5g}, fitted 1/{1 / slope:.5g} (ratio "
            f"{slope * d['tau']:.4f}; {d['cutoff']} levels, {d['leak']:.2g} of the population "
            "left through the top, counted as escaped like weight leaving the window)"
        )
    out.append(
        "- Check against direct exact runs (no absorbing boundary below the cutoff): the "
        "population below level 20 decays as exp(-k/tau) over k in [0.5, 3] tau with the "
        "fitted rate equal to 1/tau: " + "; ".join(direct) + ". Right panel of the figure."
    )
    rep = r["reproduction"]
    pairs = []
    for delta, t_star in zip(rep["delta"], rep["t_escape"], strict=True):
        m_eff = 15 + delta
        i = np.flatnonzero(np.abs(rows[:, 0] - m_eff) < 1e-9)
        if i.size:
            pairs.append((m_eff, t_star, t_star / rows[i[0], 3]))
    out.append(
        "- **Two definitions of the escape time.** Here tau is the lifetime (e-folding time of "
        "the plateau's survival, from the flux out of the window below L). "
        "`docs/REPRODUCTION.md` (Fig. 1 inset, `paper-fig1-inset.png`) defines t* as the first "
        f"collision at which P(n < {rep['trap']}) <= 1/2, starting from the vacuum "
        f"({rep['cutoff']} levels, no absorbing boundary below the cutoff), and fits p = "
        f"{-rep['exponent']:.3f} +- {rep['exponent_stderr']:.3f} over its "
        f"{len(rep['delta'])} points. The ratio t*/tau(L = 20) at the common points: "
        + ", ".join(f"{m:g}: {x:.3f}" for m, _, x in pairs)
        + f" (ln 2 = {math.log(2):.3f} for a pure exponential from a full plateau); the "
        "difference is the charging transient before the plateau is reached, which weighs "
        "more at large dtheta and lowers the fitted exponent."
    )
    out += ["", "![escape time against dtheta](figures/metastability-escape-vs-dtheta.png)", ""]
    return out


def _section2(r: dict, meta: dict) -> list[str]:
    det = r["detuned"]
    cot = np.array(det["cot_log10"])
    n_min = int(np.argmin(cot[1:]) + 1)
    lossless = det["lossless"]
    ls = sorted(lossless, key=int)
    plateau = lossless[max(ls, key=int)]
    d = det["direct"]
    e = np.array(d["energy"])
    k = np.array(d["k"])
    late = k >= 300
    spread = float(np.max(np.abs(e[late] - e[-1])))
    pops = np.array(d["pops_last"])
    beyond = pops[n_min + 1 :]
    w_beyond = float(beyond.sum())
    n_beyond = float(np.arange(n_min + 1, pops.size) @ beyond / w_beyond)
    floor = [L for L in ls if lossless[L]["lower_bound"] or
             lossless[L]["rate"] < 20 * lossless[L]["noise"]]  # fmt: skip
    l_floor = int(floor[0]) if floor else None
    past = [lossless[L] for L in ls if l_floor is not None and int(L) >= l_floor]
    min_life = min(x["lifetime"] for x in past) if past else math.nan
    weak = [
        f"{L} ({lossless[L]['rate'] / lossless[L]['noise']:.0f}x)"
        for L in ls
        if not lossless[L]["lower_bound"] and lossless[L]["rate"] < 20 * lossless[L]["noise"]
    ]
    out = [
        "## 2. The coherent detuned plateau (theta = pi/sqrt(15.6), c = 1)",
        "",
        f"Without loss, the plateau reached from vacuum (E = {plateau['energy']:.4f}, window "
        f"[0, {max(ls, key=int)})) is the low part of the pure state that the paper's Eq. (15) "
        "recursion, `rho_n = r cot^2(theta sqrt(n)/2) rho_{n-1}`, continues to this theta (the "
        "window's quasi-stationary state follows it down to the rounding floor, left panel). "
        f"The recursion dips {-cot[n_min]:.2f} orders of magnitude (log10 p_n/p_0 = "
        f"{cot[n_min]:.2f} at its minimum, n = {n_min}; {cot[30]:.2f} at n = 30) and then grows "
        f"again ({cot[62]:+.1f} at n = 62, {cot[100]:+.1f} at n = 100): no normalisable pure "
        "fixed point exists without a cutoff, so the plateau is metastable in principle. Its "
        "escape rate through an absorbing level L (from vacuum, 60 levels):",
        "",
        "| L | " + " | ".join(ls) + " |",
        "|---|" + "---:|" * len(ls),
        "| rate / collision | " + " | ".join(_rate_cell(lossless[L]) for L in ls) + " |",
        "| lifetime | " + " | ".join(_life_cell(lossless[L]) for L in ls) + " |",
        "",
        "(< : the flux is within 10x of its rounding noise; the bound is flux + 3x noise."
        + (f" Resolved but within 20x of their noise: L = {', '.join(weak)}." if weak else "")
        + ")"
        + (
            f" A boundary below L = {l_floor} cuts the pure state's coherences where its "
            "amplitudes are still large and shortens its life; from there on the rate is at or "
            "near what double precision resolves. **Lifetime of the lossless plateau: at least "
            f"{min_life:.1e} collisions** (the smallest value from L = {l_floor} on)."
            if l_floor is not None
            else ""
        ),
        "",
        f"A direct exact run from vacuum on {d['cutoff']} levels stays within {spread:.1e} of "
        f"E = {e[-1]:.6f} from k = 300 to {int(k[-1])} (purity {d['purity'][-1]:.6f}, "
        f"{d['leak'][-1]:.1e} leaked through the cutoff). Beyond the trough (n > {n_min}) it "
        f"holds {w_beyond:.3g} of the population, at mean n = {n_beyond:.1f}: weight that "
        "crossed the trough during the charging transient and is held higher up.",
        "",
    ]
    lossy = det["lossy"]
    lk = sorted(lossy, key=int)
    top = lossy[lk[-1]]
    out += [
        "With loss, gamma t_r = 0.001 (80 levels), the escape rate per collision through L = "
        + ", ".join(f"{L}: {lossy[L]['rate']:.5g}" for L in lk)
        + f"; **lifetime {top['lifetime']:.4g} collisions** (L = {lk[-1]}), plateau energy "
        f"{top['energy']:.4f}.",
        "",
        "![coherent detuned plateau](figures/metastability-coherent-detuned.png)",
        "",
    ]
    return out


def _section3(r: dict, meta: dict) -> list[str]:
    tb = r["two_basins"]
    ss, qs, a, b, b10 = tb["ss"], tb["qs"], tb["A"], tb["B"], tb["B10"]
    rates = [1 - _mod(z) for z in ss["eigenvalues"][:3]]
    vac, f40 = tb["vac"], tb["from40"]
    k = np.array(vac["k"])
    ev = np.array(vac["energy"])
    e300, e2000, e5000 = (float(ev[k == x][0]) for x in (300, 2000, 5000))
    k40 = np.array(f40["k"])
    frac = (qs["energy"] - a["energy"]) / (b["energy"] - a["energy"])
    ba_bound = max(b10["rate_down"], 0) + 3 * b10["noise_down"]
    w_a = ba_bound / a["rate"]
    drift_pred = (5000 - 300) * a["rate"] * (b["energy"] - a["energy"])
    out = [
        "## 3. Two basins at gamma t_r = 0.001 (theta = pi/sqrt(15), c = 1, 60 levels)",
        "",
        f"`steady_state` finds the channel metastable: besides eigenvalue 1 (1 - |lambda_0| = "
        f"{rates[0]:.0e}) one slow mode, 1 - |lambda_1| = {rates[1]:.6e}, then a gap to "
        f"{rates[2]:.3e}. Basin A (levels 0-14, where the vacuum goes) leaks to basin B (levels "
        "15-59) by thermal absorption across the blocked 14 -> 15 transition, after which the "
        "coherent pump holds the weight in B.",
        "",
        "| state | energy | purity | computed by |",
        "|---|---:|---:|---|",
        f"| quasi-stationary from vacuum | {qs['energy']:.6f} | {qs['purity']:.6f} | "
        f"`steady_state(model).quasi_stationary` (lifetime {qs['lifetime']:.4e}) |",
        f"| exact run from vacuum, k = 300 / 2000 / 5000 | {e300:.6f} / {e2000:.6f} / "
        f"{e5000:.6f} | {vac['purity'][-1]:.6f} (k = 5000) | `solve_exact` (leaked "
        f"{vac['leak']:.1e}) |",
        f"| basin A alone (window [0, 40)) | {a['energy']:.7f} | {a['purity']:.6f} | "
        "`escape_time(model, below=40)` |",
        f"| basin B alone (window [15, 60)) | {b['energy']:.7f} | {b['purity']:.7f} | "
        "`escape_time(model, above=15)` |",
        f"| fixed point of T | {ss['energy']:.6f} +- {ss['energy_error']:.1e} | "
        f"{ss['purity']:.6f} | `steady_state(model)`, residual {ss['residual']:.1e} |",
        f"| exact run from \\|40>, k = 5000 (150 levels) | {f40['energy'][-1]:.6f} | "
        f"{f40['purity'][-1]:.6f} | `solve_exact` (leaked {f40['leak']:.1e}) |",
        "",
        f"- Rates: A -> B **{a['rate']:.6e} per collision** from the flux ({a['rate_eig']:.6e} "
        f"from the window's eigenvalue, {rates[1]:.6e} from the full channel's slow "
        f"eigenvalue): **lifetime {a['lifetime']:.4g} collisions**. B -> A is below the "
        f"rounding floor (< {ba_bound:.1e} per collision, window [10, 60)), so the fixed point "
        f"holds less than {w_a:.0e} of its weight in A: it is basin B to "
        f"{w_a * (b['energy'] - a['energy']):.0e} in energy. B also leaks through the 60-level "
        f"cutoff, at {b['rate_up']:.3g} per collision (an artefact of the cutoff).",
        f"- The state reached from vacuum is not basin A alone: {frac:.4g} of the population is "
        "thrown into B during the first few hundred collisions, which is why it sits above "
        f"basin A's {a['energy']:.6g}. Its slow drift afterwards is the escape: "
        f"E(5000) - E(300) = {e5000 - e300:.2g}; the rate predicts (5000 - 300) x "
        f"{a['rate']:.4g} x ({b['energy']:.6g} - {a['energy']:.6g}) = {drift_pred:.2g}.",
        f"- The state reached from |40> on 150 levels is basin B plus "
        f"{f40['above59'][-1]:.4g} of the population thrown into levels >= 60 (sector C) by the "
        f"first collisions (k = {int(k40[-1])}).",
        "",
    ]
    out += _gap_table(r, meta)
    out += [
        "![two basins](figures/metastability-two-basins.png)",
        "![gap against gamma](figures/metastability-gap-vs-gamma.png)",
        "",
    ]
    return out


def _gap_row(g: dict) -> tuple[str, float]:
    kab, kba = g["k_ab"], g["k_ba"]
    wb, resolved = _weight_b(g)
    pred = wb * g["E_B"] + (1 - wb) * g["E_A"]
    kba_txt = f"{kba:.3e}" if resolved else f"< {max(kba, 0) + 3 * g['k_ba_noise']:.1e}"
    fixed = g["E_fixed"]
    fixed_txt = "refused" if not np.isfinite(fixed) else f"{fixed:.4f}"
    if np.isfinite(g["fixed_err"]) and g["fixed_err"] > 1e-5:
        fixed_txt += f" +- {g['fixed_err']:.1e}"
    return (
        f"| {g['gamma']:.0e} | {g['rates_eig'][1]:.4e} | {g['rates_eig'][2]:.4e} | "
        f"{kab:.4e} | {kba_txt} | {g['E_A']:.4f} | {g['E_B']:.4f} | {fixed_txt} | {pred:.4f} |",
        pred,
    )


def _gap_table(r: dict, meta: dict) -> list[str]:
    main = [g for g in r["gap"] if g["cutoff"] == meta["gap_cutoffs"][0]]
    chk = {g["gamma"]: g for g in r["gap"] if g["cutoff"] == meta["gap_cutoffs"][-1]}
    out = [
        f"### The gap against gamma t_r ({meta['gap_cutoffs'][0]} levels)",
        "",
        "| gamma t_r | 1 - \\|lambda_1\\| | 1 - \\|lambda_2\\| | k_AB (flux) | k_BA (flux) | E_A | "
        "E_B | fixed point E | w_B E_B + w_A E_A |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    out += [_gap_row(g)[0] for g in main]
    out += [
        "",
        "k_AB: escape from below level 40; k_BA: escape from the window [10, cutoff) through "
        "its bottom; E_A, E_B: the windows' quasi-stationary energies; last column: the fixed "
        "point predicted from the two basins with weights w_B = k_AB/(k_AB + k_BA) (w_B = 1 "
        "where k_BA is below the rounding floor).",
        "",
    ]
    # regimes from the numbers
    in_b, mixed, in_a = [], [], []
    for g in main:
        wb, resolved = _weight_b(g)
        (in_b if wb > 0.95 else in_a if wb < 0.05 else mixed).append((g, wb))
    slow = [-1.0 / math.log1p(-g["rates_eig"][1]) for g, _ in in_b]
    if in_b:
        out.append(
            "- gamma t_r = "
            + ", ".join(f"{g['gamma']:.0e}" for g, _ in in_b)
            + ": metastable, fixed point in B (w_B > 0.95), 1 - |lambda_1| = k_AB; slowest "
            "relaxation " + ", ".join(f"{x:.2g}" for x in slow) + " collisions; gap to the fast "
            "modes " + ", ".join(f"{g['rates_eig'][2]:.1e}" for g, _ in in_b) + "."
        )
    for g, wb in mixed:
        pred = _gap_row(g)[1]
        out.append(
            f"- gamma t_r = {g['gamma']:.0e}: loss now pulls B down as often as absorption lifts "
            f"A up; 1 - |lambda_1| = {g['rates_eig'][1]:.4e} against k_AB + k_BA = "
            f"{g['k_ab'] + g['k_ba']:.4e}, and the fixed point is a mixture, {wb:.0%} B: "
            f"E = {g['E_fixed']:.4f}, predicted {pred:.4f} from the two basins."
        )
    if in_a:
        rel = [-1.0 / math.log1p(-g["rates_eig"][1]) for g, _ in in_a]
        out.append(
            "- gamma t_r = "
            + ", ".join(f"{g['gamma']:.0e}" for g, _ in in_a)
            + ": B no longer holds (k_BA >> k_AB, w_B < 0.05); the fixed point is the vacuum's "
            "basin, reached with the slowest relaxation time "
            + ", ".join(f"{x:.3g}" for x in rel)
            + " collisions: a unique steady state with a clear gap."
        )
    rel_changes: dict[str, list[tuple[float, float]]] = {}
    fixed_changes = []
    for g in main:
        c = chk.get(g["gamma"])
        if c is None:
            continue
        for key in ("k_ab", "E_A", "E_B"):
            rel = abs(c[key] - g[key]) / max(abs(g[key]), 1e-300)
            rel_changes.setdefault(key, []).append((rel, g["gamma"]))
        if np.isfinite(g["E_fixed"]) and np.isfinite(c["E_fixed"]):
            err = max(g["fixed_err"], c["fixed_err"]) if np.isfinite(g["fixed_err"]) else 0.0
            fixed_changes.append((abs(c["E_fixed"] - g["E_fixed"]), err, g["gamma"]))
    if rel_changes:
        parts = [
            f"{key} {max(v)[0]:.1e}" + (f" (at gamma t_r = {max(v)[1]:.0e})" if max(v)[0] else "")
            for key, v in rel_changes.items()
        ]
        worst = max(fixed_changes) if fixed_changes else None
        fixed_txt = ""
        if worst is not None:
            within = all(d <= max(e, 1e-7) for d, e, _ in fixed_changes)
            fixed_txt = (
                f"; the fixed-point energy changes by at most {worst[0]:.1e} (gamma t_r = "
                f"{worst[2]:.0e}), "
                + (
                    "within the +- its eigenvector carries"
                    if within
                    else "more than the +- its eigenvector carries"
                )
            )
        out.append(
            f"- Cutoff check, the same table on {meta['gap_cutoffs'][-1]} levels: largest "
            "relative change of " + ", ".join(parts) + fixed_txt + "."
        )
    out.append("")
    return out


def _section4(r: dict, meta: dict) -> list[str]:
    out = [
        "## 4. The fixed point against the cutoff (gamma t_r = 0.001)",
        "",
        "The blocked levels theta sqrt(n) = j pi are n = 15 j^2: sectors A = 0-14, B = 15-59, "
        "C = 60-134, D = 135-239, ...",
        "",
        "| cutoff | `steady_state` | 1 - \\|lambda\\| of the leading modes |",
        "|---:|---|---|",
    ]
    for n in sorted(r["cutoff"], key=int):
        c = r["cutoff"][n]
        lead = ", ".join(f"{x:.3g}" for x in c["rates_eig"][:3])
        if c["ok"]:
            txt = (
                f"E = {c['energy']:.6f} +- {c['energy_error']:.1e}, purity {c['purity']:.6f}, "
                f"residual {c['residual']:.1e}"
            )
        else:
            mult = c["reason"].split("numerically ")[1].split("-fold")[0]
            txt = f"refused: eigenvalue 1 numerically {mult}-fold"
        out.append(f"| {n} | {txt} | {lead} |")
    wins = {tuple(None if v == "None" else int(v) for v in key.split(",")): w
            for key, w in r["window"].items()}  # fmt: skip
    out += [
        "",
        "| window | basin state | rate up | rate down | lifetime |",
        "|---|---|---:|---:|---:|",
    ]
    for (n, below, above), w in sorted(wins.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        up, down = _part_cell(w, "up"), _part_cell(w, "down")
        out.append(
            f"| [{above}, {below or n}) on {n} levels | E = {w['energy']:.6f}, purity "
            f"{w['purity']:.6f} | {up if below is not None else '-'} | "
            f"{down if above > 0 else '-'} | {_life_cell(w)} |"
        )
    b_up = wins.get((150, 100, 0))
    c_win = wins.get((150, None, 40))
    if b_up is not None and c_win is not None:
        cb = max(c_win["rate_down"], 0) + 3 * c_win["noise_down"]
        out += [
            "",
            f"**The weight moves to higher sectors.** B -> C happens at {b_up['rate_up']:.4g} per "
            f"collision while C -> B is below {cb:.0e}, so on 150 levels (and any larger cutoff) "
            f"the fixed point has more than {b_up['rate_up'] / cb:.0e} times more weight in C "
            f"(E = {c_win['energy']:.2f}) than in B.",
        ]
        cd = wins.get((250, 200, 60))
        dw = wins.get((250, None, 110))
        if cd is not None and dw is not None:
            r_cd = max(cd["rate_up"], 0) + 3 * cd["noise_up"]
            r_dc = max(dw["rate_down"], 0) + 3 * dw["noise_down"]
            out[-1] += (
                f" Whether D then takes over from C is beyond double precision: both rates are "
                f"below {max(r_cd, r_dc):.0e} per collision."
            )
        out[-1] += (
            " The channel's fixed point is therefore a cutoff-dependent object that lives on "
            f"time scales of {b_up['lifetime']:.0e} collisions and more; the states that matter "
            "physically are the basins and their lifetimes."
        )
    out += ["", "![cutoff dependence](figures/metastability-cutoff.png)", ""]
    return out


def _verdict(r: dict, meta: dict) -> list[str]:
    tb = r["two_basins"]
    det = r["detuned"]
    lossless = det["lossless"]
    ls = sorted(lossless, key=int)
    floor = [L for L in ls if lossless[L]["lower_bound"] or
             lossless[L]["rate"] < 20 * lossless[L]["noise"]]  # fmt: skip
    past = [lossless[L]["lifetime"] for L in ls if floor and int(L) >= int(floor[0])]
    min_life = min(past) if past else math.nan
    lossy = det["lossy"]
    top = lossy[sorted(lossy, key=int)[-1]]
    a, b = tb["A"], tb["B"]
    minutes = a["lifetime"] * meta["qubit_interval_s"] / 60.0
    wins = {tuple(None if v == "None" else int(v) for v in key.split(",")): w
            for key, w in r["window"].items()}  # fmt: skip
    b_up = wins.get((150, 100, 0))
    c_win = wins.get((150, None, 40))
    fast = [g for g in r["gap"] if g["cutoff"] == meta["gap_cutoffs"][0] and g["gamma"] == 0.1]
    text = (
        "The paper (Sec. 4) calls the coherent protocol's long-lived pure states \"almost "
        'steady" and adds that "such state may be a metastable one". The spectrum of the '
        "one-collision channel settles it case by case. Without loss and with theta "
        "fine-tuned (pi/sqrt(15)) the state is truly steady: the transition 14 -> 15 is "
        "blocked exactly, eigenvalue 1 is degenerate (one per closed sector), and the state "
        "reached from vacuum is the exact Eq. (15) fixed point. With theta detuned "
        "(pi/sqrt(15.6)) the state is metastable in principle, since the Eq. (15) recursion "
        "continued to this theta is not normalisable, but it is separated from the rest of "
        f"the ladder by an amplitude trough and its lifetime is at least {min_life:.0e} "
        "collisions (the escape rate is at the edge of what double precision resolves): the "
        'paper\'s "stable up to the time scales accessible to numerical investigations" stays '
        "true for any conceivable time scale. With thermal loss the answer changes: at "
        f"gamma t_r = 0.001 (Figs. 5-7) the plateau reached from vacuum (E = "
        f"{tb['qs']['energy']:.3f}, purity {tb['qs']['purity']:.3f}) is genuinely metastable, "
        f"with a finite, computable lifetime of {a['lifetime']:.3g} collisions "
        f"({top['lifetime']:.3g} for the detuned theta; about {minutes:.0f} minutes at one "
        f"qubit per {meta['qubit_interval_s'] * 1e6:g} microsecond) before the weight settles "
        f"in the upper basin (E = {b['energy']:.2f})"
    )
    if b_up is not None and c_win is not None:
        text += (
            f", which is itself metastable on a larger cutoff ({b_up['lifetime']:.2g} "
            f"collisions to E = {c_win['energy']:.1f})"
        )
    text += "."
    if fast:
        tau = -1.0 / math.log1p(-fast[0]["rates_eig"][1])
        text += (
            " At gamma t_r = 0.1 the state shown is the unique steady state, reached with a "
            f"relaxation time of {tau:.2g} collisions."
        )
    return ["## Verdict on the paper's open question", "", text, ""]


def _usage(r: dict) -> list[str]:
    a = r["two_basins"]["A"]
    return [
        "## Using it",
        "",
        "```python",
        "import trajectories as tj",
        "",
        "model = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0,",
        "                      gamma_tr=0.001, nbar=0.15, cutoff=60)",
        "ss = tj.steady_state(model)     # fixed point, residual, metastable, slow rates, "
        "energy_error",
        "ss.quasi_stationary             # state reached from vacuum, with its lifetime",
        "spec = tj.spectrum(model, n_eigs=8, vectors=True)",
        "spec.eigenvalues, spec.relaxation_collisions, spec.governing(rho0)   # rho0: (N, N) start",
        f"tj.escape_time(model, below=40)    # A -> B: rate {a['rate']:.4g} / collision",
        "tj.escape_time(model, above=15)    # basin B and its (unresolvably slow) decay",
        "```",
        "",
        "`micromaser steady RUNFILE` prints the same for every point of a run file.",
    ]


# ============================================================================== figures
def figures(data: dict, outdir: Path) -> list[Path]:
    """Write the metastability-*.png figures from the data file's contents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = data["results"]
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []

    # 1. escape time vs dtheta -------------------------------------------------------
    inc = r["incoherent"]
    rows = np.array(inc["rows"])
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    neg, pos = rows[:, 1] < 0, rows[:, 1] > 0
    ax[0].loglog(np.abs(rows[neg, 1]), rows[neg, 3], "o", label=r"$\delta\theta<0$ ($m'>15$)")
    ax[0].loglog(np.abs(rows[pos, 1]), rows[pos, 3], "s", mfc="none", label=r"$\delta\theta>0$")
    lim = data["metadata"]["tau_dtheta2_limit"]
    x = np.logspace(-4, -1.3, 50)
    ax[0].loglog(x, lim / x**2, "k--", lw=1, label=rf"${lim:.4f}/\delta\theta^2$")
    rep = r["reproduction"]
    ax[0].loglog(rep["dtheta"], rep["t_escape"], "x", color="C3",
                 label=r"$t^*$: P(n < 15) = 1/2 (REPRODUCTION.md)")  # fmt: skip
    pw, se, _, _ = _fit_rows(rows, inc["paper"])
    ax[0].set_xlabel(r"$|\delta\theta| = |\theta - \pi/\sqrt{15}|$")
    ax[0].set_ylabel(r"lifetime $\tau$ (collisions), plateau below level 20")
    ax[0].set_title(
        f"c = 0, q = 0.25, no loss; fit over m' = {min(inc['paper']):g}...{max(inc['paper']):g}: "
        f"p = {pw:.3f} ± {se:.3f}",
        fontsize=9,
    )
    ax[0].legend(fontsize=8)
    for m_eff, d in inc["direct"].items():
        k = np.array(d["k"])
        ax[1].semilogy(k / d["tau"], d["below20"], label=f"direct run, m' = {float(m_eff):g}")
    t = np.linspace(0, 3, 50)
    ax[1].semilogy(t, np.exp(-t), "k--", lw=1, label=r"$e^{-k/\tau}$ (flux rate)")
    ax[1].set_xlabel(r"$k/\tau$")
    ax[1].set_ylabel("population below level 20")
    ax[1].legend()
    fig.tight_layout()
    paths.append(outdir / "metastability-escape-vs-dtheta.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 2. two basins -----------------------------------------------------------------
    tb = r["two_basins"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    ax[0].plot(tb["vac"]["k"], tb["vac"]["energy"], label="from vacuum (exact)")
    ax[0].plot(
        tb["from40"]["k"], tb["from40"]["energy"], label=r"from $|40\rangle$ (exact, 150 levels)"
    )
    ax[0].axhline(tb["qs"]["energy"], color="C0", ls=":", label="quasi-stationary from vacuum")
    ax[0].axhline(tb["ss"]["energy"], color="C1", ls=":", label="fixed point of T (60 levels)")
    ax[0].set_xlabel("collisions k")
    ax[0].set_ylabel("energy")
    ax[0].set_title(r"$\gamma t_r = 0.001$: two basins")
    ax[0].legend(fontsize=8)
    pa = np.array(tb["A"]["pops"])
    pb = np.zeros(60)
    pb[15:] = tb["B"]["pops"]
    ax[1].semilogy(np.arange(pa.size), np.maximum(pa, 1e-40), ".-",
                   label=f"basin A (E = {tb['A']['energy']:.3f})")  # fmt: skip
    ax[1].semilogy(np.arange(60), np.maximum(pb, 1e-40), ".-",
                   label=f"basin B (E = {tb['B']['energy']:.3f})")  # fmt: skip
    win_c = r["window"].get("150,None,40")
    if win_c is not None:
        ax[1].semilogy(np.arange(40, 150), np.maximum(win_c["pops"], 1e-40), ".-", ms=3,
                       label=f"basin C on 150 levels (E = {win_c['energy']:.2f})")  # fmt: skip
    for n in (15, 60, 135):
        ax[1].axvline(n - 0.5, color="gray", lw=0.8)
    ax[1].set_ylim(1e-30, 1.5)
    ax[1].set_xlabel("photon number n")
    ax[1].set_ylabel("population")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    paths.append(outdir / "metastability-two-basins.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 3. gap vs gamma ---------------------------------------------------------------
    cut0 = data["metadata"]["gap_cutoffs"][0]
    g = [x for x in r["gap"] if x["cutoff"] == cut0]
    gam = np.array([x["gamma"] for x in g])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.loglog(gam, [x["rates_eig"][1] for x in g], "o-", label=r"$1-|\lambda_1|$ (eigenvalue)")
    ax.loglog(gam, [x["rates_eig"][2] for x in g], "s-", label=r"$1-|\lambda_2|$ (fast)")
    ax.loglog(gam, [x["k_ab"] for x in g], "^--", label=r"$k_{A\to B}$ (flux, below 40)")
    res = np.array([x["k_ba"] > 10 * x["k_ba_noise"] for x in g])
    kba = np.array([x["k_ba"] for x in g])
    lim = np.array([max(x["k_ba"], 0) + 3 * x["k_ba_noise"] for x in g])
    ax.loglog(gam[res], kba[res], "v--", color="C3", label=r"$k_{B\to A}$ (flux, below 10)")
    ax.loglog(gam[~res], lim[~res], "v", color="C3", mfc="none",
              label=r"$k_{B\to A}$ upper limit (rounding floor)")  # fmt: skip
    ax.set_xlabel(r"$\gamma t_r$")
    ax.set_ylabel("rate per collision")
    ax.set_title(rf"$\theta=\pi/\sqrt{{15}}$, q = 0.25, c = 1, $\bar n$ = 0.15, {cut0} levels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(outdir / "metastability-gap-vs-gamma.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 4. coherent detuned ------------------------------------------------------------
    det = r["detuned"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    cot = np.array(det["cot_log10"])
    n_min = int(np.argmin(cot[1:]) + 1)
    ax[0].plot(cot[:130], label="Eq. 15 recursion (cotangent state)")
    ax[0].plot([n_min], [cot[n_min]], "v", color="C0", label=f"trough minimum, n = {n_min}")
    e40 = np.array(det["lossless"]["40"]["pops"])
    ax[0].plot(np.log10(np.maximum(e40 / e40[0], 1e-300)), ".",
               label="plateau state, window [0, 40)")  # fmt: skip
    ax[0].set_ylim(-25, 90)
    ax[0].set_xlabel("photon number n")
    ax[0].set_ylabel(r"$\log_{10}\, p_n/p_0$")
    ax[0].set_title(r"$\theta = \pi/\sqrt{15.6}$, c = 1, no loss")
    ax[0].legend(fontsize=8)
    for name, color in (("lossless", "C0"), ("lossy", "C1")):
        ls = np.array(sorted(det[name], key=int))
        es = [det[name][L] for L in ls]
        ls = ls.astype(int)
        bound = np.array([e["lower_bound"] for e in es])
        rate = np.array([e["rate"] for e in es])
        upper = np.array([max(e["rate"], 0.0) + 3 * e["noise"] for e in es])
        style = "o-" if not bound.any() else "o"  # do not join resolved points across bounds
        ax[1].semilogy(ls[~bound], rate[~bound], style, color=color, label=f"{name}: flux rate")
        if bound.any():
            ax[1].semilogy(ls[bound], upper[bound], "v", color=color, mfc="none",
                           label=f"{name}: below double precision (upper limit)")  # fmt: skip
    ax[1].set_xlabel("absorbing level L")
    ax[1].set_ylabel("escape rate per collision")
    ax[1].set_title(r"escape from the plateau ($\gamma t_r$ = 0 and 0.001)")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    paths.append(outdir / "metastability-coherent-detuned.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 5. cutoff ----------------------------------------------------------------------
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for n in sorted(r["cutoff"], key=int):
        c = r["cutoff"][n]
        if c["ok"]:
            ax.semilogy(np.arange(int(n)), np.maximum(c["pops"], 1e-40),
                        label=f"fixed point, N = {n}")  # fmt: skip
    wins = sorted(r["window"].items(), key=lambda kv: [int(v) if v != "None" else 0
                                                       for v in kv[0].split(",")])  # fmt: skip
    for key, w in wins:
        n, below, above = key.split(",")
        if below == "None" and int(above) > 15:
            ax.semilogy(np.arange(int(above), int(n)), np.maximum(w["pops"], 1e-40), "--",
                        label=f"basin state, window [{above}, {n})")  # fmt: skip
    for n in (15, 60, 135, 240):
        ax.axvline(n - 0.5, color="gray", lw=0.8)
    ax.set_ylim(1e-30, 1.5)
    ax.set_xlabel("photon number n")
    ax.set_ylabel("population")
    ax.set_title(r"$\gamma t_r = 0.001$: where the fixed point sits against the cutoff")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(outdir / "metastability-cutoff.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Run every computation (in parallel), write the data, render the page and figures."""
    ap = argparse.ArgumentParser(prog="python -m analysis.metastability", description=__doc__)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--quick", action="store_true", help="skip the 250-level windows")
    ap.add_argument("--figures", type=Path, default=FIG_DIR, help="output folder of the PNGs")
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder of results.json")
    ap.add_argument("--report-only", action="store_true",
                    help="re-render the page and figures from the saved results.json "
                         "(refreshing its copy of REPRODUCTION's t* from data/paper)")  # fmt: skip
    args = ap.parse_args(argv)
    path = args.data / "results.json"
    if args.report_only:  # refresh the copy of REPRODUCTION's t* (its data may be newer)
        data = json.loads(path.read_text())
        data["results"]["reproduction"] = reproduction_t_star()
        path.write_text(json.dumps(data, indent=1))
    else:
        t0 = time.perf_counter()
        results = run_all(args.jobs, args.quick)
        results["reproduction"] = reproduction_t_star()
        meta = metadata(time.perf_counter() - t0, args.jobs, args.quick)
        args.data.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"metadata": meta, "results": to_plain(results)}, indent=1))
    data = json.loads(path.read_text())  # the page is rendered from the file, never from memory
    for p in figures(data, args.figures):
        print(f"wrote {p}")
    args.doc.write_text(render(data))
    print(f"wrote {args.doc} from {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
