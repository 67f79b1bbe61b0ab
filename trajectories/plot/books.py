r"""The battery's energy books against the collisions, and the stage marks of a protocol.

- :func:`energy_books`: the cumulative energy the qubits gave the cavity, the energy from
  the bath, the switching work of a Rabi collision (when not zero) and the energy change
  :math:`E(k) - E(0)`, all in units of :math:`\hbar\omega` (``docs/MODEL.md``, Sec. 12);
  exact lines, ensemble points with error bars;
- :func:`mark_stages`: the boundaries of a protocol's stages as dashed vertical lines with
  the stages' names, on any collision axis;
- :func:`has_books`: whether a result keeps the books.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import style
from .style import EXACT_COLOR, TRAJ_ERROR_COLOR

__all__ = ["energy_books", "mark_stages", "has_books", "protocol_of", "protocol_title"]

PathLike = str | os.PathLike

#: The books drawn, in order: (attribute, label, colour).
_BOOKS = (
    ("energy_from_qubits", "from the qubits", "C0"),
    ("energy_from_bath", "from the bath", "C3"),
    ("switching_work", "switching work", "C2"),
)
#: above this many checkpoints, ensemble points are thinned for the error bars
_MAX_POINTS = 60


def has_books(result: Any) -> bool:
    """Whether ``result`` keeps the energy books.

    Parameters
    ----------
    result : ExactResult, EnsembleResult or None
        A result (None: no).

    Returns
    -------
    bool
        True when ``result.energy_from_qubits`` is not None.
    """
    return result is not None and getattr(result, "energy_from_qubits", None) is not None


def protocol_of(*results: Any) -> Any:
    """The protocol of the first result that has one.

    Parameters
    ----------
    *results : ExactResult, EnsembleResult or None
        Results, in order of preference.

    Returns
    -------
    Protocol or None
        The protocol, or None for single models.
    """
    for r in results:
        p = getattr(r, "protocol", None) if r is not None else None
        if p is not None:
            return p
    return None


def protocol_title(protocol: Any) -> str:
    """A figure title for a protocol: its stages (name, kind, collisions) and cutoff.

    Parameters
    ----------
    protocol : Protocol
        The protocol.

    Returns
    -------
    str
        E.g. ``"protocol: charge (charge) x 300, store (storage) x 50; N = 60"``.
    """
    parts = ", ".join(f"{s.name} ({s.kind}) x {s.collisions}" for s in protocol.stages)
    return f"protocol: {parts}; N = {protocol.cutoff}"


def mark_stages(ax: Axes, protocol: Any, *, names: bool = True) -> None:
    """Draw the stage boundaries of ``protocol`` on a collision axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        A panel whose x axis is the collision count ``k``.
    protocol : Protocol or None
        The protocol (None: nothing is drawn).
    names : bool, optional
        Write each stage's name at the top of the panel, at the start of its stage.

    Returns
    -------
    None
    """
    if protocol is None:
        return
    for b in protocol.boundaries[1:-1]:
        ax.axvline(float(b), color="0.45", ls="--", lw=0.8, zorder=1)
    if names:
        transform = ax.get_xaxis_transform()
        for s, stage in enumerate(protocol.stages):
            ax.text(float(protocol.boundaries[s]), 0.98, f" {stage.name}", transform=transform,
                    ha="left", va="top", fontsize="x-small", color="0.3",
                    clip_on=True)  # fmt: skip


def _values(result: Any, name: str) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(mean, stderr or None) of a book of ``result``, or None when it has none."""
    v = getattr(result, name, None) if result is not None else None
    if v is None:
        return None
    if not isinstance(v, np.ndarray) and hasattr(v, "stderr"):  # an Estimate
        return np.asarray(v.mean, dtype=float), np.asarray(v.stderr, dtype=float)
    return np.asarray(v, dtype=float), None


def _energy_change(result: Any) -> tuple[np.ndarray, np.ndarray | None]:
    e = result.energy
    if not isinstance(e, np.ndarray) and hasattr(e, "stderr"):  # an Estimate
        mean = np.asarray(e.mean, dtype=float)
        return mean - mean[0], np.asarray(e.stderr, dtype=float)
    e = np.asarray(e, dtype=float)
    return e - e[0], None


