"""Moved to :mod:`sparsead.primitives` (each primitive's JVP/VJP sits in its register call or
table row); this alias goes once every caller has moved."""

from ..primitives import Call, jvp_needs, passes, strong_einsum, strong_product, tangent_is_static  # noqa: F401,E501
