r"""``micromaser counts --scgf``: theta(s) and the rate function I(x) of a model's counts.

The model is that of a result file, each point of a run file, or the built-in default of
``micromaser run``. For each count it computes :func:`trajectories.counting.rate_function`
on a grid of fields ``s`` (one computation gives :math:`\theta(s)`, :math:`x(s) =
-\theta'(s)` and :math:`I(x(s))`), the cumulant rates :math:`-\theta'(0)` (mean count per
collision) and :math:`\theta''(0)` (variance per collision) from five-point differences of
:func:`trajectories.counting.scgf` at ``s = 0`` (``docs/MODEL.md``, Sec. 10), prints a short
table, and writes ``NAME-scgf.csv`` (every value, with a header saying what they are) and
the figure ``NAME-scgf.png`` of :func:`trajectories.plot.large_deviations.scgf_figure`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .._version import __version__
from ..progress import Progress, ProgressArg
from .show_tables import WIDTH, _model_text

__all__ = [
    "S_RANGE",
    "S_POINTS",
    "CUMULANT_STEP",
    "TABLE_ROWS",
    "scgf_command",
    "add_scgf_arguments",
]

#: Default fields ``(smin, smax)`` of ``--s-range``.
S_RANGE = (-2.0, 2.0)
#: Default number of fields (``--s-points``): a step of 0.02 on the default range.
S_POINTS = 201
#: Step ``h`` of the five-point differences of theta at ``s = 0`` (truncation ``~h^4``,
#: round-off ``~1e-13 / h^2`` for the second derivative).
CUMULANT_STEP = 1e-3
#: Rows of the printed table (evenly spaced fields; the CSV holds them all).
TABLE_ROWS = 11
#: Smallest ``|theta(0)|`` the table mentions (below: rounding, not leakage).
LEAK_SHOWN = 1e-12
_X_HEAD = "x(s) = -theta'(s)"
#: Fields per call of ``rate_function`` between two progress reports.
_BLOCK = 20


@dataclasses.dataclass(frozen=True)
class _Job:
    """One model to treat: its file stem, folder of the outputs and where it came from."""

    name: str
    model: Any
    folder: Path
    origin: str


def scgf_command(
    source: str | os.PathLike | None = None,
    output_folder: str | os.PathLike | None = None,
    formats: Sequence[str] = ("png",),
    *,
    counts: Sequence[str] = ("g",),
    s_range: Sequence[float] = S_RANGE,
    s_points: int = S_POINTS,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
    progress: ProgressArg = None,
    file: TextIO | None = None,
) -> list[Path]:
    r"""What ``micromaser counts --scgf [SOURCE]`` does: theta(s) and I(x), table, CSV, figure.

    For each model and count: :math:`\theta(s)` per collision on ``s_points`` fields evenly
    spaced in ``s_range`` with :math:`x(s) = -\theta'(s)` and :math:`I(x(s))` from
    :func:`trajectories.counting.rate_function`; the cumulant rates :math:`-\theta'(0)` and
    :math:`\theta''(0)` (step :data:`CUMULANT_STEP`). Prints :data:`TABLE_ROWS` rows of the
    table and the cumulant rates (at most 80 columns), then writes ``NAME-scgf.csv`` (columns
    ``count, s, theta, x, I``; ``#`` lines before them give the source, the model, the
    detection and the package version) and ``NAME-scgf.FORMAT``
    (:func:`~trajectories.plot.large_deviations.scgf_figure`), one ``wrote PATH`` line each.

    Parameters
    ----------
    source : str or path-like, optional
        A result file (``.h5``: its model), a run file (``.toml``: the model of each point)
        or None: the built-in default model of ``micromaser run``.
    output_folder : str or path-like, optional
        Folder of the files; default next to the result file, else the run file's (or the
        default's) output folder, where ``micromaser run`` writes the result.
    formats : sequence of str, optional
        Figure formats, default ``("png",)``.
    counts : sequence of str, optional
        Counts among ``"g", "e", "emission", "absorption", "net"``, or ``("all",)`` for
        those worth showing (:func:`~trajectories.plot.counting.default_counts`: the bath
        counts only with loss). Default ``("g",)``: qubits leaving in g.
    s_range : (float, float), optional
        ``(smin, smax)``, finite, ``smin < smax`` (default :data:`S_RANGE`).
    s_points : int, optional
        Number of fields, at least 3 (default :data:`S_POINTS`).
    efficiency, misread : optional
        Detection, as for :func:`trajectories.counting.scgf` (misreads apply to the qubit
        counts only).
    progress : None, bool or callable, optional
        Progress over the eigenvalue computations (:mod:`trajectories.progress`).
    file : text stream, optional
        Where to print; default ``sys.stdout``.

    Returns
    -------
    list of pathlib.Path
        The files written (per model: the CSV, then the figures).

    Raises
    ------
    ValueError
        Bad fields, counts or detection (one line naming the option, before any work); a
        network or a protocol (the command treats one model; the Python function takes
        them); a model whose theta(s) the solver refuses (a collision schedule that never
        repeats, a leading eigenvalue that is not separated), with the solver's reason.
    """
    from ..solvers.counting.scgf import scgf

    out = sys.stdout if file is None else file
    s = _fields(s_range, s_points)
    counts = _counts(counts)
    det = _detection(efficiency, misread)
    jobs = _jobs(source, output_folder)
    work = [(job, c) for job in jobs for c in _job_counts(job.model, counts)]
    for folder in dict.fromkeys(j.folder for j in jobs):
        _check_folder(folder)
    h = CUMULANT_STEP
    stencil = h * np.arange(-2.0, 3.0)
    near0 = {}  # first pass (5 solves each): the refusals come before the long work
    for job, c in work:
        try:
            near0[job.name, c] = scgf(job.model, stencil, c, **_kw(c, efficiency, misread)).theta
        except ValueError as err:
            raise ValueError(f"{job.name}: theta(s) of {c!r} refused: {err}") from None
    curves: dict[str, list] = {job.name: [] for job in jobs}
    with Progress(progress, len(work) * 3 * s.size, desc="theta(s)", unit=None) as report:
        done = 0
        for job, c in work:
            rate, done = _rate_function(job, c, s, efficiency, misread, report, done)
            th = near0[job.name, c]
            d1 = (th[0] - 8.0 * th[1] + 8.0 * th[3] - th[4]) / (12.0 * h)
            d2 = (-th[0] + 16.0 * th[1] - 30.0 * th[2] + 16.0 * th[3] - th[4]) / (12.0 * h * h)
            curves[job.name].append((rate, -d1, d2, th[2]))
    written: list[Path] = []
    for job in jobs:
        print(textwrap.fill(f"== {job.name}: {_model_text(job.model)}", WIDTH,
                            subsequent_indent="   ", break_long_words=False), file=out)  # fmt: skip
        for rate, mean, var, th0 in curves[job.name]:
            print(_table(rate, mean, var, th0, _detection(**_kw(rate.count, efficiency, misread))),
                  file=out)  # fmt: skip
        written += _write(job, curves[job.name], det, formats)
    for p in written:
        print(f"wrote {p}", file=out)
    return written


def add_scgf_arguments(counts: argparse.ArgumentParser) -> None:
    """Add the options of ``--scgf`` to the parser of ``micromaser counts``.

    Parameters
    ----------
    counts : argparse.ArgumentParser
        The parser of the ``counts`` command; the options default to None (the command
        line resolves them to :data:`S_RANGE`, :data:`S_POINTS` and ``("g",)``, and refuses
        them without ``--scgf``).

    Returns
    -------
    None
    """
    scgf = counts.add_argument_group("large deviations (--scgf)")
    scgf.add_argument("--scgf", action="store_true", help="theta(s) and the rate function I(x) "
                      "of the counts: a table, NAME-scgf.csv and NAME-scgf.png")  # fmt: skip
    scgf.add_argument("--count", nargs="+", metavar="COUNT", help="g, e, emission, absorption, "
                      "net, or all (the bath counts only with loss) (default: g)")  # fmt: skip
    scgf.add_argument("--s-range", type=float, nargs=2, metavar=("SMIN", "SMAX"),
                      help=f"counting fields (default: {S_RANGE[0]:g} {S_RANGE[1]:g})")  # fmt: skip
    scgf.add_argument("--s-points", type=int, metavar="S",
                      help=f"number of fields, at least 3 (default: {S_POINTS})")  # fmt: skip


def _fields(s_range: Sequence[float], s_points: int) -> np.ndarray:
    try:
        smin, smax = (float(v) for v in s_range)
    except (TypeError, ValueError):
        raise ValueError(f"--s-range must be two numbers SMIN SMAX, got {s_range!r}") from None
    if not (math.isfinite(smin) and math.isfinite(smax) and smin < smax):
        raise ValueError(
            f"--s-range SMIN SMAX must be finite with SMIN < SMAX, got {smin:g} {smax:g}"
        )
    if isinstance(s_points, bool) or not isinstance(s_points, (int, np.integer)) or s_points < 3:
        raise ValueError(f"--s-points must be an integer >= 3, got {s_points!r}")
    return np.linspace(smin, smax, int(s_points))


def _counts(counts: Sequence[str]) -> tuple[str, ...]:
    from ..channels.tilted import COUNTS

    chosen = tuple(dict.fromkeys([counts] if isinstance(counts, str) else counts))
    bad = [c for c in chosen if c not in (*COUNTS, "all")]
    if not chosen or bad:
        files = [c for c in bad if Path(c).suffix in (".h5", ".toml")]
        hint = f" (put the file {files[0]} before --count)" if files else ""
        raise ValueError(
            f"--count must be among {', '.join(COUNTS)} or all, got {bad or 'none'}{hint}"
        )
    if "all" in chosen and len(chosen) > 1:
        raise ValueError("--count all stands alone: give 'all' or a list of counts")
    return chosen


def _detection(efficiency: float, misread: tuple[float, float]):
    from ..channels.tilted import Detection

    return Detection(efficiency, misread)  # one line naming the parameter when out of range


def _kw(count: str, efficiency: float, misread: tuple[float, float]) -> dict[str, Any]:
    from ..channels.tilted import QUBIT_COUNTS

    return {"efficiency": efficiency, "misread": misread if count in QUBIT_COUNTS else (0.0, 0.0)}


def _job_counts(model: Any, counts: tuple[str, ...]) -> tuple[str, ...]:
    if counts != ("all",):
        return counts
    from ..plot.counting import default_counts

    return default_counts(model)


def _jobs(source: str | os.PathLike | None, output_folder: str | os.PathLike | None) -> list[_Job]:
    """The models to treat, refused before any work when theta(s) is not theirs to have."""
    from . import io
    from .presets import preset_points
    from .runfile import load_run_file

    chosen = Path(output_folder) if output_folder is not None else None
    if source is not None and Path(source).suffix != ".toml":
        rec = io.load(source)
        what = "a network of two cavities" if hasattr(rec.model, "topology") else None
        if rec.protocol is not None:
            what = f"a protocol of {len(rec.protocol.stages)} stages"
        if what:
            raise ValueError(
                f"{source} holds {what}: the command treats one model; from Python, "
                "tj.counting.scgf takes a Network or a protocol's Stage"
            )
        return [_Job(rec.path.stem, rec.model, chosen or rec.path.parent, str(source))]
    points = load_run_file(source) if source is not None else preset_points("default")
    origin = str(source) if source is not None else "the built-in default model"
    jobs = []
    for p in points:
        what = "a network of two cavities" if hasattr(p.model, "topology") else None
        if p.protocol is not None:
            what = f"a protocol of {len(p.protocol.stages)} stages"
        if what:
            raise ValueError(f"{origin}: point {p.name} is {what}: the command treats one "
                             "model; from Python, tj.counting.scgf takes a Network or a "
                             "protocol's Stage")  # fmt: skip
        jobs.append(_Job(p.name, p.model, chosen or Path(p.output.folder), origin))
    return jobs


def _check_folder(folder: Path) -> None:
    from .runner import _check_writable

    _check_writable(folder)


def _rate_function(job, count, s, efficiency, misread, report, done):
    """``rate_function`` over ``s`` in blocks of :data:`_BLOCK` fields, reporting progress."""
    from ..solvers.counting.scgf import RateFunction, rate_function

    parts = []
    for i in range(0, s.size, _BLOCK):
        block = s[i : i + _BLOCK]
        try:
            parts.append(rate_function(job.model, count, block, **_kw(count, efficiency, misread)))
        except ValueError as err:
            raise ValueError(f"{job.name}: theta(s) of {count!r} refused: {err}") from None
        done += 3 * block.size
        report(done, report.total)
    joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "rate", "theta")}
    return RateFunction(count=count, s=s, **joined), done


def _table(rate, mean: float, var: float, theta0: float, det) -> str:
    from ..plot.counting import LABELS

    s = rate.s
    rows = np.unique(np.round(np.linspace(0, s.size - 1, min(s.size, TABLE_ROWS))).astype(int))
    head = (f"{rate.count} ({LABELS[rate.count]}), per collision, {s.size} fields s in "
            f"[{s[0]:g}, {s[-1]:g}]" + ("" if det.ideal else f"; {det.describe()}"))  # fmt: skip
    lines = textwrap.wrap(head, WIDTH, subsequent_indent="  ")
    lines.append(f"{'s':>10} {'theta(s)':>18} {_X_HEAD:>21} {'I(x)':>18}")
    lines += [f"{s[i]:>10.4g} {rate.theta[i]:>18.10g} {rate.x[i]:>21.10g} {rate.rate[i]:>18.10g}"
              for i in rows]  # fmt: skip
    q = f", Mandel Q = {var / mean - 1.0:.6g}" if mean > 0 else ""
    tail = (f"cumulant rates at s = 0: mean -theta'(0) = {mean:.10g}, variance theta''(0) = "
            f"{var:.10g}{q}" + (f"; theta(0) = {theta0:.6g} = ln(1 - leakage through the "
            "cutoff per collision)" if abs(theta0) > LEAK_SHOWN else ""))  # fmt: skip
    lines += textwrap.wrap(tail, WIDTH, subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(lines)


def _write(job: _Job, curves: list, det, formats: Sequence[str]) -> list[Path]:
    """``NAME-scgf.csv`` and ``NAME-scgf.FORMAT`` of one model."""
    from .. import plot
    from ..plot.large_deviations import scgf_figure

    job.folder.mkdir(parents=True, exist_ok=True)
    csv = job.folder / f"{job.name}-scgf.csv"
    means = ", ".join(f"{r.count} {m:.12g}" for r, m, _, _ in curves)
    variances = ", ".join(f"{r.count} {v:.12g}" for r, _, v, _ in curves)
    header = [
        f"micromaser counts --scgf: large deviations of the counts, trajectories {__version__}",
        f"source: {job.origin}",
        f"model: {_model_text(job.model)}",
        f"model (repr): {job.model!r}",
        f"detection: {det.describe()} (misreads apply to the qubit counts g and e only)",
        "theta(s) = lim_K ln E[exp(-s N_K)] / K per collision; x(s) = -theta'(s) (central "
        "difference, step 1e-5); I = I(x(s)) = -s x(s) - theta(s) per collision",
        f"mean -theta'(0): {means}; variance theta''(0): {variances} (five-point "
        f"differences, step {CUMULANT_STEP:g})",
    ]
    with csv.open("w", encoding="utf-8") as fh:
        fh.writelines(f"# {line}\n" for line in header)
        fh.write("count,s,theta,x,I\n")
        for rate, *_ in curves:
            for row in zip(rate.s, rate.theta, rate.x, rate.rate, strict=True):
                fh.write(rate.count + "," + ",".join(f"{v:.17g}" for v in row) + "\n")
    written = [csv]
    fig = scgf_figure([c[0] for c in curves], typical=[c[1] for c in curves], model=job.model,
                      subtitle=None if det.ideal else det.describe())  # fmt: skip
    for fmt in formats:
        path = job.folder / f"{job.name}-scgf.{fmt}"
        plot.save(fig, path)
        written.append(path)
    plot.close(fig)
    return written
