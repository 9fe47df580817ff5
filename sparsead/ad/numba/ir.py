"""The Numba backend's kernel IR: :class:`KNode`, the op kinds, and its error type.

A lowered graph is a flat list of :class:`KNode` whose ``op`` is one of

* ``input`` / ``const`` / ``scalar`` -- leaves (``scalar``: one value broadcast
  over any shape, passed to the kernel as a scalar argument);
* ``ew`` -- an elementwise primitive over same-shape (or size-1) inputs, with
  its :class:`~sparsead.primitives.ScalarRule` (the registry row's ``scalar``);
* ``map`` -- ``out.flat[i] = src.flat[idx[i]]`` (``idx[i] == -1``: a fill value,
  scalar or per element);
* ``concat``, ``reduce_sum``, ``reduce_prod``, ``reduce_max``, ``reduce_min``,
  ``cumsum``, ``cumprod``, ``scatter``, ``spmatmul``, ``einsum`` -- always
  materialised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..._errors import SparseadError

__all__ = ["KNode", "NumbaBackendError", "INLINE_OPS", "LEAF_OPS", "MATERIAL_OPS", "contiguous"]


class NumbaBackendError(SparseadError, NotImplementedError):
    """The Numba backend cannot serve a graph; ``stage`` (lowering, size, codegen, load,
    compile, check), the ``primitive`` at fault if known, and the ``reason``."""

    def __init__(self, stage, reason, primitive=None):
        self.stage, self.reason, self.primitive = stage, reason, primitive
        where = f"primitive {primitive!r}" if primitive else f"{stage} stage"
        super().__init__(f"{where}: {reason}")


INLINE_OPS = ("ew", "map")
LEAF_OPS = ("input", "const", "scalar")
MATERIAL_OPS = ("concat", "reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "cumsum",
                "cumprod", "scatter", "spmatmul", "einsum")


@dataclass(eq=False)
class KNode:
    op: str
    ins: list
    shape: tuple
    dtype: np.dtype
    active: bool = False
    params: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def contiguous(a, dtype=None):
    return np.ascontiguousarray(a, dtype=dtype)
