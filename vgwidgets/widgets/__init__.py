"""The widget layer: ipywidgets explorers that wire controls to the engine and the plotting.

Each explorer is an ``ipywidgets.VBox``: evaluate it in a notebook cell to show it. Every one
subclasses ``Explorer`` (controls wired to one refresh, a PNG of one figure, errors shown inside)
and is listed in ``EXPLORERS``. What they compute lives in ``vgwidgets.engine`` and
``vgwidgets.experiments`` (``FixSpec``, ``RegimeResult``, ...), what they draw in
``vgwidgets.plotting``.
"""

from ._base import Explorer
from ._cache import (
    compilation_cache_dir,
    default_cache_dir,
    disable_compilation_cache,
    enable_compilation_cache,
)
from ._chain_explorer import ChainControls, ChainExplorer
from ._fix_comparison import FixComparison, FixControls, SlotControls
from ._phase_diagram import PhaseControls, PhaseDiagram, PhaseResult
from ._recurrent_explorer import RecurrentControls, RecurrentExplorer
from ._regime_explorer import RegimeControls, RegimeExplorer
from ._training_explorer import TrainingControls, TrainingExplorer

# Every explorer class, for code that treats them alike (the shared tests, the benchmark).
EXPLORERS = (
    ChainExplorer,
    FixComparison,
    RegimeExplorer,
    PhaseDiagram,
    RecurrentExplorer,
    TrainingExplorer,
)

__all__ = [
    "EXPLORERS",
    "ChainControls",
    "ChainExplorer",
    "Explorer",
    "FixComparison",
    "FixControls",
    "PhaseControls",
    "PhaseDiagram",
    "PhaseResult",
    "RecurrentControls",
    "RecurrentExplorer",
    "RegimeControls",
    "RegimeExplorer",
    "SlotControls",
    "compilation_cache_dir",
    "default_cache_dir",
    "disable_compilation_cache",
    "enable_compilation_cache",
    "TrainingControls",
    "TrainingExplorer",
]
