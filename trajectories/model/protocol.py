r"""Protocols: a battery charged, stored and discharged by a sequence of stages.

A :class:`Protocol` is a list of :class:`Stage` objects, each a model and a number of
collisions: the state is passed on from stage to stage (``docs/MODEL.md``, Sec. 12). Every
stage is an ordinary :class:`~trajectories.model.micromaser.Micromaser`, so any model option
(the Rabi collision, random arrivals, a theta spread) works in any stage:

- charging: the paper's models;
- storage: ``theta = 0`` (the qubits pass without interacting, only the loss acts);
- discharge: ground-state qubits, ``q = 1``, ``c = 0``, which take the energy away.

Collisions are numbered globally: stage ``s`` covers collisions ``K_0 + ... + K_{s-1} + 1``
to ``K_0 + ... + K_s``, and collision 0 is the initial state. All stages share the cutoff.
A stage may instead start from a given state (``Stage(model, K, initial_state=...)``): the
state passed on is then replaced (a fresh battery, or a state prepared elsewhere).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..validation import collision_count, show
from .micromaser import Micromaser
from .states import as_density_matrix

__all__ = ["Protocol", "Stage", "run_segments"]


@dataclasses.dataclass(frozen=True, eq=False)
class Stage:
    """One stage of a protocol: ``collisions`` collisions with ``model``.

    Parameters
    ----------
    model : Micromaser
        The physics of the stage.
    collisions : int
        Number of collisions, ``>= 1``.
    initial_state : array_like, shape (N,) or (N, N), optional
        Start the stage from this state instead of the previous stage's final state (the
        first stage starts from it instead of the protocol's initial state); validated
        against the stage's cutoff.
    name : str, optional
        A label for reports and figures (default ``"stage <index>"``, set by
        :class:`Protocol`).

    Raises
    ------
    ValueError
        If ``model`` is not a :class:`~trajectories.model.micromaser.Micromaser`,
        ``collisions`` is not an integer ``>= 1``, or ``initial_state`` is not a state of
        the stage's cutoff.
    """

    model: Micromaser
    collisions: int
    initial_state: Any = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, Micromaser):
            raise ValueError(f"stage model must be a Micromaser, got {type(self.model).__name__}")
        k = collision_count("collisions", self.collisions)
        if k < 1:
            raise ValueError(f"collisions must be an integer >= 1, got {k}")
        object.__setattr__(self, "collisions", k)
        if self.initial_state is not None:
            rho = as_density_matrix(self.initial_state, self.model.cutoff, "initial_state")
            object.__setattr__(self, "initial_state", rho)

    @property
    def kind(self) -> str:
        """``"storage"`` (theta = 0), ``"discharge"`` (q = 1, c = 0) or ``"charge"``."""
        m = self.model
        if m.theta == 0.0:
            return "storage"
        if m.q == 1.0:
            return "discharge"
        return "charge"

    def replace(self, **changes: Any) -> Stage:
        """A copy with some fields changed (validated again).

        Parameters
        ----------
        **changes
            ``model``, ``collisions``, ``initial_state`` or ``name``.

        Returns
        -------
        Stage
            The new stage.
        """
        return dataclasses.replace(self, **changes)


class Protocol:
    """A sequence of stages run one after the other on the same cavity.

    Parameters
    ----------
    stages : sequence of Stage, or of (Micromaser, int) pairs
        The stages in order; at least one.
    initial_state : array_like, shape (N,) or (N, N), optional
        State at collision 0 (default: the vacuum), unless the first stage has its own.

    Attributes
    ----------
    stages : tuple of Stage
        The stages, each with a ``name`` (``"stage 0"``, ... unless given).
    cutoff : int
        The common cutoff ``N``.
    n_collisions : int
        Total number of collisions.
    boundaries : ndarray of int64, shape (S + 1,)
        ``[0, K_0, K_0 + K_1, ...]``: stage ``s`` covers collisions
        ``boundaries[s] + 1 .. boundaries[s + 1]``.
    initial_state : ndarray of complex128, shape (N, N), or None
        The validated initial state (``None``: the vacuum).

    Raises
    ------
    ValueError
        For an empty protocol, an entry that is not a stage, stages with different cutoffs
        (the message names the first stage that differs), or an initial state of the wrong
        size; before any work.

    Examples
    --------
    >>> import trajectories as tj
    >>> charge = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1,
    ...                        nbar=0.15, cutoff=40)
    >>> p = Protocol([Stage(charge, 300), Stage(charge.replace(theta=0.0), 50)])
    >>> p.n_collisions, p.boundaries.tolist(), [s.kind for s in p.stages]
    (350, [0, 300, 350], ['charge', 'storage'])
    """

    def __init__(self, stages: Sequence[Stage | tuple], initial_state: Any = None):
        if isinstance(stages, (Stage, Micromaser)) or not isinstance(stages, Iterable):
            raise ValueError("stages must be a list of trajectories.Stage(model, collisions)")
        items = list(stages)
        if not items:
            raise ValueError("a protocol needs at least one stage, got an empty list")
        out = []
        for i, st in enumerate(items):
            if isinstance(st, tuple) and len(st) == 2:
                try:
                    st = Stage(*st)
                except ValueError as err:
                    raise ValueError(f"stage {i}: {err}") from None
            if not isinstance(st, Stage):
                raise ValueError(
                    f"stage {i} must be a trajectories.Stage(model, collisions), "
                    f"got {type(st).__name__}"
                )
            if st.name is None:
                st = st.replace(name=f"stage {i}")
            out.append(st)
        cutoff = out[0].model.cutoff
        for i, st in enumerate(out):
            if st.model.cutoff != cutoff:
                raise ValueError(
                    f"stage {i} ({st.name}) has cutoff={st.model.cutoff}, but stage 0 has "
                    f"cutoff={cutoff}: every stage must share the cutoff"
                )
        self.stages = tuple(out)
        self.cutoff = cutoff
        self.boundaries = np.concatenate([[0], np.cumsum([s.collisions for s in out])]).astype(
            np.int64
        )
        self.n_collisions = int(self.boundaries[-1])
        self.initial_state = (
            None if initial_state is None else as_density_matrix(initial_state, cutoff)
        )

    def __len__(self) -> int:
        return len(self.stages)

    def __iter__(self):
        return iter(self.stages)

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.name}: {s.kind} x {s.collisions}" for s in self.stages)
        return f"Protocol({parts}; N = {self.cutoff})"

    def stage_of(self, k: Iterable[int] | int) -> np.ndarray:
        """Stage index of each collision ``k`` (collision 0 belongs to stage 0).

        Parameters
        ----------
        k : int or array_like of int
            Global collision indices, ``0 .. n_collisions``.

        Returns
        -------
        ndarray of int64
            ``s`` with ``boundaries[s] < k <= boundaries[s + 1]`` (0 for ``k = 0``).
        """
        k = np.asarray(k, dtype=np.int64)
        return np.clip(np.searchsorted(self.boundaries, k, side="left") - 1, 0, None)

    def to_dict(self) -> dict[str, Any]:
        """Plain description: each stage's model parameters, collisions and name.

        Returns
        -------
        dict
            ``{"stages": [{"model": {...}, "collisions": K, "name": str,
            "initial_state": bool}, ...]}``.
        """
        return {
            "stages": [
                {
                    "model": s.model.to_dict(),
                    "collisions": s.collisions,
                    "name": s.name,
                    "initial_state": s.initial_state is not None,
                }
                for s in self.stages
            ]
        }


def run_segments(
    model: Micromaser | Protocol,
    n_collisions: int | None,
    initial_state: Any,
    caller: str,
) -> tuple[Protocol | None, list[tuple[Micromaser, int, Any]], int, Any]:
    """What a solver runs: a model, or a protocol stage by stage (validated, one line).

    Parameters
    ----------
    model : Micromaser or Protocol
        The physics.
    n_collisions : int or None
        Required for a model; for a protocol ``None`` or its total.
    initial_state : array_like or None
        The state at collision 0 (given once: to the solver, the protocol or its first stage).
    caller : str
        The solver's name, for the messages.

    Returns
    -------
    protocol : Protocol or None
        The protocol (``None`` for a model).
    segments : list of (Micromaser, int, ndarray or None)
        Each stage's model, collisions and the state it starts from (``None``: the state
        passed on; a single model is one segment).
    n_collisions : int
        The total number of collisions.
    initial_state : array_like or None
        The state at collision 0.

    Raises
    ------
    ValueError
        For a model that is neither, a missing or wrong ``n_collisions``, or an initial state
        given twice.
    """
    if not isinstance(model, Protocol):
        if not isinstance(model, Micromaser):
            raise ValueError(
                f"model must be a Micromaser or a Protocol, got {type(model).__name__}"
            )
        if n_collisions is None:
            raise ValueError("n_collisions is required for a model (a protocol has its own)")
        n_collisions = collision_count("n_collisions", n_collisions)
        return None, [(model, n_collisions, None)], n_collisions, initial_state
    protocol = model
    total = protocol.n_collisions
    if n_collisions is not None and n_collisions != total:
        raise ValueError(
            f"n_collisions must be the protocol's {total} collisions (or None), "
            f"got {show(n_collisions)}"
        )
    given = [x is not None for x in (initial_state, protocol.initial_state,
                                     protocol.stages[0].initial_state)]  # fmt: skip
    if sum(given) > 1:
        raise ValueError(
            f"initial state given twice: pass it once, to {caller}, to the Protocol or to its "
            "first stage"
        )
    if initial_state is None:
        initial_state = (
            protocol.initial_state
            if protocol.initial_state is not None
            else protocol.stages[0].initial_state
        )
    segments = [(st.model, st.collisions, st.initial_state) for st in protocol.stages]
    return protocol, segments, total, initial_state
