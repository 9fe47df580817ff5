"""pytest set-up shared by the test suite and the doctests: optional dependencies skip cleanly.

The ``test`` extra is enough for the whole suite to pass or skip. What needs an
optional dependency says so here, once:

- modules that import one at import time are not collected without it
  (``sparsead/plot.py`` imports matplotlib);
- doctests that call into one are skipped without it (the IPOPT examples of
  ``sparsead/optimize.py`` need cyipopt);
- tests use ``pytest.importorskip`` / ``skipif`` themselves, and the README's
  examples declare theirs (``tests/test_readme.py``).
"""

import importlib.util
import re

import pytest

#: optional module -> the extra that installs it
EXTRAS = {"cyipopt": "ipopt", "matplotlib": "plot"}

#: doctests whose source matches the pattern need the module
DOCTEST_NEEDS = {"cyipopt": re.compile(r"\bipopt|minimize_ipopt")}


def missing(module):
    """True if ``module`` cannot be imported here."""
    return importlib.util.find_spec(module) is None


collect_ignore = ["sparsead/plot.py"] if missing("matplotlib") else []


def pytest_collection_modifyitems(config, items):
    for item in items:
        dtest = getattr(item, "dtest", None)  # a DoctestItem
        if dtest is None:
            continue
        source = "".join(example.source for example in dtest.examples)
        for module, pattern in DOCTEST_NEEDS.items():
            if missing(module) and pattern.search(source):
                item.add_marker(pytest.mark.skip(
                    reason=f"needs {module} (the `{EXTRAS[module]}` extra)"))
