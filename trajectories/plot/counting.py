"""Counting-statistics figures: trajectory records against exact full counting statistics.

``micromaser counts RESULT.h5`` (:func:`trajectories.runs.cli.counts_command`) and
``python -m analysis.counting`` make them with :func:`make_figures`.

Figures (one file each, ``STEM-counts-*.FORMAT``):

- ``hist``: histograms across trajectories of each count at one checkpoint, with the exact
  distribution of :func:`trajectories.counting.exact_distribution` (Sec. "Exact counting
  distributions" of that module) and the chi-square p-value;
- ``mandel``: Mandel Q = Var/mean - 1 against collisions k, trajectories with jackknife
  error bars, the exact line from :func:`trajectories.counting.exact_moments`, and the
  long-time value from the leading eigenvalue of the tilted channel where it is affordable;
- ``waiting``: waiting times between emissions (from the jump log) and between qubits found
  in g (when every collision is a checkpoint), each next to an uncorrelated reference
  (exponential / geometric with the same mean);
- ``energy``: the per-trajectory <n>_i, labelled as unravelling-dependent (not measurable);
  the same figure as :func:`trajectories.plot.energy_per_trajectory`.

They follow :mod:`trajectories.plot.style`: bins chosen from the data, exact in black,
trajectories in colour, legends outside the axes, a logarithmic collision axis when the
transient is short, and no empty panel: what a run did not record (no jump log, sparse
checkpoints, a count whose mean is not positive) is said in a note at the foot.

Exact distributions cost about ``2e-9 N^3 k (S/2 + 25)`` seconds for coherent qubits (``S``
about 17 standard deviations of the count); with ``exact="auto"`` the histograms are shown
at the latest checkpoint whose exact distribution fits ``budget_seconds``.
"""

from __future__ import annotations

import logging
import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure

from ..channels.collisions import keeps_diagonal
from ..channels.tilted import QUBIT_COUNTS, Detection
from ..model.micromaser import Micromaser
from ..progress import Progress, ProgressArg
from ..solvers.montecarlo.result import EnsembleResult
from ..statistics import counting as cn
from . import style
from .figures import energy_per_trajectory
from .style import EXACT_COLOR, TRAJ_ERROR_COLOR

__all__ = [
    "LABELS",
    "default_counts",
    "exact_cost_seconds",
    "histogram_figure",
    "mandel_q_figure",
    "waiting_time_figure",
    "energy_figure",
    "summary_table",
    "make_figures",
]

log = logging.getLogger("trajectories")

LABELS = {
    "g": "qubits leaving in g",
    "e": "qubits leaving in e",
    "emission": "emissions into the bath",
    "absorption": "absorptions from the bath",
    "net": "net photons from the bath (abs. - em.)",
}
#: seconds per (grid point x collision x N^3), measured on a 2-core Xeon (module docstring)
_SECONDS_PER_N3 = 2e-9


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    return style.save(fig, path)


def default_counts(model: Micromaser) -> tuple[str, ...]:
    """The counts worth showing: qubit counts always, bath counts only with loss.

    Parameters
    ----------
    model : Micromaser
        The model of the run.

    Returns
    -------
    tuple of str
        ``("g", "e")`` when ``model.gamma_tr == 0``, else also the bath counts
        ``"emission"``, ``"absorption"``, ``"net"`` (what the run's histograms hold; the
        ``"changed"`` count is left to :func:`trajectories.counting.from_ensemble`).
    """
    if model.gamma_tr == 0.0:
        return ("g", "e")
    return tuple(c for c in cn.COUNTS if c != "changed")


def exact_cost_seconds(model: Micromaser, k: int, variance: float) -> float:
    """Rough time of :func:`~trajectories.counting.exact_distribution` up to collision ``k``.

    The grid holds about ``17 sqrt(variance) + 10`` points, half of them propagated, plus
    ~25 Chernoff points. Populations-sector runs (incoherent qubits) cost ``N^2`` per point.

    Parameters
    ----------
    model : Micromaser
        The model (its cutoff ``N`` sets the cost per point, ``N^3`` or ``10 N^2``).
    k : int
        Last collision of the distribution.
    variance : float
        The exact variance of the count at ``k`` (from ``exact_moments``), dimensionless.

    Returns
    -------
    float
        Estimated seconds on one core (measured constant ``2e-9`` s per ``N^3`` and grid
        point and collision).
    """
    size = 17.0 * math.sqrt(max(variance, 0.0)) + 10.0
    points = size / 2.0 + 25.0
    n = model.cutoff
    per = n**2 * 10 if model.is_incoherent else n**3
    return _SECONDS_PER_N3 * per * k * points


