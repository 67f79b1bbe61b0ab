"""What one point of a run is: its model, how it is run and where its output goes.

:class:`RunSettings` (the ``[run]`` section) takes its defaults from the solver's own
:class:`~trajectories.solvers.montecarlo.options.TrajectoryOptions`, so a setting has one
default wherever it is read: the Python API, the run files, the command line.
:class:`RunPoint` is one validated point of a (possibly swept) run file. Errors in a run
file are :class:`RunFileError`: one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..model.interactions import JaynesCummings, Rabi
from ..model.micromaser import Micromaser, fine_tuned_theta
from ..model.network import Network
from ..solvers.montecarlo.options import DEFAULT_CHECKPOINTS, DEFAULTS, TrajectoryOptions
from ..solvers.montecarlo.options import default_checkpoints as _default_checkpoints

__all__ = [
    "RunFileError",
    "RunSettings",
    "OutputSettings",
    "RunPoint",
    "DEFAULT_MODEL",
    "DEFAULT_CHECKPOINT_COUNT",
    "PLOT_FORMATS",
    "default_checkpoints",
]

#: The built-in default model (the paper's Fig. 5 case with gamma t_r = 0.1), used for
#: every [model] key a run file leaves out.
DEFAULT_MODEL: dict[str, Any] = {
    "theta": fine_tuned_theta(15),
    "q": 0.25,
    "c": 1.0,
    "gamma_tr": 0.1,
    "nbar": 0.15,
    "cutoff": 60,
}
#: Number of evenly spaced checkpoints when a run file gives none (the solver's default).
DEFAULT_CHECKPOINT_COUNT = DEFAULT_CHECKPOINTS
#: Plot formats the [output] section accepts.
PLOT_FORMATS = ("png", "pdf")


class RunFileError(ValueError):
    """A run file (or a run dictionary, or a command-line override) is invalid.

    The message is one line naming the key (dotted, e.g. ``run.checkpoints``), the
    offending value and what is allowed. Newlines become spaces and other unprintable
    characters of the file (carriage returns, line separators, direction overrides) are
    shown escaped, so that the message stays one line.

    Parameters
    ----------
    message : str
        What is wrong.
    key : str or None, optional
        The dotted key, when there is one.
    source : str or None, optional
        The file, preset or ``"command line"`` the error came from; it prefixes the
        message (not for ``None`` or ``"<dict>"``).

    Attributes
    ----------
    key, source, message : str or None
        As given (``message`` without the source prefix).
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        self.key = key
        self.source = source
        self.message = message
        text = message if source in (None, "<dict>") else f"{source}: {message}"
        text = " ".join(text.split("\n"))
        super().__init__(_UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text))


#: Characters a terminal would not show on the same line as one visible character: control
#: characters (but tab), other whitespace than space and tab, line and paragraph separators,
#: zero-width and bidirectional formatting characters.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]|[^\\S \t]"
)


