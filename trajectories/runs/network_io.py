"""Result files of a network of two cavities: the exact solution and the trajectories.

:func:`trajectories.save` and :func:`trajectories.load` (:mod:`trajectories.runs.io`) use
this module when the result's model is a :class:`~trajectories.Network`. Layout (HDF5, the
same header and compression as a single cavity's files, :mod:`trajectories.runs.hdf5`)::

    /                 attrs: format, format_version (2), format_minor, kind = "network",
                             package, version, status, created, metadata (JSON: the
                             run's request, start and end times)
    /model            attrs: Network.to_dict(): network (the topology), theta, q,
                      c_real, c_imag, gamma_tr, nbar, cutoff (pairs: A, B), and the
                      beam's keys when it is not ideal
    /exact            dimensions k, cavity (0 = A, 1 = B), n_a, n_b (and i, j, the joint
                      index a N_B + b, with the states); every array of
                      NetworkExactResult under its own name (energy (k, cavity), purity
                      (k), populations_a (k, n_a), ...); attrs setup_seconds, run_seconds
    /ensemble         dimensions k, cavity, rho_k (the checkpoints with the joint state),
                      i, j; each estimate of NetworkEnsemble as <name>_mean and
                      <name>_stderr (energy, n2, fano, total_energy, p_excited over k;
                      purity, ergotropy, log_negativity, ... over rho_k), leakage (k), rho
                      (rho_k, i, j); attrs n_trajectories, seed, chunk_size,
                      jackknife_groups, sampler, wall_seconds
    /ensemble/records dimensions trajectory, k, cavity, branch: the per-trajectory
                      records (n_mean, n2_mean, qubit_g, qubit_e, emissions, absorptions,
                      alive), when the run kept them

Files of a network have ``format_version`` 2, so that a version of the package that reads
only single cavities says to upgrade instead of failing to read them. Every dataset carries
a ``description``. Fields of a result this layout does not name are written and read back
by the same rules (an array under its name, an estimate as ``_mean`` and ``_stderr``, a
number or text as an attribute, any other value as JSON text named in the attribute
``json_attributes``), so a result and its file keep the same fields.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from ..model.network import Network
from ..solvers.montecarlo.network_result import NetworkEnsemble, NetworkRecords
from ..solvers.montecarlo.result import Estimate
from ..solvers.network_exact import NetworkExactResult
from . import hdf5

__all__ = [
    "KIND",
    "NETWORK_FORMAT_VERSION",
    "NETWORK_FORMAT_MINOR",
    "is_network_result",
    "check_pair",
    "write_network",
    "read_network",
    "sweep_arrays",
]

#: The root attribute ``kind`` of a network's result file.
KIND = "network"
#: The layout's version for networks: a reader refuses files of a larger one.
NETWORK_FORMAT_VERSION = 2
#: Additions to the network layout that older readers ignore.
NETWORK_FORMAT_MINOR = 0

#: fields of the ensemble over the checkpoints that keep the joint state (``rho_k``)
_RHO_FIELDS = frozenset((
    "rho", "purity", "entropy", "ergotropy", "collective_ergotropy", "log_negativity",
    "mutual_information", "local_purity", "local_entropy", "local_ergotropy",
))  # fmt: skip
#: the axes after the first of the arrays that are not per cavity
_TAIL_DIMS = {
    "populations_a": ("n_a",), "populations_b": ("n_b",), "states": ("i", "j"), "rho": ("i", "j"),
}  # fmt: skip
#: the attribute listing the attributes written as JSON text (read back as JSON values)
_JSON_ATTRS = "json_attributes"
#: the dimensions of each per-trajectory record
_RECORD_DIMS = {
    "n_mean": ("trajectory", "k", "cavity"), "n2_mean": ("trajectory", "k", "cavity"),
    "qubit_g": ("trajectory", "k", "branch"), "qubit_e": ("trajectory", "k", "branch"),
    "emissions": ("trajectory", "k", "cavity"), "absorptions": ("trajectory", "k", "cavity"),
    "alive": ("trajectory",),
}  # fmt: skip
_DESCRIPTIONS = {
    "k": "collision count of each checkpoint",
    "rho_k": "collision count of each checkpoint keeping the joint density matrix",
    "cavity": "cavity: 0 = A, 1 = B",
    "n_a": "photon number of cavity A",
    "n_b": "photon number of cavity B",
    "i": "joint index a N_B + b of |a, b> (rows)",
    "j": "joint index a N_B + b of |a, b> (columns)",
    "trajectory": "index of the trajectory (chunk order)",
    "branch": "qubit branch j a qubit came in on",
    "energy": "mean photon number <n_A>, <n_B> of each cavity (units of hbar omega)",
    "n2": "<n_A^2>, <n_B^2>",
    "fano": "Fano factor Var(n)/<n> of each cavity (NaN at zero energy)",
    "total_energy": "<n_A + n_B> (units of hbar omega)",
    "purity": "Tr rho^2 of the joint state",
    "entropy": "von Neumann entropy of the joint state (nats)",
    "local_purity": "Tr rho_X^2 of each reduced state",
    "local_entropy": "von Neumann entropy of each reduced state (nats)",
    "ergotropy": "global ergotropy of the pair (units of hbar omega)",
    "local_ergotropy": "ergotropy of each reduced state (units of hbar omega)",
    "collective_ergotropy": "global ergotropy minus the local ones (units of hbar omega)",
    "log_negativity": "logarithmic negativity ln ||rho^T_B||_1",
    "mutual_information": "S_A + S_B - S_AB (nats)",
    "populations_a": "photon distribution of cavity A, shape (checkpoints, N_A)",
    "populations_b": "photon distribution of cavity B, shape (checkpoints, N_B)",
    "p_excited": "cumulative number of qubits that left in e",
    "energy_from_qubits": "cumulative energy the qubits lost (units of hbar omega)",
    "energy_from_collisions": "cumulative energy each cavity gained in the collisions",
    "energy_from_bath": "cumulative energy each cavity gained from its bath (negative: lost)",
    "leakage": "trace lost through the Fock cutoffs up to each checkpoint",
    "trace": "Tr rho",
    "states": "joint density matrices at the checkpoints (basis a N_B + b)",
    "rho": "joint density matrix rebuilt from trajectories (basis a N_B + b)",
    "n_mean": "<n_A>_i, <n_B>_i of each trajectory's conditional state (not measurable)",
    "n2_mean": "<n_A^2>_i, <n_B^2>_i of each trajectory's conditional state",
    "qubit_g": "cumulative count of qubits leaving in g, per branch j they came in on",
    "qubit_e": "cumulative count of qubits leaving in e, per branch j they came in on",
    "emissions": "cumulative count of photons emitted into each cavity's bath",
    "absorptions": "cumulative count of photons absorbed from each cavity's bath",
    "alive": "False for trajectories whose weight left through a cutoff",
}


def is_network_result(result: Any) -> bool:
    """Whether ``result`` is a network's (its ``model`` a :class:`~trajectories.Network`).

    Parameters
    ----------
    result : object
        A result, or None.

    Returns
    -------
    bool
        True for a :class:`~trajectories.NetworkExactResult` or a ``NetworkEnsemble``.
    """
    return isinstance(getattr(result, "model", None), Network)


def check_pair(ensemble: Any, exact: Any) -> None:
    """Refuse to write a network's result with a single cavity's, or two networks' results.

    Parameters
    ----------
    ensemble : NetworkEnsemble or None
        The trajectories' result.
    exact : NetworkExactResult or None
        The exact solution.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        When one of them is not a network's, or their networks differ.
    """
    given = [r for r in (ensemble, exact) if r is not None]
    if not all(is_network_result(r) for r in given):
        raise ValueError(
            "save: ensemble and exact must both be results of a network, or both of one "
            f"cavity; got {', '.join(type(r).__name__ for r in given)}"
        )
    if len(given) == 2 and ensemble.model != exact.model:
        raise ValueError(
            f"save: the ensemble's network ({ensemble.model.describe()}) differs from the "
            f"exact solution's ({exact.model.describe()})"
        )


# ------------------------------------------------------------------ writing
def write_network(part: Any, model: Network, ensemble: Any, exact: Any, metadata: Any) -> None:
    """Write a network's result file (layout in the module docstring).

    Parameters
    ----------
    part : str or path-like
        The file to write (:func:`trajectories.save` writes ``NAME.h5.part``, then
        renames it).
    model : Network
        The network.
    ensemble : NetworkEnsemble or None
        The trajectories' result.
    exact : NetworkExactResult or None
        The exact solution.
    metadata : dict of str or None
        JSON-serialisable metadata of the run.

    Returns
    -------
    None
    """
    import h5py

    with h5py.File(part, "w") as f:
        hdf5.write_header(f, NETWORK_FORMAT_VERSION, NETWORK_FORMAT_MINOR, metadata)
        f.attrs["kind"] = KIND
        g = f.create_group("model")
        for key, value in model.to_dict().items():
            g.attrs[key] = value
        if exact is not None:
            _write_group(f.create_group("exact"), exact)
        if ensemble is not None:
            _write_group(f.create_group("ensemble"), ensemble)


def _scale(g, name: str, values: Any):
    return hdf5.scale(g, name, values, _DESCRIPTIONS.get(name))


def _dims(name: str, shape: tuple, first: str, scales: dict) -> list:
    """The dimension scales of an array (none when its shape does not match them)."""
    tail = _TAIL_DIMS.get(name) or (("cavity",) if len(shape) == 2 and shape[1] == 2 else ())
    names = (first, *tail) if shape else ()
    ok = len(names) == len(shape) and all(
        d in scales and scales[d].shape[0] == n for d, n in zip(names, shape, strict=True)
    )
    return [scales[d] for d in names] if ok else []


def _description(name: str) -> str:
    return _DESCRIPTIONS.get(name, name.replace("_", " "))


def _write_group(g, result: Any) -> None:
    """Every field of a result: arrays, estimates (mean, stderr), records, attributes."""
    net = result.model
    d = net.dimension
    k = np.asarray(result.k)
    scales = {"k": _scale(g, "k", k), "cavity": _scale(g, "cavity", np.arange(2))}
    if isinstance(result, NetworkExactResult):
        scales["n_a"] = _scale(g, "n_a", np.arange(net.cutoff[0]))
        scales["n_b"] = _scale(g, "n_b", np.arange(net.cutoff[1]))
    if getattr(result, "rho_k", None) is not None:
        scales["rho_k"] = _scale(g, "rho_k", np.asarray(result.rho_k))
    if getattr(result, "states", None) is not None or getattr(result, "rho", None) is not None:
        scales["i"] = _scale(g, "i", np.arange(d))
        scales["j"] = _scale(g, "j", np.arange(d))
    for field in dataclasses.fields(result):
        name = field.name
        value = getattr(result, name)
        if name in ("model", "k", "rho_k") or value is None:
            continue
        first = "rho_k" if name in _RHO_FIELDS else "k"
        if isinstance(value, Estimate):
            dims = _dims(name, np.shape(value.mean), first, scales)
            hdf5.dataset(g, f"{name}_mean", value.mean, _description(name), dims)
            hdf5.dataset(g, f"{name}_stderr", value.stderr,
                         _description(name) + " (standard error)", dims)  # fmt: skip
        elif dataclasses.is_dataclass(value):
            _write_records(g.create_group(name), value, k)
        elif isinstance(value, np.ndarray):
            hdf5.dataset(g, name, value, _description(name),
                         _dims(name, value.shape, first, scales))  # fmt: skip
        elif name == "seed" and isinstance(value, int) and not -(2**63) <= value < 2**63:
            g.attrs[name] = str(value)  # SeedSequence entropy (128 bits) does not fit an int64
        elif isinstance(value, (str, bool, int, float, np.generic)):
            g.attrs[name] = value
        else:  # anything else JSON can write (a tuple of names, a dict): as JSON text
            g.attrs[name] = json.dumps(value, default=_json_default)
            g.attrs[_JSON_ATTRS] = [*_json_names(g), name]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be written to a result file")


def _json_names(g) -> list[str]:
    return [hdf5.scalar(n) for n in g.attrs.get(_JSON_ATTRS, [])]


def _write_records(g, records: Any, k: np.ndarray) -> None:
    arrays = {f.name: getattr(records, f.name) for f in dataclasses.fields(records)}
    arrays = {n: np.asarray(v) for n, v in arrays.items() if v is not None}
    m = next(iter(arrays.values())).shape[0] if arrays else 0
    branches = np.shape(arrays.get("qubit_g", np.zeros((0, 0, 0))))[-1]
    scales = {
        "trajectory": _scale(g, "trajectory", np.arange(m)),
        "k": _scale(g, "k", k),
        "cavity": _scale(g, "cavity", np.arange(2)),
        "branch": _scale(g, "branch", np.arange(branches)),
    }
    for name, data in arrays.items():
        dims = _RECORD_DIMS.get(name, ())
        ok = len(dims) == data.ndim and all(
            scales[d].shape[0] == n for d, n in zip(dims, data.shape, strict=True)
        )
        hdf5.dataset(g, name, data, _description(name), [scales[d] for d in dims] if ok else [])


# ------------------------------------------------------------------ reading
def read_network(f: Any, model: Network) -> tuple[Any, NetworkExactResult | None]:
    """The ensemble and the exact solution of an open network result file.

    Parameters
    ----------
    f : h5py.File
        The file, open for reading (its header already checked).
    model : Network
        The network of its ``/model`` attributes.

    Returns
    -------
    (NetworkEnsemble or None, NetworkExactResult or None)
        What the file holds.

    Raises
    ------
    KeyError
        When a dataset the results need is missing (a damaged file).
    """
    ex = _read_group(f["exact"], NetworkExactResult, model) if "exact" in f else None
    ens = None
    if "ensemble" in f:
        ens = _read_group(f["ensemble"], NetworkEnsemble, model, NetworkRecords)
    return ens, ex


def _read_group(g, cls: type, model: Network, records_cls: type | None = None) -> Any:
    import h5py

    kwargs: dict[str, Any] = {"model": model}
    for field in dataclasses.fields(cls):
        name = field.name
        if name == "model":
            continue
        if f"{name}_mean" in g:
            kwargs[name] = Estimate(g[f"{name}_mean"][()], g[f"{name}_stderr"][()])
        elif name in g and isinstance(g[name], h5py.Group):
            sub = g[name]
            fields = dataclasses.fields(records_cls) if records_cls is not None else ()
            kwargs[name] = records_cls(**{f.name: sub[f.name][()] if f.name in sub else None
                                          for f in fields})  # fmt: skip
        elif name in g:
            kwargs[name] = g[name][()]
        elif name in g.attrs:
            value = hdf5.scalar(g.attrs[name])
            if name in _json_names(g):
                value = json.loads(value)
            kwargs[name] = int(value) if name == "seed" and isinstance(value, str) else value
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            kwargs[name] = None  # not in the file (e.g. states not stored, records not kept)
    return cls(**kwargs)


# ------------------------------------------------------------------ sweeps
def sweep_arrays(rec: Any) -> dict[str, tuple[tuple[str, ...], tuple, np.ndarray]]:
    """The variables of one network point of a sweep's combined dataset.

    Parameters
    ----------
    rec : RunRecord
        A network's result (:func:`trajectories.load`).

    Returns
    -------
    dict of str
        Variable name to (dimensions, coordinates along them, values): the ensemble's
        estimates and their ``_stderr`` over ``k`` (and ``cavity``) or ``k_rho``, its
        ``leakage``, ``n_trajectories``, ``seed`` and ``seconds``; the exact solution's
        arrays as ``exact_<name>`` over ``k`` (at the ensemble's checkpoints when both
        are present), ``exact_populations_a`` over ``(k, n_a)`` and ``_b`` over
        ``(k, n_b)``.
    """
    out: dict[str, tuple[tuple[str, ...], tuple, np.ndarray]] = {}
    ens, ex = rec.ensemble, rec.exact
    cavity = np.arange(2)
    k = None
    if ens is not None:
        k = np.asarray(ens.k)
        rho_k = np.asarray(ens.rho_k)
        for field in dataclasses.fields(ens):
            value = getattr(ens, field.name)
            first, kk = ("k_rho", rho_k) if field.name in _RHO_FIELDS else ("k", k)
            if isinstance(value, Estimate):
                dims, coords = _sweep_dims(first, kk, np.shape(value.mean), cavity)
                if dims:
                    out[field.name] = (dims, coords, value.mean)
                    out[f"{field.name}_stderr"] = (dims, coords, value.stderr)
        out["leakage"] = (("k",), (k,), np.asarray(ens.leakage))
        out["n_trajectories"] = ((), (), np.int64(ens.n_trajectories))
        out["seed"] = ((), (), np.array(str(ens.seed), dtype=object))
        out["seconds"] = ((), (), np.float64(getattr(ens, "wall_seconds", np.nan)))
    if ex is not None:
        keep = np.ones(ex.k.size, bool) if k is None else np.isin(ex.k, k)
        kx = np.asarray(ex.k)[keep]
        na, nb = (np.arange(n) for n in ex.model.cutoff)
        for field in dataclasses.fields(ex):
            value = getattr(ex, field.name)
            if field.name in ("k", "states") or not isinstance(value, np.ndarray):
                continue
            if value.ndim == 0 or value.shape[0] != ex.k.size:
                continue
            value = value[keep]
            if field.name in ("populations_a", "populations_b"):
                n = na if field.name.endswith("a") else nb
                dims: tuple = ("k", "n_" + field.name[-1])
                out[f"exact_{field.name}"] = (dims, (kx, n), value)
                continue
            dims, coords = _sweep_dims("k", kx, value.shape, cavity)
            if dims:
                out[f"exact_{field.name}"] = (dims, coords, value)
    return out


def _sweep_dims(first: str, k: np.ndarray, shape: tuple, cavity: np.ndarray):
    if len(shape) == 1 and shape[0] == k.size:
        return (first,), (k,)
    if len(shape) == 2 and shape[0] == k.size and shape[1] == 2:
        return (first, "cavity"), (k, cavity)
    return (), ()