# ------------------------------------------------------------------------ figures
def histogram_figure(
    stats: Sequence[cn.CountStatistics],
    exact: Sequence[cn.ExactCounting | None] | None = None,
    path: str | os.PathLike | None = None,
    *,
    k: int | None = None,
) -> Figure:
    """Histograms of counts across trajectories at the checkpoint nearest ``k``.

    One panel per count: blue bars are the fraction of trajectories per bin divided by
    the bin width (a probability per unit count, comparable across bin widths) with
    dark-blue binomial error bars; the black outline is the exact distribution
    ``P(count = j)`` at the same ``k``, summed over the same bins, when the matching
    ``exact`` entry has that checkpoint, and the panel title gives the chi-square p-value
    (computed on the integer counts, bins merged to >= 5 expected). The bins are chosen
    from the data (:func:`~trajectories.plot.style.integer_bins`: one per integer when
    the range is small, integer-aligned Freedman-Diaconis bins otherwise) and cover the
    exact distribution's visible range. Counts are dimensionless. A count whose
    trajectories all leaked by ``k`` gets no panel; a note says so.

    Parameters
    ----------
    stats : sequence of CountStatistics
        One per count, from :func:`trajectories.counting.from_ensemble`; counts of shape
        ``(M, n_k)``.
    exact : sequence of (ExactCounting or None), optional
        Matching exact distributions (same order as ``stats``), or None.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (nearest checkpoint otherwise).

    Returns
    -------
    matplotlib.figure.Figure
        Up to three panels per row; the legend below them.
    """
    exact = list(exact) if exact is not None else [None] * len(stats)
    drawn, notes = [], []
    k_shown = None
    for st, ex in zip(stats, exact, strict=False):
        i = st.index(k)
        k_shown = int(st.k[i])
        if st.n_used[i] > 0:
            drawn.append((st, ex, i))
        else:
            notes.append(
                f"{LABELS[st.count]}: every trajectory leaked by k = {k_shown} (no panel)."
            )
    model = stats[0].model
    title = (style.model_title(model) + "\n" if model is not None else "") + (
        f"counting records at k = {k_shown}: measurable, cumulative from collision 0"
    )
    title += _detection_title(stats)
    if not drawn:
        return _save(style.text_figure(title, notes), path)
    fig, holder, axes = style.panels(len(drawn), ncols=min(3, len(drawn)), panel=(4.2, 2.9),
                                     notes=notes)  # fmt: skip
    for ax, (st, ex, i) in zip(axes, drawn, strict=True):
        _histogram_panel(ax, st, ex, i)
    style.legend_outside(holder, axes, loc="outside lower center")
    fig.suptitle(title, fontsize="medium")
    return _save(fig, path)


def _detection_title(stats: Sequence[cn.CountStatistics]) -> str:
    """A title line on detection when any count was detected imperfectly, else ``""``."""
    worst = [st for st in stats if not st.detection.ideal]
    if not worst:
        return ""
    det = Detection(worst[0].efficiency, max((st.misread for st in worst), key=sum))
    return f"\n{det.describe()}"


