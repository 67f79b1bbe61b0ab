"""Result files: self-describing HDF5 that netCDF tools read, and chunks that survive interruption.

Layout of a result file (``tj.save`` / ``tj.load``; any HDF5 tool can read it)::

    /                 attrs: format, format_version, format_minor, package, version, status,
                             created, plus the run's metadata (JSON in attrs["metadata"])
    /model            attrs: theta, q, c_real, c_imag, gamma_tr, nbar, cutoff
                      (+ collision, g_over_omega, eta, nu_over_omega, omega_tr,
                      extra_levels for a Rabi collision; + arrivals, arrivals_p,
                      theta_spread, theta_spread_width or theta_spread_values and
                      theta_spread_weights (float arrays) for a non-ideal beam: files
                      without them hold the ideal beam)
    /ensemble         dimensions k, k_rho (= k[rho_index]), n, m; datasets energy_mean,
                      energy_stderr, purity_*, fano_*, ergotropy_*, leakage (over k),
                      populations (k_rho, n), rho (k_rho, n, m), rho_index (k_rho);
                      attrs: n_trajectories, seed, ...
                      record_index (k_record = k[record_index]): the checkpoints of
                      the per-trajectory records' columns
    /ensemble/count_histograms   one dataset per count (g, e, emission, absorption, net,
                      qubits, fock), shape (k, values), attrs["lo"]: the count of its
                      first column; entry [c, v] = trajectories not leaked at
                      checkpoint c whose count is lo + v (reduced while the run ran)
    /ensemble/per_trajectory   dimensions trajectory, k (= k_record), branch, jump,
                      collision; one dataset per record (rows = trajectories); absent
                      when the run kept no records (``records="none"``)
    /exact            dimensions k, n (and m with the states); datasets of the exact
                      solution over k (energy, purity, ...), populations (k, n),
                      states (k, n, m); the energy books energy_from_qubits,
                      switching_work, energy_from_bath, energy_from_resets and the
                      stage of each checkpoint, over k (files without them: None)
    /protocol         for a protocol only: attrs["protocol"], the JSON of
                      Protocol.to_dict(); datasets initial_state (the protocol's) and
                      stage<i>_initial_state (a stage's own), when they exist

The ensemble's energy books (energy_from_qubits, energy_from_bath, switching_work: mean and
stderr over k) and stage are written when the ensemble has them, and so is every
per-trajectory record the result holds. A command-line run streams its records into
``/ensemble/per_trajectory`` of ``NAME.chunks/result.h5.part`` as its chunks finish
(:mod:`trajectories.runs.records`: extendable datasets, gzip-compressed in chunks of one run
chunk of trajectories), then writes the rest of the result into that file and renames it
``NAME.h5``. :func:`load` reads records larger than :data:`LAZY_RECORD_BYTES` lazily
(:class:`~trajectories.runs.records.RecordView`).

The dimensions are HDF5 dimension scales (the netCDF-4 convention), so
``xarray.open_dataset(path, engine="h5netcdf", group="ensemble")`` gives ``k`` and ``n`` as
coordinates. The arrays of two or more dimensions (the density matrices, the populations,
the per-trajectory records) and any of 16 KiB or more are gzip-compressed (level 4; with the
byte shuffle, except complex data) in chunks of about 1 MiB. Every dataset carries a
``description`` attribute. A file is written to ``NAME.h5.part`` and renamed when complete,
so a result file is never half-written.

Format versions: ``format_version`` changes when a reader of an older version could not
read a file (a reader refuses a larger one); ``format_minor`` counts additions that older
readers ignore (1: dimension scales and compression; files without it, version 0.1, still
load); 2: the ensemble's ``record_index`` and ``count_histograms``, records optional).
A file whose records cover only some checkpoints (or none) has ``format_version`` 2, which
readers of version 1 refuse (they would take its columns for every checkpoint); a file
with every record stays at version 1.

A network of two cavities (:class:`~trajectories.Network`) is written in a layout of its own
(root attribute ``kind = "network"``, format version 2: :mod:`trajectories.runs.network_io`);
:func:`save` and :func:`load` choose it by the result's model.

Interrupted runs keep their finished chunks in a chunk directory
(:mod:`trajectories.runs.chunkstore`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..model.micromaser import Micromaser
from ..model.network import Network
from ..model.protocol import Protocol, Stage
from ..solvers.exact import ExactResult
from ..solvers.montecarlo.reductions import HISTOGRAM_COUNTS, CountHistograms
from ..solvers.montecarlo.result import RECORD_DIMS, EnsembleResult, Estimate, PerTrajectory
from . import hdf5, network_io
from .hdf5 import FORMAT
from .records import RECORDS_GROUP, record_views

log = logging.getLogger("trajectories")

__all__ = [
    "RunRecord",
    "save",
    "load",
    "ResultFileError",
    "check_result_file",
    "model_from_dict",
    "protocol_from_dict",
    "BOOKS",
    "FORMAT",
    "FORMAT_VERSION",
    "FORMAT_MINOR",
    "LAZY_RECORD_BYTES",
]

#: The largest layout version (one cavity) this version reads: a reader refuses files of a
#: larger one (a network's files have their own,
#: :data:`trajectories.runs.network_io.NETWORK_FORMAT_VERSION`). Files are written at
#: version 1 when they hold the records at every checkpoint (version-1 readers read them),
#: else at version 2 (records at some checkpoints or none).
FORMAT_VERSION = 2
#: Additions to the layout that older readers ignore (1: dimension scales, compression;
#: 2: record_index, count_histograms, the records' own k).
FORMAT_MINOR = 2
#: :func:`load` reads per-trajectory records larger than this (bytes, once in memory)
#: lazily, as :class:`~trajectories.runs.records.RecordView` objects.
LAZY_RECORD_BYTES = 64 * 2**20

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
    "jump_times": "times of the first max_jumps jumps (units of t_r of real time; regular "
    "arrivals: collision k at k-1)",
    "theta": "relative strength x of each qubit (theta_i = theta x), per collision",
    "collision": "collision index (1 .. n_collisions)",
    "jump_kinds": "+1 absorption, -1 emission, 0 none",
    "n_jumps": "number of jumps (may exceed the recorded capacity)",
    "k_rho": "collision count of each rebuilt density matrix (k[rho_index])",
    "n": "photon number (Fock level)",
    "m": "photon number (Fock level) of the density matrix's columns",
    "trajectory": "index of the trajectory (chunk order)",
    "record_index": "index into k of each column of the per-trajectory records",
    "k_record": "collision count of each record column (k[record_index])",
    "branch": "qubit branch j a qubit came in on",
    "jump": "index in the jump log",
}
_ESTIMATES = ("energy", "purity", "fano", "ergotropy")
#: The energy books of a result (cumulative, units of hbar omega, over k); an ensemble
#: has the first three (as estimates with errors), the exact solution all four.
BOOKS = ("energy_from_qubits", "energy_from_bath", "switching_work", "energy_from_resets")
_DESCRIPTIONS.update({
    "energy_from_qubits": "cumulative energy the qubits gave the cavity (units of hbar omega)",
    "energy_from_bath": "cumulative energy from the bath (units of hbar omega; negative: lost)",
    "switching_work": "cumulative work of switching a Rabi interaction on and off "
    "(units of hbar omega)",
    "energy_from_resets": "cumulative energy change where a stage replaced the state by its "
    "own initial state (units of hbar omega)",
    "stage": "protocol stage of each checkpoint (collision 0 is in stage 0)",
})  # fmt: skip
_EXACT_ARRAYS = (
    "k", "energy", "n2", "purity", "fano", "ergotropy", "entropy", "populations", "a_mean",
    "x_mean", "p_mean", "x_var", "p_var", "leakage", "trace",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What a result file holds: the ensemble, the exact solution, and the run's metadata.

    Attributes
    ----------
    path : pathlib.Path
        The result file.
    model : Micromaser or Network
        The model of the run (a protocol's first stage's model).
    ensemble : EnsembleResult, NetworkEnsemble or None
        The trajectories' result, if the file has one.
    exact : ExactResult, NetworkExactResult or None
        The exact solution, if the file has one.
    metadata : dict of str
        The run's metadata (its request, start and end times) and the file's ``version``,
        ``created`` and ``status``.
    protocol : Protocol or None
        The protocol of the run (None: a single model).
    """

    path: Path
    model: Micromaser | Network
    ensemble: Any
    exact: Any
    metadata: dict[str, Any]
    protocol: Protocol | None = None


