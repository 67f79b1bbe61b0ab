"""Exceptions and warnings of the solvers, and the truncation rule they share."""

from __future__ import annotations

__all__ = [
    "DEFAULT_LEAKAGE_TOL",
    "TruncationError",
    "TruncationWarning",
    "StatisticsWarning",
    "warn_if_close",
]

#: Default bound on the total population lost through the cutoff in one run (every solver).
DEFAULT_LEAKAGE_TOL = 1e-8

#: Warn when the leaked population exceeds this fraction of the tolerance.
CLOSE_FRACTION = 0.1


class TruncationError(RuntimeError):
    """Population lost through the Fock cutoff exceeded the tolerance.

    Raised instead of returning numbers that the truncation has silently
    corrupted. The message names the cutoff, the leaked population, the
    collision at which the tolerance was crossed, and a larger cutoff to try.
    """

    def __init__(
        self,
        cutoff: int,
        leakage: float,
        tolerance: float,
        collision: int,
        counter_rotating: bool = False,
    ):
        self.cutoff = cutoff
        self.leakage = leakage
        self.tolerance = tolerance
        self.collision = collision
        self.counter_rotating = counter_rotating
        suggestion = max(2 * cutoff, cutoff + 20)
        why = (
            "the counter-rotating terms of the Rabi collision create photons and pump "
            "population up to the cutoff (excitation number is not conserved); "
            if counter_rotating
            else ""
        )
        super().__init__(
            f"population {leakage:.3g} leaked through the Fock cutoff (cutoff={cutoff}) "
            f"by collision {collision}, above leakage_tol={tolerance:.3g}; {why}"
            f"results would be wrong: use a larger cutoff (try cutoff={suggestion}) "
            f"or fewer collisions"
        )

    def __reduce__(self):  # picklable, so it crosses process boundaries (joblib workers)
        return (
            type(self),
            (self.cutoff, self.leakage, self.tolerance, self.collision, self.counter_rotating),
        )


class StatisticsWarning(UserWarning):
    """The run's error bars are themselves unreliable (too few trajectories or chunks)."""


class TruncationWarning(UserWarning):
    """The leaked population is below the tolerance but within a factor 10 of it."""


def warn_if_close(cutoff: int, leakage: float, tolerance: float) -> None:
    """Warn once per run when the leakage is within a factor 10 of its tolerance."""
    import warnings

    if tolerance != float("inf") and leakage > CLOSE_FRACTION * tolerance:
        warnings.warn(
            f"population {leakage:.3g} leaked through the Fock cutoff (cutoff={cutoff}), "
            f"within a factor 10 of leakage_tol={tolerance:.3g}; consider a larger cutoff",
            TruncationWarning,
            stacklevel=3,
        )