def _histogram_panel(ax: Any, st: cn.CountStatistics, ex: cn.ExactCounting | None, i: int) -> None:
    """One panel of :func:`histogram_figure`: count ``st.count`` at checkpoint index ``i``."""
    k_shown = int(st.k[i])
    x, mult = st.histogram_at(k_shown)
    m = int(mult.sum())
    v = p = span = None
    if ex is not None and np.any(ex.k == k_shown):
        v, p = ex.at(k_shown)
        seen = np.flatnonzero(p > 1e-4 * p.max())
        span = (int(v[seen].min()), int(v[seen].max()))
    edges = style.integer_bins(x, span=span, weights=mult)
    width = float(edges[1] - edges[0])
    f = np.histogram(x, edges, weights=mult)[0] / m
    centres = 0.5 * (edges[:-1] + edges[1:])
    ax.bar(centres, f / width, width=0.85 * width, color="C0", alpha=0.6,
           yerr=np.sqrt(f * (1.0 - f) / m) / width, label="trajectories",
           error_kw=dict(ecolor=TRAJ_ERROR_COLOR, capsize=1.5, lw=0.8))  # fmt: skip
    title = f"M = {m}, mean {st.mean.mean[i]:.4g}"
    if v is not None:
        ax.stairs(np.histogram(v, edges, weights=p)[0] / width, edges, color=EXACT_COLOR,
                  lw=1.2, label="exact")  # fmt: skip
        chi = cn.chi_square(x, v, p, multiplicity=mult)
        title += f"\nchi2 p = {chi.pvalue:.2g} ({chi.dof} dof)"
    ax.set_title(title, fontsize="small")
    bins = "" if width == 1 else f"; bins of {width:.0f}"
    ax.set_xlabel(f"{LABELS[st.count]} (count{bins})")
    ax.set_ylabel("probability" if width == 1 else "probability per unit count")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3, axis="y")


def mandel_q_figure(
    stats: Sequence[cn.CountStatistics],
    moments: Sequence[cn.ExactMoments | None] | None = None,
    path: str | os.PathLike | None = None,
    *,
    rates: Sequence[cn.StationaryRates | None] | None = None,
    max_points: int = 50,
    kscale: str = "auto",
) -> Figure:
    """Mandel Q = Var/mean - 1 of each count against the number of collisions k.

    Trajectory estimates are coloured points with error bars of their colour (delete-one
    jackknife standard errors, at most ``max_points`` per count); the exact values from
    ``moments`` are lines of the same colour with a black edge; the long-time value from
    the leading eigenvalue of the tilted channel (``rates``) is dashed, when given.
    Q < 0: sub-Poissonian counting. Counts whose mean is not positive (``"net"``) are
    left out, and a note at the foot says so.

    Parameters
    ----------
    stats : sequence of CountStatistics
        One per count (:func:`trajectories.counting.from_ensemble`).
    moments : sequence of (ExactMoments or None), optional
        Matching exact moments (:func:`trajectories.counting.exact_moments`), arrays of
        shape ``(n_k',)``.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    rates : sequence of (StationaryRates or None), optional
        Matching long-time rates (:func:`trajectories.counting.stationary_rates`).
    max_points : int, optional
        Largest number of trajectory points per count (default 50; thinned evenly on the
        collision axis as drawn, linear or logarithmic).
    kscale : {"auto", "linear", "symlog", "log"}, optional
        Collision axis; ``"auto"`` (default): symmetric-log when the transient is short
        against the range (:func:`~trajectories.plot.style.collision_scale`, on the exact
        lines when given).

    Returns
    -------
    matplotlib.figure.Figure
        One panel, Q (dimensionless) against k; the legend to its right.
    """
    n = len(stats)
    moments = list(moments) if moments is not None else [None] * n
    rates = list(rates) if rates is not None else [None] * n
    skipped = [st.count for st in stats if not st.mean.mean[-1] > 0]  # Q of a mean <= 0: moot
    notes = [f"Not shown (mean count <= 0, Q undefined): {', '.join(skipped)}."] if skipped else []
    fig, holder, (ax,) = style.panels(1, ncols=1, panel=(6.2, 3.8), extra=(3.0, 0.6),
                                      notes=notes)  # fmt: skip
    outline = [patheffects.Stroke(linewidth=2.6, foreground=EXACT_COLOR), patheffects.Normal()]
    shown = [(st, mo, rt) for st, mo, rt in zip(stats, moments, rates, strict=True)
             if st.count not in skipped]  # fmt: skip
    series = [
        (mo.k, mo.mandel_q) if mo is not None else (st.k, st.mandel_q.mean, st.mandel_q.stderr)
        for st, mo, _ in shown
    ]
    scale = style.collision_scale(series) if kscale == "auto" else kscale
    for st, mo, rt in shown:
        ok = np.flatnonzero(np.isfinite(st.mandel_q.mean))
        ok = ok[style.thin(st.k[ok], max_points, scale)]  # evenly spaced on the axis shown
        eb = ax.errorbar(st.k[ok], st.mandel_q.mean[ok], yerr=st.mandel_q.stderr[ok], fmt="o",
                         ms=3, capsize=1.5, lw=0.8, alpha=0.85,
                         label=f"{LABELS[st.count]} (trajectories)")  # fmt: skip
        color = eb[0].get_color()
        if mo is not None:
            ax.plot(mo.k, mo.mandel_q, "-", color=color, lw=1.2, zorder=5, path_effects=outline)
        if rt is not None and np.isfinite(rt.mandel_q):
            ax.axhline(rt.mandel_q, color=color, ls="--", lw=0.8)
    if any(mo is not None for mo in moments):
        ax.plot([], [], "-", color="0.6", lw=1.2, path_effects=outline, label="exact")
    if any(r is not None and np.isfinite(r.mandel_q) for r in rates):
        ax.plot([], [], "--", color="0.4", lw=0.8, label="long-time (leading eigenvalue)")
    ax.axhline(0.0, color="0.5", lw=0.6)
    style.set_collision_axis(ax, scale)
    ax.set_xlabel(style.collision_label(scale))
    detected = any(not st.detection.ideal for st in stats)
    ax.set_ylabel("Mandel Q = Var/mean - 1" + (" (detected)" if detected else ""))
    ax.grid(alpha=0.3)
    style.legend_outside(holder, [ax], loc="outside right upper", ncols=1)
    model = stats[0].model
    ax.set_title((style.model_title(model) if model is not None else "Mandel Q")
                 + _detection_title(stats), fontsize="medium")  # fmt: skip
    return _save(fig, path)


