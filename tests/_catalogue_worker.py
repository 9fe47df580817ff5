"""Runs catalogue cases in this (disposable) process; see tests/test_catalogue.py.

Reads ``{"tmp": dir, "cases": [...]}`` as JSON on stdin and writes one JSON
line per case to stdout as soon as it is done (flushed), so that the parent
knows which case was running if this process dies or hangs. A case is either
library code (``code``: run with ``exec`` in a fresh copy of the preamble's
namespace) or a command line (``argv``: run through ``sparsead.cli.main`` in
this process, stderr captured). A code case that raises SystemExit is skipped
(e.g. an optional dependency is missing); ``"bare": true`` skips the preamble.
"""

import contextlib
import io
import json
import resource
import sys
import traceback

#: Address-space limit of the worker: a regression to a huge allocation ends in
#: MemoryError here instead of the system's out-of-memory killer.
MEMORY_LIMIT = 8 << 30

PREAMBLE = r'''
import os
import numpy as np
import scipy.sparse as sp
import sparsead as sa
from sparsead._io import read_matrix
from sparsead.coloring.colpack import read_reference

P = sa.patterns.banded(6, 1)            # a 6 x 6 tridiagonal pattern


def csr():
    """A fresh, valid 4 x 4 CSR matrix (upper bidiagonal, 7 entries) to break."""
    return sp.csr_array(np.eye(4) + np.eye(4, k=1))


def path(name):
    return os.path.join(TMP, name)


def write(name, text):
    with open(path(name), "w") as fh:
        fh.write(text)
    return path(name)


def npz(name, **arrays):
    """A scipy-style .npz written by hand, so that its internals can be anything."""
    np.savez(path(name), **arrays)
    return path(name)
'''


def _run_code(code, namespace):
    ns = dict(namespace)
    exec(compile(code, "<case>", "exec"), ns)


def _run_cli(argv, namespace):
    from sparsead.cli import main

    argv = [a.format(TMP=namespace["TMP"]) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:   # argparse
            code = exc.code
    return code, err.getvalue()


def main():
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    job = json.load(sys.stdin)
    namespace = {"TMP": job["tmp"], "__name__": "__case__"}
    if not job.get("bare"):
        exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    if job.get("setup"):
        exec(compile(job["setup"], "<setup>", "exec"), namespace)
    for case in job["cases"]:
        sys.stdout.write(json.dumps({"id": case["id"], "started": True}) + "\n")
        sys.stdout.flush()
        result = {"id": case["id"]}
        try:
            if "argv" in case:
                code, err = _run_cli(case["argv"], namespace)
                result.update(outcome="exit", code=code, message=err)
            else:
                _run_code(case["code"], namespace)
                result.update(outcome="returned")
        except SystemExit as exc:   # a case without its optional dependency
            result.update(outcome="skipped", message=str(exc))
        except AssertionError as exc:
            result.update(outcome="wrong", message=f"{exc}\n{traceback.format_exc(limit=-2)}")
        except BaseException as exc:  # noqa: BLE001 - every exception is an outcome
            result.update(outcome="raised", type=type(exc).__name__, message=str(exc),
                          where=traceback.format_exc(limit=-3))
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
