"""Nielsen's chain drawn: the activation's slope at each layer, and the factors of eq. 122.

Two panels. Left: ``phi(z)`` and ``phi'(z)`` with every layer's operating point
``(z_j, phi'(z_j))`` and the bound ``sup phi'`` (1/4 for the sigmoid). Right, on a log axis:
``|phi'(z_1)|`` for layer 1 and ``|w_j phi'(z_j)|`` for ``j = 2..L`` as bars from 1 (up for a
factor that grows the gradient, down for one that shrinks it), the gradient
``|dC/db_j|`` that the product formula gives each layer as a line, and the line ``1`` that
separates shrinking factors from growing ones (Nielsen, *Neural Networks and Deep Learning*,
ch. 5, eq. 122).

The figure is built once by ``chain_figure`` and redrawn in place by ``update_chain_figure``, so a
widget can call the latter on every change. It draws arrays it is given and compiles nothing:
the curves come from ``vgwidgets.experiments.activation_curve``. Values the log axis cannot show
are drawn for what they are (``_figure.py``): an ``inf`` (float32 overflow) is clipped to the top
and marked, an exact 0 is marked at the bottom, a ``nan`` is marked in the middle, and a note in
the panel says so.
"""

from __future__ import annotations

import fractions
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ._figure import (
    MARK_HEIGHTS,
    agg_figure,
    changing,
    clip_to_axis,
    log_limits,
    log_y,
    steady_count,
    twin_x,
    unplaceable_note,
)

MAX_LAYERS = 30
_LAYER1 = "tab:orange"
_FACTOR = "tab:blue"
_OVERFLOW = "tab:red"


class ChainArtists(NamedTuple):
    """Handles to everything ``update_chain_figure`` changes; built once by ``chain_figure``.

    Attributes:
      figure: the ``matplotlib.figure.Figure`` (with an Agg canvas, not known to pyplot).
      ax_slope, ax_phi: the left panel's axes, ``phi'`` (left scale) and its twin for ``phi``.
      ax_bars: the right panel's log axis.
      phi_line, slope_line: the curves ``phi(z)`` and ``phi'(z)``.
      points: the operating points ``(z_j, phi'(z_j))``, layer 1 excluded.
      first_point: the operating point of layer 1.
      bound_line, bound_text: ``sup phi'`` and its label.
      bars: one ``Rectangle`` per possible layer (``max_layers`` of them; unused ones hidden).
      running_line: ``|dC/db_j|`` per layer.
      one_line: the reference ``1``.
      inf_marks, zero_marks, nan_marks: markers for values the log axis cannot place.
      note: the text that names overflow, exact zeros and nan.
      title: the figure's title.
    """

    figure: Figure
    ax_slope: object
    ax_phi: object
    ax_bars: object
    phi_line: Line2D
    slope_line: Line2D
    points: Line2D
    first_point: Line2D
    bound_line: Line2D
    bound_text: object
    bars: tuple
    running_line: Line2D
    one_line: Line2D
    inf_marks: Line2D
    zero_marks: Line2D
    nan_marks: Line2D
    note: object
    title: object


class ChainPlotData(NamedTuple):
    """What ``update_chain_figure`` drew, as NumPy arrays; per-layer arrays have shape ``(L,)``.

    Attributes:
      layers: ``1..L``.
      bars: the bar values ``|phi'(z_1)|, |w_2 phi'(z_2)|, ..., |w_L phi'(z_L)|`` (may hold
        ``inf``, 0 or ``nan``).
      bar_ends: where the bars end (they start at 1): ``bars`` with ``inf`` clipped to the axis
        top and 0 and ``nan`` put at the axis bottom.
      running: ``|dC/db_j|`` by the product formula (``ChainResult.product_b``).
      running_drawn: the line's drawn values: ``running`` clipped like ``bar_ends``.
      ylim: the log axis limits ``(bottom, top)``, finite and positive.
      z_grid, phi, slope: the curves ``phi(z)`` and ``phi'(z)`` (``ActivationCurve``'s).
      points_z, points_slope: ``z_j`` and ``phi'(z_j)`` (``nan`` where ``z_j`` is not finite).
      bound: ``sup phi'``.
      overflow: whether any bar or running value is ``inf``.
      note: the note's text ("" when every value is drawable).
    """

    layers: np.ndarray
    bars: np.ndarray
    bar_ends: np.ndarray
    running: np.ndarray
    running_drawn: np.ndarray
    ylim: tuple
    z_grid: np.ndarray
    phi: np.ndarray
    slope: np.ndarray
    points_z: np.ndarray
    points_slope: np.ndarray
    bound: float
    overflow: bool
    note: str