def waiting_time_figure(ens: EnsembleResult, path: str | os.PathLike | None = None) -> Figure:
    """Waiting-time distributions: between emissions (t_r) and between qubits in g (collisions).

    Each panel shows the pooled histogram (probability density / probability, log scale)
    with the uncorrelated reference of the same mean (exponential / geometric) as a black
    dashed line. A distribution the run did not record (no jump log: ``max_jumps = 0``;
    checkpoints not at every collision; no emissions) gets no panel: a note at the foot
    says why, and a figure of notes only is returned when neither was recorded.

    Parameters
    ----------
    ens : EnsembleResult
        The trajectories (jump log ``per_trajectory.jump_times`` of shape ``(M, J)``;
        qubit counts at every collision for the second panel).
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).

    Returns
    -------
    matplotlib.figure.Figure
        Zero, one or two panels.
    """
    notes: list[str] = []
    w = _records_or_note(notes, "Waiting times between emissions",
                         lambda: cn.emission_waiting_times(ens))  # fmt: skip
    g = _records_or_note(notes, "Waiting times between qubits found in g",
                         lambda: cn.g_waiting_times(ens))  # fmt: skip
    if w is not None and w.n_excluded:
        notes.append(f"{w.n_excluded} trajectories excluded from the emission waiting times "
                     "(jump log overflowed).")  # fmt: skip
    draw = [d for d in (("emission", w), ("g", g)) if d[1] is not None]
    title = style.model_title(ens.model) + "\nwaiting times within trajectories (measurable)"
    if not draw:
        return _save(style.text_figure(title, notes), path)
    fig, holder, axes = style.panels(len(draw), ncols=2, panel=(4.8, 3.2), notes=notes)
    for ax, (kind, rec) in zip(axes, draw, strict=True):
        if kind == "emission":
            ax.hist(rec.values, bins=style.continuous_bins(rec.values), density=True,
                    color="C0", alpha=0.7, label="trajectories (pooled waits)")  # fmt: skip
            t = np.linspace(0.0, float(rec.values.max()), 200)
            ax.plot(t, np.exp(-t / rec.mean) / rec.mean, "--", color=EXACT_COLOR, lw=1,
                    label="uncorrelated reference, same mean")  # fmt: skip
            ax.set_xlabel(r"time between emissions [$t_r$]")
            ax.set_ylabel("probability density")
        else:
            tau = np.arange(1, int(rec.values.max()) + 1)
            f = np.bincount(rec.values, minlength=tau.size + 1)[1:] / rec.values.size
            ax.bar(tau, f, width=0.85, color="C0", alpha=0.7, label="trajectories (pooled waits)")
            q = 1.0 / rec.mean
            ax.plot(tau, q * (1.0 - q) ** (tau - 1), "--", color=EXACT_COLOR, lw=1,
                    label="uncorrelated reference, same mean")  # fmt: skip
            ax.set_xlabel("collisions between qubits found in g")
            ax.set_ylabel("probability")
        ax.set_yscale("log")
        ax.set_title(f"{rec.values.size} waits, {rec.n_trajectories} trajectories",
                     fontsize="small")  # fmt: skip
        ax.grid(alpha=0.3)
    style.legend_outside(holder, axes, loc="outside lower center")
    fig.suptitle(title, fontsize="medium")
    return _save(fig, path)


