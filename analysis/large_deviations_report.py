"""Figures and page of the large-deviation study (``analysis.large_deviations``), from its
data file only: every number on the page is read from ``data/large_deviations/results.json``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from analysis.common import fmt

__all__ = ["figures", "render", "summary"]

FRAC_COLORS = ("tab:red", "tab:orange", "tab:green")


def _arr(x) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def _rows(sc: dict) -> list[dict]:
    """A scan's columns as rows."""
    cols = sc["rows"]
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def _window(rows: list[dict]) -> tuple[float, float] | None:
    """First and last pump with two or more peaks in [4, 8.5] (the first first-order window)."""
    bi = [r["pump"] for r in rows if len(r["peaks"]) > 1 and 4.0 <= r["pump"] <= 8.5]
    return (min(bi), max(bi)) if bi else None


def summary(d: dict) -> dict:
    """Derived numbers the page and the tests share (all from the data)."""
    out = {"scans": []}
    for sc in d["classic"]["scans"]:
        rows = _rows(sc)
        checked = [r for r in rows if r["check_rate_dev"] is not None and r["resolved"]]
        dev_rate = max((abs(r["check_rate_dev"]) for r in checked), default=None)
        dev_var = max((abs(r["check_var_dev"]) for r in checked), default=None)
        thr = min(rows, key=lambda r: abs(r["pump"] - 1.0))
        out["scans"].append({
            "nex": sc["nex"], "window": _window(rows),
            "unresolved": sum(not r["resolved"] for r in rows), "points": len(rows),
            "checked": len(checked), "dev_rate": dev_rate, "dev_var": dev_var,
            "top_weight": max(r["top_weight"] for r in rows),
            "threshold_variance": thr["variance_rate"] if thr["resolved"] else None,
            "threshold_pump": thr["pump"],
        })  # fmt: skip
    return out


