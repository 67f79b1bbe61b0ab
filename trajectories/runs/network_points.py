"""One point of a network run file: the ``[network]`` section into a validated Network.

A run file with a ``[network]`` table instead of ``[model]`` runs a
:class:`~trajectories.Network` of two cavities (``docs/MODEL.md``, "Networks of
batteries")::

    [network]
    theta = ["pi/sqrt(15)", "pi/sqrt(15)"]   # a pair [A, B]; numbers or expressions
    q = 0.25
    c = 1.0                        # or { abs = .., phase = .. } or { re = .., im = .. }
    gamma_tr = 0.1                 # one value for both cavities, or a pair [A, B]
    nbar = [0.15, 0.0]
    cutoff = [20, 20]              # a pair [N_A, N_B]
    topology = "series"            # or "simultaneous"
    # arrivals, theta_spread: as in [model]

``theta`` and ``q`` are required (a network has no default charging); the other keys take
the defaults of :class:`~trajectories.Network`. A flat list is a pair; a list of pairs (or,
for ``gamma_tr`` and ``nbar``, of values) is a sweep axis, and so is a list of ``q``, ``c``
or ``topology`` values. ``[run]`` is read as for one cavity, but ``max_jumps`` does not
apply (the network's trajectories keep no jump log), ``rho_checkpoints`` defaults to
``"last"`` (the joint state is ``N_A N_B`` square) and ``"none"`` is refused. Every
mistake is one :class:`~trajectories.runs.settings.RunFileError` line naming the key
(``network.cutoff[1]``), the value and what is allowed, before any work.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..model.network import TOPOLOGIES, Network
from ..validation import check_memory, format_bytes
from .points import _build_output, _build_run, model_value
from .schema import (
    NETWORK_KEYS,
    NETWORK_SECTION,
    _Checker,
    _describe,
    _StageChecker,
)
from .settings import RunPoint, RunSettings

__all__ = [
    "network_value",
    "build_network",
    "build_network_point",
    "NETWORK_RECORD_BYTES",
]

#: Bytes per trajectory and checkpoint of a network run's per-trajectory records, a lower
#: bound: ``n_mean``, ``n2_mean``, ``emissions``, ``absorptions`` (2 x 8 bytes each) and
#: ``qubit_g``, ``qubit_e`` (2 branches x 8 bytes each).
NETWORK_RECORD_BYTES = 4 * 16 + 2 * 16

_THETA_ALLOWED = "a pair [theta_A, theta_B] of numbers >= 0 or expressions such as 'pi/sqrt(15)'"
_CUTOFF_ALLOWED = "a pair [N_A, N_B] of integers >= 2"


def network_value(chk: _Checker, key: str, value: Any) -> Any:
    """Convert one ``[network]`` value of a run file; ranges are checked by ``Network``.

    Parameters
    ----------
    chk : _Checker
        The run file's checker (``trajectories.runs.schema``): errors name its source.
    key : str
        The bare ``[network]`` key (``"theta"``, ``"gamma_tr"``, ...).
    value : object
        The value as read: ``theta`` a pair of numbers or expression strings; ``cutoff``
        a pair of integers; ``gamma_tr`` and ``nbar`` one number (or expression) or a
        pair; ``topology`` a name; ``q``, ``c`` and the beam keys as in ``[model]``
        (:func:`~trajectories.runs.points.model_value`).

    Returns
    -------
    object
        A tuple of two floats (``theta``, a pair of ``gamma_tr`` or ``nbar``), a tuple of
        the two values as given (``cutoff``: ``Network`` checks them), a float, a complex,
        the topology name, or an Arrivals or ThetaSpread.

    Raises
    ------
    RunFileError
        Naming ``network.<key>`` (``network.theta[1]`` for an entry of a pair), when the
        value is not of the allowed form.
    """
    dotted = f"{NETWORK_SECTION}.{key}"
    if key == "topology":
        return chk.string(dotted, value, TOPOLOGIES)
    if key in ("theta", "cutoff"):
        allowed = _THETA_ALLOWED if key == "theta" else _CUTOFF_ALLOWED
        if not _is_list(value) or len(value) != 2:
            raise chk.fail(dotted, f"{dotted} must be {allowed}, got {_describe(value)}")
        if key == "cutoff":
            return tuple(value)  # Network names cutoff[i] when it is not an integer >= 2
        return tuple(chk.real(f"{dotted}[{i}]", v) for i, v in enumerate(value))
    if key in ("gamma_tr", "nbar"):
        if _is_list(value):
            if len(value) != 2:
                raise chk.fail(
                    dotted,
                    f"{dotted} must be one value or a pair [A, B], got a list of {len(value)}: "
                    f"{list(value)!r}; a sweep over {dotted} is a list of pairs or of "
                    f"single values in brackets, e.g. [[0.1, 0.1], [0.01, 0.05]]",
                )
            return tuple(chk.real(f"{dotted}[{i}]", v) for i, v in enumerate(value))
        return chk.real(dotted, value)
    # q, c, arrivals, theta_spread: the [model] forms, errors named network.<key>
    return model_value(_StageChecker(chk.source, NETWORK_SECTION), key, value)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def build_network(chk: _Checker, section: Mapping) -> Network:
    """Validate a (sweep-expanded) ``[network]`` section into a :class:`~trajectories.Network`.

    Parameters
    ----------
    chk : _Checker
        The run file's checker: errors name its source.
    section : Mapping
        The ``[network]`` table; ``theta`` and ``q`` are required.

    Returns
    -------
    Network
        The validated network.

    Raises
    ------
    RunFileError
        Naming the key (``network.q``, ``network.cutoff[0]``), the value and what is allowed.
    """
    for key in ("theta", "q"):
        if key not in section:
            raise chk.fail(
                f"{NETWORK_SECTION}.{key}",
                f"{NETWORK_SECTION}.{key} is missing: a network needs theta = [theta_A, "
                "theta_B] and q (the qubits' ground-state population)",
            )
    params = {key: network_value(chk, key, value) for key, value in section.items()}
    try:
        return Network(**params)
    except ValueError as err:
        text = str(err)
        key = next((k for k in NETWORK_KEYS if text.startswith((k + " ", k + "["))), None)
        where = text.split(" ", 1)[0] if key else ""
        raise chk.fail(
            f"{NETWORK_SECTION}.{where}" if key else NETWORK_SECTION, f"{NETWORK_SECTION}.{text}"
        ) from None


def _build_network_run(chk: _Checker, section: Mapping) -> RunSettings:
    """The ``[run]`` section of a network: no jump log; rho at the last checkpoint by default."""
    s = dict(section)
    if "max_jumps" in s:
        raise chk.fail(
            "run.max_jumps",
            f"run.max_jumps = {s['max_jumps']!r} does not apply to a network: its trajectories "
            "keep no jump log (leave run.max_jumps out)",
        )
    if "records" in s:
        raise chk.fail(
            "run.records",
            f"run.records = {s['records']!r} does not apply to a network: its trajectories "
            "keep their records at every checkpoint (leave run.records out)",
        )
    rho = s.setdefault("rho_checkpoints", "last")
    if rho == "none":
        raise chk.fail(
            "run.rho_checkpoints",
            "run.rho_checkpoints = 'none' is not available for a network (its purity, "
            "ergotropy and entanglement need the joint state): use 'last', 'all' or a list "
            "of checkpoints",
        )
    return _build_run(chk, s)


def _rho_count(run: RunSettings) -> int:
    rho = run.rho_checkpoints
    if isinstance(rho, str):
        return {"all": len(run.checkpoints), "last": 1}.get(rho, 0)
    return len(rho)


def _check_network_memory(chk: _Checker, net: Network, run: RunSettings) -> None:
    """The exact solver's memory check and a lower bound of the trajectories' memory."""
    from ..solvers.montecarlo.options import DEFAULT_JACKKNIFE_GROUPS, default_chunk_size
    from ..solvers.network_exact import check_network_memory

    if run.exact:
        try:
            check_network_memory(net, len(run.checkpoints))
        except ValueError as err:
            raise chk.fail(f"{NETWORK_SECTION}.cutoff", f"{NETWORK_SECTION}.{err}") from None
    if run.exact == "only":
        return
    m, c = run.trajectories, len(run.checkpoints)
    chunk = run.chunk_size or default_chunk_size(m)
    groups = min(-(-m // chunk), DEFAULT_JACKKNIFE_GROUPS)
    d2 = 16 * net.dimension**2  # one complex joint density matrix
    per = NETWORK_RECORD_BYTES
    try:
        check_memory(
            "run.trajectories", str(m), m * c * per,
            f"the per-trajectory records ({per} bytes per trajectory per checkpoint, "
            f"{c} checkpoints)",
            lambda limit: f"at most {limit // max(c * per, 1)} trajectories",
        )  # fmt: skip
        n_rho = _rho_count(run)
        check_memory(
            "run.rho_checkpoints", repr(run.rho_checkpoints), (groups + 1) * n_rho * d2,
            f"{n_rho} joint density matrices of {format_bytes(d2)} in each of "
            f"{groups + 1} sums (jackknife groups and total)",
            "keep rho at fewer checkpoints ('last'), or use smaller cutoffs",
        )  # fmt: skip
    except ValueError as err:
        key = str(err).split("=", 1)[0]
        raise chk.fail(key, str(err)) from None


def build_network_point(
    chk: _Checker, spec: Mapping, name: str, sweep_values: dict[str, Any]
) -> RunPoint:
    """Validate and resolve the sections of one network sweep point into a :class:`RunPoint`.

    Parameters
    ----------
    chk : _Checker
        The run file's checker: errors name its source.
    spec : Mapping
        The point's ``network``, ``run`` and ``output`` tables (sweep already expanded).
    name : str
        The point's file stem.
    sweep_values : dict
        The swept keys' values at this point.

    Returns
    -------
    RunPoint
        The point; its ``model`` is the :class:`~trajectories.Network`.

    Raises
    ------
    RunFileError
        Naming the key, the value and what is allowed; also when the run asks for
        trajectories (``run.exact`` not ``"only"``) and this version cannot simulate a
        network, or when the run does not fit in this machine's memory.
    """
    net = build_network(chk, spec.get(NETWORK_SECTION, {}))
    run = _build_network_run(chk, spec.get("run", {}))
    output = _build_output(chk, spec.get("output", {}))
    _check_network_memory(chk, net, run)
    return RunPoint(
        name=name,
        model=net,
        run=run,
        output=output,
        sweep_values=dict(sweep_values),
        _spec=copy.deepcopy(dict(spec)),
    )
