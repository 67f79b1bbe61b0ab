r"""Large-deviation figures: the scaled cumulant generating function and the rate function.

:func:`scgf_figure` draws :math:`\theta(s)` and :math:`I(x)` of one or several counts from
:func:`trajectories.counting.rate_function` (``docs/MODEL.md``, Sec. 10), with the typical
rate :math:`\bar x = -\theta'(0)` marked where :math:`I` vanishes. ``micromaser counts
--scgf`` writes it as ``NAME-scgf.png``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..solvers.counting.scgf import RateFunction
from . import style
from .counting import LABELS

__all__ = ["scgf_figure", "typical_rate"]


def typical_rate(rate: RateFunction) -> float:
    r"""The typical count per collision :math:`\bar x = x(0) = -\theta'(0)` of a rate function.

    Parameters
    ----------
    rate : RateFunction
        From :func:`trajectories.counting.rate_function`.

    Returns
    -------
    float
        ``x`` at ``s = 0``, linearly interpolated between the two nearest fields when 0 is
        not one of them (per collision); NaN when the fields do not bracket 0.

    Examples
    --------
    >>> import numpy as np
    >>> from trajectories.solvers.counting.scgf import RateFunction
    >>> s = np.array([-1.0, 1.0])
    >>> typical_rate(RateFunction("g", s, x=np.array([0.4, 0.2]), rate=s * 0, theta=s * 0))
    0.3
    """
    s, x = np.asarray(rate.s, float), np.asarray(rate.x, float)
    if s.size == 0 or not s.min() <= 0.0 <= s.max():
        return float("nan")
    order = np.argsort(s)
    return float(np.interp(0.0, s[order], x[order]))


def scgf_figure(
    rates: RateFunction | Sequence[RateFunction],
    path: str | os.PathLike | None = None,
    *,
    typical: Sequence[float] | None = None,
    model: Any = None,
    subtitle: str | None = None,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    r"""Two panels: :math:`\theta(s)` against ``s``, and :math:`I(x)` against ``x``.

    One colour per count. On the left, :math:`\theta(s) = \lim_K K^{-1} \ln E[e^{-s N_K}]`
    per collision (convex; its slope at 0 is minus the typical rate). On the right, the rate
    function :math:`I(x(s)) = -s\,x(s) - \theta(s)` at :math:`x(s) = -\theta'(s)`
    (:math:`P(N_K/K \approx x) \asymp e^{-K I(x)}`), with the typical rate
    :math:`\bar x = -\theta'(0)`, where :math:`I = 0`, marked by a dashed line of the
    count's colour.

    Parameters
    ----------
    rates : RateFunction or sequence of RateFunction
        From :func:`trajectories.counting.rate_function`, one per count.
    path : str or path-like, optional
        Where to save (PNG, PDF or SVG by the suffix).
    typical : sequence of float, optional
        The typical rate of each count (per collision), e.g. from a finer difference at
        ``s = 0``; default :func:`typical_rate` of each (not marked when the fields do not
        bracket 0, and a note says so).
    model : Micromaser, optional
        The model, for the title (:func:`~trajectories.plot.style.model_title`).
    subtitle : str, optional
        A line under the title (e.g. the detection).
    axes : pair of matplotlib.axes.Axes, optional
        Draw into these two panels instead of a new figure (then no title, legend or note
        is added to their figure; each panel gets its own legend).

    Returns
    -------
    matplotlib.figure.Figure
        The figure: theta (dimensionless, per collision) against s, and I (per collision)
        against x (counts per collision).

    Raises
    ------
    ValueError
        When ``rates`` is empty, ``typical`` does not match it, or ``axes`` is not two axes.

    Examples
    --------
    >>> import trajectories as tj
    >>> from trajectories.plot.large_deviations import scgf_figure
    >>> m = tj.Micromaser(theta=0.0, q=0.3, cutoff=4)
    >>> fig = scgf_figure(tj.counting.rate_function(m, "g", [-1.0, 0.0, 1.0]), model=m)
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['counting field s', 'x = count per collision']
    """
    rates = [rates] if isinstance(rates, RateFunction) else list(rates)
    if not rates:
        raise ValueError("rates must hold at least one RateFunction, got none")
    marks = [typical_rate(r) for r in rates] if typical is None else list(typical)
    if len(marks) != len(rates):
        raise ValueError(f"typical must give one rate per count ({len(rates)}), got {len(marks)}")
    missing = [r.count for r, xb in zip(rates, marks, strict=True) if not np.isfinite(xb)]
    notes = (
        [f"Typical rate not marked (the fields do not include s = 0): {', '.join(missing)}."]
        if missing
        else []
    )
    if axes is None:
        fig, holder, (left, right) = style.panels(2, ncols=2, panel=(4.4, 3.3), notes=notes)
    else:
        if len(axes) != 2:
            raise ValueError(f"axes must be two matplotlib Axes, got {len(axes)}")
        left, right = axes
        fig, holder = left.get_figure(), None
    for r, xb in zip(rates, marks, strict=True):
        (line,) = left.plot(r.s, r.theta, "-", lw=1.4, label=LABELS.get(r.count, r.count))
        color = line.get_color()
        right.plot(r.x, r.rate, "-", lw=1.4, color=color)
        if np.isfinite(xb):
            right.axvline(xb, color=color, ls="--", lw=0.9)
            right.plot([xb], [0.0], "o", ms=4, color=color)
    if any(np.isfinite(xb) for xb in marks):
        right.plot([], [], "--", color="0.4", lw=0.9, label=r"typical rate $-\theta'(0)$")
    for ax in (left, right):
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.grid(alpha=0.3)
    left.axvline(0.0, color="0.6", lw=0.6)
    left.set_xlabel("counting field s")
    left.set_ylabel(r"$\theta(s)$ per collision")
    left.set_title(r"scaled cumulant generating function", fontsize="small")
    right.set_xlabel("x = count per collision")
    right.set_ylabel("I(x) per collision")
    right.set_title(r"rate function, $x = -\theta'(s)$", fontsize="small")
    right.set_ylim(bottom=min(0.0, *(np.nanmin(r.rate) for r in rates)) - 0.02 * _span(rates))
    if holder is None:
        left.legend(fontsize="small")
        right.legend(fontsize="small")
        return style.save(fig, path)
    entries = len(rates) + any(np.isfinite(xb) for xb in marks)
    style.legend_outside(holder, [left, right], loc="outside lower center",
                         ncols=entries if entries <= 4 else 3)  # fmt: skip
    title = style.model_title(model) if model is not None else "large deviations of the counts"
    fig.suptitle(title + (f"\n{subtitle}" if subtitle else ""), fontsize="medium")
    return style.save(fig, path)


def _span(rates: Sequence[RateFunction]) -> float:
    """Height of the drawn rate functions (for a margin below 0)."""
    top = max((float(np.nanmax(r.rate)) for r in rates), default=1.0)
    return top if np.isfinite(top) and top > 0 else 1.0