def bound_label(bound: float) -> str:
    """``"sup φ' = 1/4"`` for 0.25: a simple fraction where there is one, else ``%.3g``."""
    fraction = fractions.Fraction(bound).limit_denominator(16)
    if abs(float(fraction) - bound) < 1e-12 and fraction.denominator > 1:
        text = f"{fraction.numerator}/{fraction.denominator}"
    else:
        text = f"{bound:.3g}"
    return f"sup $\\varphi'$ = {text}"


def chain_figure(*, max_layers: int = MAX_LAYERS, figsize=(11.0, 4.4)) -> ChainArtists:
    """Build the chain figure once, empty; ``update_chain_figure`` fills it.

    The figure is a ``matplotlib.figure.Figure`` with an Agg canvas: no pyplot figure manager,
    so nothing is added to ``pyplot``'s list of figures and nothing is shown by itself.

    Args:
      max_layers: the most layers the figure will be asked to draw (one bar each).
      figsize: inches.

    Returns:
      A ``ChainArtists``.
    """
    if isinstance(max_layers, bool) or not isinstance(max_layers, int) or max_layers < 1:
        raise ValueError(f"max_layers must be a positive integer; got {max_layers!r}.")
    fig, (ax_slope, ax_bars) = agg_figure(figsize, ncols=2)
    fig.subplots_adjust(left=0.06, right=0.79, bottom=0.22, top=0.84, wspace=0.38)
    ax_phi = twin_x(ax_slope)
    title = changing(fig.suptitle("", fontsize=12))

    # Left: phi on the twin (right) scale, in grey; phi' and its operating points on the left.
    (phi_line,) = ax_phi.plot([], [], color="0.55", lw=1.2, ls="--")
    (slope_line,) = ax_slope.plot([], [], color=_FACTOR, lw=2)
    bound_line = ax_slope.axhline(0.25, color="k", lw=1, ls=":")
    bound_text = ax_slope.text(
        0.02, 0.25, "", transform=ax_slope.get_yaxis_transform(), ha="left", va="bottom"
    )
    (points,) = ax_slope.plot([], [], "o", color=_FACTOR, mec="k", ms=7, zorder=3)
    (first_point,) = ax_slope.plot([], [], "D", color=_LAYER1, mec="k", ms=7, zorder=4)
    # Axis labels in plain Unicode, not mathtext: they are redrawn whenever a limit moves.
    ax_slope.set_xlabel("z")
    ax_slope.set_ylabel("φ′(z)", color=_FACTOR)
    ax_phi.set_ylabel("φ(z)", color="0.4")
    ax_slope.set_title("activation and its slope", fontsize=11)
    ax_phi.legend(
        [slope_line, phi_line, first_point, points],
        [
            "$\\varphi'(z)$ (left scale)",
            "$\\varphi(z)$ (right scale)",
            "layer 1: $(z_1, \\varphi'(z_1))$",
            "layers $j \\geq 2$: $(z_j, \\varphi'(z_j))$",
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.15),
        fontsize=8,
        ncol=2,
        frameon=False,
    )

    # Right: one bar per possible layer, a log axis, the running product, the reference 1.
    layers = np.arange(1, max_layers + 1)
    bars = ax_bars.bar(layers, np.ones(max_layers), bottom=1.0, width=0.8, color=_FACTOR)
    bars.patches[0].set_facecolor(_LAYER1)
    log_y(ax_bars)
    one_line = ax_bars.axhline(1.0, color="k", lw=1, ls="--", zorder=2.5)
    (running_line,) = ax_bars.plot([], [], "k.-", lw=1.5, ms=6, zorder=3)
    xaxis = ax_bars.get_xaxis_transform()
    (inf_marks,) = ax_bars.plot(
        [], [], "^", color=_OVERFLOW, ms=8, mec="k", transform=xaxis, clip_on=False, zorder=4
    )
    (zero_marks,) = ax_bars.plot(
        [], [], "v", color="0.3", ms=8, transform=xaxis, clip_on=False, zorder=4
    )
    (nan_marks,) = ax_bars.plot(
        [], [], "X", color=_OVERFLOW, ms=9, transform=xaxis, clip_on=False, zorder=4
    )
    note = changing(ax_bars.text(
        1.03, 0.0, "", transform=ax_bars.transAxes, ha="left", va="bottom", fontsize=9,
        color=_OVERFLOW, fontweight="bold",
    ))  # fmt: skip
    ax_bars.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_bars.set_xlabel("layer j")
    ax_bars.set_title("factors per layer (log scale)", fontsize=11)
    ax_bars.legend(
        [Patch(color=_LAYER1), Patch(color=_FACTOR), running_line, one_line],
        [
            "$|\\varphi'(z_1)|$ (layer 1)",
            "$|w_j\\, \\varphi'(z_j)|$, $j \\geq 2$",
            "$|\\partial C/\\partial b_j|$:\nproduct from $j$ to $L$",
            "1: bars start here;\nabove grows, below shrinks",
        ],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8,
        frameon=False,
    )
    return ChainArtists(
        fig, ax_slope, ax_phi, ax_bars, phi_line, slope_line, points, first_point, bound_line,
        bound_text, tuple(bars.patches), running_line, one_line, inf_marks, zero_marks,
        nan_marks, note, title,
    )  # fmt: skip


