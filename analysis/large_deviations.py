r"""Large deviations of the counts: the classic micromaser, the paper's batteries, metastability.

Produces ``docs/LARGE_DEVIATIONS.md``, its figures (``docs/figures/large_deviations_*.png``)
and ``data/large_deviations/results.json``::

    python -m analysis.large_deviations                 # ~10 min on one core
    python -m analysis.large_deviations --report-only   # re-render page and figures
    python -m analysis.large_deviations --quick         # smoke test (small, not committed)

The page is rendered from the data file only (:func:`render`). theta(s) is the scaled
cumulant generating function per collision of a count (``tj.counting.scgf``), I(x) its
Legendre transform (``docs/MODEL.md``, Sec. 10). Parts:

(a) the classic micromaser (Poisson arrivals, excited incoherent qubits, gamma t_r = 1/N_ex,
    model theta = pump / sqrt(N_ex)) against the pump parameter for several N_ex: the
    stationary photon distribution (detailed balance), its bistability, the rate and variance
    rate of the qubits leaving in g, and the activity k(s) = -theta'(s) near s = 0;
(b) the paper's batteries: the probability that a charging run of K collisions delivers less
    than a fraction f of the typical energy, from I(x), checked by cloning, by the exact
    finite-K distribution and by trajectories;
(c) metastability in the counts: the gamma t_r = 0.001 coherent battery, whose theta(s) has a
    kink at s* ~ (escape rate)/(difference of the basins' count rates).

Every grid of s is swept in both directions (warm starts along s) and the larger eigenvalue
kept: a sweep can follow a subdominant branch where the chain is nearly reducible (the data
record how often the two directions disagree).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.signal import find_peaks

import trajectories as tj
from analysis.common import machine, to_plain
from analysis.large_deviations_report import figures, render
from analysis.paper import CURVES

__all__ = ["main", "compute", "render", "figures", "theta_grid", "detailed_balance"]

ROOT = Path(__file__).resolve().parents[1]
FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "data" / "large_deviations"
DOC = ROOT / "docs" / "LARGE_DEVIATIONS.md"

NBAR = 0.15
#: relative cutoff of the convergence checks
CHECK_FACTOR = 1.3
#: slow rates (1 - |lambda_2|) below this are not resolved by the dense eigensolver
GAP_FLOOR = 1e-9
#: largest accepted difference between the eigenvalue rate and energy balance
RATE_TOL = 1e-6
#: largest accepted relative change of a variance rate between the two cutoffs
VAR_TOL = 1e-2
#: from this N_ex on, every pump of a scan is checked at the larger cutoff
CHECK_ALL_FROM = 150
#: theta(s) differences (cutoff N against 1.3 N) above this mark a point unconverged
THETA_TOL = 1e-9
#: ARPACK's largest accepted |lambda_2|/lambda_1 in part (c) (see the page)
MAX_RATIO_C = 1.0 - 1e-13
FULL = dict(
    nex=(10, 20, 30, 50, 100, 200),
    pump=np.round(np.arange(0.0, 10.0001, 0.05), 6),
    check_every=4,
    s_coarse=np.round(np.linspace(-0.2, 0.2, 41), 10),
    map_nex=30,
    map_pump=np.round(np.arange(0.0, 10.0001, 0.1), 6),
    map_s=np.round(np.linspace(-0.2, 0.2, 31), 10),
    batteries=("loss_fine_01", "loss_det_01"),
    probes=tuple(k for k in CURVES if k not in ("loss_fine_01", "loss_det_01")),
    battery_s=np.round(np.linspace(-1.0, 3.0, 61), 10),
    fractions=(0.5, 0.75, 0.9),
    clones=(1000, 250),
    clone_collisions=400,
    exact_k=(25, 50, 100, 200, 400),
    traj=20000,
    traj_k=100,
    meta_cutoff=60,
    meta_log=21,
    meta_wide=22,
    timing=True,
)
QUICK = dict(
    nex=(10, 20),
    pump=np.round(np.arange(0.0, 10.0001, 0.5), 6),
    check_every=4,
    s_coarse=np.round(np.linspace(-0.2, 0.2, 9), 10),
    map_nex=10,
    map_pump=np.round(np.arange(0.0, 10.0001, 1.0), 6),
    map_s=np.round(np.linspace(-0.2, 0.2, 9), 10),
    batteries=("loss_fine_01",),
    probes=("inc_fine_q025", "coh_fine"),
    battery_s=np.round(np.linspace(-1.0, 3.0, 9), 10),
    fractions=(0.5,),
    clones=(100, 25),
    clone_collisions=100,
    exact_k=(25, 50),
    traj=2000,
    traj_k=25,
    meta_cutoff=20,
    meta_log=3,
    meta_wide=3,
    timing=False,
)
QUICK_BATTERY_CUTOFF = 30


# ================================================================================ helpers
def theta_grid(model: tj.Micromaser, s: np.ndarray, count: str = "g", **kw) -> dict:
    """theta(s) on a grid, swept up and down in s; the larger eigenvalue at each point.

    Both sweeps return eigenvalues of the same positive map, so the larger is the better
    estimate of the leading one. A sweep that is refused falls back to one call per point
    (refused points are NaN, with the reason).
    """
    s = np.asarray(s, dtype=float)
    order = np.argsort(s)
    runs, reasons = [], {}
    for idx in (order, order[::-1]):
        th = np.full(s.size, np.nan)
        ra = np.full(s.size, np.nan)
        try:
            r = tj.counting.scgf(model, s[idx], count, **kw)
            th[idx], ra[idx] = r.theta, r.ratio
        except ValueError:
            for i in idx:
                try:
                    r = tj.counting.scgf(model, s[i], count, **kw)
                    th[i], ra[i] = r.theta[0], r.ratio[0]
                except ValueError as err:
                    reasons[int(i)] = str(err).split(":")[0]
        runs.append((th, ra))
    (t1, r1), (t2, r2) = runs
    both = np.vstack([t1, t2])
    pick = np.where(np.isnan(t2) | (t1 >= t2), 0, 1)
    theta = np.where(np.isnan(t1) & np.isnan(t2), np.nan, np.nanmax(both, axis=0))
    ratio = np.where(pick == 0, r1, r2)
    disagree = np.abs(t1 - t2)
    n_dis = int(np.sum(disagree[np.isfinite(disagree)] > 1e-11))
    return {
        "theta": theta,
        "ratio": ratio,
        "disagreements": n_dis,
        "max_disagreement": float(np.nanmax(disagree)) if np.isfinite(disagree).any() else 0.0,
        "refused": {str(float(s[i])): why for i, why in sorted(reasons.items())},
    }


def _derivative(model, s: np.ndarray, h: np.ndarray | float, **kw) -> tuple[dict, np.ndarray]:
    """theta on the grid and x(s) = -theta'(s) by central differences of step h."""
    h = np.broadcast_to(np.asarray(h, dtype=float), s.shape)
    mid = theta_grid(model, s, **kw)
    plus = theta_grid(model, s + h, **kw)["theta"]
    minus = theta_grid(model, s - h, **kw)["theta"]
    return mid, -(plus - minus) / (2.0 * h)


