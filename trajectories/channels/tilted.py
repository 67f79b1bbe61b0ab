r"""The one-step channel tilted by a counting field: the generator of counting statistics.

For a count ``J`` attached to the collision outcomes (qubits leaving in ``g`` or ``e``) or
to the loss interval's jumps (emissions, absorptions, their difference), the tilted channel

.. math:: T_z = \Lambda_z\circ\Phi_z, \qquad
    \Phi_z(X) = \sum_{K\,\text{not counted}}KXK^\dagger + z\sum_{K\,\text{counted}}KXK^\dagger,

multiplies each counted event by ``z``; for bath counts :math:`\Lambda_z = e^{\mathcal L_z
t_r}` has its counted jump term (:math:`\gamma(\bar n+1)aXa^\dagger` for emissions,
:math:`\gamma\bar n a^\dagger X a` for absorptions; for ``"net"`` absorptions times ``z``,
emissions times ``1/z``) multiplied by ``z``. :math:`\mathcal L_z` keeps the diagonal index
``d`` of ``X``, so :math:`\Lambda_z` is the exponential of each block generator
:math:`G_d(z)` applied to the ``d``-th upper *and* lower diagonal of ``X``: no Hermiticity is
assumed (the tilted channels do not preserve it). Then
:math:`\mathrm{Tr}[T_z^k\rho_0] = \sum_j P_k(j) z^j` (``docs/MODEL.md``, counting).
The solvers of :mod:`trajectories.solvers.counting` evaluate it on grids of ``z``.

Imperfect detection (:class:`Detection`, ``docs/COUNTING.md``): each outgoing qubit is
detected with probability :math:`\eta` and a detected one misread (e as g with probability
:math:`\epsilon_e`, g as e with :math:`\epsilon_g`). Each collision operator then carries
the generating function of *its* contribution to the detected count, affine in ``z``: for the
count ``"g"``, :math:`1-\eta+\eta[(1-\epsilon_g)z+\epsilon_g]` on the operators whose qubit
leaves in g and :math:`1-\eta+\eta[\epsilon_e z+1-\epsilon_e]` on those leaving in e
(symmetrically for ``"e"``). For the bath counts (photodetection of the leaked photons) the
efficiency turns ``z`` into :math:`1-\eta+\eta z` on the counted jump term (``1/z`` into
:math:`1-\eta+\eta/z`), which multiplies the jump parts of :math:`G_d(z) - G_d(1)` by
:math:`\eta`. Both are exact: the thinning is independent from qubit to qubit and from
photon to photon.
"""

from __future__ import annotations

import numpy as np

from ..model.micromaser import Micromaser
from ..validation import real_in_range
from .arrivals import averaged_exp
from .collisions import collision_sequence
from .kraus import KrausChannel, definite_incoming_states, incoming_states
from .loss import loss_generator_block

__all__ = ["COUNTS", "QUBIT_COUNTS", "Detection", "TiltedChannel", "LossBlocks", "counts_for"]

#: The counts: qubits leaving in g / e, bath emissions / absorptions, ``"net"`` =
#: absorptions - emissions (photons the cavity gained from the bath), and ``"changed"``:
#: qubits that left in the other state than they came in (e -> g or g -> e; qubits that
#: arrive in ``|e>`` or ``|g>`` only).
COUNTS = ("g", "e", "emission", "absorption", "net", "changed")
#: The counts attached to the collision outcomes.
QUBIT_COUNTS = ("g", "e", "changed")


def counts_for(model: Micromaser) -> tuple[str, ...]:
    """The counts defined for a model: every count of :data:`COUNTS`, without ``"changed"``
    when the qubits arrive in a superposition (no incoming state to change).

    Parameters
    ----------
    model : Micromaser
        The model (``q`` and ``c`` are read).

    Returns
    -------
    tuple of str
        A sub-tuple of :data:`COUNTS`, in its order.

    Examples
    --------
    >>> counts_for(Micromaser(theta=1.0, q=0.3, c=0.2))
    ('g', 'e', 'emission', 'absorption', 'net')
    """
    if any(i is None for i in incoming_states(model)):
        return tuple(c for c in COUNTS if c != "changed")
    return COUNTS


