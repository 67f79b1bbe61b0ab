"""Spectral solvers of the one-step channel: spectrum, fixed points, quasi-stationary
states and escape times of metastable plateaus."""

from .escape import EscapeTime, escape_time
from .network_steady import NetworkSteadyState, network_steady_state
from .spectrum import ONE_TOL, SEPARATION, Spectrum, SteadyStateError, spectrum
from .steady import QuasiStationary, SteadyState, quasi_stationary, steady_state

__all__ = [
    "Spectrum",
    "spectrum",
    "SteadyState",
    "NetworkSteadyState",
    "network_steady_state",
    "QuasiStationary",
    "steady_state",
    "quasi_stationary",
    "EscapeTime",
    "escape_time",
    "SteadyStateError",
    "ONE_TOL",
    "SEPARATION",
]
