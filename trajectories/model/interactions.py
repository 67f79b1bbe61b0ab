r"""What happens during one collision: the qubit-cavity interaction.

Two interactions, both resonant (qubit and cavity at the frequency :math:`\omega`):

- :class:`JaynesCummings` (the default): :math:`U = \exp[-i\theta(a\sigma_+ + a^\dagger
  \sigma_-)]`, the rotating-wave limit the paper simulates (its Eq. 5). Exactly
  excitation-conserving; the banded channel of :mod:`trajectories.channels.jaynes_cummings`.
- :class:`Rabi`: the full dipole coupling of the paper's Eqs. 2-4, counter-rotating
  terms included, optionally with the frequency modulation of its Eq. 6
  (:class:`Modulation`). The collision unitary is a time-ordered exponential,
  integrated numerically by :mod:`trajectories.channels.rabi_unitary`.

Units: time in :math:`1/\omega`, so a Rabi collision with coupling ``g_over_omega`` lasts
:math:`\omega\tau = \theta/(g/\omega)`. ``theta = g tau`` keeps its meaning: the
Jaynes-Cummings part of the collision is the same as in the default model.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..validation import integer_at_least, real_in_range

__all__ = [
    "JaynesCummings",
    "Rabi",
    "Modulation",
    "Interaction",
    "interaction_from_dict",
    "phase_schedule",
    "MAX_PERIOD",
]

#: Largest coupling accepted: deep-strong coupling (g > omega) needs cutoffs far beyond
#: what a dense collision unitary handles; the ultrastrong study (docs/ULTRASTRONG.md)
#: stops at g = omega.
MAX_G_OVER_OMEGA = 2.0


@dataclasses.dataclass(frozen=True)
class JaynesCummings:
    """The rotating-wave (Jaynes-Cummings) collision: the paper's Eq. 5, the default."""

    kind = "jaynes-cummings"

    def to_dict(self) -> dict[str, Any]:
        """Nothing to store: a model without a ``collision`` entry is Jaynes-Cummings."""
        return {}

    def describe(self) -> str:
        return "Jaynes-Cummings"


@dataclasses.dataclass(frozen=True)
class Modulation:
    r"""Simultaneous frequency modulation of qubit and cavity (the paper's Eq. 6).

    Both frequencies become :math:`\omega + \eta\nu\cos(\nu t)`; in the interaction
    picture the rotating terms are unchanged and the counter-rotating phase becomes
    :math:`\phi(t) = 2\omega t + 2\eta\sin(\nu t)`. See :mod:`trajectories.counter_rotating`
    for the derivation and the suppression condition.

    Parameters
    ----------
    eta : float
        Modulation amplitude (dimensionless, the modulation index), ``>= 0``.
    nu_over_omega : float
        Modulation frequency in units of :math:`\omega`, ``> 0``.
    """

    eta: float
    nu_over_omega: float

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "eta", real_in_range("eta", self.eta, 0.0))
        nu = real_in_range("nu_over_omega", self.nu_over_omega, 0.0, allowed="> 0")
        if nu <= 0.0:
            raise ValueError(f"nu_over_omega must be > 0, got {nu!r}")
        set_(self, "nu_over_omega", nu)

    @classmethod
    def suppressing(cls, nu_over_omega: float, zero: int = 1) -> Modulation:
        r"""The fast-modulation suppression condition: :math:`J_0(2\eta) = 0`.

        ``eta`` is half the ``zero``-th zero of :math:`J_0` (``zero = 1``: ``eta = 1.2024...``).
        The counter-rotating coupling is then suppressed when ``nu_over_omega`` is large
        compared with 2 and with the collision's Rabi frequencies (see
        :func:`trajectories.counter_rotating.modulation_residual`).

        >>> round(Modulation.suppressing(20.0).eta, 6)
        1.202413
        """
        from scipy.special import jn_zeros

        zero = integer_at_least("zero", zero, 1)
        return cls(eta=float(jn_zeros(0, zero)[-1]) / 2.0, nu_over_omega=nu_over_omega)

    def detuned(self, *, eta: float = 0.0, nu: float = 0.0) -> Modulation:
        """A copy with ``eta`` and ``nu_over_omega`` changed by the relative amounts given."""
        return Modulation(self.eta * (1.0 + eta), self.nu_over_omega * (1.0 + nu))


