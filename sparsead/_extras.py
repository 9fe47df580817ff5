"""Optional dependencies: the install command that fits how sparsead was installed.

Used by the modules that import an optional dependency at call time
(``optimize`` for cyipopt, ``cli show`` for matplotlib): an editable install
or a source checkout is told ``pip install -e "<checkout>[extra]"``, an install from
an index or a wheel ``pip install "sparsead[extra]"``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["install_hint"]


def _source_checkout():
    """The repository folder when the package is imported from a checkout (editable install
    or ``PYTHONPATH``), else None."""
    root = Path(__file__).resolve().parent.parent
    try:
        text = (root / "pyproject.toml").read_text()
    except OSError:
        return None
    return root if 'name = "sparsead"' in text else None


def install_hint(extra: str) -> str:
    """The pip command that installs the optional dependencies of ``extra``.

    Examples
    --------
    >>> from sparsead._extras import install_hint
    >>> install_hint("plot").startswith(("pip install -e ", 'pip install "sparsead[plot]"'))
    True
    """
    root = _source_checkout()
    if root is None:
        return f'pip install "sparsead[{extra}]"'
    where = "." if Path.cwd().resolve() == root else str(root)
    return f'pip install -e "{where}[{extra}]"'
