"""Figures of results: observables against collisions, photon distributions, counts.

``tj.plot.observables(result)`` and friends return a matplotlib ``Figure`` (and save it
when given a path); :func:`close` releases one. Matplotlib is imported only by this package,
and only when it is imported (``tj.plot`` is loaded on first use); it never changes the
backend: without a display matplotlib chooses a non-interactive one itself.
"""

from .figures import count_histograms, energy_per_trajectory, observables, photon_distribution

__all__ = [
    "observables",
    "photon_distribution",
    "count_histograms",
    "energy_per_trajectory",
    "close",
]


def close(fig) -> None:
    """Release a figure (scripts that write many figures keep memory flat)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