@dataclasses.dataclass(frozen=True)
class Rabi:
    r"""The full (Rabi) collision: rotating and counter-rotating terms (Eqs. 2-4, 6).

    Parameters
    ----------
    g_over_omega : float
        Coupling in units of the common frequency :math:`\omega`, in ``(0, 2]``. The
        collision lasts :math:`\omega\tau = \theta/(g/\omega)`.
    modulation : Modulation or None
        Frequency modulation of Eq. 6; ``None``: none.
    omega_tr : float or None
        :math:`\omega t_r`, the time between collision starts in units of
        :math:`1/\omega`. ``None`` (default): a multiple of :math:`2\pi` for which also
        :math:`\nu t_r` is a multiple of :math:`2\pi`, so every collision sees the same
        phases and one unitary serves all. A number: collision ``k`` (``k = 1, 2, ...``)
        starts at :math:`t_0 = (k-1) t_r` and its unitary depends on
        :math:`2\omega t_0` and :math:`\nu t_0` modulo :math:`2\pi`; must exceed the
        collision duration :math:`\omega\tau`.
    extra_levels : int or None
        Levels above the cutoff ``N`` on which the unitary is integrated (their weight
        is the collision's leakage). ``None``: chosen until the amplitude reaching the
        two highest integrated levels is below 1e-12.
    """

    g_over_omega: float
    modulation: Modulation | None = None
    omega_tr: float | None = None
    extra_levels: int | None = None

    kind = "rabi"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        g = real_in_range(
            "g_over_omega", self.g_over_omega, 0.0, MAX_G_OVER_OMEGA,
            allowed=f"in (0, {MAX_G_OVER_OMEGA:g}]",
        )  # fmt: skip
        if g <= 0.0:
            raise ValueError(f"g_over_omega must be in (0, {MAX_G_OVER_OMEGA:g}], got {g!r}")
        set_(self, "g_over_omega", g)
        if self.modulation is not None and not isinstance(self.modulation, Modulation):
            raise ValueError(
                "modulation must be a trajectories.Modulation or None, "
                f"got {type(self.modulation).__name__}"
            )
        if self.omega_tr is not None:
            w = real_in_range("omega_tr", self.omega_tr, 0.0, allowed="> 0")
            if w <= 0.0:
                raise ValueError(f"omega_tr must be > 0 (or None), got {w!r}")
            set_(self, "omega_tr", w)
        if self.extra_levels is not None:
            set_(self, "extra_levels", integer_at_least("extra_levels", self.extra_levels, 2))

    def duration(self, theta: float) -> float:
        r"""Collision duration :math:`\omega\tau = \theta/(g/\omega)`."""
        return theta / self.g_over_omega

    def to_dict(self) -> dict[str, Any]:
        """Flat plain-number description (NaN for an unset ``omega_tr`` / ``extra_levels``)."""
        m = self.modulation
        return {
            "collision": self.kind,
            "g_over_omega": self.g_over_omega,
            "eta": m.eta if m else math.nan,
            "nu_over_omega": m.nu_over_omega if m else math.nan,
            "omega_tr": math.nan if self.omega_tr is None else self.omega_tr,
            "extra_levels": -1 if self.extra_levels is None else self.extra_levels,
        }

    def describe(self) -> str:
        text = f"Rabi g/omega = {self.g_over_omega:g}"
        if self.modulation is not None:
            m = self.modulation
            text += f", modulation eta = {m.eta:.6g}, nu/omega = {m.nu_over_omega:g}"
        if self.omega_tr is not None:
            text += f", omega t_r = {self.omega_tr:g}"
        return text + f" ({self.schedule()})"

    def schedule(self) -> str:
        """Which unitaries the collisions need: one, a periodic sequence, or one each."""
        period = phase_schedule(self)[0]
        if period == 1:
            return "the same unitary for every collision"
        if period is None:
            return "a different unitary for every collision: the phases never repeat"
        return f"a periodic sequence of {period} unitaries"


Interaction = JaynesCummings | Rabi


def interaction_from_dict(d: dict[str, Any]) -> Interaction:
    """Inverse of ``to_dict`` (accepts a dict without ``collision``: Jaynes-Cummings)."""
    kind = d.get("collision", JaynesCummings.kind)
    if isinstance(kind, bytes):
        kind = kind.decode()
    if kind == JaynesCummings.kind:
        return JaynesCummings()
    if kind != Rabi.kind:
        raise ValueError(f"collision must be 'jaynes-cummings' or 'rabi', got {kind!r}")
    eta, nu = float(d.get("eta", math.nan)), float(d.get("nu_over_omega", math.nan))
    w = float(d.get("omega_tr", math.nan))
    extra = int(d.get("extra_levels", -1))
    return Rabi(
        g_over_omega=float(d["g_over_omega"]),
        modulation=None if math.isnan(eta) else Modulation(eta, nu),
        omega_tr=None if math.isnan(w) else w,
        extra_levels=None if extra < 0 else extra,
    )


#: Longest period of the collision phases that is recognised as periodic.
MAX_PERIOD = 1000
_PHASE_TOL = 1e-10


def _wrapped(x: float) -> float:
    return (x + math.pi) % (2.0 * math.pi) - math.pi


def phase_schedule(col: Rabi) -> tuple[int | None, float, float]:
    r"""Period of the collision phases and their increments per collision.

    Returns ``(period, d_alpha, d_beta)``: :math:`\alpha_k = (k-1)\,d\alpha`,
    :math:`\beta_k = (k-1)\,d\beta` (mod :math:`2\pi`), ``period`` the smallest
    ``p <= MAX_PERIOD`` after which both repeat to 1e-10 rad, ``None`` if there is none
    (every collision differs). ``omega_tr = None`` gives ``(1, 0, 0)``.
    """
    if col.omega_tr is None:
        return 1, 0.0, 0.0
    d_alpha = 2.0 * col.omega_tr
    d_beta = col.modulation.nu_over_omega * col.omega_tr if col.modulation else 0.0
    for p in range(1, MAX_PERIOD + 1):
        if abs(_wrapped(p * d_alpha)) < _PHASE_TOL and abs(_wrapped(p * d_beta)) < _PHASE_TOL:
            return p, d_alpha, d_beta
    return None, d_alpha, d_beta
