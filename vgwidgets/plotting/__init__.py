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
    FigureRenderer,
    ShownFigure,
    agg_figure,
    changing,
    clip_to_axis,
    figure_png,
    log_limits,
    rgba_png,
    unplaceable_note,
)
from ._fix_plot import COLORS, FixArtists, FixCurve, FixPlotData, fix_figure, update_fix_figure
from ._gradient_flow import (
    UPDATE_RATIO_GUIDE,
    GradientFlowPlotData,
    gradient_flow_data,
    plot_gradient_flow,
)
from ._jacobian_plot import jacobian_figure
from ._phase_plot import PhaseArtists, PhasePlotData, phase_figure, update_phase_map
from ._recurrent_plot import (
    CELL_COLOURS,
    RecurrentArtists,
    RecurrentPlotData,
    recurrent_figure,
    update_recurrent_figure,
)
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
    regime_artists,
    regime_figure,
    update_regime_figure,
)

__all__ = [
    "COLORS",
    "FLOAT_MAX",
    "MARK_HEIGHTS",
    "MAX_LAYERS",
    "PHASE_COLOURS",
    "UPDATE_RATIO_GUIDE",
    "ChainArtists",
    "ChainPlotData",
    "FixArtists",
    "FixCurve",
    "FigureRenderer",
    "FixPlotData",
    "GradientFlowPlotData",
    "PhaseArtists",
    "PhasePlotData",
    "RegimeArtists",
    "RegimePlotData",
    "ShownFigure",
    "RunPlotData",
    "TrainingArtists",
    "agg_figure",
    "bound_label",
    "chain_figure",
    "changing",
    "clip_to_axis",
    "figure_png",
    "fix_figure",
    "gradient_flow_data",
    "jacobian_figure",
    "log_limits",
    "phase_figure",
    "plot_chain",
    "plot_gradient_flow",
    "regime_artists",
    "regime_figure",
    "rgba_png",
    "render_training",
    "scrub_training_figure",
    "training_figure",
    "unplaceable_note",
    "update_chain_figure",
    "update_fix_figure",
    "update_phase_map",
    "update_regime_figure",
    "CELL_COLOURS",
    "RecurrentArtists",
    "RecurrentPlotData",
    "recurrent_figure",
    "update_recurrent_figure",
    "update_training_figure",
]