# =============================================================================== figures
def figures(d: dict, fig_dir: Path) -> None:
    """The page's figures, from the data only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = Path(fig_dir)
    cl = d["classic"]
    scans = cl["scans"]
    # ---- stationary distributions: peaks against the pump, and the bimodal ones
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, sc in enumerate(scans):
        color = cmap(i / max(1, len(scans) - 1))
        rows = _rows(sc)
        for r in rows:
            axes[0].plot([r["pump"]] * len(r["peaks"]), np.array(r["peaks"]) / sc["nex"], ".",
                         color=color, ms=2)  # fmt: skip
        axes[0].plot([r["pump"] for r in rows], [r["mean_n"] / sc["nex"] for r in rows], "-",
                     color=color, lw=0.7, label=f"N_ex = {sc['nex']}")  # fmt: skip
    for i, cr in enumerate(cl["crossovers"]):
        color = cmap(i / max(1, len(cl["crossovers"]) - 1))
        p = _arr(cr["p"])
        axes[1].plot(np.arange(p.size) / cr["nex"], p * cr["nex"], color=color,
                     label=f"N_ex = {cr['nex']}, pump {cr['pump']:.3f}")  # fmt: skip
    axes[0].set_xlabel(r"pump parameter $g\tau\sqrt{N_{ex}}$")
    axes[0].set_ylabel(r"$n / N_{ex}$: peaks (dots) and mean (line)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel(r"$n / N_{ex}$")
    axes[1].set_ylabel(r"$N_{ex}\, p_n$")
    axes[1].set_xlim(0, 1.1)
    axes[1].legend(fontsize=7)
    axes[1].set_title("at the pump of the crossover (table below)", fontsize=9)
    fig.suptitle("Stationary photon distribution of the classic micromaser (detailed balance)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(fig_dir / "large_deviations_distribution.png", dpi=110)
    plt.close(fig)

    # ---- rate and variance rate against the pump
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, sc in enumerate(scans):
        color = cmap(i / max(1, len(scans) - 1))
        rows = _rows(sc)
        pumps = np.array([r["pump"] for r in rows])
        ok = np.array([r["resolved"] for r in rows])
        rate = np.array([r["balance_rate"] for r in rows])
        var = np.array([r["variance_rate"] if r["resolved"] else np.nan for r in rows])
        axes[0].plot(pumps, rate, color=color, label=f"N_ex = {sc['nex']}")
        axes[1].semilogy(pumps, var, color=color)
        if (~ok).any():
            axes[1].plot(pumps[~ok], np.full((~ok).sum(), 2e5), "x", color=color, ms=3)
    axes[0].set_ylabel("qubits leaving in g per collision, -theta'(0)")
    axes[1].set_ylabel("variance rate theta''(0) per collision")
    for ax in axes:
        ax.set_xlabel(r"pump parameter $g\tau\sqrt{N_{ex}}$")
    axes[0].legend(fontsize=8)
    axes[1].set_title("x: slow rate below double precision (not resolved)", fontsize=8)
    fig.tight_layout()
    fig.savefig(fig_dir / "large_deviations_rates.png", dpi=110)
    plt.close(fig)

    # ---- activity near s = 0 at the crossover pumps
    crs = cl["crossovers"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, cr in enumerate(crs):
        color = cmap(i / max(1, len(crs) - 1))
        s, k = _arr(cr["s"]), _arr(cr["k"])
        sel = np.abs(s) <= 0.2 + 1e-12
        lab = f"N_ex = {cr['nex']}, pump {cr['pump']:.3f}"
        axes[0].plot(s[sel], k[sel], ".-", color=color, ms=3, lw=0.8, label=lab)
        if cr["width"]:
            b = cr["basins"]
            axes[1].plot(s / cr["width"], (k - b["k_lo"]) / (b["k_hi"] - b["k_lo"]), ".",
                         color=color, ms=3)  # fmt: skip
    u = np.linspace(-8, 8, 400)
    axes[1].plot(u, 0.5 - 0.5 * u / np.sqrt(u**2 + 1), color="gray", lw=1,
                 label="two-state model")  # fmt: skip
    axes[1].set_xlim(-8, 8)
    axes[1].set_ylim(-0.1, 1.1)
    axes[0].set_xlabel("s")
    axes[0].set_ylabel("activity k(s) = -theta'(s), per collision")
    axes[1].set_xlabel("s / w,  w = (1 - |lambda_2|) / (k_hi - k_lo)")
    axes[1].set_ylabel("(k(s) - k_lo) / (k_hi - k_lo)")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.suptitle("Activity of the g count at the pump of the largest variance rate", fontsize=10)
    fig.tight_layout()
    fig.savefig(fig_dir / "large_deviations_activity.png", dpi=110)
    plt.close(fig)

    # ---- map k(s, pump)
    mp = cl["map"]
    fig, ax = plt.subplots(figsize=(7, 4))
    im = ax.pcolormesh(_arr(mp["pump"]), _arr(mp["s"]), np.array(mp["k"], dtype=float).T,
                       shading="nearest", cmap="magma")  # fmt: skip
    fig.colorbar(im, ax=ax, label="k(s) per collision")
    ax.axhline(0, color="white", lw=0.5, ls=":")
    ax.set_xlabel(r"pump parameter $g\tau\sqrt{N_{ex}}$")
    ax.set_ylabel("s")
    ax.set_title(f"Activity of the g count, N_ex = {mp['nex']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(fig_dir / "large_deviations_map.png", dpi=110)
    plt.close(fig)

    # ---- batteries
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for b, style in zip(d["batteries"], ("-", "--"), strict=False):
        x, rate = _arr(b["x"]), _arr(b["rate"])
        axes[0].plot((x - b["q"]) / b["d_typ"], rate, style, color="black", label=b["key"])
        for pt, color in zip(b["points"], FRAC_COLORS, strict=False):
            axes[0].plot(pt["f"], pt["rate"], "o", color=color)
        for ex_pt, color in zip(b["points"], FRAC_COLORS, strict=False):
            rows = [r for r in b["exact"] if r["f"] == ex_pt["f"] and r["reliable"]]
            ks = np.array([r["k"] for r in rows])
            y = np.array([-math.log(r["p"]) / r["k"] for r in rows])
            axes[1].plot(ks, y, "o" + style, color=color, ms=4,
                         label=f"{b['key']}, f = {ex_pt['f']}")  # fmt: skip
            axes[1].axhline(ex_pt["rate"], color=color, lw=0.6, ls=style)
    axes[0].set_xlim(0, 1.6)
    axes[0].set_ylim(0, None)
    axes[0].set_xlabel("delivered energy per collision / typical, D_K / (K x_typ)")
    axes[0].set_ylabel("rate function I per collision")
    axes[1].set_xscale("log")
    if d["batteries"]:
        ks = _ks(d["batteries"][0])
        axes[1].set_xticks(ks, [str(k) for k in ks])
        axes[1].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[1].set_xlabel("K (collisions from the empty battery)")
    axes[1].set_ylabel("-(1/K) ln P(D_K <= f K x_typ)")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=6)
    axes[1].set_title("exact finite-K distribution; lines: I(f x_typ)", fontsize=8)
    fig.tight_layout()
    fig.savefig(fig_dir / "large_deviations_batteries.png", dpi=110)
    plt.close(fig)

    # ---- metastability
    me = d["metastable"]
    s, th, tha = _arr(me["s"]), _arr(me["theta"]), _arr(me["theta_a"])
    ratio = _arr(me["ratio"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for sign, mark, name in ((1, "o", "s > 0"), (-1, "v", "s < 0")):
        sel = np.sign(s) == sign
        axes[0].semilogx(
            np.abs(s[sel]),
            -th[sel] / s[sel],
            mark + "-",
            color="black",
            ms=4,
            mfc="black" if sign > 0 else "none",
            label=f"full channel, {name}",
        )
        axes[0].semilogx(np.abs(s[sel]), -tha[sel] / s[sel], mark, color="tab:blue", ms=6,
                         mfc="none", alpha=0.6,
                         label=f"levels 0-14 alone, {name}")  # fmt: skip
        axes[1].loglog(np.abs(s[sel]), 1 - ratio[sel], mark, color="black", ms=4,
                       mfc="black" if sign > 0 else "none", label=name)  # fmt: skip
    axes[0].axhline(me["k_b"], color="tab:orange", lw=0.8, label="k_B (basin B)")
    axes[0].axhline(me["k_a"], color="tab:blue", lw=0.8, label="k_A (basin A)")
    if me["s_star"]:
        axes[0].axvline(me["s_star"], color="gray", ls=":", label="s* = escape / (k_B - k_A)")
    axes[0].set_ylim(min(me["k_a"], me["k_b"]) - 0.02, max(me["k_a"], me["k_b"]) + 0.02)
    axes[0].set_xlabel("|s|")
    axes[0].set_ylabel("-theta(s)/s per collision")
    axes[0].legend(fontsize=6)
    axes[1].set_xlabel("|s|")
    axes[1].set_ylabel("1 - |lambda_2| / lambda_1 (of the sweep kept)")
    axes[1].legend(fontsize=7)
    fig.suptitle("gamma t_r = 0.001, theta = pi/sqrt(15), coherent qubits: the g count",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(fig_dir / "large_deviations_metastable.png", dpi=110)
    plt.close(fig)


# ================================================================================== page
def render(d: dict) -> str:
    """The page, from the data only."""
    meta, cl = d["meta"], d["classic"]
    sm = summary(d)
    lines = [
        "# Large deviations of the counts",
        "",
        "Generated by `python -m analysis.large_deviations` from "
        f"`data/large_deviations/results.json` ({fmt(meta['seconds'])} s on one core of "
        f"{meta['machine']}, version {meta['version']}"
        + (", **quick run**" if meta["quick"] else "")
        + "); every number below is read from that file (`--report-only` renders it again). "
        "The physics is in [the model page](MODEL.md), Sec. 10, and "
        "[Counting statistics](COUNTING.md).",
        "",
        "Count the qubits that leave the cavity in g during K collisions, N_K. For large K "
        "its distribution is dominated by exponentials: P(N_K / K ~ x) ~ exp(-K I(x)), "
        "with the *rate function* I(x) >= 0, zero only at the typical rate. I is the "
        "Legendre transform of the *scaled cumulant generating function* theta(s) = "
        "lim K^-1 ln E[exp(-s N_K)], the log of the leading eigenvalue of the tilted "
        "one-step channel: I(x) = -s x - theta(s) at x = -theta'(s). Both are *per "
        "collision*. The field s selects rare trajectories: s > 0 favours fewer counts, s < 0 "
        "more; x(s) = -theta'(s), the *activity* k(s), is the count per collision of the "
        "trajectories that dominate at s. theta'(0) = -rate and theta''(0) = the variance "
        "rate (variance of N_K per collision). A jump of k(s), or a peak of theta''(0) "
        "that grows without bound with the system size, is a dynamical (trajectory) phase "
        "transition; at finite size it is a crossover.",
        "",
        "## Assumptions",
        "",
        '- **Units.** Per collision (one qubit); energy in hbar omega. The count is `"g"` '
        "(qubits leaving in g) throughout. Estimates exp(-K I) are of leading exponential "
        "order only: the prefactor (of order K^-1/2, and the initial state's overlap) is "
        "not included and gives O(ln K / K) corrections to -(1/K) ln P (part (b) measures "
        "them).",
        f"- **Classic micromaser (a).** Poisson arrivals (exponential intervals of mean t_r), "
        f"excited incoherent qubits (q = 0, c = 0: q is the ground-state population), "
        f"thermal bath nbar = {meta['nbar']}, gamma t_r = 1/N_ex (N_ex qubits per cavity "
        "lifetime), model theta = pump / sqrt(N_ex) with the usual pump parameter "
        "g tau sqrt(N_ex). With q = 0 a qubit leaving in g has given the cavity one photon: "
        "the g count is the count of qubits that changed state. Cutoff 2 N_ex + 40 (the "
        "photon number stays below about N_ex). Populations sector (N unknowns).",
        "- **Batteries (b).** The paper's cases (Figs. 1-7: q = 0.25 or 0, c = 1 or 0, "
        "theta = pi/sqrt(15) or pi/sqrt(15.6), cutoffs as in the reproduction). The energy "
        "the qubits deliver in K collisions is D_K = N_K - q K, the energy books' energy "
        "from the qubits measured by the outgoing qubits (for q = 0 exactly N_K; for "
        "coherent qubits no record of an incoming qubit's energy exists, so its mean q K is "
        "used). D_K and N_K have the same fluctuations. 'A run delivers less than a "
        "fraction f of the typical energy' means D_K <= f K x_typ, x_typ the stationary "
        "delivered energy per collision, i.e. N_K <= K (q + f x_typ).",
        "- **Long times.** theta and I describe K much longer than the relaxation time; for "
        "an irreducible chain they do not depend on the initial state (every run here "
        "starts from the vacuum, the empty battery). A chain with several closed or "
        "nearly closed sectors has no single theta: the package refuses where "
        "|lambda_2|/lambda_1 > 1 - 1e-9, and part (c) says what it means.",
        f"- **Convergence.** Every theta(s) is recomputed at cutoff {meta['check_factor']} N "
        f"and the largest change quoted; a point that changes by more than "
        f"{meta['theta_tol']:g} would be marked unconverged. Slow rates 1 - |lambda_2| "
        f"below {meta['gap_floor']:g} are beyond the dense eigensolver: points with such a "
        "rate are marked unresolved (their stationary rate and variance rate are not "
        "quoted). Every grid of s is swept up and down (warm starts) and the larger "
        "eigenvalue kept (see the end of the page).",
        "",
        "## (a) The classic micromaser against the pump",
        "",
        "![stationary distributions](figures/large_deviations_distribution.png)",
        "",
        "The stationary photon distribution comes from detailed balance (Poisson pumping, "
        "incoherent qubits; the model page, Sec. 11), computed in logarithms, so it is "
        "exact at any N_ex; where the package's `steady_state` is defined it agrees "
        "(largest difference in the table). Above the threshold at pump 1 the field "
        "builds up; further on the distribution becomes bimodal (two peaks): a "
        "low- and a high-photon basin coexist (the pump window is in the table; it lies "
        "around 2 pi), the classic micromaser's first-order-like jump, which sharpens as "
        "N_ex grows.",
        "",
        "![rates](figures/large_deviations_rates.png)",
        "",
        "| N_ex | cutoff (check) | two peaks for pump in | points unresolved | largest "
        "variance rate (pump) | variance rate at pump 1 | cutoff check: rate, variance rate "
        "(relative) | top-level weight | detailed balance vs steady_state |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    crs = {c["nex"]: c for c in cl["crossovers"]}
    for sc, s2 in zip(cl["scans"], sm["scans"], strict=True):
        cr = crs[sc["nex"]]
        w = s2["window"]
        var = f"{fmt(cr['variance_rate'], 3)} ({cr['pump']:.3f})" if cr["resolved"] else (
            f"not resolved (gap < {meta['gap_floor']:g})")  # fmt: skip
        lines.append(
            f"| {sc['nex']} | {sc['cutoff']} ({sc['check_cutoff']}) | "
            f"{f'{w[0]:.2f} - {w[1]:.2f}' if w else 'none in [4, 8.5]'} | "
            f"{s2['unresolved']} of {s2['points']} | {var} | {fmt(s2['threshold_variance'], 3)} "
            f"| {fmt(s2['dev_rate'], 2)}, {fmt(s2['dev_var'], 2)} ({s2['checked']} pumps) | "
            f"{fmt(s2['top_weight'], 2)} | {fmt(sc['steady_state_dev'], 2)} "
            f"({sc['steady_state_points']} pumps) |"
        )
    lines += [
        "",
        "The rate of the g count is checked against energy balance (photons in = photons "
        f"lost: -theta'(0) = (<n> - nbar)/N_ex) at every point, to {meta['rate_tol']:g}. "
        "Points that fail it, or whose slow rate 1 - |lambda_2| is below "
        f"{meta['gap_floor']:g}, or whose variance rate is not positive or changes by more "
        f"than {meta['var_tol']:g} (relative) at the larger cutoff (checked at every pump "
        f"from N_ex = {meta['check_all_from']} on), are marked unresolved (crosses in the "
        "figure): there the "
        "switching between the two basins is too slow for double precision, and "
        "`stationary_rates` refuses (a gap below its floor of 1e-9, or a negative variance "
        "rate; before this study it returned a wrong rate without a warning). Near that floor the "
        "variance rate, which grows like 1/(1 - |lambda_2|), keeps only about 3 digits "
        "(the relative cutoff-check column: the change is rounding, the weight at the "
        "top level being negligible). The variance rate peaks in the "
        "bistable window and the peak grows roughly exponentially with N_ex (table); at "
        "the threshold pump 1, a continuous transition, it grows only slowly.",
        "",
        "### The activity near s = 0",
        "",
        "At the pump of the largest variance rate (the two basins about equally weighted), "
        "theta(s) and k(s) on s in [-0.2, 0.2] plus a fine grid around 0 scaled by the "
        "predicted width. In a two-state picture (basins with count rates k_lo, k_hi, "
        "switching at total rate 1 - |lambda_2| per collision) k(s) crosses from k_hi to "
        "k_lo over a width w = (1 - |lambda_2|) / (k_hi - k_lo) in s, and the variance rate "
        "is dominated by the telegraph term 2 w_lo w_hi (k_hi - k_lo)^2 / (1 - |lambda_2|).",
        "",
        "![activity](figures/large_deviations_activity.png)",
        "",
        "| N_ex | pump | peaks at n | k_lo, k_hi | 1 - abs(lambda_2) | width w | variance "
        "rate | telegraph estimate | theta''(0) by differences | cutoff check max "
        "abs(d theta) | sweeps disagreeing | refused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cr in cl["crossovers"]:
        b = cr["basins"]
        lines.append(
            f"| {cr['nex']} | {cr['pump']:.3f} | {', '.join(str(p) for p in cr['peaks'])} | "
            + (f"{fmt(b['k_lo'], 3)}, {fmt(b['k_hi'], 3)}" if b else "one peak")
            + f" | {fmt(cr['gap'], 3) if cr['resolved'] else 'not resolved'} | "
            f"{fmt(cr['width'], 3)} | {fmt(cr['variance_rate'], 3) if cr['resolved'] else '-'}"
            f" | {fmt(cr.get('telegraph_variance'), 3)} | {_fd(cr)}"
            f" | {fmt(cr['check_dev'], 2)} | {cr['disagreements']} | {len(cr['refused'])} |"
        )
    mp = cl["map"]
    res = [c for c in cl["crossovers"] if c["resolved"] and c["width"]]
    unres = [str(c["nex"]) for c in cl["crossovers"] if not c["resolved"]]
    lines += [
        "",
        "The crossover sharpens as N_ex grows: its width w in s falls from "
        f"{fmt(res[0]['width'], 3)} (N_ex = {res[0]['nex']}) to {fmt(res[-1]['width'], 3)} "
        f"(N_ex = {res[-1]['nex']}), with the switching rate between the basins, and the "
        "curves collapse on the two-state form when s is measured in units of w (right "
        "panel)."
        + (
            f" At N_ex = {', '.join(unres)} the width is below what double precision "
            "resolves: k(s) jumps at s = 0 on any grid, and s = 0 itself is left out (the two "
            "leading eigenvalues are degenerate there to rounding)."
            if unres
            else ""
        ),
        "",
        *_second_jump(cl["crossovers"]),
        f"The activity over the (pump, s) plane at N_ex = {mp['nex']} (cutoff {mp['cutoff']}; "
        f"k from differences along the s grid; {mp['check_points']} pumps rechecked at "
        f"{meta['check_factor']} N: largest change of theta {fmt(mp['check_dev'], 2)}; "
        f"{mp['disagreements']} grid points where the two sweeps disagreed, "
        f"{mp['refused']} refused):",
        "",
        "![map](figures/large_deviations_map.png)",
        "",
        "**Against the literature.** Garrahan, Armour and Lesanovsky (Phys. Rev. E 84, "
        "021115 (2011)) found, for the same count (atoms that changed state), that the "
        "micromaser's first-order-like stationary crossovers appear as first-order "
        "crossovers of the activity at s = 0 that become sharp as N_ex grows, together "
        "with further dynamical crossovers at s != 0. Van Horssen and Guta (J. Math. Phys. "
        "63, 062202 (2022)) proved that at finite pumping theta(s) is smooth (a large "
        "deviation principle holds, a crossover rather than a transition), a true "
        "transition appearing only as N_ex -> infinity. Agrees: the activity crossover "
        "at s = 0 sits where the stationary distribution is bimodal; it is smooth at "
        "every finite N_ex we can resolve and sharpens with N_ex; the variance rate peak "
        "grows with N_ex. Cannot check here: their ensembles are per unit time with "
        "atoms arriving at a rate, ours per collision, so the two theta(s) differ away "
        "from s = 0 and no number of theirs is compared; nor the limit N_ex -> infinity "
        "itself, nor the s != 0 transition lines quantitatively.",
        "",
        "## (b) The paper's batteries: how unlikely is a poor charging run?",
        "",
        "Which of the paper's cases have a theta(s) at all (count g, s in {"
        + ", ".join(f"{v:g}" for v in d["probes"][0]["s"])
        + "}, one cold start per point, at the case's cutoff and at "
        f"{meta['check_factor']} N):",
        "",
        "| case | q, c | gamma t_r | cutoff | theta(0) | theta(s) against the binomial "
        "ln(q e^-s + 1 - q) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for pr in d["probes"]:
        lines.append(_probe_row(pr))
    lines += [
        "",
        "Without loss a battery's energy is bounded (a closed sector below the trapping "
        "level) or grows without a stationary state: either way the delivered energy per "
        "collision tends to zero or depends on the cutoff, and a long-run rate function of "
        "the delivered energy is not what limits a run. In the closed sectors theta(s) is "
        "exactly the binomial one of the incoming qubits: photon-number conservation ties "
        "N_K to the incoming e/g content up to the bounded cavity photon number, coherent "
        "or not. With loss the battery is a steady-state device and the question is "
        "well posed:",
        "",
        "![batteries](figures/large_deviations_batteries.png)",
        "",
        "| case | cutoff (check) | x_typ = D_K/K | variance rate | f | x = N_K/K | s(x) | "
        "I per collision | K for P = 1e-3 | cloning theta (M clones) | exact theta | z | "
        "cloning x(s) | cutoff check max abs(d theta) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in d["batteries"]:
        for pt in b["points"]:
            c = next(c for c in b["cloning"] if c["f"] == pt["f"])
            z = (c["scgf"] - c["exact_theta"]) / c["stderr"]
            lines.append(
                f"| {b['key']} | {b['cutoff']} ({b['check_cutoff']}) | {fmt(b['d_typ'], 4)} | "
                f"{fmt(b['variance_rate'], 4)} | {pt['f']} | {fmt(pt['x'], 4)} | "
                f"{fmt(pt['s'], 4)} | {fmt(pt['rate'], 4)} | "
                f"{fmt(math.log(1e3) / pt['rate'], 3)} | {c['scgf']:.5f} +- {c['stderr']:.5f} "
                f"({c['n_clones']}) | {pt['theta']:.5f} | {z:+.2f} | "
                f"{c['rate']:.4f} +- {c['rate_stderr']:.4f} | {fmt(b['check_dev'], 2)}"
                + (" (unconverged)" if b["check_dev"] > meta["theta_tol"] else "")
                + " |"
            )
    b0 = d["batteries"][0]
    c0 = [c for c in b0["cloning"] if c["f"] == b0["points"][0]["f"]]
    lines += [
        "",
        "I(x) comes from theta(s) on s in "
        f"[{fmt(min(b0['s']))}, {fmt(max(b0['s']))}] ({len(b0['s'])} points, derivatives by "
        "central differences of step 1e-5); s(x) for each fraction by root finding. "
        "'K for P = 1e-3' is ln(1000)/I: the run length beyond which a run that poor is "
        "rarer than one in a thousand (leading order). Cloning: "
        f"{c0[0]['populations']} populations of {c0[0]['n_collisions']} collisions "
        f"(burn-in {c0[0]['burn_in']}); its x(s) is the tilted ensemble's count per "
        "collision and should match x. Finite population bias at the first fraction: "
        + ", ".join(f"{c['n_clones']} clones: {c['scgf']:.5f} +- {c['stderr']:.5f}" for c in c0)
        + f" (exact {c0[0]['exact_theta']:.5f}).",
        "",
        "**Finite K: the exact distribution.** `exact_distribution` gives P(N_K = j) of a "
        "charging run from the empty battery at each K; the tail P(D_K <= f K x_typ) "
        "against the rate function (points are kept where P > 1e-12, above the "
        "distribution's rounding floor):",
        "",
        "| case | f | I | " + " | ".join(f"K = {k}" for k in _ks(b0)) + " |",
        "|---|---|---|" + "---|" * len(_ks(b0)),
    ]
    for b in d["batteries"]:
        for pt in b["points"]:
            cells = []
            for k in _ks(b):
                r = next(r for r in b["exact"] if r["k"] == k and r["f"] == pt["f"])
                if r["reliable"]:
                    y = -math.log(r["p"]) / k
                    cells.append(f"{y:.4f} (K dI {k * (y - pt['rate']):+.2f})")
                else:
                    cells.append(f"P < 1e-12 ({fmt(r['p'], 2)})")
            lines.append(f"| {b['key']} | {pt['f']} | {pt['rate']:.4f} | " + " | ".join(cells)
                         + " |")  # fmt: skip
    tr = d["trajectories"]
    kdi_all = [
        r["k"] * (-math.log(r["p"]) / r["k"] - pt["rate"])
        for b in d["batteries"] for pt in b["points"] for r in b["exact"]
        if r["f"] == pt["f"] and r["reliable"]
    ]  # fmt: skip
    kdi = (min(kdi_all), max(kdi_all))
    lines += [
        "",
        "Each cell: -(1/K) ln P and, in brackets, K times its excess over I. The excess "
        f"falls like 1/K: K dI stays between {kdi[0]:.2f} and {kdi[1]:.2f} over K = "
        f"{_ks(b0)[0]} ... {_ks(b0)[-1]}. So exp(-K I) is right in the exponent and too "
        f"large by a factor exp(K dI), between {math.exp(kdi[0]):.0f} and "
        f"{math.exp(kdi[1]):.0f} here: the prefactor (a Gaussian K^-1/2 for a lattice "
        "count, the start at the vacuum, the rounding of f K x_typ to an integer). Its "
        "(1/2) ln K growth is not resolved against the constant over this range of K. To "
        "leading order only, then: for a probability to a factor of 10, use the exact "
        "distribution at the K of interest.",
        "",
        f"**Trajectories.** {tr['trajectories']} trajectories of {tr['k']} collisions "
        f"({tr['key']}, seed {tr['seed']}): the fraction of runs with D_K <= f K x_typ "
        "against the exact distribution:",
        "",
        "| f | N_K <= | trajectories | exact | standard error | z |",
        "|---|---|---|---|---|---|",
    ]
    for r in tr["rows"]:
        lines.append(f"| {r['f']} | {r['j_max']} | {r['p_traj']:.5f} | {r['p_exact']:.5f} | "
                     f"{r['se']:.5f} | {r['z']:+.2f} |")  # fmt: skip
    lines += _metastable_lines(d)
    lines += _timing_lines(d)
    lines += _sweep_lines(d)
    return "\n".join(lines) + "\n"


def _second_jump(crs: list[dict]) -> list[str]:
    """Jumps of k(s) away from s = 0 (s < -0.01) on the crossover grids: further crossovers."""
    found = []
    for cr in crs:
        s, k = _arr(cr["s"]), _arr(cr["k"])
        for i in range(s.size - 1):
            if s[i + 1] < -0.01 and k[i] - k[i + 1] > 0.1:
                found.append((cr["nex"], s[i], s[i + 1], k[i], k[i + 1]))
    if not found:
        return []
    parts = [f"N_ex = {n}: k jumps from {fmt(b, 3)} to {fmt(a, 3)} between s = {fmt(s1, 3)} and "
             f"{fmt(s0, 3)}" for n, s0, s1, a, b in found]  # fmt: skip
    return [
        "Away from s = 0 the activity jumps again at the larger N_ex ("
        + "; ".join(parts)
        + "): for s negative enough a third branch, trajectories in which almost every "
        "qubit gives a photon, takes over. This is a crossover at s != 0 of the kind "
        "Garrahan et al. describe; its position is on the s grid only (not refined).",
        "",
    ]


def _fd(cr: dict) -> str:
    """theta''(0) by second differences, where rounding allows (noise < 1 %)."""
    v = cr.get("fd_variance_rate")
    if v is None or cr["fd_noise"] > 1e-2 * abs(cr["variance_rate"]):
        return "-"
    return f"{fmt(v, 4)} (h = {fmt(cr['fd_step'], 2)})"


def _ks(b: dict) -> list[int]:
    return sorted({r["k"] for r in b["exact"]})


def _probe_row(pr: dict) -> str:
    main, chk = pr["main"], pr["check"]
    i0 = [float(v) for v in pr["s"]].index(0.0)
    th0 = _arr(main["theta"])[i0]
    th0c = _arr(chk["theta"])[i0]
    refused = main["refused"]
    pts = ", ".join(f"s = {k}" for k in refused)
    why = next(iter(refused.values())).split(":")[0] if refused else ""
    theta = _arr(main["theta"])
    if "0.0" in refused:
        verdict = (f"refused at {pts}: {why}: two closed or nearly closed sectors, no single "
                   "theta" + ("; see (c)" if pr["gamma_tr"] > 0 else ""))  # fmt: skip
    elif abs(th0) > 1e-12:
        verdict = (f"no stationary state (not converged in the cutoff): theta(0) = "
                   f"{fmt(th0, 3)}, {fmt(th0c, 3)} at cutoff {chk['cutoff']}")  # fmt: skip
        if refused:
            verdict += f"; refused at {pts} ({why})"
    elif np.nanmax(np.abs(theta)) < 1e-12:
        verdict = "trapped: no qubit leaves in g once the trapping level is reached; x_typ = 0"
    elif main["binomial_dev"] is not None and main["binomial_dev"] < 1e-9:
        verdict = "closed sector: binomial, delivered energy per collision -> 0"
    else:
        verdict = "defined" + (f"; refused at {pts} ({why})" if refused else "")
    return (f"| {pr['key']} | {pr['q']:g}, {pr['c']:g} | {pr['gamma_tr']:g} | {pr['cutoff']} | "
            f"{fmt(th0, 3) if math.isfinite(th0) else 'refused'} | "
            f"{fmt(main['binomial_dev'], 2)} | {verdict} |")  # fmt: skip


def _metastable_lines(d: dict) -> list[str]:
    me = d["metastable"]
    s = _arr(me["s"])
    on_a = np.array(me["on_a"], dtype=bool)
    pos = s > 0
    first_a = s[pos & on_a].min() if (pos & on_a).any() else None
    last_b = s[pos & ~on_a].max() if (pos & ~on_a).any() else None
    ms = me.get("metastability")
    ratio = _arr(me["ratio"])
    out = [
        "",
        "## (c) Metastability seen through the counts",
        "",
        f"The paper's gamma t_r = {me['gamma_tr']:g} battery (theta = pi/sqrt(15), q = "
        f"{me['q']:g}, c = 1, nbar = {me['nbar']:g}; {me['cutoff']} levels, N^2 unknowns, "
        f"check at {me['check_cutoff']}). [Metastability](METASTABILITY.md), Sec. 3: basin A "
        "(levels 0-14, where the vacuum goes) leaks into basin B (levels 15-59) through "
        "thermal absorption across the blocked 14 -> 15 transition; B hardly ever returns. "
        "The two basins deliver energy at different rates, so they have different count "
        "rates k_A, k_B, and theta(s) is, to within the slow rates, the larger of the two "
        "basins' branches: a kink.",
        "",
        "![metastable](figures/large_deviations_metastable.png)",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| k_A: -theta'(s) of the full channel at s = 1e-6 ... 2e-6 (basin A's branch) | "
        f"{me['k_a']:.6f} |",
        f"| k_B: the same at s = -2e-6 ... -1e-6 (basin B's branch) | {me['k_b']:.6f} |",
        f"| escape rate A -> B: basin A's branch continued to s = 0, -theta_A(0) | "
        f"{fmt(me['escape_a'], 5)} per collision |",
        f"| escape through level 15 (levels 0-14 alone, weight reaching 15 counted as gone)"
        f" | {fmt(me['escape_window'], 5)} |",
    ]
    if ms:
        out.append(f"| the same from [Metastability](METASTABILITY.md) (flux out of levels "
                   f"0-39; slow eigenvalue of the full channel) | {fmt(ms['rate_ab'], 5)}; "
                   f"{fmt(ms['slow_rate'], 5)} |")  # fmt: skip
    out += [
        f"| kink predicted at s* = escape / (k_B - k_A) | {fmt(me['s_star'], 3)} |",
        f"| theta(s) on basin A's branch from s = | {fmt(first_a, 3)} (basin B's up to "
        f"{fmt(last_b, 3)}) |",
        f"| smallest 1 - abs(lambda_2)/lambda_1 on the grid | {fmt(np.nanmin(1 - ratio), 3)} |",
        f"| cutoff check max abs(d theta) (relative) | {fmt(me['check_dev'], 2)} "
        f"({fmt(me['check_dev_rel'], 2)}) |",
        f"| sweeps disagreeing / refused points | {me['disagreements']} / {len(me['refused'])} |",
        "",
        "With the package's default separation (|lambda_2|/lambda_1 <= 1 - 1e-9) the "
        "eigenvalue at s = 0 is refused: "
        + (
            f'"{me["default_refusal"].split(";")[0].split(": theta")[0]}".'
            if me["default_refusal"]
            else "(not refused)."
        )  # fmt: skip
        + " The two leading eigenvalues differ there by the escape rate, "
        f"{fmt(me['escape_a'], 3)}, which is still more than 1000 times ARPACK's eigenvalue "
        f"tolerance (1e-13), so this part passes max_ratio = 1 - 1e-13 and checks every point "
        "against the two branches continued from either side of the kink (the escape through "
        "level 15 is larger than the escape rate because some weight returns from 15 to "
        "14 before the pump carries it up).",
        "",
        "What it means. For s < s* the tilted ensemble is basin B (k = k_B), for s > s* "
        "basin A (k = k_A); the crossover is a kink at s* ~ (escape rate)/(k_B - k_A), "
        "i.e. the slow rate between the basins sets where and how sharply the activity "
        "switches (the reverse rate B -> A is below the rounding floor, so the kink is "
        "sharp to double precision). The Legendre transform turns the kink into a flat "
        f"stretch: every rate between k_A and k_B costs at most about {fmt(me['escape_a'], 2)}"
        " per collision, so for runs shorter than the basin's lifetime (~1/escape "
        "collisions) the long-run rate function says nothing: which basin a run sits in "
        "decides its count rate, and a charging run from the empty battery stays in A. The "
        "long-run I(x) of this battery is therefore a statement about K >> 1/escape only.",
        "",
    ]
    return out


def _timing_lines(d: dict) -> list[str]:
    t = d.get("timing")
    if not t:
        return ["## Time for theta(s)", "", "Not measured in a quick run.", ""]
    return [
        "## Time for theta(s)",
        "",
        "201 values of s in [-1, 1], count g, incoherent qubits (N unknowns), Poisson "
        "arrivals, theta = 1.05, gamma t_r = 0.05, nbar = 0.15, best of three on one core: "
        f"**{fmt(t['60'], 3)} s at N = 60** and **{fmt(t['150'], 3)} s at N = 150** (targets "
        "10 s and 60 s).",
        "",
    ]


def _sweep_lines(d: dict) -> list[str]:
    cl = d["classic"]
    n_dis = sum(c["disagreements"] for c in cl["crossovers"]) + cl["map"]["disagreements"]
    n_dis += sum(b["disagreements"] for b in d["batteries"]) + d["metastable"]["disagreements"]
    me = d["metastable"]
    return [
        "## Sweeping s in both directions",
        "",
        "`scgf` warm-starts ARPACK at each s from the previous eigenvector. Where the chain "
        "is nearly reducible the previous eigenvector can have almost no weight on the new "
        "leading one; a first version of the warm start then returned the subdominant "
        "branch with a separation that looked fine. `scgf` now starts every s from a generic "
        "vector (every reachable level) when the untilted channel's gap is below 1e-6, so "
        "the other basin stays in view, and this study still sweeps every grid up and down "
        f"and keeps the larger eigenvalue (both are eigenvalues of the same positive map) as "
        f"a check. The two "
        f"directions disagreed (by more than 1e-11) at {n_dis} grid points in all, "
        f"{me['disagreements']} of them in part (c) (largest difference "
        f"{fmt(me['max_disagreement'], 2)}).",
        "",
    ]
