r"""Figures of exact and trajectory results (matplotlib).

- :func:`observables`: energy, purity, Fano factor and ergotropy against the number
  of collisions ``k``, for an :class:`~trajectories.exact.ExactResult` (lines) or an
  :class:`~trajectories.ensemble.EnsembleResult` (points with a shaded error band),
  optionally with the exact solution overlaid.
- :func:`photon_distribution`: :math:`P(n)` at one checkpoint.
- :func:`count_histograms`: the measurable counting records across trajectories.
- :func:`energy_per_trajectory`: the spread of :math:`\langle n\rangle_i` (unravelling-dependent).

Every function saves to ``path`` when given (PNG or PDF by its suffix, parent folders
created) and returns the :class:`~matplotlib.figure.Figure`; the caller closes it.
Energies are in units of :math:`\hbar\omega`. Uses the non-interactive Agg backend
when no display is set, so plots work on clusters and in CI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["observables", "photon_distribution", "count_histograms", "energy_per_trajectory"]

PathLike = str | os.PathLike

_PANELS = (
    ("energy", r"energy $\langle n\rangle$ [$\hbar\omega$]"),
    ("purity", r"purity Tr$\rho^2$"),
    ("fano", r"Fano factor Var$(n)/\langle n\rangle$"),
    ("ergotropy", r"ergotropy [$\hbar\omega$]"),
)


# ------------------------------------------------------------------ helpers
def _is_ensemble(result: Any) -> bool:
    """True for an ensemble result (observables are ``Estimate`` objects with errors)."""
    return hasattr(result, "per_trajectory")


def _model_title(model: Any) -> str:
    c = complex(model.c)
    c_text = f"{c.real:g}" if c.imag == 0 else f"{c:g}"
    return (
        rf"$\theta$={model.theta:.6g}, q={model.q:g}, c={c_text}, "
        rf"$\gamma t_r$={model.gamma_tr:g}, $\bar n$={model.nbar:g}, N={model.cutoff}"
    )


def _nearest(ks: np.ndarray, k: int | None) -> int:
    """Index into ``ks`` of the checkpoint nearest to ``k`` (the last one when ``k`` is None)."""
    if ks.size == 0:
        raise ValueError("no checkpoints to choose from")
    if k is None:
        return ks.size - 1
    return int(np.argmin(np.abs(np.asarray(ks, dtype=np.int64) - int(k))))


def _k_label(chosen: int, requested: int | None) -> str:
    """``"k = 15"``, plus the requested value when the nearest checkpoint differs from it."""
    note = "" if requested is None or int(requested) == chosen else f" (nearest to k = {requested})"
    return f"k = {chosen}{note}"


def _integer_hist(ax: Axes, values: np.ndarray, **kwargs: Any) -> None:
    """Histogram of integer ``values`` with one bin per integer."""
    values = np.asarray(values)
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    ax.hist(values, bins=np.arange(lo - 0.5, hi + 1.5), **kwargs)


def _finish(fig: Figure, path: PathLike | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


# ------------------------------------------------------------------ figures
def observables(
    result: Any,
    path: PathLike | None = None,
    *,
    exact: Any = None,
    title: str | None = None,
    sigma: float = 1.0,
) -> Figure:
    """Plot energy, purity, Fano factor and ergotropy against the number of collisions.

    Parameters
    ----------
    result : ExactResult or EnsembleResult
        An exact result (arrays ``(n_k,)``, drawn as lines) or an ensemble result
        (``Estimate`` per checkpoint, drawn as points with a band
        ``mean +/- sigma * stderr``). NaN entries (e.g. purity and ergotropy where
        rho was not kept) are skipped.
    path : str or path-like, optional
        Where to save (PNG or PDF by the suffix); parent folders are created.
    exact : ExactResult, optional
        Exact solution overlaid as a line labelled "exact".
    title : str, optional
        Figure title; default: the model parameters.
    sigma : float
        Half-width of the error band in standard errors.

    Returns
    -------
    matplotlib.figure.Figure
        2x2 panels; energy and ergotropy in units of hbar*omega.
    """
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, constrained_layout=True)
    ensemble = _is_ensemble(result)
    for ax, (name, label) in zip(axes.flat, _PANELS, strict=True):
        if ensemble:
            est = getattr(result, name)
            ok = np.isfinite(est.mean)
            k, mean, err = result.k[ok], est.mean[ok], est.stderr[ok]
            (line,) = ax.plot(
                k, mean, "o-", ms=3, lw=1, label=f"trajectories (M = {result.n_trajectories})"
            )
            ax.fill_between(
                k,
                mean - sigma * err,
                mean + sigma * err,
                color=line.get_color(),
                alpha=0.25,
                lw=0,
                label=rf"$\pm{sigma:g}$ s.e.",
            )
        else:
            ax.plot(result.k, getattr(result, name), lw=1.5, label="exact")
        if exact is not None:
            ax.plot(exact.k, getattr(exact, name), "k-", lw=1, zorder=3, label="exact")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if ensemble or exact is not None:
        axes[0, 0].legend(fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("collisions k")
    fig.suptitle(_model_title(result.model) if title is None else title)
    return _finish(fig, path)


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
        Exact: ``result.populations[i]`` ``(N,)`` at the checkpoint ``i`` nearest to
        ``k``. Ensemble: ``result.populations[j]`` at the *kept* rho checkpoint
        ``result.k[result.rho_index[j]]`` nearest to ``k`` (named in the title), with
        error bars ``sqrt(h (1 - h) / M)``, the binomial standard error of the
        histogram ``h`` of the per-trajectory Fock samples at that checkpoint.
    path : str or path-like, optional
        Where to save (PNG or PDF by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (last kept one for ensembles).
    exact : ExactResult, optional
        Exact distribution overlaid as markers; must have the chosen ``k`` as a checkpoint.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if _is_ensemble(result):
        if result.rho_index.size == 0:
            raise ValueError("this ensemble kept rho at no checkpoint (rho_checkpoints='none')")
        j = _nearest(result.k[result.rho_index], k)
        i = int(result.rho_index[j])
        p = result.populations[j]
        m = result.n_trajectories
        fock = result.per_trajectory.fock[:, i]
        h = np.bincount(fock[fock >= 0], minlength=p.size)[: p.size] / m
        err = np.sqrt(h * (1.0 - h) / m)
        label = f"trajectories (M = {m})"
    else:
        i = _nearest(result.k, k)
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
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    ax.bar(
        n, p[n], width=0.8, alpha=0.7, label=label, yerr=None if err is None else err[n], capsize=2
    )
    if p_exact is not None:
        ax.plot(n, p_exact[n], "ko", ms=4, label="exact")
    ax.set_xlabel("photon number n")
    ax.set_ylabel("P(n)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
    ax.set_title(f"{_model_title(result.model)}\nphoton distribution at {_k_label(k_chosen, k)}")
    return _finish(fig, path)


def count_histograms(ens: Any, path: PathLike | None = None, *, k: int | None = None) -> Figure:
    """Histograms across trajectories of the counting records at checkpoint ``k``.

    Panels: qubits that left in g and in e (summed over the incoming branches of
    ``per_trajectory.qubit_g/qubit_e[:, i, :]``), photons emitted into and absorbed
    from the bath; all cumulative from collision 0, one integer per trajectory,
    one bin per integer. These are measurable records.

    Parameters
    ----------
    ens : EnsembleResult
    path : str or path-like, optional
        Where to save (PNG or PDF by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (nearest checkpoint otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    i = _nearest(ens.k, k)
    per = ens.per_trajectory
    records = (
        ("qubits leaving in g", per.qubit_g[:, i, :].sum(axis=1)),
        ("qubits leaving in e", per.qubit_e[:, i, :].sum(axis=1)),
        ("emissions into the bath", per.emissions[:, i]),
        ("absorptions from the bath", per.absorptions[:, i]),
    )
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), constrained_layout=True)
    for ax, (name, values) in zip(axes.flat, records, strict=True):
        _integer_hist(ax, values, alpha=0.8, rwidth=0.85)
        ax.set_xlabel(f"{name} (count)")
        ax.set_ylabel("trajectories")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(
        f"{_model_title(ens.model)}\ncounting records at {_k_label(int(ens.k[i]), k)}, "
        f"M = {ens.n_trajectories}: measurable (cumulative counts per trajectory)"
    )
    return _finish(fig, path)


