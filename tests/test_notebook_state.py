"""After Run All, each lesson's widget shows the state its text describes (issue 14).

The check itself runs inside nbval's run of every lesson (``tests/_nbval_state.py``, loaded by
the repository's ``conftest.py``): after the last cell, in the same kernel, the learner's
``explorer`` is compared control by control with a fresh one built by the same constructor
expression. These tests check the plugin: that it adds the check to every lesson, and that the
check passes on a notebook that leaves its widget alone and fails, naming the control, on one
that moves it afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ipywidgets
import nbformat
import pytest

from tests import _nbval_state

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _compare():
    namespace = {}
    exec(_nbval_state.COMPARE, namespace)  # noqa: S102  (our own source, as the kernel runs it)
    return namespace["_vgwidgets_differences"]


def test_the_comparison_names_a_moved_control():
    differences = _compare()

    def widget(depth):
        return ipywidgets.VBox(
            [ipywidgets.IntSlider(depth, description="depth L"), ipywidgets.HTML("text")]
        )

    assert differences(widget(20), widget(20)) == []
    assert differences(widget(50), widget(20)) == ["/0/depth L shows 50 where the lesson describes 20"]
    assert differences(ipywidgets.VBox([ipywidgets.HTML("x")]), widget(20)) == [
        "the learner's widget has no control"
    ]
    other = ipywidgets.VBox([ipywidgets.FloatSlider(1.0, description="weight")])
    assert differences(other, widget(20))[0].startswith("the controls differ")


def test_the_constructor_is_read_from_the_one_explorer_cell():
    cells = [
        nbformat.v4.new_markdown_cell("explorer = not code"),
        nbformat.v4.new_code_cell("import vgwidgets as vg"),
        nbformat.v4.new_code_cell("explorer = vg.RegimeExplorer(depth=30)  # yours\nexplorer"),
        nbformat.v4.new_code_cell("check = vg.RegimeExplorer(depth=60)"),
    ]
    assert _nbval_state.constructor(cells) == "vg.RegimeExplorer(depth=30)"
    assert _nbval_state.constructor(cells[:2]) is None
    with pytest.raises(ValueError, match="one `explorer = vg.X"):
        _nbval_state.constructor([*cells, nbformat.v4.new_code_cell("explorer = vg.X()")])


@pytest.fixture(scope="module")
def collected() -> dict:
    """``{notebook name: [item ids]}`` from one ``pytest --collect-only`` of every lesson, as
    ``make test`` runs nbval (one process for all: each would cost a pytest start-up)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax",
         "--nbval-current-env", *map(str, NOTEBOOKS)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    items: dict = {}
    for line in done.stdout.splitlines():
        if "::" in line:
            items.setdefault(Path(line.split("::", 1)[0]).name, []).append(line)
    return items


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_lesson_with_a_widget_gets_the_check(collected, path):
    """nbval's run of the lesson ends with the check (collected only: nothing runs here)."""
    items = collected.get(path.name, [])
    assert items, f"nothing collected from {path.name}"
    assert _nbval_state.constructor(nbformat.read(path, as_version=4).cells) is not None
    assert items[-1].endswith("::" + _nbval_state.ITEM_NAME), items[-3:]


def _notebook(folder: Path, name: str, *later: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import vgwidgets as vg"),
        nbformat.v4.new_code_cell("explorer = vg.ChainExplorer(n_layers=4)\nexplorer"),
        nbformat.v4.new_code_cell("check = vg.ChainExplorer(n_layers=4)\n"
                                  "check.controls.n_layers.value = 7"),
        *(nbformat.v4.new_code_cell(source) for source in later),
    ]  # fmt: skip
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_the_check_passes_a_lesson_that_leaves_its_widget_and_fails_one_that_moves_it(tmp_path):
    good = _notebook(tmp_path, "good.ipynb", "explorer.result.product")
    moved = _notebook(tmp_path, "moved.ipynb", "explorer.controls.n_layers.value = 6")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests._nbval_state", "--nbval-lax",
         "--nbval-current-env", "-p", "no:cacheprovider", str(good), str(moved)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    failed = [line for line in out.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and f"{moved.name}::{_nbval_state.ITEM_NAME}" in failed[0], failed
    assert "layers L shows 6 where the lesson describes 4" in out
    assert "1 failed, 9 passed" in out, out[-2000:]
