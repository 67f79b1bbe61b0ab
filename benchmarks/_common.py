"""Shared pieces of the benchmark scripts: the benchmark model and a description of the machine."""

from __future__ import annotations

import os
import platform

import trajectories as tj


def fig5(cutoff: int) -> tj.Micromaser:
    """The paper's Fig. 5 case: c = 1, theta = pi/sqrt(15), q = 0.25, gamma t_r = 0.1, nbar 0.15."""
    return tj.Micromaser(
        theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=cutoff
    )


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo reports it (or what platform knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to show whether the machine was idle."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"
