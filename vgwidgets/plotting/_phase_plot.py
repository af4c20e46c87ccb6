"""The phase-diagram figure: a heat map of mean-field theory with the critical line and measured
networks on it, and the regime figure's two panels for the chosen point beside it.

Left: the map of a theory quantity over ``(sw^2, sb^2)`` (``ln chi1`` on a diverging scale
centred on 0, or a depth scale as ``log10``), the critical line ``chi1 = 1`` in black, the
measured networks as dots coloured on the same scale (where they agree with theory they vanish
into the map), and the chosen point as a cross. Middle and right: the regime panels
(``regime_artists``), redrawn by ``update_regime_figure``. Built once by ``phase_figure``;
``update_phase_map`` redraws the left panel in place.
"""

from __future__ import annotations

from typing import NamedTuple

import matplotlib
import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ._figure import agg_figure
from ._regime_plot import RegimeArtists, regime_artists

# Grey where there is no value (no finite q*): ``with_extremes`` copies the registered map.
DIVERGING = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.8")
SEQUENTIAL = matplotlib.colormaps["viridis"].with_extremes(bad="0.8")
DIVERGING_MAX = 1.5  # ln chi1 beyond +-1.5 (a factor 4.5 per layer) takes the end colours
SEQUENTIAL_RANGE = (-1.0, 3.0)  # log10 of a depth scale: 0.1 to 1000 layers (it diverges)


class PhaseArtists(NamedTuple):
    """Handles to what ``update_phase_map`` and ``update_regime_figure`` change.

    Attributes:
      figure: the ``Figure`` (Agg canvas, unknown to pyplot).
      ax_map: the heat map's axes.
      image: the heat map (``imshow``).
      colorbar: its colour bar.
      critical: the critical line, ``Line2D``.
      measured: the measured networks, a scatter (``PathCollection``).
      point: the chosen point, ``Line2D`` with one cross.
      regime: the ``RegimeArtists`` of the two profile panels.
    """

    figure: Figure
    ax_map: object
    image: AxesImage
    colorbar: object
    critical: Line2D
    measured: PathCollection
    point: Line2D
    regime: RegimeArtists


class PhasePlotData(NamedTuple):
    """What ``update_phase_map`` drew.

    Attributes:
      values: the map's values, ``(n_bias, n_weight)`` (``nan`` drawn grey).
      clim: the colour limits.
      critical_weight, critical_bias: the critical line's points.
      measured: the dots' values, in the map's units (``nan``: not drawn).
      point: ``(sw^2, sb^2)`` of the cross.
      label: the colour bar's label.
    """

    values: np.ndarray
    clim: tuple
    critical_weight: np.ndarray
    critical_bias: np.ndarray
    measured: np.ndarray
    point: tuple
    label: str


def phase_figure(*, figsize=(12.5, 4.0)) -> PhaseArtists:
    """Build the phase figure once, empty; ``update_phase_map`` and ``update_regime_figure``
    (on ``artists.regime``) fill it.

    Example:
      >>> artists = phase_figure()
      >>> len(artists.figure.axes)  # map, colour bar, two profile panels
      4
    """
    fig, (ax_map, ax_grad, ax_std) = agg_figure(figsize, ncols=3, dpi=72)
    fig.subplots_adjust(left=0.05, right=0.86, bottom=0.13, top=0.86, wspace=0.38)
    image = ax_map.imshow(
        np.zeros((2, 2)), origin="lower", aspect="auto", cmap=DIVERGING, interpolation="nearest"
    )
    colorbar = fig.colorbar(image, ax=ax_map, fraction=0.06, pad=0.02)
    colorbar.ax.tick_params(labelsize=7)
    # Few ticks: every tick label is a text render on every update (most of a render's cost).
    colorbar.locator = MaxNLocator(4)
    for axis in (ax_map.xaxis, ax_map.yaxis):
        axis.set_major_locator(MaxNLocator(4))
    (critical,) = ax_map.plot([], [], "-", color="k", lw=2)
    measured = ax_map.scatter(
        [], [], c=[], s=40, cmap=DIVERGING, edgecolors="k", linewidths=0.6, zorder=3
    )
    (point,) = ax_map.plot([], [], "x", color="k", ms=12, mew=3, zorder=4)
    ax_map.set_xlabel("weight variance σw²")
    ax_map.set_ylabel("bias variance σb²")
    regime = regime_artists(fig, ax_grad, ax_std)
    return PhaseArtists(fig, ax_map, image, colorbar, critical, measured, point, regime)


def _edges(axis) -> tuple[float, float]:
    axis = np.asarray(axis, np.float64)
    if axis.size == 1:
        return float(axis[0]) - 0.5, float(axis[0]) + 0.5
    step = (axis[-1] - axis[0]) / (axis.size - 1)
    return float(axis[0] - step / 2), float(axis[-1] + step / 2)