def classic_model(nex: float, pump: float, cutoff: int) -> tj.Micromaser:
    """The classic micromaser: Poisson arrivals, excited incoherent qubits, gamma t_r = 1/N_ex."""
    return tj.Micromaser(theta=pump / math.sqrt(nex), q=0.0, c=0.0, gamma_tr=1.0 / nex,
                         nbar=NBAR, cutoff=cutoff, arrivals=tj.Arrivals.poisson())  # fmt: skip


def classic_cutoff(nex: int) -> int:
    """Cutoff of part (a): the photon number stays below about N_ex (plus the bath's tail)."""
    return 2 * nex + 40


def detailed_balance(nex: float, pump: float, cutoff: int) -> np.ndarray:
    """Stationary photon distribution of the classic micromaser (q = 0) from detailed balance,
    p_k g (nbar+1) k = p_(k-1) [g nbar k + sin^2(theta sqrt k)], in logarithms."""
    th, g = pump / math.sqrt(nex), 1.0 / nex
    k = np.arange(1, cutoff)
    ratio = np.log(g * NBAR * k + np.sin(th * np.sqrt(k)) ** 2) - np.log(g * (NBAR + 1) * k)
    lp = np.concatenate([[0.0], np.cumsum(ratio)])
    p = np.exp(lp - lp.max())
    return p / p.sum()


