"""vgwidgets: see vanishing and exploding gradients happen, and fix them.

Layers, each importing only those before it: ``vgwidgets.engine`` (pure JAX) ->
``vgwidgets.experiments`` (data and paper reproductions) -> ``vgwidgets.plotting`` (matplotlib)
-> ``vgwidgets.widgets`` (ipywidgets). ``import vgwidgets`` loads the engine only; the widget
names are imported on first use, so the computation layer never pulls in a GUI toolkit.

The public names are the engine's (``vgwidgets.engine.__all__``, listed once, there) and the
lazy ones in ``_LAZY``; ``__all__`` and ``dir(vgwidgets)`` are built from those two lists.
"""

from . import engine as _engine
from ._version import __version__
from .engine import *  # noqa: F403 -- exactly vgwidgets.engine.__all__

# name -> the public module it is imported from on first use (``__getattr__``, PEP 562).
_LAZY = {
    "ChainExplorer": "vgwidgets.widgets",
    "FixComparison": "vgwidgets.widgets",
    "FixSpec": "vgwidgets.experiments",
    "RegimeExplorer": "vgwidgets.widgets",
}

__all__ = sorted(["__version__", *_engine.__all__, *_LAZY])


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # the next look-up is an ordinary attribute
        return value
    raise AttributeError(f"module 'vgwidgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
