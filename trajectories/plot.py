"""Figures of results: observables against the number of collisions (matplotlib).

Uses the non-interactive Agg backend when no display is set, so plots work on
clusters and in CI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["observables"]

_PANELS = (
    ("energy", r"energy $\langle n\rangle$ [$\hbar\omega$]"),
    ("purity", r"purity Tr$\rho^2$"),
    ("fano", "Fano factor"),
    ("ergotropy", r"ergotropy [$\hbar\omega$]"),
)


def observables(result: Any, path: str | os.PathLike | None = None, *, title: str | None = None):
    """Plot energy, purity, Fano factor and ergotropy against collisions.

    ``result`` is any object with ``k`` and those four arrays (an
    :class:`~trajectories.exact.ExactResult`). Saves to ``path`` (PNG or PDF by
    its suffix) when given; returns the matplotlib figure.
    """
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, constrained_layout=True)
    for ax, (name, label) in zip(axes.flat, _PANELS, strict=True):
        ax.plot(result.k, getattr(result, name), lw=1.5, label="exact")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("collisions k")
    if title is None:
        m = result.model
        title = (
            rf"$\theta$={m.theta:.6g}, q={m.q:g}, c={m.c:g}, $\gamma t_r$={m.gamma_tr:g}, "
            rf"$\bar n$={m.nbar:g}, N={m.cutoff}"
        )
    fig.suptitle(title)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig
