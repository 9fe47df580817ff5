"""The command line, run as a subprocess (``python -m sparsead ...``) on small files.

Each test checks what a command prints or writes against the public API
(``sparsead.color``, ``sparsead.is_valid_coloring``), not only its exit code.
Subprocesses cost about a second each, so the runs are batched: independent
runs are started together and awaited together.
"""

import csv
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import sparsead as sa
from sparsead import patterns


def _start(*args, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "sparsead", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_many(*argvs, cwd=None, at_once=3):
    """Run CLI invocations, ``at_once`` at a time; return ``(code, stdout, stderr)`` each."""
    out = []
    for k in range(0, len(argvs), at_once):
        procs = [_start(*argv, cwd=cwd) for argv in argvs[k:k + at_once]]
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            out.append((p.returncode, stdout, stderr))
    return out


def _run(*args, cwd=None):
    return _run_many(args, cwd=cwd)[0]


def _write(path, matrix, symmetric=False):
    coo = sp.coo_matrix(matrix)
    if symmetric:
        coo = sp.coo_matrix(sp.tril(coo))
    scipy.io.mmwrite(str(path), coo, field="pattern", symmetry="symmetric" if symmetric else "general")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A symmetric square pattern and a rectangular one, in a folder of their own."""
    d = tmp_path_factory.mktemp("mats")
    lap = patterns.laplacian((5, 6))
    rect = patterns.random_pattern(40, 25, density=0.08, seed=3)
    _write(d / "lap.mtx", lap, symmetric=True)
    _write(d / "rect.mtx", rect)
    return {"dir": d, "lap": (d / "lap.mtx", lap), "rect": (d / "rect.mtx", rect)}


def _colors_line(stdout):
    match = re.search(r"^colors: (\d+)$", stdout, flags=re.M)
    assert match, stdout
    return int(match.group(1))


def test_color_prints_the_api_count_and_writes_valid_colors(files, tmp_path):
    lap_path, lap = files["lap"]
    rect_path, rect = files["rect"]
    (c1, o1, e1), (c2, o2, e2), (c3, o3, e3) = _run_many(
        ["color", lap_path, "--problem", "star", "--order", "smallest_last",
         "--output", tmp_path / "star.txt"],
        ["color", rect_path, "--problem", "column", "--order", "largest_first",
         "-o", tmp_path / "col.npy"],
        ["color", rect_path, "--problem", "row", "-o", tmp_path / "row.json"],
    )
    assert (c1, c2, c3) == (0, 0, 0), (e1, e2, e3)

    want = sa.color(lap, problem="star", order="smallest_last")
    assert _colors_line(o1) == want.n_colors
    assert re.search(r"^time: [0-9.]+ s", o1, flags=re.M)
    assert "valid: yes" in o1
    star = np.loadtxt(tmp_path / "star.txt", dtype=np.int64)
    assert star.shape == (lap.shape[0],) and star.max() + 1 == want.n_colors
    assert sa.is_valid_coloring(lap, star, "star")

    want = sa.color(rect, problem="column", order="largest_first")
    assert _colors_line(o2) == want.n_colors
    col = np.load(tmp_path / "col.npy")
    assert col.shape == (rect.shape[1],)
    assert sa.is_valid_coloring(rect, col, "column")

    want = sa.color(rect, problem="row", order="natural")
    doc = json.loads((tmp_path / "row.json").read_text())
    assert _colors_line(o3) == doc["n_colors"] == want.n_colors
    assert (doc["problem"], doc["order"], doc["matrix"]) == ("row", "natural", "rect")
    row = np.array(doc["colors"])
    assert row.shape == (rect.shape[0],)
    assert sa.is_valid_coloring(rect, row, "row")


def test_explicit_zeros_follow_colpack_unless_overridden(tmp_path):
    # Column coloring drops a stored zero by default (ColPack's partial distance-2
    # convention): columns 0 and 1 then share no row and take one color.
    path = tmp_path / "zero.mtx"
    path.write_text("%%MatrixMarket matrix coordinate real general\n2 2 3\n"
                    "1 1 1.0\n1 2 0.0\n2 2 1.0\n")
    (c1, o1, e1), (c2, o2, e2) = _run_many(["color", path, "--problem", "column"],
                                           ["color", path, "--problem", "column", "--keep-zeros"])
    assert (c1, c2) == (0, 0), (e1, e2)
    assert _colors_line(o1) == 1
    assert _colors_line(o2) == 2


def test_bench_table_csv_json_and_networkx(files, tmp_path):
    _, lap = files["lap"]
    _, rect = files["rect"]
    code, out, err = _run("bench", files["dir"], "--problems", "column,star,distance1",
                          "--orders", "natural,largest_first", "--csv", tmp_path / "r.csv",
                          "--json", tmp_path / "r.json", "--compare", "networkx", "--validate")
    assert code == 0, err
    # square: 3 problems x 2 orders; rectangular: column only (star/distance1 need square)
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 + 2
    mats = {"lap": lap, "rect": rect}
    for r in rows:
        want = sa.color(mats[r["matrix"]], problem=r["problem"], order=r["order"])
        assert int(r["colors"]) == want.n_colors
        assert r["valid"] == "True"
        assert (r["nx_colors"] != "") == (r["problem"] in ("column", "distance1"))
    assert {(r["matrix"], r["problem"]) for r in rows} == {
        ("lap", "column"), ("lap", "star"), ("lap", "distance1"), ("rect", "column")}
    doc = json.loads((tmp_path / "r.json").read_text())
    assert len(doc["results"]) == 8
    assert [r["colors"] for r in doc["results"]] == [int(r["colors"]) for r in rows]
    # the printed table has a header and one line per run
    assert re.search(r"^matrix\s+shape\s+nnz\s+problem\s+order\s+colors\s+ms", out, flags=re.M)
    assert len(re.findall(r"^(lap|rect)\s+\d+x\d+", out, flags=re.M)) == 8
    assert "skipped 4 runs" in out  # star and distance1 on the rectangular matrix


def test_bench_reference_summary(files, tmp_path):
    _, lap = files["lap"]
    _, rect = files["rect"]
    n = {key: sa.color(m, problem=p, order=o).n_colors
         for key, (m, p, o) in {"d1": (lap, "distance1", "natural"),
                                "star": (lap, "star", "largest_first"),
                                "col": (rect, "column", "natural"),
                                "row": (rect, "row", "natural")}.items()}
    ref = tmp_path / "ref.csv"
    ref.write_text(
        "matrix,problem,ordering,colors,distinct_colors,wall_seconds,n_vertices\n"
        f"lap,DISTANCE_ONE,NATURAL,{n['d1']},{n['d1']},0.001,30\n"
        # ColPack's STAR reports at least 4 colors; the comparison uses distinct_colors
        f"lap,STAR,LARGEST_FIRST,{n['star'] + 4},{n['star']},0.002,30\n"
        f"rect,COLUMN_PARTIAL_DISTANCE_TWO,NATURAL,{n['col']},{n['col']},0.001,25\n"
        # deliberately wrong: the reference claims 5 more colors than we find
        f"rect,ROW_PARTIAL_DISTANCE_TWO,NATURAL,{n['row'] + 5},{n['row'] + 5},0.001,40\n"
        "rect,COLUMN_PARTIAL_DISTANCE_TWO,SOME_FUTURE_ORDER,3,3,0.001,25\n")
    (code, out, err), (code_v, out_v, err_v) = _run_many(
        ["bench", files["dir"], "--reference", ref, "--json", tmp_path / "ref.json"],
        ["bench", files["dir"], "--reference", ref, "--verbose"])
    assert code == 0, err
    assert code_v == 0, err_v
    # the grid is exactly the reference's supported rows
    results = json.loads((tmp_path / "ref.json").read_text())["results"]
    assert sorted((r["matrix"], r["problem"], r["order"]) for r in results) == [
        ("lap", "distance1", "natural"), ("lap", "star", "largest_first"),
        ("rect", "column", "natural"), ("rect", "row", "natural")]
    # only the wrong row is listed as a difference, with its sign
    diff_lines = re.findall(r"^(?:lap|rect)\s.*$", out, flags=re.M)
    assert len(diff_lines) == 1 and "row" in diff_lines[0] and "-5" in diff_lines[0]
    assert len(re.findall(r"^(?:lap|rect)\s.*$", out_v, flags=re.M)) == 4

    summary = {}
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] in ("distance1", "star", "column", "row", "total") and len(cells) == 9:
            summary[cells[0]] = [int(c) for c in cells[1:7]]
    assert summary["row"] == [1, 0, 1, 0, n["row"], n["row"] + 5]
    assert summary["star"] == [1, 1, 0, 0, n["star"], n["star"]]
    assert summary["column"][:4] == [1, 1, 0, 0]
    assert summary["total"][:4] == [4, 3, 1, 0]


def test_generate_writes_the_bundled_problems(tmp_path):
    code, out, err = _run("generate", "--output", tmp_path / "data")
    assert code == 0, err
    expected = patterns._bundled_problems()
    written = out.split()
    assert [p.rsplit("/", 1)[-1] for p in written] == [k + ".mtx" for k in expected]
    for path, (name, pattern) in zip(written, expected.items()):
        got = sp.csr_array(scipy.io.mmread(path), dtype=bool)
        assert got.shape == pattern.shape and (got != pattern).nnz == 0, name


def test_show_writes_a_png_of_the_requested_size(files, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    lap_path, _ = files["lap"]
    rect_path, _ = files["rect"]
    (c1, o1, e1), (c2, o2, e2) = _run_many(
        ["show", lap_path, "--problem", "column", "-o", tmp_path / "p.png", "--size", "640x480"],
        ["show", rect_path, "--problem", "row", "--order", "smallest_last",
         "-o", tmp_path / "q.png", "--size", "500x300"])
    assert (c1, c2) == (0, 0), (e1, e2)
    for name, (w, h) in (("p.png", (640, 480)), ("q.png", (500, 300))):
        img = image.imread(tmp_path / name)
        assert img.shape[:2] == (h, w)
        rgb = np.unique(img[..., :3].reshape(-1, 3), axis=0)
        colorful = rgb[(np.ptp(rgb, axis=1) > 0.2)]
        assert len(colorful) > 1  # several hues, not only black text on white


def test_errors_are_one_line_without_traceback(files, tmp_path):
    lap_path, _ = files["lap"]
    rect_path, _ = files["rect"]
    bad = tmp_path / "bad.mtx"
    bad.write_text("%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 1.0\n2 2 x\n")
    cases = {
        "missing file": ["color", tmp_path / "nope.mtx"],
        "malformed": ["color", bad],
        "unknown problem": ["color", lap_path, "--problem", "blue"],
        "unknown order": ["color", lap_path, "--order", "sideways"],
        "rectangular": ["color", rect_path, "--problem", "star"],
        "bench problems": ["bench", lap_path, "--problems", "column,blue"],
        "bench missing": ["bench", tmp_path / "nothing_here"],
        "bad reference": ["bench", lap_path, "--reference", tmp_path / "nope.csv"],
        "bad output": ["color", lap_path, "-o", tmp_path / "x.bmp"],
        "usage": ["color"],
    }
    results = _run_many(*cases.values(), ["color", tmp_path / "nope.mtx", "--debug"])
    for (name, argv), (code, out, err) in zip(cases.items(), results):
        lines = err.strip().splitlines()
        assert code == 2, (name, code, err)
        assert len(lines) == 1 and lines[0].startswith("sparsead: error: "), (name, err)
        assert "Traceback" not in err, name
    assert "blue" in results[2][2] and "sideways" in results[3][2]
    code, _, err = results[-1]
    assert code != 0 and "Traceback" in err
