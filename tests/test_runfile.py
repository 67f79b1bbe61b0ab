"""Run files (trajectories.runs.runfile) and the paper's presets (trajectories.runs.presets)."""

import dataclasses
import inspect
import io
import json
import math
import re
import tokenize
from pathlib import Path

import pytest

import trajectories as tj
from trajectories.runs import runfile
from trajectories.runs.presets import PRESETS, describe_presets, preset_points
from trajectories.runs.runfile import (
    OutputSettings,
    RunFileError,
    RunPoint,
    RunSettings,
    apply_overrides,
    load_run_file,
    parse_expression,
    parse_run_dict,
)

THETA_15 = math.pi / math.sqrt(15)


# --------------------------------------------------------------------------- expressions
@pytest.mark.parametrize(
    "text, value",
    [
        ("1", 1.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e-3", 1e-3),
        ("1.5E2", 150.0),
        ("2e+1", 20.0),
        ("pi", math.pi),
        ("sqrt(16)", 4.0),
        ("pi/sqrt(15)", THETA_15),
        ("pi / sqrt( 15.6 )", math.pi / math.sqrt(15.6)),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("8 / 4 / 2", 1.0),
        ("10 - 4 - 3", 3.0),
        ("-3 * -2", 6.0),
        ("--2", 2.0),
        ("-(1 + 2)", -3.0),
        ("+5", 5.0),
        ("-2 * 3 + 1", -5.0),
        ("2 - -1", 3.0),
        ("sqrt(sqrt(16)) * 2", 4.0),
        ("  1 +\t2 ", 3.0),
        ("1/3", 1.0 / 3.0),
    ],
)
def test_expression_values(text, value):
    assert parse_expression(text) == pytest.approx(value, rel=1e-15, abs=0)


def test_expression_theta_is_fine_tuned_theta():
    assert parse_expression("pi/sqrt(15)") == tj.fine_tuned_theta(15)


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1 +", "end of expression"),
        ("(1 + 2", "expected ')'"),
        ("1 + 2)", "unexpected ')'"),
        ("2pi", "unexpected 'pi'"),
        ("foo", "unknown name 'foo'"),
        ("e", "unknown name 'e'"),
        ("exp(1)", "unknown name 'exp'"),
        ("1e", "unexpected 'e'"),
        ("1/0", "division by zero"),
        ("1 / (2 - 2)", "division by zero"),
        ("sqrt(-1)", "sqrt of a negative"),
        ("sqrt 4", "expected '('"),
        ("1,5", "unexpected character ','"),
        ("2**3", "unexpected '*'"),
        ("1e999", "not finite"),
        ("1e308 * 10", "not finite"),
        ("(" * 200 + "1" + ")" * 200, "nested"),
        ("-" * 200 + "1", "nested"),
    ],
)
def test_expression_errors(text, why):
    with pytest.raises(RunFileError) as info:
        parse_expression(text)
    message = str(info.value)
    assert why in message
    assert "cannot evaluate expression" in message
    assert repr(text[:20]).rstrip("'") in message  # the expression is named
    assert "\n" not in message


def test_expression_rejects_non_string():
    with pytest.raises(RunFileError, match="must be a string"):
        parse_expression(1.5)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch pwned')",
        "__import__('sys').exit(3)",
        "().__class__",
        "open('pwned', 'w')",
        "[x for x in ()]",
        "lambda: 1",
        "pi.__class__",
        "sqrt.__globals__",
    ],
)
def test_expression_never_runs_code(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunFileError, match="cannot evaluate expression"):
        parse_expression(text)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", ["runfile", "expressions", "points", "schema", "settings"])
def test_runfile_source_has_no_code_execution(module):
    source = (Path(runfile.__file__).parent / f"{module}.py").read_text()
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    forbidden = {"eval", "exec", "compile", "literal_eval", "__import__", "ast", "getattr"}
    for prev, tok in zip(tokens, tokens[1:], strict=False):
        if tok.type == tokenize.NAME and tok.string in forbidden:
            # only re.compile (a regular expression, not code) is allowed
            assert (prev.string, tok.string) == (".", "compile"), tok
            assert tokens[tokens.index(prev) - 1].string == "re", tok


