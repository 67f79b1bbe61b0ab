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
- ``energy``: the per-trajectory <n>_i, labelled as unravelling-dependent (not measurable).

Exact distributions cost about ``2e-9 N^3 k (S/2 + 25)`` seconds for coherent qubits (``S``
about 17 standard deviations of the count); with ``exact="auto"`` the histograms are shown
at the latest checkpoint whose exact distribution fits ``budget_seconds``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..channels.collisions import keeps_diagonal
from ..model.micromaser import Micromaser
from ..solvers.montecarlo.result import EnsembleResult
from ..statistics import counting as cn

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


def _title(model: Micromaser) -> str:
    c = complex(model.c)
    c_text = f"{c.real:g}" if c.imag == 0 else f"{c:g}"
    return (
        rf"$\theta$={model.theta:.6g}, q={model.q:g}, c={c_text}, "
        rf"$\gamma t_r$={model.gamma_tr:g}, $\bar n$={model.nbar:g}, N={model.cutoff}"
    )


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


def default_counts(model: Micromaser) -> tuple[str, ...]:
    """The counts worth showing: qubit counts always, bath counts only with loss."""
    if model.gamma_tr == 0.0:
        return ("g", "e")
    return cn.COUNTS


def exact_cost_seconds(model: Micromaser, k: int, variance: float) -> float:
    """Rough time of :func:`~trajectories.counting.exact_distribution` up to collision ``k``.

    ``variance`` is the exact variance of the count at ``k`` (from ``exact_moments``); the
    grid holds about ``17 sqrt(variance) + 10`` points, half of them propagated, plus ~25
    Chernoff points. Populations-sector runs (incoherent qubits) cost ``N^2`` per point.
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

    One panel per :class:`~trajectories.counting.CountStatistics` in ``stats``: bars are the
    fraction of trajectories with each count (binomial error bars), black markers the exact
    ``P(count = j)`` at the same ``k`` when the matching ``exact`` entry has that checkpoint,
    with the chi-square p-value (bins merged to >= 5 expected). Counts are dimensionless.
    """
    n = len(stats)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), constrained_layout=True, squeeze=False
    )
    exact = list(exact) if exact is not None else [None] * n
    k_shown = None
    for ax, st, ex in zip(axes.flat, stats, exact, strict=False):
        i = st.index(k)
        k_shown = int(st.k[i])
        values, f, err = cn.histogram(st, k_shown)
        ax.bar(
            values,
            f,
            width=0.85,
            alpha=0.6,
            yerr=err,
            capsize=1.5,
            ecolor="0.4",
            label=f"trajectories (M = {int(st.n_used[i])})",
        )
        text = ""
        if ex is not None and np.any(ex.k == k_shown):
            v, p = ex.at(k_shown)
            show = p > 1e-4 * p.max()
            ax.plot(v[show], p[show], "ko", ms=2.5, label="exact")
            chi = cn.chi_square(st.counts[st.valid[:, i], i], v, p)
            text = f"\nchi2 p = {chi.pvalue:.2g} ({chi.dof} dof)"
        ax.set_xlabel(f"{LABELS[st.count]} (count)")
        ax.set_ylabel("probability")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(
            fontsize="x-small", title=f"mean {st.mean.mean[i]:.4g}{text}", title_fontsize="x-small"
        )
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    model = stats[0].model
    fig.suptitle(
        (_title(model) + "\n" if model is not None else "")
        + f"counting records at k = {k_shown}: measurable, cumulative from collision 0"
    )
    return _save(fig, path)


