"""Figures of results: observables against collisions, photon distributions, counts.

``tj.plot.observables(result)`` and friends return a matplotlib ``Figure`` (and save it
when given a path, nothing clipped); :func:`save` writes one more file of a figure and
:func:`close` releases it. Matplotlib is imported only by this package, and only when it
is imported (``tj.plot`` is loaded on first use); it never changes the backend: without a
display matplotlib chooses a non-interactive one itself.

The shared conventions (exact solution in black, trajectories in colour with error bars of
their own colour, legends outside the axes, a logarithmic collision axis for short
transients, ``theta`` written as ``pi/sqrt(m)``, bins chosen from the data, a note instead
of an empty panel) are in :mod:`trajectories.plot.style`. The command line writes the
figures as ``NAME-observables`` and ``NAME-books`` (the energy books,
:func:`energy_books`; ``micromaser run`` and ``micromaser plot``),
``NAME-photons`` and ``NAME-records`` (``micromaser plot``), ``NAME-counts-*``
(``micromaser counts``) and ``NAME-scgf`` (``micromaser counts --scgf``,
:mod:`trajectories.plot.large_deviations`), each under one name. A network of two
cavities has one figure, :func:`network_observables` (``NAME-observables``).
"""

from .books import energy_books, has_books, mark_stages
from .figures import count_histograms, energy_per_trajectory, observables, photon_distribution
from .network import is_network, network_observables, network_title
from .style import save, theta_label

__all__ = [
    "observables",
    "photon_distribution",
    "count_histograms",
    "energy_per_trajectory",
    "energy_books",
    "has_books",
    "mark_stages",
    "network_observables",
    "network_title",
    "is_network",
    "theta_label",
    "save",
    "close",
]


def close(fig) -> None:
    """Release a figure (scripts that write many figures keep memory flat).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure returned by a function of this package.

    Returns
    -------
    None
    """
    import matplotlib.pyplot as plt

    plt.close(fig)
