"""Smoke test of ``benchmarks/harness.py``: one worker process and the tables built from it.

The worker measures sparsead alone on the smallest standard problem (Brusselator
N = 32) with the numpy lane interpreter (no kernel to compile), once; the test
checks the fields of its JSON and that the parent's summary and tables accept
it. No timing is asserted (figures belong to the benchmark scripts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
HARNESS = os.path.join(BENCH, "harness.py")

pytestmark = pytest.mark.skipif(not os.path.exists(HARNESS),
                                reason="benchmarks/harness.py is not in this checkout")

TIMES = ("import", "prepare", "first", "one_off", "detect", "color", "eval", "eval_out", "lanes",
         "f")


def _worker(tmp_path, *extra):
    env = dict(os.environ, SPARSEAD_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, HARNESS, "--worker", "sparsead", "brusselator", "32", "--backend",
           "numpy", "--calls", "2", "--min-seconds", "0", "--max-seconds", "0.05", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("HARNESS-JSON ")]
    assert len(lines) == 1, proc.stdout[-2000:]
    return json.loads(lines[0][len("HARNESS-JSON "):])


def test_worker_fields_summary_and_tables(tmp_path):
    saved = tmp_path / "sparsead.npz"
    res = _worker(tmp_path, "--save", str(saved))
    assert res["tool"] == "sparsead" and res["problem"] == "brusselator" and res["size"] == 32
    assert res["kind"] == "jacobian" and res["n"] == res["m"] == 2 * 32 * 32
    for key in TIMES:
        assert isinstance(res[key], float) and res[key] >= 0.0, key
    assert res["one_off"] == pytest.approx(res["import"] + res["prepare"] + res["first"])
    assert res["info"]["backend"] == "numpy" and res["info"]["mode"] == "forward"
    assert res["colors"] >= 1 and res["nnz"] > 0 and res["rss_mb"] > 0
    assert res["lanes_size"] == res["m"] * res["colors"]      # forward lanes: (m, p)
    assert saved.exists()

    sys.path.insert(0, BENCH)
    try:
        import harness
    finally:
        sys.path.remove(BENCH)
    res.update(status="ok", phase="warm", round=0, process=1.0)
    runs = [res, {"tool": "bandwidth", "status": "ok", "bandwidth": 1e10, "round": 0}]
    files = {("sparsead", "brusselator", 32): str(saved)}
    summary = harness.summarise(runs, files, [("brusselator", 32)], ["sparsead"])
    (row,) = summary["rows"]
    assert row["status"] == "ok" and row["max_rel_diff"] == 0.0
    bound = (res["lanes_size"] + res["nnz"]) * 8 / 1e10
    assert row["bound"] == pytest.approx(bound) and row["vs_peer_eval"] is None
    t_problems, t_eval, t_prep, missing = harness.tables(summary, markdown=True)
    assert "| Brusselator N=32 | sparsead |" in t_eval and "0.0e+00" in t_eval
    assert "| Brusselator N=32 | sparsead |" in t_prep and not missing
    assert "(forward, numpy)" in t_problems
