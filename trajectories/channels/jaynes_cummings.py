r"""The collision channel: one qubit through the Jaynes-Cummings unitary (SPEC Sec. 2.1).

:math:`U = \exp[-i\theta(a\sigma_+ + a^\dagger\sigma_-)]` conserves the excitation
number, so each block :math:`\langle o|U|a\rangle` (qubit in ``a``, out ``o``) is a
single diagonal of a cavity operator:

==========  ===========================  =======================
block       action on :math:`|n\rangle`  shift (row = col + s)
==========  ===========================  =======================
``U_ee``    :math:`\cos(\theta\sqrt{n+1})|n\rangle`      0
``U_gg``    :math:`\cos(\theta\sqrt{n})|n\rangle`        0
``U_ge``    :math:`-i\sin(\theta\sqrt{n+1})|n+1\rangle`  +1 (qubit gives a photon)
``U_eg``    :math:`-i\sin(\theta\sqrt{n})|n-1\rangle`    -1 (qubit takes a photon)
==========  ===========================  =======================

The density-matrix channel is applied as
:math:`\Phi(\rho) = \sum_{ab}(\rho_q)_{ab}\sum_o U_{oa}\rho U_{ob}^\dagger`, five
shifted element-wise products of ``rho`` with precomputed weights (O(N^2)); the
trajectory engine uses the Kraus operators
:math:`K_{j,o} = \sqrt{\lambda_j}\langle o|U|\phi_j\rangle` from the eigen-decomposition
of :math:`\rho_q`, each a diagonal plus one shifted diagonal (O(N) per state).

Truncation: ``U_ge`` maps level ``N-1`` to ``N``, outside the kept space. That
weight, :math:`(1-q)\sin^2(\theta\sqrt N)\rho_{N-1,N-1}`, is returned as leakage.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np

from ..model.micromaser import Micromaser

__all__ = ["BandedKraus", "CollisionChannel", "qubit_branches", "jc_blocks"]


def jc_blocks(theta: float, cutoff: int) -> dict[str, np.ndarray]:
    """Coefficients of the four blocks of U on levels ``0 .. cutoff-1``, indexed by output row.

    Returns a dict of arrays of shape ``(cutoff,)``:

    - ``"ee"``: ``cos(theta*sqrt(m+1))`` (diagonal)
    - ``"gg"``: ``cos(theta*sqrt(m))`` (diagonal)
    - ``"ge"``: ``-i*sin(theta*sqrt(m))`` at row ``m`` from column ``m-1``; entry 0 unused (0)
    - ``"eg"``: ``-i*sin(theta*sqrt(m+1))`` at row ``m`` from column ``m+1``; last entry 0
    - ``"leak"``: ``sin(theta*sqrt(N))``, the amplitude of ``|N-1> -> |N>`` (a float)
    """
    n = np.arange(cutoff, dtype=np.float64)
    ge = -1j * np.sin(theta * np.sqrt(n))
    eg = -1j * np.sin(theta * np.sqrt(n + 1.0))
    eg[-1] = 0.0  # its source, level N, is not kept
    return {
        "ee": np.cos(theta * np.sqrt(n + 1.0)).astype(np.complex128),
        "gg": np.cos(theta * np.sqrt(n)).astype(np.complex128),
        "ge": ge,
        "eg": eg,
        "leak": math.sin(theta * math.sqrt(cutoff)),
    }


def _perturb(a: np.ndarray, rel: float, rng: np.random.Generator) -> np.ndarray:
    """``a * (1 + rel * u)`` elementwise, ``u`` uniform in ``[-1, 1]`` (real and imaginary
    parts of complex ``a`` independently)."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return (a.real * (1.0 + rel * rng.uniform(-1.0, 1.0, a.shape))) + 1j * (
            a.imag * (1.0 + rel * rng.uniform(-1.0, 1.0, a.shape))
        )
    return a * (1.0 + rel * rng.uniform(-1.0, 1.0, a.shape))


