"""Progress of long computations: a bar where a person watches, a hook for programs.

Every long computation of the package (:func:`trajectories.simulate`, the exact counting
distributions of :mod:`trajectories.solvers.counting`, ``micromaser run`` and
``micromaser counts``, the scripts of ``analysis/``) takes a ``progress`` argument with the
same meaning:

- ``None`` (the default): automatic. A bar when a person watches (stderr is a terminal, or
  the code runs in a Jupyter kernel); nothing otherwise (pipes, CI, batch jobs, tests).
- ``True``: always report. A `tqdm <https://tqdm.github.io>`_ bar on a terminal, a widget
  in a notebook (with ``ipywidgets`` installed; a text bar without it); when stderr is not
  a terminal (a log file), a plain line at most every :data:`LOG_INTERVAL` seconds and one
  at the end, so that a log holds a few readable lines and no carriage returns.
- ``False``: nothing.
- a callable ``hook(done, total)``: called with integers after each unit of work (``done``
  never decreases and ends at ``total`` when the work completes); nothing is displayed.

:class:`Progress` turns any of these into one reporter; :func:`track` wraps an iterable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

__all__ = ["LOG_INTERVAL", "ProgressArg", "Progress", "watched", "in_notebook", "track"]

#: Seconds between two plain progress lines in a log (stderr not a terminal).
LOG_INTERVAL = 60.0

#: What a ``progress`` argument accepts: ``None`` (auto), ``True``, ``False`` or a hook.
ProgressArg = bool | None | Callable[[int, int], Any]

_LINE_FORMAT = (
    "{desc}{n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {elapsed} elapsed, {remaining} left"
)
_LINE_FORMAT_NO_UNIT = "{desc}{percentage:.0f}%, {elapsed} elapsed, {remaining} left"
_BAR_FORMAT_NO_UNIT = "{percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"
_T = TypeVar("_T")


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (where a widget can be shown).

    Returns
    -------
    bool
        ``True`` inside an IPython kernel (Jupyter, VS Code notebooks), ``False`` in a plain
        interpreter or a terminal IPython.
    """
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel brings IPython
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no such method, or a closed stream
        return False


def watched(stream: TextIO | None = None) -> bool:
    """Whether a person is likely watching: ``stream`` is a terminal, or a notebook runs us.

    Parameters
    ----------
    stream : text stream, optional
        Where a bar would be drawn; default ``sys.stderr``.

    Returns
    -------
    bool
        The decision of ``progress=None`` (automatic): show a bar, or stay silent.
    """
    return in_notebook() or _isatty(sys.stderr if stream is None else stream)


def _bar_class() -> Any:
    """tqdm's notebook widget in a Jupyter kernel with ipywidgets, else the text bar.

    ``tqdm.auto`` makes the same choice but warns when ipywidgets is missing; here the text
    bar is used silently then (Jupyter renders its carriage returns).
    """
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm

    return tqdm


