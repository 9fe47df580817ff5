"""Where a tracing error happened: the user's line, and the library that was running.

Errors raised while tracing name the *user's* line: the innermost stack frame
outside sparsead, numpy, SciPy and every other installed library (site-packages
and the standard library). When the failing operation ran inside a library
(``scipy.optimize.rosen``, ``np.polynomial``...), that line is the one that
called into the library, and :func:`library_function` names the library
function that was running, so a message can say both. Used by
:mod:`sparsead.tracing.tracer`, :mod:`sparsead.tracing.numpy_api` and
:mod:`sparsead.tracing.conversions`; imports nothing from the package.
"""

from __future__ import annotations

import dis
import linecache
import os
import sys
import sysconfig

import numpy as np

__all__ = ["user_frame", "caller_frame", "library_function", "where", "store_subscr",
           "is_library_file"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _library_dirs():
    dirs = {_PKG_DIR, os.path.dirname(os.path.abspath(np.__file__))}
    for key in ("purelib", "platlib", "stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.abspath(path))
    try:
        import scipy
        dirs.add(os.path.dirname(os.path.abspath(scipy.__file__)))
    except ImportError:  # pragma: no cover
        pass
    return tuple(sorted(d + os.sep for d in dirs))


_LIBRARY_DIRS = _library_dirs()
_FILE_CACHE: dict = {}


def _classify(filename):
    """``(library, sparsead)``: whether the file belongs to an installed library / to sparsead."""
    hit = _FILE_CACHE.get(filename)
    if hit is None:
        path = os.path.abspath(filename) if not filename.startswith("<") else filename
        hit = _FILE_CACHE[filename] = (path.startswith(_LIBRARY_DIRS),
                                       path.startswith(_PKG_DIR + os.sep))
    return hit


def is_library_file(filename) -> bool:
    """Whether code from ``filename`` belongs to sparsead or an installed library."""
    return _classify(filename)[0]


def user_frame(depth=1):
    """The innermost frame outside sparsead and installed libraries: ``(frame, "file:line", src)``."""
    frame = sys._getframe(depth)
    while frame is not None and is_library_file(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None, "<unknown>", ""
    src = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return frame, f"{frame.f_code.co_filename}:{frame.f_lineno}", src


def caller_frame(depth=1):
    """The innermost frame outside sparsead (a library's frame counts): the code running now."""
    frame = sys._getframe(depth)
    while frame is not None and _classify(frame.f_code.co_filename)[1]:
        frame = frame.f_back
    return frame


def library_function(depth=1):
    """``"module.function"`` of the outermost library frame inside the user's call, or None.

    Walking out from the current frame, sparsead's own frames are skipped; the
    last library frame before the user's frame is the library function the
    user called (``scipy.optimize._optimize.rosen``, not its helpers).
    """
    frame = sys._getframe(depth)
    found = None
    while frame is not None and is_library_file(frame.f_code.co_filename):
        if not _classify(frame.f_code.co_filename)[1]:
            found = frame
        frame = frame.f_back
    if found is None:
        return None
    module = found.f_globals.get("__name__", "?")
    return f"{module}.{found.f_code.co_name}"


def where(loc, src):
    return f"at {loc}" + (f" (`{src}`)" if src else "")


def store_subscr(frame):
    """Whether the frame is executing ``container[key] = value`` right now."""
    if frame is None:
        return False
    try:
        return dis.opname[frame.f_code.co_code[frame.f_lasti]] == "STORE_SUBSCR"
    except (IndexError, AttributeError):  # pragma: no cover
        return False
