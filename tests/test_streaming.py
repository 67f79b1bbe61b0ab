"""Records on demand (issue 21): the reductions the workers stream give the same numbers.

Every estimate and every counting statistic of a run that keeps no per-trajectory record
(``records="none"``) or only some checkpoints must equal, bit for bit, those of the same run
(same seed) with every record: the streaming path is a different computation of the same
numbers, not an approximation. The detected counts drawn from histograms must follow the
exact detected law (the tilted channel), and memory must not grow with the number of
trajectories.
"""

from __future__ import annotations

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest

import trajectories as tj
from trajectories.solvers.montecarlo.options import (
    RECORDS_AUTO_BYTES,
    TrajectoryOptions,
    auto_records,
    plan_ensemble,
)
from trajectories.statistics import counting as cn

FINE = tj.fine_tuned_theta(15)

#: models of different record layouts: one branch with loss, two branches (c = 0) without,
#: thermal absorptions with a complex c, Poisson arrivals (random collision times)
MODELS = {
    "coherent_lossy": dict(theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30),
    "incoherent": dict(theta=FINE, q=0.25, c=0.0, cutoff=20),
    "thermal_complex_c": dict(theta=1.1, q=0.4, c=0.6 * np.exp(0.7j), gamma_tr=0.3, nbar=0.5,
                              cutoff=30),
    "poisson_arrivals": dict(theta=1.0, q=0.3, c=0.0, gamma_tr=0.2, nbar=0.3, cutoff=25,
                             arrivals=tj.Arrivals.poisson()),
}  # fmt: skip
K, M = 40, 600
KS = np.arange(0, K + 1, 5)
STATS = ("mean", "variance", "mandel_q")
ESTIMATES = ("energy", "purity", "fano", "ergotropy", "energy_from_qubits", "switching_work",
             "energy_from_bath")  # fmt: skip


def _run(model, records, **kw):
    opts = dict(seed=21, chunk_size=40, checkpoints=KS, max_jumps=4, jackknife_groups=5)
    opts.update(kw)
    return tj.simulate(model, K, M, records=records, **opts)


@pytest.fixture(scope="module", params=sorted(MODELS))
def pair(request):
    """The same run with every record, none, the last checkpoint and two checkpoints."""
    model = tj.Micromaser(**MODELS[request.param])
    return model, {r if isinstance(r, str) else "list": _run(model, r)
                   for r in ("all", "none", "last", [10, 35])}  # fmt: skip


def _same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def test_estimates_do_not_depend_on_the_records_kept(pair):
    _, runs = pair
    full = runs["all"]
    for name, ens in runs.items():
        for est in ESTIMATES:
            x, y = getattr(full, est), getattr(ens, est)
            assert _same(x.mean, y.mean) and _same(x.stderr, y.stderr), (name, est)
        assert ens.leaked_trajectories == full.leaked_trajectories
        assert _same(ens.rho, full.rho)


def test_counting_statistics_from_histograms_equal_those_from_records(pair):
    _, runs = pair
    full = runs["all"]
    for name in ("none", "last", "list"):
        ens = runs[name]
        for count in [c for c in cn.COUNTS if c != "changed"]:  # "changed": per-branch records
            a, b = cn.from_ensemble(full, count), cn.from_ensemble(ens, count)
            assert a.counts is not None and b.counts is None
            for s in STATS:
                assert _same(getattr(a, s).mean, getattr(b, s).mean), (name, count, s)
                assert _same(getattr(a, s).stderr, getattr(b, s).stderr), (name, count, s)
            for p in range(4):
                assert _same(a.cumulants[p].mean, b.cumulants[p].mean), (name, count, p)
                assert _same(a.cumulants[p].stderr, b.cumulants[p].stderr), (name, count, p)
            assert _same(a.n_used, b.n_used)
            for k in (0, 20, K):
                for x, y in zip(cn.histogram(a, k), cn.histogram(b, k), strict=True):
                    assert _same(x, y), (name, count, k)


def test_histograms_count_every_trajectory_not_leaked(pair):
    _, runs = pair
    ens = runs["none"]
    per = runs["all"].per_trajectory
    hist = ens.count_histograms
    assert np.array_equal(hist.n_used(), np.count_nonzero(per.fock >= 0, axis=0))
    valid = per.fock >= 0
    net = per.absorptions.astype(np.int64) - per.emissions
    records = dict(
        g=per.qubit_g.sum(axis=2),
        e=per.qubit_e.sum(axis=2),
        net=net,
        emission=per.emissions,
        absorption=per.absorptions,
        fock=per.fock,
    )
    for name, x in records.items():
        for i in range(KS.size):
            values, mult = np.unique(x[valid[:, i], i], return_counts=True)
            got = hist.at(name, i)
            assert np.array_equal(got[0], values) and np.array_equal(got[1], mult), (name, i)
    for name in hist.h:
        assert hist.h[name].shape[0] == KS.size and hist.h[name].dtype == np.int64


