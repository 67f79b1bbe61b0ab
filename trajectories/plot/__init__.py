"""Figures of results: observables against collisions, photon distributions, counts.

``tj.plot.observables(result)`` and friends return a matplotlib ``Figure`` (and save it
when given a path). Matplotlib is imported only when this package is.
"""

from .figures import count_histograms, energy_per_trajectory, observables, photon_distribution

__all__ = ["observables", "photon_distribution", "count_histograms", "energy_per_trajectory"]