def model_from_dict(d: dict[str, Any]) -> Micromaser | Network:
    """The model stored in a file's ``/model`` attributes.

    Parameters
    ----------
    d : dict of str
        :meth:`Micromaser.to_dict <trajectories.model.micromaser.Micromaser.to_dict>`'s
        output (files without ``collision``: Jaynes-Cummings), or
        :meth:`Network.to_dict <trajectories.model.network.Network.to_dict>`'s (it has
        the key ``network``, the topology).

    Returns
    -------
    Micromaser or Network
        The model.
    """
    if "network" in d:
        return Network.from_dict(d)
    return Micromaser.from_dict(d)


def protocol_from_dict(d: dict[str, Any], initial_states: dict[int, Any] | None = None,
                       initial_state: Any = None) -> Protocol:  # fmt: skip
    """Rebuild a :class:`~trajectories.Protocol` from :meth:`Protocol.to_dict
    <trajectories.model.protocol.Protocol.to_dict>`.

    Parameters
    ----------
    d : dict
        ``{"stages": [{"model": {...}, "collisions": K, "name": str}, ...]}``.
    initial_states : dict of int to array, optional
        A stage's own initial state, by stage index (a stage whose ``initial_state`` flag
        is set needs one).
    initial_state : array, optional
        The protocol's initial state (default: the vacuum).

    Returns
    -------
    Protocol
        The protocol, validated.

    Raises
    ------
    ValueError
        When a stage is not valid or its initial state is missing.
    """
    initial_states = initial_states or {}
    stages = []
    for i, st in enumerate(d["stages"]):
        rho = initial_states.get(i)
        if st.get("initial_state") and rho is None:
            raise ValueError(f"stage {i} ({st.get('name')}) has an initial state the file lacks")
        stages.append(Stage(Micromaser.from_dict(st["model"]), int(st["collisions"]),
                            initial_state=rho, name=st.get("name")))  # fmt: skip
    return Protocol(stages, initial_state=initial_state)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _result_protocol(ensemble: Any, exact: Any) -> Protocol | None:
    for r in (exact, ensemble):
        p = getattr(r, "protocol", None) if r is not None else None
        if p is not None:
            return p
    return None


def _write_protocol(g, protocol: Protocol) -> None:
    g.attrs["protocol"] = json.dumps(protocol.to_dict(), sort_keys=True, default=_json_default)
    g.attrs["n_stages"] = len(protocol)
    if protocol.initial_state is not None:
        _dataset(g, "initial_state", protocol.initial_state, "the protocol's initial state")
    for i, st in enumerate(protocol.stages):
        if st.initial_state is not None:
            _dataset(g, f"stage{i}_initial_state", st.initial_state,
                     f"stage {i}'s own initial state")  # fmt: skip


def _read_protocol(g) -> Protocol:
    d = json.loads(_scalar(g.attrs["protocol"]))
    states = {i: g[f"stage{i}_initial_state"][()] for i in range(len(d["stages"]))
              if f"stage{i}_initial_state" in g}  # fmt: skip
    rho0 = g["initial_state"][()] if "initial_state" in g else None
    return protocol_from_dict(d, states, rho0)


def _dataset(group, name: str, data: Any, description: str | None = None, dims=()):
    """Write one dataset with its description (by default from :data:`_DESCRIPTIONS`);
    large ones compressed; ``dims``: the dimension scales (h5py datasets) of its axes."""
    return hdf5.dataset(group, name, data, description or _description(name), dims)


def _description(name: str) -> str | None:
    """The description of a dataset ``name`` from :data:`_DESCRIPTIONS` (None: unknown)."""
    desc = _DESCRIPTIONS.get(name) or _DESCRIPTIONS.get(
        name.removesuffix("_mean").removesuffix("_stderr")
    )
    if desc and name.endswith("_stderr"):
        desc += " (standard error)"
    return desc


