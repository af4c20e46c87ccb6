"""The shape of every notebook in ``notebooks/`` (notebooks/CONTRIBUTING.md), checked without a kernel.

Each notebook: valid nbformat 4 with the python3 kernelspec; committed without outputs or
execution counts, except cells marked ``# NBVAL_CHECK_OUTPUT`` (text outputs that nbval compares);
a first code cell that installs vgwidgets only in Colab; an "Open in Colab" badge pointing at
the notebook's own path on vgwidgets/vgwidgets main; the sections objectives, prediction, what to
look for, exercise, summary and references, in that order; and only the public API imported.
The lesson shape: `# N. Title`, then the `##` sections objectives, prediction, Try it (the next
one after the prediction, opening with the one `explorer = vg.X(...)` cell), exercise, summary,
references and Solutions (the last heading), and no later cell driving `explorer`; a reordered copy
with the solutions above the widget must fail it. Running the notebooks is nbval's job
(``make test-notebooks``), whose run ends with tests/_nbval_state.py's check; not this file's.
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


# The lesson shape of notebooks/CONTRIBUTING.md: `##` headings in this order (matched
# case-insensitively as prefixes), "Try it" the first `##` after the prediction, "Solutions" the
# last heading of any level, and the learner's widget built once, as `explorer = vg.X(...)`.
LESSON_SECTIONS = ("learning objectives", "make a prediction", "try it", "exercise", "summary",
                   "references", "solutions")  # fmt: skip
LEARNER = "explorer"  # the one name the learner's widget is bound to
READS = {"result", "plotted", "error", "png", "summary", "status", "x", "y", "key", "width"}


def _heading_cells(nb) -> list[tuple[int, int, str]]:
    """``(cell index, level, lower-cased text)`` for every markdown heading, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^(#{1,6})\s+(.*)$", line)
                if match:
                    found.append((index, len(match[1]), match[2].strip().lower()))
    return found


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _widget_cell_problems(source: str) -> list[str]:
    """Problems with the Try-it cell: it must be `explorer = vg.X(...)`, then `explorer`."""
    tree = ast.parse(_python(source))
    body = tree.body
    if len(body) != 2:
        return [f"the Try-it cell must hold two statements (`{LEARNER} = vg.X(...)`, then "
                f"`{LEARNER}`); it holds {len(body)}"]  # fmt: skip
    first, last = body
    builds = (
        isinstance(first, ast.Assign)
        and [ast.unparse(t) for t in first.targets] == [LEARNER]
        and isinstance(first.value, ast.Call)
        and isinstance(first.value.func, ast.Attribute)
        and ast.unparse(first.value.func.value) == "vg"
    )
    problems = [] if builds else [f"the Try-it cell must begin `{LEARNER} = vg.<Widget>(...)`"]
    if not (isinstance(last, ast.Expr) and ast.unparse(last.value) == LEARNER):
        problems.append(f"the Try-it cell must end with `{LEARNER}` (to show the widget)")
    return problems


def _drives_learner(source: str) -> list[str]:
    """Statements of a later cell that rebind, drive or alias the learner's widget."""
    found = []
    for node in ast.walk(ast.parse(_python(source))):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, (ast.Name, ast.Attribute)) and _root_name(sub) == LEARNER:
                        found.append(f"assigns {ast.unparse(target)}")
                        break
            value = node.value
            if value is not None and _root_name(value) == LEARNER:
                found.append(f"binds another name to {ast.unparse(value)}")
        elif isinstance(node, (ast.For, ast.With, ast.NamedExpr)):
            target = node.target if not isinstance(node, ast.With) else None
            if target is not None and _root_name(target) == LEARNER:
                found.append(f"rebinds {LEARNER}")
        if isinstance(node, ast.Call) and _root_name(node.func) == LEARNER:
            found.append(f"calls {ast.unparse(node.func)}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
            node.value.id == LEARNER and node.attr not in READS
        ):
            found.append(f"uses {ast.unparse(node)} (only {sorted(READS)} may be read)")
    return found


def _structure_problems(nb) -> list[str]:
    """Every way ``nb`` departs from the lesson shape of notebooks/CONTRIBUTING.md."""
    problems = []
    first = nb.cells[0].source.splitlines()[0] if nb.cells else ""
    if not re.match(r"^# \d+\. \S", first):
        problems.append(f"the first line must be `# N. Title`; got {first!r}")
    headings = _heading_cells(nb)
    h2 = [(index, text) for index, level, text in headings if level == 2]
    where = {}
    for section in LESSON_SECTIONS:
        found = [i for i, (_, text) in enumerate(h2) if text.startswith(section)]
        if len(found) != 1:
            problems.append(f"expected one `## {section}...` heading, found {len(found)}")
        else:
            where[section] = found[0]
    order = [where[s] for s in LESSON_SECTIONS if s in where]
    if order != sorted(order):
        problems.append(f"`##` sections out of order: expected {LESSON_SECTIONS}, got "
                        f"{[text for _, text in h2]}")  # fmt: skip
    if "make a prediction" in where and "try it" in where:
        if where["try it"] != where["make a prediction"] + 1:
            problems.append("`## Try it` must be the next `##` section after the prediction")
    if headings and not headings[-1][2].startswith("solutions"):
        problems.append(f"`## Solutions` must be the last heading; the last is {headings[-1][2]!r}")
    builders = [
        index for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and re.search(rf"^\s*{LEARNER}\s*=", cell.source, re.M)
    ]  # fmt: skip
    if len(builders) != 1:
        return [*problems, f"expected one cell assigning `{LEARNER}`, found cells {builders}"]
    widget = builders[0]
    problems += _widget_cell_problems(nb.cells[widget].source)
    if "try it" in where:
        start = h2[where["try it"]][0]
        following = [i for i, c in enumerate(nb.cells) if i > start and c.cell_type == "code"]
        if not following or following[0] != widget:
            problems.append("the widget cell must be the first code cell under `## Try it`")
        after = nb.cells[widget + 1] if widget + 1 < len(nb.cells) else None
        if after is None or after.cell_type != "markdown":
            problems.append("a markdown cell of things to try must follow the widget cell")
    if "solutions" in where and h2[where["solutions"]][0] < widget:
        problems.append("the solutions come before the widget")
    for index, cell in enumerate(nb.cells):
        if index != widget and cell.cell_type == "code":
            for found in _drives_learner(cell.source):
                problems.append(f"code cell at {index} {found}: the learner's widget is theirs")
    return problems


def test_lesson_shape(path):
    problems = _structure_problems(_read(path))
    assert not problems, f"{path.name} (see notebooks/CONTRIBUTING.md): " + "; ".join(problems)


def test_lesson_shape_fails_when_solutions_precede_the_widget(path):
    """The shape test can fail: the same notebook with its solutions moved above the widget."""
    nb = _read(path)
    headings = _heading_cells(nb)
    solutions = [i for i, level, text in headings if level == 2 and text.startswith("solutions")]
    builds = re.compile(rf"^\s*{LEARNER}\s*=", re.M)
    widget = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and builds.search(c.source)]
    if not solutions or not widget:
        pytest.skip(f"{path.name} has no solutions section or widget cell to reorder")
    start = solutions[0]
    ends = [i for i, level, _ in headings if i > start and level <= 2]
    end = ends[0] if ends else len(nb.cells)
    moved = nb.cells[start:end]
    rest = nb.cells[:start] + nb.cells[end:]
    at = widget[0] if widget[0] < start else widget[0] - len(moved)
    nb.cells = rest[:at] + moved + rest[at:]
    problems = _structure_problems(nb)
    assert "the solutions come before the widget" in problems, problems
