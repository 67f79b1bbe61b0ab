# ruff: noqa: E501  (the page's sentences are f-strings of data, kept whole for reading)
r"""Networks of batteries: do correlations between two cavities speed up charging?

Produces ``docs/NETWORK.md``, its figures (``docs/figures/network-*.png``) and
``data/network/results.json``::

    python -m analysis.network                 # ~30 min on 2 cores
    python -m analysis.network --report-only   # re-render page and figures from the data

The page is rendered from the data file only (:func:`render`). For the same stream of ``K``
qubits (q = 0.25, fine-tuned theta = pi/sqrt(15) per cavity), five ways to store their
energy, all exact (density matrices; the pair on its joint state):

1. one battery (one cavity, every qubit);
2. two independent batteries, each charged by every other qubit (each sees a qubit every
   ``2 t_r``: its loss per collision doubles);
3. two cavities in series (each qubit meets A, then B);
4. two cavities coupled simultaneously, each with the same theta;
5. simultaneous with theta / sqrt 2 each, so that the bright mode (a + b)/sqrt 2 has the
   single battery's coupling.

Coherent (c = 1) and incoherent (c = 0) qubits, without loss and with the paper's loss
(gamma t_r = 0.1, nbar = 0.15). Per scheme: the pair's energy, ergotropy (global, local sum
and the collective rest), purity, log negativity and mutual information along the way; the
steady energy (fixed point of the one-step channel, where it exists), the qubits to reach
90 % of it, the mean charging power up to there, the energy per qubit of the first 20. For
two independent batteries the global ergotropy of the product state is computed too: a
product of two mixed states already has a collective part, so only the excess over it is
due to correlations. Every point is checked for leakage (at most 1e-8, else left out) and
against a smaller cutoff.
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
from trajectories.bipartite import joint_levels

__all__ = ["main", "render", "figures", "product_ergotropy"]

ROOT = Path(__file__).resolve().parents[1]
FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "data" / "network"
DOC = ROOT / "docs" / "NETWORK.md"

THETA = tj.fine_tuned_theta(15)
Q = 0.25
K = 1000
STEP = 10
CUTOFF = 30
CHECK_CUTOFF = 24
SINGLE_CUTOFF = 60
LEAK_TOL = 1e-8
LOSSES = (("no loss", 0.0, 0.0), ("loss", 0.1, 0.15))
COHERENCE = (("coherent", 1.0), ("incoherent", 0.0))
SCHEMES = (
    ("one battery", "single", 1.0),
    ("two independent, half the qubits each", "halves", 1.0),
    ("series", "series", 1.0),
    ("simultaneous, theta each", "simultaneous", 1.0),
    ("simultaneous, theta/sqrt2 each", "simultaneous", 1.0 / math.sqrt(2)),
)


def product_ergotropy(rho: np.ndarray) -> float:
    r"""Global ergotropy of two independent copies, :math:`W(\rho\otimes\rho)`.

    The eigenvalues of the product are the products :math:`r_i r_j`; the levels of
    :math:`n_A + n_B` are ``i + j`` on the kept space.
    """
    r = np.clip(np.linalg.eigvalsh(rho), 0.0, None)
    n = rho.shape[0]
    energy = 2.0 * float(np.real(np.trace(rho) * np.sum(np.arange(n) * np.diagonal(rho).real)))
    prods = np.sort(np.outer(r, r).reshape(-1))[::-1]
    return energy - float(prods @ joint_levels((n, n)))


def _t90(k: np.ndarray, e: np.ndarray, ref: float | None) -> int | None:
    if ref is None or not np.isfinite(ref) or ref <= 0:
        return None
    hit = np.flatnonzero(e >= 0.9 * ref)
    return int(k[hit[0]]) if hit.size else None


def _single(c: float, gamma: float, nbar: float, halves: bool) -> dict:
    g = 2.0 * gamma if halves else gamma
    m = tj.Micromaser(theta=THETA, q=Q, c=c, gamma_tr=g, nbar=nbar, cutoff=SINGLE_CUTOFF)
    n = K // 2 if halves else K
    step = STEP // 2 if halves else STEP
    r = tj.solve_exact(m, n, checkpoints=np.arange(0, n + 1, step), store_states=halves)
    ss = tj.steady_state(m)
    f = 2.0 if halves else 1.0
    out = {
        "k": (r.k * (2 if halves else 1)).tolist(),  # qubits of the stream
        "energy": f * r.energy, "ergotropy": f * r.ergotropy, "local_ergotropy": f * r.ergotropy,
        "purity": r.purity ** (2 if halves else 1), "log_negativity": np.zeros(r.k.size),
        "mutual_information": np.zeros(r.k.size), "leakage": r.leakage,
        "steady_energy": f * ss.energy, "steady_ergotropy": f * ss.ergotropy,
        "steady_note": "fixed point of the one-step channel",
    }  # fmt: skip
    if halves:  # the product state's own collective ergotropy
        out["ergotropy"] = np.array([product_ergotropy(s) for s in r.states])
        out["steady_ergotropy"] = product_ergotropy(ss.rho)
    return out


def _network(c, gamma, nbar, topology, scale, cutoff, steady=True, step=STEP) -> dict:
    net = tj.Network(
        theta=(THETA * scale, THETA * scale), q=Q, c=c, gamma_tr=gamma, nbar=nbar,
        cutoff=(cutoff, cutoff), topology=topology,
    )  # fmt: skip
    r = tj.solve_exact(net, K, checkpoints=np.arange(0, K + 1, step), leakage_tol=math.inf)
    out = {
        "k": r.k.tolist(), "energy": r.total_energy, "energy_a": r.energy[:, 0],
        "energy_b": r.energy[:, 1], "ergotropy": r.ergotropy,
        "local_ergotropy": r.local_ergotropy.sum(1), "purity": r.purity,
        "log_negativity": r.log_negativity, "mutual_information": r.mutual_information,
        "leakage": r.leakage, "seconds": r.run_seconds,
    }  # fmt: skip
    out["steady_energy"] = out["steady_ergotropy"] = None
    out["steady_note"] = "not computed"
    if steady:
        try:
            ss = tj.steady_state(net)
            out["steady_energy"] = ss.total_energy
            out["steady_ergotropy"] = ss.observables["ergotropy"]
            out["steady_note"] = "fixed point of the one-step channel"
        except tj.SteadyStateError as err:
            out["steady_note"] = str(err).split(";")[0]
    return out


def case(args: tuple) -> dict:
    """One (coherence, loss, scheme): the exact curves and the summary numbers."""
    (coh_label, c), (loss_label, gamma, nbar), (label, kind, scale) = args
    t0 = time.time()
    with single_threaded_blas():
        if kind in ("single", "halves"):
            d = _single(c, gamma, nbar, kind == "halves")
            d["cutoff_check"] = None
        else:
            # without loss the simultaneous pair has no unique fixed point (theta/sqrt2: the
            # dark mode is conserved; theta: the bright mode is not trapped and leaks)
            steady = gamma != 0.0  # without loss: reference() below
            d = _network(c, gamma, nbar, kind, scale, CUTOFF, steady=steady)
            small = _network(c, gamma, nbar, kind, scale, CHECK_CUTOFF, steady=False, step=5 * STEP)
            sel = np.isin(np.asarray(d["k"]), small["k"])
            big_e, big_l = np.asarray(d["energy"])[sel], np.asarray(d["leakage"])[sel]
            ok = (np.asarray(small["leakage"]) <= LEAK_TOL) & (big_l <= LEAK_TOL)
            diff = np.abs(np.asarray(small["energy"]) - big_e)[ok]
            d["cutoff_check"] = float(diff.max()) if diff.size else None
    d.update(reference(c, gamma, kind, scale))
    return summarise({
        "coherence": coh_label, "c": c, "loss": loss_label, "gamma": gamma, "nbar": nbar,
        "scheme": label, "kind": kind, "scale": scale, **d, "case_seconds": time.time() - t0,
    })  # fmt: skip


def reference(c: float, gamma: float, kind: str, scale: float) -> dict:
    """The steady energy of a lossless pair where the fixed point of the joint channel is not
    unique or is out of ARPACK's reach at the full cutoff (empty dict otherwise).

    Simultaneous: the dark mode is conserved, and from vacuum it stays empty while the bright
    mode is one battery of strength ``theta_each sqrt 2``: pi/sqrt(15) for theta/sqrt2 each,
    2 pi/sqrt(30) (trapped below 30) for theta each. Series: fine-tuned, both cavities stay
    below level 15, so the fixed point on 16 x 16 levels is the one on any larger cutoff
    (its residual is checked; a leak would show there).
    """
    if gamma != 0.0 or kind not in ("series", "simultaneous"):
        return {}
    if kind == "simultaneous":
        theta = THETA * scale * math.sqrt(2)
        m = tj.Micromaser(theta=theta, q=Q, c=c, cutoff=SINGLE_CUTOFF)
        ss = tj.steady_state(m)
        long = tj.solve_exact(m, 6 * K, checkpoints=[K, 3 * K, 6 * K])
        return {
            "steady_energy": ss.energy, "steady_ergotropy": None,
            "steady_note": f"bright mode = one battery at theta = {theta:.6g} (dark mode "
            "conserved, empty from vacuum)",
            "bright_k": long.k, "bright_energy": long.energy,
        }  # fmt: skip
    net = tj.Network(theta=(THETA, THETA), q=Q, c=c, cutoff=(16, 16), topology="series")
    ss = tj.steady_state(net)
    return {
        "steady_energy": ss.total_energy, "steady_ergotropy": ss.observables["ergotropy"],
        "steady_note": "fixed point on 16 x 16 levels (both cavities trapped below 15)",
    }  # fmt: skip


def summarise(row: dict) -> dict:
    """The summary numbers of a row from its curves and its steady energy."""
    d = row
    k = np.asarray(d["k"])
    e = np.asarray(d["energy"], dtype=float)
    good = np.asarray(d["leakage"]) <= LEAK_TOL
    ref = d["steady_energy"]
    t90 = _t90(k[good], e[good], ref)
    i20 = int(np.flatnonzero(k == 20)[0])
    return {
        **d,
        "valid_until": int(k[good][-1]), "t90": t90,
        "power90": (0.9 * ref / t90) if (t90 and ref) else None,
        "energy_per_qubit_20": float(e[i20] / 20.0) if good[i20] else None,
        "collective": np.asarray(d["ergotropy"]) - np.asarray(d["local_ergotropy"]),
    }  # fmt: skip


def compute(jobs: int) -> dict:
    t0 = time.time()
    tasks = [(co, lo, sc) for co in COHERENCE for lo in LOSSES for sc in SCHEMES]
    # the slow network cases first, so the pool stays busy
    tasks.sort(key=lambda t: t[2][1] in ("single", "halves"))
    with ProcessPoolExecutor(jobs) as pool:
        rows = list(pool.map(case, tasks))
    order = {(co[0], lo[0], sc[0]): i for i, (co, lo, sc) in enumerate(
        (co, lo, sc) for co in COHERENCE for lo in LOSSES for sc in SCHEMES)}  # fmt: skip
    rows.sort(key=lambda r: order[(r["coherence"], r["loss"], r["scheme"])])
    return {
        "meta": {
            "machine": machine(),
            "python": platform.python_version(),
            "version": tj.__version__,
            "seconds": time.time() - t0,
            "K": K,
            "q": Q,
            "theta": THETA,
            "cutoff": CUTOFF,
            "check_cutoff": CHECK_CUTOFF,
            "single_cutoff": SINGLE_CUTOFF,
            "leak_tol": LEAK_TOL,
        },  # fmt: skip
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: compute (or reload) the data, then render figures and page."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--report-only", action="store_true", help="re-render from the data")
    parser.add_argument(
        "--resummarise", action="store_true",
        help="recompute the lossless references and the summaries from the stored curves",
    )  # fmt: skip
    args = parser.parse_args(argv)
    data_file = DATA_DIR / "results.json"
    if args.resummarise:
        d = json.loads(data_file.read_text())
        with single_threaded_blas():
            d["rows"] = [
                summarise({**r, **reference(r["c"], r["gamma"], r["kind"], r["scale"])})
                for r in d["rows"]
            ]
        data_file.write_text(json.dumps(to_plain(d), separators=(",", ":")))
    elif not args.report_only:
        d = compute(args.jobs)
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        data_file.write_text(json.dumps(to_plain(d), separators=(",", ":")))
    d = json.loads(data_file.read_text())
    FIG_DIR.mkdir(parents=True, exist_ok=True)
    figures(d)
    DOC.write_text(render(d))
    print(f"wrote {DOC.relative_to(ROOT)}, {data_file.relative_to(ROOT)} and the figures")


COLORS = ("black", "tab:gray", "tab:blue", "tab:orange", "tab:green")


def _rows(d: dict, coherence: str, loss: str) -> list[dict]:
    return [r for r in d["rows"] if r["coherence"] == coherence and r["loss"] == loss]


def _masked(r: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(r["k"], dtype=float)
    y = np.asarray(r[key], dtype=float)
    good = np.asarray(r["leakage"], dtype=float) <= r.get("leak_tol", LEAK_TOL)
    return k[good], y[good]


def figures(d: dict) -> None:
    """The page's figures, from the data only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for key, ylabel, name in (
        ("energy", "energy of the pair (hbar omega)", "energy"),
        ("ergotropy", "ergotropy of the pair (hbar omega)", "ergotropy"),
        ("log_negativity", "log negativity (nats)", "entanglement"),
    ):
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
        for i, (coh, _) in enumerate(COHERENCE):
            for j, (loss, _, _) in enumerate(LOSSES):
                ax = axes[i, j]
                for r, color in zip(_rows(d, coh, loss), COLORS, strict=True):
                    k, y = _masked(r, key)
                    ax.plot(k, y, color=color, label=r["scheme"])
                    if key == "ergotropy" and r["kind"] != "single":
                        k2, y2 = _masked(r, "local_ergotropy")
                        ax.plot(k2, y2, color=color, ls=":", lw=1)
                ax.set_title(f"{coh} qubits, {loss}")
                ax.set_ylabel(ylabel)
                if i == 1:
                    ax.set_xlabel("qubits sent (collisions of the stream)")
        axes[0, 0].legend(fontsize=8)
        if key == "ergotropy":
            fig.suptitle("solid: global ergotropy; dotted: sum of the local ones", fontsize=9)
        fig.tight_layout()
        fig.savefig(FIG_DIR / f"network-{name}.png", dpi=110)
        plt.close(fig)


