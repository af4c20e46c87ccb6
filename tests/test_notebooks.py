"""The shape of every notebook in ``notebooks/`` (shared/STYLE.md, point 7), checked without a kernel.

Each notebook: valid nbformat 4 with the python3 kernelspec; committed without outputs or
execution counts, except cells marked ``# NBVAL_CHECK_OUTPUT`` (text outputs that nbval compares);
a first code cell that installs vgwidgets only in Colab; an "Open in Colab" badge pointing at
the notebook's own path on vgwidgets/vgwidgets main; the sections objectives, prediction, what to
look for, exercise, summary and references, in that order; and only the public API imported.
Running the notebooks is nbval's job (``make test-notebooks``), not this file's.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
COLAB = "https://colab.research.google.com/github/vgwidgets/vgwidgets/blob/main/"
BADGE = re.compile(
    r"\[!\[[^\]]*\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
    r"\((?P<url>[^)\s]+)\)"
)
# Matched case-insensitively against the notebook's markdown headings, in this order.
SECTIONS = ("objectives", "prediction", "what to look for", "exercise", "summary", "references")
# The Colab cell installs vgwidgets alone: naming jax & co. (or --upgrade) would replace Colab's own.
INSTALL = re.compile(r"^\s+%pip install -q vgwidgets\s*$")

pytestmark = pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])


def _read(path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _checked(cell) -> bool:
    return cell.source.lstrip().startswith(CHECK_OUTPUT)


def _headings(nb) -> list[str]:
    headings = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings += [
                line.lstrip("#").strip().lower()
                for line in cell.source.splitlines()
                if re.match(r"^#{1,6}\s", line)
            ]
    return headings


def _python(source: str) -> str:
    """The cell as Python: IPython line magics and shell escapes become ``pass``."""
    if source.lstrip().startswith("%%"):
        return ""  # a cell magic: not Python
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in source.splitlines())


def _private(dotted: str) -> bool:
    """Whether a dotted name has a private part: ``_x``, but not a dunder like ``__version__``."""
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in dotted.split(".")
    )


def test_valid_nbformat_and_kernelspec(path):
    nb = _read(path)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    kernelspec = nb.metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", (
        f"{path.name}: kernelspec {kernelspec!r}; expected name 'python3' "
        "(nbval without --nbval-current-env looks the kernel up by this name)"
    )


def test_no_outputs_except_checked_cells(path):
    nb = _read(path)
    assert "widgets" not in nb.metadata, (
        f"{path.name}: saved widget state in the notebook's metadata; clear it before committing"
    )
    for index, cell in enumerate(_code_cells(nb)):
        where = f"{path.name}, code cell {index}"
        if not _checked(cell):
            assert cell.outputs == [], f"{where}: has outputs; commit it cleared"
            assert cell.execution_count is None, f"{where}: has an execution count"
            continue
        assert cell.outputs, f"{where}: marked {CHECK_OUTPUT} but holds no output to compare"
        # nbval refuses a reference cell that has outputs but no execution count.
        assert cell.execution_count is not None, f"{where}: outputs but no execution count"
        for output in cell.outputs:
            text_only = output.output_type == "stream" or set(output.get("data", {})) == {
                "text/plain"
            }
            assert text_only and output.output_type != "error", (
                f"{where}: a checked cell may only print text; got {output.output_type} "
                f"{sorted(output.get('data', {}))}"
            )


def test_first_code_cell_installs_only_in_colab(path):
    source = _code_cells(_read(path))[0].source
    lines = [line.split("#")[0].rstrip() for line in source.splitlines()]
    lines = [line for line in lines if line.strip()]
    assert lines[:2] == ["import sys", 'if "google.colab" in sys.modules:'], (
        f"{path.name}: the first code cell must begin `import sys` / "
        f'`if "google.colab" in sys.modules:`; got {lines[:2]!r}'
    )
    body = lines[2:]
    assert body and all(INSTALL.match(line) for line in body), (
        f"{path.name}: inside the Colab check, expected only an indented "
        f"`%pip install -q vgwidgets` (no other package, no --upgrade); got {body!r}"
    )


def test_colab_badge_names_this_notebook(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown", f"{path.name}: the first cell must be the title"
    match = BADGE.search(first.source)
    assert match, f"{path.name}: no Open in Colab badge in the first cell"
    expected = COLAB + path.relative_to(ROOT).as_posix()
    assert match["url"] == expected, (
        f"{path.name}: the badge opens {match['url']}; expected {expected}"
    )


def test_sections_present_in_order(path):
    headings = _headings(_read(path))
    positions = []
    for section in SECTIONS:
        found = [i for i, heading in enumerate(headings) if section in heading]
        assert found, f"{path.name}: no heading containing {section!r}; headings: {headings}"
        positions.append(found[0])
    assert positions == sorted(positions), (
        f"{path.name}: sections out of order; expected {SECTIONS}, headings: {headings}"
    )


def test_imports_only_public_api(path):
    aliases = set()  # names bound to vgwidgets modules, e.g. `vg`
    problems = []
    for index, cell in enumerate(_code_cells(_read(path))):
        tree = ast.parse(_python(cell.source), filename=f"{path.name}, code cell {index}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "vgwidgets":
                        if _private(alias.name):
                            problems.append(f"cell {index}: import {alias.name}")
                        aliases.add(alias.asname or "vgwidgets")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == (
                "vgwidgets"
            ):
                if _private(node.module):
                    problems.append(f"cell {index}: from {node.module} import ...")
                for alias in node.names:
                    if alias.name == "*" or _private(alias.name):
                        problems.append(f"cell {index}: from {node.module} import {alias.name}")
                    aliases.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in aliases:
                    problems.append(f"cell {index}: {ast.unparse(node)}")
    assert not problems, f"{path.name}: uses private parts of vgwidgets: {problems}"
