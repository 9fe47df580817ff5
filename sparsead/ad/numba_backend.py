"""Moved to :mod:`sparsead.ad.numba.backend`: this name is an alias of that very module (so
attributes set on it reach the compiler) until every caller has moved."""

import sys

from .numba import backend as _moved

sys.modules[__name__] = _moved