def mandel_q_figure(
    stats: Sequence[cn.CountStatistics],
    moments: Sequence[cn.ExactMoments | None] | None = None,
    path: str | os.PathLike | None = None,
    *,
    rates: Sequence[cn.StationaryRates | None] | None = None,
    max_points: int = 50,
) -> Figure:
    """Mandel Q = Var/mean - 1 of each count against the number of collisions k.

    Points with error bars (jackknife standard errors) from the trajectories, the exact
    line from ``moments`` and, dashed, the long-time value from the leading eigenvalue of the
    tilted channel (``rates``), when given; at most ``max_points`` trajectory points per count.
    Q < 0: sub-Poissonian counting. Counts whose mean is not positive (``"net"``) are skipped.
    """
    n = len(stats)
    moments = list(moments) if moments is not None else [None] * n
    rates = list(rates) if rates is not None else [None] * n
    fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    skipped = []
    for st, mo, rt in zip(stats, moments, rates, strict=True):
        if not st.mean.mean[-1] > 0:  # e.g. "net": Q of a count with mean <= 0 means little
            skipped.append(st.count)
            continue
        ok = np.flatnonzero(np.isfinite(st.mandel_q.mean))
        ok = ok[:: max(1, ok.size // max_points)]  # thin out for legibility
        eb = ax.errorbar(
            st.k[ok],
            st.mandel_q.mean[ok],
            yerr=st.mandel_q.stderr[ok],
            fmt="o",
            ms=3,
            capsize=1.5,
            alpha=0.8,
            label=f"{LABELS[st.count]} (trajectories)",
        )
        color = eb[0].get_color()
        if mo is not None:
            ax.plot(mo.k, mo.mandel_q, "-", color="k", lw=2.2, zorder=4)
            ax.plot(mo.k, mo.mandel_q, "-", color=color, lw=1.2, zorder=5)
        if rt is not None and np.isfinite(rt.mandel_q):
            ax.axhline(rt.mandel_q, color=color, ls="--", lw=0.8)
    if skipped:
        ax.text(
            0.01,
            0.01,
            f"not shown (mean <= 0): {', '.join(skipped)}",
            fontsize="x-small",
            transform=ax.transAxes,
        )
    ax.plot([], [], "k-", lw=1.2, label="exact")
    if any(r is not None and np.isfinite(r.mandel_q) for r in rates):
        ax.plot([], [], "k--", lw=0.8, label="long-time (leading eigenvalue)")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xlabel("collisions k")
    ax.set_ylabel("Mandel Q = Var/mean - 1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small")
    model = stats[0].model
    ax.set_title(_title(model) if model is not None else "Mandel Q", fontsize="small")
    return _save(fig, path)


def waiting_time_figure(ens: EnsembleResult, path: str | os.PathLike | None = None) -> Figure:
    """Waiting-time distributions: between emissions (t_r) and between qubits in g (collisions).

    Each panel shows the pooled histogram (probability density / probability) on a log scale
    with the uncorrelated reference of the same mean (exponential / geometric) dashed; a panel
    says why it is empty when the run lacks the records (no jump log: ``max_jumps = 0``;
    checkpoints not at every collision).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    ax = axes[0]
    w = _records_or_note(ax, lambda: cn.emission_waiting_times(ens))
    if w is not None and w.values.size:
        ax.hist(
            w.values,
            bins=60,
            density=True,
            alpha=0.7,
            label=f"{w.values.size} waits, {w.n_trajectories} trajectories",
        )
        t = np.linspace(0.0, float(w.values.max()), 200)
        ax.plot(t, np.exp(-t / w.mean) / w.mean, "k--", lw=1, label="exponential, same mean")
        ax.set_yscale("log")
        if w.n_excluded:
            ax.set_title(
                f"{w.n_excluded} trajectories excluded (jump log overflowed)", fontsize="small"
            )
        ax.legend(fontsize="x-small")
    ax.set_xlabel(r"time between emissions [$t_r$]")
    ax.set_ylabel("probability density")
    ax = axes[1]
    g = _records_or_note(ax, lambda: cn.g_waiting_times(ens))
    if g is not None and g.values.size:
        tau = np.arange(1, int(g.values.max()) + 1)
        f = np.bincount(g.values, minlength=tau.size + 1)[1:] / g.values.size
        ax.bar(tau, f, width=0.85, alpha=0.7, label=f"{g.values.size} waits")
        p = 1.0 / g.mean
        ax.plot(tau, p * (1.0 - p) ** (tau - 1), "k--", lw=1, label="geometric, same mean")
        ax.set_yscale("log")
        ax.legend(fontsize="x-small")
    ax.set_xlabel("collisions between qubits found in g")
    ax.set_ylabel("probability")
    for a in axes:
        a.grid(alpha=0.3)
    fig.suptitle(_title(ens.model) + "\nwaiting times within trajectories (measurable records)")
    return _save(fig, path)


def _records_or_note(ax: Any, get: Any) -> Any:
    """``get()``, or None with its ValueError written in the panel (the run lacks the records)."""
    try:
        return get()
    except ValueError as err:
        ax.text(0.5, 0.5, _wrap(str(err)), ha="center", va="center", fontsize="small",
                transform=ax.transAxes)  # fmt: skip
        return None


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def energy_figure(
    ens: EnsembleResult, path: str | os.PathLike | None = None, *, k: int | None = None
) -> Figure:
    """Histogram of the per-trajectory <n>_i (unravelling-dependent, not measurable)."""
    e = cn.energy_per_trajectory(ens, k)
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ax.hist(e.values, bins="auto", alpha=0.7)
    ax.axvline(e.mean, color="k", lw=1, label=rf"mean {e.mean:.4g} $\hbar\omega$ (physical)")
    ax.set_xlabel(r"$\langle n\rangle_i$ [$\hbar\omega$]")
    ax.set_ylabel("trajectories")
    ax.legend(fontsize="small")
    ax.set_title(f"{_title(ens.model)}\nper-trajectory energy at k = {e.k}", fontsize="small")
    fig.supxlabel(f"Note: {e.note}.", fontsize="small", style="italic")
    return _save(fig, path)


# --------------------------------------------------------------------- computing
def summary_table(
    stats: Sequence[cn.CountStatistics],
    moments: Sequence[cn.ExactMoments | None],
    exact: Sequence[cn.ExactCounting | None],
    rates: Sequence[cn.StationaryRates | None],
    *,
    k_hist: int | None = None,
) -> str:
    """A text table: per count, trajectories vs exact at the last checkpoint.

    The chi-square p-value (histogram against the exact distribution) is at ``k_hist``, the
    checkpoint of the exact distributions; the rate is the long-time count per collision.
    """
    chi_head = "chi2 p" if k_hist is None else f"p@k={k_hist}"
    rows = [
        f"{'count':<11}{'k':>6}{'mean (traj)':>22}{'exact':>12}{'z':>7}"
        f"{'Mandel Q (traj)':>22}{'exact':>10}{'z':>7}{chi_head:>12}{'rate/coll.':>12}"
    ]
    for st, mo, ex, rt in zip(stats, moments, exact, rates, strict=True):
        i = st.k.size - 1
        m, me = st.mean.mean[i], st.mean.stderr[i]
        q, qe = st.mandel_q.mean[i], st.mandel_q.stderr[i]
        xm = mo.mean[-1] if mo is not None else np.nan
        xq = mo.mandel_q[-1] if mo is not None else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            zm = (m - xm) / me if me > 0 else np.nan
            zq = (q - xq) / qe if qe > 0 else np.nan
        pv = "-"
        if ex is not None:
            kk = int(ex.k[-1])
            j = st.index(kk)
            v, p = ex.at(kk)
            pv = f"{cn.chi_square(st.counts[st.valid[:, j], j], v, p).pvalue:.3g}"
        rate = f"{rt.rate:.6g}" if rt is not None else "-"
        rows.append(
            f"{st.count:<11}{int(st.k[i]):>6}{f'{m:.6g} ± {me:.2g}':>22}{xm:>12.6g}{zm:>7.2f}"
            f"{f'{q:.4g} ± {qe:.2g}':>22}{xq:>10.4g}{zq:>7.2f}{pv:>12}{rate:>12}"
        )
    return "\n".join(rows)


def _stationary(model: Micromaser, count: str) -> cn.StationaryRates | None:
    limit = cn.POPULATION_CUTOFF_LIMIT if keeps_diagonal(model) else cn.DENSE_CUTOFF_LIMIT
    if model.cutoff > limit:
        return None
    try:
        return cn.stationary_rates(model, count)
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
) -> tuple[list[Path], str]:
    """Compute the counting statistics of ``ens`` and write the figures.

    Parameters
    ----------
    ens : EnsembleResult
        Trajectories started from the vacuum (the exact side assumes it).
    folder, stem, formats
        Files ``folder/stem-counts-{hist,mandel,waiting,energy}.{format}``.
    counts : sequence of str, optional
        Default :func:`default_counts`.
    exact : True, False or "auto"
        Exact distributions for the histograms: always, never, or (auto) at the latest
        checkpoint whose estimated total cost (:func:`exact_cost_seconds`, summed over the
        counts; "e" is the mirror image of "g") fits ``budget_seconds``. Exact moments
        (Mandel Q line; about three exact-solver runs per count) are always computed.
    k : int, optional
        Checkpoint of the histograms (default: last, or the one "auto" picks).

    Returns
    -------
    (paths written, summary table text)
    """
    model = ens.model
    counts = tuple(counts) if counts is not None else default_counts(model)
    ks = np.asarray(ens.k)
    last = int(ks[-1])
    stats = [cn.from_ensemble(ens, c) for c in counts]
    moments = [cn.exact_moments(model, last, c, checkpoints=range(last + 1)) for c in counts]
    rates = [_stationary(model, c) for c in counts]
    k_hist = last if k is None else int(ks[np.argmin(np.abs(ks - k))])
    exacts: list[cn.ExactCounting | None] = [None] * len(counts)
    # "e" = k - "g" for every history that did not leak: one DFT serves both
    mirror = {"e": "g"} if "g" in counts and "e" in counts else {}
    solved = [j for j, c in enumerate(counts) if c not in mirror]

    def cost(kk: int) -> float:
        return sum(exact_cost_seconds(model, kk, moments[j].variance[kk]) for j in solved)

    if exact:
        if exact == "auto" and k is None:
            fits = [int(c) for c in ks if cost(int(c)) <= budget_seconds]
            k_hist = max(fits) if fits else last
        if exact is True or cost(k_hist) <= budget_seconds:
            done: dict[str, cn.ExactCounting] = {}
            for j in solved:
                log.info("exact distribution of %s up to k = %d", counts[j], k_hist)
                done[counts[j]] = cn.exact_distribution(
                    model, k_hist, counts[j], checkpoints=[k_hist]
                )
            for c, source in mirror.items():
                done[c] = _mirror(done[source], c)
            exacts = [done[c] for c in counts]
        else:
            log.info("exact distributions skipped: over the budget of %g s", budget_seconds)
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
    table = summary_table(stats, moments, exacts, rates, k_hist=k_hist)
    return written, table