def energy_books(
    result: Any, path: PathLike | None = None, *, exact: Any = None, title: str | None = None
) -> Figure:
    r"""Plot the cumulative energy books against the number of collisions.

    Curves: energy from the qubits (``energy_from_qubits``), from the bath
    (``energy_from_bath``), the switching work (``switching_work``, only when not zero)
    and the cavity's energy change :math:`E(k) - E(0)`, all in units of
    :math:`\hbar\omega`. The exact solution is drawn as lines, an ensemble as points with
    error bars of one standard error (thinned to about 60 checkpoints). A protocol's
    stage boundaries are marked with the stages' names. The books close:
    ``E(k) - E(0) = from qubits + switching + from bath (+ resets)``.

    Parameters
    ----------
    result : ExactResult or EnsembleResult
        The result whose books are drawn (an ensemble without books shows only its
        energy change, with ``exact``'s books as lines).
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    exact : ExactResult, optional
        The exact solution overlaid as lines (when ``result`` is an ensemble).
    title : str, optional
        Figure title; default the protocol's stages, or the model parameters.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, a linear collision axis, the legend below it.

    Raises
    ------
    ValueError
        When neither ``result`` nor ``exact`` keeps the books.
    """
    if not (has_books(result) or has_books(exact)):
        raise ValueError("energy_books needs a result with energy books (energy_from_qubits)")
    ensemble = hasattr(result, "per_trajectory")
    line = exact if exact is not None else (None if ensemble else result)
    points = result if ensemble else None
    notes = []
    if points is not None and not has_books(points):
        notes.append("The trajectories did not record the books: their energy change only.")
    fig, holder, (ax,) = style.panels(1, ncols=1, panel=(7.0, 3.6), extra=(0.6, 1.4),
                                      notes=notes)  # fmt: skip
    curves = [(n, lab, c) for n, lab, c in _BOOKS]
    for name, label, color in curves:
        for r, is_line in ((line, True), (points, False)):
            v = _values(r, name)
            if v is None:
                continue
            mean, err = v
            if name == "switching_work" and not np.any(np.abs(mean) > 0):
                continue
            _draw(ax, np.asarray(r.k), mean, err, color, label, is_line)
    for r, is_line in ((line, True), (points, False)):
        if r is None:
            continue
        mean, err = _energy_change(r)
        _draw(ax, np.asarray(r.k), mean, err, EXACT_COLOR if not is_line else "0.1",
              r"$E(k) - E(0)$", is_line, dashed=True)  # fmt: skip
    ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
    protocol = protocol_of(result, exact)
    mark_stages(ax, protocol)
    ax.set_xlabel(style.collision_label("linear"))
    ax.set_ylabel(r"cumulative energy [$\hbar\omega$]")
    ax.grid(alpha=0.3)
    style.legend_outside(holder, [ax], loc="outside lower center")
    if title is None:
        title = (
            protocol_title(protocol) if protocol is not None else style.model_title(result.model)
        )
        title += "\nenergy books (cumulative from collision 0)"
    fig.suptitle(title, fontsize="medium")
    return style.save(fig, path)


def _draw(ax: Axes, k: np.ndarray, mean: np.ndarray, err: np.ndarray | None, color: str,
          label: str, is_line: bool, dashed: bool = False) -> None:  # fmt: skip
    """One book: a line (exact) or points with error bars (trajectories)."""
    if is_line:
        ax.plot(k, mean, "--" if dashed else "-", color=color, lw=1.3, zorder=3,
                label=f"{label} (exact)")  # fmt: skip
        return
    step = max(1, -(-k.size // _MAX_POINTS))
    idx = np.arange(0, k.size, step)
    ax.errorbar(k[idx], mean[idx], yerr=None if err is None else err[idx], fmt="o", ms=3,
                color=color, ecolor=TRAJ_ERROR_COLOR if dashed else color, lw=0.8,
                capsize=0, zorder=2, mfc="white" if dashed else color,
                label=f"{label} (trajectories)")  # fmt: skip