# --------------------------------------------------------------------------- TOML files
FULL_FILE = """
[model]
theta = "pi/sqrt(15)"
q = 0.25
c = { abs = 0.6, phase = 0.9 }
gamma_tr = [0.001, 0.1]
nbar = "0.15"
cutoff = 60

[run]
trajectories = 10000
collisions = 2000
seed = 7
chunk_size = 250
checkpoints = { every = 30 }
rho_checkpoints = [0, 2000]
jobs = -1
backend = "threading"
max_jumps = 5
leakage_tol = "1e-9"
exact = false
sweep = "product"

[output]
folder = "out"
name = "fig5"
plots = ["png", "pdf"]
"""


def write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_full_file_round_trip(tmp_path):
    points = load_run_file(write(tmp_path, FULL_FILE))
    assert [p.name for p in points] == ["fig5_gamma_tr-0.001", "fig5_gamma_tr-0.1"]
    assert [p.sweep_values for p in points] == [{"gamma_tr": 0.001}, {"gamma_tr": 0.1}]
    c = 0.6 * complex(math.cos(0.9), math.sin(0.9))
    for p, gamma in zip(points, (0.001, 0.1), strict=True):
        assert p.model == tj.Micromaser(
            theta=THETA_15, q=0.25, c=c, gamma_tr=gamma, nbar=0.15, cutoff=60
        )
    run = points[0].run
    expected_ks = (*range(0, 1981, 30), 2000)
    assert run == RunSettings(
        trajectories=10000,
        collisions=2000,
        seed=7,
        chunk_size=250,
        checkpoints=expected_ks,
        rho_checkpoints=(0, 2000),
        jobs=-1,
        backend="threading",
        max_jumps=5,
        leakage_tol=1e-9,
        exact=False,
    )
    assert points[0].output == OutputSettings(folder="out", name="fig5", plots=("png", "pdf"))
    assert points[1].stem == Path("out") / "fig5_gamma_tr-0.1"

    d = points[0].to_dict()
    again = json.loads(json.dumps(d))
    assert again == d
    assert d["model"]["c"] == pytest.approx({"re": c.real, "im": c.imag})
    assert d["run"]["checkpoints"] == list(expected_ks)
    assert d["output"]["plots"] == ["png", "pdf"]
    assert d["name"] == "fig5_gamma_tr-0.001"
    # to_dict's sections are themselves a valid run description giving the same point
    rebuilt = parse_run_dict({k: d[k] for k in ("model", "run", "output")})
    assert len(rebuilt) == 1
    assert rebuilt[0].model == points[0].model
    assert rebuilt[0].run == points[0].run
    assert rebuilt[0].output == points[0].output


def test_empty_file_gives_defaults(tmp_path):
    (point,) = load_run_file(write(tmp_path, ""))
    assert point.model == tj.Micromaser(**runfile.DEFAULT_MODEL)
    assert point.model == tj.Micromaser(
        theta=THETA_15, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=60
    )
    assert point.name == "run" and point.sweep_values == {}
    assert point.output == OutputSettings()
    defaults = RunSettings()
    assert point.run == dataclasses.replace(defaults, checkpoints=tuple(range(0, 2001, 20)))
    assert len(point.run.checkpoints) == 101


def test_missing_model_keys_take_defaults():
    (point,) = parse_run_dict({"model": {"q": 0.5}, "run": {"collisions": 50}})
    assert point.model == tj.Micromaser(**{**runfile.DEFAULT_MODEL, "q": 0.5})
    assert point.run.checkpoints == tuple(range(51))  # every collision when <= 100


