"""Argument checking shared by the model and the solvers.

Every check fails *before* any work with a ``ValueError`` whose message names
the parameter, the offending value and the allowed range.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from collections.abc import Callable, Iterable

import numpy as np

__all__ = [
    "real_in_range",
    "integer_at_least",
    "complex_number",
    "checkpoint_array",
    "checkpoint_count",
    "machine_memory",
    "check_memory",
    "format_bytes",
    "show",
    "collision_count",
    "MAX_COLLISIONS",
]


def show(value: object) -> str:
    """``repr(value)``, except for integers too long to print usefully.

    Python refuses to convert integers of more than 4300 digits to text; those (and any
    integer above ``2**1000``) are described by their order of magnitude, so that an error
    message about an absurd argument can always be formatted.

    Parameters
    ----------
    value : object
        Anything a user passed.

    Returns
    -------
    str
        ``repr(value)``, or ``"an integer of about 10^d"``, or ``"<type too large to show>"``
        for a container holding such an integer.

    Examples
    --------
    >>> show(0.25), show(10**2000)
    ('0.25', 'an integer of about 10^2000')
    """
    if isinstance(value, numbers.Integral) and abs(int(value)).bit_length() > 1000:  # type: ignore[arg-type]
        return _huge(value)
    try:
        return repr(value)
    except ValueError:  # a container holding such an integer
        return f"<{type(value).__name__} too large to show>"


def _describe(value: object) -> str:
    return f"{show(value)} ({type(value).__name__})"


def _huge(value: object) -> str:
    """An integer too large for a float, described without printing all its digits."""
    digits = int(abs(value).bit_length() * math.log10(2))  # type: ignore[arg-type]
    return f"an integer of about 10^{digits}"


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def real_in_range(
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    allowed: str | None = None,
) -> float:
    """Return ``value`` as a float if it is a finite real number in ``[low, high]``.

    Parameters
    ----------
    name : str
        Name of the parameter, for the error message.
    value : object
        The value to check; ``bool`` is refused, integers and numpy reals are accepted.
    low, high : float, optional
        Closed bounds (default: unbounded).
    allowed : str, optional
        Text describing the allowed range in the message (default: built from the bounds).

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    ValueError
        If ``value`` is not real, not finite, or outside ``[low, high]``; the message names
        ``name``, the value and the range.

    Examples
    --------
    >>> real_in_range("q", 0.25, 0.0, 1.0)
    0.25
    >>> real_in_range("q", 1.5, 0.0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: q must be in [0, 1], got 1.5
    """
    allowed = allowed or _range_text(low, high)
    if not _is_real(value):
        raise ValueError(f"{name} must be a real number {allowed}, got {_describe(value)}")
    try:
        x = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an integer beyond the floats
        raise ValueError(
            f"{name} must be a finite real number {allowed}, got {_huge(value)}"
        ) from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite real number {allowed}, got {x!r}")
    if not (low <= x <= high):
        raise ValueError(f"{name} must be {allowed}, got {x!r}")
    return x


def _range_text(low: float, high: float) -> str:
    if math.isinf(low) and math.isinf(high):
        return "(any finite value)"
    if math.isinf(high):
        return f">= {low:g}"
    if math.isinf(low):
        return f"<= {high:g}"
    return f"in [{low:g}, {high:g}]"


def integer_at_least(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer ``>= minimum``.

    Parameters
    ----------
    name : str
        Name of the parameter, for the error message.
    value : object
        The value to check; ``bool`` and floats (even integral ones) are refused.
    minimum : int
        Smallest allowed value.

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    ValueError
        If ``value`` is not an integer or is below ``minimum``.

    Examples
    --------
    >>> integer_at_least("cutoff", 40, 2)
    40
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_describe(value)}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {show(v)}")
    return v


#: Largest number of collisions: collision indices (checkpoints) must be exact both as
#: float64 (evenly spaced default checkpoints) and as int64 (the records). A run of 2**53
#: collisions would take years per trajectory, so this limit stops no real run.
MAX_COLLISIONS = 2**53


def collision_count(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer in ``[0, MAX_COLLISIONS]``.

    Parameters
    ----------
    name : str
        Name of the parameter (a number of collisions or a collision index).
    value : object
        The value to check.

    Returns
    -------
    int
        ``int(value)``, a number of collisions.

    Raises
    ------
    ValueError
        If ``value`` is not an integer, is negative, or exceeds :data:`MAX_COLLISIONS`
        (``2**53``, the largest index exact in float64).
    """
    n = integer_at_least(name, value, 0)
    if n > MAX_COLLISIONS:
        raise ValueError(
            f"{name} must be an integer in [0, 2**53 = {MAX_COLLISIONS}] (collision indices "
            f"must be exact in float64 and int64), got {show(n)}"
        )
    return n


def complex_number(name: str, value: object, max_abs: float, tol: float) -> complex:
    """Return ``value`` as a complex number with ``abs(value) <= max_abs + tol``.

    Parameters
    ----------
    name : str
        Name of the parameter (e.g. the qubit coherence ``c``).
    value : object
        Any Python or numpy number except ``bool``.
    max_abs : float
        Largest allowed modulus.
    tol : float
        Rounding allowance on the modulus (e.g. ``1e-12`` for ``abs(c) <= 1``).

    Returns
    -------
    complex
        ``complex(value)``, not rescaled (a modulus within ``tol`` above ``max_abs`` is
        kept as given).

    Raises
    ------
    ValueError
        If ``value`` is not a number, is not finite, or its modulus is too large.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Complex):
        raise ValueError(
            f"{name} must be a complex number with abs({name}) <= {max_abs:g}, "
            f"got {_describe(value)}"
        )
    try:
        z = complex(value)  # type: ignore[arg-type]
    except OverflowError:  # an integer beyond the floats
        raise ValueError(f"{name} must be finite, got {_huge(value)}") from None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise ValueError(f"{name} must be finite, got {z!r}")
    if abs(z) > max_abs + tol:
        raise ValueError(
            f"{name} must satisfy abs({name}) <= {max_abs:g}, got {value!r} (abs = {abs(z):.17g})"
        )
    return z


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1 (``"1.5 GiB"``).

    Parameters
    ----------
    n : float
        A number of bytes, ``>= 0``; Python integers beyond the floats are allowed.

    Returns
    -------
    str
        Three significant digits and a binary unit (B, KiB, ..., PiB), or ``"10^d B"``
        beyond ``2**1000`` bytes.

    Examples
    --------
    >>> format_bytes(1536 * 2**20), format_bytes(10**400)
    ('1.5 GiB', '10^400 B')
    """
    if n >= 2**1000:  # beyond a float: only the order of magnitude
        return f"10^{math.log10(n):.0f} B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError  # pragma: no cover


def _cgroup_memory_limit() -> int | None:
    """The memory limit of this process' control group (containers), if one is set."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit():
            return int(text)
    return None


def machine_memory() -> int | None:
    """Total physical memory of this machine in bytes (lowered to a container's limit).

    The *total*, not the currently free memory: a refusal must not depend on what else
    happens to run, and an allocation larger than the whole machine can never succeed.

    Returns
    -------
    int or None
        Bytes; the smaller of the physical memory and the cgroup limit (containers).
        ``None`` where the platform does not tell (then no memory check refuses anything).
    """
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        total = None
    cgroup = _cgroup_memory_limit()
    if total is None or total <= 0:
        return cgroup
    return total if cgroup is None else min(total, cgroup)


def check_memory(
    name: str, shown: str, needed: int, what: str, allowed: str | Callable[[int], str]
) -> None:
    """Refuse, before allocating, work whose memory exceeds this machine's memory.

    Parameters
    ----------
    name : str
        The parameter that sets the size (e.g. ``"cutoff"``).
    shown : str
        Its value as text, for the message.
    needed : int
        A lower bound of what the work will allocate, in bytes (a Python int: no overflow).
    what : str
        What the memory is for (e.g. ``"the one-step channel's spectrum (dense matrices)"``).
    allowed : str or callable
        The allowed range, or a function of the machine's memory in bytes returning it.

    Raises
    ------
    ValueError
        When ``needed`` exceeds :func:`machine_memory`; the message names the parameter,
        the memory needed and the machine's, and the allowed range. Nothing is raised
        where the machine's memory is unknown.
    """
    limit = machine_memory()
    if limit is None or needed <= limit:
        return
    text = allowed(limit) if callable(allowed) else allowed
    raise ValueError(
        f"{name}={shown} needs at least {format_bytes(needed)} of memory for {what}, more "
        f"than this machine has ({format_bytes(limit)}); {text}"
    )


def checkpoint_count(checkpoints: Iterable[int] | None, n_collisions: int) -> int | None:
    """How many checkpoints ``checkpoints`` holds, without materialising them.

    Parameters
    ----------
    checkpoints : iterable of int or None
        Collision indices, or ``None`` for every collision ``0 .. n_collisions``.
    n_collisions : int
        Number of collisions of the run.

    Returns
    -------
    int or None
        ``n_collisions + 1`` for ``None``; the length of a sized iterable (list, range,
        array), however large (``sys.maxsize`` beyond it); ``None`` for an iterator
        (unknown without consuming it).
    """
    if checkpoints is None:
        return n_collisions + 1
    try:
        return len(checkpoints)  # type: ignore[arg-type]
    except OverflowError:  # a range longer than sys.maxsize
        return sys.maxsize
    except TypeError:
        return None


def checkpoint_array(checkpoints: Iterable[int] | None, n_collisions: int) -> np.ndarray:
    """Validate checkpoints: strictly increasing integers in ``[0, n_collisions]``.

    Parameters
    ----------
    checkpoints : iterable of int or None
        Collision indices ``k`` at which results are recorded; ``None`` means every
        collision ``0, 1, ..., n_collisions``.
    n_collisions : int
        Number of collisions of the run.

    Returns
    -------
    ndarray of int64, shape (C,)
        The checkpoints.

    Raises
    ------
    ValueError
        If the sequence is empty, holds a non-integer or an index outside the range, or is
        not strictly increasing; the message names the offending position.

    Examples
    --------
    >>> checkpoint_array([0, 10, 100], 100)
    array([  0,  10, 100])
    """
    if checkpoints is None:
        return np.arange(n_collisions + 1, dtype=np.int64)
    if isinstance(checkpoints, (str, bytes)):
        raise ValueError(f"checkpoints must be a sequence of integers, got {checkpoints!r}")
    try:
        values = list(checkpoints)
    except TypeError:
        raise ValueError(
            f"checkpoints must be a sequence of integers, got {_describe(checkpoints)}"
        ) from None
    if not values:
        raise ValueError("checkpoints must contain at least one collision index, got []")
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise ValueError(f"checkpoints[{i}] must be an integer, got {_describe(v)}")
        if not 0 <= int(v) <= n_collisions:
            raise ValueError(
                f"checkpoints[{i}] = {int(v)} is outside [0, n_collisions={n_collisions}]"
            )
        out[i] = int(v)
    if np.any(np.diff(out) <= 0):
        bad = int(np.flatnonzero(np.diff(out) <= 0)[0]) + 1
        raise ValueError(
            f"checkpoints must be strictly increasing, but checkpoints[{bad}] = {out[bad]} "
            f"follows {out[bad - 1]}"
        )
    return out