def energy_per_trajectory(
    ens: Any, path: PathLike | None = None, *, k: int | None = None
) -> Figure:
    r"""Histogram of the conditional energies :math:`\langle n\rangle_i` at checkpoint ``k``.

    ``per_trajectory.n_mean[:, i]`` in units of hbar*omega, for the trajectories not
    leaked at ``k``. Only the average of these is physical: each
    :math:`\langle n\rangle_i` depends on the chosen unravelling and is not a
    measurable quantity (the figure says so).

    Parameters
    ----------
    ens : EnsembleResult
    path : str or path-like, optional
        Where to save (PNG or PDF by the suffix).
    k : int, optional
        Collision count; default the last checkpoint (nearest checkpoint otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    i = _nearest(ens.k, k)
    per = ens.per_trajectory
    alive = per.fock[:, i] >= 0
    values = per.n_mean[alive, i]
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ax.hist(values, bins="auto", alpha=0.8)
    mean = ens.energy.mean[i]
    ax.axvline(mean, color="k", lw=1, label=rf"ensemble mean {mean:.4g} $\hbar\omega$")
    ax.set_xlabel(r"$\langle n\rangle_i$ [$\hbar\omega$]")
    ax.set_ylabel("trajectories")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
    leaked = int(np.count_nonzero(~alive))
    ax.set_title(
        f"{_model_title(ens.model)}\nenergy per trajectory at {_k_label(int(ens.k[i]), k)}, "
        f"M = {values.size}" + (f" ({leaked} leaked, not shown)" if leaked else "")
    )
    fig.supxlabel(
        r"Note: $\langle n\rangle_i$ depends on the unravelling and is not a measurable "
        "quantity; only its average over trajectories is.",
        fontsize="small",
        style="italic",
    )
    return _finish(fig, path)