def _peaks(p: np.ndarray) -> list[int]:
    """Local maxima of a distribution that stand out by 5 % of its largest value."""
    idx, _ = find_peaks(np.concatenate([[0.0], p, [0.0]]), prominence=0.05 * p.max())
    return [int(i - 1) for i in idx]


def _basins(p: np.ndarray, peaks: list[int], nex: float) -> dict | None:
    """Two largest peaks: weights, mean photon numbers and g rates (n - nbar)/N_ex per basin,
    split at the minimum between them."""
    if len(peaks) < 2:
        return None
    a, b = sorted(sorted(peaks, key=lambda i: -p[i])[:2])
    cut = a + int(np.argmin(p[a : b + 1]))
    n = np.arange(p.size)
    lo, hi = p[: cut + 1], p[cut + 1 :]
    n_lo = float((lo * n[: cut + 1]).sum() / lo.sum())
    n_hi = float((hi * n[cut + 1 :]).sum() / hi.sum())
    return {"split": cut, "w_lo": float(lo.sum()), "w_hi": float(hi.sum()), "n_lo": n_lo,
            "n_hi": n_hi, "k_lo": (n_lo - NBAR) / nex, "k_hi": (n_hi - NBAR) / nex}  # fmt: skip


def _round(x, digits: int):
    """Floats (nested lists or arrays) to ``digits`` significant digits, for a small file."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_round(v, digits) for v in x]
    if x is None or isinstance(x, (bool, np.bool_, int, np.integer)):
        return x
    return float(f"{float(x):.{digits}g}")


#: significant digits kept per column of a pump scan
_DIGITS = {"pump": 6, "mean_n": 7, "top_weight": 3, "rate_dev": 3, "balance_rate": 8,
           "variance_rate": 6, "gap": 4, "check_rate_dev": 3, "check_var_dev": 3}  # fmt: skip


def _columns(rows: list[dict]) -> dict:
    """A scan's rows as columns (one list per key), rounded: the data file stays small."""
    return {k: [_round(r[k], _DIGITS[k]) if k in _DIGITS else r[k] for r in rows] for k in rows[0]}


def _rates(model: tj.Micromaser):
    """``stationary_rates`` of the g count; where it refuses (a spectral gap below its floor,
    or a negative variance rate: rounding decides them) NaN rates with the gap it saw."""
    try:
        return tj.counting.stationary_rates(model, "g")
    except ValueError:
        from trajectories.solvers.counting.rates import _untilted_spectrum

        lead, second, *_ = _untilted_spectrum(model)
        return SimpleNamespace(rate=math.nan, variance_rate=math.nan,
                               second_eigenvalue=second / abs(lead))  # fmt: skip


