"""Figures: every plot function writes valid PNG and PDF files and draws the right things.

Beyond the content: the collision axis is logarithmic when the transient is short, theta is
written pi/sqrt(m), bins come from the data, no panel is empty (a note says what was not
recorded), legends sit outside the axes, no text sticks out of the figure, and the command
line gives each figure one name.
"""

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the tests choose the backend; the package never does

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import trajectories as tj  # noqa: E402
from trajectories.plot import counting as pc  # noqa: E402
from trajectories.plot import figures as plot  # noqa: E402
from trajectories.plot import style  # noqa: E402
from trajectories.statistics import counting as cn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RHO_KS = [0, 15, 30]


@pytest.fixture(scope="module")
def model():
    return tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30
    )


@pytest.fixture(scope="module")
def exact(model):
    return tj.solve_exact(model, 30)


def _keep_rho_only_at(ens, ks):
    """The ensemble as if rho had been kept only at the checkpoints ``ks``."""
    idx = np.flatnonzero(np.isin(ens.k, ks))
    drop = np.setdiff1d(np.arange(ens.k.size), idx)

    def nan_outside(est):
        mean, se = est.mean.copy(), est.stderr.copy()
        mean[drop] = se[drop] = np.nan
        return tj.Estimate(mean, se)

    return dataclasses.replace(
        ens,
        rho=ens.rho[idx],
        populations=ens.populations[idx],
        rho_index=idx,
        purity=nan_outside(ens.purity),
        ergotropy=nan_outside(ens.ergotropy),
    )


@pytest.fixture(scope="module")
def ens(model):
    kwargs = dict(seed=1, chunk_size=10, checkpoints=range(0, 31, 5))
    try:
        return tj.simulate(model, 30, 200, rho_checkpoints=RHO_KS, **kwargs)
    except ValueError as err:  # ensemble.py bug with a strict subset of rho checkpoints
        if "broadcast" not in str(err):
            raise
    return _keep_rho_only_at(tj.simulate(model, 30, 200, rho_checkpoints="all", **kwargs), RHO_KS)


@pytest.fixture(scope="module")
def no_rho(ens):
    """The ensemble as if rho had been kept at no checkpoint (purity, ergotropy all NaN)."""
    return _keep_rho_only_at(ens, [])


@pytest.fixture(scope="module")
def long_exact():
    """A lossy fine-tuned battery: charged in ~20 collisions, shown over 600."""
    m = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15,
                      cutoff=30)  # fmt: skip
    return tj.solve_exact(m, 600, checkpoints=range(0, 601, 2))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ shared checks
def _assert_files(fig_fn, tmp_path):
    """``fig_fn(path)`` writes a PNG and a PDF (in a folder it must create)."""
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
        path = tmp_path / "sub" / f"figure{suffix}"
        fig = fig_fn(path)
        assert isinstance(fig, plt.Figure)
        assert path.read_bytes().startswith(magic)
        plt.close(fig)


def _legends(fig):
    return [a for a in fig.findobj(Legend) if a.get_visible()]


def _legend_labels(fig):
    (legend,) = _legends(fig)
    return [t.get_text() for t in legend.get_texts()]


def _notes(fig):
    return " ".join(t.get_text().replace("\n", " ") for t in fig.findobj(Text) if t.get_text())


def _has_data(ax):
    lines = any(np.asarray(line.get_xdata()).size for line in ax.lines)
    return lines or bool(ax.patches) or bool(ax.collections) or bool(ax.containers)


