"""What every figure shares: built to redraw fast, rendered to PNG, log axes that show inf, 0, nan.

An explorer renders its figure to PNG on every control change, so drawing is the widget's
latency. ``FigureRenderer`` redraws only what changed (blitting: the static frame and each
panel's ticks are cached as pixels; see its docstring, and ``changing`` for the artists a
figure should mark), and ``rgba_png`` encodes the pixels fast. What is drawn still costs:
three of matplotlib's defaults dominate and buy nothing for a figure whose layout is fixed:
placing each axes title anew on every draw (``axes.titley = None`` measures every tick label
to dodge it), eight unlabelled minor ticks per decade on a log axis (each tick is two
``Line2D`` artists), and log tick labels in mathtext (``$10^{-12}$``), which render several
times slower than plain Unicode (``10⁻¹²``).

Values a log axis cannot place are drawn for what they are, alike in every figure: limits
around the finite positive values (``log_limits``), ``inf`` (overflow) clipped to the top and
marked with a triangle, an exact 0 (underflow) at the bottom with a triangle, ``nan`` marked in
the middle with a cross (``MARK_HEIGHTS``, ``clip_to_axis``), and a note that names each
(``unplaceable_note``).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections import OrderedDict

import matplotlib
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.spines import Spine
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from matplotlib.transforms import Bbox

# Titles at a fixed height above the axes: no tight-bbox search on every draw.
_FAST_RC = {"axes.titley": 1.0}
# The largest finite number of each dtype: past it a value overflows to inf.
FLOAT_MAX = {name: float(np.finfo(name).max) for name in ("float32", "float64")}
# Where the marks of values a log axis cannot place sit, in axes coordinates (0 bottom, 1 top).
MARK_HEIGHTS = {"inf": 0.975, "zero": 0.025, "nan": 0.5}
# How many states of each axes group's ticks and labels a ``FigureRenderer`` keeps as pixels.
RECALLED_KEYS = 32


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

    Everything is drawn, the artists a ``FigureRenderer`` keeps animated included: ``savefig``
    draws an axes' animated artists but not the figure's own (a ``changing`` title), so those
    are made static while it saves; a plain ``canvas.draw()`` would leave out both. For an
    explorer's repeated updates, ``FigureRenderer.png`` is several times faster.

    Example:
      >>> from matplotlib.figure import Figure
      >>> figure_png(Figure(figsize=(1, 1)))[:8]
      b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    animated = [artist for artist in figure.get_children() if artist.get_animated()]
    buffer = io.BytesIO()
    try:
        for artist in animated:
            artist.set_animated(False)
        # zlib level 1: a third of the default's encoding time, for a PNG a few per cent larger.
        figure.savefig(
            buffer, format="png", dpi=dpi or figure.dpi, pil_kwargs={"compress_level": 1}
        )
    finally:
        for artist in animated:
            artist.set_animated(True)
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


# The decades a steady log axis's limits stop at (``log_limits(..., steady=True)``): 1, 2, 3,
# 4, then 1.5x or 4/3x apart; past the last, a limit is not moved (float64 ends near 10^308).
STEADY_DECADES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def _steady(decade: int) -> int:
    """The first of ``STEADY_DECADES`` at or past ``|decade|``, with ``decade``'s sign."""
    magnitude = next((d for d in STEADY_DECADES if d >= abs(decade)), abs(decade))
    return magnitude if decade > 0 else -magnitude


