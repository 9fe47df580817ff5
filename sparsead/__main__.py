"""``python -m sparsead``: the same command line as the ``sparsead`` entry point."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
