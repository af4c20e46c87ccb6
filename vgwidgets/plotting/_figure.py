"""What every figure shares: built to redraw fast, rendered to PNG, log axes that show inf, 0, nan.

An explorer re-renders its whole figure to PNG on every control change, so the cost of one
``canvas.draw`` is the widget's latency. Three of matplotlib's defaults dominate that cost and
buy nothing for a figure whose layout is fixed: placing each axes title anew on every draw
(``axes.titley = None`` measures every tick label to dodge it), eight unlabelled minor ticks
per decade on a log axis (each tick is two ``Line2D`` artists), and log tick labels in
mathtext (``$10^{-12}$``), which render several times slower than plain Unicode (``10⁻¹²``).

Values a log axis cannot place are drawn for what they are, alike in every figure: limits
around the finite positive values (``log_limits``), ``inf`` (overflow) clipped to the top and
marked with a triangle, an exact 0 (underflow) at the bottom with a triangle, ``nan`` marked in
the middle with a cross (``MARK_HEIGHTS``, ``clip_to_axis``), and a note that names each
(``unplaceable_note``).
"""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

# Titles at a fixed height above the axes: no tight-bbox search on every draw.
_FAST_RC = {"axes.titley": 1.0}
# The largest finite number of each dtype: past it a value overflows to inf.
FLOAT_MAX = {name: float(np.finfo(name).max) for name in ("float32", "float64")}
# Where the marks of values a log axis cannot place sit, in axes coordinates (0 bottom, 1 top).
MARK_HEIGHTS = {"inf": 0.975, "zero": 0.025, "nan": 0.5}


def agg_figure(
    figsize, *, nrows: int = 1, ncols: int = 1, dpi: float = 100, figure_class=Figure, **subplot_kw
):
    """A ``Figure`` with an Agg canvas (never registered with pyplot) and its axes.

    The axes are made with fixed title positions; ``subplot_kw`` goes to ``Figure.subplots``;
    ``figure_class`` is ``Figure`` or a subclass (``ShownFigure``).

    Returns:
      ``(figure, axes)``, ``axes`` as ``Figure.subplots`` returns it.

    Example:
      >>> fig, (left, right) = agg_figure((8, 3), ncols=2)
      >>> len(fig.axes)
      2
    """
    figure = figure_class(figsize=figsize, dpi=dpi)
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


def figure_png(figure: Figure, *, dpi: float | None = None) -> bytes:
    """Render ``figure`` to PNG bytes with the Agg canvas (no pyplot, no display).

    Example:
      >>> from matplotlib.figure import Figure
      >>> figure_png(Figure(figsize=(1, 1)))[:8]
      b'\\x89PNG\\r\\n\\x1a\\n'
    """
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # zlib level 1: a third of the default's encoding time, for a PNG a few per cent larger.
    fast = {"compress_level": 1}
    if dpi is None:
        canvas.print_png(buffer, pil_kwargs=fast)
    else:
        figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs=fast)
    return buffer.getvalue()


class ShownFigure(Figure):
    """A ``Figure`` that a notebook shows when a cell ends with it, as a PNG.

    A figure not made by pyplot has no display of its own in Jupyter unless pyplot was
    imported (which registers the inline backend's formatter); this one brings its own.

    Example:
      >>> ShownFigure(figsize=(1, 1))._repr_png_()[:4]
      b'\\x89PNG'
    """

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def log_limits(*arrays) -> tuple[float, float]:
    """Decade limits of a log axis around every finite positive value and 1, with room for the
    marks: a decade more at the bottom if a value is 0, at the top if one is ``inf``.

    Example:
      >>> log_limits([1e-3, 2.0]), log_limits([0.5, 0.0, np.inf])
      ((0.0001, 10.0), (0.01, 100.0))
    """
    values = np.concatenate([np.abs(np.asarray(a, np.float64)).ravel() for a in arrays])
    shown = values[np.isfinite(values) & (values > 0)]
    low = min(float(shown.min()) if shown.size else 1.0, 1.0)
    high = max(float(shown.max()) if shown.size else 1.0, 1.0)
    bottom = math.floor(math.log10(low) - 0.3) - (1 if np.any(values == 0) else 0)
    top = math.ceil(math.log10(high) + 0.3) + (1 if np.any(np.isinf(values)) else 0)
    return 10.0**bottom, 10.0**top


def clip_to_axis(values, bottom, top):
    """Values a log axis from ``bottom`` to ``top`` can draw: ``inf`` -> ``top``, 0, negative
    and ``nan`` -> ``bottom``.

    Example:
      >>> clip_to_axis(np.array([np.inf, 0.0, np.nan, 2.0]), 0.01, 100.0).tolist()
      [100.0, 0.01, 0.01, 2.0]
    """
    drawn = np.where(np.isinf(values), top, values)
    return np.where(np.isnan(drawn) | (drawn <= 0), bottom, drawn)


def unplaceable_note(*arrays, dtype: str = "float32", zero_cause: str = "") -> str:
    """The note that names what a log axis cannot place among ``arrays``: ``inf``, 0, ``nan``.

    Args:
      arrays: the values drawn.
      dtype: "float32" or "float64", whose largest number the ``inf`` line names.
      zero_cause: why a value may be exactly 0, e.g. ``" (underflow)"``, after "exact 0".

    Returns:
      One paragraph per kind present, separated by a blank line; "" if every value is drawable.

    Example:
      >>> print(unplaceable_note([1.0, np.inf]))
      overflow: inf, past float32's
      largest number, 3.4e+38:
      triangles at the top
    """
    values = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays] or [[]])
    lines = []
    if np.any(np.isinf(values)):
        lines.append(
            f"overflow: inf, past {dtype}'s\nlargest number, {FLOAT_MAX[dtype]:.1e}:\n"
            "triangles at the top"
        )
    if np.any(values == 0):
        lines.append(f"exact 0{zero_cause}:\ntriangles at the bottom")
    if np.any(np.isnan(values)):
        lines.append("nan (inf - inf or inf × 0):\ncrosses in the middle")
    return "\n\n".join(lines)
