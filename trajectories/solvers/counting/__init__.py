"""Exact counting statistics: distributions and moments at finite ``k``, stationary rates."""

from .exact import ExactCounting, ExactMoments, exact_distribution, exact_moments
from .rates import DENSE_CUTOFF_LIMIT, POPULATION_CUTOFF_LIMIT, StationaryRates, stationary_rates

__all__ = [
    "ExactCounting",
    "ExactMoments",
    "exact_distribution",
    "exact_moments",
    "StationaryRates",
    "stationary_rates",
    "DENSE_CUTOFF_LIMIT",
    "POPULATION_CUTOFF_LIMIT",
]
