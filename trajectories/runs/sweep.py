"""Sweeps: one combined dataset for the points of a swept run file, with the sweep as dimensions.

A run file with list-valued keys (:mod:`trajectories.runs.runfile`) runs one point per
parameter combination, each to its own result file ``FOLDER/NAME_key-value....h5``. After
the points, ``micromaser run`` writes :func:`write_sweep`'s combined file
``FOLDER/NAME-sweep.nc`` and :func:`load_sweep` reads it back as an ``xarray.Dataset``.

Layout of the combined file (netCDF-4: HDF5 with dimension scales, written with h5py alone,
so a run needs no xarray)::

    /   attrs: format, format_version, package, version, created, sweep ("grid" or
               "points"), sweep_parameters (space-separated), n_points, missing_points, and
               the model's parameters that every point shares
        dimensions: one per sweep parameter when the points form a grid (their outer
               product: a "product" sweep, or a "zip" sweep of one key), else "point" with
               the parameters as coordinates along it; then k (collisions), k_rho (the
               checkpoints with a density matrix), n (photon number)
        variables over (sweep..., k): energy, energy_stderr, purity, purity_stderr, fano,
               fano_stderr, ergotropy, ergotropy_stderr, leakage (the trajectories'), and
               exact_energy, exact_purity, exact_fano, exact_ergotropy, exact_entropy,
               exact_leakage (the exact solution at the same checkpoints); the energy books
               energy_from_qubits, switching_work, energy_from_bath (with _stderr) and
               exact_energy_from_qubits, ... when the results have them
        over (sweep..., k_rho, n): populations; over (sweep..., k, n): exact_populations
        over (sweep...): n_trajectories, leaked_trajectories (-1: missing), seed (text),
               seconds, complete (the point's result file was read), result_file

A sweep of a network (``[network]``) has the network's variables instead
(:func:`trajectories.runs.network_io.sweep_arrays`: per-cavity ones over ``(sweep..., k,
cavity)``, the joint state's over ``k_rho``, the exact ones as ``exact_<name>``, the reduced
photon distributions over ``n_a`` and ``n_b``).

Points whose checkpoints or cutoffs differ share the union of the coordinates; values a
point does not have are NaN. A point whose result file is missing (a failed point of a
``--keep-going`` sweep) is NaN throughout, with ``complete`` false.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import DISTRIBUTION, require
from .._version import __version__
from ..solvers.montecarlo.result import ESTIMATES
from . import io, network_io

log = logging.getLogger("trajectories")

__all__ = ["SWEEP_FORMAT", "SWEEP_SUFFIX", "sweep_path", "write_sweep", "load_sweep"]

#: The ``format`` attribute of a combined sweep file.
SWEEP_FORMAT = "micromaser-trajectories sweep"
#: The combined file of the sweep ``NAME`` is ``FOLDER/NAME`` + this suffix.
SWEEP_SUFFIX = "-sweep.nc"
#: The exact solution's observables in a combined file (as ``exact_<name>``, over ``k``).
_EXACT = ("energy", "purity", "fano", "ergotropy", "entropy", "leakage")
#: The energy books (``docs/MODEL.md``, Sec. 12), from the ensemble (with ``_stderr``) and
#: from the exact solution (``exact_<name>``), over ``k``, when the results have them.
_BOOKS = ("energy_from_qubits", "switching_work", "energy_from_bath")


def sweep_path(folder: str | os.PathLike, name: str) -> Path:
    """Where the combined file of a sweep goes.

    Parameters
    ----------
    folder : str or path-like
        The sweep's output folder (``output.folder``).
    name : str
        The sweep's name (``output.name``, without the points' suffixes).

    Returns
    -------
    pathlib.Path
        ``folder/NAME-sweep.nc``.
    """
    return Path(folder) / f"{name}{SWEEP_SUFFIX}"


def _point_arrays(rec: io.RunRecord) -> dict[str, tuple[tuple[str, ...], tuple, np.ndarray]]:
    """Variables of one point: name -> (dims, coordinates along them, values)."""
    if network_io.is_network_result(rec.exact or rec.ensemble):
        return network_io.sweep_arrays(rec)
    out: dict[str, tuple[tuple[str, ...], tuple, np.ndarray]] = {}
    ens, ex = rec.ensemble, rec.exact
    n = np.arange(rec.model.cutoff)
    k = None
    if ens is not None:
        k = np.asarray(ens.k)
        for name in ESTIMATES:
            est = getattr(ens, name)
            out[name] = (("k",), (k,), est.mean)
            out[f"{name}_stderr"] = (("k",), (k,), est.stderr)
        for name in _BOOKS:
            est = getattr(ens, name, None)
            if est is not None:
                out[name] = (("k",), (k,), est.mean)
                out[f"{name}_stderr"] = (("k",), (k,), est.stderr)
        out["leakage"] = (("k",), (k,), ens.leakage)
        k_rho = k[np.asarray(ens.rho_index, dtype=np.intp)]
        out["populations"] = (("k_rho", "n"), (k_rho, n), ens.populations)
        out["n_trajectories"] = ((), (), np.int64(ens.n_trajectories))
        out["leaked_trajectories"] = ((), (), np.int64(ens.leaked_trajectories))
        out["seed"] = ((), (), np.array(str(ens.seed), dtype=object))
        out["seconds"] = ((), (), np.float64(ens.seconds))
    if ex is not None:
        keep = np.ones(ex.k.size, bool) if k is None else np.isin(ex.k, k)
        kx = np.asarray(ex.k)[keep]
        for name in _EXACT:
            out[f"exact_{name}"] = (("k",), (kx,), getattr(ex, name)[keep])
        for name in _BOOKS:
            book = getattr(ex, name, None)
            if book is not None:
                out[f"exact_{name}"] = (("k",), (kx,), np.asarray(book)[keep])
        out["exact_populations"] = (("k", "n"), (kx, n), ex.populations[keep])
    return out


def _coordinate(values: Sequence[Any]) -> np.ndarray:
    """A sweep parameter's values as an array HDF5 and netCDF store (text if mixed)."""
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return np.asarray(values)
    if all(isinstance(v, numbers.Complex) and not isinstance(v, bool) for v in values):
        arr = np.asarray(values, dtype=np.complex128)
        return arr.real if not np.any(arr.imag) else arr
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int8)
    return np.array([str(v) for v in values], dtype=object)


