"""Pieces the generated studies share: plain data for their JSON files, number formats, the
machine in their headers."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["to_plain", "fmt", "machine"]


def to_plain(x: Any) -> Any:
    """JSON-ready copy: arrays to lists, floats to 10 significant digits, non-finite to text.

    Ten digits keep the data files small (the pages show at most six) and make a file
    rewritten from itself identical.
    """
    if isinstance(x, dict):
        return {str(k): to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return float(f"{v:.10g}")
    return x


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a page: ``digits`` significant digits, exponent outside [1e-3, 1e5).

    ``None`` gives ``"-"``; text (``"inf"``) is returned as it is.
    """
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    x = float(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def machine() -> str:
    """CPU model and core count, for a page's header."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return platform.processor() or platform.machine()