class Progress:
    """One reporter for any ``progress`` argument: call it as ``report(done, total)``.

    Use it as a context manager (or call :meth:`close`) so that a bar is closed and the last
    line of a log is written, also when the work stops early.

    Parameters
    ----------
    progress : None, bool or callable
        The ``progress`` argument of the calling function (module docstring): ``None``
        automatic, ``True`` always, ``False`` never, or a hook ``hook(done, total)``.
    total : int
        Units of work expected (e.g. trajectories); may be revised by a later call.
    desc : str, optional
        Label before the bar (e.g. ``"exact distribution of g"``).
    unit : str or None, optional
        Name of one unit (``"trajectories"``); ``None`` for abstract units, shown as a
        percentage only. Default ``"it"``.
    stream : text stream, optional
        Where to draw; default ``sys.stderr``.
    interval : float, optional
        Seconds between two plain lines in a log (stream not a terminal); default
        :data:`LOG_INTERVAL`.

    Attributes
    ----------
    mode : {"off", "hook", "bar", "lines"}
        What the reporter does: nothing, call the hook, draw a tqdm bar, or write plain
        lines (a log).

    Raises
    ------
    TypeError
        If ``progress`` is none of ``None``, ``True``, ``False`` or a callable.

    Examples
    --------
    >>> seen = []
    >>> with Progress(lambda done, total: seen.append((done, total)), 3) as report:
    ...     for i in range(1, 4):
    ...         report(i, 3)
    >>> seen
    [(1, 3), (2, 3), (3, 3)]
    >>> Progress(False, 10).mode
    'off'
    """

    def __init__(
        self,
        progress: ProgressArg,
        total: int,
        *,
        desc: str | None = None,
        unit: str | None = "it",
        stream: TextIO | None = None,
        interval: float = LOG_INTERVAL,
    ):
        self.total = int(total)
        self.done = 0
        self.desc = desc
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.interval = float(interval)
        self._hook: Callable[[int, int], Any] | None = None
        self._bar: Any = None
        self._start = time.monotonic()
        self._last_line = self._start
        self._line_done = -1
        self._closed = False
        if callable(progress) and not isinstance(progress, bool):
            self.mode = "hook"
            self._hook = progress
        elif progress is None:
            self.mode = "bar" if watched(self.stream) else "off"
        elif progress is True or progress is False:
            if not progress:
                self.mode = "off"
            else:
                self.mode = "bar" if watched(self.stream) else "lines"
        else:
            raise TypeError(
                f"progress must be None (automatic), True, False or a callable "
                f"hook(done, total), got {progress!r}"
            )
        if self.mode == "bar":
            options: dict[str, Any] = {"total": self.total, "desc": desc, "leave": True}
            if unit is None:
                options["bar_format"] = (": " if desc else "").join(("{desc}", _BAR_FORMAT_NO_UNIT))
            else:
                options["unit"] = f" {unit}"
            if not in_notebook():
                options.update(file=self.stream, dynamic_ncols=True, mininterval=0.5)
            self._bar = _bar_class()(**options)

    @property
    def active(self) -> bool:
        """Whether anything is shown or called (``mode != "off"``)."""
        return self.mode != "off"

    @property
    def displayed(self) -> bool:
        """Whether a person sees the report (a bar or log lines, not a hook)."""
        return self.mode in ("bar", "lines")

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report ``done`` units of ``total`` (default: the total given so far).

        Parameters
        ----------
        done : int
            Units finished so far; a smaller value than the last one is ignored.
        total : int, optional
            A revised total (e.g. once the size of the work is known).
        """
        if total is not None and int(total) != self.total:
            self.total = int(total)
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()
        done = int(done)
        if done < self.done:
            return
        step, self.done = done - self.done, done
        if self.mode == "hook":
            self._hook(done, self.total)
        elif self.mode == "bar":
            self._bar.update(step)
        elif self.mode == "lines" and done != self._line_done:
            now = time.monotonic()
            if done >= self.total or now - self._last_line >= self.interval:
                self._write_line(now)

    def _write_line(self, now: float) -> None:
        from tqdm.std import tqdm

        desc = f"{self.desc}: " if self.desc else ""
        line = tqdm.format_meter(
            self.done, self.total, now - self._start, prefix=desc, unit=self.unit or "",
            bar_format=_LINE_FORMAT if self.unit else _LINE_FORMAT_NO_UNIT,
        )  # fmt: skip
        self.stream.write(line + "\n")
        self.stream.flush()
        self._last_line, self._line_done = now, self.done

    def stage(self, start: float, size: float) -> Callable[[int, int], None]:
        """A hook for one part of the work, to pass as the ``progress`` of a sub-computation.

        Parameters
        ----------
        start : float
            Units of the whole done before this part.
        size : float
            Units of the whole this part stands for.

        Returns
        -------
        callable
            ``hook(done, total)`` reporting ``start + size * done / total`` of the whole.
        """

        def hook(done: int, total: int) -> None:
            self(int(start + size * min(done, total) / max(total, 1)))

        return hook

    def write(self, message: str) -> None:
        """Print a message where the report goes (above a bar), if anything is displayed.

        Parameters
        ----------
        message : str
            One line, without the trailing newline.
        """
        if self.mode == "bar":
            self._bar.write(message, file=self.stream)
        elif self.mode == "lines":
            self.stream.write(message + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the report: close a bar; in a log, write the last line if not yet written."""
        if self._closed:
            return
        self._closed = True
        if self.mode == "bar":
            self._bar.close()
        elif self.mode == "lines" and self._line_done != self.done:
            self._write_line(time.monotonic())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(
    items: Iterable[_T],
    progress: ProgressArg = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
) -> Iterator[_T]:
    """Iterate over ``items``, reporting one unit of progress per item.

    Parameters
    ----------
    items : iterable
        The work, one item at a time (e.g. the cases of an analysis).
    progress : None, bool or callable, optional
        As for :class:`Progress`; default ``None`` (a bar when a person watches).
    total : int, optional
        Number of items; default ``len(items)``.
    desc : str, optional
        Label before the bar.
    unit : str, optional
        Name of one item (``"cases"``).

    Yields
    ------
    object
        The items of ``items``, in order.

    Examples
    --------
    >>> seen = []
    >>> [x * x for x in track([1, 2, 3], lambda d, t: seen.append(d))], seen
    ([1, 4, 9], [0, 1, 2, 3])
    """
    items = list(items) if total is None and not hasattr(items, "__len__") else items
    n = len(items) if total is None else int(total)  # type: ignore[arg-type]
    with Progress(progress, n, desc=desc, unit=unit) as report:
        report(0)
        for i, item in enumerate(items, 1):
            yield item
            report(i)
