"""Monte Carlo quantum trajectories and exact solutions for the micromaser quantum battery.

One cavity mode (the battery) is charged by a stream of qubits through
Jaynes-Cummings collisions and loses photons to a thermal bath between
collisions. The physics is in ``docs/MODEL.md``; the public entry
points are:

- :class:`Micromaser`, :func:`fine_tuned_theta`: the model.
- :func:`solve_exact`: the exact density-matrix solver (the reference).
- :func:`simulate`: Monte Carlo quantum trajectories in parallel, with error bars.
- :func:`compare`: z-scores of an ensemble against the exact solution.
- :func:`steady_state`, :func:`spectrum`, :func:`escape_time`: fixed points, relaxation
  times and metastable lifetimes from the one-collision channel.
- :func:`load`, :func:`save`, :func:`load_sweep`: result files and a sweep's combined dataset.
- :mod:`trajectories.observables`, :mod:`trajectories.closed_forms`.
"""

from __future__ import annotations

from . import observables
from ._version import __version__
from .channels.collisions import collision_channel
from .channels.kraus import KrausChannel
from .channels.loss import LossChannel
from .channels.one_step import OneStepChannel
from .channels.operators import DiagonalOperator, KrausOperator
from .errors import StatisticsWarning, TruncationError, TruncationWarning
from .model.interactions import JaynesCummings, Modulation, Rabi
from .model.micromaser import Micromaser, fine_tuned_theta
from .model.states import as_density_matrix, coherent_state, fock_state, thermal_state
from .runs.io import RunRecord, load, save
from .runs.sweep import load_sweep
from .solvers import closed_forms
from .solvers.closed_forms import (
    coherent_steady_populations,
    incoherent_steady_populations,
    incoherent_steady_purity,
)
from .solvers.exact import DEFAULT_LEAKAGE_TOL, ExactPropagator, ExactResult, solve_exact
from .solvers.montecarlo.result import EnsembleResult, Estimate, PerTrajectory
from .solvers.montecarlo.simulate import simulate
from .solvers.spectral import (
    EscapeTime,
    QuasiStationary,
    Spectrum,
    SteadyState,
    SteadyStateError,
    escape_time,
    quasi_stationary,
    spectrum,
    steady_state,
)
from .statistics import counting
from .statistics.compare import Comparison, compare

__all__ = [
    "__version__",
    "Micromaser",
    "fine_tuned_theta",
    "JaynesCummings",
    "Rabi",
    "Modulation",
    "solve_exact",
    "simulate",
    "steady_state",
    "spectrum",
    "escape_time",
    "quasi_stationary",
    "OneStepChannel",
    "Spectrum",
    "SteadyState",
    "QuasiStationary",
    "EscapeTime",
    "SteadyStateError",
    "load",
    "save",
    "load_sweep",
    "RunRecord",
    "compare",
    "Comparison",
    "EnsembleResult",
    "Estimate",
    "PerTrajectory",
    "StatisticsWarning",
    "ExactResult",
    "ExactPropagator",
    "DEFAULT_LEAKAGE_TOL",
    "KrausChannel",
    "KrausOperator",
    "DiagonalOperator",
    "collision_channel",
    "LossChannel",
    "TruncationError",
    "TruncationWarning",
    "observables",
    "counting",
    "closed_forms",
    "incoherent_steady_populations",
    "incoherent_steady_purity",
    "coherent_steady_populations",
    "as_density_matrix",
    "fock_state",
    "coherent_state",
    "thermal_state",
]


#: Names of earlier versions: the collision's channel (now a KrausChannel for every
#: interaction) and its operators (now stored by any number of diagonals).
CollisionChannel = collision_channel
BandedKraus = KrausOperator


def __getattr__(name: str):
    """``tj.plot`` on first use (matplotlib is imported only when figures are wanted)."""
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
