"""The tables ``micromaser show`` prints: observables with z-scores, stages and energy books.

Plain text within :data:`WIDTH` = 80 columns: one row per
shown checkpoint with the trajectory estimates, their standard errors, the exact values and
the z-scores; for a protocol a table of its stages; and the battery's energy books at the
last checkpoint with the balance residual.
"""

from __future__ import annotations

import textwrap

import numpy as np

__all__ = ["WIDTH"]

#: Width of the text that ``micromaser show`` and ``counts`` print (columns).
WIDTH = 80


def _series(result, name: str):
    """(values, stderr or None) of an observable or book of a result (None: not kept)."""
    v = getattr(result, name, None) if result is not None else None
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        return v.astype(float), None
    return np.asarray(v.mean, dtype=float), np.asarray(v.stderr, dtype=float)


def _at(result, name: str, k: int) -> float:
    """An observable or book of ``result`` at checkpoint ``k`` (NaN where not recorded)."""
    v = _series(result, name)
    hit = np.flatnonzero(np.asarray(result.k) == k) if v is not None else np.empty(0)
    return float(v[0][hit[0]]) if hit.size else float("nan")


def _stage_table(protocol, ens, ex) -> str:
    """The stages of a protocol: at most :data:`WIDTH` columns.

    Energy and ergotropy at each stage's end and the energy delivered in the stage (minus
    the change of ``energy_from_qubits``: what the cavity gave the qubits), from the exact
    solution when the file holds it, else from the trajectories' means.
    """
    ref = ex if ex is not None else ens
    source = "exact solution" if ex is not None else "trajectories' means"
    head = (f"{'#':>2} {'stage':<12} {'kind':<9} {'K':>6} {'k range':>13} {'E end':>10} "
            f"{'ergotropy':>10} {'delivered':>10}")  # fmt: skip
    lines = [f"stages (energies in hbar omega, {source}; delivered: to the qubits)", head]
    b = protocol.boundaries
    for s, st in enumerate(protocol.stages):
        start, end = int(b[s]), int(b[s + 1])
        delivered = _at(ref, "energy_from_qubits", start) - _at(ref, "energy_from_qubits", end)
        delivered += 0.0  # no "-0"
        cells = [_ten(_at(ref, "energy", end)), _ten(_at(ref, "ergotropy", end)),
                 _ten(delivered)]  # fmt: skip
        name = st.name if len(st.name) <= 12 else st.name[:11] + "~"
        span = f"{start + 1}..{end}"
        row = " ".join(f"{c:>10}" for c in cells)
        lines.append(f"{s:>2} {name:<12} {st.kind:<9} {st.collisions:>6} {span:>13} {row}")
    return "\n".join(lines) + "\n"


def _ten(x: float) -> str:
    """``x`` in at most ten characters (six significant digits, or four in e-notation)."""
    text = _cell(x, ".6g")
    return text if len(text) <= 10 else _cell(x, ".3e")


_BOOK_NAMES = ("energy_from_qubits", "energy_from_bath", "switching_work")


def _books_text(ens, ex) -> str:
    """The energy books at the last checkpoint (exact, and the trajectories' estimates)."""
    rows = []
    for label, r in (("exact", ex), ("trajectories", ens)):
        if r is None or _series(r, "energy_from_qubits") is None:
            continue
        i = -1
        got = {n: _series(r, n) for n in (*_BOOK_NAMES, "energy_from_resets", "energy")}
        value = {
            n: (float("nan"), None) if v is None else
            (float(v[0][i]), None if v[1] is None else float(v[1][i]))
            for n, v in got.items()
        }  # fmt: skip
        e = got["energy"][0]
        change = float(e[i] - e[0])
        resets = value["energy_from_resets"][0]
        total = sum(value[n][0] for n in _BOOK_NAMES if np.isfinite(value[n][0]))
        total += resets if np.isfinite(resets) else 0.0
        rows.append((label, int(r.k[i]), value, change, change - total))
    if not rows:
        return ""

    def cell(v: tuple) -> str:
        mean, se = v
        if not np.isfinite(mean):
            return "-"
        return f"{mean:.6g}" if se is None else f"{mean:.5g} ± {se:.1e}"

    lines = ["", "energy books at the last checkpoint (cumulative from k = 0, hbar omega)"]
    for label, k, value, change, residual in rows:
        lines.append(f"  {label} (k = {k}):")
        lines.append(f"    from qubits {cell(value['energy_from_qubits'])}; from bath "
                     f"{cell(value['energy_from_bath'])}; switching "
                     f"{cell(value['switching_work'])}")  # fmt: skip
        reset = value["energy_from_resets"][0]
        also = f"; resets {reset:.6g}" if np.isfinite(reset) and reset != 0.0 else ""
        lines.append(f"    E(k) - E(0) {change:.6g}{also}; balance residual {residual:.2e}")
    return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent=" " * 6) for line in lines)