# ============================================================= (a) the classic micromaser
def classic_scan(nex: int, pumps: np.ndarray, check_every: int) -> dict:
    """Stationary distribution, rate and variance rate of the g count against the pump."""
    n = classic_cutoff(nex)
    nc = int(math.ceil(CHECK_FACTOR * n))
    rows = []
    for i, pump in enumerate(pumps):
        p = detailed_balance(nex, pump, n)
        pk = _peaks(p)
        mean = float((p * np.arange(n)).sum())
        r = _rates(classic_model(nex, pump, n))
        gap = 1.0 - abs(r.second_eigenvalue)
        balance = (mean - NBAR) / nex  # photons in = photons lost, per collision
        resolved = gap > GAP_FLOOR and abs(r.rate - balance) < RATE_TOL
        row = {
            "pump": float(pump), "mean_n": mean, "peaks": pk, "top_weight": float(p[-1]),
            "rate_dev": r.rate - balance, "balance_rate": balance,
            "variance_rate": r.variance_rate, "gap": gap, "resolved": bool(resolved),
            "check_rate_dev": None, "check_var_dev": None,
        }  # fmt: skip
        if i % (1 if nex >= CHECK_ALL_FROM else check_every) == 0:
            rc = _rates(classic_model(nex, pump, nc))
            row["check_rate_dev"] = rc.rate - r.rate
            row["check_var_dev"] = (rc.variance_rate - r.variance_rate) / max(
                abs(r.variance_rate), 1e-300
            )
            if not abs(row["check_var_dev"]) <= VAR_TOL:  # also NaN: refused at 1.3 N
                row["resolved"] = False
        if not r.variance_rate > 0:  # also NaN: refused by stationary_rates
            row["resolved"] = False
        rows.append(row)
    # the stationary state from detailed balance against the package's steady state
    dev = []
    for pump in pumps[:: max(1, len(pumps) // 8)]:
        try:
            ss = tj.steady_state(classic_model(nex, pump, n))
        except tj.SteadyStateError:
            continue
        dev.append(float(np.abs(np.real(np.diag(ss.rho)) - detailed_balance(nex, pump, n)).max()))
    return {
        "nex": nex, "cutoff": n, "check_cutoff": nc, "rows": rows,
        "steady_state_dev": max(dev) if dev else None, "steady_state_points": len(dev),
    }  # fmt: skip


def _equal_weight_pump(nex: int, n: int, pumps: list[float]) -> float:
    """The pump in a bistable window where the two basins weigh the same (detailed balance)."""

    def excess(p: float) -> float:
        dist = detailed_balance(nex, p, n)
        b = _basins(dist, _peaks(dist), nex)
        return b["w_hi"] - 0.5 if b else (-0.5 if p < np.median(pumps) else 0.5)

    return float(brentq(excess, min(pumps), max(pumps), xtol=1e-6))


def _crossover_pump(scan: dict, lo: float = 5.0, hi: float = 8.0) -> float:
    """The pump in [lo, hi] where the variance rate is largest (resolved points), refined;
    where the bistable window holds unresolved points, where the two basins weigh the same."""
    nex, n = scan["nex"], scan["cutoff"]
    window = [r for r in scan["rows"] if lo <= r["pump"] <= hi and len(r["peaks"]) > 1]
    if window and not all(r["resolved"] for r in window):
        return _equal_weight_pump(nex, n, [r["pump"] for r in window])
    rows = [r for r in scan["rows"] if lo <= r["pump"] <= hi and r["resolved"]]
    best = max(rows, key=lambda r: r["variance_rate"])["pump"]

    def neg(p: float) -> float:
        r = _rates(classic_model(nex, p, n))
        ok = 1 - abs(r.second_eigenvalue) > GAP_FLOOR and math.isfinite(r.variance_rate)
        return -r.variance_rate if ok else 0.0

    step = float(scan["rows"][1]["pump"] - scan["rows"][0]["pump"])
    res = minimize_scalar(neg, bounds=(best - step, best + step), method="bounded",
                          options={"xatol": 1e-4})  # fmt: skip
    return float(res.x)


def classic_crossover(scan: dict, s_coarse: np.ndarray) -> dict:
    """theta(s) and k(s) = -theta'(s) near s = 0 at the pump of the largest variance rate."""
    nex, n = scan["nex"], scan["cutoff"]
    pump = _crossover_pump(scan)
    model = classic_model(nex, pump, n)
    r = _rates(model)
    gap = 1.0 - abs(r.second_eigenvalue)
    p = detailed_balance(nex, pump, n)
    pk = _peaks(p)
    bas = _basins(p, pk, nex)
    balance = (float((p * np.arange(n)).sum()) - NBAR) / nex
    resolved = gap > GAP_FLOOR and abs(r.rate - balance) < RATE_TOL
    out = {"nex": nex, "pump": pump, "cutoff": n, "rate": r.rate, "variance_rate": r.variance_rate,
           "gap": gap, "resolved": bool(resolved), "peaks": pk, "basins": bas,
           "p": [float(f"{v:.3g}") for v in p]}  # fmt: skip
    width = None
    if bas is not None and resolved:
        dk = abs(bas["k_hi"] - bas["k_lo"])
        width = gap / dk
        out["telegraph_variance"] = 2 * bas["w_lo"] * bas["w_hi"] * dk**2 / gap
    out["width"] = width
    s = np.asarray(s_coarse, dtype=float)
    if width is not None and width < 0.02:
        s = np.union1d(s, np.round(width * np.linspace(-8, 8, 33), 16))
    if not resolved:
        s = s[s != 0.0]  # the two branches are degenerate at s = 0 to double precision
    h = np.full(s.size, 1e-5)
    if width is not None:
        h = np.minimum(h, width / 20)
    mid, x = _derivative(model, s, h)
    chk = theta_grid(model.replace(cutoff=int(math.ceil(CHECK_FACTOR * n))), s)
    out.update({"s": s, "h": h, "theta": mid["theta"], "k": x, "ratio": mid["ratio"],
                "disagreements": mid["disagreements"], "refused": mid["refused"],
                "check_cutoff": int(math.ceil(CHECK_FACTOR * n)),
                "check_dev": float(np.nanmax(np.abs(chk["theta"] - mid["theta"])))})  # fmt: skip
    # theta''(0) from the grid's finite differences against the perturbative variance rate
    if resolved:
        hh = min(1e-4, (width or 1.0) / 50)
        t3 = theta_grid(model, np.array([-hh, 0.0, hh]))["theta"]
        out["fd_variance_rate"] = float((t3[0] - 2 * t3[1] + t3[2]) / hh**2)
        out["fd_step"] = hh
        out["fd_noise"] = 4e-13 / hh**2  # rounding of theta (ARPACK tolerance) over h^2
    return out


def classic_map(nex: int, pumps: np.ndarray, s: np.ndarray) -> dict:
    """k(s) = -theta'(s) on a (pump, s) grid (differences along the s grid)."""
    n = classic_cutoff(nex)
    theta = np.empty((pumps.size, s.size))
    dis = 0
    refused = 0
    for i, pump in enumerate(pumps):
        g = theta_grid(classic_model(nex, pump, n), s)
        theta[i] = g["theta"]
        dis += g["disagreements"]
        refused += len(g["refused"])
    k = -np.gradient(theta, s, axis=1)
    chk = []
    for i in range(0, pumps.size, max(1, pumps.size // 10)):
        g = theta_grid(classic_model(nex, pumps[i], int(math.ceil(CHECK_FACTOR * n))), s)
        chk.append(float(np.nanmax(np.abs(g["theta"] - theta[i]))))
    return {"nex": nex, "cutoff": n, "pump": pumps, "s": s, "theta": theta, "k": k,
            "disagreements": dis, "refused": refused, "check_dev": max(chk),
            "check_points": len(chk)}  # fmt: skip


# ====================================================================== (b) the batteries
def battery_probe(key: str, cutoff: int | None = None) -> dict:
    """What theta(s) of the g count is for one of the paper's cases (or why it is refused)."""
    m = CURVES[key].model
    if cutoff is not None:
        m = m.replace(cutoff=cutoff)
    s = np.array([-0.1, 0.0, 0.1, 0.5])
    out = {"key": key, "q": m.q, "c": abs(m.c), "theta": m.theta, "gamma_tr": m.gamma_tr,
           "cutoff": m.cutoff, "s": s}  # fmt: skip
    check = m.replace(cutoff=int(math.ceil(CHECK_FACTOR * m.cutoff)))
    for label, model in (("main", m), ("check", check)):
        th, ra, why = np.full(s.size, np.nan), np.full(s.size, np.nan), {}
        for i, sv in enumerate(s):  # one cold start per point: no warm-start path
            try:
                r = tj.counting.scgf(model, sv, "g")
                th[i], ra[i] = r.theta[0], r.ratio[0]
            except ValueError as err:
                why[str(sv)] = str(err)
        out[label] = {"theta": th, "ratio": ra, "refused": why, "cutoff": model.cutoff}
    main = out["main"]
    binom = np.log(m.q * np.exp(-s) + 1 - m.q)
    dev = np.abs(main["theta"] - binom)
    main["binomial_dev"] = float(np.nanmax(dev)) if np.isfinite(dev).any() else None
    return out


def battery_case(key: str, cfg: dict, seed: int, quick: bool) -> dict:
    """I(x) of the delivered quanta, the probability of a poor run, and its checks."""
    m = CURVES[key].model
    if quick:
        m = m.replace(cutoff=QUICK_BATTERY_CUTOFF)
    q = m.q
    s = np.asarray(cfg["battery_s"], dtype=float)
    mid, x = _derivative(m, s, 1e-5)
    chk = theta_grid(m.replace(cutoff=int(math.ceil(CHECK_FACTOR * m.cutoff))), s)
    zero = theta_grid(m, np.array([-1e-5, 0.0, 1e-5]))["theta"]
    x_typ = -(zero[2] - zero[0]) / 2e-5
    var_rate = (zero[0] - 2 * zero[1] + zero[2]) / 1e-10
    d_typ = x_typ - q

    def x_of(sv: float) -> float:
        t = tj.counting.scgf(m, [sv - 1e-5, sv + 1e-5], "g").theta
        return -(t[1] - t[0]) / 2e-5

    points = []
    for f in cfg["fractions"]:
        xf = q + f * d_typ
        sf = brentq(lambda sv, xf=xf: x_of(sv) - xf, 0.0, 5.0, xtol=1e-10)
        th = float(tj.counting.scgf(m, sf, "g").theta[0])
        points.append({"f": f, "x": xf, "s": sf, "theta": th, "rate": -sf * xf - th})
    # cloning at each s_f (and a smaller population at the first, for the bias)
    clones = []
    for j, pt in enumerate(points):
        sizes = cfg["clones"] if j == 0 else cfg["clones"][:1]
        for size in sizes:
            c = tj.counting.cloning(m, pt["s"], "g", n_clones=size, seed=seed + 10 * j,
                                    n_collisions=cfg["clone_collisions"], n_jobs=1)  # fmt: skip
            clones.append({"f": pt["f"], "s": pt["s"], "n_clones": size, "scgf": c.scgf,
                           "stderr": c.stderr, "rate": c.rate, "rate_stderr": c.rate_stderr,
                           "n_collisions": c.n_collisions, "burn_in": c.burn_in,
                           "populations": len(c.populations), "seconds": c.seconds,
                           "exact_theta": pt["theta"], "exact_x": pt["x"]})  # fmt: skip
    # the exact finite-K distribution of a charging run from the empty battery
    ks = list(cfg["exact_k"])
    t0 = time.time()
    ex = tj.counting.exact_distribution(m, max(ks), "g", checkpoints=ks, progress=False)
    exact = []
    for ci, k in enumerate(ex.k):
        pk = ex.probabilities[ci]
        for pt in points:
            jmax = math.floor(k * pt["x"] + 1e-9)
            prob = float(pk[ex.values <= jmax].sum())
            exact.append({"k": int(k), "f": pt["f"], "j_max": jmax, "p": prob,
                          "window_lo": int(ex.window[ci][0]), "tail_mass": float(ex.tail_mass[ci]),
                          "reliable": bool(prob > 1e-12 and jmax >= ex.window[ci][0])})  # fmt: skip
    exact_seconds = time.time() - t0
    out = {"key": key, "label": CURVES[key].label, "q": q, "c": abs(m.c), "theta_model": m.theta,
           "gamma_tr": m.gamma_tr, "nbar": m.nbar, "cutoff": m.cutoff,
           "check_cutoff": int(math.ceil(CHECK_FACTOR * m.cutoff)), "s": s,
           "theta": mid["theta"], "x": x, "rate": -s * x - mid["theta"],
           "disagreements": mid["disagreements"], "refused": mid["refused"],
           "check_dev": float(np.nanmax(np.abs(chk["theta"] - mid["theta"]))),
           "x_typ": x_typ, "d_typ": d_typ, "variance_rate": var_rate, "points": points,
           "cloning": clones, "exact": exact, "exact_seconds": exact_seconds,
           "exact_grid": int(ex.grid_size)}  # fmt: skip
    return out


def battery_trajectories(key: str, cfg: dict, points: list[dict], seed: int, quick: bool) -> dict:
    """P(N_K <= K x_f) from trajectories' count histograms against the exact distribution."""
    m = CURVES[key].model
    if quick:
        m = m.replace(cutoff=QUICK_BATTERY_CUTOFF)
    k = cfg["traj_k"]
    ens = tj.simulate(m, k, cfg["traj"], seed=seed, checkpoints=[k], n_jobs=1, progress=False)
    counts = tj.counting.from_ensemble(ens, "g").counts[:, -1]
    ex = tj.counting.exact_distribution(m, k, "g", checkpoints=[k], progress=False)
    rows = []
    for pt in points:
        jmax = math.floor(k * pt["x"] + 1e-9)
        p_traj = float(np.mean(counts <= jmax))
        p_ex = float(ex.probabilities[0][ex.values <= jmax].sum())
        se = math.sqrt(max(p_ex * (1 - p_ex), 1e-300) / counts.size)
        rows.append({"f": pt["f"], "j_max": jmax, "p_traj": p_traj, "p_exact": p_ex, "se": se,
                     "z": (p_traj - p_ex) / se})  # fmt: skip
    return {"key": key, "k": k, "trajectories": int(counts.size), "seed": seed, "rows": rows}


# ======================================================================= (c) metastability
def metastable_counts(cutoff: int, n_log: int = 21, n_wide: int = 36) -> dict:
    """theta(s) of the g count at gamma t_r = 0.001 near s = 0: a kink between two basins."""
    m = CURVES["loss_fine_0001"].model.replace(cutoff=cutoff)
    out = {"cutoff": cutoff, "check_cutoff": int(math.ceil(CHECK_FACTOR * cutoff)),
           "q": m.q, "theta_model": m.theta, "gamma_tr": m.gamma_tr, "nbar": m.nbar,
           "max_ratio": MAX_RATIO_C}  # fmt: skip
    try:
        tj.counting.scgf(m, 0.0, "g")
        out["default_refusal"] = None
    except ValueError as err:
        out["default_refusal"] = str(err)
    pos = np.logspace(-11, -1, n_log)
    s = np.concatenate([-pos[::-1], [0.0], pos])
    full = theta_grid(m, s, max_ratio=MAX_RATIO_C)
    big = np.abs(full["theta"]) > 1e-11
    chk = theta_grid(m.replace(cutoff=out["check_cutoff"]), s, max_ratio=MAX_RATIO_C)
    win = m.replace(cutoff=15)  # basin A: levels 0-14, the blocked 14 -> 15 as the boundary
    a = theta_grid(win, s)
    tw = tj.counting.scgf(win, 0.0, "g").theta[0]
    # the two branches from the full channel, well away from the kink: B at s < 0, A at s > 0
    tb = theta_grid(m, np.array([-2e-6, -1e-6]), max_ratio=MAX_RATIO_C)["theta"]
    ta = theta_grid(m, np.array([1e-6, 2e-6]), max_ratio=MAX_RATIO_C)["theta"]
    k_b = -(tb[1] - tb[0]) / 1e-6
    k_a = -(ta[1] - ta[0]) / 1e-6
    theta_a0 = ta[0] + 1e-6 * k_a  # branch A continued to s = 0: ln(1 - escape)
    theta_b0 = tb[1] - 1e-6 * k_b
    escape = -math.expm1(theta_a0)
    out.update({"s": s, "theta": full["theta"], "ratio": full["ratio"],
                "disagreements": full["disagreements"], "refused": full["refused"],
                "max_disagreement": full["max_disagreement"],
                "check_dev": float(np.nanmax(np.abs(chk["theta"] - full["theta"]))),
                "check_dev_rel": float(np.nanmax(np.abs(chk["theta"] - full["theta"])[big]
                                                 / np.abs(full["theta"])[big])),
                "theta_a": a["theta"], "k_a": k_a, "k_b": k_b, "escape_a": escape,
                "theta_b0": theta_b0, "escape_window": -math.expm1(tw),
                "s_star": (theta_b0 - theta_a0) / (k_b - k_a) if k_b > k_a else None})  # fmt: skip
    # where the computed theta(s) follows basin A's branch
    dist_a = np.abs(full["theta"] - (theta_a0 - s * k_a))
    on_a = dist_a < np.abs(full["theta"] - (theta_b0 - s * k_b))
    out["on_a"] = on_a
    # the slow rate between the basins as the metastability study measured it
    meta = DATA_DIR.parent / "metastability" / "results.json"
    if meta.exists():
        tb2 = json.loads(meta.read_text())["results"]["two_basins"]
        out["metastability"] = {"rate_ab": tb2["A"]["rate"], "rate_eig": tb2["A"]["rate_eig"],
                                "energy_a": tb2["A"]["energy"], "energy_b": tb2["B"]["energy"],
                                "slow_rate": tb2["ss"]["slow_rates"][0]}  # fmt: skip
    # a wider view: theta(s) and I(x) on a linear grid
    sl = np.round(np.linspace(-0.2, 0.5, n_wide), 10)
    mid, x = _derivative(m, sl, 1e-5, max_ratio=MAX_RATIO_C)
    out["wide"] = {"s": sl, "theta": mid["theta"], "x": x, "rate": -sl * x - mid["theta"]}
    return out


# ============================================================================== timing
def timing() -> dict:
    """theta(s) on 201 values of s at N = 60 and 150, incoherent qubits (one core)."""
    s = np.linspace(-1.0, 1.0, 201)
    out = {}
    for n in (60, 150):
        m = tj.Micromaser(theta=1.05, q=0.0, c=0.0, gamma_tr=0.05, nbar=0.15, cutoff=n,
                          arrivals=tj.Arrivals.poisson())  # fmt: skip
        tj.counting.scgf(m, s[:3], "g")  # warm-up
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            tj.counting.scgf(m, s, "g")
            best = min(best, time.perf_counter() - t0)
        out[str(n)] = best
    return out


# ============================================================================== driver
def compute(quick: bool = False, log=print) -> dict:
    """Everything the page shows; ``quick`` for a smoke test."""
    cfg = QUICK if quick else FULL
    t0 = time.time()
    scans, crossovers = [], []
    for nex in cfg["nex"]:
        t1 = time.time()
        sc = classic_scan(nex, cfg["pump"], cfg["check_every"])
        sc["seconds"] = time.time() - t1
        scans.append(sc)
        cr = classic_crossover(sc, cfg["s_coarse"])
        crossovers.append(cr)
        log(f"(a) N_ex = {nex}: {time.time() - t1:.1f} s")
    t1 = time.time()
    cmap = classic_map(cfg["map_nex"], cfg["map_pump"], cfg["map_s"])
    cmap["k"] = _round(cmap["k"], 5)
    del cmap["theta"]
    for sc in scans:
        sc["rows"] = _columns(sc["rows"])
    cmap["seconds"] = time.time() - t1
    log(f"(a) map: {cmap['seconds']:.1f} s")
    probes = []
    for key in cfg["probes"]:
        probes.append(battery_probe(key, 20 if quick else None))
    log(f"(b) probes: {time.time() - t1:.1f} s")
    batteries = []
    for i, key in enumerate(cfg["batteries"]):
        t2 = time.time()
        b = battery_case(key, cfg, seed=2200 + 100 * i, quick=quick)
        b["seconds"] = time.time() - t2
        batteries.append(b)
        log(f"(b) {key}: {b['seconds']:.1f} s")
    traj = battery_trajectories(cfg["batteries"][0], cfg, batteries[0]["points"], 2299, quick)
    t1 = time.time()
    meta = metastable_counts(cfg["meta_cutoff"], cfg["meta_log"], cfg["meta_wide"])
    meta["seconds"] = time.time() - t1
    log(f"(c) {meta['seconds']:.1f} s")
    tim = timing() if cfg["timing"] else None
    return {
        "meta": {
            "machine": machine(),
            "python": platform.python_version(),
            "version": tj.__version__,
            "seconds": time.time() - t0,
            "quick": quick,
            "nbar": NBAR,
            "check_factor": CHECK_FACTOR,
            "gap_floor": GAP_FLOOR,
            "rate_tol": RATE_TOL,
            "var_tol": VAR_TOL,
            "check_all_from": CHECK_ALL_FROM,
            "theta_tol": THETA_TOL,
            "pump_step": float(cfg["pump"][1] - cfg["pump"][0]),
            "check_every": cfg["check_every"],
        },
        "classic": {"scans": scans, "crossovers": crossovers, "map": cmap},
        "probes": probes,
        "batteries": batteries,
        "trajectories": traj,
        "metastable": meta,
        "timing": tim,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: compute (or reload) the data, then render figures and page."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report-only", action="store_true", help="re-render from the data")
    parser.add_argument("--quick", action="store_true", help="small smoke test")
    parser.add_argument(
        "--out", type=Path, default=None,
        help="directory for data, figures and page (default: the repository)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    data_dir, fig_dir, doc = DATA_DIR, FIG_DIR, DOC
    if args.out is not None:
        data_dir, fig_dir, doc = args.out, args.out, args.out / "LARGE_DEVIATIONS.md"
    elif args.quick:
        raise SystemExit("--quick writes only with --out DIR (the committed data is the full run)")
    data_file = data_dir / "results.json"
    if not args.report_only:
        d = compute(quick=args.quick)
        data_dir.mkdir(parents=True, exist_ok=True)
        data_file.write_text(json.dumps(to_plain(d), separators=(",", ":")))
    d = json.loads(data_file.read_text())
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures(d, fig_dir)
    doc.write_text(render(d))
    print(f"wrote {doc}, {data_file} and the figures")


if __name__ == "__main__":
    main()