def _scale(group, name: str, values: Any):
    """A dimension (an HDF5 dimension scale, netCDF-4's convention) with its coordinates."""
    ds = _dataset(group, name, values)
    ds.make_scale(name)
    return ds


def save(
    path: str | os.PathLike,
    *,
    ensemble: EnsembleResult | None = None,
    exact: ExactResult | None = None,
    metadata: dict[str, Any] | None = None,
    into: str | os.PathLike | None = None,
) -> Path:
    """Write a result file (atomically: ``.part`` then rename; layout in the module docstring).

    Parameters
    ----------
    path : str or path-like
        The file to write (overwritten if it exists).
    ensemble : EnsembleResult or NetworkEnsemble, optional
        The trajectories' result.
    exact : ExactResult or NetworkExactResult, optional
        The exact solution.
    metadata : dict of str, optional
        JSON-serialisable metadata, stored as JSON in the root attribute ``metadata``.
    into : str or path-like, optional
        A file already holding the ensemble's records in ``/ensemble/per_trajectory`` (a
        run's streamed records, :class:`~trajectories.runs.records.RecordStream`): the
        rest of the result is written into it and it is renamed ``path``, so the records
        are not copied. Left in place (for a resumed run to complete) if writing fails.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If neither ``ensemble`` nor ``exact`` is given, or one is of a network and the
        other not (or of another network).
    OSError
        If the file cannot be written (nothing is left behind but ``into``).
    """

    if ensemble is None and exact is None:
        raise ValueError("save needs an ensemble, an exact result, or both")
    path = Path(path)
    model = (ensemble or exact).model  # type: ignore[union-attr]
    write = _write_result
    if isinstance(model, Network) or isinstance(getattr(exact, "model", None), Network):
        network_io.check_pair(ensemble, exact)
        write = network_io.write_network
    if into is not None:
        if write is not _write_result:
            raise ValueError("save(into=...) is for the result of a single cavity")
        _write_result(Path(into), model, ensemble, exact, metadata, in_place=True)
        os.replace(into, path)
        return path
    part = path.with_name(path.name + ".part")
    try:
        write(part, model, ensemble, exact, metadata)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)  # a full disk or a kill mid-write leaves no .part behind
        raise
    return path


def _clear_but_records(f) -> None:
    """Remove all but the records' datasets (what a failed completion may have left)."""
    for key in list(f.attrs):
        del f.attrs[key]
    for key in [k for k in f if k != "ensemble"]:
        del f[key]
    if "ensemble" not in f:
        return
    g = f["ensemble"]
    for key in list(g.attrs):
        del g.attrs[key]
    for key in [k for k in g if k != "per_trajectory"]:
        del g[key]
    if "per_trajectory" in g:
        pt = g["per_trajectory"]
        for key in list(pt.attrs):
            del pt.attrs[key]
        for key in [k for k in pt if k in RECORD_DIMS]:  # the scales of a failed attempt:
            if "DIMENSION_LIST" in pt[key].attrs:  # detached before they go
                del pt[key].attrs["DIMENSION_LIST"]
        for key in [k for k in pt if k not in RECORD_DIMS]:
            del pt[key]


