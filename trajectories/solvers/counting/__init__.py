"""Exact counting statistics: distributions and moments at finite ``k``, stationary rates,
large deviations (the scaled cumulant generating function and the rate function)."""

from .exact import ExactCounting, ExactMoments, exact_distribution, exact_moments
from .rates import DENSE_CUTOFF_LIMIT, POPULATION_CUTOFF_LIMIT, StationaryRates, stationary_rates
from .scgf import SCGF, RateFunction, rate_function, scgf

__all__ = [
    "ExactCounting",
    "ExactMoments",
    "exact_distribution",
    "exact_moments",
    "StationaryRates",
    "stationary_rates",
    "DENSE_CUTOFF_LIMIT",
    "POPULATION_CUTOFF_LIMIT",
    "SCGF",
    "RateFunction",
    "scgf",
    "rate_function",
]
