"""Binder and Colab entry points, and the Colab leg's pins (``make test-colab``).

The README's Binder badge builds the repository's main branch on mybinder.org, which reads the
root ``environment.yml`` (no ``binder/`` folder overrides it). The Makefile's Colab leg pins
Colab's ipywidgets and the oldest jax, jaxlib, optax, matplotlib and numpy that
``pyproject.toml`` allows: a floor raised in one place must be raised in the other.
"""

import re
from pathlib import Path

from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_readme_has_a_binder_badge_that_builds_from_environment_yml():
    badge = re.search(
        r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
        r"\((https://mybinder\.org/v2/gh/([\w-]+/[\w-]+)/main\?urlpath=lab/tree/notebooks)\)",
        README,
    )
    assert badge, "README.md has no Binder badge opening notebooks/ in JupyterLab"
    assert PYPROJECT["project"]["urls"]["Source"].endswith(badge.group(2))
    assert (ROOT / "environment.yml").is_file()
    # repo2docker reads binder/ or .binder/ first, where it exists.
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()


def _colab_pins() -> dict:
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (line,) = re.findall(r"^COLAB_PINS := (.+)$", text, flags=re.MULTILINE)
    return {Requirement(p).name: str(Requirement(p).specifier) for p in line.split()}


def test_colab_leg_pins_the_floors_of_pyproject():
    floors = {}
    for text in PYPROJECT["project"]["dependencies"]:
        req = Requirement(text)
        floors[req.name] = next(s.version for s in req.specifier if s.operator == ">=")
    pins = _colab_pins()
    assert pins["ipywidgets"] == "==7.7.1" and pins["ipykernel"] == "==6.17.1"  # Colab's own
    for name in ("jax", "jaxlib", "optax", "matplotlib", "numpy"):
        pinned = pins[name].removeprefix("==")
        assert pinned.startswith(floors[name]), (
            f"make test-colab pins {name}=={pinned}, but pyproject.toml's floor is "
            f"{floors[name]}: pin the floor (or raise the floor in pyproject.toml and "
            "environment.yml too)"
        )
