"""The drawing layer: matplotlib figures from plain arrays (no ipywidgets, no JAX compilation).

Each figure is built once and redrawn in place, so a widget updates artists instead of building
a new figure on every change; the figures are ``matplotlib.figure.Figure`` objects with an Agg
canvas, never registered with pyplot, and ``figure_png`` renders one to PNG bytes. The figures
draw what the engine and ``vgwidgets.experiments`` computed: the chain's curves come from
``experiments.activation_curve``, the regime's prediction from ``experiments.regime_result``.
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
from ._figure import (
    FLOAT_MAX,
    MARK_HEIGHTS,
    agg_figure,
    clip_to_axis,
    figure_png,
    log_limits,
    unplaceable_note,
)
from ._fix_plot import COLORS, FixArtists, FixCurve, FixPlotData, fix_figure, update_fix_figure
from ._train_plot import (
    RunPlotData,
    TrainingArtists,
    render_training,
    scrub_training_figure,
    training_figure,
    update_training_figure,
)
from ._regime_plot import (
    PHASE_COLOURS,
    RegimeArtists,
    RegimePlotData,
    regime_figure,
    update_regime_figure,
)

__all__ = [
    "COLORS",
    "FLOAT_MAX",
    "MARK_HEIGHTS",
    "MAX_LAYERS",
    "PHASE_COLOURS",
    "ChainArtists",
    "ChainPlotData",
    "FixArtists",
    "FixCurve",
    "FixPlotData",
    "RegimeArtists",
    "RegimePlotData",
    "RunPlotData",
    "TrainingArtists",
    "agg_figure",
    "bound_label",
    "chain_figure",
    "clip_to_axis",
    "figure_png",
    "fix_figure",
    "log_limits",
    "plot_chain",
    "regime_figure",
    "render_training",
    "scrub_training_figure",
    "training_figure",
    "unplaceable_note",
    "update_chain_figure",
    "update_fix_figure",
    "update_regime_figure",
    "update_training_figure",
]