def test_chi_square_on_a_histogram_equals_the_test_on_the_samples(pair):
    model, runs = pair
    exact = cn.exact_distribution(model, K, "g", checkpoints=KS)
    a, b = cn.from_ensemble(runs["all"], "g"), cn.from_ensemble(runs["none"], "g")
    samples = a.counts[a.valid[:, -1], -1]
    values, mult = b.histogram_at(K)
    t1 = cn.chi_square(samples, exact.values, exact.probabilities[-1])
    t2 = cn.chi_square(values, exact.values, exact.probabilities[-1], multiplicity=mult)
    assert t1.statistic == pytest.approx(t2.statistic, rel=1e-12) and t1.dof == t2.dof
    assert t1.pvalue > 1e-4  # and the trajectories follow the exact law


def test_kept_records_are_the_full_records_at_those_checkpoints(pair):
    _, runs = pair
    full = runs["all"].per_trajectory
    assert runs["none"].per_trajectory is None
    for name, ks in (("last", [K]), ("list", [10, 35])):
        ens = runs[name]
        cols = np.searchsorted(KS, ks)
        assert ens.record_k.tolist() == ks
        per = ens.per_trajectory
        for field in ("n_mean", "fock", "qubit_g", "emissions", "collision_energy"):
            assert _same(getattr(per, field), getattr(full, field)[:, cols]), (name, field)
        for field in ("alive", "jump_times", "jump_kinds", "n_jumps"):
            assert _same(getattr(per, field), getattr(full, field)), (name, field)


def test_what_needs_records_says_which_option_to_use(pair):
    model, runs = pair
    with pytest.raises(ValueError, match="records="):
        cn.emission_waiting_times(runs["none"])
    every = tj.simulate(model, 6, 20, seed=1, chunk_size=10, records="last", jackknife_groups=2)
    with pytest.raises(ValueError, match="records='all'"):
        cn.g_waiting_times(every)
    with pytest.raises(ValueError, match="k = 20"):
        cn.energy_per_trajectory(runs["last"], k=20)
    e = cn.energy_per_trajectory(runs["last"])
    assert e.k == K and _same(e.values, cn.energy_per_trajectory(runs["all"]).values)


# ------------------------------------------------------------------ detection
def test_thinned_histograms_follow_the_exact_detected_law():
    """Efficiency and misreads drawn on histograms: mean and variance of the detected count
    within 5 standard errors of the exact detected moments (tilted channel)."""
    model = tj.Micromaser(**MODELS["coherent_lossy"])
    ens = tj.simulate(model, K, 3000, seed=5, checkpoints=KS, records="none", chunk_size=150)
    for count, det in (("g", dict(efficiency=0.6)), ("emission", dict(efficiency=0.5)),
                       ("g", dict(efficiency=0.8, misread=(0.1, 0.25))),
                       ("e", dict(efficiency=0.7, misread=(0.2, 0.05)))):  # fmt: skip
        st = cn.from_ensemble(ens, count, **det)
        ex = cn.exact_moments(model, K, count, checkpoints=KS, **det)
        for i in range(1, KS.size):
            z = (st.mean.mean[i] - ex.mean[i]) / st.mean.stderr[i]
            zv = (st.variance.mean[i] - ex.variance[i]) / st.variance.stderr[i]
            assert abs(z) < 5 and abs(zv) < 5, (count, det, i, z, zv)
        # a 10 % error in the efficiency would be seen at the last checkpoint
        wrong = cn.exact_moments(model, K, count, checkpoints=KS,
                                 **{**det, "efficiency": det["efficiency"] * 0.9})  # fmt: skip
        assert abs(st.mean.mean[-1] - wrong.mean[-1]) > 5 * st.mean.stderr[-1]
    # reproducible from the seed
    a = cn.from_ensemble(ens, "g", efficiency=0.6)
    assert np.array_equal(a.hist, cn.from_ensemble(ens, "g", efficiency=0.6).hist)
    assert not np.array_equal(a.hist, cn.from_ensemble(ens, "g", efficiency=0.6, seed=1).hist)


def test_detection_that_needs_joint_records_is_refused_clearly():
    model = tj.Micromaser(**MODELS["poisson_arrivals"])
    ens = _run(model, "none")
    with pytest.raises(ValueError, match="records='all'"):
        cn.from_ensemble(ens, "net", efficiency=0.5)
    hist = ens.count_histograms
    if any(hist.at("qubits", i)[0].size > 1 for i in range(KS.size)):
        with pytest.raises(ValueError, match="records='all'"):
            cn.from_ensemble(ens, "g", efficiency=0.9, misread=(0.1, 0.0))