def _write_result(part: Path, model, ensemble, exact, metadata, in_place: bool = False) -> None:
    import h5py

    with h5py.File(part, "r+" if in_place else "w") as f:
        if in_place:
            _clear_but_records(f)
        hdf5.write_header(f, _version_of(ensemble), FORMAT_MINOR, metadata)
        g = f.create_group("model")
        for key, value in model.to_dict().items():
            g.attrs[key] = value
        protocol = _result_protocol(ensemble, exact)
        if protocol is not None:
            _write_protocol(f.create_group("protocol"), protocol)
        if ensemble is not None:
            _write_ensemble(f.require_group("ensemble"), ensemble)
        elif "ensemble" in f:
            del f["ensemble"]
        if exact is not None:
            _write_exact(f.create_group("exact"), exact)


def _write_ensemble(g, ens: EnsembleResult) -> None:
    for key in ("n_trajectories", "chunk_size", "n_chunks", "seed", "leaked_trajectories",
                "jackknife_groups", "n_jobs", "backend", "seconds", "stop_reason",
                "streams", "sampler"):  # fmt: skip
        value = getattr(ens, key)
        if key == "seed" and value is not None and not -(2**63) <= value < 2**63:
            value = str(value)  # SeedSequence entropy (128 bits) does not fit an HDF5 int
        g.attrs[key] = value
    k = _scale(g, "k", ens.k)
    rho_index = np.asarray(ens.rho_index, dtype=np.int64)
    k_rho = _scale(g, "k_rho", np.asarray(ens.k)[rho_index])
    n = _scale(g, "n", np.arange(ens.model.cutoff))
    m = _scale(g, "m", np.arange(ens.model.cutoff))
    for name in _ESTIMATES:
        est = getattr(ens, name)
        _dataset(g, f"{name}_mean", est.mean, dims=(k,))
        _dataset(g, f"{name}_stderr", est.stderr, dims=(k,))
    _dataset(g, "populations", ens.populations, dims=(k_rho, n))
    _dataset(g, "rho", ens.rho, dims=(k_rho, n, m))
    _dataset(g, "rho_index", ens.rho_index, dims=(k_rho,))
    _dataset(g, "leakage", ens.leakage, dims=(k,))
    for name in BOOKS:
        est = getattr(ens, name, None)
        if est is not None:
            _dataset(g, f"{name}_mean", est.mean, dims=(k,))
            _dataset(g, f"{name}_stderr", est.stderr, dims=(k,))
    if getattr(ens, "stage", None) is not None:
        _dataset(g, "stage", np.asarray(ens.stage, dtype=np.int64), dims=(k,))
    if getattr(ens, "record_index", None) is not None:
        record_index = np.asarray(ens.record_index, dtype=np.int64)
        k_record = _scale(g, "k_record", np.asarray(ens.k)[record_index])
        _dataset(g, "record_index", record_index, dims=(k_record,))
    if getattr(ens, "count_histograms", None) is not None:
        _write_histograms(g.create_group("count_histograms"), ens.count_histograms, k)
    per = ens.per_trajectory
    if per is None:
        if "per_trajectory" in g:
            del g["per_trajectory"]
        return
    pt = g.require_group("per_trajectory")
    dims = {
        "trajectory": _scale(pt, "trajectory", np.arange(per.alive.shape[0])),
        "k": _scale(pt, "k", ens.record_k),
        "branch": _scale(pt, "branch", np.arange(per.qubit_g.shape[2])),
        "jump": _scale(pt, "jump", np.arange(per.jump_times.shape[1])),
        "collision": _scale(pt, "collision", np.arange(1, per.theta.shape[1] + 1)),
    }
    for field in dataclasses.fields(PerTrajectory):
        data = getattr(per, field.name)
        if data is None:
            continue
        names = RECORD_DIMS.get(field.name, ())
        if len(names) != np.ndim(data) or not all(
            d in dims and dims[d].shape[0] == n for d, n in zip(names, np.shape(data), strict=False)
        ):
            names = ()  # a record of a layout this writer does not know: no dimension scales
        if field.name in pt:  # streamed there while the run ran
            ds = pt[field.name]
            desc = _description(field.name)
            if desc:
                ds.attrs["description"] = desc
            for axis, d in enumerate(names):
                ds.dims[axis].attach_scale(dims[d])
        else:
            _dataset(pt, field.name, data, dims=[dims[d] for d in names])