class Detection:
    r"""How the counted events are detected: efficiency and misreads.

    Each outgoing qubit (or leaked photon, for the bath counts) is detected independently
    with probability ``efficiency``; a detected qubit is misread, e as g with probability
    ``misread[0]`` and g as e with probability ``misread[1]``. The default is perfect
    detection (``docs/COUNTING.md``, detection).

    Parameters
    ----------
    efficiency : float, optional
        :math:`\eta` in ``[0, 1]`` (default 1).
    misread : tuple of two floats, optional
        :math:`(\epsilon_e, \epsilon_g)`, each in ``[0, 1]`` (default ``(0, 0)``).

    Attributes
    ----------
    efficiency : float
        :math:`\eta`.
    misread : tuple of float
        :math:`(\epsilon_e, \epsilon_g)`.

    Raises
    ------
    ValueError
        One line naming the parameter, its value and the range, if either is outside
        ``[0, 1]`` or not a real number, or if ``misread`` is not a pair.

    Examples
    --------
    >>> Detection(0.4, (0.02, 0.01)).qubit_weights("g")
    ((0.604, 0.396), (0.992, 0.008))
    """

    def __init__(self, efficiency: float = 1.0, misread: tuple[float, float] = (0.0, 0.0)):
        self.efficiency = real_in_range("efficiency", efficiency, 0.0, 1.0)
        try:
            pair = tuple(misread)
        except TypeError:
            pair = ()
        if len(pair) != 2:
            raise ValueError(f"misread must be a pair (eps_e, eps_g), got {misread!r}")
        self.misread = (
            real_in_range("misread eps_e", pair[0], 0.0, 1.0),
            real_in_range("misread eps_g", pair[1], 0.0, 1.0),
        )

    @property
    def ideal(self) -> bool:
        """True for perfect detection (``efficiency == 1``, no misreads)."""
        return self.efficiency == 1.0 and self.misread == (0.0, 0.0)

    @property
    def has_misread(self) -> bool:
        """True when either misread probability is non-zero."""
        return self.misread != (0.0, 0.0)

    def check_count(self, count: str) -> None:
        """Refuse misreads for a bath count (photons are not misread).

        Parameters
        ----------
        count : str
            One of :data:`COUNTS`.

        Raises
        ------
        ValueError
            If ``count`` is a bath count and a misread probability is non-zero.
        """
        if count not in QUBIT_COUNTS and self.has_misread:
            raise ValueError(
                f"misread applies to the qubit counts 'g' and 'e' only, not to {count!r} "
                f"(a photon is detected or not), got misread={self.misread}"
            )

    def qubit_weights(self, count: str) -> tuple[tuple[float, float], tuple[float, float]]:
        r"""Generating functions ``alpha + beta z`` of one qubit's contribution to a count.

        Parameters
        ----------
        count : {"g", "e"}
            The detected count.

        Returns
        -------
        tuple of two (alpha, beta) pairs
            First for a qubit leaving in the counted state, then for one leaving in the
            other state; ``alpha + beta = 1`` and ``beta`` is the probability that the
            qubit is detected *as* ``count``.
        """
        eta = self.efficiency
        eps_e, eps_g = self.misread
        right, wrong = (1.0 - eps_g, eps_e) if count == "g" else (1.0 - eps_e, eps_g)
        return (1.0 - eta * right, eta * right), (1.0 - eta * wrong, eta * wrong)

    def describe(self) -> str:
        """One line for reports and figure titles.

        Returns
        -------
        str
            ``"perfect detection"``, or the efficiency and misreads, e.g.
            ``"detected counts: efficiency eta = 0.4"``.
        """
        if self.ideal:
            return "perfect detection"
        text = f"detected counts: efficiency eta = {self.efficiency:g}"
        if self.has_misread:
            text += f", misread eps_e = {self.misread[0]:g}, eps_g = {self.misread[1]:g}"
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detection):
            return NotImplemented
        return (self.efficiency, self.misread) == (other.efficiency, other.misread)

    def __hash__(self) -> int:
        return hash((self.efficiency, self.misread))

    def __repr__(self) -> str:
        return f"Detection(efficiency={self.efficiency!r}, misread={self.misread!r})"