def _cell(x, digits=3) -> str:
    return fmt(x, digits) if x is not None else "-"


def render(d: dict) -> str:
    """The page, from the data only."""
    meta = d["meta"]

    lines = [
        "# Networks of batteries: do correlations speed up charging?",
        "",
        "Generated by `python -m analysis.network` from `data/network/results.json` "
        f"({fmt(meta['seconds'])} s on {meta['machine']}, version {meta['version']}); every "
        "number below is read from that file. The physics (topologies, the pair's "
        "observables) is in [the model page](MODEL.md), Sec. 13.",
        "",
        "## Assumptions",
        "",
        f"The paper's qubits (q = {meta['q']}, theta = pi/sqrt(15) = {fmt(meta['theta'], 6)} "
        f"per cavity unless said), {meta['K']} qubits sent one per t_r. Energies and "
        "ergotropies in units of hbar omega, entropies and log negativity in nats. Both "
        "cavities resonant, identical, each with its own bath (no loss, or gamma t_r = 0.1 "
        f"and nbar = 0.15 as in the paper's Fig. 5). Cutoffs: {meta['single_cutoff']} for one "
        f"cavity, {meta['cutoff']} x {meta['cutoff']} for a pair, every pair also run at "
        f"{meta['check_cutoff']} x {meta['check_cutoff']} (largest energy difference in the "
        "tables); points whose leaked weight exceeds "
        f"{fmt(meta['leak_tol'])} are left out of figures and numbers. Two independent "
        "batteries share the stream: each gets every other qubit, so it loses photons for "
        "2 t_r between its collisions. All numbers are exact (density matrices).",
        "",
        "Measures, for the same number of qubits sent: the pair's steady energy (fixed point "
        "of the one-step channel; where none is unique, said so); the qubits needed to reach "
        "90 % of it (t90) and the mean power up to there, 0.9 E_ss / t90 (hbar omega per "
        "t_r); the energy per qubit over the first 20 qubits (the initial charging power); "
        "the ergotropy of the pair (global) and its collective part, global minus the sum "
        "of the local ergotropies (what only a joint operation can extract); for two "
        "independent batteries the global ergotropy is that of the product state, whose "
        "collective part comes from having two copies, not from correlations.",
        "",
    ]
    for coh, _ in COHERENCE:
        for loss, _, _ in LOSSES:
            lines += [
                f"## {coh.capitalize()} qubits, {loss}",
                "",
                "| scheme | E_ss | t90 | power to 90 % | E/qubit (first 20) | E(K) | "
                "W(K) | collective W(K) | purity(K) | max log neg. | MI(K) | cutoff check |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for r in _rows(d, coh, loss):
                good = np.asarray(r["leakage"], dtype=float) <= meta["leak_tol"]
                last = int(np.flatnonzero(good)[-1])
                kk = r["k"][last]
                tag = "" if kk == meta["K"] else f" (k = {kk})"
                ln = np.asarray(r["log_negativity"], dtype=float)[good]
                lines.append(
                    f"| {r['scheme']} | {_cell(r['steady_energy'], 4)} | {_cell(r['t90'])} | "
                    f"{_cell(r['power90'])} | {_cell(r['energy_per_qubit_20'])} | "
                    f"{fmt(r['energy'][last], 4)}{tag} | {fmt(r['ergotropy'][last], 4)} | "
                    f"{fmt(r['collective'][last], 3)} | {fmt(r['purity'][last], 3)} | "
                    f"{fmt(float(ln.max()), 3)} | {fmt(r['mutual_information'][last], 3)} | "
                    f"{_cell(r['cutoff_check'], 2)} |"
                )
            fixed = "fixed point of the one-step channel"
            notes = sorted({r["steady_note"] for r in _rows(d, coh, loss)} - {fixed})
            if notes:
                lines += ["", "Steady energy: " + "; ".join(notes) + "."]
            lines.append("")
    lines += [
        "![energy](figures/network-energy.png)",
        "",
        "![ergotropy](figures/network-ergotropy.png)",
        "",
        "![entanglement](figures/network-entanglement.png)",
        "",
    ]
    lines += _conclusions(d)
    return "\n".join(lines) + "\n"


def _get(d: dict, coh: str, loss: str, kind: str, scale: float = 1.0) -> dict:
    for r in _rows(d, coh, loss):
        if r["kind"] == kind and abs(r["scale"] - scale) < 1e-9:
            return r
    raise KeyError((coh, loss, kind, scale))


def _conclusions(d: dict) -> list[str]:
    g = {(co, lo): {r["kind"] + ("/2" if r["scale"] < 1 else ""): r for r in _rows(d, co, lo)}
         for co, _ in COHERENCE for lo, _, _ in LOSSES}  # fmt: skip
    ic, il = g[("incoherent", "loss")], g[("incoherent", "no loss")]
    cc, cl = g[("coherent", "loss")], g[("coherent", "no loss")]
    sim_c = cl["simultaneous"]
    last = lambda r, key: r[key][-1]  # noqa: E731
    return [
        "## What the numbers say",
        "",
        "**Charging speed.** Without loss the series pair and two independent batteries "
        f"take the same number of qubits to 90 % of their steady energy ({_cell(cl['series']['t90'])} "
        f"coherent, {_cell(il['series']['t90'])} incoherent, against {_cell(cl['halves']['t90'])} and "
        f"{_cell(il['halves']['t90'])}) and store the same energy ({_cell(cl['series']['steady_energy'], 4)}, "
        f"{_cell(il['series']['steady_energy'], 4)}). With loss every pair reaches 90 % of its own "
        f"steady energy in {_cell(cc['simultaneous']['t90'])}-{_cell(ic['series']['t90'])} qubits against "
        f"{_cell(cc['halves']['t90'])}-{_cell(ic['halves']['t90'])} for two independent batteries, but only "
        "the series pair also stores more: "
        f"{_cell(ic['series']['steady_energy'], 4)} against {_cell(ic['halves']['steady_energy'], 4)} with "
        f"incoherent qubits (mean power to 90 % {_cell(ic['series']['power90'])} against "
        f"{_cell(ic['halves']['power90'])}) and {_cell(cc['series']['steady_energy'], 4)} against "
        f"{_cell(cc['halves']['steady_energy'], 4)} with coherent ones; the simultaneous pairs store less "
        f"({_cell(cc['simultaneous']['steady_energy'], 4)}-{_cell(ic['simultaneous/2']['steady_energy'], 4)}). "
        "The series gain comes from the schedule, not from correlations: in series each cavity "
        "meets every qubit (cavity A is exactly one battery) while each independent battery "
        "loses photons for two intervals between its qubits, and the series pair is barely "
        f"entangled (largest log negativity {fmt(max(ic['series']['log_negativity']), 2)}).",
        "",
        "**Simultaneous coupling is one bigger battery.** With theta/sqrt 2 per cavity the pair "
        "charges exactly like one battery (the bright mode (a + b)/sqrt 2 has the single "
        f"battery's coupling): same steady energy ({_cell(il['simultaneous/2']['steady_energy'], 4)}, "
        f"{_cell(cl['simultaneous/2']['steady_energy'], 4)} without loss), same t90, while the "
        f"two cavities become entangled (log negativity up to {fmt(max(il['simultaneous/2']['log_negativity']), 3)}"
        " for incoherent qubits). With theta per cavity the bright mode couples with theta sqrt 2, "
        "(2 pi/sqrt 30: trapped below 30 photons instead of 15): with loss it stores less "
        f"({_cell(ic['simultaneous']['steady_energy'], 4)} and {_cell(cc['simultaneous']['steady_energy'], 4)} "
        f"against {_cell(ic['series']['steady_energy'], 4)} and {_cell(cc['series']['steady_energy'], 4)} "
        "in series), and its initial power per qubit is lower than one battery's "
        f"({_cell(ic['simultaneous']['energy_per_qubit_20'])} against "
        f"{_cell(ic['single']['energy_per_qubit_20'])}, incoherent with loss). Without loss and "
        f"coherent qubits it sits on a long-lived plateau at {fmt(last(sim_c, 'energy'), 4)} "
        f"(the bright battery alone still holds {fmt(sim_c['bright_energy'][-1], 6)} after "
        f"{sim_c['bright_k'][-1]} qubits) far below its fixed point "
        f"{_cell(sim_c['steady_energy'], 4)}: a metastable state, not a steady one.",
        "",
        "**What correlations do buy: ergotropy that only joint operations extract.** With "
        "incoherent qubits the collective part of the ergotropy is large: "
        f"{fmt(last(il['simultaneous/2'], 'collective'), 3)} of {fmt(last(il['simultaneous/2'], 'ergotropy'), 4)} "
        "without loss (simultaneous, theta/sqrt 2), "
        f"{fmt(last(ic['simultaneous/2'], 'collective'), 3)} of {fmt(last(ic['simultaneous/2'], 'ergotropy'), 3)} "
        f"with loss, and {fmt(last(ic['series'], 'collective'), 3)} of {fmt(last(ic['series'], 'ergotropy'), 3)} "
        "in series with loss, where two independent batteries hold "
        f"{fmt(last(ic['halves'], 'ergotropy'), 3)} in all ({fmt(last(ic['halves'], 'collective'), 2)} of it "
        "collective, from having two copies). With coherent qubits the states are nearly pure "
        "and the collective part is small "
        f"({fmt(last(cc['series'], 'collective'), 2)}-{fmt(last(cc['simultaneous'], 'collective'), 2)} with loss).",
        "",
        "So, to the paper's question: in this model correlations between two micromaser "
        "batteries do not make them charge faster. Coupling both cavities at once makes one "
        "bigger oscillator (the bright mode), entangled across the two cavities but charging "
        "like one battery of the combined coupling; a pair in series beats two batteries "
        "sharing the stream only with loss, by the schedule; what correlations change is how "
        "the stored energy can be used: with incoherent qubits a large part of the work is "
        "extractable only by joint operations on both cavities.",
        "",
    ]


if __name__ == "__main__":
    main()