def update_phase_map(
    artists: PhaseArtists,
    weight_axis,
    bias_axis,
    values,
    *,
    critical,
    measured_weight,
    measured_bias,
    measured,
    point,
    label: str,
    diverging: bool,
) -> PhasePlotData:
    """Redraw the heat map in place.

    Args:
      artists: from ``phase_figure``.
      weight_axis, bias_axis: the map's grid, evenly spaced, ``(n_weight,)`` and ``(n_bias,)``.
      values: ``(n_bias, n_weight)``.
      critical: the critical ``sw^2`` at each ``sb^2`` of ``bias_axis`` (``nan``: none).
      measured_weight, measured_bias, measured: the dots' positions and values, flat.
      point: ``(sw^2, sb^2)`` of the cross.
      label: the colour bar's label.
      diverging: centre the colours on 0 (for ``ln chi1``, up to ``+-DIVERGING_MAX``), else
        span the finite values within ``SEQUENTIAL_RANGE``.

    Returns:
      A ``PhasePlotData``.

    Example:
      >>> a = phase_figure()
      >>> d = update_phase_map(a, [1.0, 2.0], [0.0, 0.1], [[-1.0, 0.5], [-0.5, 1.0]],
      ...     critical=[1.5, 1.6], measured_weight=[1.0], measured_bias=[0.0], measured=[-1.0],
      ...     point=(1.0, 0.1), label="ln chi1", diverging=True)
      >>> d.clim
      (-1.0, 1.0)
    """
    values = np.asarray(values, np.float64)
    weight_axis = np.asarray(weight_axis, np.float64)
    bias_axis = np.asarray(bias_axis, np.float64)
    if values.shape != (bias_axis.size, weight_axis.size):
        raise ValueError(
            f"values must have shape (n_bias, n_weight) = ({bias_axis.size}, "
            f"{weight_axis.size}); got {values.shape}."
        )
    finite = values[np.isfinite(values)]
    if diverging:
        top = float(np.max(np.abs(finite))) if finite.size else 1.0
        top = min(top, DIVERGING_MAX) or 1.0
        clim = (-top, top)
        cmap = DIVERGING
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        lo, hi = max(lo, SEQUENTIAL_RANGE[0]), min(hi, SEQUENTIAL_RANGE[1])
        clim = (lo, hi if hi > lo else lo + 1.0)
        cmap = SEQUENTIAL
    # Each artist is touched only when what it shows changes: a change marks the figure
    # stale, and the explorer's renderer then redraws everything (plotting.FigureRenderer).
    image = artists.image
    shown_values = np.ma.masked_invalid(values)
    same_map = (
        image.get_array() is not None
        and image.get_array().shape == shown_values.shape
        and np.ma.allequal(image.get_array(), shown_values)
        and np.array_equal(np.ma.getmaskarray(image.get_array()), np.ma.getmaskarray(shown_values))
        and image.get_extent() == [*_edges(weight_axis), *_edges(bias_axis)]
        and image.get_cmap().name == cmap.name
        and image.get_clim() == clim
    )
    if not same_map:
        image.set_data(shown_values)
        image.set_extent((*_edges(weight_axis), *_edges(bias_axis)))
        image.set_cmap(cmap)
        image.set_clim(*clim)
    colorbar_axis = artists.colorbar.ax
    if label not in (colorbar_axis.get_ylabel(), colorbar_axis.get_xlabel()):
        artists.colorbar.set_label(label, fontsize=8)
    critical = np.asarray(critical, np.float64)
    artists.critical.set_data(critical, bias_axis)
    measured = np.asarray(measured, np.float64)
    shown = np.isfinite(measured)
    offsets = np.column_stack([np.asarray(measured_weight, np.float64)[shown],
                               np.asarray(measured_bias, np.float64)[shown]])  # fmt: skip
    offsets = offsets if shown.any() else np.empty((0, 2))
    dots = artists.measured
    old = dots.get_array()
    if not (
        np.array_equal(np.asarray(dots.get_offsets()), offsets)
        and old is not None
        and np.array_equal(np.asarray(old), measured[shown])
        and dots.get_cmap().name == cmap.name
        and dots.get_clim() == clim
    ):
        dots.set_offsets(offsets)
        dots.set_array(measured[shown])
        dots.set_cmap(cmap)
        dots.set_clim(*clim)
    artists.point.set_data([point[0]], [point[1]])
    ax = artists.ax_map
    if ax.get_xlim() != _edges(weight_axis):
        ax.set_xlim(*_edges(weight_axis))
    if ax.get_ylim() != _edges(bias_axis):
        ax.set_ylim(*_edges(bias_axis))
    title = f"{label.split(' (')[0]}; black: χ₁ = 1"
    if ax.get_title() != title:
        ax.set_title(title, fontsize=10)
    return PhasePlotData(values, clim, critical, bias_axis, measured, tuple(map(float, point)),
                         label)  # fmt: skip