# ------------------------------------------------------------------ the option
def test_bad_records_values_fail_before_any_work():
    model = tj.Micromaser(**MODELS["incoherent"])
    for bad, match in (("some", "records must be"), ([3], r"records \[3\] are not among"),
                       ([5, 5], "records"), ([K + 5], "records")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            tj.simulate(model, K, 10, checkpoints=KS, records=bad)


def test_default_keeps_the_records_bounded_and_says_so():
    assert auto_records(10_000, 101, 1, 9) == "all"
    per_all = 101 * 60 + 9
    m_all = RECORDS_AUTO_BYTES // per_all
    assert auto_records(m_all, 101, 1, 9) == "all"
    assert auto_records(m_all + 1, 101, 1, 9) == "last"
    assert auto_records(10**8, 101, 1, 9) == "none"
    model = tj.Micromaser(**MODELS["incoherent"])
    for m, expect in ((10**6, "last"), (10**7, "none")):
        with pytest.warns(RuntimeWarning, match=f"records={expect!r}"):
            plan = plan_ensemble(model, 200, m, 1, None, TrajectoryOptions(chunk_size=500))
        assert plan.options.records == expect
        size = 0 if expect == "none" else 1
        assert plan.plan.record_index.size == size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = plan_ensemble(model, 200, 10**6, 1, None,
                             TrajectoryOptions(chunk_size=500, records="none"))  # fmt: skip
    assert plan.options.records == "none"


def test_workers_send_reductions_whose_size_does_not_grow_with_the_chunk():
    """A chunk of records='none' pickles (what a worker sends back) to the same size for 50
    and 1000 trajectories: its sums and histograms, no per-trajectory array."""
    from trajectories.solvers.montecarlo.chunks import run_chunk
    from trajectories.solvers.montecarlo.kernel_inputs import KernelInputs  # noqa: F401

    model = tj.Micromaser(**MODELS["coherent_lossy"])
    sizes = {}
    for m in (50, 1000):
        opts = TrajectoryOptions(chunk_size=m, checkpoints=KS, records="none",
                                 rho_checkpoints="last", jackknife_groups=2)  # fmt: skip
        run = plan_ensemble(model, K, m, 3, None, opts)
        from trajectories.solvers.montecarlo.simulate import _segments, _stage_specs

        _, segments, _, _ = _segments(model, K, m, None)
        specs = tuple(_stage_specs(segments, run.ks))
        from trajectories._streams import stream_key
        from trajectories.solvers.montecarlo.chunks import InitialStates

        chunk = run_chunk(specs, run.plan, InitialStates.from_density_matrix(run.rho0), 0, m,
                          stream_key(run.entropy), 0)  # fmt: skip
        assert chunk.fock.shape[0] == 0 and chunk.n_trajectories == m
        sizes[m] = len(pickle.dumps(chunk))
    assert sizes[1000] < 1.5 * sizes[50], sizes


@pytest.mark.slow
def test_memory_of_a_run_without_records_does_not_grow_with_the_trajectories():
    """tracemalloc peak of records='none' runs of 10^4 and 10^6 trajectories: within 10 %.

    A first run of 10^6 trajectories fills CPython's free lists (up to 2000 freed tuples of
    each small size are kept for reuse, and tracemalloc counts them as allocated). Two
    libraries keep a small object per call: numba's dispatcher (about 57 bytes per call of a
    driver, one call per chunk) and threadpoolctl (about 14 bytes per chunk); what they kept
    at the end is measured apart, taken off the peak, and must stay under 100 bytes per
    chunk (2 MB at 10^7 trajectories).
    """
    import inspect

    from trajectories.solvers.montecarlo import chunks

    model = tj.Micromaser(theta=1.0, q=0.3, gamma_tr=0.1, nbar=0.1, cutoff=16)
    opts = dict(seed=1, chunk_size=500, records="none", rho_checkpoints="last", progress=False)
    tj.simulate(model, 4, 10**6, **opts)  # compiles, fills the free lists
    lines, start = inspect.getsourcelines(chunks.run_chunk)
    call = start + next(i for i, ln in enumerate(lines) if ln.strip().startswith("driver("))
    libraries = [tracemalloc.Filter(True, chunks.__file__, lineno=call),
                 tracemalloc.Filter(True, "*threadpoolctl.py")]  # fmt: skip
    peaks, kept = {}, {}
    for m in (10**4, 10**6):
        tracemalloc.start(1)
        ens = tj.simulate(model, 4, m, **opts)
        peak = tracemalloc.get_traced_memory()[1]
        snap = tracemalloc.take_snapshot()
        tracemalloc.stop()
        kept[m] = sum(
            st.size for f in libraries for st in snap.filter_traces([f]).statistics("filename")
        )
        peaks[m] = peak - kept[m]
        assert ens.n_trajectories == m and ens.per_trajectory is None
    assert peaks[10**6] < 1.1 * peaks[10**4], (peaks, kept)
    assert kept[10**6] < 100 * (10**6 // 500), kept
