"""What every result file of this package shares: its header, datasets and dimension scales.

Used by :mod:`trajectories.runs.io` (one cavity, protocols) and
:mod:`trajectories.runs.network_io` (networks of two cavities), so that both write the same
header attributes and compress the same way: arrays of two or more dimensions and any of
:data:`COMPRESS_BYTES` or more are gzip-compressed (level :data:`GZIP_LEVEL`, with the byte
shuffle except for complex data) in chunks of whole rows of about :data:`CHUNK_BYTES`;
the dimensions are HDF5 dimension scales (the netCDF-4 convention).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import numpy as np

from .._version import __version__

__all__ = [
    "FORMAT",
    "PACKAGE",
    "COMPRESS_BYTES",
    "CHUNK_BYTES",
    "GZIP_LEVEL",
    "write_header",
    "dataset",
    "scale",
    "scalar",
]

#: The ``format`` attribute of every result file.
FORMAT = "micromaser-trajectories result"
#: The ``package`` attribute of every result file.
PACKAGE = "micromaser-trajectories"
#: Numeric datasets this large (bytes) or larger, and every one of two or more dimensions,
#: are gzip-compressed, in chunks of about :data:`CHUNK_BYTES`.
COMPRESS_BYTES = 16 * 1024
#: Bytes of one compressed chunk (about; whole rows of the first axis).
CHUNK_BYTES = 1 << 20
#: gzip level of compressed datasets.
GZIP_LEVEL = 4


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_header(f: Any, version: int, minor: int, metadata: dict[str, Any] | None) -> None:
    """Write the root attributes of a complete result file.

    Parameters
    ----------
    f : h5py.File
        The file, open for writing.
    version : int
        ``format_version``: a reader of a smaller one refuses the file.
    minor : int
        ``format_minor``: additions older readers ignore.
    metadata : dict of str or None
        JSON-serialisable metadata, stored as JSON in ``metadata``.

    Returns
    -------
    None
    """
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = version
    f.attrs["format_minor"] = minor
    f.attrs["package"] = PACKAGE
    f.attrs["version"] = __version__
    f.attrs["created"] = _now()
    f.attrs["status"] = "complete"
    f.attrs["metadata"] = json.dumps(metadata or {}, sort_keys=True)


def _chunks(data: np.ndarray) -> tuple[int, ...]:
    """Chunks of whole rows (first axis), about :data:`CHUNK_BYTES` each."""
    row = max(data.nbytes // data.shape[0], 1)
    return (max(1, min(data.shape[0], CHUNK_BYTES // row)), *data.shape[1:])


def dataset(group: Any, name: str, data: Any, description: str | None = None, dims=()) -> Any:
    """Write one dataset, compressed when large, with its description and dimension scales.

    Parameters
    ----------
    group : h5py.Group
        Where to write.
    name : str
        The dataset's name.
    data : array_like
        Its values.
    description : str, optional
        Stored as the attribute ``description`` (nothing when None or empty).
    dims : sequence of h5py.Dataset, optional
        The dimension scales of its axes, in order (fewer than its axes: the first ones).

    Returns
    -------
    h5py.Dataset
        The dataset written.
    """
    data = np.asarray(data)
    options: dict[str, Any] = {}
    big = data.ndim >= 2 or data.nbytes >= COMPRESS_BYTES
    if big and data.dtype.kind in "biufc" and 0 not in data.shape:
        # the byte shuffle helps integers and reals, not complex density matrices (measured)
        options = {"compression": "gzip", "compression_opts": GZIP_LEVEL,
                   "shuffle": not np.iscomplexobj(data), "chunks": _chunks(data)}  # fmt: skip
    ds = group.create_dataset(name, data=data, **options)
    if description:
        ds.attrs["description"] = description
    for axis, s in enumerate(dims):
        ds.dims[axis].attach_scale(s)
    return ds


def scale(group: Any, name: str, values: Any, description: str | None = None) -> Any:
    """A dimension (an HDF5 dimension scale, netCDF-4's convention) with its coordinates.

    Parameters
    ----------
    group : h5py.Group
        Where to write.
    name : str
        The dimension's name (also the dataset's).
    values : array_like, shape (n,)
        Its coordinates.
    description : str, optional
        Stored as the attribute ``description``.

    Returns
    -------
    h5py.Dataset
        The dimension scale.
    """
    ds = dataset(group, name, values, description)
    ds.make_scale(name)
    return ds


def scalar(v: Any) -> Any:
    """An HDF5 attribute as a plain Python value (bytes decoded, numpy scalars unwrapped).

    Parameters
    ----------
    v : object
        The attribute as h5py returns it.

    Returns
    -------
    object
        ``str`` for bytes, a Python number for a numpy scalar, else ``v``.
    """
    if isinstance(v, bytes):
        return v.decode()
    return v.item() if isinstance(v, np.generic) else v
