"""``import vgwidgets``: its public names, listed once, all reachable, all shown by ``dir``."""

import json
import subprocess
import sys

import pytest

import vgwidgets
from vgwidgets import engine


def test_all_is_engine_names_lazy_names_and_the_version():
    assert len(vgwidgets.__all__) == len(set(vgwidgets.__all__))
    eager = set(vgwidgets.__all__) - {"__version__", *vgwidgets._LAZY}
    assert eager <= set(engine.__all__), eager - set(engine.__all__)
    assert {"MLPConfig", "probe", "chain", "register_initializer"} <= eager


@pytest.mark.parametrize("name", vgwidgets.__all__)
def test_every_public_name_resolves_and_is_listed_by_dir(name):
    assert name in dir(vgwidgets)
    value = getattr(vgwidgets, name)
    if name in engine.__all__:
        assert value is getattr(engine, name)
    elif name in vgwidgets._LAZY:
        module = __import__(vgwidgets._LAZY[name], fromlist=[name])
        assert value is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'ChainExplorr'"):
        vgwidgets.ChainExplorr  # noqa: B018
    assert not hasattr(vgwidgets, "ChainExplorr")


def test_import_and_dir_load_no_gui_until_an_explorer_is_asked_for():
    """In a fresh interpreter: ``import vgwidgets`` and ``dir(vgwidgets)`` load the engine only;
    the first look-up of an explorer imports the widgets."""
    code = (
        "import json, sys, vgwidgets\n"
        "names = dir(vgwidgets)\n"
        "gui = lambda: sorted(m for m in ('ipywidgets', 'matplotlib') if m in sys.modules)\n"
        "before = gui()\n"
        "vgwidgets.ChainExplorer\n"
        "print(json.dumps([before, gui(), 'RegimeExplorer' in names]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    before, after, listed = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == [] and after == ["ipywidgets", "matplotlib"] and listed
