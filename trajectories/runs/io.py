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

Interrupted runs: :class:`ChunkDirectory` keeps ``NAME.chunks/`` next to the result,
with ``manifest.json`` (everything needed to resume: model, settings, seed) and one
file per finished chunk, each written to a temporary name and renamed
(``os.replace`` is atomic), so a kill at any moment leaves only complete chunk files
(and at most one ``.tmp`` file, ignored and removed). A resumed run computes only the
missing chunks with their original seeds; the chunk directory is removed once the
result file is written.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import io as _io
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..model.micromaser import Micromaser
from ..solvers.exact import ExactResult
from ..solvers.montecarlo.chunks import ChunkResult
from ..solvers.montecarlo.result import EnsembleResult, Estimate, PerTrajectory

log = logging.getLogger("trajectories")

__all__ = [
    "RunRecord",
    "save",
    "load",
    "ChunkDirectory",
    "ChunkError",
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
                "jackknife_groups", "n_jobs", "backend", "seconds", "stop_reason"):  # fmt: skip
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


class ChunkError(RuntimeError):
    """A saved chunk changed while a run was reading it (it was checked when the run began)."""


class ChunkDirectory:
    """Finished chunks of one run, one atomically written file each, plus a manifest.

    Implements the ``ChunkStore`` protocol of :func:`trajectories.simulate`.

    Integrity: the run's identity is the SHA-256 of its manifest (``run_id``); each chunk
    file ``chunk-IIIIII-CCCCCCCCCCCCCCCC.npz`` holds the chunk's arrays and the ``run_id``,
    and ``C...`` is the first 16 hex digits of the SHA-256 of the file's bytes. When a run
    resumes, :meth:`completed` checks every chunk (checksum, readable, index, run, size) and
    removes, with one log line each, chunks that are truncated, corrupted or belong to
    another run; they are then computed again from their own seeds, so the result stays
    bit-identical to an uninterrupted run.
    """

    MANIFEST = "manifest.json"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @classmethod
    def create(cls, path: str | os.PathLike, manifest: dict[str, Any]) -> ChunkDirectory:
        """Start a new chunk directory (it must not exist)."""
        store = cls(path)
        store.path.mkdir(parents=True, exist_ok=False)
        try:
            store._write_atomic(store.path / cls.MANIFEST, json.dumps(manifest, indent=1).encode())
        except BaseException:
            shutil.rmtree(store.path, ignore_errors=True)  # nothing to resume from
            raise
        return store

    @property
    def manifest(self) -> dict[str, Any]:
        """The run's manifest; :class:`ResultFileError` naming the file if it is damaged."""
        target = self.path / self.MANIFEST
        try:
            manifest = json.loads(target.read_text())
        except (OSError, ValueError) as err:
            raise ResultFileError(f"{target}: damaged manifest of an interrupted run ({err}); "
                                  f"start the run over with --force") from None  # fmt: skip
        if not isinstance(manifest, dict) or "request" not in manifest:
            raise ResultFileError(f"{target}: not the manifest of an interrupted run; start "
                                  f"the run over with --force")  # fmt: skip
        return manifest

    @property
    def run_id(self) -> str:
        """SHA-256 (hex) of the manifest's bytes: the identity of this run."""
        if not hasattr(self, "_run_id"):
            self._run_id = hashlib.sha256((self.path / self.MANIFEST).read_bytes()).hexdigest()
        return self._run_id

    def exists(self) -> bool:
        return (self.path / self.MANIFEST).is_file()

    @staticmethod
    def _write_atomic(target: Path, data: bytes) -> None:
        tmp = target.with_name(target.name + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)  # e.g. a full disk: no partial file stays behind
            raise

    def _files(self) -> dict[int, list[Path]]:
        out: dict[int, list[Path]] = {}
        for p in sorted(self.path.glob("chunk-*.npz")):
            parts = p.stem.split("-")
            if len(parts) in (2, 3) and parts[1].isdigit():
                out.setdefault(int(parts[1]), []).append(p)
        return out

    def _check(self, index: int, p: Path, size_of: Callable[[int], int] | None) -> str | None:
        """Why the chunk file ``p`` cannot be used (None when it can)."""
        parts = p.stem.split("-")
        data = p.read_bytes()
        if len(parts) == 3 and hashlib.sha256(data).hexdigest()[:16] != parts[2]:
            return f"checksum mismatch ({len(data)} bytes: truncated or corrupted)"
        try:
            with np.load(_io.BytesIO(data)) as z:
                fields = {name: z[name] for name in z.files}
        except Exception as err:  # any unreadable content is reported the same way
            return f"unreadable ({type(err).__name__})"
        if len(parts) == 3 and str(fields.get("run_id", "")) != self.run_id:
            return "belongs to another run"
        if int(fields.get("index", -1)) != index:
            return f"holds chunk {int(fields.get('index', -1))}"
        if size_of is not None and int(fields.get("n_trajectories", -1)) != size_of(index):
            return "has the wrong number of trajectories"
        return None

    def completed(self, size_of: Callable[[int], int] | None = None) -> set[int]:
        """Indices of the chunks saved and intact; ``size_of(i)``, the number of trajectories
        chunk ``i`` must hold, is checked too when given. Damaged or foreign chunk files are
        removed (one log line each), so that the run computes them again."""
        for stale in self.path.glob("*.tmp"):  # a write interrupted by a kill
            stale.unlink(missing_ok=True)
        out = set()
        self._paths: dict[int, Path] = {}
        for index, paths in self._files().items():
            for p in paths:
                why = self._check(index, p, size_of)
                if why is None and index not in self._paths:
                    self._paths[index] = p
                    out.add(index)
                    continue
                why = why or "duplicate"
                log.warning("chunk %d in %s %s: recomputing it from its own seed", index,
                            self.path, why)  # fmt: skip
                p.unlink(missing_ok=True)
        return out

    def save(self, chunk: ChunkResult) -> None:
        buf = _io.BytesIO()
        fields = {f.name: np.asarray(getattr(chunk, f.name)) for f in dataclasses.fields(chunk)}
        fields["run_id"] = np.asarray(self.run_id)
        np.savez(buf, **fields)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        self._write_atomic(self.path / f"chunk-{chunk.index:06d}-{digest}.npz", data)

    def load(self, index: int) -> ChunkResult:
        paths = getattr(self, "_paths", None)
        if paths is None or index not in paths:
            self.completed()
            paths = self._paths
        p = paths.get(index)
        why = "missing" if p is None or not p.exists() else self._check(index, p, None)
        if why is not None:
            raise ChunkError(
                f"chunk {index} in {self.path} changed during the run ({why}); run again "
                f"with --resume to recompute it"
            )
        with np.load(p) as z:
            data = {name: z[name] for name in z.files if name != "run_id"}
        for name in ("index", "n_trajectories"):
            data[name] = int(data[name])
        data["seconds"] = float(data["seconds"])
        return ChunkResult(**data)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
