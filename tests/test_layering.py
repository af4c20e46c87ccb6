"""The package's layering, read from the source with ``ast`` (nothing is imported).

The rule (README, "Project layout"): layers run one way,
engine -> experiments -> plotting -> widgets -> bench -> the command line and the package's own
``__init__``. A module may import from its own layer and those below it, never above. Besides:

- ``plotting`` imports neither ``ipywidgets`` nor ``jax``, nor the engine or experiments (which
  import JAX): it draws the arrays it is given, so it cannot compile a JAX function;
- only public names cross a subpackage line: code in one subpackage imports another's names from
  that subpackage's ``__init__`` (``from ..engine import probe``), never from a private module
  (``from ..engine._mlp import x``, ``import vgwidgets.engine._x``) and never a ``_name``.

Top-level modules: ``_version`` sits below everything; ``_info`` (versions and devices) beside
the engine; ``_cli``, ``__main__`` and ``__init__`` above everything. Imports inside functions
count as much as those at the top of a module: a lazy import is still a dependency.

The last tests run the checker on small fake package trees with one forbidden import each and
check that it reports it, so that a checker which reports nothing cannot pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "vgwidgets"
# Subpackage (or top-level module) -> layer; a module imports only from layers <= its own.
LAYERS = {
    "_version": -1,
    "engine": 0,
    "_info": 0,
    "experiments": 1,
    "plotting": 2,
    "widgets": 3,
    "bench": 4,
    "_cli": 5,
    "__main__": 5,
    "": 5,  # the package's __init__: the public facade over every layer
}
SUBPACKAGES = ("engine", "experiments", "plotting", "widgets", "bench")
# Third-party packages a layer must not import.
FORBIDDEN = {"plotting": ("ipywidgets", "jax", "jaxlib")}
# Lower layers a layer must not import all the same: plotting compiles no JAX, through them either.
FORBIDDEN_BELOW = {"plotting": ("engine", "experiments")}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    """The layer unit of a module: its subpackage, its top-level module name, or '' (root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]):
    """``(line, target module, names imported from it)`` for every import in ``tree``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            names = []
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:  # ``from . import engine``: a module
                    yield node.lineno, f"{base}.{alias.name}", ()
                else:
                    names.append(alias.name)
            if names:
                yield node.lineno, base, tuple(names)


def violations(root: Path, package: str = PACKAGE) -> list[str]:
    """Every import in ``root/package`` that breaks the layering rule, one line each."""
    files = sorted((root / package).rglob("*.py"))
    modules = {_module_name(f, root) for f in files}
    found = []
    for path in files:
        module = _module_name(path, root)
        unit = _unit(module)
        where = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=where)
        for line, target, names in _imports(tree, module, path.name == "__init__.py", modules):
            top = target.split(".")[0]
            if top != package:
                if top in FORBIDDEN.get(unit, ()):
                    found.append(f"{where}:{line}: {unit} imports {target}")
                continue
            other = _unit(target)
            shown = f"{target} ({', '.join(names)})" if names else target
            if other in FORBIDDEN_BELOW.get(unit, ()):
                found.append(f"{where}:{line}: {unit} imports {shown}, which imports JAX")
            if LAYERS.get(other, 5) > LAYERS.get(unit, 5):
                found.append(f"{where}:{line}: {unit or package} imports {shown}, a layer above")
            if other in SUBPACKAGES and other != unit:
                private = [p for p in target.split(".")[2:] if p.startswith("_")]
                if private or any(n.startswith("_") for n in names):
                    found.append(
                        f"{where}:{line}: {unit or package} imports {shown}, private to {other}"
                    )
    return found


def test_the_package_follows_the_layering_rule():
    found = violations(ROOT)
    assert not found, "imports that break the layering rule:\n" + "\n".join(found)


def test_every_subpackage_and_top_level_module_has_a_layer():
    units = {_unit(_module_name(f, ROOT)) for f in (ROOT / PACKAGE).rglob("*.py")}
    assert units <= set(LAYERS), f"give these a layer in LAYERS: {sorted(units - set(LAYERS))}"


# ----------------------------------------------------------------------------------------------
# The checker, checked: fake trees with one forbidden import each

CLEAN = {
    "__init__.py": "from .engine import probe\nfrom ._version import __version__\n",
    "_version.py": "__version__ = '0'\n",
    "_cli.py": "from .bench import run\nfrom .experiments import REPRODUCTIONS\n",
    "engine/__init__.py": "from ._mlp import probe\n",
    "engine/_mlp.py": "import jax\nfrom ._params import check\n\ndef probe():\n    pass\n",
    "engine/_params.py": "import numpy as np\n",
    "experiments/__init__.py": "from ._nielsen import REPRODUCTIONS\n",
    "experiments/_nielsen.py": "import jax\nfrom ..engine import probe\n",
    "plotting/__init__.py": "from ._figure import draw\n",
    "plotting/_figure.py": "import numpy as np\nfrom matplotlib.figure import Figure\n",
    "widgets/__init__.py": "from ._base import Explorer\n",
    "widgets/_base.py": "import ipywidgets\nfrom ..plotting import draw\n"
    "from vgwidgets.experiments import REPRODUCTIONS\n",
    "bench/__init__.py": "from ._run import run\n",
    "bench/_run.py": "from .. import widgets\nfrom .._info import info\n",
    "_info.py": "from ._version import __version__\n",
}
BROKEN = {
    "engine above itself": ("engine/_params.py", "from ..widgets import Explorer", "above"),
    "engine, lazily": ("engine/_mlp.py", "def f():\n    import vgwidgets.bench", "above"),
    "engine to _cli": ("engine/_params.py", "from .. import _cli", "above"),
    "experiments to plotting": ("experiments/_nielsen.py", "from ..plotting import draw", "above"),
    "plotting to ipywidgets": ("plotting/_figure.py", "import ipywidgets as W", "ipywidgets"),
    "plotting to jax": ("plotting/_figure.py", "import jax.numpy as jnp", "jax.numpy"),
    "plotting to jax, from": ("plotting/_figure.py", "from jax import jit", "imports jax"),
    "plotting to the engine": ("plotting/_figure.py", "from ..engine import probe", "JAX"),
    "widgets to bench": ("widgets/_base.py", "from vgwidgets.bench import run", "above"),
    "private module": ("widgets/_base.py", "from ..engine._mlp import probe", "private"),
    "private module, absolute": ("bench/_run.py", "import vgwidgets.engine._params", "private"),
    "private module, by name": ("bench/_run.py", "from ..engine import _mlp", "private"),
    "private name": ("widgets/_base.py", "from vgwidgets.plotting import _clip", "private"),
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_passes_a_clean_tree(tmp_path):
    _write(tmp_path, CLEAN)
    assert violations(tmp_path) == []


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_checker_reports_a_forbidden_import(tmp_path, case):
    name, line, needle = BROKEN[case]
    _write(tmp_path, {**CLEAN, name: CLEAN[name] + line + "\n"})
    found = violations(tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{PACKAGE}/{name}:") and needle in found[0], found
