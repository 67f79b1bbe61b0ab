r"""The Jaynes-Cummings collision channel: one qubit through the rotating-wave unitary.

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

:func:`jaynes_cummings_channel` returns the model's collision as a
:class:`~trajectories.channels.kraus.KrausChannel`: the Kraus operators
:math:`K_{j,o} = \sqrt{\lambda_j}\langle o|U|\phi_j\rangle` from the eigen-decomposition
of :math:`\rho_q`, each a diagonal plus one shifted diagonal (O(N) per state), and the
pair weights of the density-matrix map written from the qubit state itself,
:math:`\Phi(\rho) = \sum_{ab}(\rho_q)_{ab}\sum_o U_{oa}\rho U_{ob}^\dagger` (five
shifted element-wise products, O(N^2); no square roots of the qubit's eigenvalues).

Truncation: ``U_ge`` maps level ``N-1`` to ``N``, outside the kept space. That
weight, :math:`(1-q)\sin^2(\theta\sqrt N)\rho_{N-1,N-1}`, is returned as leakage.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.micromaser import Micromaser
from .kraus import KrausChannel, PairWeights, qubit_branches
from .operators import KrausOperator

__all__ = ["jc_blocks", "jaynes_cummings_channel"]


def jc_blocks(theta: float, cutoff: int) -> dict[str, np.ndarray]:
    r"""Coefficients of the four blocks of U on levels ``0 .. cutoff-1``, indexed by output row.

    Exact (closed-form) matrix elements of the Jaynes-Cummings unitary (module docstring).

    Parameters
    ----------
    theta : float
        Collision strength :math:`g\tau`.
    cutoff : int
        Fock cutoff ``N``.

    Returns
    -------
    dict of str
        Arrays of shape ``(N,)``:

        - ``"ee"``: ``cos(theta*sqrt(m+1))`` (diagonal)
        - ``"gg"``: ``cos(theta*sqrt(m))`` (diagonal)
        - ``"ge"``: ``-i*sin(theta*sqrt(m))`` at row ``m`` from column ``m-1``; entry 0
          unused (0)
        - ``"eg"``: ``-i*sin(theta*sqrt(m+1))`` at row ``m`` from column ``m+1``; last
          entry 0

        and ``"leak"``: ``sin(theta*sqrt(N))``, the amplitude of ``|N-1> -> |N>`` (a float).

    Examples
    --------
    >>> import math
    >>> b = jc_blocks(math.pi / 2, 2)  # sin(theta sqrt 1) = 1: |e, 0> -> |g, 1> fully
    >>> float(abs(b["ge"][1])), bool(abs(b["ee"][0]) < 1e-15)
    (1.0, True)
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


def _pair_weights(model: Micromaser, b: dict[str, np.ndarray]) -> PairWeights:
    """The density-matrix map from the qubit state: ``(rho_q)_{ee}``, ``(rho_q)_{gg}`` and the
    coherence ``(rho_q)_{eg}`` weigh the block products directly."""
    q = model.q
    ee, gg = b["ee"].real, b["gg"].real
    s_up = b["ge"].imag  # -sin(theta sqrt m), sign irrelevant in |.|^2 products
    s_dn = b["eg"].imag
    kappa = model.qubit_state[0, 1]  # (rho_q)_{eg}
    coherent = kappa != 0
    return PairWeights(
        diag=(1.0 - q) * np.outer(ee, ee) + q * np.outer(gg, gg),
        up=(1.0 - q) * np.outer(s_up, s_up)[1:, 1:],
        down=q * np.outer(s_dn, s_dn)[:-1, :-1],
        # X = kappa [U_ee rho U_eg^dag + U_ge rho U_gg^dag]
        cross_a=kappa * np.outer(b["ee"], np.conj(b["eg"]))[:, :-1] if coherent else None,
        cross_b=kappa * np.outer(b["ge"], np.conj(b["gg"]))[1:, :] if coherent else None,
    )


def jaynes_cummings_channel(model: Micromaser) -> KrausChannel:
    r"""The Jaynes-Cummings collision of ``model`` as a :class:`KrausChannel`.

    Operators ``K_{j,e} = sqrt(lambda_j) (alpha_j U_ee + beta_j U_eg)`` (diagonals 0 and -1)
    and ``K_{j,g} = sqrt(lambda_j) (beta_j U_gg + alpha_j U_ge)`` (diagonals 0 and +1),
    with :math:`|\phi_j\rangle = \alpha_j|e\rangle + \beta_j|g\rangle` the eigenvectors
    of the qubit state (:func:`~trajectories.channels.kraus.qubit_branches`); the
    leak form is ``(1 - q) sin^2(theta sqrt N)`` on level ``N - 1``. Exact: no
    truncation other than the reported leak (``docs/MODEL.md``, Sec. 2.1).

    Parameters
    ----------
    model : Micromaser
        The model; ``theta``, ``q``, ``c`` and ``cutoff`` are read.

    Returns
    -------
    KrausChannel
        Two operators per nonzero eigenvalue of the qubit state (two for a pure qubit,
        four otherwise), ordered ``(j, "e"), (j, "g")``, with the pair weights of the
        density-matrix map.
    """
    n = model.cutoff
    b = jc_blocks(model.theta, n)
    ops = []
    for j, (lam, alpha, beta) in enumerate(qubit_branches(model)):
        r = math.sqrt(lam)
        ops.append(
            KrausOperator.from_diagonals(
                n, {0: r * alpha * b["ee"], -1: r * beta * b["eg"]}, branch=j, outcome="e"
            )
        )
        ops.append(
            KrausOperator.from_diagonals(
                n, {0: r * beta * b["gg"], 1: r * alpha * b["ge"]}, branch=j, outcome="g"
            )
        )
    leak = np.array([[(1.0 - model.q) * b["leak"] ** 2]], dtype=np.complex128)
    return KrausChannel(ops, n - 1, leak, pair_weights=_pair_weights(model, b))
