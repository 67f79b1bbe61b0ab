r"""Figures of a network of two cavities (matplotlib).

:func:`network_observables` draws, against the number of collisions ``k``, what a
:class:`~trajectories.NetworkExactResult` or a ``NetworkEnsemble`` records
(``docs/MODEL.md``, "Networks of batteries"): the energy of each cavity and their total, the
purity of the joint state and of each cavity's reduced state, the ergotropy (global, the
sum of the local ones, and the collective part), the logarithmic negativity and the mutual
information. The shared conventions hold (:mod:`trajectories.plot.style`): the exact
solution is black (one line style per curve), trajectory estimates are coloured points
with error bars of their own colour; legends sit outside the axes; a note at the foot says
what the trajectories did not record. Energies and ergotropies in units of
:math:`\hbar\omega`, entropies in nats.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from . import style
from .style import EXACT_COLOR

__all__ = ["network_observables", "network_title", "is_network"]

PathLike = str | os.PathLike

#: line styles of the exact curves of one panel, in order
_LINES = ("-", "--", ":")
#: above this many checkpoints, trajectory estimates are thinned to this many points
_MAX_POINTS = 60


def is_network(result: Any) -> bool:
    """Whether ``result`` is a network's (its model has two cavities).

    Parameters
    ----------
    result : object
        A result (or None).

    Returns
    -------
    bool
        True for a :class:`~trajectories.NetworkExactResult` or a ``NetworkEnsemble``.
    """
    return hasattr(getattr(result, "model", None), "topology")


def _pair_text(pair: tuple, fmt=lambda x: f"{x:g}") -> str:
    a, b = pair
    return fmt(a) if a == b else f"({fmt(a)}, {fmt(b)})"


def network_title(net: Any) -> str:
    r"""The parameters of a :class:`~trajectories.Network` as a figure title.

    Parameters
    ----------
    net : Network
        The network; a pair whose two values are equal is written once.

    Returns
    -------
    str
        Mathtext, e.g. ``"series network: $\theta$ = $\pi/\sqrt{15}$, q = 0.25, c = 1,
        $\gamma t_r$ = 0.1, $\bar n$ = (0.15, 0), N = (20, 20)"``, plus a second line for a
        non-ideal beam.
    """
    c = complex(net.c)
    c_text = f"{c.real:g}" if c.imag == 0 else f"{c:g}"
    text = (
        rf"{net.topology} network: $\theta$ = {_pair_text(net.theta, style.theta_label)}, "
        rf"q = {net.q:g}, c = {c_text}, $\gamma t_r$ = {_pair_text(net.gamma_tr)}, "
        rf"$\bar n$ = {_pair_text(net.nbar)}, N = ({net.cutoff[0]}, {net.cutoff[1]})"
    )
    beam = [] if net.arrivals.is_regular else [net.arrivals.describe()]
    beam += [] if net.theta_spread.is_none else [net.theta_spread.describe()]
    if beam:
        text += "\n" + ", ".join(beam).replace("$", r"\$")
    return text


def _column(est: Any, i: int | None) -> tuple[np.ndarray, np.ndarray]:
    mean, se = np.asarray(est.mean, dtype=float), np.asarray(est.stderr, dtype=float)
    return (mean, se) if i is None else (mean[:, i], se[:, i])


def _panels(ens: Any, ex: Any) -> list[tuple[str, list]]:
    """Each panel's label and curves: (name, exact values or None, (k, mean, stderr) or None)."""

    def exact(name: str, i: int | None = None, total: bool = False):
        if ex is None:
            return None
        v = np.asarray(getattr(ex, name), dtype=float)
        return v.sum(axis=1) if total else (v if i is None else v[:, i])

    def traj(name: str, i: int | None = None, total: bool = False):
        est = getattr(ens, name, None) if ens is not None else None
        if est is None:
            return None
        k = np.asarray(ens.rho_k if name in _RHO else ens.k)
        if total:  # sd(X + Y) <= sd(X) + sd(Y): a bound, whatever their correlation
            (ma, sa), (mb, sb) = _column(est, 0), _column(est, 1)
            return k, ma + mb, sa + sb
        return (k, *_column(est, i))

    return [
        (r"energy [$\hbar\omega$]", [
            ("cavity A", exact("energy", 0), traj("energy", 0)),
            ("cavity B", exact("energy", 1), traj("energy", 1)),
            ("A + B", exact("total_energy"), traj("total_energy")),
        ]),
        (r"purity Tr$\rho^2$", [
            ("joint", exact("purity"), traj("purity")),
            ("A", exact("local_purity", 0), traj("local_purity", 0)),
            ("B", exact("local_purity", 1), traj("local_purity", 1)),
        ]),
        (r"ergotropy [$\hbar\omega$]", [
            ("global", exact("ergotropy"), traj("ergotropy")),
            ("local A + B", exact("local_ergotropy", total=True),
             traj("local_ergotropy", total=True)),
            ("collective", exact("collective_ergotropy"), traj("collective_ergotropy")),
        ]),
        (r"log negativity $\ln\|\rho^{T_B}\|_1$", [
            ("", exact("log_negativity"), traj("log_negativity")),
        ]),
        (r"mutual information $I(A{:}B)$ [nats]", [
            ("", exact("mutual_information"), traj("mutual_information")),
        ]),
    ]  # fmt: skip


