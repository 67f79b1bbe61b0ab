"""Exceptions raised by the solvers (SPEC Sec. 6)."""

from __future__ import annotations

__all__ = ["TruncationError"]


class TruncationError(RuntimeError):
    """Population lost through the Fock cutoff exceeded the tolerance.

    Raised instead of returning numbers that the truncation has silently
    corrupted. The message names the cutoff, the leaked population, the
    collision at which the tolerance was crossed, and a larger cutoff to try.
    """

    def __init__(self, cutoff: int, leakage: float, tolerance: float, collision: int):
        self.cutoff = cutoff
        self.leakage = leakage
        self.tolerance = tolerance
        self.collision = collision
        suggestion = max(2 * cutoff, cutoff + 20)
        super().__init__(
            f"population {leakage:.3g} leaked through the Fock cutoff (cutoff={cutoff}) "
            f"by collision {collision}, above leakage_tol={tolerance:.3g}; "
            f"results would be wrong: use a larger cutoff (try cutoff={suggestion}) "
            f"or fewer collisions"
        )
