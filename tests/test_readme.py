"""The README's examples run as written, and its commands name files the repository has.

A README that lies is a bug: every Python block is executed exactly as printed
(no sizes rewritten, so each must finish in a few seconds); a block that needs
an optional dependency says so on its first line (``# needs the ipopt extra``)
and is skipped without it. Shell commands may only name files of the repository
(``data/...``) or placeholders in capitals (``MATRICES/``).
"""

import importlib.util
import pathlib
import re
import shlex

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: extra -> a module it installs
EXTRA_MODULES = {"ipopt": "cyipopt", "plot": "matplotlib", "bench": "jax"}


def _blocks(kind="python"):
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(), flags=re.S)


def _run(index):
    code = _blocks()[index]
    need = re.match(r"# needs the (\w+) extra", code)
    if need:
        module = EXTRA_MODULES[need.group(1)]
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"README example {index} needs {module} (the `{need.group(1)}` extra)")
    namespace = {}
    exec(compile(code, f"README example {index}", "exec"), namespace)
    return namespace


def test_readme_has_python_examples():
    assert len(_blocks()) >= 5


def test_quickstart_solves_the_problem():
    namespace = _run(0)
    res = namespace["res"]
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)
    assert namespace["c"].n_colors == 2


@pytest.mark.parametrize("index", range(1, len(_blocks())))
def test_readme_examples_run(index):
    _run(index)


def test_setup_section_has_the_two_commands_ci_runs():
    text = README.read_text()
    section = text.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert [c.strip() for c in commands] == ["pip install -e . && sparsead bench",
                                            'pip install -e ".[test,plot]" && python -m pytest']
    assert "README" in (ROOT / ".ci" / "run").read_text()  # .ci/run reads them from here


def test_commands_name_only_files_the_repository_has():
    outputs = {"--output", "-o", "--csv", "--json"}
    for block in _blocks("bash"):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line.startswith("sparsead "):
                continue
            words = shlex.split(line)
            for prev, word in zip(words, words[1:]):
                is_path = "/" in word or word.endswith((".mtx", ".gz", ".npz", ".csv"))
                if prev in outputs or word.startswith("-") or not is_path:
                    continue
                if re.match(r"[A-Z_]+/", word):  # a placeholder the text explains
                    continue
                assert not word.startswith(".."), f"{line!r} points outside the repository"
                assert (ROOT / word).exists(), f"{line!r} names {word!r}, not in the repository"
