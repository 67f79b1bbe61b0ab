r"""What every figure of :mod:`trajectories.plot` shares: labels, binning, axes, legends, notes.

- :func:`theta_label`: a collision strength as ``pi/sqrt(15)`` when it is one;
- :func:`model_title`: the parameters of a model in one line (two for a non-ideal beam);
- :func:`integer_bins`: bin edges for integer counts chosen from the data;
- :func:`collision_scale`: a linear or a symmetric-log collision axis, chosen from the data;
- :func:`save`: write a figure with nothing clipped.

The private helpers draw the shared styles: the exact solution is always a black line
(a black outline for discrete distributions), trajectories always coloured markers or
filled bars with error bars or bands in their own colour; legends go outside the axes;
what a result did not record is said in a note at the foot of the figure, not drawn as an
empty panel.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, SymmetricalLogLocator

__all__ = ["theta_label", "model_title", "integer_bins", "collision_scale", "save"]

PathLike = str | os.PathLike

#: colour of the exact solution in every figure
EXACT_COLOR = "k"
#: error bars of trajectory estimates: a dark shade of the trajectory colour (never black)
TRAJ_ERROR_COLOR = "#1f4e79"
#: the linear part of the symmetric-log collision axis: [0, 1] (k = 0 and k = 1 apart)
SYMLOG_LINTHRESH = 1.0


# ------------------------------------------------------------------ labels
def theta_label(
    theta: float, *, tex: bool = True, max_multiple: int = 4, tol: float = 1e-12
) -> str:
    r"""A collision strength as ``Q pi/sqrt(m)`` when it is one, else as a plain number.

    ``theta`` is written ``Q pi/sqrt(m)`` when ``|Q pi/sqrt(m) - theta| <= tol`` for an
    integer ``1 <= Q <= max_multiple`` and an ``m > 0`` with at most three decimals (15,
    15.6, 15.01, 15.001), preferring the fewest decimals, then the smallest ``Q``
    (``2 pi/sqrt(15)``, not ``pi/sqrt(3.75)``); ``pi/s`` when ``m = s^2`` is a perfect
    square. Otherwise six significant digits.

    Parameters
    ----------
    theta : float
        Collision strength ``g tau`` (dimensionless).
    tex : bool, optional
        Matplotlib mathtext (``$\pi/\sqrt{15}$``) when True (default), plain text
        (``pi/sqrt(15)``) when False.
    max_multiple : int, optional
        Largest multiple ``Q`` of ``pi`` tried (default 4).
    tol : float, optional
        Absolute tolerance of the match (default 1e-12).

    Returns
    -------
    str
        E.g. ``"$\pi/\sqrt{15}$"``, ``"$2\pi/\sqrt{15.6}$"``, ``"$\pi/2$"`` or ``"0.9"``.

    Examples
    --------
    >>> import math
    >>> theta_label(math.pi / math.sqrt(15), tex=False)
    'pi/sqrt(15)'
    >>> theta_label(math.pi / math.sqrt(15.6), tex=False)
    'pi/sqrt(15.6)'
    >>> theta_label(0.811156, tex=False)
    '0.811156'
    """
    theta = float(theta)
    if not math.isfinite(theta) or theta <= 0.0:
        return f"{theta:.6g}"
    for digits in range(4):  # integer m first (2 pi/sqrt(15), not pi/sqrt(3.75))
        for q in range(1, max_multiple + 1):
            mr = round((q * math.pi / theta) ** 2, digits)
            if mr > 0.0 and abs(q * math.pi / math.sqrt(mr) - theta) <= tol:
                return _pi_over_root(q, mr, tex)
    return f"{theta:.6g}"


def _pi_over_root(q: int, m: float, tex: bool) -> str:
    pi = r"\pi" if tex else "pi"
    head = pi if q == 1 else f"{q}{pi}"
    root = math.isqrt(int(m)) if float(m).is_integer() else -1
    if root * root == m:
        text = head if root == 1 else f"{head}/{root}"
    else:
        text = rf"{head}/\sqrt{{{m:g}}}" if tex else f"{head}/sqrt({m:g})"
    return f"${text}$" if tex else text


def model_title(model: Any) -> str:
    r"""The parameters of a :class:`~trajectories.Micromaser` as a figure title (one line;
    a second one for a non-ideal beam).

    Parameters
    ----------
    model : Micromaser
        The model; ``theta`` is written by :func:`theta_label`, a real ``c`` without
        ``+0j``, a Rabi collision with its ``g/omega``, a non-ideal beam (random arrivals,
        a theta spread) on a second line
        (:meth:`Arrivals.describe <trajectories.model.imperfections.Arrivals.describe>`,
        :meth:`ThetaSpread.describe <trajectories.model.imperfections.ThetaSpread.describe>`).

    Returns
    -------
    str
        Mathtext, e.g. ``"$\theta$ = $\pi/\sqrt{15}$, q = 0.25, c = 1, ..., N = 60"``
        (plus ``"\npoisson arrivals, Gaussian theta spread (sigma = 5%)"`` for such a beam).
    """
    c = complex(model.c)
    c_text = f"{c.real:g}" if c.imag == 0 else f"{c:g}"
    text = (
        rf"$\theta$ = {theta_label(model.theta)}, q = {model.q:g}, c = {c_text}, "
        rf"$\gamma t_r$ = {model.gamma_tr:g}, $\bar n$ = {model.nbar:g}, N = {model.cutoff}"
    )
    col = getattr(model, "collision", None)
    if col is not None and hasattr(col, "g_over_omega"):
        text += rf", Rabi $g/\omega$ = {col.g_over_omega:g}"
        if getattr(col, "modulation", None) is not None:
            text += " (modulated)"
    arrivals, spread = getattr(model, "arrivals", None), getattr(model, "theta_spread", None)
    beam = [] if arrivals is None or arrivals.is_regular else [arrivals.describe()]
    beam += [] if spread is None or spread.is_none else [spread.describe()]
    if beam:  # a second line: the beam is not the paper's ideal one
        text += "\n" + ", ".join(beam).replace("$", r"\$")
    return text


def k_label(chosen: int, requested: int | None) -> str:
    """``"k = 15"``, plus the requested value when the nearest checkpoint differs from it.

    Parameters
    ----------
    chosen : int
        The checkpoint shown (collisions).
    requested : int or None
        The checkpoint asked for, or None (the default one).

    Returns
    -------
    str
        E.g. ``"k = 15"`` or ``"k = 15 (nearest to k = 20)"``.
    """
    note = "" if requested is None or int(requested) == chosen else f" (nearest to k = {requested})"
    return f"k = {chosen}{note}"


def nearest(ks: np.ndarray, k: int | None) -> int:
    """Index into ``ks`` of the checkpoint nearest to ``k`` (the last one when ``k`` is None).

    Parameters
    ----------
    ks : array_like of int, shape (n_k,)
        Checkpoints (collisions).
    k : int or None
        Requested checkpoint; None for the last.

    Returns
    -------
    int
        An index into ``ks`` (the first of two equally near ones).

    Raises
    ------
    ValueError
        When ``ks`` is empty.
    """
    ks = np.asarray(ks)
    if ks.size == 0:
        raise ValueError("no checkpoints to choose from")
    if k is None:
        return ks.size - 1
    return int(np.argmin(np.abs(ks.astype(np.int64) - int(k))))


# ------------------------------------------------------------------ binning
def integer_bins(
    values: np.ndarray,
    *,
    span: tuple[int, int] | None = None,
    max_bins: int = 80,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Bin edges for integer data: one bin per integer only when that does not make a comb.

    The bin width ``w`` is the Freedman-Diaconis width ``2 IQR / M^(1/3)`` rounded to an
    integer ``>= 1`` (the square-root rule ``range / sqrt(M)`` when the interquartile range
    is 0), widened so that there are at most ``max_bins`` bins. Edges sit at half-integers,
    ``lo - 1/2 + w j``, so every bin holds exactly ``w`` integers and the left edge is
    aligned to a multiple of ``w``: one bin per integer when the range is small against
    the number of samples (e.g. photon numbers), wider bins otherwise (counts of order
    1000 from 500 trajectories).

    Parameters
    ----------
    values : array_like of int, shape (M,)
        The samples (e.g. one count per trajectory).
    span : (int, int), optional
        Integers ``[lo, hi]`` the bins must cover besides the samples (e.g. where an exact
        distribution has visible weight).
    max_bins : int, optional
        Largest number of bins (default 80).
    weights : array_like of int, shape (M,), optional
        Multiplicities of ``values`` (a histogram: distinct values, increasing); the bins
        are those of the samples it stands for.

    Returns
    -------
    numpy.ndarray of float, shape (B + 1,)
        Increasing edges at half-integers; the width ``edges[1] - edges[0]`` is an integer.
    """
    x = np.asarray(values, dtype=np.int64).ravel()
    if weights is not None:
        w = np.asarray(weights, dtype=np.int64).ravel()
        x, w = x[w > 0], w[w > 0]
    lo_hi = [int(x.min()), int(x.max())] if x.size else []
    if span is not None:
        lo_hi += [int(span[0]), int(span[1])]
    if not lo_hi:
        return np.array([-0.5, 0.5])
    lo, hi = min(lo_hi), max(lo_hi)
    n_int = hi - lo + 1
    width = 1
    size = x.size if weights is None else int(w.sum())
    if size > 1:
        if weights is None:
            q75, q25 = np.percentile(x, [75, 25])
        else:
            q75, q25 = (_weighted_percentile(x, w, q) for q in (75, 25))
        iqr = float(q75 - q25)
        if iqr > 0:
            width = max(1, round(2.0 * iqr / size ** (1.0 / 3.0)))
        else:
            data_range = int(x.max() - x.min()) + 1
            width = max(1, round(data_range / math.sqrt(size)))
    width = max(width, math.ceil(n_int / max_bins))
    start = (lo // width) * width
    n_bins = math.ceil((hi + 1 - start) / width)
    return start - 0.5 + width * np.arange(n_bins + 1, dtype=np.float64)


def _weighted_percentile(values: np.ndarray, mult: np.ndarray, q: float) -> float:
    """``np.percentile`` (linear) of the samples ``np.repeat(values, mult)``, without them."""
    cum = np.cumsum(mult)
    pos = q / 100.0 * (cum[-1] - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    v_lo = float(values[np.searchsorted(cum, lo, side="right")])
    v_hi = float(values[np.searchsorted(cum, hi, side="right")])
    return v_lo + (pos - lo) * (v_hi - v_lo)


def continuous_bins(values: np.ndarray, *, max_bins: int = 80) -> np.ndarray:
    """Freedman-Diaconis bin edges for real data.

    The square-root rule replaces Freedman-Diaconis when that gives more than ``max_bins``
    bins or fewer than two; a single unit-wide bin is returned for constant data.

    Parameters
    ----------
    values : array_like of float, shape (M,)
        The samples (NaN and infinities are ignored).
    max_bins : int, optional
        Largest number of bins (default 80).

    Returns
    -------
    numpy.ndarray of float, shape (B + 1,)
        Increasing bin edges, in the units of ``values``.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2 or x.min() == x.max():
        centre = float(x[0]) if x.size else 0.0
        return np.array([centre - 0.5, centre + 0.5])
    edges = np.histogram_bin_edges(x, bins="fd")
    if edges.size - 1 > max_bins or edges.size < 3:
        edges = np.histogram_bin_edges(x, bins=min(max_bins, max(3, round(math.sqrt(x.size)))))
    return edges


# ------------------------------------------------------------------ collision axis
def transient_end(
    k: np.ndarray, y: np.ndarray, err: np.ndarray | None = None, *, fraction: float = 0.1
) -> float | None:
    """The collision after which ``y`` stays within ``fraction`` of its excursion of the end.

    The end value is the median over the last 20% of the range of ``k``; points closer to
    it than ``fraction`` of the largest deviation, or than 4 noise levels (the spread of
    that tail, and the median of ``err`` when given), count as relaxed.

    Parameters
    ----------
    k : array_like, shape (n_k,)
        Increasing collision counts.
    y : array_like of float, shape (n_k,)
        The series (NaN entries are skipped).
    err : array_like of float, shape (n_k,), optional
        Standard errors of ``y`` (trajectory estimates).
    fraction : float, optional
        Relaxed: within this fraction of the largest deviation from the end (default 0.1).

    Returns
    -------
    float or None
        The first collision after which every point is relaxed (``k[0]`` if all are, the
        last ``k`` if the series is still moving at its end); None when the series has
        fewer than 3 points or an excursion within 10 noise levels (it says nothing about
        a transient).
    """
    k = np.asarray(k, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    if err is not None:
        e = np.asarray(err, dtype=np.float64)
        ok &= np.isfinite(e)
    k, y = k[ok], y[ok]
    if y.size < 3:
        return None
    tail = y[k >= k[0] + 0.8 * (k[-1] - k[0])]
    end = float(np.median(tail))
    noise = float(tail.std())
    if err is not None:
        noise = max(noise, float(np.median(e[ok])))
    dev = np.abs(y - end)
    scale = float(dev.max())
    if scale <= 10.0 * noise or scale == 0.0:
        return None
    out = np.flatnonzero(dev > max(fraction * scale, 4.0 * noise))
    if out.size == 0:
        return float(k[0])
    return float(k[min(out[-1] + 1, k.size - 1)])


def collision_scale(
    series: Iterable[tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    short: float = 0.1,
    min_range: float = 100.0,
) -> str:
    """``"symlog"`` when the transient is short against the collision range, else ``"linear"``.

    The transient of each series is where it has relaxed to within 10% of its excursion
    (see ``transient_end``; noisy series with no clear excursion do not count); the axis
    is a symmetric-log one (linear on [0, 1], logarithmic above, so ``k = 0`` is shown)
    when the longest transient is shorter than ``short`` times the range of ``k`` and the
    range is at least ``min_range`` collisions. A linear axis would squeeze such a
    transient into the first few pixels.

    Parameters
    ----------
    series : iterable of (k, y) or (k, y, stderr)
        Collision counts ``(n_k,)`` and values ``(n_k,)`` (NaN skipped), with optional
        standard errors ``(n_k,)`` for trajectory estimates.
    short : float, optional
        Largest transient, as a fraction of the range, for a logarithmic axis (default 0.1).
    min_range : float, optional
        Smallest range of ``k`` (collisions) for a logarithmic axis (default 100).

    Returns
    -------
    str
        ``"symlog"`` or ``"linear"`` (a matplotlib axis scale).
    """
    ends, k_max = [], 0.0
    for s in series:
        k = np.asarray(s[0], dtype=np.float64)
        if k.size:
            k_max = max(k_max, float(k.max() - k.min()))
        end = transient_end(*s)
        if end is not None:
            ends.append(end - float(k.min()))
    if not ends or k_max < min_range:
        return "linear"
    return "symlog" if max(ends) <= short * k_max else "linear"


def set_collision_axis(ax: Axes, scale: str) -> None:
    """Apply ``scale`` to the collision axis (x) of ``ax``.

    ``"symlog"``: linear on [0, 1] and logarithmic above, decades labelled as plain
    integers (0, 1, 10, 100, 1000), limits from 0 to the largest ``k`` drawn so far (call
    it after plotting). Any other value is passed to ``ax.set_xscale``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The panel, with its data already drawn.
    scale : str
        ``"symlog"``, ``"linear"`` or ``"log"``.

    Returns
    -------
    None
    """
    if scale == "symlog":
        ax.set_xscale("symlog", linthresh=SYMLOG_LINTHRESH, linscale=0.4)
        ax.xaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=SYMLOG_LINTHRESH))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
        ax.xaxis.set_minor_locator(
            SymmetricalLogLocator(base=10, linthresh=SYMLOG_LINTHRESH, subs=np.arange(2, 10))
        )
        ax.xaxis.set_minor_formatter(NullFormatter())
        lo, hi = ax.dataLim.intervalx
        ax.set_xlim(0.0, hi if np.isfinite(hi) and hi > 0 else None)
    else:
        ax.set_xscale(scale)


def thin(k: np.ndarray, max_points: int, scale: str = "linear") -> np.ndarray:
    """Indices of at most ``max_points`` of the increasing ``k``, evenly spread on the axis.

    Evenly spread in ``k`` on a linear axis, in ``log10(1 + k)`` on a (symmetric-)log one,
    so that a logarithmic axis is not crowded at its right end. First and last are kept.

    Parameters
    ----------
    k : array_like, shape (n_k,)
        Increasing collision counts.
    max_points : int
        Largest number of indices returned.
    scale : str, optional
        The axis scale (``"linear"``, default, or ``"symlog"``/``"log"``).

    Returns
    -------
    numpy.ndarray of int, shape (<= max_points,)
        Increasing indices into ``k``.
    """
    k = np.asarray(k, dtype=np.float64)
    if k.size <= max_points:
        return np.arange(k.size)
    x = k if scale == "linear" else np.sign(k) * np.log10(1.0 + np.abs(k))
    targets = np.linspace(x[0], x[-1], max_points)
    idx = np.clip(np.searchsorted(x, targets), 0, k.size - 1)
    left = np.clip(idx - 1, 0, k.size - 1)
    idx = np.where(np.abs(x[left] - targets) < np.abs(x[idx] - targets), left, idx)
    return np.unique(idx)


def collision_label(scale: str) -> str:
    """The collision-axis label, saying when the axis is logarithmic.

    Parameters
    ----------
    scale : str
        The axis scale.

    Returns
    -------
    str
        ``"collisions k"``, plus ``" (log scale above 1)"`` for ``"symlog"``.
    """
    return "collisions k" + (" (log scale above 1)" if scale == "symlog" else "")


# ------------------------------------------------------------------ layout
def legend_outside(fig: Figure, axes: Sequence[Axes], *, loc: str = "outside upper center",
                   ncols: int | None = None, **kwargs: Any) -> Any:  # fmt: skip
    """One figure legend with every labelled artist of ``axes`` (once), outside the axes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or SubFigure
        The (sub)figure holding ``axes``, with the constrained layout (which makes room
        for "outside" legends).
    axes : sequence of matplotlib.axes.Axes
        The panels whose labelled artists are collected (the first artist of each label).
    loc : str, optional
        A matplotlib "outside" location (default ``"outside upper center"``).
    ncols : int, optional
        Columns of the legend; default one per entry (a single row).
    **kwargs
        Passed to ``fig.legend`` (default ``fontsize="small"``).

    Returns
    -------
    matplotlib.legend.Legend or None
        The legend, or None when nothing is labelled.
    """
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if not seen:
        return None
    n = len(seen) if ncols is None else ncols
    kwargs.setdefault("fontsize", "small")
    return fig.legend(list(seen.values()), list(seen), loc=loc, ncols=n, **kwargs)


def wrap(text: str, fig: Figure, fontsize: float = 8.0) -> str:
    """``text`` wrapped to the width of ``fig`` (about 0.55 em per character).

    Parameters
    ----------
    text : str
        Paragraphs separated by newlines (each wrapped on its own).
    fig : matplotlib.figure.Figure
        The figure whose width (inches) sets the line length.
    fontsize : float, optional
        Font size in points (default 8).

    Returns
    -------
    str
        The wrapped text.
    """
    width_pt = fig.get_figwidth() * 72.0 * 0.95
    chars = max(20, int(width_pt / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(p, chars) for p in text.split("\n"))


def text_figure(title: str, lines: Sequence[str], *, width: float = 8.0) -> Figure:
    """A figure with no axes: ``title`` and, below it, the ``lines`` saying what is missing.

    For a figure none of whose panels a result can fill: the file then says what was not
    recorded instead of showing empty axes.

    Parameters
    ----------
    title : str
        The figure title (usually the model parameters and what the figure would show).
    lines : sequence of str
        One entry per missing item, each wrapped to the width and listed with a dash.
    width : float, optional
        Figure width in inches (default 8); the height follows from the text.

    Returns
    -------
    matplotlib.figure.Figure
        A figure with ``fig.axes == []``.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, 1.0), layout="constrained")
    text = wrap("\n".join(f"- {line}" for line in lines), fig, 9.0)
    head = 0.25 * (title.count("\n") + 1) + 0.2  # inches taken by the title
    height = head + 0.18 * (text.count("\n") + 1) + 0.15
    fig.set_figheight(height)
    fig.suptitle(title, fontsize="medium")
    fig.text(0.02, 1.0 - head / height, text, ha="left", va="top", fontsize=9)
    return fig


