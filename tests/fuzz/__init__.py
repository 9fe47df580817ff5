"""Differential fuzzer of sparsead's derivatives (issue 10).

``programs.py`` generates random numpy programs and renders them as Python
source; ``reference.py`` is an independent dense interpreter of those programs
(every value carries its dense Jacobian and Hessian); ``check.py`` runs every
mode and backend of sparsead on a program and compares; ``run.py`` is the
long-running script. ``tests/test_fuzz.py`` runs a derandomized share in CI.
"""