def test_toml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "[model]\nq = 0.25\ntheta = = 3\n")
    with pytest.raises(RunFileError, match=r"invalid TOML.*line 3") as info:
        load_run_file(path)
    assert str(info.value).startswith(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(RunFileError, match="cannot read run file"):
        load_run_file(tmp_path / "nope.toml")


def test_file_errors_name_the_file(tmp_path):
    path = write(tmp_path, "[run]\ntrajectores = 5\n")
    with pytest.raises(RunFileError) as info:
        load_run_file(path)
    assert str(info.value) == (
        f"{path}: unknown key run.trajectores; did you mean run.trajectories?"
    )
    assert info.value.key == "run.trajectores"


# --------------------------------------------------------------------------- sweeps
def test_sweep_product_count_order_and_names():
    points = parse_run_dict(
        {
            "model": {"theta": ["pi/sqrt(15)", "pi/sqrt(15.6)"], "q": [0.25, 0.0, 0.5]},
            "run": {"seed": [1, 2]},
            "output": {"name": "grid"},
        }
    )
    assert len(points) == 12
    names = [p.name for p in points]
    assert len(set(names)) == 12
    assert names[0] == "grid_theta-0.811156_q-0.25_seed-1"
    assert names[1] == "grid_theta-0.811156_q-0.25_seed-2"
    assert names[-1] == "grid_theta-0.795404_q-0.5_seed-2"
    assert points[-1].sweep_values == {"theta": math.pi / math.sqrt(15.6), "q": 0.5, "seed": 2}
    assert points[-1].model.theta == math.pi / math.sqrt(15.6)
    assert points[-1].run.seed == 2


def test_sweep_zip():
    points = parse_run_dict(
        {
            "model": {"q": [0.1, 0.2, 0.3], "gamma_tr": [0.0, 0.01, 0.1]},
            "run": {"sweep": "zip", "trajectories": [10, 20, 30]},
            "output": {"name": "z"},
        }
    )
    assert [(p.model.q, p.model.gamma_tr, p.run.trajectories) for p in points] == [
        (0.1, 0.0, 10),
        (0.2, 0.01, 20),
        (0.3, 0.1, 30),
    ]
    assert points[1].name == "z_q-0.2_gamma_tr-0.01_trajectories-20"


def test_sweep_zip_length_mismatch():
    data = {"model": {"q": [0.1, 0.2], "nbar": [0.0, 0.1, 0.2]}, "run": {"sweep": "zip"}}
    with pytest.raises(RunFileError) as info:
        parse_run_dict(data)
    assert str(info.value) == (
        "run.sweep = 'zip' needs sweep lists of equal length, but model.q has 2 values, "
        "model.nbar has 3 values"
    )
    data["run"]["sweep"] = "product"
    assert len(parse_run_dict(data)) == 6


def test_sweep_single_value_list_and_close_values():
    (point,) = parse_run_dict({"model": {"nbar": [0.15]}, "output": {"name": "x"}})
    assert point.name == "x_nbar-0.15" and point.sweep_values == {"nbar": 0.15}
    points = parse_run_dict({"model": {"theta": [0.12345671, 0.12345672]}})
    assert [p.name for p in points] == ["run_theta-0.12345671", "run_theta-0.12345672"]


def test_sweep_complex_c_and_bool():
    points = parse_run_dict(
        {
            "model": {"c": [0.0, {"re": 0.3, "im": -0.4}, {"abs": 1, "phase": "pi/2"}]},
            "run": {"exact": [True, False]},
        }
    )
    assert len(points) == 6
    assert points[2].model.c == complex(0.3, -0.4)
    assert points[2].name == "run_c-0.3-0.4j_exact-true"
    assert points[4].model.c == pytest.approx(1j)
    assert json.loads(json.dumps(points[2].to_dict()))["sweep_values"] == {
        "c": {"re": 0.3, "im": -0.4},
        "exact": True,
    }


def test_lists_that_are_values_are_not_sweeps():
    (point,) = parse_run_dict(
        {
            "run": {"collisions": 10, "checkpoints": [0, 5, 10], "rho_checkpoints": [10]},
            "output": {"plots": ["pdf", "png"]},
        }
    )
    assert point.sweep_values == {} and point.name == "run"
    assert point.run.checkpoints == (0, 5, 10) and point.run.rho_checkpoints == (10,)
    assert point.output.plots == ("pdf", "png")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"model": {"theta": []}}, "model.theta is an empty list"),
        ({"model": {"q": [0.1, 0.1]}}, r"model.q = \[0.1, 0.1\] repeats a value"),
        (
            {"model": {"theta": ["pi/sqrt(15)", THETA_15]}},
            "model.theta = .* repeats a value",
        ),
        ({"model": {"q": [[0.1]]}}, r"model.q\[0\] is a list"),
        (
            {"model": {"q": [0.1, 0.1]}, "run": {"seed": [1, 1], "sweep": "zip"}},
            "points 0 and 1 are identical",
        ),
        ({"output": {"folder": ["a", "b"]}}, "output.folder cannot be a list"),
        ({"run": {"sweep": "cartesian"}}, "run.sweep must be one of 'product', 'zip'"),
        ({"run": {"sweep": ["zip"]}}, "run.sweep must be one of"),
    ],
)
def test_bad_sweeps(data, message):
    with pytest.raises(RunFileError, match=message):
        parse_run_dict(data)


