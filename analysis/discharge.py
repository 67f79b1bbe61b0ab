r"""Charge, store, discharge: how much of the micromaser battery's energy can be used.

Produces ``docs/DISCHARGE.md``, its figures (``docs/figures/discharge-*.png``) and
``data/discharge/results.json``::

    python -m analysis.discharge                 # ~3 min on 2 cores
    python -m analysis.discharge --report-only   # re-render page and figures from the data

The page is rendered from the data file only (:func:`render`). Everything is exact
(:func:`trajectories.solve_exact` on protocols, the energy books, the tilted channel for the
delivered quanta) except one trajectory check. Parts:

(a) storage: the paper's charged states kept under the loss of Figs. 5-7 (qubits pass
    without interacting, theta = 0): the 1/e lifetimes of energy and ergotropy;
(b) discharge into ground-state qubits (q = 1, c = 0) against the discharge strength
    theta_d: energy delivered to the qubits, the work they carry away (the sum of the
    outgoing qubits' own ergotropies), efficiencies against the stored energy and ergotropy,
    the collisions to deliver 90 %, and the Fano factor of the delivered quanta; coherent
    and incoherent charged batteries, with and without loss during the discharge;
(c) the cycle charge-store-discharge repeated until it is periodic: energy and work
    delivered per cycle and the efficiency against the energy the charging qubits gave.
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
from trajectories.channels.collisions import collision_channel
from trajectories.channels.one_step import OneStepChannel

__all__ = ["main", "render", "figures", "qubit_work"]

ROOT = Path(__file__).resolve().parents[1]
FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "data" / "discharge"
DOC = ROOT / "docs" / "DISCHARGE.md"

THETA15 = tj.fine_tuned_theta(15)
DETUNED = tj.fine_tuned_theta(15.6)
NBAR = 0.15
CUTOFF = 60
#: charged states of part (a): (label, c, theta, gamma_tr, charging collisions)
CHARGED = (
    ("coherent, fine-tuned, gamma t_r = 0.1", 1.0, THETA15, 0.1, 300),
    ("coherent, detuned, gamma t_r = 0.1", 1.0, DETUNED, 0.1, 300),
    ("incoherent, fine-tuned, gamma t_r = 0.1", 0.0, THETA15, 0.1, 300),
    ("coherent, fine-tuned, gamma t_r = 0.001", 1.0, THETA15, 0.001, 2000),
)
THETA_D = np.round(np.arange(0.05, 3.0001, 0.05), 10)
DISCHARGE_K = 30
CYCLE = dict(charge=50, store=10, discharge=20)
MAX_CYCLES = 400
CYCLE_TOL = 1e-11


def _charger(c: float, theta: float, gamma: float) -> tj.Micromaser:
    return tj.Micromaser(theta=theta, q=0.25, c=c, gamma_tr=gamma, nbar=NBAR, cutoff=CUTOFF)


def qubit_work(model: tj.Micromaser, rho: np.ndarray) -> tuple[float, float]:
    r"""Energy and ergotropy of the outgoing qubit of one collision from cavity state ``rho``.

    The qubit leaves in :math:`\sigma_{ab} = \sum_j \mathrm{Tr}(K_{j,a}\rho K_{j,b}^\dagger)`
    (``a, b`` in ``e, g``); its energy is :math:`\sigma_{ee}` and its ergotropy
    :math:`\sigma_{ee} - \lambda_{min}(\sigma)` (units of :math:`\hbar\omega`).
    """
    ops = collision_channel(model).kraus
    sigma = np.zeros((2, 2), dtype=complex)
    for j in {k.branch for k in ops}:
        by = {k.outcome: k.dense() for k in ops if k.branch == j}
        for a, ia in (("e", 0), ("g", 1)):
            for b, ib in (("e", 0), ("g", 1)):
                if a in by and b in by:
                    sigma[ia, ib] += np.trace(by[a] @ rho @ by[b].conj().T)
    sigma = 0.5 * (sigma + sigma.conj().T)
    lam = np.linalg.eigvalsh(sigma)
    return float(sigma[0, 0].real), float(sigma[0, 0].real - lam[0])


def _charged_state(c: float, theta: float, gamma: float, k: int) -> np.ndarray:
    run = tj.solve_exact(_charger(c, theta, gamma), k, checkpoints=[k], store_states=True)
    return run.states[-1]


# ========================================================================== (a) storage
def storage_case(args: tuple) -> dict:
    """Charge, then store under loss only: lifetimes of energy and ergotropy."""
    label, c, theta, gamma, k_charge = args
    with single_threaded_blas():
        charger = _charger(c, theta, gamma)
        k_store = int(round(6.0 / gamma))
        proto = tj.Protocol(
            [
                tj.Stage(charger, k_charge, name="charge"),
                tj.Stage(charger.replace(theta=0.0), k_store, name="store"),
            ]
        )
        ks = np.unique(np.concatenate([
            [0, k_charge], k_charge + np.unique(np.geomspace(1, k_store, 150).astype(int))
        ]))  # fmt: skip
        r = tj.solve_exact(proto, checkpoints=ks)
        rep = tj.discharge_report(r, 1, distribution=False)
    sel = r.k >= k_charge
    return {
        "label": label, "c": c, "theta": theta, "gamma": gamma, "k_charge": k_charge,
        "k_store": k_store, "t": (r.k[sel] - k_charge), "energy": r.energy[sel],
        "ergotropy": r.ergotropy[sel], "purity": r.purity[sel],
        "energy_start": rep.energy_start, "ergotropy_start": rep.ergotropy_start,
        "energy_lifetime": rep.energy_lifetime, "ergotropy_lifetime": rep.ergotropy_lifetime,
        "leakage": r.total_leakage,
    }  # fmt: skip


# ========================================================================= (b) discharge
def discharge_scan(args: tuple) -> dict:
    """Delivered energy, work, times and fluctuations against theta_d for one battery."""
    c, lossy = args
    charger = _charger(c, THETA15, 0.1)
    out = {"c": c, "lossy": lossy, "rows": []}
    with single_threaded_blas():
        rho0 = _charged_state(c, THETA15, 0.1, 300)
        loss = dict(gamma_tr=0.1, nbar=NBAR) if lossy else dict(gamma_tr=0.0, nbar=0.0)
        for th in THETA_D:
            model = charger.replace(q=1.0, c=0.0, theta=float(th), **loss)
            proto = tj.Protocol([tj.Stage(model, DISCHARGE_K, initial_state=rho0)])
            r = tj.solve_exact(proto, store_states=True)
            rep = tj.discharge_report(r)
            work = sum(qubit_work(model, r.states[i])[1] for i in range(DISCHARGE_K))
            out["rows"].append({
                "theta_d": float(th), "delivered": rep.delivered, "work": work,
                "eff_energy": rep.efficiency_energy, "eff_ergotropy": rep.efficiency_ergotropy,
                "t90": rep.collisions_to_90, "t50": rep.collisions_to_50,
                "fano": rep.delivered_fano, "variance": rep.delivered_variance,
                "energy_end": rep.energy_end, "ergotropy_end": rep.ergotropy_end,
                "leakage": r.total_leakage,
            })  # fmt: skip
        out["energy_start"] = rep.energy_start
        out["ergotropy_start"] = rep.ergotropy_start
    return out


# ============================================================================ (c) cycles
def cycle_case(args: tuple) -> dict:
    """Charge-store-discharge repeated until periodic (every stage with loss)."""
    c, theta_d = args
    charger = _charger(c, THETA15, 0.1)
    stages = [
        tj.Stage(charger, CYCLE["charge"], name="charge"),
        tj.Stage(charger.replace(theta=0.0), CYCLE["store"], name="store"),
        tj.Stage(charger.replace(q=1.0, c=0.0, theta=theta_d), CYCLE["discharge"], name="use"),
    ]
    n = CUTOFF
    rho = tj.as_density_matrix(None, n)
    per_cycle = []
    with single_threaded_blas():
        use = stages[2].model
        step_use = OneStepChannel(use)
        for _ in range(MAX_CYCLES):
            proto = tj.Protocol(stages, initial_state=rho)
            r = tj.solve_exact(proto, checkpoints=proto.boundaries, store_states=True)
            charged_in = float(r.energy_from_qubits[1] - r.energy_from_qubits[0])
            delivered = float(-(r.energy_from_qubits[3] - r.energy_from_qubits[2]))
            # the work carried by the discharging qubits: their ergotropies, collision by
            # collision, from the state at the start of the discharge
            state = r.states[2]
            work = 0.0
            for _ in range(CYCLE["discharge"]):
                work += qubit_work(use, state)[1]
                state = step_use.step_dm(state)[0]
            new = r.states[-1]
            change = float(0.5 * np.abs(np.linalg.eigvalsh(new - rho)).sum())
            per_cycle.append({
                "charged_in": charged_in, "delivered": delivered, "work": work,
                "energy_charged": float(r.energy[1]), "ergotropy_charged": float(r.ergotropy[1]),
                "energy_stored": float(r.energy[2]), "ergotropy_stored": float(r.ergotropy[2]),
                "energy_end": float(r.energy[3]), "change": change,
            })  # fmt: skip
            rho = new
            if change < CYCLE_TOL:
                break
    last = per_cycle[-1]
    return {"c": c, "theta_d": theta_d, "cycles": len(per_cycle), "converged":
            per_cycle[-1]["change"] < CYCLE_TOL, "per_cycle": per_cycle,
            "efficiency_energy": last["delivered"] / last["charged_in"],
            "efficiency_work": last["work"] / last["charged_in"]}  # fmt: skip


# ===================================================================== trajectory check
def trajectory_check(n_traj: int = 4000, seed: int = 23) -> dict:
    """Charge then discharge on trajectories: delivered quanta and books against exact."""
    charger = _charger(1.0, THETA15, 0.1).replace(cutoff=40)
    proto = tj.Protocol(
        [
            tj.Stage(charger, 100, name="charge"),
            tj.Stage(charger.replace(q=1.0, c=0.0, theta=0.8), 20, name="use"),
        ]
    )
    ks = [0, 50, 100, 105, 110, 120]
    ens = tj.simulate(proto, n_trajectories=n_traj, seed=seed, checkpoints=ks, n_jobs=2,
                      progress=False)  # fmt: skip
    exact = tj.solve_exact(proto, checkpoints=ks)
    rep = tj.discharge_report(tj.solve_exact(proto), ensemble=ens)
    from trajectories.statistics.counting import chi_square

    t = rep.trajectories
    test = chi_square(t["counts"], rep.delivered_values, rep.delivered_probabilities)
    cmp = tj.compare(ens, exact)
    books = {}
    for name in ("energy_from_qubits", "energy_from_bath"):
        est = getattr(ens, name, None)
        if est is not None:
            z = (est.mean - getattr(exact, name)) / np.maximum(est.stderr, 1e-12)
            books[name] = float(np.max(np.abs(z[1:])))
    return {
        "trajectories": n_traj, "seed": seed, "k": ks,
        "delivered_exact": rep.delivered_mean, "delivered_traj": t["delivered_mean"],
        "delivered_se": t["delivered_mean_stderr"], "variance_exact": rep.delivered_variance,
        "variance_traj": t["delivered_variance"], "variance_se": t["delivered_variance_stderr"],
        "chi2_p": test.pvalue, "max_z": {k: float(np.nanmax(np.abs(v))) for k, v in
                                         cmp.z.items()}, "books_max_z": books,
    }  # fmt: skip


# ========================================================================== driver
def compute(jobs: int) -> dict:
    t0 = time.time()
    with ProcessPoolExecutor(jobs) as pool:
        storage = list(pool.map(storage_case, CHARGED))
        scans = list(pool.map(discharge_scan, [(1.0, True), (0.0, True), (1.0, False),
                                                (0.0, False)]))  # fmt: skip
        # the cycle uses, for each battery, the discharge strength that delivers most in
        # DISCHARGE_K collisions with loss
        best = {s["c"]: max(s["rows"], key=lambda r: r["delivered"])["theta_d"]
                for s in scans if s["lossy"]}  # fmt: skip
        cycles = list(pool.map(cycle_case, [(1.0, best[1.0]), (0.0, best[0.0])]))
    check = trajectory_check()
    return {
        "meta": {
            "machine": machine(),
            "python": platform.python_version(),
            "version": tj.__version__,
            "seconds": time.time() - t0,
            "cutoff": CUTOFF,
            "nbar": NBAR,
            "discharge_k": DISCHARGE_K,
            "cycle": CYCLE,
        },  # fmt: skip
        "storage": storage,
        "scans": scans,
        "cycles": cycles,
        "trajectory_check": check,
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
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        data_file.write_text(json.dumps(to_plain(d), separators=(",", ":")))
    d = json.loads(data_file.read_text())
    FIG_DIR.mkdir(parents=True, exist_ok=True)
    figures(d)
    DOC.write_text(render(d))
    print(f"wrote {DOC.relative_to(ROOT)}, {data_file.relative_to(ROOT)} and the figures")


COLORS = ("black", "tab:blue", "tab:orange", "tab:green")


def figures(d: dict) -> None:
    """The page's figures, from the data only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for st, color in zip(d["storage"], COLORS, strict=False):
        t = np.asarray(st["t"], dtype=float) * st["gamma"]
        axes[0].plot(t, np.asarray(st["energy"]) / st["energy_start"], color=color,
                     label=st["label"])  # fmt: skip
        axes[1].plot(t, np.asarray(st["ergotropy"]) / st["ergotropy_start"], color=color)
    for ax, what in zip(axes, ("energy", "ergotropy"), strict=True):
        ax.axhline(1 / math.e, color="gray", lw=0.6, ls=":")
        ax.set_xlabel(r"storage time $\gamma t$ (collisions x $\gamma t_r$)")
        ax.set_ylabel(f"{what} / {what} at the start of storage")
        ax.set_ylim(0, 1.05)
    axes[0].legend(fontsize=7)
    fig.suptitle("Storage (qubits pass without interacting): self-discharge under the loss, "
                 "nbar = 0.15; dotted: 1/e", fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(FIG_DIR / "discharge-storage.png", dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for sc in d["scans"]:
        th = np.array([r["theta_d"] for r in sc["rows"]])
        color = "tab:blue" if sc["c"] == 1.0 else "tab:orange"
        style = "-" if sc["lossy"] else "--"
        kind = "coherent" if sc["c"] == 1.0 else "incoherent"
        lab = f"{kind}, {'loss' if sc['lossy'] else 'no loss'}"
        e0 = sc["energy_start"]

        def get(key: str, rows=sc["rows"]) -> np.ndarray:
            return np.array([np.nan if r[key] is None else r[key] for r in rows])

        axes[0, 0].plot(th, get("delivered") / e0, style, color=color, label=lab)
        axes[0, 1].plot(th, get("work") / e0, style, color=color)
        axes[1, 0].plot(th, get("t90"), style, color=color)
        axes[1, 1].plot(th, get("fano"), style, color=color)
    axes[0, 0].set_ylabel("energy delivered / stored energy")
    axes[0, 1].set_ylabel("work delivered (qubit ergotropy) / stored energy")
    axes[1, 0].set_ylabel("collisions to deliver 90 %")
    axes[1, 1].set_ylabel("Fano factor of the delivered quanta")
    axes[1, 1].axhline(1.0, color="gray", lw=0.6)
    for ax in axes[1]:
        ax.set_xlabel(r"discharge strength $\theta_d$ (ground-state qubits)")
    axes[0, 0].legend(fontsize=8)
    title = "Discharge of the charged batteries (fine-tuned, q = 0.25, gamma t_r = 0.1 "
    fig.suptitle(title + f"steady state) in {d['meta']['discharge_k']} collisions", fontsize=10)
    fig.tight_layout()
    fig.savefig(FIG_DIR / "discharge-scan.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for cy in d["cycles"]:
        color = "tab:blue" if cy["c"] == 1.0 else "tab:orange"
        name = "coherent" if cy["c"] == 1.0 else "incoherent"
        n = np.arange(1, cy["cycles"] + 1)
        ax.plot(n, [p["delivered"] for p in cy["per_cycle"]], "o-", color=color,
                label=f"{name}: energy delivered")  # fmt: skip
        ax.plot(n, [p["work"] for p in cy["per_cycle"]], "s--", color=color,
                label=f"{name}: work delivered")  # fmt: skip
    ax.set_xlabel("cycle")
    ax.set_ylabel(r"per cycle ($\hbar\omega$)")
    ax.legend(fontsize=7)
    c = d["meta"]["cycle"]
    ax.set_title(f"charge {c['charge']}, store {c['store']}, discharge {c['discharge']} "
                 "collisions, repeated", fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(FIG_DIR / "discharge-cycles.png", dpi=120)
    plt.close(fig)


def render(d: dict) -> str:
    """The page, from the data only."""
    meta = d["meta"]
    lines = [
        "# Charge, store, discharge: how much of the battery's energy can be used",
        "",
        "Generated by `python -m analysis.discharge` from `data/discharge/results.json` "
        f"({fmt(meta['seconds'])} s on {meta['machine']}, version {meta['version']}); every "
        "number below is read from that file. The physics (protocols, energy books) is in "
        "[the model page](MODEL.md), Sec. 12.",
        "",
        "## Assumptions",
        "",
        "Energies in units of hbar omega (the mean photon number), time in collisions. The "
        "batteries are charged by the paper's qubits (q = 0.25, fine-tuned theta = "
        f"pi/sqrt(15) unless said), thermal bath nbar = {meta['nbar']}, cutoff "
        f"{meta['cutoff']} (the leaked weight of every run is recorded). Storage: the qubits "
        "pass without interacting (theta = 0), only the loss acts. Discharge: ground-state "
        "qubits (q = 1, c = 0); the energy delivered is what the qubits take (the books' "
        "energy from the qubits, with its sign changed) and equals the mean number of "
        "qubits that leave excited; the work delivered is the sum of the outgoing qubits' "
        "own ergotropies (what could be extracted from each qubit alone). All numbers are "
        "exact (density matrices, tilted channel) except the trajectory check at the end.",
        "",
        "## (a) Storage: self-discharge under the loss",
        "",
        "![storage](figures/discharge-storage.png)",
        "",
        "| charged state | energy | ergotropy | energy lifetime | ergotropy lifetime | "
        "lifetimes x gamma t_r |",
        "|---|---|---|---|---|---|",
    ]
    for st in d["storage"]:
        g = st["gamma"]
        lines.append(
            f"| {st['label']} | {fmt(st['energy_start'], 4)} | {fmt(st['ergotropy_start'], 4)} | "
            f"{fmt(st['energy_lifetime'], 4)} | {fmt(st['ergotropy_lifetime'], 4)} | "
            f"{fmt(st['energy_lifetime'] * g, 3)}, {fmt(st['ergotropy_lifetime'] * g, 3)} |"
        )
    s0 = d["storage"][0]
    lines += [
        "",
        "Lifetimes are the collisions until the quantity falls to 1/e of its value at the "
        "start of storage. Stored under the charging loss, the energy lasts about one photon "
        f"lifetime ({fmt(s0['energy_lifetime'] * s0['gamma'], 3)} / gamma for the Fig. 5 "
        f"state) and the ergotropy a little less ({fmt(s0['ergotropy_lifetime'] * s0['gamma'], 3)}"
        " / gamma; the bath adds thermal photons, nbar, which raise the energy it decays "
        "towards but mix the state). The incoherent battery's small ergotropy lasts only "
        f"{fmt(d['storage'][2]['ergotropy_lifetime'] * d['storage'][2]['gamma'], 3)} / gamma. "
        "The paper's long-lived state at gamma t_r = 0.001 keeps its charge for about "
        f"{fmt(d['storage'][3]['energy_lifetime'], 4)} collisions, the same in units of 1/gamma.",
        "",
        "## (b) Discharge into ground-state qubits",
        "",
        f"From the steady state charged at gamma t_r = 0.1, {meta['discharge_k']} collisions "
        "with ground-state qubits of strength theta_d, with the same loss during the "
        "discharge or without loss.",
        "",
        "![scan](figures/discharge-scan.png)",
        "",
        "| battery | loss in discharge | stored energy | stored ergotropy | best theta_d "
        "(energy) | delivered / energy | delivered / ergotropy | work / delivered | 90 % "
        "after | Fano of delivered quanta |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    best = {}
    for sc in d["scans"]:
        r = max(sc["rows"], key=lambda x: x["delivered"])
        best[(sc["c"], sc["lossy"])] = (sc, r)
        lines.append(
            f"| {'coherent' if sc['c'] == 1.0 else 'incoherent'} | "
            f"{'yes' if sc['lossy'] else 'no'} | {fmt(sc['energy_start'], 4)} | "
            f"{fmt(sc['ergotropy_start'], 4)} | {r['theta_d']:g} | {fmt(r['eff_energy'], 3)} | "
            f"{fmt(r['eff_ergotropy'], 3)} | {fmt(r['work'] / r['delivered'], 3)} | "
            f"{fmt(r['t90'], 3)} | {fmt(r['fano'], 3)} |"
        )
    cr, icr = best[(1.0, True)][1], best[(0.0, True)][1]
    fast = {
        key: min((x for x in sc["rows"] if x["delivered"] >= 0.9 * r["delivered"]
                  and x["t90"] is not None), key=lambda x: x["t90"])
        for key, (sc, r) in best.items()
    }  # fmt: skip
    lines += [
        "",
        "Best theta_d for complete delivery (the most energy in "
        f"{meta['discharge_k']} collisions) is in the table; the fastest discharge that still "
        "delivers 90 % of that maximum is at theta_d = "
        f"{fast[(1.0, True)]['theta_d']:g} for the coherent battery "
        f"({fmt(fast[(1.0, True)]['t90'])} collisions to 90 %) and "
        f"{fast[(0.0, True)]['theta_d']:g} for the incoherent one "
        f"({fmt(fast[(0.0, True)]['t90'])}).",
        "",
        f"The incoherent battery delivers {fmt(icr['delivered'], 3)} quanta, more than the "
        f"coherent one ({fmt(cr['delivered'], 3)}), and "
        f"{fmt(icr['eff_ergotropy'], 3)} times its own ergotropy: energy given to ground-state "
        "qubits is not work. The qubits' own ergotropy counts the work: the coherent battery "
        f"hands over {fmt(cr['work'], 3)} ({fmt(cr['work'] / cr['delivered'], 3)} of what it "
        f"delivers), the incoherent one {fmt(icr['work'], 3)} "
        f"({fmt(icr['work'] / icr['delivered'], 3)}). The coherent battery is also the more "
        "reliable source: with the loss the delivered quanta have a Fano factor "
        f"{fmt(cr['fano'], 3)} against {fmt(icr['fano'], 3)} for the incoherent battery"
        + (" (both sub-Poissonian)" if max(cr["fano"], icr["fano"]) < 1 else "")
        + "; without loss "
        f"{fmt(best[(1.0, False)][1]['fano'], 3)} against {fmt(best[(0.0, False)][1]['fano'], 3)}.",
        "",
        "## (c) The cycle, repeated",
        "",
        f"Charge {meta['cycle']['charge']} collisions, store {meta['cycle']['store']}, "
        f"discharge {meta['cycle']['discharge']} with the best theta_d of (b), all with the "
        "loss, repeated from the vacuum until the state at the start of a cycle changes by "
        f"less than {CYCLE_TOL:g} (trace distance).",
        "",
        "![cycles](figures/discharge-cycles.png)",
        "",
        "| battery | theta_d | cycles to periodic | energy given by the charging qubits | "
        "energy at the end of charging | after storage | delivered | work delivered | "
        "efficiency (energy) | efficiency (work) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cy in d["cycles"]:
        p = cy["per_cycle"][-1]
        lines.append(
            f"| {'coherent' if cy['c'] == 1.0 else 'incoherent'} | {cy['theta_d']:g} | "
            f"{cy['cycles']}{'' if cy['converged'] else ' (not converged)'} | "
            f"{fmt(p['charged_in'], 4)} | {fmt(p['energy_charged'], 4)} | "
            f"{fmt(p['energy_stored'], 4)} | {fmt(p['delivered'], 4)} | {fmt(p['work'], 4)} | "
            f"{fmt(cy['efficiency_energy'], 3)} | {fmt(cy['efficiency_work'], 3)} |"
        )
    cy = d["cycles"][0]
    p = cy["per_cycle"][-1]
    lines += [
        "",
        "Most of the energy the charging qubits give is lost to the bath while the battery "
        f"is charged and stored: of {fmt(p['charged_in'], 3)} quanta per cycle the coherent "
        f"battery holds {fmt(p['energy_charged'], 3)} at the end of charging and "
        f"{fmt(p['energy_stored'], 3)} after storage, and delivers {fmt(p['delivered'], 3)} "
        f"(efficiency {fmt(cy['efficiency_energy'], 3)}). Per cycle the coherent battery "
        f"hands over {fmt(p['work'], 3)} of work, the incoherent one "
        f"{fmt(d['cycles'][1]['per_cycle'][-1]['work'], 3)}. A micromaser battery is a "
        "steady-state device: charged continuously it holds its energy against the loss; "
        "stored without charging it loses it at the photon lifetime.",
        "",
    ]
    tc = d.get("trajectory_check")
    if tc:
        lines += [
            "## Trajectory check",
            "",
            f"Charge 100 collisions (coherent, cutoff 40), then discharge 20 collisions with "
            f"theta_d = 0.8: {tc['trajectories']} trajectories, seed {tc['seed']}.",
            "",
            "| quantity | exact | trajectories | standard error | z |",
            "|---|---|---|---|---|",
            f"| mean delivered quanta | {tc['delivered_exact']:.4f} | {tc['delivered_traj']:.4f} "
            f"| {tc['delivered_se']:.4f} | "
            f"{(tc['delivered_traj'] - tc['delivered_exact']) / tc['delivered_se']:+.2f} |",
            f"| variance | {tc['variance_exact']:.4f} | {tc['variance_traj']:.4f} | "
            f"{tc['variance_se']:.4f} | "
            f"{(tc['variance_traj'] - tc['variance_exact']) / tc['variance_se']:+.2f} |",
            "",
            f"Chi-square of the delivered quanta per trajectory against the exact distribution: "
            f"p = {fmt(tc['chi2_p'], 3)}. Largest |z| over the checkpoints: "
            + ", ".join(f"{k} {fmt(v, 3)}" for k, v in {**tc["max_z"], **tc["books_max_z"]}.items())
            + ".",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
