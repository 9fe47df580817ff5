"""Numba kernels over raw arrays (CSR indptr/indices, int64, float64); nothing else lives here."""
