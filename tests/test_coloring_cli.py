"""The coloring parts of the command line: networkx's size budget and build time, validation."""

import csv

import numpy as np
import scipy.io
import scipy.sparse as sp

from sparsead import cli, patterns


def _write(path, matrix):
    scipy.io.mmwrite(str(path), sp.coo_matrix(matrix), field="pattern", symmetry="general")
    return path


def test_networkx_budget_skips_big_graphs_and_build_time_is_reported(tmp_path, capsys):
    arrow = _write(tmp_path / "arrow.mtx", patterns.arrowhead(300))
    band = _write(tmp_path / "band.mtx", patterns.banded(60, 1))
    code = cli.main(["bench", str(arrow), str(band), "--problems", "column,distance1",
                     "--orders", "natural", "--compare", "networkx", "--nx-budget", "5000",
                     "--csv", str(tmp_path / "r.csv"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    rows = {(r["matrix"], r["problem"]): r for r in csv.DictReader(open(tmp_path / "r.csv"))}
    # the arrowhead's column graph has ~n^2 edges: skipped before it is built
    assert rows[("arrow", "column")]["nx_colors"] == ""
    assert rows[("arrow", "column")]["nx_build_seconds"] == ""
    assert "networkx skipped on 1 (matrix, problem) pairs" in out and "arrow column" in out
    for key in [("arrow", "distance1"), ("band", "column"), ("band", "distance1")]:
        assert int(rows[key]["nx_colors"]) == int(rows[key]["colors"])
        assert float(rows[key]["nx_build_seconds"]) >= 0
    assert "nx build ms" in out


def test_color_validates_a_big_bicoloring_by_default(tmp_path, capsys):
    path = _write(tmp_path / "arrow.mtx", patterns.arrowhead(20000))
    assert cli.main(["color", str(path), "--problem", "bidirectional",
                     "--order", "largest_first"]) == 0
    out = capsys.readouterr().out
    assert "colors: 3" in out and "valid: yes" in out


def test_colpack_view_of_a_file_is_one_function():
    """Stored zeros count for adjacency problems only; those see A + A.T (ColPack's driver)."""
    from sparsead.coloring.colpack import colpack_pattern, reference_count
    a = sp.csr_array((np.array([1.0, 0.0, 2.0]), np.array([1, 2, 0]), np.array([0, 2, 3, 3])),
                     shape=(3, 3))
    col, sym = colpack_pattern(a, "column")
    assert col.nnz == 2 and not sym
    star, sym = colpack_pattern(a, "star")
    assert sym and (star != star.T).nnz == 0 and star.nnz == 4
    ref = {"problem": "star", "colors": 5, "distinct_colors": 4}
    assert reference_count(ref) == 4 and reference_count(ref, "column") == 5
