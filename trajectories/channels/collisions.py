"""The collisions of a model: which channel acts at collision ``k``.

Every solver asks a *collision sequence* for the channel of collision ``k`` (``k >= 1``)
through one interface: ``at(k)`` returns a :class:`~trajectories.channels.kraus.KrausChannel`,
``period`` is the number of distinct channels that repeat (1: every collision alike; ``None``:
every collision differs) and ``set_index(k)`` numbers them. :func:`collision_sequence` is
the only place that looks at which interaction a model has:

- Jaynes-Cummings: :class:`SameCollision` of
  :func:`~trajectories.channels.jaynes_cummings.jaynes_cummings_channel`;
- Rabi: :class:`~trajectories.channels.rabi.RabiCollisions` (one channel per distinct
  counter-rotating phase).
"""

from __future__ import annotations

from typing import Protocol

from ..model.micromaser import Micromaser
from .jaynes_cummings import jaynes_cummings_channel
from .kraus import KrausChannel

__all__ = [
    "CollisionSequence",
    "SameCollision",
    "collision_sequence",
    "collision_channel",
    "keeps_diagonal",
]


class CollisionSequence(Protocol):
    """The channels of collisions ``1, 2, ...`` of a model."""

    period: int | None
    #: True when the collisions create photons (counter-rotating terms): a truncation error
    #: then says that they pumped the weight up to the cutoff
    counter_rotating: bool

    def at(self, k: int) -> KrausChannel:
        """The channel of collision ``k`` (``k >= 1``)."""

    def set_index(self, k: int) -> int:
        """Index of the distinct channel collision ``k`` uses (``0 .. period - 1``)."""


class SameCollision:
    """Every collision is the same channel."""

    period = 1
    is_periodic = True
    #: the collisions conserve the excitation number: leakage comes only from the state's
    #: own weight reaching the cutoff
    counter_rotating = False

    def __init__(self, channel: KrausChannel):
        self.channel = channel

    def at(self, k: int) -> KrausChannel:
        return self.channel

    def set_index(self, k: int) -> int:
        return 0


def collision_sequence(model: Micromaser, method: str = "auto") -> CollisionSequence:
    """The collision channels of ``model``; ``method`` picks the Rabi integrator."""
    if model.is_jaynes_cummings:
        return SameCollision(jaynes_cummings_channel(model))
    from .rabi import RabiCollisions

    return RabiCollisions(model, method=method)


def keeps_diagonal(model: Micromaser) -> bool:
    """Whether the collisions of ``model`` keep the diagonal index ``d = n - m`` of rho
    (populations evolve alone), known without building them: the Jaynes-Cummings collision
    with incoherent qubits. Equals ``collision_sequence(model).at(1).keeps_diagonal``."""
    return model.is_jaynes_cummings and model.is_incoherent


def collision_channel(model: Micromaser, k: int = 1) -> KrausChannel:
    """The channel of collision ``k`` of ``model`` (the first one by default)."""
    return collision_sequence(model).at(k)