#: font size of the notes at the foot of a figure (points)
NOTE_FONTSIZE = 8.0


def panels(
    n: int,
    *,
    ncols: int,
    panel: tuple[float, float] = (4.6, 3.0),
    sharex: bool = False,
    notes: Sequence[str] = (),
    italic: bool = False,
    extra: tuple[float, float] = (0.0, 1.0),
) -> tuple[Figure, Any, list[Axes]]:
    """A constrained-layout figure with exactly ``n`` panels and, below them, the ``notes``.

    The notes (what a result did not record, caveats) are wrapped to the figure width in
    a strip of their own at the foot, so that neither a legend nor a label can cover them.

    Parameters
    ----------
    n : int
        Number of panels (>= 1); rows are filled left to right, no empty axes are made.
    ncols : int
        Panels per row (at most ``n``).
    panel : (float, float), optional
        Width and height of one panel, inches (default 4.6 x 3.0).
    sharex : bool, optional
        Share the x axis of all panels with the first (default False).
    notes : sequence of str, optional
        Lines written at the foot of the figure (empty ones are dropped).
    italic : bool, optional
        Italic notes (default False).
    extra : (float, float), optional
        Room added to the width and height, inches, for titles, labels and legends
        (default 0 x 1).

    Returns
    -------
    (Figure, Figure or SubFigure, list of Axes)
        The figure; the (sub)figure holding the panels, where legends placed "outside"
        go; the ``n`` panels.
    """
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    width = panel[0] * ncols + extra[0]
    height = panel[1] * nrows + extra[1]
    lines = [line for line in notes if line]
    fig = plt.figure(figsize=(width, height), layout="constrained")
    holder: Any = fig
    if lines:
        text = wrap("\n".join(lines), fig, NOTE_FONTSIZE)
        foot_h = 0.16 * (text.count("\n") + 1) + 0.12
        fig.set_figheight(height + foot_h)
        holder, foot = fig.subfigures(2, 1, height_ratios=[height, foot_h])
        foot.text(0.01, 0.5, text, ha="left", va="center", fontsize=NOTE_FONTSIZE,
                  style="italic" if italic else "normal")  # fmt: skip
    grid = holder.add_gridspec(nrows, ncols)
    axes: list[Axes] = []
    for j in range(n):
        r, c = divmod(j, ncols)
        share = axes[0] if (sharex and axes) else None
        axes.append(holder.add_subplot(grid[r, c], sharex=share))
    return fig, holder, axes


def save(fig: Figure, path: PathLike | None, *, dpi: int = 120) -> Figure:
    """Write ``fig`` to ``path`` (PNG, PDF, SVG by the suffix) with nothing clipped.

    Parent folders are created; the bounding box is the tight box around every artist, so
    titles, legends and notes outside the axes are in the file.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or path-like or None
        Where to write; nothing is written when None.
    dpi : int, optional
        Resolution of raster formats, dots per inch (default 120).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig``, unchanged.
    """
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    return fig