def log_limits(*arrays, steady: bool = False) -> tuple[float, float]:
    """Decade limits of a log axis around every finite positive value and 1, with room for the
    marks: a decade more at the bottom if a value is 0, at the top if one is ``inf``.

    With ``steady``, each limit is moved out to the next of ``STEADY_DECADES`` (``10^-6``,
    ``10^-8``, ``10^-12``, ...): the axis shows the same values with at most a third more
    room, and its limits change far less often as a slider moves, so that an explorer redraws
    (or recalls, see ``FigureRenderer``) its tick labels less often and the axis does not
    jitter while dragging.

    Example:
      >>> log_limits([1e-3, 2.0]), log_limits([0.5, 0.0, np.inf])
      ((0.0001, 10.0), (0.01, 100.0))
      >>> log_limits([1e-5, 2e4]), log_limits([1e-5, 2e4], steady=True)
      ((1e-06, 100000.0), (1e-06, 1000000.0))
    """
    values = np.concatenate([np.abs(np.asarray(a, np.float64)).ravel() for a in arrays])
    shown = values[np.isfinite(values) & (values > 0)]
    low = min(float(shown.min()) if shown.size else 1.0, 1.0)
    high = max(float(shown.max()) if shown.size else 1.0, 1.0)
    bottom = math.floor(math.log10(low) - 0.3) - (1 if np.any(values == 0) else 0)
    top = math.ceil(math.log10(high) + 0.3) + (1 if np.any(np.isinf(values)) else 0)
    if steady:
        bottom, top = _steady(bottom), _steady(top)
    return 10.0**bottom, 10.0**top


# Where a steady layer axis ends (``steady_count``): every count up to 5 shows as 5, and so on.
STEADY_COUNTS = (5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500)


def steady_count(n: int) -> int:
    """The first of ``STEADY_COUNTS`` at or past ``n`` (``n`` itself past the last): where an
    axis of ``n`` layers ends, so that its limits, and its tick labels, stay put while a depth
    slider moves within a stop (and the axis does not jitter while dragging).

    Example:
      >>> steady_count(1), steady_count(30), steady_count(31), steady_count(1000)
      (5, 30, 40, 1000)
    """
    return next((c for c in STEADY_COUNTS if c >= n), int(n))


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


# ----------------------------------------------------------------------------------------------
# Fast updates: blitting and a direct PNG encoder


def changing(*artists):
    """Mark ``artists`` as changing on most updates, so that ``FigureRenderer`` draws them over
    its cached background instead of redrawing the whole figure when they change.

    Artists in an axes' data coordinates (lines, bars, markers, a scatter, text placed at data
    values) are found by ``FigureRenderer`` itself and need no mark. Mark what sits in axes or
    figure coordinates and changes with the controls: a figure title that names the values, a
    label inside the axes, a note. A static artist that changes still shows correctly, but
    costs a full redraw each time it does.

    Returns:
      The artist, or the tuple of artists, given.

    Example:
      >>> fig, ax = agg_figure((4, 3))
      >>> title = changing(fig.suptitle(""))
      >>> title.get_animated()
      True
    """
    for artist in artists:
        artist.set_animated(True)
    return artists[0] if len(artists) == 1 else artists


def _placements(artist) -> list:
    """The transforms that place ``artist`` on the canvas: its own and, for a collection, its
    offsets' (a scatter's points sit at data values through the offset transform, while each
    marker's path is drawn in pixels: its own transform is not in data coordinates at all)."""
    if isinstance(artist, Collection):
        return [artist.get_transform(), artist.get_offset_transform()]
    return [artist.get_transform()]


def _in_data_coordinates(artist, ax) -> bool:
    """Whether ``artist`` moves when ``ax``'s limits change: one of its ``_placements`` is in
    data coordinates on either axis."""
    return any(
        any(transform.contains_branch_seperately(ax.transData))
        for transform in _placements(artist)
    )