def _version_of(ens: Any) -> int:
    """1 when version-1 readers read the ensemble right (every record column), else 2."""
    if ens is None:
        return 1
    if ens.per_trajectory is None:
        return 2
    index = getattr(ens, "record_index", None)
    if index is None or np.array_equal(index, np.arange(np.size(ens.k))):
        return 1
    return 2


def _write_histograms(h, hist: CountHistograms, k) -> None:
    for name in HISTOGRAM_COUNTS:
        what = f"trajectories not leaked at checkpoint k whose count {name!r} is lo + column"
        ds = _dataset(h, name, hist.h[name], what, dims=(k,))
        ds.attrs["lo"] = int(hist.lo[name])


def _read_histograms(h) -> CountHistograms:
    return CountHistograms(
        {n: int(h[n].attrs["lo"]) for n in HISTOGRAM_COUNTS},
        {n: h[n][()].astype(np.int64, copy=False) for n in HISTOGRAM_COUNTS},
    )


def _write_exact(g, ex: ExactResult) -> None:
    g.attrs["method"] = ex.method
    g.attrs["setup_seconds"] = ex.setup_seconds
    g.attrs["run_seconds"] = ex.run_seconds
    k = _scale(g, "k", ex.k)
    n = _scale(g, "n", np.arange(ex.model.cutoff))
    for name in _EXACT_ARRAYS[1:]:
        _dataset(g, name, getattr(ex, name), dims=(k, n) if name == "populations" else (k,))
    for name in (*BOOKS, "stage"):
        value = getattr(ex, name, None)
        if value is not None:
            _dataset(g, name, value, dims=(k,))
    if ex.states is not None:
        m = _scale(g, "m", np.arange(ex.model.cutoff))
        _dataset(g, "states", ex.states, "density matrices at the checkpoints", dims=(k, n, m))


class ResultFileError(ValueError):
    """A file cannot be read as a result of this package.

    Raised by :func:`load` with one line naming the file and the problem: missing,
    unreadable, a folder, not HDF5 (a run file is recognised and named), another
    program's HDF5 file, a newer format version, or damaged.

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: one line naming the file and the problem.
    """


def check_result_file(path: str | os.PathLike) -> Path:
    """Fail with :class:`ResultFileError` unless ``path`` is a readable HDF5 file.

    Parameters
    ----------
    path : str or path-like
        The file to check.

    Returns
    -------
    pathlib.Path
        ``path``, when it is a readable HDF5 file.

    Raises
    ------
    ResultFileError
        Naming the file and the problem: missing, a folder, unreadable, or not HDF5 (a run
        file is recognised and named).
    """
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