def _records_or_note(notes: list[str], what: str, get: Any) -> Any:
    """``get()``, or None with the reason appended to ``notes`` (the run lacks the records)."""
    try:
        rec = get()
    except ValueError as err:
        notes.append(f"{what}: not recorded ({err}).")
        return None
    if rec.values.size == 0:
        notes.append(f"{what}: none in this run (no such events).")
        return None
    return rec


def energy_figure(
    ens: EnsembleResult, path: str | os.PathLike | None = None, *, k: int | None = None
) -> Figure:
    """Histogram of the per-trajectory <n>_i (unravelling-dependent, not measurable).

    The same figure as :func:`trajectories.plot.energy_per_trajectory` (this name is kept
    for :func:`make_figures`).

    Parameters
    ----------
    ens : EnsembleResult
        The trajectories.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (nearest checkpoint otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return energy_per_trajectory(ens, path, k=k)


# --------------------------------------------------------------------- computing
def summary_table(
    stats: Sequence[cn.CountStatistics],
    moments: Sequence[cn.ExactMoments | None],
    exact: Sequence[cn.ExactCounting | None],
    rates: Sequence[cn.StationaryRates | None],
    *,
    k_hist: int | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A text table, at most 80 columns: per count, trajectories vs exact.

    The table compares mean and Mandel Q at the last checkpoint (z-scores); below it, one
    line gives the chi-square p-value of each histogram against its exact distribution, one
    the long-time rates, and ``notes`` say what was not computed and why.

    Parameters
    ----------
    stats : sequence of CountStatistics
        One per count (trajectory estimates).
    moments : sequence of (ExactMoments or None)
        Matching exact moments (mean and Mandel Q columns, z-scores).
    exact : sequence of (ExactCounting or None)
        Matching exact distributions (chi-square p-value of the histogram at their last
        checkpoint).
    rates : sequence of (StationaryRates or None)
        Matching long-time rates (count per collision).
    k_hist : int, optional
        Checkpoint of the exact distributions, named in the p-value line.
    notes : sequence of str, optional
        Sentences printed at the end (wrapped at 80 columns).

    Returns
    -------
    str
        Lines of at most 80 characters ("-" where a value is not available).
    """
    k_last = int(stats[0].k[-1]) if stats else 0
    rows = [
        f"counts after k = {k_last} collisions (the last checkpoint), trajectories against",
        "the exact moments; z = (trajectories - exact) / standard error",
        *_detection_lines(stats),
        f"{'count':<11}{'mean (traj)':>17}{'exact':>10}{'z':>7}"
        f"{'Mandel Q (traj)':>17}{'exact':>10}{'z':>7}",
    ]
    pvalues, long_rates = [], []
    for st, mo, ex, rt in zip(stats, moments, exact, rates, strict=True):
        i = st.k.size - 1
        m, me = st.mean.mean[i], st.mean.stderr[i]
        q, qe = st.mandel_q.mean[i], st.mandel_q.stderr[i]
        xm = mo.mean[-1] if mo is not None else np.nan
        xq = mo.mandel_q[-1] if mo is not None else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            zm = (m - xm) / me if me > 0 else np.nan
            zq = (q - xq) / qe if qe > 0 else np.nan
        rows.append(
            f"{st.count:<11}{f'{m:.6g} ± {me:.2g}':>17}{_num(xm, '.6g'):>10}{_num(zm, '.2f'):>7}"
            f"{f'{q:.4g} ± {qe:.2g}':>17}{_num(xq, '.4g'):>10}{_num(zq, '.2f'):>7}"
        )
        if ex is not None:
            kk = int(ex.k[-1])
            j = st.index(kk)
            v, p = ex.at(kk)
            x, mult = st.histogram_at(int(st.k[j]))
            pv = cn.chi_square(x, v, p, multiplicity=mult).pvalue
            pvalues.append(f"{st.count} {pv:.3g}")
        if rt is not None:
            long_rates.append(f"{st.count} {rt.rate:.6g}")
    blocks = []
    if pvalues:
        where = "" if k_hist is None else f" at k = {k_hist}"
        blocks.append((f"histograms{where} against the exact distributions, chi-square "
                       "p-values:", ", ".join(pvalues)))  # fmt: skip
    if long_rates:
        blocks.append(("long-time rates per collision (leading eigenvalue of the tilted "
                       "channel):", ", ".join(long_rates)))  # fmt: skip
    blocks.extend((note, "") for note in notes)
    for head, items in blocks:
        rows.extend(textwrap.wrap(head, 80, subsequent_indent="  ", break_on_hyphens=False))
        rows.extend(textwrap.wrap(items, 80, initial_indent="  ", subsequent_indent="  "))
    return "\n".join(rows)


