"""The large-deviation study (``analysis.large_deviations``): its quick mode runs end to end
and writes a self-consistent data file; the committed data holds what the page states."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis import large_deviations as ld
from analysis import large_deviations_report as ldr
from analysis.common import to_plain

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "large_deviations" / "results.json"


def _consistent(d: dict) -> None:
    """Properties every run's data must have, whatever its size."""
    for cr in d["classic"]["crossovers"]:
        k = np.array([np.nan if v is None else v for v in cr["k"]], dtype=float)
        ok = np.isfinite(k)
        assert np.all(np.diff(k[ok]) <= 1e-6), cr["nex"]  # theta convex: k non-increasing
        assert cr["check_dev"] < d["meta"]["theta_tol"], cr["nex"]
    for sc in d["classic"]["scans"]:
        for r in ldr._rows(sc):
            assert r["top_weight"] < 1e-15
            if r["resolved"]:
                assert abs(r["rate_dev"]) < d["meta"]["rate_tol"]
                assert r["variance_rate"] > 0
    for b in d["batteries"]:
        x = np.array(b["x"], dtype=float)
        rate = np.array(b["rate"], dtype=float)
        assert np.all(np.diff(x) < 0)  # x(s) decreasing
        assert rate.min() > -1e-9  # I >= 0
        assert b["check_dev"] < d["meta"]["theta_tol"]
        rates = [p["rate"] for p in b["points"]]
        assert all(r > 0 for r in rates) and rates == sorted(rates, reverse=True)
        for p in b["points"]:
            assert abs(p["rate"] - (-p["s"] * p["x"] - p["theta"])) < 1e-9  # 10 digits kept
        for c in b["cloning"]:
            assert abs(c["scgf"] - c["exact_theta"]) < 5 * c["stderr"], c
        for f in {r["f"] for r in b["exact"]}:
            rows = sorted((r for r in b["exact"] if r["f"] == f and r["reliable"]),
                          key=lambda r: r["k"])  # fmt: skip
            pt = next(p for p in b["points"] if p["f"] == f)
            excess = [-math.log(r["p"]) / r["k"] - pt["rate"] for r in rows]
            assert all(abs(a) > abs(b_) for a, b_ in zip(excess, excess[1:], strict=False)), excess
    for r in d["trajectories"]["rows"]:
        assert abs(r["z"]) < 5
    me = d["metastable"]
    assert me["check_dev"] < d["meta"]["theta_tol"]


@pytest.mark.slow
def test_quick_mode_writes_a_self_consistent_file_and_renders(tmp_path):
    d = json.loads(json.dumps(to_plain(ld.compute(quick=True, log=lambda *a: None))))
    assert d["meta"]["quick"]
    _consistent(d)
    ldr.figures(d, tmp_path)
    for name in ("distribution", "rates", "activity", "map", "batteries", "metastable"):
        assert (tmp_path / f"large_deviations_{name}.png").read_bytes()[:4] == b"\x89PNG"
    page = ldr.render(d)
    assert "## Assumptions" in page and "quick run" in page


# ----------------------------------------------------------------------- committed data
@pytest.fixture(scope="module")
def data():
    return json.loads(DATA.read_text())


def test_committed_data_is_self_consistent(data):
    assert not data["meta"]["quick"]
    _consistent(data)


def test_crossover_sharpens_with_n_ex(data):
    """The width of the activity crossover and its variance peak: monotone in N_ex."""
    crs = [c for c in data["classic"]["crossovers"] if c["resolved"] and c["width"]]
    widths = [c["width"] for c in crs]
    peaks = [c["variance_rate"] for c in crs]
    assert len(crs) >= 4
    assert widths == sorted(widths, reverse=True) and peaks == sorted(peaks)
    for c in crs:  # the telegraph term carries the variance rate at the crossover
        assert 0.5 < c["telegraph_variance"] / c["variance_rate"] < 2


def test_metastable_kink_sits_where_the_escape_rate_puts_it(data):
    me = data["metastable"]
    s = np.array(me["s"], dtype=float)
    on_a = np.array(me["on_a"], dtype=bool)
    assert me["default_refusal"] and "not separated" in me["default_refusal"]
    last_b = s[(s > 0) & ~on_a].max()
    first_a = s[(s > 0) & on_a].min()
    assert last_b < me["s_star"] < first_a
    assert abs(me["escape_a"] / me["metastability"]["rate_ab"] - 1) < 0.05
    assert np.all(on_a[s > first_a]) and not np.any(on_a[s < 0])


def test_metastability_copy_is_current(data):
    tb = json.loads((ROOT / "data" / "metastability" / "results.json").read_text())
    tb = tb["results"]["two_basins"]
    assert data["metastable"]["metastability"]["rate_ab"] == to_plain(tb["A"]["rate"])


def test_every_paper_case_is_reported(data):
    from analysis.paper import CURVES

    keys = [p["key"] for p in data["probes"]] + [b["key"] for b in data["batteries"]]
    assert sorted(keys) == sorted(CURVES)