def load(path: str | os.PathLike, *, lazy: bool | None = None) -> RunRecord:
    """Read a result file back into the objects the Python API returns.

    Reads every format of this package up to :data:`FORMAT_VERSION` (the files of
    version 0.1, without dimension scales or compression, included).

    Parameters
    ----------
    path : str or path-like
        The result file (``NAME.h5``).
    lazy : bool, optional
        Read the per-trajectory records on access
        (:class:`~trajectories.runs.records.RecordView`: array-like, read when sliced or
        converted) instead of now. None (default): lazily when they would take more than
        :data:`LAZY_RECORD_BYTES` in memory.

    Returns
    -------
    RunRecord
        The model, the ensemble and the exact solution the file holds, and its metadata
        (for a network: its :class:`~trajectories.Network`, ``NetworkEnsemble`` and
        :class:`~trajectories.NetworkExactResult`).

    Raises
    ------
    ResultFileError
        (A ``ValueError``.) With one line naming the file and the problem when it is not a
        complete result file of this package that this version can read.
    """
    import h5py

    path = check_result_file(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise ResultFileError(f"{path} is not a {FORMAT} file")
            network = _scalar(f.attrs.get("kind", "")) == network_io.KIND
            readable = network_io.NETWORK_FORMAT_VERSION if network else FORMAT_VERSION
            version = int(f.attrs.get("format_version", 1))
            if version > readable:
                raise ResultFileError(
                    f"{path} was written in result format {version} by version "
                    f"{_scalar(f.attrs.get('version', '?'))}; this version reads formats up "
                    f"to {readable}: upgrade micromaser-trajectories"
                )
            model = model_from_dict(dict(f["model"].attrs))
            metadata = json.loads(f.attrs.get("metadata", "{}"))
            metadata.update(
                {k: _scalar(f.attrs[k]) for k in ("version", "created", "status") if k in f.attrs}
            )
            protocol = _read_protocol(f["protocol"]) if "protocol" in f else None
            if network:
                ens, ex = network_io.read_network(f, model)
            else:
                ens = (_read_ensemble(f["ensemble"], model, protocol, path, lazy)
                       if "ensemble" in f else None)  # fmt: skip
                ex = _read_exact(f["exact"], model, protocol) if "exact" in f else None
    except ResultFileError:
        raise
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ResultFileError(f"{path}: damaged or incomplete result file ({err})") from None
    return RunRecord(path=path, model=model, ensemble=ens, exact=ex, metadata=metadata,
                     protocol=protocol)  # fmt: skip


_scalar = hdf5.scalar


def _read_ensemble(
    g, model: Micromaser, protocol: Protocol | None = None, path: Path | None = None,
    lazy: bool | None = None,
) -> EnsembleResult:  # fmt: skip
    a = {k: _scalar(v) for k, v in g.attrs.items()}
    if isinstance(a.get("seed"), str):
        a["seed"] = int(a["seed"])
    per = None
    if "per_trajectory" in g:
        pt = g["per_trajectory"]
        names = [f.name for f in dataclasses.fields(PerTrajectory) if f.name in pt]
        size = sum(pt[n].size * pt[n].dtype.itemsize for n in names)
        if path is not None and (lazy or (lazy is None and size > LAZY_RECORD_BYTES)):
            per = record_views(path, RECORDS_GROUP)
        else:
            per = PerTrajectory(**{n: pt[n][()] for n in names})
    fields = {f.name for f in dataclasses.fields(EnsembleResult)}
    if "record_index" in fields:
        a["record_index"] = g["record_index"][()] if "record_index" in g else None
    if "count_histograms" in fields:
        h = g.get("count_histograms")
        a["count_histograms"] = _read_histograms(h) if h is not None else None
    estimates = {
        name: Estimate(g[f"{name}_mean"][()], g[f"{name}_stderr"][()]) for name in _ESTIMATES
    }
    for name in BOOKS:  # what this version's EnsembleResult has (None: not in the file)
        if name in fields:
            has = f"{name}_mean" in g
            estimates[name] = (
                Estimate(g[f"{name}_mean"][()], g[f"{name}_stderr"][()]) if has else None
            )
    if "stage" in fields:
        estimates["stage"] = g["stage"][()] if "stage" in g else None
    if "protocol" in fields:
        estimates["protocol"] = protocol
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


def _read_exact(g, model: Micromaser, protocol: Protocol | None = None) -> ExactResult:
    arrays = {name: g[name][()] for name in _EXACT_ARRAYS}
    for name in (*BOOKS, "stage"):  # files of earlier versions have none: None
        arrays[name] = g[name][()] if name in g else None
    return ExactResult(
        model=model,
        states=g["states"][()] if "states" in g else None,
        method=_scalar(g.attrs["method"]),
        setup_seconds=float(g.attrs["setup_seconds"]),
        run_seconds=float(g.attrs["run_seconds"]),
        protocol=protocol,
        **arrays,
    )