def default_checkpoints(collisions: int) -> tuple[int, ...]:
    """The solver's default checkpoints: 101 evenly spaced in ``[0, collisions]`` (every
    collision up to 100).

    Parameters
    ----------
    collisions : int
        Collisions per trajectory, ``>= 0``.

    Returns
    -------
    tuple of int
        Increasing collision counts from 0 to ``collisions``.

    Examples
    --------
    >>> default_checkpoints(4)
    (0, 1, 2, 3, 4)
    >>> len(default_checkpoints(2000)), default_checkpoints(2000)[:3]
    (101, (0, 20, 40))
    """
    return tuple(int(k) for k in _default_checkpoints(collisions))


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How one point of a run file is run (the ``[run]`` section, resolved and validated).

    Defaults are the solver's (:class:`~trajectories.solvers.montecarlo.options.TrajectoryOptions`).

    Parameters
    ----------
    trajectories : int
        Trajectories, ``>= 1``.
    collisions : int
        Collisions per trajectory, ``>= 1`` (a protocol: the stages' total).
    seed : int or None
        Root seed (None: fresh entropy, stored in the result).
    chunk_size : int or None
        Trajectories per chunk (None: the solver's default).
    checkpoints : tuple of int
        Explicit collision counts, strictly increasing (never empty once resolved from a
        run file; empty: the solver's default).
    rho_checkpoints : {"all", "last", "none"} or tuple of int
        Checkpoints keeping the density matrix (a subset of ``checkpoints``).
    jobs : int
        joblib workers (``-1``: all cores).
    backend : str
        joblib backend.
    max_jumps : int
        Jump times recorded per trajectory.
    leakage_tol : float
        Largest mean population lost through the cutoff.
    exact : bool or "only"
        Run the exact density-matrix solver as well as the trajectories; ``"only"``: the
        exact solver alone (no trajectories; ``trajectories`` is not used).
    records : {"all", "last", "none"}, tuple of int or None
        Checkpoints at which the per-trajectory records are kept (a subset of
        ``checkpoints``); None: the solver's default (``records`` of
        :func:`~trajectories.simulate`).
    """

    trajectories: int = 10_000
    collisions: int = 2000
    seed: int | None = None
    chunk_size: int | None = DEFAULTS.chunk_size
    checkpoints: tuple[int, ...] = ()
    rho_checkpoints: str | tuple[int, ...] = DEFAULTS.rho_checkpoints
    jobs: int = DEFAULTS.n_jobs
    backend: str = DEFAULTS.backend
    max_jumps: int = DEFAULTS.max_jumps
    leakage_tol: float = DEFAULTS.leakage_tol
    exact: bool | str = True
    records: str | tuple[int, ...] | None = None

    def options(self) -> TrajectoryOptions:
        """The settings as the trajectory solver takes them.

        Returns
        -------
        TrajectoryOptions
            ``jobs`` as ``n_jobs``; empty ``checkpoints`` as None (the solver's default).
        """
        return TrajectoryOptions(
            n_jobs=self.jobs,
            backend=self.backend,
            chunk_size=self.chunk_size,
            checkpoints=list(self.checkpoints) if self.checkpoints else None,
            rho_checkpoints=self.rho_checkpoints
            if isinstance(self.rho_checkpoints, str)
            else list(self.rho_checkpoints),
            max_jumps=self.max_jumps,
            leakage_tol=self.leakage_tol,
            records=self.records
            if self.records is None or isinstance(self.records, str)
            else list(self.records),
        )

    def simulate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`trajectories.simulate` (after the model).

        Returns
        -------
        dict
            ``n_collisions``, ``n_trajectories``, ``seed`` and the fields of
            :meth:`options`.
        """
        return {
            "n_collisions": self.collisions,
            "n_trajectories": self.trajectories,
            "seed": self.seed,
            **dataclasses.asdict(self.options()),
        }


@dataclasses.dataclass(frozen=True)
class OutputSettings:
    """Where one point's results go: ``folder/name.*``, with plots in ``plots`` formats.

    Parameters
    ----------
    folder : str
        Output folder (created when needed).
    name : str
        File stem of the point's files.
    plots : tuple of str
        Figure formats, from :data:`PLOT_FORMATS` (empty: no figures).
    """

    folder: str = "runs"
    name: str = "run"
    plots: tuple[str, ...] = ("png",)


@dataclasses.dataclass(frozen=True)
class RunPoint:
    """One point of a (possibly swept) run: a validated model and its settings.

    Built by :func:`~trajectories.runs.runfile.parse_run_dict` and
    :func:`~trajectories.runs.runfile.load_run_file`.

    Parameters
    ----------
    name : str
        The file stem, unique within the sweep (the output name plus a suffix built from
        the swept values, e.g. ``fig5_gamma_tr-0.001``).
    model : Micromaser or Network
        The validated model, or the network of two cavities of a ``[network]`` file.
    run : RunSettings
        How it is run.
    output : OutputSettings
        Where its results go.
    sweep_values : dict
        Each swept key (bare, e.g. ``"gamma_tr"``; ``"stage2_theta"`` for a stage's key) to
        this point's value (``{}`` without a sweep).
    protocol : Protocol or None
        The point's protocol when the run file has ``[[stage]]`` tables (``model`` is then
        its first stage's model); None for a single model.
    _spec : Mapping or None
        The point's own sweep-expanded, unresolved sections, so that command-line
        overrides are validated again exactly like the file (internal; None: rebuilt from
        the settings).
    """

    name: str
    model: Micromaser | Network
    run: RunSettings
    output: OutputSettings
    sweep_values: dict = dataclasses.field(default_factory=dict)
    protocol: Any = None
    #: The point's own (sweep-expanded, unresolved) sections, kept so that command-line
    #: overrides are re-validated exactly like the file (e.g. ``{every = 20}`` checkpoints
    #: follow a new number of collisions).
    _spec: Mapping | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def stem(self) -> Path:
        """``folder/name``: the path of this point's output files without a suffix."""
        return Path(self.output.folder) / self.name

    def to_dict(self) -> dict[str, Any]:
        """Everything about the point as plain JSON-serialisable Python values.

        Returns
        -------
        dict
            ``name``, ``model`` (its run-file keys, the beam's only when not ideal; for a
            network ``network``, its [network] keys, and no ``run.max_jumps``),
            ``run``, ``output`` and ``sweep_values``, and for a protocol ``stages`` (each
            stage's ``name``, ``collisions`` and its model's run-file keys, the cutoff
            included); ``c`` is written as
            ``{"re": .., "im": ..}`` (also inside ``sweep_values``); tuples become lists.
        """
        m = self.model
        run = dataclasses.asdict(self.run)
        run["checkpoints"] = list(self.run.checkpoints)
        if not isinstance(self.run.rho_checkpoints, str):
            run["rho_checkpoints"] = list(self.run.rho_checkpoints)
        if self.run.records is None:
            del run["records"]  # the solver's default (a run file without the key)
        elif not isinstance(self.run.records, str):
            run["records"] = list(self.run.records)
        output = dataclasses.asdict(self.output)
        output["plots"] = list(self.output.plots)
        if isinstance(m, Network):  # its [network] keys; no jump log
            del run["max_jumps"]
            model = {"network": _network_dict(m)}
        else:
            model = {"model": _model_dict(m)}
        d = {
            "name": self.name,
            **model,
            "run": run,
            "output": output,
            "sweep_values": {k: _plain(v) for k, v in self.sweep_values.items()},
        }
        if self.protocol is not None:
            d["stages"] = [
                {"name": s.name, "collisions": s.collisions, "model": _model_dict(s.model)}
                for s in self.protocol.stages
            ]
        return d


def _model_dict(m: Micromaser) -> dict[str, Any]:
    """A model's run-file [model] keys (the beam's only when not ideal)."""
    return {
        "theta": m.theta,
        "q": m.q,
        "c": _complex_dict(m.c),
        "gamma_tr": m.gamma_tr,
        "nbar": m.nbar,
        "cutoff": m.cutoff,
        **_collision_dict(m.collision),
        **_beam_dict(m),
    }


def _network_dict(n: Network) -> dict[str, Any]:
    """A network's run-file [network] keys (the beam's only when not ideal)."""
    return {
        "theta": list(n.theta),
        "q": n.q,
        "c": _complex_dict(n.c),
        "gamma_tr": list(n.gamma_tr),
        "nbar": list(n.nbar),
        "cutoff": list(n.cutoff),
        "topology": n.topology,
        **_beam_dict(n),
    }


def _collision_dict(col: JaynesCummings | Rabi) -> dict[str, Any]:
    """The run-file [model] keys of a collision (none for Jaynes-Cummings)."""
    if not isinstance(col, Rabi):
        return {}
    d: dict[str, Any] = {"collision": "rabi", "g_over_omega": col.g_over_omega}
    if col.modulation is not None:
        d["eta"] = col.modulation.eta
        d["nu_over_omega"] = col.modulation.nu_over_omega
    if col.omega_tr is not None:
        d["omega_tr"] = col.omega_tr
    if col.extra_levels is not None:
        d["extra_levels"] = col.extra_levels
    return d


def _beam_dict(m: Micromaser | Network) -> dict[str, Any]:
    """The run-file [model] keys of the qubit beam (none for the ideal beam)."""
    d: dict[str, Any] = {}
    arr, spread = m.arrivals, m.theta_spread
    if arr.kind == "poisson":
        d["arrivals"] = "poisson"
    elif arr.kind == "bernoulli":
        d["arrivals"] = {"bernoulli": arr.p}
    if spread.kind == "discrete":
        values = {"values": list(spread.values), "weights": list(spread.weights)}
        d["theta_spread"] = {"discrete": values}
    elif not spread.is_none:
        d["theta_spread"] = {spread.kind: spread.width}
    return d


def _complex_dict(z: complex) -> dict[str, float]:
    return {"re": float(z.real), "im": float(z.imag)}


def _plain(value: Any) -> Any:
    if isinstance(value, complex):
        return _complex_dict(value)
    return value
