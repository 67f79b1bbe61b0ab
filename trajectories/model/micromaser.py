"""The micromaser-battery model: parameters of one cavity charged by a qubit stream.

The parameters and the incoming qubit state of ``docs/MODEL.md`` (Secs. 1-2). A
:class:`Micromaser` is immutable and validated on
construction; both solvers (exact density matrix and trajectories) take it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..validation import complex_number, integer_at_least, real_in_range, show
from .imperfections import Arrivals, ThetaSpread
from .interactions import Interaction, JaynesCummings, Rabi, interaction_from_dict

__all__ = ["Micromaser", "QubitStream", "fine_tuned_theta", "COHERENCE_TOL", "MAX_CUTOFF"]

#: Tolerance on ``abs(c) <= 1``: ``c = exp(1j*phi)`` can come out as 1 + 2e-16.
COHERENCE_TOL = 1e-12

#: Largest Fock cutoff a model accepts (levels kept plus a Rabi collision's extra levels).
#: Every solver builds dense ``N x N`` float64 matrices (the loss channel's population
#: block, the initial density matrix): ``8 N^2`` bytes, more than 1 PiB above this, which no
#: machine holds. The limit does not depend on the machine, so a model (or a result file)
#: valid on one machine is valid on every other; each solver then refuses, before any
#: allocation, work whose own memory estimate exceeds the memory of the machine it runs on.
MAX_CUTOFF = math.isqrt(2**50 // 8)


def fine_tuned_theta(m: float, Q: int = 1) -> float:
    r"""Fine-tuned collision strength :math:`\theta = Q\pi/\sqrt{m}`.

    For integer ``m`` the Jaynes-Cummings transition ``m-1 -> m`` is blocked
    (``sin(theta*sqrt(m)) = 0``). Real ``m > 0`` is accepted because the paper
    writes its detuned cases as ``pi/sqrt(15.6)`` (``docs/MODEL.md``, Sec. 1).

    Parameters
    ----------
    m : float
        The blocked level, ``> 0``: for integer ``m`` the transition ``m-1 -> m``.
    Q : int, optional
        Which zero of :math:`\sin(\theta\sqrt m)`, ``>= 1`` (default 1).

    Returns
    -------
    float
        :math:`\theta` (dimensionless, :math:`g\tau`).

    Raises
    ------
    ValueError
        If ``m <= 0`` or ``Q`` is not an integer ``>= 1``.

    Examples
    --------
    >>> round(fine_tuned_theta(15), 12)
    0.811155735195
    """
    m = real_in_range("m", m, 0.0, math.inf, allowed="> 0")
    if m <= 0.0:
        raise ValueError(f"m must be > 0, got {m!r}")
    Q = integer_at_least("Q", Q, 1)
    return Q * math.pi / math.sqrt(m)


class QubitStream:
    """What a model knows of its incoming qubits, shared by every model.

    Attributes
    ----------
    q : float
        Ground-state population of each incoming qubit, in ``[0, 1]``.
    c : complex
        Coherence parameter, ``abs(c) <= 1``.
    """

    q: float
    c: complex

    @property
    def qubit_state(self) -> np.ndarray:
        """Incoming qubit density matrix, shape (2, 2), basis (|e>, |g>)."""
        q = self.q
        k = self.c * math.sqrt(q * (1.0 - q))
        return np.array([[1.0 - q, k], [np.conj(k), q]], dtype=np.complex128)

    @property
    def qubit_is_pure(self) -> bool:
        """True when the incoming qubit state is pure (abs(c) = 1, or q in {0, 1})."""
        return self.q in (0.0, 1.0) or abs(abs(self.c) - 1.0) <= COHERENCE_TOL

    @property
    def is_incoherent(self) -> bool:
        """True when the qubits carry no coherence (c = 0, or q in {0, 1})."""
        return self.c == 0 or self.q in (0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Micromaser(QubitStream):
    r"""One cavity mode charged by qubits through resonant Jaynes-Cummings collisions.

    Each step is a collision with a fresh qubit in state

    .. math:: \rho_q = \begin{pmatrix} 1-q & c\sqrt{q(1-q)} \\
              \bar c\sqrt{q(1-q)} & q \end{pmatrix}\quad\text{(basis } |e\rangle, |g\rangle)

    through :math:`U = \exp[-i\theta(a\sigma_+ + a^\dagger\sigma_-)]`, followed by one
    interval of thermal cavity loss :math:`e^{\mathcal{L} t_r}` (``docs/MODEL.md``, Sec. 2).

    Parameters
    ----------
    theta : float
        Collision strength ``g * tau`` (dimensionless), ``>= 0``.
    q : float
        Ground-state population of each incoming qubit, in ``[0, 1]``.
    c : complex
        Qubit coherence parameter, ``abs(c) <= 1`` (checked to 1e-12).
    gamma_tr : float
        Cavity decay rate times the time between collisions, ``>= 0``.
    nbar : float
        Thermal photon number of the cavity's bath, ``>= 0``.
    cutoff : int
        Fock cutoff ``N``: levels ``0 .. N-1`` are kept, ``2 <= N <=`` :data:`MAX_CUTOFF`
        (the solvers also refuse cutoffs whose dense matrices exceed the machine's memory).
    collision : JaynesCummings or Rabi
        The interaction during a collision (:mod:`trajectories.model.interactions`);
        default :class:`~trajectories.model.interactions.JaynesCummings`, the paper's
        model. With :class:`~trajectories.model.interactions.Rabi` the phase of ``c``
        matters.
    arrivals : Arrivals or str
        When the qubits arrive (:class:`~trajectories.model.imperfections.Arrivals`):
        regular (default, one every ``t_r``), Poisson or Bernoulli(``p``), the mean interval
        always ``t_r``. ``"regular"`` and ``"poisson"`` may be given as strings. Random
        arrivals need the Jaynes-Cummings collision (a Rabi collision's counter-rotating
        phase would depend on each arrival time).
    theta_spread : ThetaSpread
        How theta varies from qubit to qubit
        (:class:`~trajectories.model.imperfections.ThetaSpread`); default none. With a
        Rabi collision only a discrete spread (each value needs its own unitary).

    Raises
    ------
    ValueError
        If a parameter is outside its domain (the message names it, its value and the
        range), if ``cutoff`` (plus a Rabi collision's ``extra_levels``) exceeds
        :data:`MAX_CUTOFF`, or if a Rabi ``omega_tr`` does not exceed the collision's
        duration.

    Notes
    -----
    Energies are in units of :math:`\hbar\omega` above the ground state, so the
    energy is the mean photon number; time is counted in collisions. ``c`` within
    :data:`COHERENCE_TOL` outside the unit circle is put on it. The model is frozen:
    :meth:`replace` makes a changed, validated copy.

    Examples
    --------
    >>> m = Micromaser(theta=fine_tuned_theta(15), q=0.25, c=1.0, cutoff=40)
    >>> m.qubit_state.real
    array([[0.75     , 0.4330127],
           [0.4330127, 0.25     ]])
    >>> m.replace(gamma_tr=0.1).has_loss
    True
    """

    theta: float
    q: float
    c: complex = 0.0
    gamma_tr: float = 0.0
    nbar: float = 0.0
    cutoff: int = 60
    collision: Interaction = JaynesCummings()
    arrivals: Arrivals = Arrivals()
    theta_spread: ThetaSpread = ThetaSpread()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "theta", real_in_range("theta", self.theta, 0.0))
        set_(self, "q", real_in_range("q", self.q, 0.0, 1.0))
        c = complex_number("c", self.c, 1.0, COHERENCE_TOL)
        if abs(c) > 1.0:  # within COHERENCE_TOL of the unit circle: put it on the circle
            c = c / abs(c)
        set_(self, "c", c)
        set_(self, "gamma_tr", real_in_range("gamma_tr", self.gamma_tr, 0.0))
        set_(self, "nbar", real_in_range("nbar", self.nbar, 0.0))
        set_(self, "cutoff", integer_at_least("cutoff", self.cutoff, 2))
        if not isinstance(self.collision, (JaynesCummings, Rabi)):
            raise ValueError(
                "collision must be trajectories.JaynesCummings() or trajectories.Rabi(...), "
                f"got {type(self.collision).__name__}"
            )
        col = self.collision
        arrivals = self.arrivals
        if isinstance(arrivals, str):
            arrivals = Arrivals(arrivals)
            set_(self, "arrivals", arrivals)
        if not isinstance(arrivals, Arrivals):
            raise ValueError(
                "arrivals must be trajectories.Arrivals.regular(), .poisson() or "
                f".bernoulli(p), got {type(arrivals).__name__}"
            )
        if not isinstance(self.theta_spread, ThetaSpread):
            raise ValueError(
                "theta_spread must be trajectories.ThetaSpread.gaussian(sigma), .uniform(w), "
                f".discrete(values, weights) or .none(), got {type(self.theta_spread).__name__}"
            )
        if isinstance(col, Rabi) and not arrivals.is_regular:
            raise ValueError(
                f"arrivals must be regular with a Rabi collision (its counter-rotating phase "
                f"would depend on each arrival time), got {arrivals.describe()}"
            )
        if isinstance(col, Rabi) and not self.theta_spread.is_discrete:
            raise ValueError(
                "theta_spread must be discrete with a Rabi collision (each value needs its own "
                f"integrated unitary), got {self.theta_spread.describe()}"
            )
        extra = col.extra_levels if isinstance(col, Rabi) and col.extra_levels else 0
        if self.cutoff + extra > MAX_CUTOFF:
            what = "cutoff + collision.extra_levels" if extra else "cutoff"
            raise ValueError(
                f"{what} must be an integer in [2, {MAX_CUTOFF}] (the solvers build dense "
                f"N x N matrices, 8 N^2 bytes: more than 1 PiB above that), got "
                f"cutoff={show(self.cutoff)}" + (f", extra_levels={show(extra)}" if extra else "")
            )
        if isinstance(col, Rabi) and col.omega_tr is not None:
            tau = col.duration(self.theta)
            if col.omega_tr <= tau:
                raise ValueError(
                    f"collision.omega_tr must exceed the collision duration omega*tau = "
                    f"theta/g_over_omega = {tau:.6g} (collisions must not overlap), "
                    f"got {col.omega_tr!r}"
                )

    # ---------------------------------------------------------------- derived
    @property
    def is_jaynes_cummings(self) -> bool:
        """True for the rotating-wave collision (banded channel, phase covariant)."""
        return isinstance(self.collision, JaynesCummings)

    @property
    def is_ideal_beam(self) -> bool:
        """True for regular arrivals and no theta spread (the paper's qubit stream)."""
        return self.arrivals.is_regular and self.theta_spread.is_none

    @property
    def has_loss(self) -> bool:
        """True when the cavity is coupled to its bath (gamma_tr > 0)."""
        return self.gamma_tr > 0.0

    def replace(self, **changes: Any) -> Micromaser:
        """A copy with some parameters changed (validated again).

        Parameters
        ----------
        **changes
            Any of the constructor's parameters, by name.

        Returns
        -------
        Micromaser
            The new model.
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Parameters as plain Python numbers (``c`` split into real and imaginary parts).

        Returns
        -------
        dict of str
            ``theta``, ``q``, ``c_real``, ``c_imag``, ``gamma_tr``, ``nbar``, ``cutoff``. A
            Rabi collision adds its flat entries (``collision``, ``g_over_omega``, ...,
            :meth:`Rabi.to_dict <trajectories.model.interactions.Rabi.to_dict>`); a
            Jaynes-Cummings model has exactly the seven keys of earlier versions. Random
            arrivals and a theta spread add theirs
            (:meth:`Arrivals.to_dict <trajectories.model.imperfections.Arrivals.to_dict>`,
            :meth:`ThetaSpread.to_dict <trajectories.model.imperfections.ThetaSpread.to_dict>`).
        """
        return {
            "theta": self.theta,
            "q": self.q,
            "c_real": self.c.real,
            "c_imag": self.c.imag,
            "gamma_tr": self.gamma_tr,
            "nbar": self.nbar,
            "cutoff": self.cutoff,
            **self.collision.to_dict(),
            **self.arrivals.to_dict(),
            **self.theta_spread.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Micromaser:
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        d : dict
            The stored parameters (numpy scalars and HDF5 attributes are accepted).

        Returns
        -------
        Micromaser
            The model, validated.

        Examples
        --------
        >>> m = Micromaser(theta=0.8, q=0.25, c=0.5j, gamma_tr=0.1, nbar=0.15)
        >>> Micromaser.from_dict(m.to_dict()) == m
        True
        """
        return cls(
            theta=float(d["theta"]),
            q=float(d["q"]),
            c=complex(float(d["c_real"]), float(d["c_imag"])),
            gamma_tr=float(d["gamma_tr"]),
            nbar=float(d["nbar"]),
            cutoff=int(d["cutoff"]),
            collision=interaction_from_dict(d),
            arrivals=Arrivals.from_dict(d),
            theta_spread=ThetaSpread.from_dict(d),
        )
