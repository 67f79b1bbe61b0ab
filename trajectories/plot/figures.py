r"""Figures of exact and trajectory results (matplotlib).

- :func:`observables`: energy, purity, Fano factor and ergotropy against the number
  of collisions ``k``, for an :class:`~trajectories.solvers.exact.ExactResult` (black lines)
  or an :class:`~trajectories.solvers.montecarlo.result.EnsembleResult` (blue points with a
  shaded error band),
  optionally with the exact solution overlaid;
- :func:`photon_distribution`: :math:`P(n)` at one checkpoint;
- :func:`count_histograms`: the measurable counting records across trajectories;
- :func:`energy_per_trajectory`: the spread of :math:`\langle n\rangle_i` (unravelling-dependent).

Every function saves to ``path`` when given (PNG, PDF or SVG by its suffix, parent folders
created, nothing clipped: :func:`~trajectories.plot.style.save`) and returns the
matplotlib ``Figure``; the caller closes it (:func:`trajectories.plot.close`).
Energies are in units of :math:`\hbar\omega`. The styles never mix: the exact solution is
black (a line, or an outline for distributions), trajectory estimates are coloured with
error bars or bands of their own colour. Legends sit outside the axes; the collision axis
is logarithmic (symmetric-log, so ``k = 0`` shows) when the transient is short against the
range; panels a result cannot fill are left out and a note at the foot says what was not
recorded. The backend is never changed here: matplotlib picks a non-interactive one itself
when there is no display.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from . import style
from .books import mark_stages, protocol_of, protocol_title
from .network import is_network, network_observables
from .style import EXACT_COLOR, TRAJ_ERROR_COLOR

__all__ = ["observables", "photon_distribution", "count_histograms", "energy_per_trajectory"]

PathLike = str | os.PathLike

_PANELS = (
    ("energy", r"energy $\langle n\rangle$ [$\hbar\omega$]"),
    ("purity", r"purity Tr$\rho^2$"),
    ("fano", r"Fano factor Var$(n)/\langle n\rangle$"),
    ("ergotropy", r"ergotropy [$\hbar\omega$]"),
)
#: above this many checkpoints, trajectory means are a thin line instead of markers
_MAX_MARKERS = 150


def _is_ensemble(result: Any) -> bool:
    """True for an ensemble result (observables are ``Estimate`` objects with errors)."""
    return hasattr(result, "per_trajectory")


def _has_data(values: Any) -> bool:
    return bool(np.any(np.isfinite(np.asarray(values, dtype=np.float64))))


def _grid_columns(n: int) -> int:
    """Columns of a figure of ``n`` panels: 2 x 2 for four, one row otherwise."""
    return 2 if n in (2, 4) else min(n, 3)


# ------------------------------------------------------------------ observables
def observables(
    result: Any,
    path: PathLike | None = None,
    *,
    exact: Any = None,
    title: str | None = None,
    sigma: float = 1.0,
    kscale: str = "auto",
) -> Figure:
    """Plot energy, purity, Fano factor and ergotropy against the number of collisions.

    Parameters
    ----------
    result : ExactResult or EnsembleResult
        An exact result (arrays of shape ``(n_k,)``, drawn as black lines) or an ensemble
        result (an ``Estimate`` per checkpoint, drawn as blue points with a band
        ``mean +/- sigma * stderr``). NaN entries (e.g. purity and ergotropy where rho
        was not kept) are skipped; an observable with no finite value (in ``result`` and
        in ``exact``) gets no panel, and a note at the foot of the figure says it was not
        recorded.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix); parent folders are created.
    exact : ExactResult, optional
        Exact solution overlaid as a black line labelled "exact".
    title : str, optional
        Figure title; default: the model parameters (:func:`~trajectories.plot.style.model_title`).
    sigma : float, optional
        Half-width of the error band in standard errors (default 1).
    kscale : {"auto", "linear", "symlog", "log"}, optional
        Scale of the collision axis. ``"auto"`` (default): symmetric-log (linear on
        [0, 1], logarithmic above) when the transient is short against the range of ``k``
        (:func:`~trajectories.plot.style.collision_scale`, decided on the exact solution
        when given), linear otherwise; linear for a protocol, whose stage boundaries are
        marked by dashed lines with the stages' names.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per recorded observable (2 x 2 when all four are), energy and ergotropy
        in units of hbar*omega, a shared collision axis, the legend below the panels. A
        network's result is drawn by :func:`~trajectories.plot.network.network_observables`.
    """
    if is_network(result):
        return network_observables(result, path, exact=exact, title=title, sigma=sigma,
                                   kscale=kscale)  # fmt: skip
    ensemble = _is_ensemble(result)
    shown, missing = [], []
    for name, label in _PANELS:
        values = getattr(result, name)
        main = _has_data(values.mean if ensemble else values)
        other = exact is not None and _has_data(getattr(exact, name))
        if main or other:
            shown.append((name, label))
        if not main:
            missing.append(name)
    ncols = _grid_columns(len(shown))
    fig, holder, axes = style.panels(len(shown), ncols=ncols, sharex=True,
                                     notes=_missing_note(result, missing, exact))  # fmt: skip
    series = []
    for ax, (name, label) in zip(axes, shown, strict=True):
        if ensemble:
            est = getattr(result, name)
            ok = np.isfinite(est.mean)
            k, mean, err = result.k[ok], est.mean[ok], est.stderr[ok]
            traj = f"trajectories (M = {result.n_trajectories})"
            band = rf"$\pm{sigma:g}$ s.e."
            if k.size == 0:  # not recorded (the note says so); the exact line is drawn
                pass
            elif k.size <= _MAX_MARKERS:  # points with error bars: nothing drawn between them
                ax.errorbar(k, mean, yerr=sigma * err, fmt="o", color="C0", ms=3, lw=0.8,
                            ecolor=TRAJ_ERROR_COLOR, capsize=0, zorder=2,
                            label=f"{traj}, {band}")  # fmt: skip
            else:  # dense checkpoints: a thin line in a band
                ax.plot(k, mean, "-", color="C0", lw=0.8, zorder=2, label=traj)
                ax.fill_between(k, mean - sigma * err, mean + sigma * err, color="C0",
                                alpha=0.3, lw=0, label=band)  # fmt: skip
            if exact is None:
                series.append((k, mean, err))
        else:
            y = getattr(result, name)
            ax.plot(result.k, y, "-", color=EXACT_COLOR, lw=1.4, label="exact")
            series.append((result.k, y))
        if exact is not None:
            y = getattr(exact, name)
            ax.plot(exact.k, y, "-", color=EXACT_COLOR, lw=1.0, zorder=3, label="exact")
            series.append((exact.k, y))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    protocol = protocol_of(result, exact)
    if kscale == "auto":  # a protocol's stages are read on a linear axis
        scale = "linear" if protocol is not None else style.collision_scale(series)
    else:
        scale = kscale
    nrows = -(-len(shown) // ncols)
    for j, ax in enumerate(axes):
        style.set_collision_axis(ax, scale)
        mark_stages(ax, protocol, names=j < ncols)
        if j >= (nrows - 1) * ncols or j + ncols >= len(axes):
            ax.set_xlabel(style.collision_label(scale))
        else:
            ax.tick_params(labelbottom=False)
    style.legend_outside(holder, axes, loc="outside lower center")
    if title is None:
        title = (
            protocol_title(protocol) if protocol is not None else style.model_title(result.model)
        )
    fig.suptitle(title)
    return style.save(fig, path)


def _missing_note(result: Any, missing: list[str], exact: Any) -> list[str]:
    """What the result did not record, and why, for the foot of :func:`observables`."""
    if not missing:
        return []
    names = " and ".join(missing)
    why = ""
    if _is_ensemble(result) and set(missing) <= {"purity", "ergotropy"}:
        why = (
            " (they need the averaged state rho, which this ensemble kept at no checkpoint: "
            "rho_checkpoints='none')"
            if result.rho_index.size == 0
            else " (rho was not kept)"
        )
    who = "the trajectories" if _is_ensemble(result) else "this result"
    then = "; shown for the exact solution only" if exact is not None else ", so no panel is drawn"
    return [f"Not recorded by {who}: {names}{why}{then}."]


# ------------------------------------------------------------------ photon distribution
def photon_distribution(
    result: Any,
    path: PathLike | None = None,
    *,
    k: int | None = None,
    exact: Any = None,
) -> Figure:
    r"""Bar chart of the photon distribution :math:`P(n) = \rho_{nn}` at checkpoint ``k``.

    Parameters
    ----------
    result : ExactResult or EnsembleResult
        Exact: ``result.populations[i]``, shape ``(N,)``, at the checkpoint ``i`` nearest
        to ``k``, drawn as grey bars with black edges. Ensemble: ``result.populations[j]``
        at the *kept* rho checkpoint ``result.k[result.rho_index[j]]`` nearest to ``k``
        (named in the title), drawn as blue bars with dark-blue error bars
        ``sqrt(h (1 - h) / M)``, the binomial standard error of the histogram ``h`` of the
        per-trajectory Fock samples at that checkpoint. An ensemble that kept rho at no
        checkpoint is drawn from those Fock samples themselves (``h``, at the checkpoint
        nearest ``k``), and the figure says so.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (last kept one for ensembles).
    exact : ExactResult, optional
        Exact distribution overlaid as a black outline (one step per photon number); must
        have the chosen ``k`` as a checkpoint.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, ``n`` from 0 to two levels above the last with weight > 1e-4; the
        legend to the right of it.

    Raises
    ------
    ValueError
        When ``exact`` has no checkpoint at the chosen ``k``.
    """
    notes = []
    if _is_ensemble(result):
        m = result.n_trajectories
        if result.rho_index.size:
            j = style.nearest(result.k[result.rho_index], k)
            i = int(result.rho_index[j])
            p = result.populations[j]
            h = _fock_counts(result, i, p.size) / m
            label = f"trajectories (M = {m})"
        else:
            i = style.nearest(result.k, k)
            counts = _fock_counts(result, i, result.model.cutoff)
            alive = int(counts.sum())
            h = counts / max(alive, 1)
            p, m = h, alive
            label = f"trajectories (M = {m}), one Fock sample each"
            notes.append(
                "This ensemble kept rho at no checkpoint (rho_checkpoints='none'): P(n) is the "
                "histogram of one photon number sampled from each trajectory's state."
            )
        err = np.sqrt(h * (1.0 - h) / max(m, 1))
    else:
        i = style.nearest(result.k, k)
        p, err, label = result.populations[i], None, "exact"
    k_chosen = int(result.k[i])
    p_exact = None
    if exact is not None:
        hit = np.flatnonzero(exact.k == k_chosen)
        if hit.size == 0:
            raise ValueError(f"exact has no checkpoint at k = {k_chosen}")
        p_exact = exact.populations[int(hit[0])]

    # show n up to the last level with visible weight
    shown = [p] if p_exact is None else [p, p_exact]
    n_max = max(int(np.flatnonzero(q > 1e-4).max(initial=0)) for q in shown) + 2
    n = np.arange(min(n_max, p.size))
    fig, holder, (ax,) = style.panels(1, ncols=1, panel=(6.0, 3.2), extra=(2.2, 0.8), notes=notes)
    if err is None:
        ax.bar(n, p[n], width=0.8, color="0.85", edgecolor=EXACT_COLOR, lw=0.8, label=label)
    else:
        ax.bar(n, p[n], width=0.8, color="C0", alpha=0.7, label=label, yerr=err[n],
               error_kw=dict(ecolor=TRAJ_ERROR_COLOR, capsize=2, lw=1))  # fmt: skip
    if p_exact is not None:
        edges = np.append(n - 0.5, n[-1] + 0.5)
        ax.stairs(p_exact[n], edges, color=EXACT_COLOR, lw=1.3, label="exact")
    ax.set_xlabel("photon number n")
    ax.set_ylabel("P(n)")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3, axis="y")
    if err is not None or p_exact is not None:
        style.legend_outside(holder, [ax], loc="outside right upper", ncols=1)
    ax.set_title(
        f"{style.model_title(result.model)}\nphoton distribution at {style.k_label(k_chosen, k)}",
        fontsize="medium",
    )
    return style.save(fig, path)


def _fock_counts(ens: Any, i: int, size: int) -> np.ndarray:
    """Trajectories (not leaked) whose Fock sample at checkpoint ``i`` is 0 .. size-1."""
    values, mult = _count_values(ens, "fock", i)
    out = np.zeros(size)
    keep = values < size
    out[values[keep]] = mult[keep]
    return out


def _count_values(ens: Any, name: str, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A count's values at checkpoint ``i`` and their multiplicities, from the run's
    histograms when it has them, else from its records (old results)."""
    hist = getattr(ens, "count_histograms", None)
    if hist is not None:
        return hist.at(name, i)
    per = ens.per_trajectory
    x = {
        "g": lambda: per.qubit_g[:, i, :].sum(axis=1),
        "e": lambda: per.qubit_e[:, i, :].sum(axis=1),
        "emission": lambda: per.emissions[:, i],
        "absorption": lambda: per.absorptions[:, i],
        "fock": lambda: per.fock[:, i],
    }[name]()
    x = np.asarray(x, dtype=np.int64)[per.fock[:, i] >= 0]
    values, mult = np.unique(x, return_counts=True)
    return values.astype(np.int64), mult.astype(np.int64)