def qubit_branches(model: Micromaser) -> list[tuple[float, complex, complex]]:
    r"""Decompose the incoming qubit state into ``(lambda_j, alpha_j, beta_j)``.

    :math:`\rho_q = \sum_j \lambda_j |\phi_j\rangle\langle\phi_j|` with
    :math:`|\phi_j\rangle = \alpha_j|e\rangle + \beta_j|g\rangle`. Branches with zero
    weight are dropped: two branches for an incoherent mixture (``c = 0``, in the
    basis ``{e, g}`` itself, so ``j = 0`` means the qubit came in excited), one
    for a pure qubit, two eigenvectors otherwise (largest weight first).
    Eigenvalues below zero by rounding are clipped.
    """
    q, c = model.q, model.c
    if model.qubit_is_pure:
        if q == 0.0:
            return [(1.0, 1.0 + 0j, 0j)]
        if q == 1.0:
            return [(1.0, 0j, 1.0 + 0j)]
        phase = c / abs(c)
        return [(1.0, complex(math.sqrt(1.0 - q)), np.conj(phase) * math.sqrt(q))]
    if c == 0:
        return [(1.0 - q, 1.0 + 0j, 0j), (q, 0j, 1.0 + 0j)]
    w, v = np.linalg.eigh(model.qubit_state)
    order = np.argsort(w)[::-1]
    out = []
    for i in order:
        lam = max(float(w[i]), 0.0)
        if lam > 0.0:
            out.append((lam, complex(v[0, i]), complex(v[1, i])))
    return out


@dataclasses.dataclass(frozen=True)
class BandedKraus:
    """A Kraus operator ``K = diag(diag) + (one shifted diagonal)``.

    ``(K psi)[m] = diag[m] psi[m] + off[m] psi[m - shift]`` with ``shift`` = +1
    (outcome ``g``: the qubit gave a photon) or -1 (outcome ``e``: it took one or
    none). ``leak`` is the amplitude sent from level ``N-1`` to level ``N``
    (non-zero only for ``shift = +1``). ``branch`` is the index ``j`` of the
    qubit eigenvector it came from, ``outcome`` is ``"e"`` or ``"g"``.
    """

    diag: np.ndarray
    off: np.ndarray
    shift: int
    leak: complex
    branch: int
    outcome: str

    def apply(self, psi: np.ndarray) -> np.ndarray:
        """``K psi`` for states along the last axis, shape ``(..., N)``, in O(N) each."""
        out = self.diag * psi
        if self.shift == 1:
            out[..., 1:] += self.off[1:] * psi[..., :-1]
        else:
            out[..., :-1] += self.off[:-1] * psi[..., 1:]
        return out

    def dense(self) -> np.ndarray:
        """The operator as a dense ``(N, N)`` matrix (for tests, never in the hot path)."""
        n = self.diag.shape[0]
        k = np.diag(self.diag).astype(np.complex128)
        rows = np.arange(n)
        if self.shift == 1:
            k[rows[1:], rows[1:] - 1] = self.off[1:]
        else:
            k[rows[:-1], rows[:-1] + 1] = self.off[:-1]
        return k


