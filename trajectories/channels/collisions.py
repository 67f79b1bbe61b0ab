"""The collision channel of a model, whatever its interaction.

:func:`collision_channel` returns an object with ``at(k)``, the channel of collision
``k`` (``k >= 1``), each with ``apply_dm(rho) -> (Phi_k(rho), leaked weight)``:

- Jaynes-Cummings: :class:`~trajectories.collision.CollisionChannel` (banded, the same
  for every collision: ``at(k)`` is itself);
- Rabi: :class:`~trajectories.counter_rotating.RabiCollision` (sparse Kraus operators,
  one set per distinct collision phase).
"""

from __future__ import annotations

from ..model.micromaser import Micromaser
from .jaynes_cummings import CollisionChannel

__all__ = ["collision_channel"]


def collision_channel(model: Micromaser, method: str = "auto"):
    """The collision channel(s) of ``model``; ``method`` picks the Rabi integrator."""
    if model.is_jaynes_cummings:
        return CollisionChannel(model)
    from .rabi import RabiCollision

    return RabiCollision(model, method=method)
