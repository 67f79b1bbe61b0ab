"""Progress: a bar where a person watches, plain lines in logs, nothing when off, hooks for
programs; the exact counting distributions report too; the compile notice says when the
kernels are compiled, and only then."""

import io
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trajectories as tj
from trajectories import progress as pg
from trajectories._numba import COMPILE_NOTICE, kernels_cached
from trajectories.solvers.montecarlo import simulate as simulate_module
from trajectories.statistics import counting as cn

ROOT = Path(__file__).resolve().parents[1]
MODEL = tj.Micromaser(theta=math.pi / math.sqrt(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15,
                      cutoff=20)  # fmt: skip


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def monotone_to_the_end(calls):
    done = [d for d, _ in calls]
    rising = all(b >= a for a, b in zip(done, done[1:], strict=False))
    return rising and calls[-1][0] == calls[-1][1]


# ------------------------------------------------------------------------ the reporter
def test_hook_of_simulate_sees_every_chunk_in_order_up_to_the_total():
    calls = []
    tj.simulate(MODEL, 20, 60, seed=1, chunk_size=10, jackknife_groups=2,
                progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls[0] == (0, 60) and calls[-1] == (60, 60)
    assert [d for d, _ in calls] == list(range(0, 61, 10))


def test_off_and_auto_print_nothing_when_stderr_is_not_a_terminal(capsys):
    for progress in (False, None):
        tj.simulate(MODEL, 20, 40, seed=1, chunk_size=10, jackknife_groups=2, progress=progress)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert pg.Progress(None, 10, stream=io.StringIO()).mode == "off"


def test_auto_shows_a_tqdm_bar_on_a_terminal(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    tj.simulate(MODEL, 20, 40, seed=1, chunk_size=10, jackknife_groups=2)  # progress: automatic
    text = term.getvalue()
    assert "\r" in text and "40/40" in text and "trajectories" in text  # tqdm's redraws


def test_auto_shows_a_bar_in_a_notebook_kernel(monkeypatch):
    monkeypatch.setattr(pg, "in_notebook", lambda: True)
    report = pg.Progress(None, 5, stream=io.StringIO())
    assert report.mode == "bar"
    report.close()


def test_a_log_gets_a_few_plain_lines_and_no_carriage_returns():
    log = io.StringIO()
    with pg.Progress(True, 1000, unit="trajectories", stream=log, interval=3600) as report:
        for done in range(0, 1001, 10):
            report(done)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == 1 and lines[0].startswith("1000/1000 trajectories (100%)")


def test_a_log_says_where_work_stopped_early():
    log = io.StringIO()
    with pg.Progress(True, 100, unit="trajectories", stream=log, interval=3600) as report:
        report(30)
    assert log.getvalue().startswith("30/100 trajectories (30%)")


def test_hook_is_called_and_nothing_is_printed(capsys):
    calls = []
    with pg.Progress(lambda d, t: calls.append((d, t)), 3, stream=Terminal()) as report:
        for done in (1, 1, 0, 3):  # a repeated or smaller value is not reported backwards
            report(done)
    assert calls == [(1, 3), (1, 3), (3, 3)]
    assert capsys.readouterr().err == ""


def test_stage_maps_a_part_onto_the_whole():
    calls = []
    report = pg.Progress(lambda d, t: calls.append(d), 100)
    first, second = report.stage(0, 40), report.stage(40, 60)
    first(5, 10)
    first(10, 10)
    second(1, 2)
    second(2, 2)
    assert calls == [20, 40, 70, 100]


def test_track_yields_every_item_and_reports_each():
    calls = []
    assert list(pg.track(iter("abc"), lambda d, t: calls.append((d, t)))) == ["a", "b", "c"]
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("bad", ["yes", 1, 0.5])
def test_a_bad_progress_argument_is_refused_by_name(bad):
    with pytest.raises(TypeError, match="progress must be None"):
        pg.Progress(bad, 10)


# ------------------------------------------------------------- exact counting statistics
def test_exact_distribution_reports_monotone_progress_to_its_last_collision():
    calls = []
    cn.exact_distribution(MODEL, 30, "g", checkpoints=[30],
                          progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert {t for _, t in calls} == {30} and monotone_to_the_end(calls)
    assert len(calls) > 30  # reported during the passes, not only at the end


def test_exact_moments_report_each_collision(capsys):
    calls = []
    cn.exact_moments(MODEL, 25, "emission", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, 25) for k in range(1, 26)]
    cn.exact_moments(MODEL, 25, "emission", progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------- the compile notice
def test_compile_notice_only_when_the_kernels_are_not_cached(monkeypatch):
    for cached, expected in ((False, True), (True, False)):
        monkeypatch.setattr(simulate_module, "kernels_cached", lambda *d, c=cached: c)
        log = Terminal()
        monkeypatch.setattr(sys, "stderr", log)
        tj.simulate(MODEL, 10, 20, seed=1, chunk_size=10, jackknife_groups=2, progress=True)
        assert (COMPILE_NOTICE in log.getvalue()) is expected
    monkeypatch.setattr(simulate_module, "kernels_cached", lambda *d: False)
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    tj.simulate(MODEL, 10, 20, seed=1, chunk_size=10, jackknife_groups=2, progress=False)
    assert quiet.getvalue() == ""


def test_an_empty_numba_cache_is_seen_as_cold_and_a_used_one_as_warm(tmp_path):
    from trajectories.solvers.montecarlo.kernels import run_banded

    tj.simulate(MODEL, 10, 10, seed=1, jackknife_groups=2, progress=False)  # compiles or loads
    assert kernels_cached(run_banded)
    code = ("from trajectories._numba import kernels_cached\n"
            "from trajectories.solvers.montecarlo.kernels import run_banded\n"
            "print(kernels_cached(run_banded))\n")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
