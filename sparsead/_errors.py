"""Exception and warning types of sparsead.

Every error the package raises on purpose derives from :class:`SparseadError`
and from the built-in type a caller would expect (``ValueError``,
``TypeError``, ``NotImplementedError``), so ``except ValueError`` keeps working.
"""


class SparseadError(Exception):
    """Base class of every error raised on purpose by sparsead."""


class PatternError(SparseadError, ValueError):
    """A sparsity pattern is malformed or does not fit the requested problem."""


class ColoringError(SparseadError, ValueError):
    """A coloring request is invalid (unknown problem or order, bad shapes)."""


class DecompressionError(SparseadError, ValueError):
    """A compressed matrix or output buffer does not match the coloring."""


class InputError(SparseadError, ValueError):
    """A call's ``x``, ``args`` or ``out`` does not fit the prepared operator."""


class InputTypeError(SparseadError, TypeError):
    """An argument has an unsupported type (complex, object, a non-tuple ``args``, ...)."""


class TracerConversionError(SparseadError, TypeError):
    """A traced value was converted to a Python value (``bool``, ``float``, ...)
    where the program's structure would depend on it."""


class UnsupportedOperationError(SparseadError, NotImplementedError):
    """A numpy function or operation has no rule in sparsead's registry."""


class TracingError(SparseadError, TypeError):
    """The traced function did something tracing cannot follow (writes into a
    plain numpy array, returns a non-array, ...)."""


class ScalarOutputError(InputError, TracingError):
    """``f`` must return a scalar (a gradient or a Hessian) and returned an array.

    An :class:`InputError` and a :class:`TracingError` at once, so both
    ``except`` clauses that met this case before keep catching it."""


class SparseadWarning(UserWarning):
    """Base class of the warnings sparsead emits."""