# ------------------------------------------------------------------ counting records
def count_histograms(ens: Any, path: PathLike | None = None, *, k: int | None = None) -> Figure:
    """Histograms across trajectories of the counting records at checkpoint ``k``.

    Panels: qubits that left in g and in e (summed over the incoming branches of
    ``per_trajectory.qubit_g/qubit_e[:, i, :]``), photons emitted into and absorbed
    from the bath; all cumulative from collision 0, one integer per trajectory. The bins
    are chosen from the data (:func:`~trajectories.plot.style.integer_bins`): one per
    integer when the range is small, integer-aligned Freedman-Diaconis bins otherwise.
    These are measurable records. Bath panels are left out when the model has no bath
    exchange (``gamma_tr = 0``; absorptions also when ``nbar = 0``), and a note says so.

    Parameters
    ----------
    ens : EnsembleResult
        The trajectories; ``per_trajectory`` arrays of shape ``(M, n_k[, B])``.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (nearest checkpoint otherwise).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per record, the number of trajectories per bin against the count.
    """
    i = style.nearest(ens.k, k)
    model = ens.model
    records = [
        ("qubits leaving in g", _count_values(ens, "g", i)),
        ("qubits leaving in e", _count_values(ens, "e", i)),
    ]
    notes = []
    if model.gamma_tr > 0.0:
        records.append(("emissions into the bath", _count_values(ens, "emission", i)))
        if model.nbar > 0.0:
            records.append(("absorptions from the bath", _count_values(ens, "absorption", i)))
        else:
            notes.append("No absorptions from the bath: nbar = 0 (no panel).")
    else:
        notes.append("No bath counts (emissions, absorptions): gamma_tr = 0 (no panels).")
    fig, _, axes = style.panels(len(records), ncols=_grid_columns(len(records)), notes=notes)
    for ax, (name, (values, mult)) in zip(axes, records, strict=True):
        edges = style.integer_bins(values, weights=mult)
        width = int(round(edges[1] - edges[0]))
        ax.hist(values, bins=edges, weights=mult, color="C0", alpha=0.8, edgecolor="white",
                lw=0.5)  # fmt: skip
        ax.set_xlabel(f"{name} (count" + (f"; bins of {width})" if width > 1 else ")"))
        ax.set_ylabel("trajectories per bin")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(
        f"{style.model_title(model)}\ncounting records at {style.k_label(int(ens.k[i]), k)}, "
        f"M = {ens.n_trajectories}: measurable (cumulative counts per trajectory)",
        fontsize="medium",
    )
    return style.save(fig, path)