def _meet(a, b) -> bool:
    """Whether boxes ``a`` and ``b`` share an area (an edge is not enough)."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _same_outside(a, b, r0, r1, c0, c1) -> bool:
    """Whether RGBA images ``a`` and ``b`` agree outside rows ``r0:r1`` x columns ``c0:c1``."""
    a, b = a.view(np.uint32), b.view(np.uint32)  # one compare per pixel, not per channel
    return (
        np.array_equal(a[:r0], b[:r0]) and np.array_equal(a[r1:], b[r1:])
        and np.array_equal(a[r0:r1, :c0], b[r0:r1, :c0])
        and np.array_equal(a[r0:r1, c1:], b[r0:r1, c1:])
    )  # fmt: skip


# How far past its extent an artist may draw, in pixels: a line's half width (an extent is the
# path's: a spine's is a box of zero width on the axes' edge) and antialiasing.
DRAWN_PAST_EXTENT = 2.0


def _drawn_over(artist, renderer, boxes) -> bool:
    """Whether the visible ``artist`` draws over one of ``boxes``: its extent, padded by
    ``DRAWN_PAST_EXTENT``, meets one."""
    if not boxes or not artist.get_visible():
        return False
    extent = artist.get_window_extent(renderer).padded(DRAWN_PAST_EXTENT)
    return any(_meet(extent, box) for box in boxes)


def _by_zorder(artists) -> list:
    return sorted(artists, key=lambda artist: artist.get_zorder())  # stable, as matplotlib's


class FigureRenderer:
    """Render one figure to PNG update after update, redrawing only what changed (blitting).

    An explorer's figure keeps its layout: frames, titles, legends and tick labels stay while
    the data move, and text is most of matplotlib's drawing time. So the figure is drawn in
    three layers, the first two cached as pixels (as in matplotlib's blitting tutorial, with
    NumPy copies of the canvas's RGBA buffer):

      1. the frame: everything static, drawn by ``canvas.draw()`` with the axes' ``XAxis`` and
         ``YAxis`` and the changing artists left out (they are set ``animated``). Redrawn only
         when a static artist changed: matplotlib then marks the figure ``stale`` (a change to
         an animated artist does not propagate), or when the canvas's size changed.
      2. the axes: the frame plus every axes' x and y axis (ticks, tick labels, axis labels,
         grid lines). The axes are grouped (twins together), and each group owns a zone of the
         canvas that reaches halfway to the neighbouring groups' axis objects. When a group's
         limits, scales, axis labels or visibility change, only its zone is redrawn: its axis
         objects are drawn over the frame, and it is checked that they changed no pixel
         outside their zone; if they did (a tick label grew across), the whole layer is drawn
         again, group after group, until a later redraw is clean. Each clean zone is kept (the
         pixels where it differs from the frame, for the last ``RECALLED_KEYS`` keys of its
         group), so that a group whose limits come back to a state drawn before (a slider
         dragged back and forth, a log axis's decades) is recalled instead of drawn: tick
         labels are most of a redraw's time.
      3. the changing artists, drawn over the axes layer in matplotlib's order (axes by axes,
         each's by zorder, then the figure's): every artist of an axes in its data coordinates
         (lines, images, a scatter's points), those marked with ``changing``, and every static
         artist that matplotlib draws after one of those and over its axes (a heat map's spines,
         a legend over lines), so that overlapping artists keep ``savefig``'s order; all found
         anew at each full redraw. Only the axis objects are out of that order (cached under
         every changing artist): their ticks point out of the axes, so at most a tick's inner
         end, on the axes' edge, is drawn differently.

    The PNG is encoded from the canvas's RGBA buffer by ``rgba_png``. A state reached by any
    path renders to the same bytes as a fresh renderer gives it.

    The figure is the renderer's from then on: its axis objects and changing artists are
    animated, so a plain ``canvas.draw()`` leaves them out (``savefig`` and ``figure_png``
    still draw everything). A draw by anyone else empties the cache (the canvas's
    ``draw_event``); so does ``invalidate()``, needed only after a change the rules above
    cannot see (a new tick locator or formatter, for example).

    Attributes:
      figure: the figure drawn.
      counts: how each render began: ``"full"`` (everything redrawn), ``"axes"`` (some axis
        groups redrawn over the cached frame), ``"recalled"`` (the groups that changed were
        all recalled as drawn before), ``"blit"`` (the cached axes layer restored);
        ``"spilled"`` counts the axes redraws that had to redraw every group.

    Example:
      >>> fig, ax = agg_figure((4, 3))
      >>> (line,) = ax.plot([0, 1], [0, 1])
      >>> renderer = FigureRenderer(fig)
      >>> first = renderer.png()
      >>> line.set_ydata([1, 0])
      >>> second = renderer.png()
      >>> first != second, renderer.counts["full"], renderer.counts["blit"]
      (True, 1, 1)
    """

    def __init__(self, figure: Figure):
        self.figure = figure
        if not isinstance(figure.canvas, FigureCanvasAgg):
            FigureCanvasAgg(figure)
        self.counts = {"full": 0, "axes": 0, "blit": 0, "spilled": 0, "recalled": 0}
        self._frame = self._layer = None  # pixels, (height, width, 4) uint8
        self._groups: list = []
        self._keys: dict = {}
        # Per group, the zones drawn for its last keys, as changes to the frame's pixels:
        # {group index: OrderedDict(key -> (flat indices, RGBA as uint32))}, least recent first.
        self._recall: dict = {}
        self._clean = True
        self._size = None
        self._changing: list = []
        self._drawing = False
        figure.canvas.mpl_connect("draw_event", self._on_draw)

    def invalidate(self) -> None:
        """Forget the cached layers: the next render redraws the whole figure."""
        self._frame = self._layer = None

    def _on_draw(self, _event) -> None:
        if not self._drawing:
            self.invalidate()

    def _axes(self) -> list:
        return _by_zorder(self.figure.axes)

    def _sort_out(self) -> None:
        """Animate the axis objects and the changing artists; list the latter in draw order.

        Changing: an artist marked with ``changing``, or one of an axes' own in its data
        coordinates (``_in_data_coordinates``; not its titles, spines or legend). Then, so that
        artists that overlap keep matplotlib's order (``savefig``'s), a static artist that
        matplotlib draws after a changing one (later in that axes' z-order, in a later axes, or
        among the figure's own) is changing too where its extent meets the box of an axes that
        holds a changing artist: drawn in the cached frame, it would end up under what changes
        (a heat map over its spines, lines over a legend).
        """
        renderer = self.figure.canvas.get_renderer()
        changing, boxes = [], []  # boxes: of the axes holding a changing artist so far
        for ax in self._axes():
            ax.xaxis.set_animated(True)
            ax.yaxis.set_animated(True)
            titles = {id(getattr(ax, n, None)) for n in ("title", "_left_title", "_right_title")}
            children = [a for a in ax.get_children() if a is not ax.patch]
            for artist in _by_zorder(a for a in children if not isinstance(a, Axis)):
                if artist.get_animated() or (
                    id(artist) not in titles
                    and isinstance(artist, (Line2D, Patch, Collection, AxesImage, Text))
                    and not isinstance(artist, (Spine, Legend))
                    and _in_data_coordinates(artist, ax)
                ):
                    boxes += [] if boxes and boxes[-1] is ax.bbox else [ax.bbox]
                elif not _drawn_over(artist, renderer, boxes):
                    continue
                artist.set_animated(True)
                changing.append(artist)
        figure_level = [
            artist for artist in _by_zorder(self.figure.get_children())
            if artist is not self.figure.patch and artist not in self.figure.axes
            and (artist.get_animated() or _drawn_over(artist, renderer, boxes))
        ]  # fmt: skip
        for artist in figure_level:
            artist.set_animated(True)
        self._changing = changing + figure_level

    def _zones(self, renderer) -> list:
        """Group the axes (twins together) and give each group a zone of the canvas, as
        ``[(axes, keyed axes, (row0, row1, col0, col1))]``, zones not overlapping.

        A zone reaches halfway to the next group's axis objects (from their extent now) in each
        direction, and to the canvas's edges where there is none; groups whose zones would
        overlap are merged.
        """
        axes = [ax for ax in self._axes() if ax.get_visible()]
        groups = []
        for ax in axes:  # twins (overlapping axes boxes) share a group
            touching = [g for g in groups if any(ax.bbox.overlaps(other.bbox) for other in g)]
            merged = [ax] + [other for g in touching for other in g]
            groups = [g for g in groups if g not in touching] + [merged]
        width, height = self.figure.canvas.get_width_height()
        while True:
            extents = [
                Bbox.union([o.bbox for o in g] + [
                    box for o in g for axis in (o.xaxis, o.yaxis)
                    if axis.get_visible() and (box := axis.get_tightbbox(renderer)) is not None
                ])
                for g in groups
            ]  # fmt: skip
            zones = []
            for i, e in enumerate(extents):
                x0, y0, x1, y1 = 0.0, 0.0, float(width), float(height)
                for j, o in enumerate(extents):
                    if j == i:
                        continue
                    rows, cols = o.y0 < e.y1 and o.y1 > e.y0, o.x0 < e.x1 and o.x1 > e.x0
                    if rows and o.x1 <= e.x0:
                        x0 = max(x0, (o.x1 + e.x0) / 2)
                    elif rows and o.x0 >= e.x1:
                        x1 = min(x1, (e.x1 + o.x0) / 2)
                    elif cols and o.y1 <= e.y0:
                        y0 = max(y0, (o.y1 + e.y0) / 2)
                    elif cols and o.y0 >= e.y1:
                        y1 = min(y1, (e.y1 + o.y0) / 2)
                zones.append(Bbox([[x0, y0], [x1, y1]]))
            clash = next(
                ((i, j) for i in range(len(zones)) for j in range(i) if _meet(zones[i], zones[j])),
                None,
            )  # fmt: skip
            if clash is None:
                break
            i, j = clash
            groups = [g for k, g in enumerate(groups) if k not in clash] + [groups[i] + groups[j]]
        out = []
        for group, zone in zip(groups, zones):
            rows = (height - math.floor(zone.y1), height - math.floor(zone.y0))  # rows from the top
            cols = (math.floor(zone.x0), math.floor(zone.x1))
            order = [ax for ax in axes if ax in group]
            out.append((order, rows + cols))
        return out

    def _group_key(self, group) -> tuple:
        """What a group's axis objects draw depends on: per axes, place, limits, scales, axis
        labels and visibility."""
        return tuple(
            (tuple(ax.bbox.bounds), ax.get_xlim(), ax.get_ylim(), ax.get_xscale(),
             ax.get_yscale(), ax.xaxis.get_visible(), ax.yaxis.get_visible(),
             ax.xaxis.label.get_text(), ax.yaxis.label.get_text())
            for ax in group
        )  # fmt: skip

    def _remember(self, index, key, zone) -> None:
        """Keep group ``index``'s zone as drawn for ``key``: the pixels where it differs from
        the frame (an axis draws few), at most ``RECALLED_KEYS`` keys per group."""
        group, (r0, r1, c0, c1) = self._groups[index]
        drawn = np.ascontiguousarray(zone).view(np.uint32).reshape(-1)
        frame = np.ascontiguousarray(self._frame[r0:r1, c0:c1]).view(np.uint32).reshape(-1)
        where = np.flatnonzero(drawn != frame).astype(np.int32)
        recall = self._recall.setdefault(index, OrderedDict())
        recall[key] = (where, drawn[where])
        while len(recall) > RECALLED_KEYS:
            recall.popitem(last=False)

    def _recalled(self, index, key) -> bool:
        """Put group ``index``'s zone as once drawn for ``key`` into the axes layer, if kept."""
        recall = self._recall.get(index)
        if recall is None or key not in recall:
            return False
        recall.move_to_end(key)
        where, values = recall[key]
        _, (r0, r1, c0, c1) = self._groups[index]
        zone = np.array(self._frame[r0:r1, c0:c1])
        zone.view(np.uint32).reshape(-1)[where] = values
        self._layer[r0:r1, c0:c1] = zone
        return True

    def _draw_axes(self, renderer, pixels, dirty, keys) -> tuple[bool, bool]:
        """Bring the groups in ``dirty`` up to date in the axes layer: recall their zones as
        drawn before for the same keys, else redraw them.

        Returns:
          ``(clean, drew)``: ``clean`` is False if a group drew outside its zone (then the
          layer is redrawn whole: frame, then every group in order); ``drew``, whether any
          group was drawn rather than recalled.
        """
        drew = False
        for index in dirty:
            group, (r0, r1, c0, c1) = self._groups[index]
            if self._recalled(index, keys[index]):
                continue
            drew = True
            pixels[...] = self._frame
            for ax in group:
                ax.xaxis.draw(renderer)
                ax.yaxis.draw(renderer)
            if not _same_outside(pixels, self._frame, r0, r1, c0, c1):
                pixels[...] = self._frame
                for each, _ in self._groups:
                    for ax in each:
                        ax.xaxis.draw(renderer)
                        ax.yaxis.draw(renderer)
                self._layer = pixels.copy()
                return False, True
            self._layer[r0:r1, c0:c1] = pixels[r0:r1, c0:c1]
            self._remember(index, keys[index], pixels[r0:r1, c0:c1])
        return True, drew

    def draw(self) -> None:
        """Bring the canvas's pixels up to date with the figure (see the class docstring)."""
        canvas = self.figure.canvas
        size = canvas.get_width_height()
        full = self._frame is None or self.figure.stale or size != self._size
        if full:
            self._sort_out()
            self._drawing = True
            try:
                canvas.draw()
            finally:
                self._drawing = False
            self._size = size
            self._frame = np.array(canvas.buffer_rgba())
            self._groups = self._zones(canvas.get_renderer())
            self._layer, self._keys, self._clean = self._frame.copy(), {}, True
            self._recall = {}  # drawn over the old frame, in the old zones
        renderer = canvas.get_renderer()
        pixels = np.asarray(canvas.buffer_rgba())
        keys = {i: self._group_key(group) for i, (group, _) in enumerate(self._groups)}
        if self._clean:
            dirty = [i for i, key in keys.items() if self._keys.get(i) != key]
        else:  # the layer holds pixels outside a zone: bring every group up to date
            dirty = list(keys)
            self._layer = self._frame.copy()
        if dirty:
            self._clean, drew = self._draw_axes(renderer, pixels, dirty, keys)
            self.counts["full" if full else "axes" if drew else "recalled"] += 1
            self.counts["spilled"] += not self._clean
        else:
            self.counts["blit"] += 1
        self._keys = keys
        pixels[...] = self._layer
        for artist in self._changing:
            artist.draw(renderer)
        # Drawing marks the axes stale (an axis updates its ticks, whose changes go straight
        # to their axes): the pixels are now up to date, so the figure is not.
        for ax in self.figure.axes:
            ax.stale = False
        self.figure.stale = False

    def png(self) -> bytes:
        """The figure as PNG bytes, drawn by ``draw`` and encoded by ``rgba_png``."""
        self.draw()
        return rgba_png(self.figure.canvas.buffer_rgba())


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def rgba_png(rgba, *, level: int = 1) -> bytes:
    """PNG bytes of an RGBA image, written directly: no filter on any row, zlib at ``level``.

    A figure is mostly flat colour, which zlib compresses well without PNG's per-row filters;
    skipping them and PIL's copy makes this 2-4x faster than ``PIL.Image.save`` at
    ``compress_level=1`` for a PNG of about the same size.

    Args:
      rgba: ``(height, width, 4)`` ``uint8`` (e.g. ``canvas.buffer_rgba()``).
      level: zlib's compression level, 0 to 9.

    Example:
      >>> import numpy as np
      >>> png = rgba_png(np.zeros((2, 3, 4), np.uint8))
      >>> png[:8], png[12:16]
      (b'\\x89PNG\\r\\n\\x1a\\n', b'IHDR')
    """
    pixels = np.asarray(rgba)
    if pixels.ndim != 3 or pixels.shape[2] != 4 or pixels.dtype != np.uint8:
        raise ValueError(
            f"rgba must be a (height, width, 4) uint8 array; got {pixels.shape} {pixels.dtype}."
        )
    height, width = pixels.shape[:2]
    rows = np.zeros((height, 1 + 4 * width), np.uint8)  # each row: filter type 0, then pixels
    rows[:, 1:] = pixels.reshape(height, 4 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, level))
        + _png_chunk(b"IEND", b"")
    )