# --------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize(
    "spec, collisions, expected",
    [
        ({"every": 7}, 20, (0, 7, 14, 20)),
        ({"every": 5}, 20, (0, 5, 10, 15, 20)),
        ({"every": 50}, 20, (0, 20)),
        ({"count": 5}, 10, (0, 2, 5, 8, 10)),
        ({"count": 101}, 50, tuple(range(51))),
        ({"count": 3}, 2000, (0, 1000, 2000)),
        ([0, 3, 20], 20, (0, 3, 20)),
        ([4], 20, (4,)),
    ],
)
def test_checkpoints(spec, collisions, expected):
    (point,) = parse_run_dict({"run": {"collisions": collisions, "checkpoints": spec}})
    assert point.run.checkpoints == expected


def test_default_checkpoints():
    assert runfile.default_checkpoints(2000) == tuple(range(0, 2001, 20))
    assert runfile.default_checkpoints(100) == tuple(range(101))
    ks = runfile.default_checkpoints(150)
    assert len(ks) == 101 and ks[0] == 0 and ks[-1] == 150


@pytest.mark.parametrize(
    "run, message",
    [
        ({"checkpoints": [0, 5, 3]}, r"run.checkpoints must be strictly increasing, but "),
        ({"checkpoints": [0, 5, 5]}, "strictly increasing"),
        ({"checkpoints": [0, 3000]}, r"run.checkpoints\[1\] = 3000 is outside \[0, run.coll"),
        ({"checkpoints": [-1, 5]}, r"run.checkpoints\[0\] = -1 is outside"),
        ({"checkpoints": [0, 2.5]}, r"run.checkpoints\[1\] must be an integer, got 2.5"),
        ({"checkpoints": []}, "run.checkpoints must be .* got an empty list"),
        ({"checkpoints": "all"}, "run.checkpoints must be .*got 'all' \\(str\\)"),
        ({"checkpoints": {"every": 0}}, "run.checkpoints.every must be an integer >= 1, got 0"),
        ({"checkpoints": {"count": 1}}, "run.checkpoints.count must be an integer >= 2"),
        ({"checkpoints": {"every": 2, "count": 3}}, "exactly one of 'every' or 'count'"),
        ({"checkpoints": {"evry": 2}}, "unknown key run.checkpoints.evry; did you mean .*every"),
        ({"rho_checkpoints": [0, 7]}, r"includes \[7\], which are not among run.checkpoints"),
        ({"rho_checkpoints": "some"}, "run.rho_checkpoints must be one of 'all', 'last', 'none'"),
        ({"rho_checkpoints": 3}, "run.rho_checkpoints must be"),
    ],
)
def test_bad_checkpoints(run, message):
    with pytest.raises(RunFileError, match=message):
        parse_run_dict({"run": {"collisions": 2000, **run}})


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "data, message",
    [
        # unknown keys and sections, with suggestions
        (
            {"run": {"trajectores": 5}},
            "unknown key run.trajectores; did you mean run.trajectories?",
        ),
        ({"model": {"thta": 1}}, "unknown key model.thta; did you mean model.theta?"),
        ({"output": {"plot": ["png"]}}, "unknown key output.plot; did you mean output.plots?"),
        ({"modle": {}}, "unknown section [modle]; did you mean model?"),
        ({"trajectories": 5}, "unknown section [trajectories]; did you mean run.trajectories"),
        ({"model": {"c": {"abs": 0.5, "phaze": 1}}}, "unknown key model.c.phaze; did you mean"),
        # wrong types
        ({"model": 3}, "[model] must be a table, got 3 (int)"),
        ({"run": {"trajectories": "100"}}, "run.trajectories must be an integer >= 1, got '100'"),
        ({"run": {"trajectories": 1e4}}, "run.trajectories must be an integer >= 1, got 10000.0"),
        ({"run": {"collisions": True}}, "run.collisions must be an integer >= 1, got True (bool)"),
        ({"model": {"q": True}}, "model.q must be a real number or an expression string"),
        ({"model": {"nbar": {"x": 1}}}, "model.nbar must be a real number or an expression"),
        ({"model": {"cutoff": "60"}}, "model.cutoff must be an integer >= 2, got '60' (str)"),
        ({"model": {"cutoff": 60.0}}, "model.cutoff must be an integer >= 2, got 60.0"),
        ({"model": {"c": "0.6*exp(0.9j)"}}, "model.c: cannot evaluate expression"),
        ({"model": {"c": {"abs": 0.5, "re": 0.1}}}, "model.c must be a real number or a table"),
        ({"model": {"c": {}}}, "model.c must be a real number or a table"),
        ({"model": {"c": {"abs": -0.5}}}, "model.c.abs must be >= 0"),
        ({"run": {"exact": "yes"}}, "run.exact must be true or false, got 'yes' (str)"),
        ({"run": {"seed": -1}}, "run.seed must be an integer >= 0, got -1"),
        ({"run": {"seed": 1.5}}, "run.seed must be an integer >= 0"),
        ({"run": {"jobs": 0}}, "run.jobs must be a non-zero integer"),
        ({"run": {"jobs": 2.0}}, "run.jobs must be a non-zero integer"),
        ({"run": {"backend": "lokky"}}, "run.backend must be a joblib backend .*did you mean loky"),
        ({"run": {"leakage_tol": -1e-3}}, "run.leakage_tol must be >= 0"),
        ({"run": {"leakage_tol": "x"}}, "run.leakage_tol: cannot evaluate expression 'x'"),
        ({"output": {"plots": ["png", "svg"]}}, r"output.plots\[1\] must be one of"),
        ({"output": {"plots": "png"}}, "output.plots must be a list"),
        ({"output": {"plots": ["png", "png"]}}, "lists a format twice"),
        ({"output": {"name": "a/b"}}, "output.name must be a file stem"),
        ({"output": {"name": ""}}, "output.name must be a non-empty string"),
        ({"output": {"folder": 3}}, "output.folder must be a non-empty string"),
        # out of range
        ({"run": {"trajectories": 0}}, "run.trajectories must be an integer >= 1, got 0"),
        ({"run": {"chunk_size": 0}}, "run.chunk_size must be an integer >= 1, got 0"),
        ({"run": {"max_jumps": -1}}, "run.max_jumps must be an integer >= 0, got -1"),
        # model errors, prefixed model.
        ({"model": {"q": 1.5}}, "model.q must be in [0, 1], got 1.5"),
        ({"model": {"q": "-1/4"}}, "model.q must be in [0, 1], got -0.25"),
        ({"model": {"cutoff": 1}}, "model.cutoff must be an integer >= 2, got 1"),
        ({"model": {"theta": -0.1}}, "model.theta must be >= 0, got -0.1"),
        ({"model": {"gamma_tr": [0.1, -0.1]}}, "model.gamma_tr must be >= 0, got -0.1"),
        ({"model": {"nbar": float("nan")}}, "model.nbar must be a finite real number"),
        ({"model": {"c": {"abs": 1.5, "phase": 1}}}, "model.c must satisfy abs(c) <= 1"),
        ({"model": {"c": 2}}, "model.c must satisfy abs(c) <= 1"),
    ],
)
def test_bad_input_messages(data, message):
    with pytest.raises(RunFileError) as info:
        parse_run_dict(data)
    text = str(info.value)
    assert message in text or re.search(message, text), text
    assert "\n" not in text
    assert isinstance(info.value, ValueError)