def energy_per_trajectory(
    ens: Any, path: PathLike | None = None, *, k: int | None = None
) -> Figure:
    r"""Histogram of the conditional energies :math:`\langle n\rangle_i` at checkpoint ``k``.

    ``per_trajectory.n_mean[:, i]`` in units of hbar*omega, for the trajectories not
    leaked at ``k``, in Freedman-Diaconis bins. Only the average of these is physical:
    each :math:`\langle n\rangle_i` depends on the chosen unravelling and is not a
    measurable quantity (the figure says so in a note at its foot).

    Parameters
    ----------
    ens : EnsembleResult
        The trajectories; ``per_trajectory.n_mean`` and ``fock`` of shape ``(M, n_k)``.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (nearest checkpoint otherwise).

    Returns
    -------
    matplotlib.figure.Figure
        One panel (trajectories per bin against hbar*omega) with the ensemble mean as a
        vertical line; a figure with only a note when every trajectory leaked.
    """
    i = style.nearest(ens.k, k)
    if hasattr(ens, "records"):
        per = ens.records(int(ens.k[i]), "the energy-per-trajectory figure")
        col = ens.record_column(int(ens.k[i]))
    else:
        per, col = ens.per_trajectory, i
    alive = per.fock[:, col] >= 0
    values = per.n_mean[alive, col]
    leaked = int(np.count_nonzero(~alive))
    head = (
        f"{style.model_title(ens.model)}\nenergy per trajectory at "
        f"{style.k_label(int(ens.k[i]), k)}"
    )
    if values.size == 0:
        return style.save(
            style.text_figure(head, [f"All {leaked} trajectories leaked by this checkpoint: "
                                     "no conditional energy to show."]), path)  # fmt: skip
    note = (
        r"Note: $\langle n\rangle_i$ depends on the unravelling and is not a measurable "
        "quantity; only its average over trajectories is."
    )
    fig, holder, (ax,) = style.panels(1, ncols=1, panel=(6.0, 3.2), extra=(1.0, 1.2),
                                      notes=[note], italic=True)  # fmt: skip
    ax.hist(values, bins=style.continuous_bins(values), color="C0", alpha=0.8,
            edgecolor="white", lw=0.5)  # fmt: skip
    mean = float(ens.energy.mean[i])
    ax.axvline(mean, color="C3", lw=1.5,
               label=rf"ensemble mean {mean:.4g} $\hbar\omega$ (physical)")  # fmt: skip
    ax.set_xlabel(r"$\langle n\rangle_i$ [$\hbar\omega$]")
    ax.set_ylabel("trajectories per bin")
    ax.grid(alpha=0.3, axis="y")
    style.legend_outside(holder, [ax], loc="outside lower center", ncols=1)
    ax.set_title(
        f"{head}, M = {values.size}" + (f" ({leaked} leaked, not shown)" if leaked else ""),
        fontsize="medium",
    )
    return style.save(fig, path)