_NAMES = ("energy", "purity", "fano", "ergotropy")
_CELL = 17  # columns of one observable in the tables of ``show``: 6 + 4 * (1 + 17) = 78


def _cell(x: float, spec: str) -> str:
    return "-" if not np.isfinite(x) else format(x, spec)


def _table(ens, ex, rows: int) -> str:
    """The checkpoint table of ``micromaser show``: at most :data:`WIDTH` columns.

    Trajectory estimates with their standard errors; when the file holds the exact solution,
    a second table of the exact values with the z-score of the estimate,
    ``(trajectories - exact) / standard error``, and the largest ``|z|`` of each observable
    over every checkpoint.
    """
    ref = ens if ens is not None else ex
    idx = np.unique(np.linspace(0, ref.k.size - 1, min(rows, ref.k.size)).round().astype(int))
    head = f"{'k':>6} " + " ".join(f"{n:>{_CELL}}" for n in _NAMES)
    if ens is None:
        lines = ["exact solution", head]
        for i in idx:
            cells = [_cell(getattr(ex, n)[i], ".7g") for n in _NAMES]
            lines.append(f"{int(ex.k[i]):>6} " + " ".join(f"{c:>{_CELL}}" for c in cells))
        return "\n".join(lines)
    lines = ["trajectories: estimate ± standard error", head]
    for i in idx:
        cells = []
        for n in _NAMES:
            e = getattr(ens, n)
            m, se = e.mean[i], e.stderr[i]
            cells.append("-" if not np.isfinite(m) else f"{_seven(m)} ± {_cell(se, '.1e')}")
        lines.append(f"{int(ens.k[i]):>6} " + " ".join(f"{c:>{_CELL}}" for c in cells))
    if ex is None:
        return "\n".join(lines)
    lines += ["", "exact solution (z = (trajectories - exact) / standard error)", head]
    shown = 0
    for i in idx:
        k = int(ens.k[i])
        j = np.searchsorted(ex.k, k)
        if j >= ex.k.size or ex.k[j] != k:
            continue
        cells = []
        for n in _NAMES:
            e, x = getattr(ens, n), float(getattr(ex, n)[j])
            z = _z(e.mean[i], e.stderr[i], x)
            cell = "-" if not np.isfinite(x) else f"{x:.6g}"
            cells.append(cell if not np.isfinite(z) else f"{cell} ({z:+.2f})")
        lines.append(f"{k:>6} " + " ".join(f"{c:>{_CELL}}" for c in cells))
        shown += 1
    if not shown:
        return "\n".join(lines[:-3] + ["(the exact solution has none of these checkpoints)"])
    from ..statistics.compare import compare

    worst = compare(ens, ex).max_abs_z
    text = "max |z| at any checkpoint: " + ", ".join(
        f"{n} {worst[n]:.2f}" for n in _NAMES if n in worst
    )
    return "\n".join(lines + textwrap.wrap(text, WIDTH, subsequent_indent="  "))


def _seven(x: float) -> str:
    """``x`` in about seven characters: five decimals below 10, fewer above."""
    magnitude = int(np.floor(np.log10(abs(x)))) if x != 0 else 0
    return f"{x:.{min(5, max(0, 5 - magnitude))}f}"


def _z(mean: float, stderr: float, exact: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mean - exact) / stderr if stderr > 0 else float("nan")
