"""The paper's numerical cases (Figures 1-7, ``docs/MODEL.md`` Sec. 8) as named run files.

Each entry of :data:`PRESETS` is a run-file dictionary with the same structure as a
TOML run file (``model``, ``run``, ``output`` tables), so a preset can be written
out as a file, edited and run again. :func:`preset_points` validates a preset and
expands its sweep into :class:`~trajectories.runs.settings.RunPoint` objects;
:func:`describe_presets` lists them for ``--help``-style output.

Trajectory counts are modest (4000 for ``default``, 2000 for the figures); the command
line overrides them. Figures that only need energy or photon statistics keep the
density matrix at the last checkpoint only (``rho_checkpoints = "last"``), which keeps
memory small at the larger cutoffs.
"""

from __future__ import annotations

import copy
from typing import Any

from .runfile import RunFileError, RunPoint, parse_run_dict

__all__ = ["PRESETS", "PRESET_DESCRIPTIONS", "preset_points", "describe_presets"]

_FINE = "pi/sqrt(15)"  # fine-tuned: the transition 14 -> 15 is blocked
_DETUNED = "pi/sqrt(15.6)"
_SEED = 7


def _figure(
    name: str,
    model: dict[str, Any],
    *,
    cutoff: int,
    rho_checkpoints: str = "all",
) -> dict[str, Any]:
    return {
        "model": {**model, "cutoff": cutoff},
        "run": {
            "trajectories": 2000,
            "collisions": 2000,
            "seed": _SEED,
            "checkpoints": {"every": 20},
            "rho_checkpoints": rho_checkpoints,
            "exact": True,
            "sweep": "product",
        },
        "output": {"folder": "runs", "name": name, "plots": ["png"]},
    }


_LOSSLESS_INCOHERENT = {"c": 0.0, "gamma_tr": 0.0, "nbar": 0.0}
_LOSSLESS_COHERENT = {"c": 1.0, "q": 0.25, "gamma_tr": 0.0, "nbar": 0.0}
_LOSSY_COHERENT = {
    "theta": [_FINE, _DETUNED],
    "q": 0.25,
    "c": 1.0,
    "gamma_tr": [0.1, 0.001],
    "nbar": 0.15,
}

#: Run-file dictionaries of the paper's cases, by name.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "model": {
            "theta": _FINE,
            "q": 0.25,
            "c": 1.0,
            "gamma_tr": 0.1,
            "nbar": 0.15,
            "cutoff": 60,
        },
        "run": {
            "trajectories": 4000,
            "collisions": 2000,
            "seed": _SEED,
            "checkpoints": {"every": 20},
            "rho_checkpoints": "all",
            "exact": True,
        },
        "output": {"folder": "runs", "name": "default", "plots": ["png"]},
    },
    "fig1": _figure(
        "fig1",
        {"theta": [_FINE, _DETUNED], "q": [0.25, 0.0], **_LOSSLESS_INCOHERENT},
        cutoff=300,
        rho_checkpoints="last",
    ),
    "fig2": _figure("fig2", {"theta": _FINE, "q": [0.25, 0.0], **_LOSSLESS_INCOHERENT}, cutoff=60),
    "fig3": _figure(
        "fig3",
        {"theta": [_FINE, _DETUNED], **_LOSSLESS_COHERENT},
        cutoff=100,
        rho_checkpoints="last",
    ),
    "fig4": _figure("fig4", {"theta": [_FINE, _DETUNED], **_LOSSLESS_COHERENT}, cutoff=100),
    "fig5": _figure("fig5", dict(_LOSSY_COHERENT), cutoff=100, rho_checkpoints="last"),
    "fig6": _figure("fig6", dict(_LOSSY_COHERENT), cutoff=100),
    "fig7": _figure("fig7", dict(_LOSSY_COHERENT), cutoff=100, rho_checkpoints="last"),
    # beyond the paper: the Fig. 5 battery with the full Rabi collision, kept at
    # the Jaynes-Cummings plateau by the suppressing frequency modulation
    "ultrastrong": _figure(
        "ultrastrong",
        {
            "theta": _FINE,
            "q": 0.25,
            "c": 1.0,
            "gamma_tr": 0.1,
            "nbar": 0.15,
            "collision": "rabi",
            "g_over_omega": [0.1, 0.3, 1.0],
            "eta": "suppress",
            "nu_over_omega": 40,
        },
        cutoff=60,
        rho_checkpoints="last",
    ),
    # beyond the paper: charge the Fig. 5 battery, store it (theta = 0: only the loss
    # acts), discharge it into ground-state qubits (q = 1, c = 0); docs/guide/protocols.md
    "protocol": {
        "model": {"theta": _FINE, "q": 0.25, "c": 1.0, "gamma_tr": 0.1, "nbar": 0.15,
                  "cutoff": 60},
        "stage": [
            {"name": "charge", "collisions": 300},
            {"name": "store", "collisions": 50, "theta": 0.0},
            {"name": "discharge", "collisions": 200, "q": 1.0, "c": 0.0, "theta": 0.64},
        ],
        "run": {
            "trajectories": 4000,
            "seed": _SEED,
            "checkpoints": {"every": 5},
            "rho_checkpoints": "all",
            # the trajectories as soon as the engine runs protocols; until then exact only
            "exact": True,
        },
        "output": {"folder": "runs", "name": "protocol", "plots": ["png"]},
    },
}  # fmt: skip

