"""Figures that redraw fast: what every explorer's figure is built with.

An explorer re-renders its whole figure to PNG on every control change, so the cost of one
``canvas.draw`` is the widget's latency. Three of matplotlib's defaults dominate that cost and
buy nothing for a figure whose layout is fixed: placing each axes title anew on every draw
(``axes.titley = None`` measures every tick label to dodge it), eight unlabelled minor ticks
per decade on a log axis (each tick is two ``Line2D`` artists), and log tick labels in
mathtext (``$10^{-12}$``), which render several times slower than plain Unicode (``10⁻¹²``).
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

# Titles at a fixed height above the axes: no tight-bbox search on every draw.
_FAST_RC = {"axes.titley": 1.0}


def agg_figure(figsize, *, nrows: int = 1, ncols: int = 1, dpi: float = 100, **subplot_kw):
    """A ``Figure`` with an Agg canvas (never registered with pyplot) and its axes.

    The axes are made with fixed title positions; ``subplot_kw`` goes to ``Figure.subplots``.

    Returns:
      ``(figure, axes)``, ``axes`` as ``Figure.subplots`` returns it.

    Example:
      >>> fig, (left, right) = agg_figure((8, 3), ncols=2)
      >>> len(fig.axes)
      2
    """
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    with matplotlib.rc_context(_FAST_RC):
        axes = figure.subplots(nrows, ncols, **subplot_kw)
    return figure, axes


def twin_x(ax):
    """``ax.twinx()`` with the same fixed title position as ``agg_figure``'s axes."""
    with matplotlib.rc_context(_FAST_RC):
        return ax.twinx()


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_label(value: float, _position=None) -> str:
    """``"10⁻¹²"`` for ``1e-12``: a log tick label in plain Unicode, not mathtext.

    Example:
      >>> power_label(1e-12), power_label(1.0), power_label(0.5)
      ('10⁻¹²', '10⁰', '0.5')
    """
    if value <= 0 or not np.isfinite(value):
        return ""
    exponent = round(float(np.log10(value)))
    if abs(value - 10.0**exponent) > 1e-9 * value:
        return f"{value:g}"
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def log_y(ax, *, major_ticks: int = 8, minor: bool = True) -> None:
    """A log y scale on ``ax`` that redraws fast.

    At most ``major_ticks`` labelled decades, in plain Unicode (``power_label``); minor ticks
    at 2 and 5 of each decade (none past 11 decades), or none with ``minor=False``.
    """
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=major_ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(power_label))
    if minor:
        ax.yaxis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0), numticks=12))
    else:
        ax.yaxis.set_minor_locator(NullLocator())
