"""Result files: self-describing HDF5, and a chunk directory that survives any interruption.

Layout of a result file (``tj.save`` / ``tj.load``; any HDF5 tool can read it)::

    /                 attrs: format, format_version, package, version, status, created,
                             plus the run's metadata (JSON in attrs["metadata"])
    /model            attrs: theta, q, c_real, c_imag, gamma_tr, nbar, cutoff
                      (+ collision, g_over_omega, eta, nu_over_omega, omega_tr,
                      extra_levels for a Rabi collision)
    /ensemble         datasets k, energy_mean, energy_stderr, purity_*, fano_*, ergotropy_*,
                      populations, rho, rho_index, leakage; attrs: n_trajectories, seed, ...
    /ensemble/per_trajectory   one dataset per record (rows = trajectories)
    /exact            datasets of the exact solution (k, energy, purity, ..., populations)

Every dataset carries a ``description`` attribute. A file is written to
``NAME.h5.part`` and renamed when complete, so a result file is never half-written.

Interrupted runs keep their finished chunks in a chunk directory
(:mod:`trajectories.runs.chunkstore`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..model.micromaser import Micromaser
from ..solvers.exact import ExactResult
from ..solvers.montecarlo.result import EnsembleResult, Estimate, PerTrajectory

log = logging.getLogger("trajectories")

__all__ = [
    "RunRecord",
    "save",
    "load",
    "ResultFileError",
    "check_result_file",
    "model_from_dict",
    "FORMAT",
]

FORMAT = "micromaser-trajectories result"
FORMAT_VERSION = 1

_DESCRIPTIONS = {
    "k": "collision count of each checkpoint",
    "energy": "mean photon number <n> (units of hbar omega)",
    "purity": "Tr rho^2",
    "fano": "Fano factor Var(n)/<n> (NaN at zero energy)",
    "ergotropy": "ergotropy (units of hbar omega)",
    "entropy": "von Neumann entropy (nats)",
    "n2": "<n^2>",
    "populations": "photon distribution rho_nn, shape (checkpoints, N)",
    "rho": "density matrix rebuilt from trajectories, shape (rho checkpoints, N, N)",
    "rho_index": "index into k of each rebuilt density matrix",
    "leakage": "population lost through the Fock cutoff up to each checkpoint",
    "trace": "Tr rho",
    "a_mean": "<a>",
    "x_mean": "<x>, x = (a + a^dag)/sqrt 2",
    "p_mean": "<p>, p = (a - a^dag)/(i sqrt 2)",
    "x_var": "Var x (vacuum: 1/2)",
    "p_var": "Var p (vacuum: 1/2)",
    "n_mean": "<n>_i of each trajectory's conditional state (unravelling-dependent, "
    "not measurable)",
    "n2_mean": "<n^2>_i of each trajectory's conditional state",
    "qubit_g": "cumulative count of qubits leaving in g, per branch j they came in on",
    "qubit_e": "cumulative count of qubits leaving in e, per branch j they came in on",
    "emissions": "cumulative count of photons emitted into the bath",
    "absorptions": "cumulative count of photons absorbed from the bath",
    "fock": "one photon number sampled from each conditional state (-1: leaked)",
    "alive": "False for trajectories whose weight left through the cutoff",
    "jump_times": "times of the first max_jumps jumps (units of t_r; collision k at k-1)",
    "jump_kinds": "+1 absorption, -1 emission, 0 none",
    "n_jumps": "number of jumps (may exceed the recorded capacity)",
}
_ESTIMATES = ("energy", "purity", "fano", "ergotropy")
_EXACT_ARRAYS = (
    "k", "energy", "n2", "purity", "fano", "ergotropy", "entropy", "populations", "a_mean",
    "x_mean", "p_mean", "x_var", "p_var", "leakage", "trace",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What a result file holds: the ensemble, the exact solution, and the run's metadata."""

    path: Path
    model: Micromaser
    ensemble: EnsembleResult | None
    exact: ExactResult | None
    metadata: dict[str, Any]


def model_from_dict(d: dict[str, Any]) -> Micromaser:
    """Inverse of :meth:`Micromaser.to_dict` (files without ``collision``: Jaynes-Cummings)."""
    return Micromaser.from_dict(d)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _dataset(group, name: str, data: np.ndarray, description: str | None = None) -> None:
    ds = group.create_dataset(name, data=data)
    desc = (
        description
        or _DESCRIPTIONS.get(name)
        or _DESCRIPTIONS.get(name.removesuffix("_mean").removesuffix("_stderr"))
    )
    if desc:
        suffix = " (standard error)" if name.endswith("_stderr") else ""
        ds.attrs["description"] = desc + suffix


