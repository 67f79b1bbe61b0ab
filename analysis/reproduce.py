"""Reproduce the paper's Figures 1-7 with the exact solver and trajectories, in one command.

    python -m analysis.reproduce [--trajectories 2000] [--jobs 2] [--quick]

Writes the figures to ``docs/figures/paper-*.png``, the plotted numbers to
``data/paper/*.csv`` with ``data/paper/metadata.json`` (parameters, seeds, version,
command), every number of the report to ``data/paper/report.json``, and renders
``docs/REPRODUCTION.md`` from that file alone (``--report-only`` renders it again without
computing). ``--quick`` runs every code path on tiny problems (for tests).
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from trajectories.progress import Progress, ProgressArg
from trajectories.solvers.exact import DEFAULT_LEAKAGE_TOL

from . import paper
from .report import render, to_plain

ROOT = Path(__file__).resolve().parents[1]
_YLABEL = {
    "energy": r"energy $\langle n\rangle$ [$\hbar\omega$]",
    "purity": r"purity Tr$\rho^2$",
    "fano": r"Fano factor Var$(n)/\langle n\rangle$",
}
_TITLE = {
    "fig1": "Fig. 1: incoherent charging (c = 0), no loss",
    "fig2": r"Fig. 2: purity, incoherent charging, $\theta=\pi/\sqrt{15}$",
    "fig3": "Fig. 3: coherent charging (c = 1, q = 0.25), no loss",
    "fig4": "Fig. 4: purity, coherent charging, no loss",
    "fig5": r"Fig. 5: coherent charging with loss, $\bar n = 0.15$",
    "fig6": r"Fig. 6: purity with loss, $\bar n = 0.15$",
    "fig7": r"Fig. 7: Fano factor with loss, $\bar n = 0.15$",
}


def _plt():
    import matplotlib

    if not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_figure(name: str, results: dict[str, paper.CurveResult], path: Path) -> None:
    """One of Figs. 1-7: exact lines, trajectory points with 1-sigma error bars."""
    plt = _plt()
    observable, keys = paper.FIGURES[name]
    fig, ax = plt.subplots(figsize=(7, 4.6), constrained_layout=True)
    for i, key in enumerate(keys):
        r = results[key]
        color = f"C{i}"
        ax.plot(r.exact.k, getattr(r.exact, observable), color=color, lw=1.4,
                label=f"{r.curve.label} exact")  # fmt: skip
        if r.ensemble is not None:
            est = getattr(r.ensemble, observable)
            ok = np.isfinite(est.mean)
            ax.errorbar(r.ensemble.k[ok], est.mean[ok], yerr=est.stderr[ok], fmt="o", ms=3,
                        color=color, mfc="white", elinewidth=1, capsize=1.5,
                        label=f"trajectories (M = {r.ensemble.n_trajectories})")  # fmt: skip
    ax.set_xlabel("collisions k")
    ax.set_ylabel(_YLABEL[observable])
    ax.set_title(_TITLE[name], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_fig7(results: dict[str, paper.CurveResult], rare: dict[str, dict], path: Path) -> None:
    """Fig. 7 with the rare upper sector flagged: the gamma t_r = 1e-3 points follow the Fano
    factor of the state conditioned on n < 15 (dashed) until M >~ 1/w trajectories; right:
    the chance that M trajectories hold none of the weight w in n >= 15, (1 - w)^M."""
    plt = _plt()
    _, keys = paper.FIGURES["fig7"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.6), width_ratios=(1.6, 1),
                                  constrained_layout=True)  # fmt: skip
    for i, key in enumerate(keys):
        r = results[key]
        color = f"C{i}"
        ax.plot(r.exact.k, r.exact.fano, color=color, lw=1.4, label=f"{r.curve.label} exact")
        if key in rare:
            ax.plot(rare[key]["k_every10"], rare[key]["fano_lower_every10"], color=color, lw=1,
                    ls="--", label="exact, conditioned on n < 15")  # fmt: skip
        if r.ensemble is not None:
            est = r.ensemble.fano
            ok = np.isfinite(est.mean)
            ax.errorbar(r.ensemble.k[ok], est.mean[ok], yerr=est.stderr[ok], fmt="o", ms=3,
                        color=color, mfc="white", elinewidth=1, capsize=1.5,
                        label=f"trajectories (M = {r.ensemble.n_trajectories})")  # fmt: skip
    note = "\n".join(
        f"{results[k].curve.label}: w = {v['w']:.1e} in n >= 15 (E ~ {v['upper_mean_n']:.0f}); "
        f"M w = {v['expected_last']:.2f}, sampled by {v['sampled_last']} of {v['M']}"
        for k, v in rare.items()
    )
    ax.text(0.98, 0.5, "gamma t_r = 1e-3: the points sit below the exact lines because\n"
            "the rare upper-sector weight w is not sampled until M >~ 1/w\n" + note,
            transform=ax.transAxes, ha="right", va="center", fontsize=6.5,
            bbox=dict(boxstyle="round", fc="white", ec="0.6"))  # fmt: skip
    ax.set_xlabel("collisions k")
    ax.set_ylabel(_YLABEL["fano"])
    ax.set_title(_TITLE["fig7"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, ncol=2, loc="upper left")
    m = np.geomspace(100, 1e7, 200)
    for i, key in enumerate(keys):
        if key not in rare:
            continue
        v = rare[key]
        ax2.semilogx(m, np.exp(m * np.log1p(-v["w"])), color=f"C{i}",
                     label=f"{results[key].curve.label}: 1/w = {1 / v['w']:.3g}")  # fmt: skip
        ax2.axvline(1 / v["w"], color=f"C{i}", ls=":", lw=0.8)
    some = next(iter(rare.values()), None)
    if some is not None and "M" in some:
        ax2.axvline(some["M"], color="k", lw=1, label=f"this run: M = {some['M']}")
    ax2.set_xlabel("trajectories M")
    ax2.set_ylabel("P(no trajectory in n >= 15 at k = last)")
    ax2.set_title("what M samples the rare weight: (1 - w)^M", fontsize=10)
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_escape(scan: dict[str, Any], path: Path) -> None:
    """Fig. 1 inset: plateau and escape for theta = pi/sqrt(15 + delta); t* vs dtheta."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    for i, (delta, (ks, surv)) in enumerate(scan["curves"].items()):
        a1.semilogx(np.maximum(ks, 1), surv, color=f"C{i}", label=rf"$\pi/\sqrt{{{15 + delta:g}}}$")
        t = scan["t_escape"][i]
        if np.isfinite(t):
            a1.axvline(t, color=f"C{i}", ls=":", lw=0.8)
    a1.set_xlabel("collisions k")
    a1.set_ylabel("P(n < 15): weight on the plateau")
    a1.set_title("Fig. 1 inset (exact, q = 0.25, c = 0): escape (dotted: $t^*$)", fontsize=10)
    a1.legend(fontsize=8, title=r"$\theta$", title_fontsize=8)
    a1.grid(alpha=0.3)
    dth, t = scan["dtheta"], scan["t_escape"]
    a2.loglog(dth, t, "o", label="exact: P(n < 15) = 1/2")
    x = np.geomspace(dth.min(), dth.max(), 50)
    a2.loglog(x, scan["prefactor"] * x ** scan["exponent"], "-", lw=1,
              label=rf"fit $t^*\propto\delta\theta^{{{scan['exponent']:.3f}\pm"
              rf"{scan['exponent_stderr']:.3f}}}$")  # fmt: skip
    a2.set_xlabel(r"$\delta\theta = \pi/\sqrt{15} - \theta$")
    a2.set_ylabel(r"escape time $t^*$ [collisions]")
    a2.grid(alpha=0.3, which="both")
    from matplotlib.ticker import NullFormatter

    a2.xaxis.set_minor_formatter(NullFormatter())
    a2.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_steady_q(data: dict[str, np.ndarray], path: Path) -> None:
    """Fig. 3 inset: steady energy vs q, closed form (Eq. 15) and long exact runs."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    ax.plot(data["q_line"], data["energy_line"], label="Eq. (15)")
    ax.plot(data["q_points"], data["energy_points"], "o", mfc="white",
            label="exact solver, 3000 collisions")  # fmt: skip
    ax.set_xlabel("q")
    ax.set_ylabel(r"steady energy [$\hbar\omega$]")
    ax.set_title(r"Fig. 3 inset: $\theta=\pi/\sqrt{15}$, c = 1, no loss", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_curve_data(name: str, results: dict[str, paper.CurveResult], folder: Path,
                     exact_every: int = 10, rare: dict | None = None) -> Path:  # fmt: skip
    """CSV of one figure: exact rows every ``exact_every`` collisions, trajectory rows (and
    for Fig. 7 the exact Fano factor conditioned on n < 15, source ``exact_n_below_15``)."""
    observable, keys = paper.FIGURES[name]
    path = folder / f"{name}.csv"
    folder.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["curve", "source", "k", observable, f"{observable}_stderr"])
        for key in keys:
            r = results[key]
            values = getattr(r.exact, observable)
            for i in range(0, r.exact.k.size, exact_every):
                w.writerow([key, "exact", int(r.exact.k[i]), repr(float(values[i])), ""])
            if name == "fig7" and rare is not None and key in rare:
                for k, f in zip(rare[key]["k_every10"], rare[key]["fano_lower_every10"],
                                strict=True):  # fmt: skip
                    w.writerow([key, "exact_n_below_15", int(k), repr(float(f)), ""])
            if r.ensemble is not None:
                est = getattr(r.ensemble, observable)
                for i, k in enumerate(r.ensemble.k):
                    if np.isfinite(est.mean[i]):
                        w.writerow([key, "trajectories", int(k), repr(float(est.mean[i])),
                                    repr(float(est.stderr[i]))])  # fmt: skip
    return path


def _table_csv(path: Path, header: list[str], rows: list) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def run(
    *,
    trajectories: int = 2000,
    n_jobs: int = 1,
    quick: bool = False,
    figures: Path = ROOT / "docs" / "figures",
    data: Path = ROOT / "data" / "paper",
    report: Path | None = ROOT / "docs" / "REPRODUCTION.md",
    log=print,
    progress: ProgressArg = None,
) -> dict[str, Any]:
    """Compute, draw and write everything; returns the report's numbers (as in report.json).

    ``progress`` (``trajectories.progress``): one bar over the paper's curves (exact solution
    and trajectories of each), by default when a person watches.
    """
    import trajectories as tj

    t0 = time.perf_counter()
    n_collisions = 100 if quick else 2000
    every = 25 if quick else 50
    results = {}
    with Progress(progress, len(paper.CURVES), desc="paper curves", unit="curves") as bar:
        say = bar.write if bar.displayed and log is print else log  # above the bar
        for i, (key, curve) in enumerate(paper.CURVES.items()):
            c = curve
            if quick:  # small cutoffs keep the code path, not the physics
                c = paper.Curve(curve.key, curve.label, curve.model.replace(
                    cutoff=min(curve.model.cutoff, 60)), curve.seed)  # fmt: skip
            say(f"{key}: exact + {trajectories} trajectories x {n_collisions} collisions")
            results[key] = paper.run_curve(c, n_collisions=n_collisions,
                                           trajectories=trajectories, every=every,
                                           n_jobs=n_jobs, progress=False)  # fmt: skip
            bar(i + 1)
    log("Fig. 1 inset: escape-time scan (exact)")
    scan = (
        paper.escape_scan((0.5, 1.0, 2.0), max_collisions=20_000, cutoff=60)
        if quick
        else paper.escape_scan()
    )
    check_deltas = tuple(scan["delta"][-2:])  # the fastest escapes: a cheap cutoff check
    big = int(math.ceil(1.5 * scan["cutoff"]))
    scan_big = (
        paper.escape_scan(check_deltas, max_collisions=20_000, cutoff=big)
        if quick
        else paper.escape_scan(check_deltas, cutoff=big)
    )
    escape_check = {
        "cutoff": scan["cutoff"],
        "bigger": big,
        "delta": list(check_deltas),
        "t_escape": scan["t_escape"][-2:].tolist(),
        "t_escape_bigger": scan_big["t_escape"].tolist(),
    }
    log("Fig. 3 inset: steady energy vs q")
    steady_q = paper.steady_energy_vs_q(
        np.linspace(0, 1, 11) if quick else None, (0.25, 0.5) if quick else (0.05, 0.1, 0.25,
        0.5, 0.75, 0.9), n_collisions=300 if quick else 3000)  # fmt: skip
    log("cutoff convergence (exact, cutoff x 1.5)")
    convergence = {}
    for name, (_, keys) in paper.FIGURES.items():
        changes = [paper.cutoff_change(results[k].curve, n_collisions) for k in keys]
        convergence[name] = {
            obs: max(c[obs] for c in changes) for obs in ("energy", "purity", "fano", "ergotropy")
        } | {"cutoffs": sorted({(c["cutoff"], c["bigger"]) for c in changes})}
    numbers = paper.claims(results)
    eq7 = paper.eq7_check()
    z, worst, checkpoints = {}, {}, {}
    for key, r in results.items():
        if r.ensemble is not None:
            cmp = tj.compare(r.ensemble, r.exact)
            z[key] = cmp.max_abs_z
            checkpoints[key] = int(r.ensemble.k.size)
            obs = max(cmp.max_abs_z, key=cmp.max_abs_z.get)
            i = int(np.nanargmax(np.abs(cmp.z[obs])))
            est = getattr(r.ensemble, obs)
            ref = getattr(r.exact, obs)[np.searchsorted(r.exact.k, r.ensemble.k[i])]
            worst[key] = {
                "observable": obs,
                "k": int(r.ensemble.k[i]),
                "diff": float(est.mean[i] - ref),
                "stderr": float(est.stderr[i]),
            }
    log("rare upper sector (levels >= 15) of the coherent cases")
    rare_keys = ("loss_fine_0001", "loss_det_0001", "coh_det")
    rare = {k: paper.rare_sector(results[k]) for k in rare_keys}
    log("fixed points of the lossy cases (steady_state)")
    steady = {k: paper.steady_summary(results[k])
              for k in ("loss_fine_01", "loss_det_01", "loss_fine_0001")}  # fmt: skip
    log("long runs for the closed forms (exact, 20000 collisions)")
    long_runs = {}
    for q in (0.25, 0.0):
        model = tj.Micromaser(theta=paper.FINE, q=q, c=0.0, cutoff=20)
        r = tj.solve_exact(model, 20000, checkpoints=[20000])
        long_runs[f"{q:g}"] = {
            "energy": float(r.energy[-1]),
            "purity": float(r.purity[-1]),
            "cutoff": model.cutoff,
            "n_collisions": 20000,
        }

    log("writing figures and data")
    figures.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    fig7_rare = {k: rare[k] for k in ("loss_fine_0001", "loss_det_0001")}
    for name in paper.FIGURES:
        if name == "fig7":
            draw_fig7(results, fig7_rare, figures / "paper-fig7.png")
        else:
            draw_figure(name, results, figures / f"paper-{name}.png")
        write_curve_data(name, results, data, rare=fig7_rare)
    draw_escape(scan, figures / "paper-fig1-inset.png")
    draw_steady_q(steady_q, figures / "paper-fig3-inset.png")
    _table_csv(data / "fig1_inset.csv", ["delta", "dtheta", "t_escape"],
               [[repr(float(a)), repr(float(b)), repr(float(c))] for a, b, c in
                zip(scan["delta"], scan["dtheta"], scan["t_escape"], strict=True)])  # fmt: skip
    _table_csv(data / "fig3_inset.csv", ["q", "energy_exact_run", "energy_eq15"],
               [[repr(float(a)), repr(float(b)), repr(float(c))] for a, b, c in
                zip(steady_q["q_points"], steady_q["energy_points"],
                    steady_q["energy_closed_form_at_points"], strict=True)])  # fmt: skip
    command = (
        "python -m analysis.reproduce " + " ".join(sys.argv[1:])
        if not quick
        else "analysis.reproduce.run(quick=True)"
    )
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    meta = {
        "what": "numbers plotted in docs/figures/paper-*.png (paper: Entropy 25, 430 (2023))",
        "command": command,
        "version": tj.__version__,
        "created": created,
        "n_collisions": n_collisions,
        "trajectories_per_curve": trajectories,
        "trajectory_checkpoints_every": every,
        "curves": {
            k: {"label": r.curve.label, "seed": r.curve.seed, "model": r.curve.model.to_dict()}
            for k, r in results.items()
        },
        "figures": {
            name: {"observable": obs, "curves": list(keys)}
            for name, (obs, keys) in paper.FIGURES.items()
        },  # fmt: skip
        "escape_fit": {
            k: scan[k] for k in ("exponent", "exponent_stderr", "prefactor", "cutoff", "trap")
        },  # fmt: skip
        "columns": "curve, source (exact | exact_n_below_15 | trajectories), k, value, "
        "standard error",
    }
    (data / "metadata.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    elapsed = time.perf_counter() - t0
    out = {
        "created": created,
        "command": command,
        "version": tj.__version__,
        "claims": numbers,
        "settle_tols": list(paper.SETTLE_TOLS),
        "escape": {
            k: scan[k]
            for k in ("delta", "dtheta", "t_escape", "exponent", "exponent_stderr", "prefactor")
        },  # fmt: skip
        "steady_q": {
            k: steady_q[k] for k in ("q_points", "energy_points", "energy_closed_form_at_points")
        },  # fmt: skip
        "convergence": convergence,
        "escape_check": escape_check,
        "eq7": eq7,
        "max_abs_z": z,
        "worst": worst,
        "checkpoints": checkpoints,
        "rare": {
            k: {kk: vv for kk, vv in v.items() if not kk.endswith("every10")}
            for k, v in rare.items()
        },  # fmt: skip
        "steady": steady,
        "long_runs": long_runs,
        "cutoffs": {k: r.curve.model.cutoff for k, r in results.items()},
        "chunks": 40,
        "n_collisions": n_collisions,
        "seconds": elapsed,
        "trajectories": trajectories,
        "n_jobs": n_jobs,
        "quick": quick,
        "z_criterion": 5.0,
        "leakage_tol": DEFAULT_LEAKAGE_TOL,
    }
    plain = to_plain(out)
    (data / "report.json").write_text(json.dumps(plain, indent=1))
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        # rendered from the file just written, never from memory
        report.write_text(render(json.loads((data / "report.json").read_text())))
    log(f"done in {elapsed:.0f} s")
    return plain


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.reproduce", description=__doc__)
    ap.add_argument("--trajectories", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="tiny problems: exercise the code")
    ap.add_argument("--report-only", action="store_true",
                    help="re-render docs/REPRODUCTION.md from data/paper/report.json")  # fmt: skip
    args = ap.parse_args(argv)
    if args.report_only:
        src = ROOT / "data" / "paper" / "report.json"
        (ROOT / "docs" / "REPRODUCTION.md").write_text(render(json.loads(src.read_text())))
        return 0
    run(trajectories=args.trajectories, n_jobs=args.jobs, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
