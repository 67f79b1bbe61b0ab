"""The random streams of trajectories: numpy's Philox4x64-10, computed inside the kernels.

Trajectory ``i`` of a run whose root seed has the entropy ``s`` draws

- its dynamics (collision outcomes, jump times and kinds) from
  ``numpy.random.Generator(numpy.random.Philox(key=K, counter=(0, 0, i, 0)))``,
- its Fock-outcome samples at the checkpoints from the same with counter ``(0, 0, i, 1)``,
- its initial state (when the initial state is mixed) from counter ``(0, 0, i, 2)``,
- the beam's draws (random arrival intervals, each qubit's theta spread) from counter
  ``(0, 0, i, 3)``; the ideal beam (regular arrivals, no spread) draws nothing from it, so
  the other streams, and the default model's results, do not depend on it,

with ``K = SeedSequence(s).generate_state(2, uint64)``. In stage ``s`` of a protocol
(:class:`~trajectories.model.protocol.Protocol`) the same four streams have the counter
``(0, s, i, stream)``: stage 0 draws exactly the streams of a single model (and a stage that
replaces the state samples it from its own stream 2). The streams depend only on the seed
and on ``i``: the first ``M`` trajectories of a run are the same whatever the total number,
the chunk size, the workers and the backend, and any trajectory can be replayed with numpy
alone. Philox is counter-based (Salmon, Moraes, Dror and Shaw, SC'11): distinct counters
give independent streams, so setting up a trajectory's streams costs nothing (numpy
``Generator`` objects cannot be created or seeded inside compiled code, and creating two per
trajectory in Python costs about 20 us). The kernels compute the same bits as numpy's
``Philox`` (``tests/test_streams.py`` compares them): 10 rounds of two 64 x 64 -> 128-bit
multiplications per four 64-bit words, a double is ``(word >> 11) * 2**-53``.

A stream's state is a ``uint64`` array of :data:`STATE_SIZE`: counter (4), key (2), the buffer
of the last four words (4) and the position in it.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._numba import LEAF, njit

__all__ = [
    "STATE_SIZE", "STREAMS", "stream_key", "new_state", "start", "start_stage", "uniform",
]  # fmt: skip

#: Name of the random streams, stored with every result (``"chunk"``: version 0.1, where a
#: chunk's generators were seeded per chunk and the trajectories changed with the chunk size).
STREAMS = "philox4x64-trajectory"
#: Length of a stream's state array.
STATE_SIZE = 11
#: Stream numbers (the last counter word) of the four uses of randomness.
DYNAMICS, MEASUREMENT, INITIAL, PUMP = 0, 1, 2, 3

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2**-53


@intrinsic
def _mulhilo(typingctx, a, b):
    """``(hi, lo)`` of the 128-bit product of two uint64 (one machine multiply)."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        p = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        lo = builder.trunc(p, ir.IntType(64))
        hi = builder.trunc(builder.lshr(p, ir.Constant(wide, 64)), ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (hi, lo))

    return sig, codegen


@njit(**LEAF)
def _refill(state):  # pragma: no cover - compiled
    """Advance the counter (with carry) and fill the buffer with Philox4x64-10 of it."""
    for w in range(4):
        state[w] += np.uint64(1)
        if state[w] != 0:
            break
    c0, c1, c2, c3 = state[0], state[1], state[2], state[3]
    k0, k1 = state[4], state[5]
    for r in range(10):
        if r > 0:
            k0 += _W0
            k1 += _W1
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    state[6], state[7], state[8], state[9] = c0, c1, c2, c3
    state[10] = 0


@njit(**LEAF)
def uniform(state):  # pragma: no cover - compiled
    """The next double in [0, 1) of the stream ``state`` (numpy's ``Generator.random()``)."""
    if state[10] >= 4:
        _refill(state)
    word = state[6 + state[10]]
    state[10] += 1
    return (word >> np.uint64(11)) * _TO_DOUBLE


@njit(**LEAF)
def start(state, key0, key1, trajectory, stream):  # pragma: no cover - compiled
    """Set ``state`` to the beginning of stream ``stream`` of trajectory ``trajectory``."""
    state[0] = 0
    state[1] = 0
    state[2] = trajectory
    state[3] = stream
    state[4] = key0
    state[5] = key1
    state[10] = 4  # buffer empty: the first draw advances the counter, as numpy does


@njit(**LEAF)
def start_stage(state, key0, key1, stage, trajectory, stream):  # pragma: no cover - compiled
    """Set ``state`` to stream ``stream`` of trajectory ``trajectory`` in protocol stage
    ``stage``: counter ``(0, stage, trajectory, stream)`` (stage 0 is :func:`start`)."""
    start(state, key0, key1, trajectory, stream)
    state[1] = stage


def stream_key(entropy: int) -> np.ndarray:
    """The Philox key of a run: ``SeedSequence(entropy).generate_state(2, uint64)``."""
    return np.random.SeedSequence(entropy).generate_state(2, np.uint64)


def new_state() -> np.ndarray:
    """An empty stream state (set it with :func:`start`)."""
    return np.zeros(STATE_SIZE, dtype=np.uint64)


@njit(cache=True)
def first_uniforms(key, first, n, stream):  # pragma: no cover - compiled
    """The first double of stream ``stream`` of trajectories ``first .. first + n - 1``."""
    out = np.empty(n)
    state = np.zeros(STATE_SIZE, dtype=np.uint64)
    for j in range(n):
        start(state, key[0], key[1], np.uint64(first + j), np.uint64(stream))
        out[j] = uniform(state)
    return out


@njit(cache=True)
def first_uniforms_stage(key, stage, first, n, stream):  # pragma: no cover - compiled
    """:func:`first_uniforms` in protocol stage ``stage`` (counter ``(0, stage, i, stream)``)."""
    out = np.empty(n)
    state = np.zeros(STATE_SIZE, dtype=np.uint64)
    for j in range(n):
        start_stage(
            state, key[0], key[1], np.uint64(stage), np.uint64(first + j), np.uint64(stream)
        )
        out[j] = uniform(state)
    return out
