"""Types of the command line's options: bounded integers and image sizes.

Used as ``type=`` of :mod:`argparse` options, so that a value out of range is
refused while parsing, with one line ``sparsead: error: argument --X: ...``
and exit code 2, before any work.
"""

from __future__ import annotations

import argparse

__all__ = ["int_in", "image_size", "SIZE_RANGE"]

#: Sides of an image in pixels (``show --size``).
SIZE_RANGE = (50, 8000)


def int_in(low, high=None):
    """An argparse type: an integer in ``[low, high]`` (no upper bound if None)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be an integer {span}, got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


def image_size(text):
    """An argparse type: ``WxH`` in pixels, each side within :data:`SIZE_RANGE`."""
    low, high = SIZE_RANGE
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = None
    if w is None or not (low <= w <= high and low <= h <= high):
        raise argparse.ArgumentTypeError(f"must look like 1200x600 (pixels, each side from "
                                         f"{low} to {high}), got {text!r}")
    return w, h
