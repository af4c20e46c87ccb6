"""A pytest plugin: nbval's run of a lesson ends by checking the learner's widget (issue 14).

After Run All, the explorer a lesson invites the learner to play with must show the state the
text around it describes, so no later cell may drive it (notebooks/CONTRIBUTING.md). For every
notebook that nbval collects and that has the one cell ``explorer = vg.X(...)``, this plugin
appends one more item to the notebook's cells. It runs in the same kernel, after the last
cell, so the lesson is executed once (by nbval itself), not once more for this check. The
item builds a fresh widget from the same constructor expression (read from the cell with
``ast``) and compares every control's value with the learner's, widget by widget. A control
that a later cell moved fails the run, with its name, the value left and the value described.

The repository's ``conftest.py`` loads this plugin, so ``pytest --nbval-lax notebooks/`` (and
``make test``, and its Colab leg) runs the check; ``-p tests._nbval_state`` loads it elsewhere.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

LEARNER = "explorer"
ITEM_NAME = "Run All: the learner's explorer shows its described state"

# Defines the comparison in the kernel: every control (a widget with a value that is not a
# display: image, text, output) in the order of the widget tree, of the learner's and a fresh
# explorer; the differences as sentences.
COMPARE = '''\
def _vgwidgets_controls(widget, path="", found=None):
    import ipywidgets
    found = [] if found is None else found
    shown = (ipywidgets.Image, ipywidgets.HTML, ipywidgets.HTMLMath, ipywidgets.Label,
             ipywidgets.Output)
    if hasattr(widget, "value") and not isinstance(widget, shown):
        label = getattr(widget, "description", "") or type(widget).__name__
        found.append((f"{path}/{label}", repr(widget.value)))
    for index, child in enumerate(getattr(widget, "children", ())):
        _vgwidgets_controls(child, f"{path}/{index}", found)
    return found


def _vgwidgets_differences(shown, fresh):
    shown, fresh = _vgwidgets_controls(shown), _vgwidgets_controls(fresh)
    if not shown:
        return ["the learner's widget has no control"]
    if [name for name, _ in shown] != [name for name, _ in fresh]:
        return [f"the controls differ: {shown} against a fresh widget's {fresh}"]
    return [
        f"{name} shows {value} where the lesson describes {expected}"
        for (name, value), (_, expected) in zip(shown, fresh)
        if value != expected
    ]
'''

CHECK = """\
{compare}
_vgwidgets_fresh = {expression}
_vgwidgets_found = _vgwidgets_differences({learner}, _vgwidgets_fresh)
_vgwidgets_fresh.close()
assert not _vgwidgets_found, (
    "after Run All the learner's widget is not in the state the lesson describes (a later cell "
    "drove it; see notebooks/CONTRIBUTING.md): " + "; ".join(_vgwidgets_found)
)
"""


def constructor(cells) -> str | None:
    """The source of the call in the one ``explorer = vg.X(...)`` code cell, or ``None``.

    Raises:
      ValueError: if more than one cell assigns such a call to ``explorer``.
    """
    calls = []
    for cell in cells:
        if cell.cell_type != "code" or not re.search(rf"^\s*{LEARNER}\s*=", cell.source, re.M):
            continue
        for node in ast.parse(cell.source).body:
            if (
                isinstance(node, ast.Assign)
                and [ast.unparse(t) for t in node.targets] == [LEARNER]
                and isinstance(node.value, ast.Call)
            ):
                calls.append(ast.get_source_segment(cell.source, node.value))
    if len(calls) > 1:
        raise ValueError(f"expected one `{LEARNER} = vg.X(...)` cell; found {len(calls)}")
    return calls[0] if calls else None


def check_source(expression: str) -> str:
    """The code of the item that nbval runs after a lesson's last cell."""
    return CHECK.format(compare=COMPARE, expression=expression, learner=LEARNER)


def pytest_collection_modifyitems(session, config, items):
    """After each notebook's last cell, one more cell: the learner's widget, checked."""
    try:
        import nbformat
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval absent: no notebook is collected either
        return
    last = {}  # notebook collector -> index of its last cell item
    for index, item in enumerate(items):
        if isinstance(item, IPyNbCell):
            last[item.parent] = index
    for notebook, index in sorted(last.items(), key=lambda pair: -pair[1]):
        expression = constructor(notebook.nb.cells)
        if expression is None:
            continue
        cell = nbformat.v4.new_code_cell(check_source(expression))
        item = IPyNbCell.from_parent(
            notebook,
            name=ITEM_NAME,
            cell_num=items[index].cell_num + 1,
            cell=cell,
            options=defaultdict(bool, check=False),
        )
        items.insert(index + 1, item)
