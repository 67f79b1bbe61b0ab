"""Time for theta(s) on 201 values of s, one core: incoherent and coherent qubits, N = 60 and 150.

``tj.counting.scgf(model, s, "g")`` on ``s = linspace(-1, 1, 201)`` (and ``rate_function``,
three eigenproblems per field), single-threaded BLAS, wall and process time, and the number
of matrix-vector products of the tilted channel ARPACK asked for. Incoherent qubits
(``c = 0``) act on the populations (N unknowns), coherent ones on the whole density matrix
(N^2 unknowns). Models: the paper's Fig. 5 parameters (``theta = pi/sqrt(15)``, ``q =
0.25``, ``gamma t_r = 0.1``, ``nbar = 0.15``), ``c = 1`` or ``c = 0``.

Run:  python benchmarks/bench_scgf.py [--cutoffs 60 150] [--rate-function]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from _common import cpu_name, load_average  # noqa: E402  (benchmarks/ is the script folder)
from scipy.sparse.linalg import LinearOperator

import trajectories as tj

_SCGF = sys.modules["trajectories.solvers.counting.scgf"]


class _Counted(LinearOperator):
    """The solver's operator, counting its products (wraps the module's LinearOperator)."""

    calls = 0

    def __init__(self, shape, matvec, dtype):
        super().__init__(dtype=dtype, shape=shape)
        self._f = matvec

    def _matvec(self, x):
        _Counted.calls += 1
        return self._f(x)


def _model(cutoff: int, coherent: bool) -> tj.Micromaser:
    return tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0 if coherent else 0.0,
                         gamma_tr=0.1, nbar=0.15, cutoff=cutoff)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cutoffs", type=int, nargs="+", default=[60, 150])
    ap.add_argument("--rate-function", action="store_true", help="also time rate_function")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    _SCGF.LinearOperator = _Counted
    s = np.linspace(-1.0, 1.0, 201)
    print(f"# scgf benchmark, trajectories {tj.__version__}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}; load {load_average()}; one core (single-threaded BLAS)\n"
    )
    print("| qubits | N | unknowns | call | wall (s) | process (s) | products | max ratio |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for coherent in (False, True):
        for n in args.cutoffs:
            model = _model(n, coherent)
            calls = [("scgf", lambda m=model: tj.counting.scgf(m, s, "g"))]
            if args.rate_function:
                calls.append(
                    ("rate_function", lambda m=model: tj.counting.rate_function(m, "g", s))
                )
            for name, fn in calls:
                _Counted.calls = 0
                w0, p0 = time.perf_counter(), time.process_time()
                out = fn()
                wall, proc = time.perf_counter() - w0, time.process_time() - p0
                ratio = getattr(out, "ratio", None)
                dim = n * n if coherent else n
                print(
                    f"| {'coherent' if coherent else 'incoherent'} | {n} | {dim} | {name} | "
                    f"{wall:.2f} | {proc:.2f} | {_Counted.calls} | "
                    f"{'' if ratio is None else f'{np.max(ratio):.6f}'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
