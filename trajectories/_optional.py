"""Optional dependencies, imported on first use, and attributes that netCDF files can hold.

The solvers need neither xarray nor pandas: the conversions of results to labelled data
(``to_xarray``, ``to_dataframe``, :func:`trajectories.load_sweep`) import them when called,
through :func:`require`, which names the package's extra that installs them when they are
missing. :func:`netcdf_attrs` turns metadata into attribute values that HDF5, netCDF and
xarray all store unchanged.
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["EXTRAS", "DISTRIBUTION", "require", "netcdf_attrs"]

#: The package's name on PyPI (what ``pip install`` takes).
DISTRIBUTION = "micromaser-trajectories"

#: The optional extra of ``pyproject.toml`` that installs each optional module.
EXTRAS = {"xarray": "xarray", "pandas": "xarray", "h5netcdf": "xarray"}


def require(module: str, purpose: str | None = None) -> Any:
    """Import an optional module, or fail with a message naming the extra that installs it.

    Parameters
    ----------
    module : str
        The module's name, e.g. ``"xarray"``; its extra is looked up in :data:`EXTRAS`.
    purpose : str, optional
        What needs it, for the message (default: ``"this conversion"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ImportError
        When the module is not installed (or is blocked, ``sys.modules[module] = None``):
        ``"<purpose> needs xarray: pip install 'micromaser-trajectories[xarray]'"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module.split(".")[0], module)
        raise ImportError(
            f"{purpose or 'this conversion'} needs {module}: pip install '{DISTRIBUTION}[{extra}]'"
        ) from None


def netcdf_attrs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as attribute values that HDF5, netCDF-4 and xarray store unchanged.

    Parameters
    ----------
    values : mapping of str to scalar or sequence
        Flat metadata: numbers, strings, booleans, ``None``, lists of real numbers (a
        discrete theta spread's ``theta_spread_values``).

    Returns
    -------
    dict of str
        The same keys: booleans as ``0``/``1`` (netCDF has no boolean attributes),
        integers outside int64 (e.g. a 128-bit seed) as decimal strings, complex numbers as
        their string, ``None`` as ``"none"``, a non-empty list or array of real numbers as
        a 1-D float64 array (netCDF's array attribute); numbers and strings unchanged.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if _real_sequence(value):
            value = np.asarray(value, dtype=np.float64).ravel()
        elif value is None:
            value = "none"
        elif isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif isinstance(value, numbers.Integral):
            value = int(value) if -(2**63) <= int(value) < 2**63 else str(int(value))
        elif isinstance(value, complex):
            value = str(value)
        elif isinstance(value, numbers.Real):
            value = float(value)
        elif not isinstance(value, str):
            value = str(value)
        out[str(key)] = value
    return out


def _real_sequence(value: Any) -> bool:
    """A non-empty list, tuple or 1-D array of real numbers (not booleans)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.size > 0 and value.dtype.kind in "iuf"
    if not isinstance(value, (list, tuple)) or not value:
        return False
    return all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in value)
