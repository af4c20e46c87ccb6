"""The drawing layer: matplotlib figures from the engine's plain results (no ipywidgets).

Each figure is built once and redrawn in place, so a widget updates artists instead of building
a new figure on every change; the figures are ``matplotlib.figure.Figure`` objects with an Agg
canvas, never registered with pyplot.
"""

from ._chain_plot import (
    MAX_LAYERS,
    ChainArtists,
    ChainPlotData,
    bound_label,
    chain_figure,
    plot_chain,
    update_chain_figure,
)
from ._fix_plot import FixArtists, FixCurve, FixPlotData, fix_figure, update_fix_figure
from ._regime_plot import RegimeArtists, RegimePlotData, regime_figure, update_regime_figure

__all__ = [
    "MAX_LAYERS",
    "ChainArtists",
    "ChainPlotData",
    "FixArtists",
    "FixCurve",
    "FixPlotData",
    "RegimeArtists",
    "RegimePlotData",
    "bound_label",
    "chain_figure",
    "fix_figure",
    "plot_chain",
    "regime_figure",
    "update_chain_figure",
    "update_fix_figure",
    "update_regime_figure",
]