def update_chain_figure(artists: ChainArtists, result, curve, *, title: str = "") -> ChainPlotData:
    """Redraw the figure of ``chain_figure`` in place for ``result``; nothing is rebuilt.

    Args:
      artists: from ``chain_figure``.
      result: a ``ChainResult`` (``vgwidgets.chain``'s) with ``L <= max_layers`` layers.
      curve: the activation ``result`` was computed with, sampled:
        ``vgwidgets.experiments.activation_curve(activation, result.z)``.
      title: the figure's title.

    Returns:
      A ``ChainPlotData`` of the values given to the artists.

    Example:
      >>> import vgwidgets as vg
      >>> from vgwidgets.experiments import activation_curve
      >>> result = vg.chain([2.0] * 3, [0.0] * 3, 1.0)
      >>> artists = chain_figure()
      >>> data = update_chain_figure(artists, result, activation_curve("sigmoid", result.z))
      >>> data.bars.shape
      (3,)
    """
    z = np.asarray(result.z, np.float64)
    n = z.shape[0]
    if not 1 <= n <= len(artists.bars):
        raise ValueError(
            f"result must have 1 to {len(artists.bars)} layers (the figure's max_layers); got {n}."
        )
    layers = np.arange(1, n + 1)
    slopes = np.asarray(result.derivatives, np.float64)
    with np.errstate(invalid="ignore"):
        bars = np.abs(
            np.concatenate([[float(result.first_derivative)], np.asarray(result.factors, float)])
        )
        running = np.abs(np.asarray(result.product_b, np.float64))

    # Left panel: the curves over their grid (which holds every finite z_j).
    z_grid, phi, slope = curve.z, curve.phi, curve.slope
    half_width = curve.half_width
    points_z = np.where(np.isfinite(z), z, np.nan)
    points_slope = np.where(np.isfinite(z), slopes, np.nan)
    artists.phi_line.set_data(z_grid, phi)
    artists.slope_line.set_data(z_grid, slope)
    artists.first_point.set_data(points_z[:1], points_slope[:1])
    artists.points.set_data(points_z[1:], points_slope[1:])
    bound = curve.bound
    artists.bound_line.set_ydata([bound, bound])
    artists.bound_text.set_y(bound)
    artists.bound_text.set_text(bound_label(bound))
    artists.ax_slope.set_xlim(-half_width, half_width)
    low = min(0.0, float(np.nanmin(slope)))
    high = max(bound, float(np.nanmax(slope)))
    artists.ax_slope.set_ylim(low - 0.08 * (high - low), high + 0.25 * (high - low))
    phi_low, phi_high = float(np.nanmin(phi)), float(np.nanmax(phi))
    pad = 0.08 * (phi_high - phi_low) or 1.0
    artists.ax_phi.set_ylim(phi_low - pad, phi_high + pad)
    slope_title = f"{curve.name}: $\\varphi(z)$ = {curve.formula}, and its slope"
    if artists.ax_slope.get_title() != slope_title:  # set_title marks the figure stale
        artists.ax_slope.set_title(slope_title, fontsize=11)

    # Right panel: clip what a log axis cannot show, and mark it.
    bottom, top = log_limits(bars, running, steady=True)
    bar_ends = clip_to_axis(bars, bottom, top)
    running_drawn = clip_to_axis(running, bottom, top)
    for j, rect in enumerate(artists.bars):
        rect.set_visible(j < n)
        if j < n:
            rect.set_y(1.0)  # bars start at 1: up for a growing factor, down for a shrinking one
            rect.set_height(bar_ends[j] - 1.0)
            rect.set_hatch("//" if np.isinf(bars[j]) else None)
            rect.set_edgecolor(_OVERFLOW if np.isinf(bars[j]) else "none")
    artists.running_line.set_data(layers, running_drawn)
    both = np.concatenate([bars, running])
    both_layers = np.concatenate([layers, layers])
    inf_at = np.unique(both_layers[np.isinf(both)])
    zero_at = np.unique(both_layers[both == 0])
    nan_at = np.unique(both_layers[np.isnan(both)])
    artists.inf_marks.set_data(inf_at, np.full(inf_at.shape, MARK_HEIGHTS["inf"]))
    artists.zero_marks.set_data(zero_at, np.full(zero_at.shape, MARK_HEIGHTS["zero"]))
    artists.nan_marks.set_data(nan_at, np.full(nan_at.shape, MARK_HEIGHTS["nan"]))
    artists.ax_bars.set_ylim(bottom, top)
    artists.ax_bars.set_xlim(0.4, steady_count(n) + 0.6)
    note = unplaceable_note(bars, running)
    artists.note.set_text(note)
    artists.title.set_text(title)
    return ChainPlotData(
        layers=layers,
        bars=bars,
        bar_ends=bar_ends,
        running=running,
        running_drawn=running_drawn,
        ylim=(bottom, top),
        z_grid=z_grid,
        phi=phi,
        slope=slope,
        points_z=points_z,
        points_slope=points_slope,
        bound=bound,
        overflow=bool(np.any(np.isinf(both))),
        note=note,
    )


def plot_chain(result, curve, *, title: str = "") -> Figure:
    """The chain figure for one ``result``, built and drawn in one call (for static use).

    Args:
      result: a ``ChainResult``.
      curve: ``vgwidgets.experiments.activation_curve(activation, result.z)``.
      title: the figure's title.

    Example:
      >>> import vgwidgets as vg
      >>> from vgwidgets.experiments import activation_curve
      >>> result = vg.chain([100.0] * 4, vg.centred_biases([100.0] * 4, 0.5), 0.5)
      >>> fig = plot_chain(result, activation_curve("sigmoid", result.z),
      ...                  title="Nielsen's exploding chain")
    """
    artists = chain_figure(max_layers=max(1, int(np.shape(result.z)[0])))
    update_chain_figure(artists, result, curve, title=title)
    return artists.figure