def test_error_key_attribute():
    with pytest.raises(RunFileError) as info:
        parse_run_dict({"model": {"q": 2}})
    assert info.value.key == "model.q"
    with pytest.raises(RunFileError) as info:
        parse_run_dict({"run": {"trajectories": 0}})
    assert info.value.key == "run.trajectories"


def test_input_is_not_mutated():
    data = {"model": {"q": [0.1, 0.2]}, "run": {"sweep": "zip", "checkpoints": {"every": 5}}}
    before = json.dumps(data, sort_keys=True)
    parse_run_dict(data)
    assert json.dumps(data, sort_keys=True) == before


def test_leakage_tol_inf_allowed():
    (point,) = parse_run_dict({"run": {"leakage_tol": float("inf")}})
    assert point.run.leakage_tol == math.inf


# --------------------------------------------------------------------------- presets
def test_presets_all_parse():
    expected_counts = {
        "default": 1,
        "fig1": 4,
        "fig2": 2,
        "fig3": 2,
        "fig4": 2,
        "fig5": 4,
        "fig6": 4,
        "fig7": 4,
        "ultrastrong": 3,
        "protocol": 1,
    }
    assert set(PRESETS) == set(expected_counts)
    for name, count in expected_counts.items():
        points = preset_points(name)
        assert len(points) == count, name
        assert len({p.name for p in points}) == count
        if name == "protocol":  # 300 + 50 + 200 collisions (tests/test_protocol_runfiles.py)
            continue
        for p in points:
            assert isinstance(p.model, tj.Micromaser)
            assert p.name.startswith(name)
            assert p.run.collisions == 2000 and p.run.exact
            assert p.run.checkpoints[-1] == 2000
            if name != "default":
                assert p.run.trajectories == 2000


