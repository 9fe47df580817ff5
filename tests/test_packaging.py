"""The wheel and the sdist: what they contain, and the wheel's CLI running outside the repository.

Both are built by setuptools' PEP 517 hooks in a subprocess, from a copy of the
files a build reads (no network, no build isolation: it needs the setuptools the
build system asks for, >= 77, which the ``test`` extra installs; else it skips).
The wheel is then unpacked into a folder (what installing a pure-Python wheel
does) and ``python -m sparsead bench`` runs from an unrelated directory, where
no ``data/`` folder exists, so the bundled patterns must be generated.
"""

import csv
import importlib.util
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _can_build_wheels():
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    return int(setuptools.__version__.split(".")[0]) >= 77


pytestmark = pytest.mark.skipif(not _can_build_wheels(),
                                reason="needs setuptools >= 77 (the `test` extra)")


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """``(wheel path, sdist path)`` built from a clean copy of the sources."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "MANIFEST.in", "conftest.py"):
        shutil.copy(ROOT / name, src / name)
    for name in ("sparsead", "tests", "data", "benchmarks", ".ci"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    built = []
    for hook in ("build_wheel", "build_sdist"):  # one process each: setuptools keeps state
        code = f"import sys, setuptools.build_meta as b; print('built:', b.{hook}(sys.argv[1]))"
        r = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr[-3000:]
        built.append(out / r.stdout.strip().splitlines()[-1].split()[1])
    return tuple(built)


def _package_sources():
    return sorted(str(p.relative_to(ROOT)).replace(os.sep, "/")
                  for p in (ROOT / "sparsead").rglob("*.py"))


def test_wheel_has_the_package_its_metadata_and_nothing_else(dists):
    wheel, _ = dists
    assert wheel.name.startswith("sparsead-0.1.0-py3-none-any")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    package = sorted(n for n in names if not n.startswith("sparsead-0.1.0.dist-info/"))
    assert package == _package_sources()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    for dep in ("numpy", "scipy", "networkx", "numba", "tqdm"):
        assert any(r.startswith(dep) and "extra ==" not in r for r in requires), dep
    for extra in ("test", "plot", "bench", "ipopt"):
        assert f"Provides-Extra: {extra}" in metadata
    assert "sparsead = sparsead.cli:main" in entry_points
    assert "License-Expression: MIT" in metadata


def test_sdist_has_sources_tests_and_data(dists):
    _, sdist = dists
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for needed in ("pyproject.toml", "README.md", "conftest.py", "tests/test_readme.py",
                   "benchmarks/bench_startup.py", "data/laplace2d_60x60.mtx", ".ci/run",
                   *_package_sources()):
        assert needed in names, needed
    assert not any(n.endswith((".pyc", ".nbi", ".nbc")) for n in names)


def test_wheel_runs_the_main_job_outside_the_repository(dists, tmp_path):
    wheel, _ = dists
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               SPARSEAD_CACHE_DIR=str(tmp_path / "kernels"))
    r = subprocess.run([sys.executable, "-m", "sparsead", "bench", "--problems", "column",
                        "--orders", "natural", "--csv", "-"], cwd=elsewhere, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "generating the same patterns in memory" in r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout[r.stdout.index("matrix"):])))
    from sparsead.patterns import _bundled_problems
    assert sorted({row["matrix"] for row in rows}) == sorted(_bundled_problems())
    r = subprocess.run([sys.executable, "-c", "import sparsead, sparsead._extras as e; "
                        "print(sparsead.__file__); print(e.install_hint('plot'))"],
                       cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    where, hint = r.stdout.split("\n")[:2]
    assert where.startswith(str(site))
    assert hint == 'pip install "sparsead[plot]"'  # not `-e .`: this is no checkout
