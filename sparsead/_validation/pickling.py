"""Whether a user function can be pickled, refused early with a clear message.

Prepared operators, gradients and solver adapters pickle as "prepare again"
recipes that hold the user's ``f``; this is the one check they all run.
"""

from __future__ import annotations

import pickle
import sys

__all__ = ["check_picklable"]


def check_picklable(f, what):
    """Refuse, with a clear message, a function that Python's standard pickle cannot store.

    ``pickle`` stores a function by its importable name, so lambdas and functions
    defined inside other functions fail (with a terse message from deep inside
    pickle). When cloudpickle is loaded (joblib/loky, dask, or the caller's own
    choice) the pickler may be one that can store them, so nothing is refused.
    """
    qualname = getattr(f, "__qualname__", None)
    if not isinstance(qualname, str) or not ("<lambda>" in qualname or "<locals>" in qualname):
        return
    if any(name.endswith("cloudpickle") for name in list(sys.modules)):
        return
    raise pickle.PicklingError(
        f"cannot pickle {what}: its function `{qualname}` is a lambda or is defined inside "
        "another function, and Python's standard pickle stores functions by their importable "
        "name. Define the function at module level (def f(x): ...) in a module the other "
        "process can import; cloudpickle (not a sparsead dependency) can pickle lambdas.")