def test_default_preset():
    (point,) = preset_points("default")
    assert point.name == "default"
    assert point.model == tj.Micromaser(
        theta=THETA_15, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=60
    )
    assert point.run.trajectories == 4000
    assert point.run.checkpoints == tuple(range(0, 2001, 20))


def test_figure_presets_match_spec():
    thetas = {THETA_15, math.pi / math.sqrt(15.6)}
    fig1 = preset_points("fig1")
    assert {(p.model.theta, p.model.q) for p in fig1} == {(t, q) for t in thetas for q in (0.25, 0)}
    assert all(p.model.c == 0 and p.model.gamma_tr == 0 and p.model.cutoff == 300 for p in fig1)
    fig2 = preset_points("fig2")
    assert {p.model.q for p in fig2} == {0.25, 0.0}
    assert all(p.model.theta == THETA_15 and p.model.cutoff == 60 for p in fig2)
    for name in ("fig3", "fig4"):
        pts = preset_points(name)
        assert {p.model.theta for p in pts} == thetas
        assert all(p.model.c == 1 and p.model.q == 0.25 and p.model.gamma_tr == 0 for p in pts)
        assert all(p.model.cutoff == 100 for p in pts)
    for name in ("fig5", "fig6", "fig7"):
        pts = preset_points(name)
        assert {(p.model.theta, p.model.gamma_tr) for p in pts} == {
            (t, g) for t in thetas for g in (0.1, 0.001)
        }
        assert all(p.model.c == 1 and p.model.nbar == 0.15 and p.model.cutoff == 100 for p in pts)


