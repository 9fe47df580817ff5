"""Pictures of a coloring: the colored pattern beside its compressed matrix.

Used by ``sparsead show``; needs the optional ``plot`` extra (matplotlib). The
caller passes the pattern, the colors and the compressed matrix (what
``Coloring.compress`` returns); this module only draws. It renders with the
non-interactive Agg canvas on a :class:`matplotlib.figure.Figure`, never through
pyplot's global state, so it works without a display.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_coloring"]

#: Above these sizes a panel is drawn as a downsampled density picture.
MAX_NNZ = 200_000
MAX_SIDE = 2000
#: Bins per side of a density picture.
DENSITY_BINS = 400
#: Color of entries whose column and row are neutral (color -1).
NEUTRAL = (0.6, 0.6, 0.6, 1.0)


def _palette(k: int) -> np.ndarray:
    """``k`` distinct RGBA colors: tab10/tab20 when they suffice, else turbo."""
    if k <= 10:
        return colormaps["tab10"](np.arange(k))
    if k <= 20:
        return colormaps["tab20"](np.arange(k))
    return colormaps["turbo"](np.linspace(0.0, 1.0, k))


def _entries(matrix):
    """Rows and columns of the stored, nonzero entries of a sparse or dense matrix."""
    coo = sp.coo_array(matrix)
    keep = coo.data != 0
    return np.asarray(coo.row[keep], dtype=np.int64), np.asarray(coo.col[keep], dtype=np.int64)


def _entry_ids(pattern, colors, problem):
    """Each nonzero of the pattern and the palette index it is drawn with.

    Column and symmetric problems color entry ``(i, j)`` by ``colors[j]``,
    ``row`` by ``colors[i]``; ``bidirectional`` (``colors = (column, row)``)
    uses the column color where the column is colored, else the row color,
    offset past the column colors. Neutral (-1) entries get id -1. Returns ``rows, cols, ids, n_ids, offset``.
    """
    rows, cols = _entries(pattern)
    if problem == "bidirectional":
        cc, rc = (np.asarray(c, dtype=np.int64) for c in colors)
        offset = int(cc.max(initial=-1)) + 1
        ids = np.where(cc[cols] >= 0, cc[cols], np.where(rc[rows] >= 0, offset + rc[rows], -1))
        n_ids = offset + int(rc.max(initial=-1)) + 1
        return rows, cols, ids, max(n_ids, 1), offset
    colors = np.asarray(colors, dtype=np.int64)
    ids = colors[rows] if problem == "row" else colors[cols]
    return rows, cols, ids, max(int(colors.max(initial=-1)) + 1, 1), 0


def _draw_entries(ax, rows, cols, ids, shape, palette, big):
    """Scatter the entries as colored squares, or a density picture if ``big``."""
    m, n = shape
    if big:
        rb, cb = min(m, DENSITY_BINS), min(n, DENSITY_BINS)
        flat = (rows * rb // max(m, 1)) * cb + cols * cb // max(n, 1)
        counts = np.bincount(flat, minlength=rb * cb).reshape(rb, cb).astype(float)
        image = np.ma.masked_equal(np.log1p(counts), 0.0)
        cmap = colormaps["viridis"].with_extremes(bad="white")
        ax.imshow(image, cmap=cmap, interpolation="nearest", aspect="auto",
                  extent=(-0.5, n - 0.5, m - 0.5, -0.5))
        return
    box = ax.get_window_extent()
    cell = min(box.height / max(m, 1), box.width / max(n, 1)) * 72.0 / ax.figure.dpi
    rgba = np.where((ids >= 0)[:, None], palette[np.clip(ids, 0, None) % len(palette)],
                    np.array(NEUTRAL))
    ax.scatter(cols, rows, c=rgba, marker="s",
               s=max(cell, 0.8) ** 2, linewidths=0)
    ax.set_xlim(-0.5, max(n, 1) - 0.5)
    ax.set_ylim(max(m, 1) - 0.5, -0.5)


def plot_coloring(pattern, colors, problem, compressed, path, *, title="",
                  size=(1200, 600), dpi=100):
    """Draw the colored pattern and the compressed matrix into an image file.

    Parameters
    ----------
    pattern : sparse matrix, shape (m, n)
        The pattern that was colored.
    colors : ndarray or tuple of two ndarrays
        0-based colors (length ``n``; length ``m`` for ``problem="row"``);
        for ``"bidirectional"`` the pair ``(column_colors, row_colors)`` with
        -1 for neutral.
    problem : str
        The coloring problem (decides whether entries take their column's or
        their row's color).
    compressed : sparse or dense matrix, or tuple of two
        What ``Coloring.compress`` returned for the pattern: ``A @ S`` (one
        column per color) or, for ``row``, ``S.T @ A`` (one row per color);
        for ``bidirectional`` the pair ``(A @ S, S.T @ A)``.
    path : str or path-like
        Output file; the format follows its suffix (``.png``, ``.svg``, ...).
    title : str, optional
        Figure title.
    size : (int, int), optional
        Image size in pixels, ``(width, height)``.
    dpi : int, optional
        Resolution; scales the text relative to the image.

    Returns
    -------
    str
        ``path``, for convenience.

    Notes
    -----
    Patterns with more than ``MAX_NNZ`` entries or a side above ``MAX_SIDE``
    are drawn as a downsampled density picture (log of the entries per block).
    """
    m, n = pattern.shape
    rows, cols, ids, n_ids, offset = _entry_ids(pattern, colors, problem)
    palette = _palette(n_ids)
    big = rows.size > MAX_NNZ or max(m, n) > MAX_SIDE
    if problem == "bidirectional":
        parts = [(compressed[0], "col", 0, "A S (column colors)"),
                 (compressed[1], "row", offset, "S^T A (row colors)")]
    elif problem == "row":
        parts = [(compressed, "row", 0, "compressed S^T A")]
    else:
        parts = [(compressed, "col", 0, "compressed A S")]

    # Nudge by a quarter pixel: matplotlib truncates width * dpi to an integer.
    fig = Figure(figsize=((size[0] + 0.25) / dpi, (size[1] + 0.25) / dpi), dpi=dpi,
                 layout="constrained")
    FigureCanvasAgg(fig)
    ratios = [3.0] + [1.2 if kind == "col" else 3.0 for _, kind, _, _ in parts]
    grid = fig.add_gridspec(1, len(ratios), width_ratios=ratios)
    ax = fig.add_subplot(grid[0, 0])
    if 0.25 <= m / max(n, 1) <= 4.0:
        ax.set_aspect("equal", adjustable="box")
    _draw_entries(ax, rows, cols, ids, (m, n), palette, big)
    by = {"row": "row", "bidirectional": "column/row"}.get(problem, "column")
    ax.set_title(f"pattern {m}x{n}" + (" (density, downsampled)" if big
                                        else f", nonzeros by {by} color"), fontsize="small")
    for k, (matrix, kind, shift, label) in enumerate(parts, start=1):
        shape = matrix.shape
        r, c = _entries(matrix)
        part_ids = shift + (c if kind == "col" else r)
        part_big = r.size > MAX_NNZ or max(shape) > MAX_SIDE
        axk = fig.add_subplot(grid[0, k])
        _draw_entries(axk, r, c, part_ids, shape, palette, part_big)
        axk.set_aspect("auto")
        for axis in (axk.xaxis, axk.yaxis):     # color and row/column indices are integers
            axis.set_major_locator(MaxNLocator(integer=True))
        axk.set_title(f"{label} {shape[0]}x{shape[1]}", fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.savefig(path, dpi=dpi)
    return path
