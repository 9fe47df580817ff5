"""Decompression fused into a generated kernel: the output's lane block written through a map.

Fed by :mod:`.codegen` (the source lines that write the output node's tangent
block ``tan<out>``, shape ``(d, p)``); used by :mod:`.backend`. Every statement
``tan<out>[r, l] OP expr`` becomes ``fdata[fmap[r * p + l]] OP expr``. With an
empty map (the identity, no map read) and a ``d * p`` buffer the kernel writes
the compressed block ``B`` itself; with the map of a decompression plan
(:meth:`sparsead.coloring.decompression.Decompressor.fused_maps`) it writes each
cell at the ``J.data`` position that reads it (cells nobody reads go to one
spare slot after the ``nnz`` values), so neither ``B`` nor a gather pass over it
is needed; substitution plans then solve in place. The writes carry no branch:
a guard per write, taken at random, cost more than the fusion saved
(Brusselator). If the block was allocated zeroed, the kernel zeroes all of
``fdata`` first (so two kernels never share one ``fdata``). Any other use of ``tan<out>`` (read on a right-hand
side, aliased) leaves the kernel unfused.
"""

from __future__ import annotations

import re

_OPS = ("+=", "-=", "*=", "/=", "=")


def _split_target(line, name):
    """``(indent, row, lane, op, rhs)`` of ``<indent>name[row, lane] OP rhs``, else None."""
    stripped = line.lstrip(" ")
    indent = line[:len(line) - len(stripped)]
    if not stripped.startswith(name + "["):
        return None
    depth, comma, end = 0, -1, -1
    for pos in range(len(name), len(stripped)):
        ch = stripped[pos]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0:
                end = pos
                break
        elif ch == "," and depth == 1:
            if comma >= 0:
                return None
            comma = pos
    if end < 0 or comma < 0:
        return None
    row = stripped[len(name) + 1:comma].strip()
    lane = stripped[comma + 1:end].strip()
    rest = stripped[end + 1:].lstrip(" ")
    for op in _OPS:
        if rest.startswith(op + " "):
            return indent, row, lane, op, rest[len(op) + 1:]
    return None


def fuse_output(lines, out):
    """The output node's ``lines`` writing through ``fmap``/``fdata``, or None if they cannot.

    Returns ``(new_lines, zero_first)``; ``zero_first`` says the block was
    allocated with ``np.zeros`` (the kernel must zero ``fdata`` before the writes).
    """
    name = f"tan{out}"
    word = re.compile(rf"\b{name}\b")
    alloc = re.compile(rf"^\s*{name} = np\.(empty|zeros)\(\(.*, p\), np\.float64\)$")
    new, zero_first, n_alloc = [], False, 0
    for line in (piece for ln in lines for piece in ln.split("\n")):
        if not word.search(line):
            new.append(line)
            continue
        m = alloc.match(line)
        if m:
            n_alloc += 1
            zero_first = m.group(1) == "zeros"
            continue
        parts = _split_target(line, name)
        if parts is None or word.search(parts[4]):
            return None
        indent, row, lane, op, rhs = parts
        cell = f"({row}) * p + ({lane})"
        new.append(f"{indent}fdata[fmap[{cell}] if fm else {cell}] {op} {rhs}")
    if n_alloc != 1:
        return None
    return new, zero_first


def zero_lines(zero_first):
    """The first statements of the fused part: ``fm`` (a map is given; an empty map means
    the identity, the compressed block itself) and zeroing ``fdata`` if the block
    started zeroed."""
    lines = ["fm = fmap.size > 0"]
    if zero_first:
        lines += ["for fq in range(fdata.size):", "    fdata[fq] = 0.0"]
    return lines