#: the ensemble's estimates over the checkpoints that keep the joint state
_RHO = frozenset((
    "purity", "entropy", "ergotropy", "collective_ergotropy", "log_negativity",
    "mutual_information", "local_purity", "local_entropy", "local_ergotropy",
))  # fmt: skip


def network_observables(
    result: Any,
    path: PathLike | None = None,
    *,
    exact: Any = None,
    title: str | None = None,
    sigma: float = 1.0,
    kscale: str = "auto",
) -> Figure:
    r"""Plot a network's energies, purities, ergotropies, negativity and mutual information.

    Five panels against the collisions ``k``: the energy of cavity A, of cavity B and
    their total; the purity of the joint state and of each reduced state; the global
    ergotropy, the sum of the local ones and the collective part (global minus local);
    the logarithmic negativity; the mutual information.

    Parameters
    ----------
    result : NetworkExactResult or NetworkEnsemble
        An exact result (black lines, one style per curve) or an ensemble (coloured points
        with error bars ``mean +/- sigma * stderr``; the joint state's observables at the
        checkpoints that kept it, ``rho_k``). The error bar of the ensemble's sum of local
        ergotropies is the sum of the two errors (a bound: their correlation is not
        recorded).
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix); parent folders are created.
    exact : NetworkExactResult, optional
        Exact solution drawn under the ensemble's points (black lines).
    title : str, optional
        Figure title; default the network's parameters (:func:`network_title`).
    sigma : float, optional
        Half-width of the error bars in standard errors (default 1).
    kscale : {"auto", "linear", "symlog", "log"}, optional
        Scale of the collision axis; ``"auto"`` (default): symmetric-log when the
        transient is short against the range (:func:`~trajectories.plot.style.collision_scale`).

    Returns
    -------
    matplotlib.figure.Figure
        Five panels (three over two), each with its legend above it, a shared collision
        axis, and a note at the foot saying what is drawn.

    Raises
    ------
    ValueError
        When ``result`` (or ``exact``) is not a network's result.
    """
    for r, what in ((result, "result"), (exact, "exact")):
        if r is not None and not is_network(r):
            raise ValueError(f"{what} must be a network's result, got {type(r).__name__}")
    ensemble = hasattr(result, "rho_k")
    ens, ex = (result, exact) if ensemble else (None, result)
    panels = _panels(ens, ex)
    notes = _notes(ens, ex, sigma)
    fig, holder, axes = style.panels(len(panels), ncols=3, sharex=True, notes=notes,
                                     extra=(0.0, 1.4))  # fmt: skip
    series = []
    for ax, (label, curves) in zip(axes, panels, strict=True):
        handles, names = [], []
        for j, (name, y, t) in enumerate(curves):
            parts = []
            if y is not None:
                (line,) = ax.plot(ex.k, y, _LINES[j], color=EXACT_COLOR, lw=1.2, zorder=3)
                parts.append(line)
                series.append((ex.k, y))
            if t is not None:
                k, mean, se = t
                ok = np.isfinite(mean)
                k, mean, se = k[ok], mean[ok], se[ok]
                keep = style.thin(k, _MAX_POINTS)
                bars = ax.errorbar(k[keep], mean[keep], yerr=sigma * se[keep], fmt="o",
                                   color=f"C{j}", ms=3.5, lw=0.9, capsize=2, zorder=4)  # fmt: skip
                parts.append(bars)
                if ex is None and k.size > 1:
                    series.append((k, mean, se))
            if parts and name:
                handles.append(tuple(parts) if len(parts) > 1 else parts[0])
                names.append(name)
        if handles:
            ax.legend(handles, names, loc="lower left", bbox_to_anchor=(0.0, 1.01),
                      ncols=len(handles), fontsize="small", frameon=False,
                      borderaxespad=0.0, handlelength=2.4)  # fmt: skip
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    scale = style.collision_scale(series) if kscale == "auto" else kscale
    for j, ax in enumerate(axes):
        style.set_collision_axis(ax, scale)
        if j >= len(axes) - 3:
            ax.set_xlabel(style.collision_label(scale))
        else:
            ax.tick_params(labelbottom=False)
    net = (ens if ens is not None else ex).model
    fig.suptitle(title if title is not None else network_title(net))
    return style.save(fig, path)


def _notes(ens: Any, ex: Any, sigma: float) -> list[str]:
    """What the figure draws and what the trajectories did not record."""
    parts = []
    if ex is not None:
        parts.append("Black lines: exact solution (solid, dashed, dotted: the curves in each "
                     "legend's order).")  # fmt: skip
    if ens is not None:
        parts.append(
            f"Points: trajectories (M = {ens.n_trajectories}), error bars "
            rf"$\pm{sigma:g}$ standard errors; the bar of the local ergotropies' sum is the "
            "sum of their errors (a bound)."
        )
        rho_k = np.asarray(ens.rho_k)
        if rho_k.size == 0:
            parts.append("The trajectories kept no joint state: only their energies are shown.")
        elif rho_k.size < np.asarray(ens.k).size:
            ks = ", ".join(str(int(k)) for k in rho_k[:6]) + (", ..." if rho_k.size > 6 else "")
            parts.append(
                f"The trajectories kept the joint state at k = {ks} only: their "
                "purity, ergotropy, negativity and mutual information are there."
            )
    return [" ".join(parts)]