def _loss_parts(model: Micromaser, count: str, d: int, eta: float = 1.0) -> tuple[np.ndarray, ...]:
    """``(G0, G1, G2)`` of block ``d``: ``G(1+eps) = G0 + eps G1 + eps^2 G2 + O(eps^3)``.

    Also returns the pieces ``(A, E)`` with ``G(z) = G0 + (z-1) A + (1/z - 1) E``. A
    detection efficiency ``eta`` multiplies the counted jump terms' ``z - 1`` (and
    ``1/z - 1``) by ``eta``: it scales ``G1, G2, A, E``.
    """
    g0 = loss_generator_block(model.gamma_tr, model.nbar, model.cutoff, d)
    emit = np.triu(g0, 1)  # x_i <- x_{i+1}: the a X a^dag term
    absorb = np.tril(g0, -1)  # x_i <- x_{i-1}: the a^dag X a term
    if eta != 1.0:
        emit, absorb = eta * emit, eta * absorb
    zero = np.zeros_like(g0)
    if count == "emission":
        return g0, emit, zero, emit, zero
    if count == "absorption":
        return g0, absorb, zero, absorb, zero
    if count == "net":  # z on absorptions, 1/z on emissions
        return g0, absorb - emit, emit, absorb, emit
    return g0, zero, zero, zero, zero


class LossBlocks:
    """Loss blocks per diagonal ``d``, applied to stacks of general complex matrices.

    Each block acts on the ``d``-th upper *and* lower diagonal (no Hermiticity assumed).

    Parameters
    ----------
    blocks : list of ndarray
        ``blocks[d]`` has shape ``(n_d, n_d)`` (shared by the stack) or ``(S, n_d, n_d)``
        (one per stack entry, e.g. one per counting field ``z``), ``n_d = N - d``; real or
        complex.
    cutoff : int
        ``N``.
    populations : bool
        Populations mode: only ``blocks[0]`` is used and the stack holds diagonals
        ``(S, N)``.

    Attributes
    ----------
    blocks : list of ndarray
        As given.
    n : int
        ``N``.
    populations : bool
        As given.
    shared : bool
        Every block is shared by the whole stack.
    transposed : list of ndarray
        Shared blocks transposed and contiguous.
    """

    def __init__(self, blocks: list[np.ndarray], cutoff: int, populations: bool):
        self.blocks = blocks
        self.n = cutoff
        self.populations = populations
        self.shared = all(b.ndim == 2 for b in blocks)
        #: for shared blocks: b^T, contiguous (rows of the stack times b^T)
        self.transposed = [np.ascontiguousarray(b.T) if b.ndim == 2 else b for b in blocks]
        self._padded: tuple | None = None
        if not populations:
            n = cutoff
            up, lo, starts = [], [], [0]
            for d in range(n):
                i = np.arange(n - d)
                up.append(i * n + i + d)
                lo.append((i + d) * n + i)
                starts.append(starts[-1] + n - d)
            self.up = np.concatenate(up)
            self.lo = np.concatenate(lo)
            self.starts = starts

    def apply(self, x: np.ndarray) -> np.ndarray:
        r"""Apply the blocks to a stack: the tilted loss :math:`\Lambda_z` on each entry.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) in populations mode
            Stack of general complex matrices (or of populations).

        Returns
        -------
        ndarray, same shape as ``x``
            Each diagonal ``d`` of entry ``s`` multiplied by its block.
        """
        if self.populations:
            b = self.blocks[0]
            if b.ndim == 2:
                return _shared_product(x, self.transposed[0])
            return np.matmul(b, x[..., None])[..., 0]
        s, n = x.shape[0], self.n
        flat = x.reshape(s, n * n)
        if s <= _PADDED_STACK and (self.shared or s == 1):
            return self._apply_padded(flat).reshape(s, n, n)
        if self.shared:  # rows: the upper diagonals of all entries, then the lower ones
            v = np.concatenate([flat[:, self.up], flat[:, self.lo]], axis=0)  # (2S, T)
            w = np.empty_like(v)
            for d in range(n):
                a, b = self.starts[d], self.starts[d + 1]
                w[:, a:b] = _shared_product(v[:, a:b], self.transposed[d])
            upper, lower = w[:s], w[s:]
        else:  # one block per entry: (S, n, n) @ (S, n, 2), upper and lower as two columns
            v = np.stack([flat[:, self.up], flat[:, self.lo]], axis=-1)  # (S, T, 2)
            w = np.empty_like(v)
            for d in range(n):
                a, b = self.starts[d], self.starts[d + 1]
                w[:, a:b] = np.matmul(self.blocks[d], v[:, a:b])
            upper, lower = w[..., 0], w[..., 1]
        out = np.empty((s, n * n), dtype=w.dtype)
        out[:, self.lo] = lower
        out[:, self.up] = upper  # d = 0: upper and lower coincide
        return out.reshape(s, n, n)

    def _apply_padded(self, flat: np.ndarray) -> np.ndarray:
        """A few entries at once: every block zero-padded to ``N x N`` and applied by one
        batched product over ``d`` (``N^3`` multiply-adds per column, no loop over ``d``).

        ``flat`` has shape ``(S, N^2)``; the result too.
        """
        n, s = self.n, flat.shape[0]
        if self._padded is None:
            pad = n * n  # the index of a zero slot appended to each entry
            i = np.arange(n)
            d = np.arange(n)[:, None]
            valid = i[None, :] < n - d  # (d, i): entry i of diagonal d exists
            up = np.where(valid, i * n + i + d, pad)
            lo = np.where(valid, (i + d) * n + i, pad)
            blocks = [b if b.ndim == 2 else b[0] for b in self.blocks]
            real = not any(np.iscomplexobj(b) for b in blocks)
            bpad = np.zeros((n, n, n), dtype=np.float64 if real else np.complex128)
            for k, b in enumerate(blocks):
                bpad[k, : n - k, : n - k] = b
            self._padded = (up, lo, bpad, real)
        up, lo, bpad, real = self._padded
        ext = np.zeros((s, n * n + 1), dtype=np.complex128)
        ext[:, : n * n] = flat
        v = np.concatenate([ext[:, up], ext[:, lo]], axis=0).transpose(1, 2, 0)  # (d, i, 2S)
        if real:  # real blocks: real and imaginary parts as separate columns
            w = np.matmul(bpad, np.concatenate([v.real, v.imag], axis=-1))
            w = w[..., : 2 * s] + 1j * w[..., 2 * s :]
        else:
            w = np.matmul(bpad, v)
        out = np.empty((s, n * n + 1), dtype=np.complex128)
        out[:, lo] = w[..., s:].transpose(2, 0, 1)
        out[:, up] = w[..., :s].transpose(2, 0, 1)  # d = 0: upper and lower coincide
        return out[:, : n * n]