class CollisionChannel:
    """The collision map ``Phi`` of a model, in its banded form.

    Build once per model; apply to density matrices (:meth:`apply_dm`),
    populations of a diagonal state when ``c = 0`` (:meth:`apply_populations`),
    or use the banded :attr:`kraus` operators on state vectors.
    """

    def __init__(self, model: Micromaser):
        self.model = model
        n = model.cutoff
        q = model.q
        b = jc_blocks(model.theta, n)
        self.blocks = b
        #: probability weight lost per unit of rho[N-1, N-1]
        self.leak_weight = (1.0 - q) * b["leak"] ** 2
        # density-matrix weights: Phi = D(0,0) + D(+1,+1) + D(-1,-1) + X + X^H
        ee, gg = b["ee"].real, b["gg"].real
        s_up = b["ge"].imag  # -sin(theta sqrt m), sign irrelevant in |.|^2 products
        s_dn = b["eg"].imag
        self._w_diag = (1.0 - q) * np.outer(ee, ee) + q * np.outer(gg, gg)
        self._w_up = (1.0 - q) * np.outer(s_up, s_up)[1:, 1:]
        self._w_dn = q * np.outer(s_dn, s_dn)[:-1, :-1]
        kappa = model.qubit_state[0, 1]  # (rho_q)_{eg}
        self._coherent = kappa != 0
        if self._coherent:
            # X = kappa [U_ee rho U_eg^dag + U_ge rho U_gg^dag]
            self._x_a = kappa * np.outer(b["ee"], np.conj(b["eg"]))[:, :-1]
            self._x_b = kappa * np.outer(b["ge"], np.conj(b["gg"]))[1:, :]
        # population transfer (c = 0 diagonal states)
        self._p_stay = np.diag(self._w_diag).copy()
        self._p_up = (1.0 - q) * s_up[1:] ** 2
        self._p_dn = q * s_dn[:-1] ** 2
        self.kraus = self._build_kraus(b)

    #: every collision is the same channel (the interface of a collision sequence)
    period = 1

    def at(self, k: int) -> CollisionChannel:
        """The channel of collision ``k``: the same for every ``k``."""
        return self

    def _build_kraus(self, b: dict[str, np.ndarray]) -> tuple[BandedKraus, ...]:
        ops = []
        for j, (lam, alpha, beta) in enumerate(qubit_branches(self.model)):
            r = math.sqrt(lam)
            ops.append(BandedKraus(r * alpha * b["ee"], r * beta * b["eg"], -1, 0j, j, "e"))
            ops.append(
                BandedKraus(
                    r * beta * b["gg"], r * alpha * b["ge"], 1, r * alpha * -1j * b["leak"], j, "g"
                )
            )
        return tuple(ops)

    def perturbed(self, rel: float, rng: np.random.Generator) -> CollisionChannel:
        """A copy whose density-matrix and population weights are each multiplied by
        ``1 + rel * u``, ``u`` uniform in ``[-1, 1]`` (one fixed draw per coefficient).

        With ``rel`` of a rounding unit this is another equally valid floating-point
        version of the channel: how far a result moves under it measures its rounding
        floor (see :func:`trajectories.steady.escape_time`). The Kraus operators are not
        perturbed (the trajectory engine never uses this).
        """
        new = copy.copy(self)
        for name in ("_w_diag", "_w_up", "_w_dn", "_x_a", "_x_b", "_p_stay", "_p_up", "_p_dn"):
            if hasattr(self, name):
                setattr(new, name, _perturb(getattr(self, name), rel, rng))
        return new

    def apply_dm(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        """Apply ``Phi`` to a density matrix ``(N, N)``; return ``(Phi(rho), leaked weight)``."""
        out = self._w_diag * rho
        out[1:, 1:] += self._w_up * rho[:-1, :-1]
        out[:-1, :-1] += self._w_dn * rho[1:, 1:]
        if self._coherent:
            x = np.zeros_like(rho)
            x[:, :-1] = self._x_a * rho[:, 1:]
            x[1:, :] += self._x_b * rho[:-1, :]
            out += x
            out += x.conj().T
        return out, self.leak_weight * float(rho[-1, -1].real)

    def apply_populations(self, p: np.ndarray) -> tuple[np.ndarray, float]:
        """Apply ``Phi`` to the populations of a diagonal state (valid only for ``c = 0``)."""
        if self._coherent:
            raise ValueError("apply_populations needs incoherent qubits (c = 0)")
        out = self._p_stay * p
        out[1:] += self._p_up * p[:-1]
        out[:-1] += self._p_dn * p[1:]
        return out, self.leak_weight * float(p[-1])

    def apply_kraus_dm(self, rho: np.ndarray) -> np.ndarray:
        """``sum_K K rho K^dag`` from the banded Kraus operators.

        A cross-check of :meth:`apply_dm`; slower, not used by the solvers.
        """
        out = np.zeros_like(rho)
        for k in self.kraus:
            k_rho = k.apply(rho.T).T  # K rho: K acting on each column
            out += k.apply(k_rho.conj()).conj()  # rows of K (K rho)^dag, conj = K rho K^dag
        return out