#: What each preset shows (``docs/MODEL.md`` Sec. 8), one line each.
PRESET_DESCRIPTIONS: dict[str, str] = {
    "default": "the README main job: Fig. 5 case, theta = pi/sqrt(15), gamma_tr = 0.1, "
    "nbar = 0.15, N = 60",
    "fig1": "energy vs k, c = 0, q in {0.25, 0}: fine-tuned saturates, detuned grows (N = 300)",
    "fig2": "purity vs k, c = 0, q in {0.25, 0}, fine-tuned: 1 for q = 0 (N = 60)",
    "fig3": "energy vs k, c = 1, q = 0.25, fine-tuned and detuned, no loss (N = 100)",
    "fig4": "purity vs k, c = 1, q = 0.25, fine-tuned and detuned: reaches 1 (N = 100)",
    "fig5": "energy vs k with loss, c = 1, gamma_tr in {0.1, 0.001}, nbar = 0.15 (N = 100)",
    "fig6": "purity with loss: about 0.85 at gamma_tr = 0.1, near 1 at 0.001 (N = 100)",
    "fig7": "Fano factor with loss: sub-Poissonian (< 1) (N = 100)",
    "ultrastrong": "Fig. 5 case with the Rabi collision, g/omega in {0.1, 0.3, 1}, modulation "
    "at J0(2 eta) = 0, nu = 40 omega: stays at the JC plateau (N = 60)",
    "protocol": "charge 300 (Fig. 5 case), store 50 (theta = 0), discharge 200 into "
    "ground-state qubits (q = 1, c = 0, theta = 0.64); energy books (N = 60)",
}


def preset_points(name: str) -> list[RunPoint]:
    """The validated run points of the preset ``name`` (see :data:`PRESETS`).

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS` (``"default"``, ``"fig1"`` .. ``"fig7"``,
        ``"ultrastrong"``).

    Returns
    -------
    list of RunPoint
        One validated point per sweep point of the preset.

    Raises
    ------
    RunFileError
        For an unknown name, listing the available presets.

    Examples
    --------
    >>> [p.name for p in preset_points("fig2")]
    ['fig2_q-0.25', 'fig2_q-0']
    """
    if not isinstance(name, str) or name not in PRESETS:
        raise RunFileError(
            f"unknown preset {name!r}; available presets: {', '.join(PRESETS)}", key="preset"
        )
    return parse_run_dict(copy.deepcopy(PRESETS[name]), source=f"preset {name}")


def describe_presets() -> str:
    """One line per preset: its name, number of run points and what it shows.

    Returns
    -------
    str
        The lines, joined by newlines, names aligned.

    Examples
    --------
    >>> print(describe_presets().splitlines()[2])
    fig2         2 points  purity vs k, c = 0, q in {0.25, 0}, fine-tuned: 1 for q = 0 (N = 60)
    """
    width = max(len(n) for n in PRESETS)
    lines = []
    for name in PRESETS:
        n = len(preset_points(name))
        points = f"{n} point{'s' if n != 1 else ''}"
        lines.append(f"{name:<{width}}  {points:<8}  {PRESET_DESCRIPTIONS[name]}")
    return "\n".join(lines)
