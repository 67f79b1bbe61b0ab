r"""Metastability of the micromaser battery from the one-step channel (issue 9).

Produces the numbers and figures of ``docs/METASTABILITY.md``::

    python -m analysis.metastability              # ~3 min on 2 cores, figures in docs/figures
    python -m analysis.metastability --quick      # skips the 250-level windows (~1.5 min)

Everything is computed from :mod:`trajectories.steady`: the spectrum of
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
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import trajectories as tj
from trajectories.steady import (
    SteadyStateError,
    escape_time,
    spectrum,
    steady_state,
)

__all__ = ["main", "TASKS"]

THETA15 = tj.fine_tuned_theta(15)
Q = 0.25
NBAR = 0.15
FIG_DIR = Path(__file__).resolve().parents[1] / "docs" / "figures"


def _coherent(gamma: float, cutoff: int, theta: float = THETA15) -> tj.Micromaser:
    return tj.Micromaser(theta=theta, q=Q, c=1.0, gamma_tr=gamma, nbar=NBAR, cutoff=cutoff)


def _esc(e) -> dict:
    """Plain numbers of an EscapeTime."""
    return {
        "rate": e.rate,
        "rate_up": e.rate_up,
        "rate_down": e.rate_down,
        "noise": e.rate_noise,
        "lifetime": e.lifetime,
        "lower_bound": e.is_lower_bound,
        "rate_eig": e.rate_from_eigenvalue,
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
        direct[m_eff] = {"k": ex.k, "below20": below20, "tau": tau, "energy": ex.energy}
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
    out["direct"] = {"k": ex.k, "energy": ex.energy, "purity": ex.purity, "leak": ex.leakage}
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
    vac = tj.solve_exact(model, 5000, checkpoints=range(0, 5001, 10))
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
        "vac": {"k": vac.k, "energy": vac.energy, "purity": vac.purity},
        "from40": {
            "k": from40.k,
            "energy": from40.energy,
            "purity": from40.purity,
            "above59": from40.populations[:, 60:].sum(axis=1),
            "leak": from40.total_leakage,
        },
    }


GAMMAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 1e-1)


def task_gap(gamma: float) -> dict:
    """Leading eigenvalues and the flux rates A -> B (escape below 40) and B -> A (escape
    below level 10 from the window [10, 60)) for one gamma t_r (60 levels)."""
    model = _coherent(gamma, 60)
    spec = spectrum(model, n_eigs=6)
    ab = escape_time(model, below=40)
    ba = escape_time(model, above=10)
    out = {
        "gamma": gamma,
        "rates_eig": 1.0 - np.abs(spec.eigenvalues),
        "k_ab": ab.rate,
        "k_ab_bound": ab.is_lower_bound,
        "E_A": ab.energy,
        "k_ba": ba.rate_down,
        "k_ba_noise": ba.rate_noise,
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
    tasks += [("gap", task_gap, (g,)) for g in GAMMAS]
    if quick:
        tasks = [t for t in tasks if not (t[0] == "window" and t[2][0] == 250)]
    return tasks


#: The computations, as (kind, function, arguments).
TASKS = _tasks(False)


def run_all(jobs: int, quick: bool) -> dict:
    tasks = _tasks(quick)
    results: dict = {"cutoff": {}, "window": {}, "gap": []}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [(kind, args, pool.submit(fn, *args)) for kind, fn, args in tasks]
        for kind, args, fut in futures:
            value = fut.result()
            if kind == "cutoff":
                results["cutoff"][args[0]] = value
            elif kind == "window":
                results["window"][args] = value
            elif kind == "gap":
                results["gap"].append(value)
            else:
                results[kind] = value
    results["gap"].sort(key=lambda r: r["gamma"])
    return results


def report(r: dict) -> list[str]:
    """The numbers quoted in docs/METASTABILITY.md, as text lines."""
    out = []
    p = out.append
    # 1 ------------------------------------------------------------------------------
    inc = r["incoherent"]
    rows = inc["rows"]
    p("== 1. incoherent (c = 0, q = 0.25, no loss): escape from the plateau below level L")
    p("   m' in theta = pi/sqrt(m') | dtheta | tau(L=15) | tau(L=20) | tau(L=30) | tau dtheta^2")
    for m_eff, dth, t15, t20, t30 in rows:
        p(f"   {m_eff:6.2f} | {dth:+.4e} | {t15:.5e} | {t20:.5e} | {t30:.5e} | {t20 * dth**2:.5f}")
    for label, ms in (
        ("paper range m' = 15.01..15.2", inc["paper"]),
        ("m' = 14.8..14.99", inc["other"]),
    ):
        sel = np.isin(rows[:, 0], ms)
        pw, se, pref = _fit_exponent(rows[sel, 1], rows[sel, 3])
        p(
            f"   fit tau = C |dtheta|^-p over {label} (L = 20): p = {pw:.4f} +- {se:.4f}, "
            f"C = {pref:.4f}"
        )
    sel = np.isin(rows[:, 0], inc["paper"] + inc["other"])
    pw, se, pref = _fit_exponent(rows[sel, 1], rows[sel, 3])
    p(f"   fit over both signs (12 points): p = {pw:.4f} +- {se:.4f}")
    small = rows[np.argsort(np.abs(rows[:, 1]))[:2]]
    loc = -np.log(small[1, 3] / small[0, 3]) / np.log(abs(small[1, 1] / small[0, 1]))
    p(f"   local exponent between the two smallest |dtheta|: {loc:.4f}")
    p(f"   leading order tau dtheta^2 -> 1/((1-q) 15 p_14) = {2 / 15:.5f} (p_14 = 2/3)")
    for m_eff, d in inc["direct"].items():
        k, s = d["k"], d["below20"]
        sel = (k > 0.5 * d["tau"]) & (k <= 3 * d["tau"])
        slope = -np.polyfit(k[sel], np.log(s[sel]), 1)[0]
        p(
            f"   direct run m' = {m_eff}: tau = {d['tau']:.5g}; P(n < 20) decays at "
            f"1/{1 / slope:.5g} per collision for k in [0.5, 3] tau (ratio {slope * d['tau']:.4f})"
        )
    # 2 ------------------------------------------------------------------------------
    det = r["detuned"]
    p("== 2. coherent detuned plateau (theta = pi/sqrt(15.6), c = 1, q = 0.25), from vacuum")
    for name in ("lossless", "lossy"):
        for L, e in det[name].items():
            bound = ">=" if e["lower_bound"] else "  "
            p(
                f"   {name:8s} below {L:3d}: rate {e['rate']:.4e} (noise {e['noise']:.1e}), "
                f"lifetime {bound} {e['lifetime']:.4e}, plateau E {e['energy']:.7f}"
            )
    d = det["direct"]
    p(
        "   direct run, lossless, 120 levels: E(k) = "
        + ", ".join(f"{e:.6f}" for e in d["energy"])
        + f" at k = {[int(x) for x in d['k']]}; purity(6000) = {d['purity'][-1]:.6f}, "
        f"leaked {d['leak'][-1]:.2e}"
    )
    cot = det["cot_log10"]
    p(
        f"   Eq. 15 recursion at this theta, log10 p_n/p_0: n=15 {cot[15]:.2f}, n=30 "
        f"{cot[30]:.2f} (trough), n=62 {cot[62]:.2f}, n=100 {cot[100]:.2f}: not normalisable"
    )
    # 3 ------------------------------------------------------------------------------
    tb = r["two_basins"]
    ss, qs, a, b, b10 = tb["ss"], tb["qs"], tb["A"], tb["B"], tb["B10"]
    p(
        "== 3. two basins, gamma t_r = 0.001, theta = pi/sqrt(15), q = 0.25, c = 1, "
        "nbar = 0.15, N = 60"
    )
    p(
        f"   steady_state ({ss['seconds']:.1f} s): fixed point E = {ss['energy']:.6f} +- "
        f"{ss['energy_error']:.1e}, purity {ss['purity']:.6f}, residual {ss['residual']:.1e}, "
        f"metastable {ss['metastable']}, slow rate {ss['slow_rates'][0]:.6e}"
    )
    p(
        "   leading 1 - |lambda|: "
        + ", ".join(f"{x:.4e}" for x in 1 - np.abs(ss["eigenvalues"][:5]))
    )
    p(
        f"   quasi-stationary from vacuum: E = {qs['energy']:.6f}, purity {qs['purity']:.6f}, "
        f"ergotropy {qs['ergotropy']:.6f}, lifetime {qs['lifetime']:.4e}"
    )
    p(
        f"   basin A (window [0, 40)): E = {a['energy']:.7f}, purity {a['purity']:.6f}; escape "
        f"{a['rate']:.6e}/collision (eigenvalue: {a['rate_eig']:.6e}), lifetime {a['lifetime']:.5e}"
    )
    p(
        f"   basin B (window [15, 60)): E = {b['energy']:.7f}, purity {b['purity']:.7f}; down "
        f"{b['rate_down']:.2e} (noise {b['noise']:.1e}), up through the cutoff {b['rate_up']:.3e}"
    )
    p(f"   basin B (window [10, 60)): down {b10['rate_down']:.2e} (noise {b10['noise']:.1e})")
    frac = (qs["energy"] - a["energy"]) / (b["energy"] - a["energy"])
    p(f"   weight of B in the state reached from vacuum: {frac:.3e}")
    f40 = tb["from40"]
    p(
        f"   from |40> on 150 levels: weight above level 59 at k = 5000: {f40['above59'][-1]:.3e}"
        f", leaked {f40['leak']:.1e}"
    )
    k = tb["vac"]["k"]
    for name in ("vac", "from40"):
        e = tb[name]["energy"]
        p(
            f"   direct run from {name}: E(300) = {e[k == 300][0]:.6f}, E(2000) = "
            f"{e[k == 2000][0]:.6f}, E(5000) = {e[k == 5000][0]:.6f}, purity(5000) = "
            f"{tb[name]['purity'][k == 5000][0]:.6f}"
        )
    p(
        "   gap against gamma t_r (60 levels): gamma | 1-|l1| | 1-|l2| | k_AB flux | k_BA flux | "
        "E_A | E_B | fixed E | predicted w_B E_B + w_A E_A"
    )
    for g in r["gap"]:
        kab, kba = g["k_ab"], g["k_ba"]
        resolved = kba > 10 * g["k_ba_noise"]
        pred = np.nan
        if resolved and kab > 0:
            wb = kab / (kab + kba)
            pred = wb * g["E_B"] + (1 - wb) * g["E_A"]
        kba_txt = f"{kba:.3e}" if resolved else f"<{max(kba, 0) + 3 * g['k_ba_noise']:.1e}"
        if not resolved and kab > 0:  # w_A < bound / k_AB: the fixed point is basin B
            w_a = (max(kba, 0) + 3 * g["k_ba_noise"]) / kab
            pred = g["E_B"]
            kba_txt += f" (w_A < {w_a:.0e})"
        p(
            f"   {g['gamma']:.0e} | {g['rates_eig'][1]:.4e} | {g['rates_eig'][2]:.4e} | "
            f"{kab:.4e} | {kba_txt} | {g['E_A']:.4f} | {g['E_B']:.4f} | {g['E_fixed']:.4f} "
            f"+- {g['fixed_err']:.1e} | {pred:.4f}"
        )
    for g in r["gap"]:
        tau1 = -1.0 / math.log1p(-g["rates_eig"][1])
        p(f"   gamma {g['gamma']:.0e}: slowest relaxation -1/ln|lambda_1| = {tau1:.6g} collisions")
    # 4 ------------------------------------------------------------------------------
    p("== 4. fixed point against the cutoff (gamma t_r = 0.001)")
    for n in sorted(r["cutoff"]):
        c = r["cutoff"][n]
        lead = ", ".join(f"{x:.3e}" for x in c["rates_eig"][:4])
        if c["ok"]:
            p(
                f"   N = {n:3d}: E = {c['energy']:.6f} +- {c['energy_error']:.1e}, purity "
                f"{c['purity']:.6f}, residual {c['residual']:.1e}; 1-|lambda|: {lead} "
                f"({c['seconds']:.1f} s)"
            )
        else:
            p(
                f"   N = {n:3d}: REFUSED ({c['reason'][:80]}...); 1-|lambda|: {lead} "
                f"({c['seconds']:.1f} s)"
            )
    for (n, below, above), w in sorted(r["window"].items(), key=lambda kv: (kv[0][0], kv[0][2])):
        bound = ">=" if w["lower_bound"] else "  "
        p(
            f"   N = {n}, window [{above}, {below or n}): E = {w['energy']:.6f}, purity "
            f"{w['purity']:.6f}; up {w['rate_up']:.3e}, down {w['rate_down']:.3e} (noise "
            f"{w['noise']:.1e}); lifetime {bound} {w['lifetime']:.3e} ({w['seconds']:.0f} s)"
        )
    return out


def figures(r: dict, outdir: Path) -> list[Path]:
    """Write the metastability-*.png figures; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    paths = []

    # 1. escape time vs dtheta -------------------------------------------------------
    inc = r["incoherent"]
    rows = inc["rows"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    neg, pos = rows[:, 1] < 0, rows[:, 1] > 0
    ax[0].loglog(np.abs(rows[neg, 1]), rows[neg, 3], "o", label=r"$\delta\theta<0$ ($m'>15$)")
    ax[0].loglog(np.abs(rows[pos, 1]), rows[pos, 3], "s", mfc="none", label=r"$\delta\theta>0$")
    x = np.logspace(-4, -1.3, 50)
    ax[0].loglog(x, (2 / 15) / x**2, "k--", lw=1, label=r"$2/(15\,\delta\theta^2)$")
    sel = np.isin(rows[:, 0], inc["paper"])
    pw, se, pref = _fit_exponent(rows[sel, 1], rows[sel, 3])
    ax[0].set_xlabel(r"$|\delta\theta| = |\theta - \pi/\sqrt{15}|$")
    ax[0].set_ylabel("escape time (collisions), plateau below level 20")
    ax[0].set_title(f"c = 0, q = 0.25, no loss: fitted p = {pw:.3f} ± {se:.3f}")
    ax[0].legend()
    for m_eff, d in inc["direct"].items():
        ax[1].semilogy(d["k"] / d["tau"], d["below20"], label=f"direct run, m' = {m_eff}")
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
    ax[0].axhline(tb["ss"]["energy"], color="C1", ls=":", label="fixed point of T")
    ax[0].set_xlabel("collisions k")
    ax[0].set_ylabel("energy")
    ax[0].set_title(r"$\gamma t_r = 0.001$: two basins")
    ax[0].legend(fontsize=8)
    pa = tb["A"]["pops"]
    pb = np.zeros(60)
    pb[15:] = tb["B"]["pops"]
    ax[1].semilogy(np.arange(pa.size), np.maximum(pa, 1e-40), ".-", label="basin A (E = 6.107)")
    ax[1].semilogy(np.arange(60), np.maximum(pb, 1e-40), ".-", label="basin B (E = 40.366)")
    win_c = r["window"].get((150, None, 40))
    if win_c is not None:
        pc = win_c["pops"]
        ax[1].semilogy(
            np.arange(40, 150),
            np.maximum(pc, 1e-40),
            ".-",
            ms=3,
            label=f"basin C on 150 levels (E = {win_c['energy']:.2f})",
        )
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
    g = r["gap"]
    gam = np.array([x["gamma"] for x in g])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.loglog(gam, [x["rates_eig"][1] for x in g], "o-", label=r"$1-|\lambda_1|$ (eigenvalue)")
    ax.loglog(gam, [x["rates_eig"][2] for x in g], "s-", label=r"$1-|\lambda_2|$ (fast)")
    ax.loglog(gam, [x["k_ab"] for x in g], "^--", label=r"$k_{A\to B}$ (flux, below 40)")
    res = np.array([x["k_ba"] > 10 * x["k_ba_noise"] for x in g])
    kba = np.array([x["k_ba"] for x in g])
    lim = np.array([max(x["k_ba"], 0) + 3 * x["k_ba_noise"] for x in g])
    ax.loglog(gam[res], kba[res], "v--", color="C3", label=r"$k_{B\to A}$ (flux, below 10)")
    ax.loglog(
        gam[~res],
        lim[~res],
        "v",
        color="C3",
        mfc="none",
        label=r"$k_{B\to A}$ upper limit (rounding floor)",
    )
    ax.set_xlabel(r"$\gamma t_r$")
    ax.set_ylabel("rate per collision")
    ax.set_title(r"$\theta=\pi/\sqrt{15}$, q = 0.25, c = 1, $\bar n$ = 0.15, 60 levels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(outdir / "metastability-gap-vs-gamma.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 4. coherent detuned ------------------------------------------------------------
    det = r["detuned"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    ax[0].plot(det["cot_log10"][:130], label="Eq. 15 recursion (cotangent state)")
    e20 = det["lossless"][40]["pops"]
    ax[0].plot(
        np.log10(np.maximum(e20 / e20[0], 1e-300)), ".", label="plateau state, window [0, 40)"
    )
    ax[0].set_ylim(-25, 90)
    ax[0].set_xlabel("photon number n")
    ax[0].set_ylabel(r"$\log_{10}\, p_n/p_0$")
    ax[0].set_title(r"$\theta = \pi/\sqrt{15.6}$, c = 1, no loss")
    ax[0].legend(fontsize=8)
    for name, color in (("lossless", "C0"), ("lossy", "C1")):
        ls = np.array(sorted(det[name]))
        es = [det[name][L] for L in ls]
        bound = np.array([e["lower_bound"] for e in es])
        rate = np.array([e["rate"] for e in es])
        upper = np.array([max(e["rate"], 0.0) + 3 * e["noise"] for e in es])
        style = "o-" if not bound.any() else "o"  # do not join resolved points across bounds
        ax[1].semilogy(ls[~bound], rate[~bound], style, color=color, label=f"{name}: flux rate")
        if bound.any():
            ax[1].semilogy(
                ls[bound],
                upper[bound],
                "v",
                color=color,
                mfc="none",
                label=f"{name}: below double precision (upper limit)",
            )
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
    for n in sorted(r["cutoff"]):
        c = r["cutoff"][n]
        if c["ok"]:
            ax.semilogy(np.arange(n), np.maximum(c["pops"], 1e-40), label=f"fixed point, N = {n}")
    for (n, below, above), w in sorted(r["window"].items(), key=lambda kv: (kv[0][0], kv[0][2])):
        if below is None and above > 15:
            ax.semilogy(
                np.arange(above, n),
                np.maximum(w["pops"], 1e-40),
                "--",
                label=f"basin state, window [{above}, {n})",
            )
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
    """Run every computation (in parallel), print the report, write the figures."""
    ap = argparse.ArgumentParser(prog="python -m analysis.metastability", description=__doc__)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--quick", action="store_true", help="skip the 250-level windows")
    ap.add_argument("--figures", type=Path, default=FIG_DIR, help="output folder of the PNGs")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    results = run_all(args.jobs, args.quick)
    for line in report(results):
        print(line)
    for path in figures(results, args.figures):
        print(f"wrote {path}")
    print(f"total {time.perf_counter() - t0:.0f} s with {args.jobs} workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
