"""The tables ``micromaser show`` prints: observables with z-scores, stages and energy books.

Plain text within :data:`WIDTH` = 80 columns: one row per
shown checkpoint with the trajectory estimates, their standard errors, the exact values and
the z-scores; for a protocol a table of its stages; and the battery's energy books at the
last checkpoint with the balance residual.
"""

from __future__ import annotations

import textwrap

import numpy as np

__all__ = ["WIDTH", "network_tables", "network_summary"]

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


# ------------------------------------------------------------------ networks
#: The exact solution's columns of ``micromaser show`` for a network: (header, field,
#: cavity index or None), two tables of six.
_NET_EXACT = (
    (("E_A", "energy", 0), ("E_B", "energy", 1), ("E_A+E_B", "total_energy", None),
     ("purity", "purity", None), ("purity A", "local_purity", 0),
     ("purity B", "local_purity", 1)),
    (("ergotropy", "ergotropy", None), ("local A", "local_ergotropy", 0),
     ("local B", "local_ergotropy", 1), ("collective", "collective_ergotropy", None),
     ("log neg.", "log_negativity", None), ("mutual inf.", "mutual_information", None)),
)  # fmt: skip
#: The ensemble's estimates over every checkpoint (a table of four columns).
_NET_ENERGIES = (("E_A", "energy", 0), ("E_B", "energy", 1), ("E_A+E_B", "total_energy", None))
#: Columns of one estimate with its error and z-score: ``-1.23456 ± 1e-03 (+0.4)``.
_NET_CELL = 23
#: The ensemble's estimates at the checkpoints that keep the joint state (one line each).
_NET_JOINT = (
    ("purity", "purity", None), ("purity A", "local_purity", 0),
    ("purity B", "local_purity", 1), ("ergotropy", "ergotropy", None),
    ("local ergotropy A", "local_ergotropy", 0), ("local ergotropy B", "local_ergotropy", 1),
    ("collective ergotropy", "collective_ergotropy", None),
    ("log negativity", "log_negativity", None), ("mutual information", "mutual_information", None),
)  # fmt: skip


def _value(result, field: str, i: int | None):
    """(values, stderr or None) of a field of a network result, one cavity's if ``i``."""
    v = getattr(result, field, None)
    if v is None:
        return None
    mean, se = (np.asarray(v, float), None) if isinstance(v, np.ndarray) else (
        np.asarray(v.mean, float), np.asarray(v.stderr, float))  # fmt: skip
    if i is not None:
        mean, se = mean[:, i], None if se is None else se[:, i]
    return mean, se


def _rows(ks: np.ndarray, rows: int) -> np.ndarray:
    return np.unique(np.linspace(0, ks.size - 1, min(rows, ks.size)).round().astype(int))


def _exact_at(ex, field: str, i: int | None, k: int) -> float:
    """The exact value at checkpoint ``k`` (NaN where the exact solution has none)."""
    if ex is None:
        return float("nan")
    hit = np.flatnonzero(np.asarray(ex.k) == k)
    got = _value(ex, field, i)
    return float(got[0][hit[0]]) if hit.size and got is not None else float("nan")