def save(
    path: str | os.PathLike,
    *,
    ensemble: EnsembleResult | None = None,
    exact: ExactResult | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a result file (atomically: ``.part`` then rename). Returns the path."""

    if ensemble is None and exact is None:
        raise ValueError("save needs an ensemble, an exact result, or both")
    path = Path(path)
    model = (ensemble or exact).model  # type: ignore[union-attr]
    part = path.with_name(path.name + ".part")
    try:
        _write_result(part, model, ensemble, exact, metadata)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)  # a full disk or a kill mid-write leaves no .part behind
        raise
    return path


def _write_result(part: Path, model, ensemble, exact, metadata) -> None:
    import h5py

    with h5py.File(part, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["package"] = "micromaser-trajectories"
        f.attrs["version"] = __version__
        f.attrs["created"] = _now()
        f.attrs["status"] = "complete"
        f.attrs["metadata"] = json.dumps(metadata or {}, sort_keys=True)
        g = f.create_group("model")
        for key, value in model.to_dict().items():
            g.attrs[key] = value
        if ensemble is not None:
            _write_ensemble(f.create_group("ensemble"), ensemble)
        if exact is not None:
            _write_exact(f.create_group("exact"), exact)


def _write_ensemble(g, ens: EnsembleResult) -> None:
    for key in ("n_trajectories", "chunk_size", "n_chunks", "seed", "leaked_trajectories",
                "jackknife_groups", "n_jobs", "backend", "seconds", "stop_reason",
                "streams"):  # fmt: skip
        value = getattr(ens, key)
        if key == "seed" and value is not None and not -(2**63) <= value < 2**63:
            value = str(value)  # SeedSequence entropy (128 bits) does not fit an HDF5 int
        g.attrs[key] = value
    _dataset(g, "k", ens.k)
    for name in _ESTIMATES:
        est = getattr(ens, name)
        _dataset(g, f"{name}_mean", est.mean)
        _dataset(g, f"{name}_stderr", est.stderr)
    for name in ("populations", "rho", "rho_index", "leakage"):
        _dataset(g, name, getattr(ens, name))
    pt = g.create_group("per_trajectory")
    for field in dataclasses.fields(PerTrajectory):
        _dataset(pt, field.name, getattr(ens.per_trajectory, field.name))


def _write_exact(g, ex: ExactResult) -> None:
    g.attrs["method"] = ex.method
    g.attrs["setup_seconds"] = ex.setup_seconds
    g.attrs["run_seconds"] = ex.run_seconds
    for name in _EXACT_ARRAYS:
        _dataset(g, name, getattr(ex, name))
    if ex.states is not None:
        _dataset(g, "states", ex.states, "density matrices at the checkpoints")


class ResultFileError(ValueError):
    """A file cannot be read as a result of this package.

    Raised by :func:`load` with one line naming the file and the problem: missing,
    unreadable, a folder, not HDF5 (a run file is recognised and named), another
    program's HDF5 file, a newer format version, or damaged.
    """


def check_result_file(path: str | os.PathLike) -> Path:
    """Fail with :class:`ResultFileError` unless ``path`` is a readable HDF5 file."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise ResultFileError(f"{path}: no such file")
    if path.is_dir():
        raise ResultFileError(f"{path}: is a folder, not a result file")
    if not os.access(path, os.R_OK):
        raise ResultFileError(f"{path}: not readable (permission denied)")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as err:
        raise ResultFileError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not is_hdf5:
        hint = ""
        if path.suffix == ".toml":
            hint = f" (it is a run file: run it with 'micromaser run {path}')"
        raise ResultFileError(f"{path}: not an HDF5 result file{hint}")
    return path


def load(path: str | os.PathLike) -> RunRecord:
    """Read a result file back into the objects the Python API returns.

    Raises :class:`ResultFileError` (a ``ValueError``) with one line naming the file and
    the problem when it is not a complete result file of this package that this version
    can read.
    """
    import h5py

    path = check_result_file(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise ResultFileError(f"{path} is not a {FORMAT} file")
            version = int(f.attrs.get("format_version", 1))
            if version > FORMAT_VERSION:
                raise ResultFileError(
                    f"{path} was written in result format {version} by version "
                    f"{_scalar(f.attrs.get('version', '?'))}; this version reads formats up "
                    f"to {FORMAT_VERSION}: upgrade micromaser-trajectories"
                )
            model = model_from_dict(dict(f["model"].attrs))
            metadata = json.loads(f.attrs.get("metadata", "{}"))
            metadata.update(
                {k: _scalar(f.attrs[k]) for k in ("version", "created", "status") if k in f.attrs}
            )
            ens = _read_ensemble(f["ensemble"], model) if "ensemble" in f else None
            ex = _read_exact(f["exact"], model) if "exact" in f else None
    except ResultFileError:
        raise
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ResultFileError(f"{path}: damaged or incomplete result file ({err})") from None
    return RunRecord(path=path, model=model, ensemble=ens, exact=ex, metadata=metadata)


def _scalar(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    return v.item() if isinstance(v, np.generic) else v


def _read_ensemble(g, model: Micromaser) -> EnsembleResult:
    a = {k: _scalar(v) for k, v in g.attrs.items()}
    if isinstance(a.get("seed"), str):
        a["seed"] = int(a["seed"])
    pt = g["per_trajectory"]
    per = PerTrajectory(**{f.name: pt[f.name][()] for f in dataclasses.fields(PerTrajectory)})
    estimates = {
        name: Estimate(g[f"{name}_mean"][()], g[f"{name}_stderr"][()]) for name in _ESTIMATES
    }
    return EnsembleResult(
        model=model,
        k=g["k"][()],
        populations=g["populations"][()],
        rho=g["rho"][()],
        rho_index=g["rho_index"][()],
        leakage=g["leakage"][()],
        per_trajectory=per,
        **estimates,
        **a,
    )


def _read_exact(g, model: Micromaser) -> ExactResult:
    arrays = {name: g[name][()] for name in _EXACT_ARRAYS}
    return ExactResult(
        model=model,
        states=g["states"][()] if "states" in g else None,
        method=_scalar(g.attrs["method"]),
        setup_seconds=float(g.attrs["setup_seconds"]),
        run_seconds=float(g.attrs["run_seconds"]),
        **arrays,
    )
