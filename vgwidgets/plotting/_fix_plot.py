"""Several networks' per-layer gradient norms on one log axis: the fixes compared side by side.

One panel. For each configuration (up to ``n_curves``), a line of its per-layer gradient norm
``||dC/dW_l||`` or ``||dC/db_l||`` against the hidden layer ``l = 1..L``, in its own colour. A
configuration with gradient clipping is drawn twice: the clipped norms solid, the unclipped ones
faint and dashed, so that the learner sees what clipping changed (Pascanu et al. 2013).

The figure is built once by ``fix_figure`` and redrawn in place by ``update_fix_figure``. Values a
log axis cannot show are drawn for what they are, as in every figure (``_figure.py``): ``inf``
(float32 overflow) is clipped to the top and marked with a triangle, an exact 0 (underflow) is
put at the bottom and marked, ``nan`` is marked in the middle, and a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ._figure import (
    MARK_HEIGHTS,
    agg_figure,
    changing,
    clip_to_axis,
    log_limits,
    log_y,
    steady_count,
    unplaceable_note,
)

# tab: red, blue, green, purple, orange, brown
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_MARK = {"inf": "^", "zero": "v", "nan": "X"}
_TEST = {"inf": np.isinf, "zero": lambda w: w == 0, "nan": np.isnan}


class FixCurve(NamedTuple):
    """One configuration's per-layer norms, as ``update_fix_figure`` takes them.

    Attributes:
      label: the legend's text.
      values: ``(L,)``, the norm drawn solid (after clipping, for a clipped configuration).
      unclipped: ``(L,)``, the norm before clipping, drawn faint; ``None`` without clipping.
    """

    label: str
    values: np.ndarray
    unclipped: np.ndarray | None = None


class FixArtists(NamedTuple):
    """Handles to what ``update_fix_figure`` changes; built once by ``fix_figure``.

    Attributes:
      figure: the ``Figure`` (Agg canvas, unknown to pyplot).
      ax: the log axis.
      lines: one solid ``Line2D`` per slot.
      faint: one faint dashed ``Line2D`` per slot (the unclipped norms).
      marks: per slot, a dict ``{"inf", "zero", "nan": Line2D}`` of markers in axis coordinates.
      note: the text naming overflow, underflow and nan.
      title: the figure's title.
    """

    figure: Figure
    ax: object
    lines: tuple
    faint: tuple
    marks: tuple
    note: object
    title: object


class FixPlotData(NamedTuple):
    """What ``update_fix_figure`` drew. Per slot, ``None`` where the slot is not shown.

    Attributes:
      layers: ``1..L``.
      values: per slot, the solid line's values ``(L,)`` (may hold inf, 0 or nan).
      drawn: per slot, the solid line's drawn ``y``: ``values`` clipped to the axis.
      unclipped: per slot, the faint line's values, or ``None`` (no clipping, or not shown).
      labels: per slot, the legend text, or ``None``.
      ylim: the log axis limits, finite and positive.
      note: the note's text ("" when every value is drawable).
      overflow: whether any shown value is ``inf``.
    """

    layers: np.ndarray
    values: tuple
    drawn: tuple
    unclipped: tuple
    labels: tuple
    ylim: tuple
    note: str
    overflow: bool


def fix_figure(*, n_curves: int = 4, figsize=(10.0, 4.2), dpi: float = 80) -> FixArtists:
    """Build the comparison figure once, empty; ``update_fix_figure`` fills it.

    Args:
      n_curves: the most configurations it will draw, 1 to 6.
      figsize: inches.
      dpi: dots per inch of the figure (and of its PNG).

    Returns:
      A ``FixArtists``.
    """
    if isinstance(n_curves, bool) or not isinstance(n_curves, int) or not 1 <= n_curves <= 6:
        raise ValueError(f"n_curves must be an integer in [1, 6]; got {n_curves!r}.")
    fig, ax = agg_figure(figsize, dpi=dpi)
    fig.subplots_adjust(left=0.08, right=0.66, bottom=0.13, top=0.9)
    log_y(ax, minor=False)
    title = changing(fig.suptitle("", fontsize=11))
    xaxis = ax.get_xaxis_transform()
    lines, faint, marks = [], [], []
    for color in COLORS[:n_curves]:
        (line,) = ax.plot([], [], ".-", color=color, lw=2, ms=5, zorder=3)
        (pale,) = ax.plot([], [], "--", color=color, lw=1.2, alpha=0.35, zorder=2)
        marks.append(
            {
                kind: ax.plot(
                    [], [], marker, color=color, mec="k", ms=8, ls="none", transform=xaxis,
                    clip_on=False, zorder=4,
                )[0]
                for kind, marker in _MARK.items()
            }
        )  # fmt: skip
        lines.append(line)
        faint.append(pale)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_xlabel("hidden layer $l$ (1 = nearest the input)")
    ax.grid(True, which="major", alpha=0.3)
    note = changing(ax.text(
        1.03, 0.0, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=8,
        color="tab:red", fontweight="bold",
    ))  # fmt: skip
    return FixArtists(fig, ax, tuple(lines), tuple(faint), tuple(marks), note, title)


def update_fix_figure(
    artists: FixArtists,
    curves: Sequence[FixCurve | None],
    *,
    ylabel: str = "$\\|\\partial C/\\partial W_l\\|$",
    title: str = "",
) -> FixPlotData:
    """Redraw ``fix_figure``'s figure in place for ``curves``; nothing is rebuilt.

    Args:
      artists: from ``fix_figure``.
      curves: one entry per slot (at most ``len(artists.lines)``): a ``FixCurve``, or ``None``
        for a slot not shown. Every shown curve has the same length ``L >= 1``.
      ylabel: the log axis's label.
      title: the figure's title.

    Returns:
      A ``FixPlotData`` of what was given to the artists.

    Example:
      >>> artists = fix_figure()
      >>> data = update_fix_figure(artists, [FixCurve("a", np.array([1e-3, 1e-1])), None])
      >>> data.values[1] is None, data.drawn[0].tolist()
      (True, [0.001, 0.1])
    """
    curves = list(curves)
    if len(curves) > len(artists.lines):
        raise ValueError(
            f"curves must have at most {len(artists.lines)} entries (the figure's n_curves); "
            f"got {len(curves)}."
        )
    curves += [None] * (len(artists.lines) - len(curves))
    shown = [c for c in curves if c is not None]
    lengths = {np.shape(c.values)[0] for c in shown}
    lengths |= {np.shape(c.unclipped)[0] for c in shown if c.unclipped is not None}
    if len(lengths) > 1 or lengths == {0}:
        raise ValueError(f"every curve must have the same length L >= 1; got lengths {lengths}.")
    n = lengths.pop() if lengths else 1
    layers = np.arange(1, n + 1)
    values = [None if c is None else np.asarray(c.values, np.float64) for c in curves]
    unclipped = [
        None if c is None or c.unclipped is None else np.asarray(c.unclipped, np.float64)
        for c in curves
    ]
    present = [v for v in values + unclipped if v is not None]
    bottom, top = log_limits(*present, steady=True) if present else (1e-3, 10.0)
    drawn = [None if v is None else clip_to_axis(v, bottom, top) for v in values]
    for slot in range(len(artists.lines)):
        v, u = values[slot], unclipped[slot]
        artists.lines[slot].set_visible(v is not None)
        artists.lines[slot].set_data(layers, drawn[slot] if v is not None else np.full(n, np.nan))
        artists.lines[slot].set_label(curves[slot].label if v is not None else "_hidden")
        artists.faint[slot].set_visible(u is not None)
        artists.faint[slot].set_data(layers, clip_to_axis(u, bottom, top) if u is not None else [])
        both = [w for w in (v, u) if w is not None]
        for kind in _MARK:
            at = np.unique(np.concatenate([layers[_TEST[kind](w)] for w in both] or [[]]))
            artists.marks[slot][kind].set_data(at, np.full(at.shape, MARK_HEIGHTS[kind]))
    artists.ax.set_ylim(bottom, top)
    artists.ax.set_xlim(0.5, steady_count(n) + 0.5)
    artists.ax.set_ylabel(ylabel + " (log scale)")
    handles = [artists.lines[s] for s in range(len(curves)) if values[s] is not None]
    if any(u is not None for u in unclipped):
        handles.append(Line2D([], [], ls="--", color="0.5", alpha=0.5, label="before clipping"))
    legend = artists.ax.get_legend()
    # Rebuilt only when the entries change (labels carry the slot number, colours are per slot).
    labels = [h.get_label() for h in handles]
    if legend is not None and labels != [t.get_text() for t in legend.get_texts()]:
        legend.remove()
        legend = None
    if handles and legend is None:
        artists.ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
            frameon=False,
        )  # fmt: skip
    note = unplaceable_note(
        *present, zero_cause=" (underflow, or b\ncancelled by batch norm)"
    )
    artists.note.set_text(note)
    artists.title.set_text(title)
    return FixPlotData(
        layers=layers,
        values=tuple(values),
        drawn=tuple(drawn),
        unclipped=tuple(unclipped),
        labels=tuple(None if c is None else c.label for c in curves),
        ylim=(bottom, top),
        note=note,
        overflow=any(bool(np.any(np.isinf(w))) for w in present),
    )
