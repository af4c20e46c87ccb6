"""The widget layer: ipywidgets explorers that wire controls to the engine and the plotting.

Each explorer is an ``ipywidgets.VBox``: evaluate it in a notebook cell to show it.
"""

from ._chain_explorer import ChainControls, ChainExplorer

__all__ = ["ChainControls", "ChainExplorer"]
