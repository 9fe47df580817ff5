"""The README's Python examples run as written (a README that lies is a bug)."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    text = README.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_python_examples():
    assert len(_blocks()) >= 5


def test_quickstart_solves_the_problem():
    namespace = {}
    exec(compile(_blocks()[0], "README quickstart", "exec"), namespace)
    res = namespace["res"]
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)
    assert namespace["c"].n_colors == 2


@pytest.mark.parametrize("index", range(1, len(_blocks())))
def test_readme_examples_run(index):
    code = _blocks()[index].replace("100_000", "2_000").replace("brusselator_x0(64)", "brusselator_x0(16)")
    code = code.replace("(0, 11.5)", "(0, 0.5)").replace("brusselator_x0(32)", "brusselator_x0(8)")
    exec(compile(code, f"README example {index}", "exec"), {})