def _detection_lines(stats: Sequence[cn.CountStatistics]) -> list[str]:
    """Header lines (80 columns) saying how the counts were detected, if not perfectly."""
    imperfect = [st for st in stats if not st.detection.ideal]
    if not imperfect:
        return []
    qubits = [st for st in imperfect if st.count in QUBIT_COUNTS]
    st = qubits[0] if qubits else imperfect[0]
    text = (
        f"detected counts: efficiency eta = {st.efficiency:g} for every count"
        + (
            f", misread eps_e = {st.misread[0]:g}, eps_g = {st.misread[1]:g} for the qubits"
            if st.detection.has_misread
            else ""
        )
        + f"; trajectories' counts thinned with seed {st.detection_seed}; exact values"
        " and Mandel Q are those of the detected counts"
    )
    return textwrap.wrap(text, 80, break_on_hyphens=False)


def _seconds(x: float) -> str:
    return f"{x:.0f} s" if x >= 10 else f"{x:.1f} s"


def _num(x: float, spec: str) -> str:
    return "-" if not np.isfinite(x) else format(x, spec)


def _rates_note(model: Micromaser) -> str | None:
    """Why the long-time rates are not computed for ``model``, or None when they are."""
    pops = keeps_diagonal(model)
    limit = cn.POPULATION_CUTOFF_LIMIT if pops else cn.DENSE_CUTOFF_LIMIT
    if model.cutoff <= limit:
        return None
    size = "N x N" if pops else "N^2 x N^2"
    return (
        f"long-time rates (leading eigenvalue of the tilted channel) not computed: they need "
        f"dense {size} matrices, done up to N = {limit}, and this run has N = {model.cutoff}; "
        f"the slope of the exact mean at late collisions estimates them."
    )


def _stationary(
    model: Micromaser, count: str, detection: dict[str, Any] | None = None
) -> cn.StationaryRates | None:
    limit = cn.POPULATION_CUTOFF_LIMIT if keeps_diagonal(model) else cn.DENSE_CUTOFF_LIMIT
    if model.cutoff > limit:
        return None
    try:
        return cn.stationary_rates(model, count, **(detection or {}))
    except (ValueError, np.linalg.LinAlgError) as err:  # pragma: no cover - reported only
        log.info("stationary rates of %s not available: %s", count, err)
        return None


