r"""Monte Carlo quantum trajectories and exact solutions for the micromaser quantum battery.

One cavity mode (the battery) is charged by a stream of qubits through collisions
(Jaynes-Cummings, or Rabi with counter-rotating terms) and loses photons to a thermal bath
between collisions. The physics is in ``docs/MODEL.md``: energy in units of
:math:`\hbar\omega` (the mean photon number), time in collisions ``k`` (loss rates in
units of the inter-collision time ``t_r``), states on N Fock levels (Sec. 1). The public
entry points, importable as ``import trajectories as tj``:

- The model: :class:`Micromaser`, :func:`fine_tuned_theta`, the interactions
  :class:`JaynesCummings`, :class:`Rabi` and :class:`Modulation`, and initial states
  (:func:`fock_state`, :func:`coherent_state`, :func:`thermal_state`,
  :func:`as_density_matrix`).
- The channels of one step (Sec. 2): :func:`collision_channel`, :class:`LossChannel`,
  :class:`OneStepChannel` (also ``ExactPropagator``), :class:`KrausChannel`.
- :func:`solve_exact`: the exact density-matrix solver (the reference), an
  :class:`ExactResult`.
- :func:`simulate`: Monte Carlo quantum trajectories in parallel, with error bars
  (Secs. 3 and 5), an :class:`EnsembleResult`.
- :func:`compare`: z-scores of an ensemble against the exact solution.
- :func:`steady_state`, :func:`spectrum`, :func:`escape_time`, :func:`quasi_stationary`:
  fixed points, relaxation times and metastable lifetimes from the one-step channel
  (Sec. 9).
- :mod:`trajectories.observables`, :mod:`trajectories.solvers.closed_forms` (Sec. 6),
  :mod:`trajectories.statistics.counting` (``tj.counting``, Sec. 10), and ``tj.plot``
  (figures, loaded on first use).
- :func:`save`, :func:`load`, :class:`RunRecord`: HDF5 result files; :func:`load_sweep`: a
  sweep's combined dataset (xarray); errors and warnings
  :class:`TruncationError`, :class:`TruncationWarning`, :class:`StatisticsWarning`.

Examples
--------
>>> import trajectories as tj
>>> model = tj.Micromaser(theta=tj.fine_tuned_theta(3), q=0.25, cutoff=6)
>>> exact = tj.solve_exact(model, 200)
>>> round(float(exact.energy[-1]), 6)  # the closed form of Sec. 6: levels 0..2, r = 3
1.615385
"""

from __future__ import annotations

from . import bipartite, observables
from ._version import __version__
from .channels.collisions import collision_channel
from .channels.kraus import KrausChannel
from .channels.loss import LossChannel
from .channels.one_step import OneStepChannel
from .channels.operators import DiagonalOperator, KrausOperator
from .errors import StatisticsWarning, TruncationError, TruncationWarning
from .model.imperfections import Arrivals, ThetaSpread
from .model.interactions import JaynesCummings, Modulation, Rabi
from .model.micromaser import Micromaser, fine_tuned_theta
from .model.network import Network
from .model.protocol import Protocol, Stage
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
from .solvers.montecarlo.network_result import NetworkEnsemble, NetworkRecords
from .solvers.montecarlo.result import EnsembleResult, Estimate, PerTrajectory
from .solvers.montecarlo.simulate import simulate
from .solvers.network_exact import NetworkExactResult
from .solvers.spectral import (
    EscapeTime,
    NetworkSteadyState,
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
from .statistics.discharge import DischargeReport, discharge_report

__all__ = [
    "__version__",
    "Micromaser",
    "Network",
    "NetworkExactResult",
    "NetworkEnsemble",
    "NetworkRecords",
    "fine_tuned_theta",
    "JaynesCummings",
    "Arrivals",
    "ThetaSpread",
    "Protocol",
    "Stage",
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
    "NetworkSteadyState",
    "QuasiStationary",
    "EscapeTime",
    "SteadyStateError",
    "load",
    "save",
    "load_sweep",
    "RunRecord",
    "compare",
    "Comparison",
    "DischargeReport",
    "discharge_report",
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
    "bipartite",
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
