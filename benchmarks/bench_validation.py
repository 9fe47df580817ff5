"""What input validation costs: the baked-argument check per call, structural checks per pattern.

    python benchmarks/bench_validation.py [--repeat 21]

Prints two tables (medians over ``--repeat`` runs, all in this one process):

1. The per-call check of baked arguments (``ArgSpec.traced_values``: a value
   comparison against the private copy taken at preparation) for a small tuple
   of scalars, a 10**6-element int64 array, a 10**6-element bool mask and a
   scipy.sparse matrix with 10**5 stored entries, against one call of the
   prepared Jacobian of ``sparsead.examples.brusselator`` with N = 64
   (8192 unknowns).
2. Structural validation and canonicalisation of a pattern with about 10**6
   stored entries (``sparsead._validation.as_pattern``: index ranges, monotone
   indptr, dtypes, sortedness) against one ``sparsead.color`` call on it
   (column problem, natural order; the call includes that validation), for a
   canonical CSR, a CSR with unsorted rows, CSC and COO input.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import scipy.sparse as sp

import sparsead as sa
from sparsead._validation import ArgSpec, as_pattern
from sparsead.examples import brusselator, brusselator_x0


def _median(fn, repeat, number=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def argument_table(repeat):
    x0 = brusselator_x0(64)
    jac = sa.sparse_jacobian(lambda y: brusselator(y), x0)
    jac(x0)
    t_jac = _median(lambda: jac(x0), repeat, number=20)
    rng = np.random.default_rng(0)
    cases = {
        "tuple of 3 scalars": (2, 0.5, "upwind"),
        "int64 array, 10**6": (np.arange(10**6),),
        "bool mask, 10**6": (rng.random(10**6) < 0.5,),
        "sparse matrix, 10**5 nnz": (sp.random_array((10**4, 10**4), density=1e-3, rng=rng,
                                                     format="csr"),),
        "list of 100 floats": ([float(v) for v in range(100)],),
    }
    rows = []
    for name, args in cases.items():
        spec = ArgSpec(args)
        spec.traced_values(args)
        t = _median(lambda: spec.traced_values(args), repeat, number=20)
        rows.append((name, t, t / t_jac))
    print(f"baked-argument check per call vs one call of the prepared Brusselator Jacobian "
          f"(N=64, n={x0.size}, {jac.pattern.nnz} nnz): {t_jac * 1e6:.1f} us")
    print(f"{'arguments':28s} {'check us':>10s} {'/ jac call':>10s}")
    for name, t, r in rows:
        print(f"{name:28s} {t * 1e6:10.1f} {r:10.3f}")


def structure_table(repeat):
    n = 200_000
    rng = np.random.default_rng(1)
    A = sp.random_array((n, n), density=5 / n, rng=rng, format="csr")
    A = sp.csr_array(A + sp.eye_array(n))
    A.sort_indices()
    p = as_pattern(A)
    unsorted = A.copy()
    unsorted.has_sorted_indices = False
    perm = np.arange(unsorted.nnz)
    starts = unsorted.indptr[:-1]
    ends = unsorted.indptr[1:]
    long_rows = np.flatnonzero(ends - starts >= 2)
    perm[starts[long_rows]], perm[starts[long_rows] + 1] = (perm[starts[long_rows] + 1],
                                                            perm[starts[long_rows]])
    unsorted.indices = unsorted.indices[perm]
    forms = {"csr, canonical": A, "csr, unsorted rows": unsorted,
             "csc": sp.csc_array(A), "coo": sp.coo_array(A)}
    sa.color(p)
    t_color = _median(lambda: sa.color(p), max(3, repeat // 3))
    print(f"\nstructural validation + canonicalisation of a {n} x {n} pattern with {A.nnz} "
          f"stored entries vs one sa.color(pattern) call: {t_color * 1e3:.1f} ms")
    print(f"{'input':22s} {'as_pattern ms':>14s} {'/ color call':>12s}")
    for name, a in forms.items():
        t = _median(lambda: as_pattern(a), repeat)
        print(f"{name:22s} {t * 1e3:14.2f} {t / t_color:12.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    argument_table(args.repeat)
    structure_table(args.repeat)


if __name__ == "__main__":
    main()