def _mirror(ex: cn.ExactCounting, count: str) -> cn.ExactCounting:
    """The distribution of ``k - J`` from that of ``J`` (qubits in e from qubits in g)."""
    import dataclasses

    k = ex.k[:, None]
    values = np.arange(0, int(ex.k.max()) + 1)
    probs = np.zeros((ex.k.size, values.size))
    for c in range(ex.k.size):
        keep = (ex.values >= 0) & (ex.values <= ex.k[c])
        probs[c, ex.k[c] - ex.values[keep]] = ex.probabilities[c, keep]
    mean = ex.k - ex.mean
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(mean != 0, ex.variance / mean - 1.0, np.nan)
    return dataclasses.replace(
        ex,
        count=count,
        values=values,
        probabilities=probs,
        mean=mean,
        mandel_q=q,
        window=(k - ex.window)[:, ::-1],
    )


def make_figures(
    ens: EnsembleResult,
    folder: str | os.PathLike,
    stem: str,
    formats: Sequence[str] = ("png",),
    *,
    counts: Sequence[str] | None = None,
    exact: bool | str = "auto",
    k: int | None = None,
    budget_seconds: float = 60.0,
    progress: ProgressArg = None,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
    seed: int | None = None,
) -> tuple[list[Path], str]:
    """Compute the counting statistics of ``ens`` and write the figures.

    Parameters
    ----------
    ens : EnsembleResult
        Trajectories started from the vacuum (the exact side assumes it).
    folder : str or path-like
        Folder of the figures (created when missing).
    stem : str
        File stem: files ``folder/stem-counts-{hist,mandel,waiting,energy}.{format}``.
    formats : sequence of str, optional
        File formats (suffixes), default ``("png",)``.
    counts : sequence of str, optional
        Default :func:`default_counts`.
    exact : True, False or "auto"
        Exact distributions for the histograms: always, never, or (auto) at the latest
        checkpoint whose estimated total cost (:func:`exact_cost_seconds`, summed over the
        counts; "e" is the mirror image of "g") fits ``budget_seconds``. Exact moments
        (Mandel Q line; about three exact-solver runs per count) are always computed.
    k : int, optional
        Checkpoint of the histograms (default: last, or the one "auto" picks).
    budget_seconds : float, optional
        Time budget of the exact distributions with ``exact="auto"`` (default 60 s).
    progress : None, bool or callable, optional
        One progress report over the exact moments and distributions
        (:mod:`trajectories.progress`): ``None`` (default) a bar when a person watches,
        ``True`` always, ``False`` never, or a hook ``progress(done, total)`` in units of
        grid-point collisions.
    efficiency : float, optional
        Detection efficiency in ``[0, 1]`` of every count (default 1): the trajectories'
        counts are thinned (:func:`trajectories.counting.from_ensemble`) and the exact side
        is that of the detected counts.
    misread : tuple of two floats, optional
        ``(eps_e, eps_g)`` misread probabilities of the qubit counts (default ``(0, 0)``);
        the bath counts get the efficiency only.
    seed : int, optional
        Seed of the thinning draws; default the ensemble's seed.

    Returns
    -------
    (list of pathlib.Path, str)
        The files written (four figures per format, each drawn once) and the text of
        :func:`summary_table`, with notes on what was not computed and why.
    """
    model = ens.model
    counts = tuple(counts) if counts is not None else default_counts(model)
    ks = np.asarray(ens.k)
    last = int(ks[-1])
    ideal = Detection(efficiency, misread).ideal

    def detection(c: str) -> dict[str, Any]:
        """The detection keywords of count ``c`` (misreads apply to qubits only)."""
        if ideal:
            return {}
        return {"efficiency": efficiency,
                "misread": misread if c in QUBIT_COUNTS else (0.0, 0.0)}  # fmt: skip

    stats = [
        cn.from_ensemble(ens, c, **detection(c), **({} if ideal else {"seed": seed}))
        for c in counts
    ]
    # "e" = k - "g" for every history that did not leak: one DFT serves both (not for
    # detected counts: an undetected qubit is in neither)
    mirror = {"e": "g"} if "g" in counts and "e" in counts and ideal else {}
    solved = [j for j, c in enumerate(counts) if c not in mirror]

    def work(kk: int, variances: Sequence[float]) -> float:
        """Grid-point collisions of the exact distributions up to ``kk`` (cost model)."""
        return sum(kk * (17.0 * math.sqrt(max(v, 0.0)) + 10.0) / 2.0 + 29.0 * kk
                   for v in variances)  # fmt: skip

    def pick(cost: Any) -> int:
        if k is not None:
            return int(ks[np.argmin(np.abs(ks - k))])
        if exact == "auto":
            fits = [int(c) for c in ks if cost(int(c)) <= budget_seconds]
            return max(fits) if fits else last
        return last

    # the work ahead, estimated from the trajectories until the exact moments are known
    moment_work = float(_MOMENT_POINTS * last)

    def traj_cost(kk: int) -> float:
        var = [_traj_variance(stats[j], kk) for j in solved]
        return sum(exact_cost_seconds(model, kk, v) for v in var)

    k_guess = pick(traj_cost)
    guess = work(k_guess, [_traj_variance(stats[j], k_guess) for j in solved]) if exact else 0.0
    notes: list[str] = []
    with Progress(progress, int(len(counts) * moment_work + guess),
                  desc="counting statistics", unit=None) as report:  # fmt: skip
        moments = []
        for i, c in enumerate(counts):
            moments.append(cn.exact_moments(
                model, last, c, checkpoints=range(last + 1),
                progress=report.stage(i * moment_work, moment_work), **detection(c),
            ))  # fmt: skip
        rates = [_stationary(model, c, detection(c)) for c in counts]

        def cost(kk: int) -> float:
            return sum(exact_cost_seconds(model, kk, moments[j].variance[kk]) for j in solved)

        k_hist = pick(cost)
        exacts: list[cn.ExactCounting | None] = [None] * len(counts)
        if not exact:
            notes.append("exact distributions not requested: histograms without them.")
        elif exact is True or cost(k_hist) <= budget_seconds:
            start = len(counts) * moment_work
            sizes = [work(k_hist, [moments[j].variance[k_hist]]) for j in solved]
            report(int(start), int(start + sum(sizes)))
            done: dict[str, cn.ExactCounting] = {}
            for j, size in zip(solved, sizes, strict=True):
                log.debug("exact distribution of %s up to k = %d", counts[j], k_hist)
                done[counts[j]] = cn.exact_distribution(
                    model, k_hist, counts[j], checkpoints=[k_hist],
                    progress=report.stage(start, size), **detection(counts[j]),
                )  # fmt: skip
                start += size
            for c, source in mirror.items():
                done[c] = _mirror(done[source], c)
            exacts = [done[c] for c in counts]
            if k_hist < last and k is None:
                notes.append(
                    f"histograms compared at k = {k_hist}, the latest checkpoint whose exact "
                    f"distributions fit the time budget of {budget_seconds:g} s (at k = "
                    f"{last}: about {_seconds(cost(last))})."
                )
        else:
            notes.append(
                f"exact distributions not computed: about {_seconds(cost(k_hist))} at "
                f"k = {k_hist}, over the time budget of {budget_seconds:g} s."
            )
            log.info("exact distributions skipped: over the budget of %g s", budget_seconds)
        report(report.total)
    if all(r is None for r in rates):
        notes.append(_rates_note(model) or "long-time rates not available (see the log).")
    folder = Path(folder)
    written = []
    figs = {
        "hist": lambda: histogram_figure(stats, exacts, k=k_hist),
        "mandel": lambda: mandel_q_figure(stats, moments, rates=rates),
        "waiting": lambda: waiting_time_figure(ens),
        "energy": lambda: energy_figure(ens),
    }
    for name, make in figs.items():
        fig = make()
        for fmt in formats:
            path = folder / f"{stem}-counts-{name}.{fmt}"
            _save(fig, path)
            written.append(path)
        plt.close(fig)
    table = summary_table(stats, moments, exacts, rates, k_hist=k_hist, notes=notes)
    return written, table


#: Cost of one collision of the exact moments, in grid-point collisions (measured, N = 60).
_MOMENT_POINTS = 4


def _traj_variance(st: cn.CountStatistics, k: int) -> float:
    """The trajectories' variance of a count at checkpoint ``k`` (for the work estimate)."""
    i = st.index(k)
    mean, q = st.mean.mean[i], st.mandel_q.mean[i]
    value = (q + 1.0) * mean
    return float(value) if np.isfinite(value) and value > 0 else 0.0