def _distinct(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v == u and type(v) is type(u) for u in out):
            out.append(v)
    return out


def _layout(points: Sequence[Any]) -> tuple[list[str], dict[str, np.ndarray], list[tuple]]:
    """(dimension names, their coordinates, each point's position) of the sweep."""
    keys = list(points[0].sweep_values)
    for p in points:
        if list(p.sweep_values) != keys:
            raise ValueError(
                f"every point of a sweep must have the sweep parameters {keys}, but {p.name} "
                f"has {list(p.sweep_values)}"
            )
    axes = {key: _distinct(p.sweep_values[key] for p in points) for key in keys}
    position = [
        tuple(next(i for i, u in enumerate(axes[key]) if u == p.sweep_values[key] and
                   type(u) is type(p.sweep_values[key])) for key in keys)
        for p in points
    ]  # fmt: skip
    if keys and math.prod(len(v) for v in axes.values()) == len(points) == len(set(position)):
        return keys, {key: _coordinate(axes[key]) for key in keys}, position
    return ["point"], {"point": np.arange(len(points))}, [(i,) for i in range(len(points))]


def write_sweep(points: Sequence[Any], path: str | os.PathLike | None = None) -> Path | None:
    """Combine the result files of a sweep's points into one dataset (layout above).

    Needs h5py only. Points whose result file is missing or unreadable are left NaN (with a
    warning in the log); the file is written atomically (``.part``, then renamed).

    Parameters
    ----------
    points : sequence of RunPoint
        The sweep's points (:func:`trajectories.runs.runfile.load_run_file`), all with the
        same output folder and name and the same swept keys; each point's result is
        ``output.folder/NAME.h5`` with its own ``name``.
    path : str or path-like, optional
        Where to write; default :func:`sweep_path` of the points' output folder and name.

    Returns
    -------
    pathlib.Path or None
        The combined file, or None when no point has a readable result file.

    Raises
    ------
    ValueError
        If ``points`` is empty, or the points do not belong to one sweep.
    OSError
        If the file cannot be written (nothing is left behind).
    """
    import h5py

    points = list(points)
    if not points:
        raise ValueError("write_sweep needs at least one point")
    folder, name = points[0].output.folder, points[0].output.name
    if any((p.output.folder, p.output.name) != (folder, name) for p in points):
        raise ValueError("the points of one sweep share their output folder and name")
    dims, sweep_coords, position = _layout(points)
    files = [Path(folder) / f"{p.name}.h5" for p in points]
    records: list[io.RunRecord | None] = []
    for file in files:
        try:
            records.append(io.load(file))
        except io.ResultFileError as err:
            log.warning("sweep %s: point left out: %s", name, err)
            records.append(None)
    if all(r is None for r in records):
        return None
    arrays = [None if r is None else _point_arrays(r) for r in records]
    variables: dict[str, tuple[str, ...]] = {}
    for a in arrays:
        for var, (vdims, _, _) in (a or {}).items():
            variables.setdefault(var, vdims)
    coords: dict[str, np.ndarray] = {}
    for d in ("k", "k_rho", "n", "cavity", "n_a", "n_b"):
        parts = [c[i] for a in arrays if a for vd, c, _ in a.values() for i, x in enumerate(vd)
                 if x == d]  # fmt: skip
        if parts:
            coords[d] = np.unique(np.concatenate(parts)).astype(np.int64)
    sweep_shape = tuple(v.size for v in sweep_coords.values())
    models = [r.model.to_dict() for r in records if r is not None]
    shared = {key: v for key, v in models[0].items()
              if all(key in m and _same(m[key], v) for m in models)}  # fmt: skip
    path = Path(path) if path is not None else sweep_path(folder, name)
    part = path.with_name(path.name + ".part")
    try:
        with h5py.File(part, "w") as f:
            f.attrs.update({
                "format": SWEEP_FORMAT, "format_version": 1, "package": DISTRIBUTION,
                "version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "sweep": "points" if dims == ["point"] else "grid",
                "sweep_parameters": " ".join(points[0].sweep_values),
                "n_points": len(points), "missing_points": sum(r is None for r in records),
                **shared,
            })  # fmt: skip
            scales = {d: io._scale(f, d, sweep_coords[d]) for d in dims}
            for d in dims:
                scales[d].attrs["description"] = (
                    "index of the sweep point" if d == "point" else f"sweep parameter {d}"
                )
            along = []
            if dims == ["point"]:
                for key in points[0].sweep_values:
                    values = _coordinate([p.sweep_values[key] for p in points])
                    io._dataset(f, key, values, f"sweep parameter {key}", dims=[scales["point"]])
                    along.append(key)
            scales.update({d: io._scale(f, d, c) for d, c in coords.items()})
            for var, vdims in variables.items():
                data = _combine(var, vdims, arrays, position, sweep_shape, coords)
                ds = io._dataset(f, var, data, _description(var),
                                 dims=[scales[d] for d in [*dims, *vdims]])  # fmt: skip
                if along:
                    ds.attrs["coordinates"] = " ".join(along)
            complete = np.zeros(sweep_shape, dtype=bool)
            result_file = np.full(sweep_shape, "", dtype=object)
            for pos, rec, file in zip(position, records, files, strict=True):
                complete[pos] = rec is not None
                result_file[pos] = file.name
            for var, data, desc in (
                ("complete", complete, "the point's result file was read"),
                ("result_file", result_file, "the point's result file, in the same folder"),
            ):
                ds = io._dataset(f, var, data.astype(h5py.string_dtype()) if data.dtype == object
                                 else data, desc, dims=[scales[d] for d in dims])  # fmt: skip
                if along:
                    ds.attrs["coordinates"] = " ".join(along)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _description(var: str) -> str:
    base = var.removeprefix("exact_")
    desc = io._DESCRIPTIONS.get(base.removesuffix("_stderr"), var.replace("_", " "))
    desc += " (standard error)" if base.endswith("_stderr") else ""
    return ("exact solution: " if var.startswith("exact_") else "") + desc