#: Stacks up to this many entries use the padded batched product of :class:`LossBlocks`.
_PADDED_STACK = 4


def _shared_product(v: np.ndarray, bt: np.ndarray) -> np.ndarray:
    """``v @ bt`` for complex rows ``v`` (R, n) and a real ``bt`` (n, n): two real products."""
    if np.iscomplexobj(v) and not np.iscomplexobj(bt):
        return (v.real @ bt) + 1j * (v.imag @ bt)
    return v @ bt


def _collision_groups(
    model: Micromaser, channel: KrausChannel, count: str, det: Detection
) -> list[tuple[KrausChannel, float, float]]:
    """The collision's parts ``(channel, alpha, beta)``, each weighted by ``alpha + beta z``.

    ``"g"``/``"e"``: the operators leaving in the counted state and the others, with the
    detection weights of :meth:`Detection.qubit_weights`. ``"changed"``: per branch ``j``
    arriving in ``i``, the operators leaving in the other state ``t`` count as a detection
    of ``t`` would; parts with equal weights are merged. Bath counts: the whole collision.
    """
    if count not in QUBIT_COUNTS:
        return [(channel, 1.0, 0.0)]
    if count != "changed":
        other = "e" if count == "g" else "g"
        (ac, bc), (ar, br) = det.qubit_weights(count)
        return [(channel.subset(count), ac, bc), (channel.subset(other), ar, br)]
    incoming = definite_incoming_states(model)
    parts: dict[tuple[float, float], list] = {}
    for j, i in enumerate(incoming):
        target = "g" if i == "e" else "e"
        for outcome, weight in zip((target, i), det.qubit_weights(target), strict=True):
            ops = [k for k in channel.kraus if k.branch == j and k.outcome == outcome]
            parts.setdefault(tuple(weight), []).extend(ops)
    return [
        (KrausChannel(ops, channel.n - 1, np.zeros((1, 1))), a, b)
        for (a, b), ops in parts.items()
        if ops
    ]