def test_preset_errors_and_description():
    with pytest.raises(RunFileError, match="unknown preset 'fig8'; available presets: default"):
        preset_points("fig8")
    text = describe_presets()
    lines = text.splitlines()
    assert len(lines) == len(PRESETS)
    for line, name in zip(lines, PRESETS, strict=True):
        assert line.split()[0] == name
    before = json.dumps(PRESETS, sort_keys=True)
    preset_points("fig5")
    assert json.dumps(PRESETS, sort_keys=True) == before


# --------------------------------------------------------------------------- overrides
def test_overrides_apply_and_revalidate():
    points = preset_points("fig5")
    new = apply_overrides(
        points, trajectories=100, collisions=100, jobs=2, seed=3, backend="threading", folder="f"
    )
    assert [p.name for p in new] == [p.name for p in points]
    for old, p in zip(points, new, strict=True):
        assert p.model == old.model and p.sweep_values == old.sweep_values
        assert p.run.trajectories == 100 and p.run.collisions == 100
        assert p.run.jobs == 2 and p.run.seed == 3 and p.run.backend == "threading"
        assert p.run.checkpoints == (0, 20, 40, 60, 80, 100)  # {every = 20} follows
        assert p.output.folder == "f" and p.output.name == old.output.name
    assert points[0].run.trajectories == 2000  # originals untouched
    assert apply_overrides(points) == points


def test_overrides_default_checkpoints_follow_collisions():
    (point,) = apply_overrides(parse_run_dict({}), collisions=30)
    assert point.run.checkpoints == tuple(range(31))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"trajectories": 0}, "command line: run.trajectories must be an integer >= 1, got 0"),
        ({"collisions": 1000}, r"run.checkpoints\[2\] = 2000 is outside"),
        ({"jobs": 0}, "run.jobs must be a non-zero integer"),
        ({"seed": -2}, "run.seed must be an integer >= 0"),
        ({"backend": "lokky"}, "did you mean loky"),
        ({"folder": ""}, "output.folder must be a non-empty string"),
        ({"trajectories": "10"}, "run.trajectories must be an integer"),
    ],
)
def test_overrides_validated(kwargs, message):
    points = parse_run_dict({"run": {"checkpoints": [0, 500, 2000]}})
    with pytest.raises(RunFileError, match=message):
        apply_overrides(points, **kwargs)


def test_override_of_sweep_axis_is_an_error():
    points = parse_run_dict({"run": {"seed": [1, 2]}})
    with pytest.raises(RunFileError, match="cannot override run.seed = 5: it is a sweep axis"):
        apply_overrides(points, seed=5)
    assert len(apply_overrides(points, trajectories=10)) == 2


def test_overrides_on_hand_built_point():
    model = tj.Micromaser(theta=1.0, q=0.5, c=0.5j)
    run = RunSettings(collisions=200, checkpoints=runfile.default_checkpoints(200))
    point = RunPoint("hand", model, run, OutputSettings(), {})
    (new,) = apply_overrides([point], collisions=50, trajectories=7)
    assert new.model == model and new.name == "hand"
    assert new.run.collisions == 50 and new.run.trajectories == 7
    assert new.run.checkpoints == tuple(range(51))


def test_simulate_kwargs_match_simulate_signature():
    (point,) = preset_points("default")
    kwargs = point.run.simulate_kwargs()
    inspect.signature(tj.simulate).bind(point.model, **kwargs)
    assert kwargs["n_trajectories"] == 4000 and kwargs["checkpoints"][-1] == 2000