def _combine(var, vdims, arrays, position, sweep_shape, coords) -> np.ndarray:
    """One variable of every point on the combined grid (NaN, -1 or "" where missing)."""
    sample = next(a[var][2] for a in arrays if a and var in a)
    kind = np.asarray(sample).dtype.kind
    fill: Any = {"i": -1, "u": 0, "O": ""}.get(kind, np.nan)
    dtype = object if kind == "O" else np.asarray(sample).dtype
    out = np.full(sweep_shape + tuple(coords[d].size for d in vdims), fill, dtype=dtype)
    for pos, a in zip(position, arrays, strict=True):
        if not a or var not in a:
            continue
        _, vcoords, values = a[var]
        index = [np.searchsorted(coords[d], c) for d, c in zip(vdims, vcoords, strict=True)]
        target = out[pos]
        if index:
            target[np.ix_(*index)] = values
        else:
            out[pos] = np.asarray(values).item()
    if kind == "O":
        import h5py

        out = out.astype(h5py.string_dtype())
    return out


def load_sweep(folder: str | os.PathLike, name: str | None = None) -> Any:
    """The combined dataset of a sweep, as an ``xarray.Dataset`` (needs the ``xarray`` extra).

    Parameters
    ----------
    folder : str or path-like
        The sweep's output folder (or the combined file itself).
    name : str, optional
        The sweep's name (``output.name``), needed only when the folder holds several
        sweeps.

    Returns
    -------
    xarray.Dataset
        The layout of this module's docstring, loaded into memory (the file is closed):
        the sweep parameters as dimensions (or ``point`` with the parameters as
        coordinates), ``k``, ``k_rho`` and ``n`` as coordinates.

    Raises
    ------
    ImportError
        When xarray or h5netcdf is not installed; the message names the extra.
    ResultFileError
        When there is no combined sweep file (a ``ValueError``), when the folder holds
        several and ``name`` is not given, or when the file is not a sweep file.
    """
    xr = require("xarray", "load_sweep")
    require("h5netcdf", "load_sweep")
    import h5py

    where = Path(folder)
    if where.is_file():
        file = where
    elif name is not None:
        file = sweep_path(where, name)
    else:
        found = sorted(where.glob(f"*{SWEEP_SUFFIX}")) if where.is_dir() else []
        if len(found) > 1:
            names = ", ".join(p.name.removesuffix(SWEEP_SUFFIX) for p in found)
            raise io.ResultFileError(f"{where} holds several sweeps ({names}): pass name=")
        if not found:
            raise io.ResultFileError(
                f"{where}: no combined sweep file (NAME{SWEEP_SUFFIX}); running a sweep "
                "from a run file writes one next to its points"
            )
        file = found[0]
    io.check_result_file(file)
    with h5py.File(file, "r") as f:
        if f.attrs.get("format") != SWEEP_FORMAT:
            raise io.ResultFileError(f"{file} is not a {SWEEP_FORMAT} file")
    with xr.open_dataset(file, engine="h5netcdf") as ds:
        return ds.load()