class TiltedChannel:
    r"""The one-step channel of a model with a counting field on one count.

    ``collide(x, z)`` is :math:`\Phi_z` on a stack of matrices (or of diagonals in the
    populations sector), ``loss_blocks(z)`` the blocks :math:`\exp(G_d(z))` of
    :math:`\Lambda_z`, ``taylor_blocks()`` their expansion at ``z = 1 + eps`` to second order
    (the exact moments). Exact: built from the same channels as the exact solver
    (``docs/MODEL.md``, Sec. 10; ``docs/COUNTING.md``).

    Parameters
    ----------
    model : Micromaser
        Its collisions must be the same at every collision.
    count : str
        One of :data:`COUNTS`.
    populations : bool
        Act on the populations (diagonals ``(S, N)``) only; needs a collision that keeps
        diagonals (incoherent qubits, Jaynes-Cummings).
    detection : Detection, optional
        Efficiency and misreads of the counted events; default perfect detection (the
        channel is then built exactly as without the argument).
    collision : int, optional
        Use the channel of this collision (``k >= 1``) of a schedule that changes from
        collision to collision (a Rabi collision with ``omega_tr``); default: the
        collisions must all be the same.

    Attributes
    ----------
    model : Micromaser
        The model.
    count : str
        The counted event.
    populations : bool
        As given.
    n : int
        ``N``.
    groups : list of (KrausChannel, float, float)
        The collision split into parts ``(channel, alpha, beta)``, each multiplied by
        ``alpha + beta z`` (``alpha + beta = 1``); one part ``(collision, 1, 0)`` for bath
        counts.
    has_loss : bool
        ``gamma_tr > 0``.
    bath : bool
        The field sits on the loss (emission, absorption or net).
    detection : Detection
        As given (perfect detection by default).

    Raises
    ------
    ValueError
        If the collisions differ from collision to collision (a Rabi collision with
        ``omega_tr``) and ``collision`` is not given, ``populations`` is asked for a
        collision that does not keep diagonals, misreads are given for a bath count, or
        ``"changed"`` is asked for qubits that arrive in a superposition.
    """

    def __init__(
        self,
        model: Micromaser,
        count: str,
        populations: bool,
        detection: Detection | None = None,
        collision: int | None = None,
    ):
        self.model = model
        self.count = count
        self.populations = populations
        self.detection = Detection() if detection is None else detection
        self.detection.check_count(count)
        self.n = model.cutoff
        collisions = collision_sequence(model)
        if collision is None and collisions.period != 1:
            raise ValueError(
                "exact counting statistics need the same channel at every collision: use "
                "Rabi(omega_tr=None), or counting.from_ensemble on trajectories, got a "
                f"period of {collisions.period} collisions"
            )
        channel = collisions.at(1 if collision is None else collision)
        if populations and not channel.keeps_diagonal:
            raise ValueError("the populations sector needs incoherent qubits (c = 0) and the "
                             "Jaynes-Cummings collision")  # fmt: skip
        self.has_loss = model.gamma_tr > 0.0
        self.bath = count not in QUBIT_COUNTS
        self.groups = _collision_groups(model, channel, count, self.detection)
        eta = self.detection.efficiency if self.bath else 1.0
        n_blocks = 1 if populations else self.n
        self.parts = (
            [_loss_parts(model, count, d, eta) for d in range(n_blocks)] if self.has_loss else []
        )
        self._untilted: LossBlocks | None = None

    def counted_sum(self, x: np.ndarray) -> np.ndarray:
        r"""The part of the collision proportional to ``z``, on a stack.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) in populations mode
            Stack of matrices.

        Returns
        -------
        ndarray, same shape as ``x``
            :math:`d\Phi_z/dz = \sum_{\text{parts}}\beta\,\Phi_{\text{part}}(X)`: with
            perfect detection :math:`\sum_{K\,\text{counted}} K X K^\dagger` (zeros for
            bath counts).
        """
        out = np.zeros(np.shape(x), dtype=np.complex128)
        for ch, _alpha, beta in self.groups:
            if beta != 0.0:
                out += beta * ch.apply_stack(x, populations=self.populations)
        return out

    # ---------------------------------------------------------------- collision
    def collide(self, x: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        r"""The tilted collision :math:`\Phi_z` on a stack.

        Parameters
        ----------
        x : ndarray, shape (S, N, N), or (S, N) in populations mode
            Stack of matrices.
        z : ndarray of complex, shape (S,), or None
            Counting field of each stack entry; ``None``: untilted (:math:`z = 1`). Not used
            for bath counts.

        Returns
        -------
        ndarray of complex128, same shape as ``x``
            :math:`\Phi_z(X_s)` for each entry, without the leak.
        """
        zz = None if z is None else z.reshape((-1,) + (1,) * (np.ndim(x) - 1))
        out = None
        for ch, alpha, beta in self.groups:
            y = ch.apply_stack(x, populations=self.populations)
            if zz is not None and beta != 0.0:
                y = (alpha + beta * zz) * y
            out = y if out is None else out + y
        return out

    # --------------------------------------------------------------------- loss
    def loss_blocks(self, z: np.ndarray | None) -> LossBlocks | None:
        """The tilted loss blocks :math:`e^{G_d(z)}` (``t_r = 1``).

        Parameters
        ----------
        z : ndarray of complex, shape (S,), or None
            Counting fields; ``None``: untilted.

        Returns
        -------
        LossBlocks or None
            Shared blocks when untilted or for qubit counts, one block per ``z`` otherwise;
            ``None`` without loss.
        """
        if not self.has_loss:
            return None
        if z is None or not self.bath:  # the same for every z: computed once
            if self._untilted is None:
                blocks = [averaged_exp(g0, self.model.arrivals) for g0, *_ in self.parts]
                self._untilted = LossBlocks(blocks, self.n, self.populations)
            return self._untilted
        zz = z[:, None, None]
        blocks = [
            averaged_exp(
                g0[None] + (zz - 1.0) * a[None] + (1.0 / zz - 1.0) * e[None], self.model.arrivals
            )  # fmt: skip
            for g0, _g1, _g2, a, e in self.parts
        ]
        return LossBlocks(blocks, self.n, self.populations)

    def taylor_blocks(self) -> tuple[LossBlocks, LossBlocks, LossBlocks] | None:
        r"""Second-order expansion of the tilted loss at ``z = 1 + eps``, for exact moments.

        :math:`e^{G(1+\epsilon)} = F_0 + \epsilon F_1 + \epsilon^2 F_2 + O(\epsilon^3)` per
        block, exactly (one exponential of a block-triangular augmented generator).

        Returns
        -------
        tuple of LossBlocks or None
            ``(F0, F1, F2)`` (``F1 = F2 = 0`` for qubit counts); ``None`` without loss.
        """
        if not self.has_loss:
            return None
        f = ([], [], [])
        untilted = None if self.bath else self.loss_blocks(None).blocks  # computed once
        for d, (g0, g1, g2, _a, _e) in enumerate(self.parts):
            m = g0.shape[0]
            if untilted is not None:
                f[0].append(untilted[d])
                f[1].append(np.zeros_like(g0))
                f[2].append(np.zeros_like(g0))
                continue
            aug = np.zeros((3 * m, 3 * m))
            for r in range(3):
                aug[r * m : (r + 1) * m, r * m : (r + 1) * m] = g0
            aug[:m, m : 2 * m] = aug[m : 2 * m, 2 * m :] = g1
            aug[:m, 2 * m :] = g2
            e = averaged_exp(aug, self.model.arrivals)
            for r in range(3):
                f[r].append(e[:m, r * m : (r + 1) * m].copy())
        return tuple(LossBlocks(b, self.n, self.populations) for b in f)  # type: ignore[return-value]