def network_tables(ens, ex, rows: int = 11) -> str:
    """The tables of ``micromaser show`` for a network: at most :data:`WIDTH` columns.

    The exact solution at ``rows`` checkpoints (energies and purities; ergotropies,
    negativity and mutual information); the trajectories' energies with standard errors and
    z-scores against the exact solution; the joint state's observables from the
    trajectories at each checkpoint that kept it (the last three), with the exact value
    and z-score.

    Parameters
    ----------
    ens : NetworkEnsemble or None
        The trajectories' result.
    ex : NetworkExactResult or None
        The exact solution.
    rows : int, optional
        Checkpoints in each table (evenly spread, first and last included).

    Returns
    -------
    str
        The tables, energies in units of hbar omega, entropies in nats.
    """
    lines: list[str] = []
    if ex is not None:
        lines.append("exact solution (energies in hbar omega, entropies in nats)")
        for table in _NET_EXACT:
            lines.append(f"{'k':>6} " + " ".join(f"{h:>11}" for h, _, _ in table))
            for j in _rows(ex.k, rows):
                cells = [_cell(_value(ex, f, i)[0][j], ".6g") for _, f, i in table]
                lines.append(f"{int(ex.k[j]):>6} " + " ".join(f"{c:>11}" for c in cells))
            lines.append("")
    if ens is None:
        return "\n".join(lines).rstrip()
    z_note = "; (z) against the exact solution" if ex is not None else ""
    lines.append(f"trajectories: estimate ± standard error{z_note}")
    shown = [(h, f, i) for h, f, i in _NET_ENERGIES if _value(ens, f, i) is not None]
    lines.append(f"{'k':>6} " + " ".join(f"{h:>{_NET_CELL}}" for h, _, _ in shown))
    for j in _rows(ens.k, rows):
        k = int(ens.k[j])
        cells = []
        for _, f, i in shown:
            mean, se = _value(ens, f, i)
            z = _z(mean[j], se[j], _exact_at(ex, f, i, k))
            text = "-" if not np.isfinite(mean[j]) else f"{_seven(mean[j])} ± {_cell(se[j], '.0e')}"
            cells.append(text if not np.isfinite(z) else f"{text} ({z:+.1f})")
        lines.append(f"{k:>6} " + " ".join(f"{c:>{_NET_CELL}}" for c in cells))
    rho_k = np.asarray(getattr(ens, "rho_k", ()), dtype=np.int64)
    for r in range(max(0, rho_k.size - 3), rho_k.size):
        k = int(rho_k[r])
        lines += ["", f"joint state from the trajectories at k = {k}:"]
        for label, f, i in _NET_JOINT:
            got = _value(ens, f, i)
            if got is None:
                continue
            mean, se = float(got[0][r]), float(got[1][r])
            x = _exact_at(ex, f, i, k)
            text = f"  {label:<21} {_cell(mean, '.6g'):>10} ± {_cell(se, '.1e'):<8}"
            if np.isfinite(x):
                z = _z(mean, se, x)
                text += f"  exact {x:.6g}" + (f", z {z:+.2f}" if np.isfinite(z) else "")
            lines.append(text)
    return "\n".join(lines)


def network_summary(ens, ex) -> str:
    """One or two lines after a network run: the result and the largest energy z-scores.

    Parameters
    ----------
    ens : NetworkEnsemble or None
        The trajectories' result.
    ex : NetworkExactResult or None
        The exact solution.

    Returns
    -------
    str
        The results' one-line descriptions, and the largest ``|z|`` of the energies over
        the checkpoints both have (when both are given).
    """
    lines = [repr(r) for r in (ex, ens) if r is not None]
    if ens is not None and ex is not None:
        worst = {}
        for label, f, i in _NET_ENERGIES:
            mean, se = _value(ens, f, i)
            zs = [_z(mean[j], se[j], _exact_at(ex, f, i, int(k))) for j, k in enumerate(ens.k)]
            zs = [abs(z) for z in zs if np.isfinite(z)]
            if zs:
                worst[label] = max(zs)
        if worst:
            lines.append("max |z| against the exact solver: "
                         + ", ".join(f"{k} {v:.2f}" for k, v in worst.items()))  # fmt: skip
    return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="  ") for line in lines)


def _model_text(m) -> str:
    """The parameters of a model (or a network) on one line, as the commands print them."""
    if hasattr(m, "topology"):  # a network of two cavities
        return m.describe() + _beam_text(m)
    c = m.c.real if complex(m.c).imag == 0 else m.c
    return (
        f"theta={m.theta:.10g}, q={m.q:g}, c={c:.6g}, gamma_tr={m.gamma_tr:g}, "
        f"nbar={m.nbar:g}, cutoff={m.cutoff}"
        + ("" if m.is_jaynes_cummings else f", {m.collision.describe()}")
        + _beam_text(m)
    )


def _beam_text(m) -> str:
    """``", poisson arrivals, Gaussian theta spread (sigma = 5%)"``; empty for an ideal beam."""
    arrivals, spread = getattr(m, "arrivals", None), getattr(m, "theta_spread", None)
    parts = [] if arrivals is None or arrivals.is_regular else [arrivals.describe()]
    parts += [] if spread is None or spread.is_none else [spread.describe()]
    return "".join(f", {p}" for p in parts)
