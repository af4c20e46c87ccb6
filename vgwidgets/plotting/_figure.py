"""Figures that redraw fast: what every explorer's figure is built with.

An explorer re-renders its whole figure to PNG on every control change, so the cost of one
``canvas.draw`` is the widget's latency. Two of matplotlib's defaults dominate that cost and
buy nothing for a figure whose layout is fixed: placing each axes title anew on every draw
(``axes.titley = None`` measures every tick label to dodge it), and eight unlabelled minor
ticks per decade on a log axis (each tick is two ``Line2D`` artists).
"""

from __future__ import annotations

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator

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


def log_y(ax) -> None:
    """A log y scale on ``ax`` with minor ticks at 2 and 5 of each decade, none past 11 decades."""
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0), numticks=12))
