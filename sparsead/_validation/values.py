"""Scalars, choices and colors: each checked before any work, with a message naming it.

Also :func:`describe`, how every message in :mod:`sparsead._validation` shows
a received value.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import warnings

from .._errors import ColoringError, ScalarOutputError

__all__ = ["describe", "check_choice", "check_bool", "check_seed", "as_colors",
           "check_scalar_output", "renamed", "DECOMPRESSIONS"]

#: The decompression of a star/acyclic choice, and the coloring problem each names.
DECOMPRESSIONS = {"direct": "star", "substitution": "acyclic"}


def describe(x) -> str:
    """A short description of a received value: its type and shape/dtype, or its repr."""
    if sp.issparse(x):
        return f"{type(x).__name__} of shape {x.shape}"
    shape = getattr(x, "shape", None)
    if shape is not None and getattr(x, "dtype", None) is not None:
        return f"{type(x).__name__} of shape {tuple(shape)} and dtype {x.dtype}"
    text = repr(x)
    return f"{type(x).__name__} {text}" if len(text) < 60 else type(x).__name__


def check_choice(value, allowed, name: str, error=ColoringError):
    """Return ``value`` if it is one of ``allowed``, else raise ``error`` listing them."""
    if isinstance(value, str) and value in allowed:
        return value
    raise error(f"`{name}` must be one of {tuple(allowed)}, got {value!r}.")


def check_scalar_output(shape, who: str, advice: str, name: str = "f"):
    """Refuse an ``f`` whose output (of ``shape``) is not one value: the one check and message.

    Raises :class:`~sparsead.ScalarOutputError` (an ``InputError`` and a
    ``TracingError``) saying who needs the scalar, what came back and ``advice``.
    """
    if int(np.prod(shape, dtype=np.int64)) != 1:
        raise ScalarOutputError(f"{who} needs a scalar `{name}`; it returned shape "
                                f"{tuple(shape)}. {advice}")


def renamed(new_value, old_value, new: str, old: str, old_choices=None, default=None,
            stacklevel=3, error=ValueError):
    """The value of keyword ``new``, or of its deprecated spelling ``old`` (which warns).

    ``old_value is None`` means the old keyword was not given. ``old_choices``
    maps each old value to the new vocabulary (another value raises ``error``
    naming ``old``). Giving both keywords is refused.
    """
    if old_value is None:
        return default if new_value is None else new_value
    if new_value is not None:
        raise TypeError(f"`{old}` is the deprecated name of `{new}`; pass only `{new}`.")
    if old_choices is not None:
        check_choice(old_value, tuple(old_choices), old, error)
    shown = old_value if old_choices is None else old_choices[old_value]
    warnings.warn(f"`{old}={old_value!r}` is deprecated; use `{new}={shown!r}`.",
                  DeprecationWarning, stacklevel=stacklevel)
    return shown


def check_bool(value, name: str, error=ColoringError) -> bool:
    """``value`` as a bool; anything but ``True``/``False`` (or numpy bools) is refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise error(f"`{name}` must be True or False, got {describe(value)}.")


def check_seed(seed, name: str = "seed", error=ColoringError):
    """A seed for ``np.random.default_rng``: None, an int >= 0, or a Generator/SeedSequence."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence,
                                         np.random.BitGenerator)):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        if seed >= 0:
            return int(seed)
        raise error(f"`{name}` must be a non-negative integer, got {seed}.")
    raise error(f"`{name}` must be None, a non-negative integer or a numpy.random.Generator, "
                f"got {describe(seed)}.")


def as_colors(colors, name: str = "colors", error=ColoringError) -> np.ndarray:
    """Colors as a 1-D int64 array; non-integral, NaN or non-numeric values are refused."""
    try:
        c = np.asarray(colors)
    except Exception:  # noqa: BLE001
        c = None
    if c is None or c.ndim != 1 or not (np.issubdtype(c.dtype, np.integer)
                                        or np.issubdtype(c.dtype, np.floating)):
        raise error(f"`{name}` must be a 1-D array of integers (one color per vertex, -1 "
                    f"for neutral), got {describe(colors)}.")
    if c.dtype.kind == "f":
        if not bool(np.all(np.isfinite(c))) or not bool(np.all(c == np.round(c))):
            bad = float(c[~(np.isfinite(c) & (c == np.round(c)))][0])
            raise error(f"`{name}` must hold integers, got non-integral values such as {bad}.")
    return c.astype(np.int64)
