"""Random streams: trajectory i of seed s draws from a stream that depends only on (s, i).

The kernels compute numpy's Philox4x64-10 themselves; these tests check them bit for bit
against numpy (integer arithmetic and an exact conversion to double, so the same on every
CPU), and check the property users rely on: the first M trajectories of a run are the same
whatever the total number, the chunk size, the number of workers and the backend.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import trajectories as tj
from trajectories import _streams
from trajectories._streams import DYNAMICS, INITIAL, MEASUREMENT, STREAMS, new_state, stream_key

MODEL = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15,
                      cutoff=30)  # fmt: skip
# chunks of a few trajectories on purpose: the jackknife's few-groups warning is expected
pytestmark = pytest.mark.filterwarnings("ignore:only .* chunks for .* jackknife groups")
KW = dict(checkpoints=range(0, 61, 20), max_jumps=6)


@numba.njit(cache=False)
def _draw(state, n):
    out = np.empty(n)
    for j in range(n):
        out[j] = _streams.uniform(state)
    return out


def numpy_stream(key, counter, n):
    """``n`` doubles of numpy's own Philox at ``counter`` with ``key``."""
    bits = np.random.Philox(key=key, counter=np.array(counter, dtype=np.uint64))
    return np.random.Generator(bits).random(n)


@pytest.mark.parametrize("trajectory", [0, 1, 2, 12345, 2**40 + 3, 2**64 - 1])
@pytest.mark.parametrize("stream", [DYNAMICS, MEASUREMENT, INITIAL])
def test_kernel_streams_are_numpy_philox_bit_for_bit(trajectory, stream):
    key = stream_key(20261201)
    state = new_state()
    _streams.start(state, key[0], key[1], np.uint64(trajectory), np.uint64(stream))
    ours = _draw(state, 13)  # three refills and a partial buffer
    theirs = numpy_stream(key, (0, 0, trajectory, stream), 13)
    assert np.array_equal(ours, theirs)


def test_counter_carry_is_numpy_s():
    """The counter's low word wraps into the next one, as in numpy."""
    key = stream_key(5)
    state = new_state()
    _streams.start(state, key[0], key[1], np.uint64(9), np.uint64(1))
    state[0] = np.uint64(2**64 - 2)  # the second refill carries
    ours = _draw(state, 12)
    assert np.array_equal(ours, numpy_stream(key, (2**64 - 2, 0, 9, 1), 12))
    assert state[0] == 1 and state[1] == 1  # counter (1, 1, 9, 1) after three blocks


def test_the_key_is_the_seed_sequence_s_state():
    key = stream_key(7)
    assert key.dtype == np.uint64 and key.shape == (2,)
    assert np.array_equal(key, np.random.SeedSequence(7).generate_state(2, np.uint64))
    assert not np.array_equal(key, stream_key(8))


def test_first_uniforms_of_many_trajectories_are_independent():
    """Neighbouring trajectories and the streams of one trajectory are uncorrelated, and the
    first draws are uniform: checks that could fail for a wrong counter layout (e.g. the
    trajectory index in the word the buffer advances, which makes trajectory i + 1 repeat
    trajectory i shifted by one block)."""
    n = 200_000
    key = stream_key(11)
    dyn = _streams.first_uniforms(key, 0, n, DYNAMICS)
    meas = _streams.first_uniforms(key, 0, n, MEASUREMENT)
    z = 5.0
    # correlations of uniforms: standard error 1/sqrt(n)
    for a, b in ((dyn[:-1], dyn[1:]), (dyn, meas)):
        r = np.corrcoef(a, b)[0, 1]
        assert abs(r) < z / np.sqrt(n - 1), r
    # uniform: mean 1/2 (se 1/sqrt(12 n)) and a 20-bin chi-square
    assert abs(dyn.mean() - 0.5) < z / np.sqrt(12 * n)
    counts = np.bincount((dyn * 20).astype(int), minlength=20)
    chi2 = ((counts - n / 20) ** 2 / (n / 20)).sum()
    assert chi2 < 19 + z * np.sqrt(2 * 19)
    # and numpy agrees on a sample of them
    for i in (0, 1, 99_999, n - 1):
        assert dyn[i] == numpy_stream(key, (0, 0, i, DYNAMICS), 1)[0]


def records(ens):
    """The per-trajectory records that identify a trajectory."""
    p = ens.per_trajectory
    return dict(qubit_g=p.qubit_g, qubit_e=p.qubit_e, emissions=p.emissions,
                absorptions=p.absorptions, fock=p.fock, n_jumps=p.n_jumps)  # fmt: skip


def assert_prefix(small, large):
    """The trajectories of ``small`` are the first ones of ``large``."""
    m = small.n_trajectories
    for name, a in records(small).items():
        assert np.array_equal(a, records(large)[name][:m]), name
    ps, pl = small.per_trajectory, large.per_trajectory
    assert np.array_equal(ps.jump_kinds, pl.jump_kinds[:m])
    # floating-point state: the same operations on the same draws (not sums over trajectories)
    np.testing.assert_allclose(ps.jump_times, pl.jump_times[:m], rtol=1e-13, atol=0)
    np.testing.assert_allclose(ps.n_mean, pl.n_mean[:m], rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def reference():
    return tj.simulate(MODEL, 60, 100, seed=7, **KW)


@pytest.mark.parametrize(
    "options",
    [
        dict(n_trajectories=250),
        dict(n_trajectories=100, chunk_size=7),
        dict(n_trajectories=137, chunk_size=100),
        dict(n_trajectories=300, chunk_size=16, n_jobs=2),
        dict(n_trajectories=200, chunk_size=30, n_jobs=2, backend="threading"),
        dict(n_trajectories=160, chunk_size=40, n_jobs=2, backend="multiprocessing"),
    ],
    ids=["longer", "small-chunks", "one-chunk", "two-workers", "threading", "multiprocessing"],
)
def test_first_trajectories_do_not_depend_on_length_chunks_workers_or_backend(reference, options):
    options = dict(options)
    large = tj.simulate(MODEL, 60, options.pop("n_trajectories"), seed=7, **KW, **options)
    assert large.streams == STREAMS
    assert_prefix(reference, large)


def test_first_trajectories_are_the_same_on_a_dask_cluster(reference):
    distributed = pytest.importorskip("distributed", reason="dask is an optional extra ([dask])")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster):
            large = tj.simulate(MODEL, 60, 180, seed=7, chunk_size=45, n_jobs=-1,
                                backend="dask", **KW)  # fmt: skip
    assert_prefix(reference, large)


def test_the_same_trajectories_from_a_seed_sequence_and_from_its_entropy(reference):
    again = tj.simulate(MODEL, 60, 100, seed=np.random.SeedSequence(7), **KW)
    assert_prefix(reference, again)


def test_another_seed_gives_other_trajectories(reference):
    """Guards the prefix tests against streams that ignore the seed."""
    other = tj.simulate(MODEL, 60, 100, seed=8, **KW)
    a, b = records(reference), records(other)
    assert not np.array_equal(a["qubit_g"], b["qubit_g"])
    assert not np.array_equal(a["fock"], b["fock"])


def test_trajectories_of_one_run_differ_from_each_other(reference):
    """Distinct trajectories of one seed do not repeat each other's draws."""
    g = reference.per_trajectory.qubit_g[:, -1, :].reshape(reference.n_trajectories, -1)
    jumps = reference.per_trajectory.jump_times
    assert len({tuple(row) for row in np.nan_to_num(jumps, nan=-1.0)}) > 0.9 * len(jumps)
    assert len(np.unique(g, axis=0)) > 1
