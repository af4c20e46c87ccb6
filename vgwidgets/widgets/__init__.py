"""The widget layer: ipywidgets explorers that wire controls to the engine and the plotting.

Each explorer is an ``ipywidgets.VBox``: evaluate it in a notebook cell to show it.
"""

from ._chain_explorer import ChainControls, ChainExplorer
from ._fix_comparison import FixComparison, FixControls, FixSpec, SlotControls
from ._regime_explorer import RegimeControls, RegimeExplorer, RegimeResult

__all__ = [
    "ChainControls",
    "ChainExplorer",
    "FixComparison",
    "FixControls",
    "FixSpec",
    "RegimeControls",
    "RegimeExplorer",
    "RegimeResult",
    "SlotControls",
]