def _assert_referee_ready(fig):
    """No empty panel, legends outside every axes, every text inside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert _has_data(ax), f"empty panel: {ax.get_ylabel()!r}"
        assert ax.get_legend() is None  # legends are figure legends, outside the axes
    boxes = [ax.get_window_extent(renderer) for ax in fig.axes]
    for legend in _legends(fig):
        lb = legend.get_window_extent(renderer)
        for box in boxes:
            assert not lb.overlaps(box), "a legend covers an axes"
    # nothing clipped: the tight box of everything drawn lies inside the figure ...
    tight = fig.get_tightbbox(renderer)
    size = fig.bbox_inches
    assert tight.x0 >= -0.02 and tight.y0 >= -0.02, tight
    assert tight.x1 <= size.x1 + 0.02 and tight.y1 <= size.y1 + 0.02, tight
    # ... and so does every title, label, legend entry and note (tick labels are in the box)
    ticks = {id(t) for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()}
    ticks |= {id(t) for ax in fig.axes for t in ax.get_xminorticklabels()}
    fb = fig.bbox
    for text in fig.findobj(Text):
        if id(text) in ticks or not text.get_visible() or not text.get_text().strip():
            continue
        tb = text.get_window_extent(renderer)
        if tb.width == 0 and tb.height == 0:
            continue
        assert tb.x0 >= fb.x0 - 1 and tb.x1 <= fb.x1 + 1, f"clipped: {text.get_text()[:40]!r}"
        assert tb.y0 >= fb.y0 - 1 and tb.y1 <= fb.y1 + 1, f"clipped: {text.get_text()[:40]!r}"


# ------------------------------------------------------------------ labels and choices
@pytest.mark.parametrize(
    "theta,plain,tex",
    [
        (math.pi / math.sqrt(15), "pi/sqrt(15)", r"$\pi/\sqrt{15}$"),
        (tj.fine_tuned_theta(15.6), "pi/sqrt(15.6)", r"$\pi/\sqrt{15.6}$"),
        (tj.fine_tuned_theta(15.01), "pi/sqrt(15.01)", r"$\pi/\sqrt{15.01}$"),
        (tj.fine_tuned_theta(15, Q=2), "2pi/sqrt(15)", r"$2\pi/\sqrt{15}$"),
        (math.pi / 2, "pi/2", r"$\pi/2$"),
        (math.pi, "pi", r"$\pi$"),
        (0.811156, "0.811156", "0.811156"),  # pi/sqrt(15) to 6 digits is not pi/sqrt(15)
        (math.pi / math.sqrt(15) + 1e-9, "0.811156", "0.811156"),
        (1.0, "1", "1"),
        (0.0, "0", "0"),
    ],
)
def test_theta_label(theta, plain, tex):
    assert style.theta_label(theta, tex=False) == plain
    assert style.theta_label(theta) == tex
    assert tj.plot.theta_label is style.theta_label


def test_titles_print_fine_tuned_angles_as_pi_over_sqrt_m(model, exact):
    title = plot.observables(exact)._suptitle.get_text()
    assert r"$\pi/\sqrt{15}$" in title and "0.811" not in title
    rabi = dataclasses.replace(model, collision=tj.Rabi(g_over_omega=0.3))
    assert r"Rabi $g/\omega$ = 0.3" in style.model_title(rabi)


def test_integer_bins_one_per_integer_only_when_the_range_is_small(rng):
    small = rng.poisson(4.0, 500)
    edges = style.integer_bins(small)
    np.testing.assert_array_equal(edges, np.arange(small.min(), small.max() + 2) - 0.5)
    # counts of order 1000 from 500 trajectories: one bin per integer would be a comb
    large = np.round(rng.normal(1270.0, 25.0, 500)).astype(int)
    edges = style.integer_bins(large)
    width = edges[1] - edges[0]
    assert width > 1 and width == int(width) and np.allclose(np.diff(edges), width)
    assert np.allclose(edges % 1, 0.5)  # half-integer edges: every bin holds `width` integers
    assert edges[0] < large.min() and edges[-1] > large.max()
    assert 8 <= edges.size - 1 <= 80
    iqr = np.subtract(*np.percentile(large, [75, 25]))
    assert width == max(1, round(2 * iqr / 500 ** (1 / 3)))  # Freedman-Diaconis
    # a span to cover (an exact distribution's tails) and a degenerate sample
    edges = style.integer_bins(large, span=(1100, 1400))
    assert edges[0] <= 1099.5 and edges[-1] >= 1400.5
    np.testing.assert_array_equal(style.integer_bins(np.full(10, 7)), [6.5, 7.5])
    assert style.integer_bins(np.arange(0, 10_000), max_bins=50).size - 1 <= 50


def test_collision_axis_is_logarithmic_when_the_transient_is_short(long_exact):
    k = long_exact.k
    assert style.collision_scale([(k, long_exact.energy)]) == "symlog"
    growing = (k, 1.0 - np.exp(-k / 300.0))  # relaxes over the whole range
    assert style.collision_scale([growing]) == "linear"
    assert style.collision_scale([(k[:20], long_exact.energy[:20])]) == "linear"  # range 38
    fig = plot.observables(long_exact)
    for ax in fig.axes:
        assert ax.get_xscale() == "symlog"
        assert ax.get_xlim()[0] == 0.0  # k = 0 is on the axis
    assert "log" in fig.axes[-1].get_xlabel()
    _assert_referee_ready(fig)
    fig = plot.observables(long_exact, kscale="linear")
    assert all(ax.get_xscale() == "linear" for ax in fig.axes)
    # noise without a transient does not make an axis logarithmic
    noisy = (k, 0.6 + 0.01 * np.random.default_rng(1).standard_normal(k.size))
    assert style.transient_end(*noisy) is None
    assert style.collision_scale([noisy]) == "linear"


# ------------------------------------------------------------------ observables
def test_observables_exact_backward_compatible(exact, tmp_path):
    _assert_files(lambda p: plot.observables(exact, p, title="custom"), tmp_path)
    fig = plot.observables(exact)
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert len(ax.lines) == 1
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), exact.k)
        assert ax.lines[0].get_color() == "k"  # the exact solution is black everywhere
        assert not ax.collections  # no error bands for an exact result
    assert r"\gamma t_r" in fig._suptitle.get_text()
    assert "N = 30" in fig._suptitle.get_text()
    assert "c = 1," in fig._suptitle.get_text()  # a real coherence shown without "+0j"
    assert "hbar" in fig.axes[0].get_ylabel()
    assert fig.axes[0].get_xscale() == "linear"  # 30 collisions: no logarithmic axis
    _assert_referee_ready(fig)


def test_observables_ensemble_with_exact(ens, exact, tmp_path):
    _assert_files(lambda p: plot.observables(ens, p, exact=exact), tmp_path)
    fig = plot.observables(ens, exact=exact, sigma=2.0)
    energy, purity, fano, ergotropy = fig.axes
    assert sorted(_legend_labels(fig)) == ["exact", r"trajectories (M = 200), $\pm2$ s.e."]
    for ax in fig.axes:
        (bars,) = ax.containers  # trajectory points with error bars
        assert isinstance(bars, ErrorbarContainer)
        assert ax.lines[-1].get_label() == "exact" and ax.lines[-1].get_color() == "k"
        assert ax.lines[-1].get_xdata().size == exact.k.size
        # error bars are not black: they cannot be taken for the exact solution
        assert matplotlib.colors.to_hex(bars.lines[2][0].get_color()[0]) != "#000000"
    # energy at every checkpoint; purity and ergotropy only where rho was kept (NaN skipped)
    np.testing.assert_array_equal(energy.containers[0].lines[0].get_xdata(), ens.k)
    np.testing.assert_array_equal(purity.containers[0].lines[0].get_xdata(), RHO_KS)
    np.testing.assert_array_equal(ergotropy.containers[0].lines[0].get_xdata(), RHO_KS)
    assert fano.containers[0].lines[0].get_xdata().size == ens.k.size - 1  # Fano undefined at 0
    # error bars are mean +/- sigma * stderr
    segments = energy.containers[0].lines[2][0].get_segments()
    top = np.array([s[:, 1].max() for s in segments])
    np.testing.assert_allclose(top, ens.energy.mean + 2.0 * ens.energy.stderr)
    _assert_referee_ready(fig)


def test_observables_ensemble_alone_and_dense_checkpoints(ens, model):
    fig = plot.observables(ens)
    assert _legend_labels(fig) == [r"trajectories (M = 200), $\pm1$ s.e."]
    _assert_referee_ready(fig)
    dense = tj.simulate(model, 200, 40, seed=2, chunk_size=2, checkpoints=range(201))
    fig = plot.observables(dense)  # 201 checkpoints: a line in a band
    assert _legend_labels(fig) == ["trajectories (M = 40)", r"$\pm1$ s.e."]
    assert len(fig.axes[0].collections) == 1
    _assert_referee_ready(fig)


def test_observables_leave_out_what_was_not_recorded(no_rho, exact):
    fig = plot.observables(no_rho)
    assert [ax.get_ylabel().split()[0] for ax in fig.axes] == ["energy", "Fano"]
    note = _notes(fig)
    assert "Not recorded by the trajectories: purity and ergotropy" in note
    assert "rho_checkpoints='none'" in note and "no panel" in note
    _assert_referee_ready(fig)
    # with the exact solution the panels are drawn (exact only), and the note says so
    fig = plot.observables(no_rho, exact=exact)
    assert len(fig.axes) == 4
    assert [len(ax.containers) for ax in fig.axes] == [1, 0, 1, 0]
    assert "shown for the exact solution only" in _notes(fig)
    _assert_referee_ready(fig)


# ------------------------------------------------------------------ photon distribution
def test_photon_distribution_exact(exact, tmp_path):
    _assert_files(lambda p: plot.photon_distribution(exact, p), tmp_path)
    fig = plot.photon_distribution(exact, k=10)
    ax = fig.axes[0]
    heights = np.array([b.get_height() for b in ax.patches])
    np.testing.assert_allclose(heights, exact.populations[10, : heights.size])
    assert "k = 10" in ax.get_title()
    assert "nearest" not in ax.get_title()
    _assert_referee_ready(fig)


def test_photon_distribution_picks_nearest_kept_checkpoint(ens, exact, tmp_path):
    _assert_files(lambda p: plot.photon_distribution(ens, p, exact=exact), tmp_path)
    fig = plot.photon_distribution(ens, k=20, exact=exact)  # rho kept at 0, 15, 30 only
    ax = fig.axes[0]
    assert "k = 15 (nearest to k = 20)" in ax.get_title()
    bars = [p for p in ax.patches if not isinstance(p, StepPatch)]
    heights = np.array([b.get_height() for b in bars])
    np.testing.assert_allclose(heights, ens.populations[1, : heights.size])
    # the exact distribution is a black outline at the chosen checkpoint, not the requested one
    (outline,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    np.testing.assert_allclose(outline.get_data().values, exact.populations[15, : heights.size])
    assert matplotlib.colors.to_hex(outline.get_edgecolor()) == "#000000"
    assert sorted(_legend_labels(fig)) == ["exact", "trajectories (M = 200)"]
    # error bars: binomial standard error of the Fock-sample histogram at k = 15, not black
    fock = ens.per_trajectory.fock[:, 3]
    h = np.bincount(fock[fock >= 0], minlength=30)[: heights.size] / 200
    (errs,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = errs.lines[2][0].get_segments()
    half = np.array([(s[1, 1] - s[0, 1]) / 2 for s in segments])
    np.testing.assert_allclose(half, np.sqrt(h * (1 - h) / 200))
    assert matplotlib.colors.to_hex(errs.lines[2][0].get_color()[0]) != "#000000"
    _assert_referee_ready(fig)
    # default: the last kept checkpoint
    fig = plot.photon_distribution(ens)
    assert "k = 30" in fig.axes[0].get_title()


def test_photon_distribution_errors_and_fock_fallback(ens, no_rho, exact):
    sparse = tj.solve_exact(ens.model, 30, checkpoints=[0, 30])
    with pytest.raises(ValueError, match="no checkpoint at k = 15"):
        plot.photon_distribution(ens, k=15, exact=sparse)
    # no rho kept: drawn from the per-trajectory Fock samples, and the figure says so
    fig = plot.photon_distribution(no_rho, k=20, exact=exact)
    ax = fig.axes[0]
    assert "k = 20" in ax.get_title()
    fock = no_rho.per_trajectory.fock[:, 4]
    h = np.bincount(fock[fock >= 0], minlength=30) / np.count_nonzero(fock >= 0)
    heights = np.array([b.get_height() for b in ax.patches if not isinstance(b, StepPatch)])
    np.testing.assert_allclose(heights, h[: heights.size])
    assert "one photon number sampled from each trajectory" in _notes(fig)
    _assert_referee_ready(fig)


# ------------------------------------------------------------------ counting records
def test_count_histograms(ens, tmp_path):
    _assert_files(lambda p: plot.count_histograms(ens, p), tmp_path)
    fig = plot.count_histograms(ens, k=15)
    assert len(fig.axes) == 4
    assert "measurable" in fig._suptitle.get_text()
    assert "k = 15" in fig._suptitle.get_text()
    per = ens.per_trajectory
    expected = (
        per.qubit_g[:, 3, :].sum(axis=1),
        per.qubit_e[:, 3, :].sum(axis=1),
        per.emissions[:, 3],
        per.absorptions[:, 3],
    )
    for ax, values in zip(fig.axes, expected, strict=True):
        counts = np.array([b.get_height() for b in ax.patches])
        assert counts.sum() == 200
        edges = style.integer_bins(values)
        np.testing.assert_array_equal(counts, np.histogram(values, edges)[0])
        lefts = np.array([b.get_x() for b in ax.patches])
        np.testing.assert_allclose(lefts, edges[:-1])
    _assert_referee_ready(fig)


def test_count_histograms_bin_wide_ranges(model):
    """2000 collisions, 300 trajectories: counts span ~100 integers; no comb of 1-wide bins."""
    long = tj.simulate(model, 2000, 300, seed=4, chunk_size=15, checkpoints=[0, 2000],
                       rho_checkpoints="none")  # fmt: skip
    fig = plot.count_histograms(long)
    ax = fig.axes[0]
    width = ax.patches[0].get_width()
    assert width > 1 and len(ax.patches) <= 80
    assert f"bins of {width:.0f}" in ax.get_xlabel()
    _assert_referee_ready(fig)


def test_count_histograms_leave_out_bath_panels_without_a_bath(model):
    lossless = dataclasses.replace(model, c=0.0, gamma_tr=0.0, nbar=0.0)
    ens = tj.simulate(lossless, 20, 40, seed=3, chunk_size=2)
    fig = plot.count_histograms(ens)
    assert [ax.get_xlabel().split(" (")[0] for ax in fig.axes] == [
        "qubits leaving in g",
        "qubits leaving in e",
    ]
    assert "No bath counts (emissions, absorptions): gamma_tr = 0" in _notes(fig)
    _assert_referee_ready(fig)


def test_energy_per_trajectory(ens, tmp_path):
    _assert_files(lambda p: plot.energy_per_trajectory(ens, p), tmp_path)
    fig = plot.energy_per_trajectory(ens, k=12)
    ax = fig.axes[0]
    assert "k = 10 (nearest to k = 12)" in ax.get_title()
    assert "not a measurable" in _notes(fig)
    assert sum(b.get_height() for b in ax.patches) == np.count_nonzero(
        ens.per_trajectory.fock[:, 2] >= 0
    )
    _assert_referee_ready(fig)
    # the counting module draws the same figure
    assert pc.energy_figure(ens, k=12).axes[0].get_title() == ax.get_title()


# ------------------------------------------------------------------ counting figures
def test_counting_histogram_figure_bins_trajectories_and_exact_alike(ens, model):
    stats = [cn.from_ensemble(ens, c) for c in ("g", "emission")]
    exact = [cn.exact_distribution(model, 30, c, checkpoints=[30]) for c in ("g", "emission")]
    fig = pc.histogram_figure(stats, exact, k=30)
    assert len(fig.axes) == 2  # no empty third panel
    for ax, ex in zip(fig.axes, exact, strict=True):
        (outline,) = [p for p in ax.patches if isinstance(p, StepPatch)]
        bars = [p for p in ax.patches if not isinstance(p, StepPatch)]
        edges = outline.get_data().edges
        width = edges[1] - edges[0]
        # probability per unit count: trajectories and exact integrate to 1 over the bins
        assert sum(b.get_height() for b in bars) * width == pytest.approx(1.0)
        v, p = ex.at(30)
        np.testing.assert_allclose(
            outline.get_data().values, np.histogram(v, edges, weights=p)[0] / width
        )
        assert "chi2 p" in ax.get_title()
    assert sorted(_legend_labels(fig)) == ["exact", "trajectories"]
    _assert_referee_ready(fig)


def test_counting_mandel_and_waiting_figures(ens, model):
    stats = [cn.from_ensemble(ens, c) for c in ("g", "net")]
    moments = [cn.exact_moments(model, 30, c, checkpoints=range(31)) for c in ("g", "net")]
    fig = pc.mandel_q_figure(stats, moments)
    assert "Not shown (mean count <= 0, Q undefined): net" in _notes(fig)
    assert "exact" in _legend_labels(fig)
    _assert_referee_ready(fig)
    # this ensemble has no jump log and checkpoints every 5 collisions: no panel at all
    fig = pc.waiting_time_figure(ens)
    assert fig.axes == []
    note = _notes(fig)
    assert "between emissions: not recorded" in note and "between qubits found in g" in note
    _assert_referee_ready(fig)
    full = tj.simulate(model, 30, 40, seed=5, chunk_size=2, checkpoints=range(31), max_jumps=60)
    fig = pc.waiting_time_figure(full)
    assert len(fig.axes) == 2
    _assert_referee_ready(fig)


def test_symlog_thinning_spreads_points_on_the_axis():
    k = np.arange(0, 2001, 20)
    idx = style.thin(k, 20, "symlog")
    assert idx[0] == 0 and idx[-1] == k.size - 1 and idx.size <= 20
    assert np.count_nonzero(k[idx] < 200) >= 3  # not all crowded at the right end
    np.testing.assert_array_equal(style.thin(k[:10], 20), np.arange(10))


# ------------------------------------------------------------------ names and backend
def test_run_and_plot_give_the_observables_figure_one_name(ens, exact, tmp_path):
    from trajectories.runs.runner import make_plots

    written = make_plots(ens, exact, str(tmp_path), "point", ("png", "pdf"))
    # the observables, then the energy books (kept by every exact solution)
    assert [p.name for p in written] == ["point-observables.png", "point-observables.pdf",
                                         "point-books.png", "point-books.pdf"]  # fmt: skip
    assert all(p.is_file() for p in written)
    path = tj.save(tmp_path / "point.h5", ensemble=ens, exact=exact)
    from trajectories.runs.cli import main

    assert main(["plot", str(path), "-o", str(tmp_path / "figs")]) == 0
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert names == ["point-books.png", "point-observables.png", "point-photons.png",
                     "point-records.png"]  # fmt: skip


def test_the_package_never_switches_the_backend():
    code = (
        "import matplotlib; matplotlib.use('pdf')\n"
        "import trajectories as tj; tj.plot.observables\n"
        "import trajectories.plot.counting\n"
        "print(matplotlib.get_backend())\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pdf"


def test_plot_module_is_reachable_as_tj_plot():
    assert tj.plot.observables is not None and tj.plot.count_histograms is not None
    assert tj.plot.save is style.save
