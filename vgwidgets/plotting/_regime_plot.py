"""The regime figure: per-layer gradient norms beside the mean-field prediction, and activation stds.

Left panel, on a log axis: the measured speed of learning ``||dC/db_l||`` of every hidden layer
and the mean-field prediction ``||dC/db_L|| chi1^((L - l)/2)`` (Schoenholz et al. 2017: the
expected squared norm changes by ``chi1`` per layer). Right panel, on a log axis: the standard
deviation of every layer's activations ``a_l``. Built once by ``regime_figure``, redrawn in
place by ``update_regime_figure``.

Values a log axis cannot place are drawn for what they are (``_figure.py``, as in every figure):
``inf`` at the top with a red triangle, an exact 0 at the bottom with a grey one, ``nan`` as a red
X in the middle; the first layer whose forward pass overflowed (``LayerProbe.overflow_layer``)
gets a red vertical line on both panels, and a note names it.
"""

from __future__ import annotations

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

_MEASURED = "tab:blue"
_PREDICTED = "tab:orange"
_STD = "tab:green"
_OVERFLOW = "tab:red"
PHASE_COLOURS = {"vanishing": "tab:blue", "exploding": "tab:red", "near critical": "tab:green"}


class Marks(NamedTuple):
    """Markers for values a log axis cannot place: ``inf`` (top), 0 (bottom), ``nan`` (middle)."""

    inf: Line2D
    zero: Line2D
    nan: Line2D
    overflow: Line2D


class RegimeArtists(NamedTuple):
    """Handles to everything ``update_regime_figure`` changes; built once by ``regime_figure``.

    Attributes:
      figure: the ``matplotlib.figure.Figure`` (Agg canvas, unknown to pyplot).
      ax_grad, ax_std: the two log axes.
      grad_line: measured ``||dC/db_l||``.
      predicted_line: the mean-field prediction ``||dC/db_L|| chi1^((L-l)/2)``.
      std_line: ``std(a_l)``.
      grad_marks, std_marks: ``Marks`` of each panel (``overflow`` is the vertical line at the
        first overflowing layer).
      phase_text: the regime label in the left panel.
      note: the text under the right panel that names inf, 0, nan and overflow.
      title: the figure's title.
    """

    figure: Figure
    ax_grad: object
    ax_std: object
    grad_line: Line2D
    predicted_line: Line2D
    std_line: Line2D
    grad_marks: Marks
    std_marks: Marks
    phase_text: object
    note: object
    title: object


class RegimePlotData(NamedTuple):
    """What ``update_regime_figure`` drew; per-layer arrays have shape ``(L,)``.

    Attributes:
      layers: ``1..L``.
      grad: measured ``||dC/db_l||`` as given (may hold ``inf``, 0, ``nan``).
      grad_drawn: the drawn values: ``inf`` clipped to the axis top, 0 to the bottom, ``nan``
        left as ``nan`` (a gap in the line, marked by an X).
      predicted: the prediction as given (``nan`` where there is none).
      predicted_drawn: the drawn prediction (non-finite or 0 left out as ``nan``).
      std, std_drawn: ``std(a_l)`` as given and as drawn.
      grad_ylim, std_ylim: the log axes' limits, finite and positive.
      chi1: the mean-field ``chi1`` the prediction used.
      phase: the regime label ("vanishing", "exploding", "near critical" or "undefined").
      overflow_layer: the first overflowing layer, 1-based, or 0 for none.
      overflow: any ``inf`` or ``nan`` among the measured values, or an overflowing layer.
      note: the note's text ("" when every value is drawable).
    """

    layers: np.ndarray
    grad: np.ndarray
    grad_drawn: np.ndarray
    predicted: np.ndarray
    predicted_drawn: np.ndarray
    std: np.ndarray
    std_drawn: np.ndarray
    grad_ylim: tuple
    std_ylim: tuple
    chi1: float
    phase: str
    overflow_layer: int
    overflow: bool
    note: str


def _marks(ax) -> Marks:
    xaxis = ax.get_xaxis_transform()
    kw = {"transform": xaxis, "clip_on": False, "zorder": 4, "ls": "none"}
    (inf,) = ax.plot([], [], marker="^", color=_OVERFLOW, ms=7, mec="k", **kw)
    (zero,) = ax.plot([], [], marker="v", color="0.3", ms=7, **kw)
    (nan,) = ax.plot([], [], marker="X", color=_OVERFLOW, ms=8, **kw)
    overflow = ax.axvline(1.0, color=_OVERFLOW, lw=1.5, ls="-", zorder=1.5, visible=False)
    return Marks(inf, zero, nan, overflow)


def regime_figure(*, figsize=(11.0, 4.2)) -> RegimeArtists:
    """Build the regime figure once, empty; ``update_regime_figure`` fills it.

    Returns:
      A ``RegimeArtists``; the figure has an Agg canvas and is unknown to pyplot.
    """
    fig, (ax_grad, ax_std) = agg_figure(figsize, ncols=2, dpi=80)
    fig.subplots_adjust(left=0.07, right=0.80, bottom=0.13, top=0.86, wspace=0.28)
    return regime_artists(fig, ax_grad, ax_std)


def regime_artists(fig: Figure, ax_grad, ax_std, *, legend: bool = True) -> RegimeArtists:
    """The regime figure's artists on two given axes of ``fig``, so that another figure can hold
    the same two panels (``update_regime_figure`` then redraws them); the title is ``fig``'s.

    Args:
      fig: the figure the axes belong to.
      ax_grad, ax_std: the axes of the gradient panel and of the forward panel.
      legend: draw the legend to the right of ``ax_std`` (room must be left for it).

    Returns:
      A ``RegimeArtists``.
    """
    title = changing(fig.suptitle("", fontsize=10))
    (grad_line,) = ax_grad.plot([], [], ".-", color=_MEASURED, lw=1.5, ms=4, zorder=3)
    (predicted_line,) = ax_grad.plot([], [], "--", color=_PREDICTED, lw=2, zorder=2)
    (std_line,) = ax_std.plot([], [], ".-", color=_STD, lw=1.5, ms=4, zorder=3)
    # Plain text rather than mathtext, and no minor ticks on the log axes: each costs ~20 ms
    # on every render.
    for ax in (ax_grad, ax_std):
        log_y(ax, minor=False)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.set_xlabel("hidden layer l")
    ax_grad.set_title("speed of learning ||dC/db_l||", fontsize=10)
    ax_std.set_title("forward: std(a_l)", fontsize=10)
    grad_marks, std_marks = _marks(ax_grad), _marks(ax_std)
    phase_text = changing(ax_grad.text(
        0.02, 0.97, "", transform=ax_grad.transAxes, ha="left", va="top", fontsize=10,
        fontweight="bold", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    ))  # fmt: skip
    # Two entries only (each legend line costs a text render per update); the overflow line is
    # named by the note when it shows.
    if legend:
        ax_std.legend(
            [grad_line, predicted_line],
            ["measured", "mean field:\n||dC/db_L|| χ₁^((L-l)/2)"],
            loc="upper left",
            bbox_to_anchor=(1.03, 1.0),
            fontsize=8,
            frameon=False,
        )
    note = changing(ax_std.text(
        1.03, 0.0, "", transform=ax_std.transAxes, ha="left", va="bottom", fontsize=8,
        color=_OVERFLOW, fontweight="bold",
    ))  # fmt: skip
    return RegimeArtists(
        fig, ax_grad, ax_std, grad_line, predicted_line, std_line, grad_marks, std_marks,
        phase_text, note, title,
    )  # fmt: skip


def _drawn(values, ylim):
    """``inf`` at the top, 0 at the bottom, ``nan`` left out (a gap in the line)."""
    return np.where(np.isnan(values), np.nan, clip_to_axis(values, *ylim))


def _place(marks: Marks, layers, values, overflow_layer: int) -> None:
    for kind, at in (("inf", np.isinf(values)), ("zero", values == 0), ("nan", np.isnan(values))):
        getattr(marks, kind).set_data(layers[at], np.full(int(at.sum()), MARK_HEIGHTS[kind]))
    marks.overflow.set_visible(overflow_layer > 0)
    if overflow_layer > 0:
        marks.overflow.set_xdata([overflow_layer, overflow_layer])


def _note(grad, std, overflow_layer: int, dtype: str) -> str:
    lines = []
    if overflow_layer > 0:
        lines.append(
            f"overflow: inf/nan in the\nforward pass from layer {overflow_layer}\n(red vertical line)"
        )
    lines.append(unplaceable_note(grad, std, dtype=dtype, zero_cause=" (underflow)"))
    return "\n\n".join(line for line in lines if line)


def update_regime_figure(
    artists: RegimeArtists,
    grad_b_norm,
    act_std,
    predicted,
    *,
    chi1: float,
    phase: str,
    depth_scale: float | None = None,
    overflow_layer: int = -1,
    dtype: str = "float32",
    title: str = "",
) -> RegimePlotData:
    """Redraw the figure of ``regime_figure`` in place; nothing is rebuilt.

    Args:
      artists: from ``regime_figure``.
      grad_b_norm: measured ``||dC/db_l||``, ``(L,)`` (``LayerProbe.trim()``'s).
      act_std: ``std(a_l)``, ``(L,)``.
      predicted: the prediction per layer, ``(L,)`` (``nan`` where there is none).
      chi1: mean-field ``chi1``, shown in the label.
      phase: the regime label.
      depth_scale: the gradient depth scale ``xi = -1/ln chi1``; if given, the label sets the
        depth ``L`` beside ``|xi|``, which decide the phase (``experiments.phase_of``).
      overflow_layer: ``LayerProbe.overflow_layer`` (0-based, -1 for none).
      dtype: the dtype computed in, named in the note.
      title: the figure's title.

    Returns:
      A ``RegimePlotData`` of what the artists were given.

    Example:
      >>> import numpy as np
      >>> artists = regime_figure()
      >>> data = update_regime_figure(artists, [1e-3, 1e-2, 1e-1], [0.5, 0.5, 0.5],
      ...                             [1e-3, 1e-2, 1e-1], chi1=100.0, phase="exploding")
      >>> data.grad_ylim
      (0.0001, 10.0)
    """
    grad = np.asarray(grad_b_norm, np.float64)
    std = np.asarray(act_std, np.float64)
    predicted = np.asarray(predicted, np.float64)
    n = grad.shape[0]
    if grad.ndim != 1 or std.shape != (n,) or predicted.shape != (n,) or n < 1:
        raise ValueError(
            f"grad_b_norm, act_std and predicted must be 1-D of one length >= 1; got shapes "
            f"{grad.shape}, {std.shape} and {predicted.shape}."
        )
    layers = np.arange(1, n + 1)
    overflow_layer = int(overflow_layer) + 1 if int(overflow_layer) >= 0 else 0
    shown = np.isfinite(predicted) & (predicted > 0)
    grad_ylim = log_limits(grad, predicted[shown], steady=True)
    std_ylim = log_limits(std, steady=True)
    grad_drawn = _drawn(grad, grad_ylim)
    std_drawn = _drawn(std, std_ylim)
    predicted_drawn = np.where(shown, predicted, np.nan)
    artists.grad_line.set_data(layers, grad_drawn)
    artists.predicted_line.set_data(layers, predicted_drawn)
    artists.std_line.set_data(layers, std_drawn)
    _place(artists.grad_marks, layers, grad, overflow_layer)
    _place(artists.std_marks, layers, std, overflow_layer)
    for ax, ylim in ((artists.ax_grad, grad_ylim), (artists.ax_std, std_ylim)):
        ax.set_ylim(*ylim)
        ax.set_xlim(0.5, steady_count(n) + 0.5)
    label = f"{phase}: χ₁ = {chi1:.4g}"
    if depth_scale is not None:
        label += f"\nL = {n} vs |ξ| = {abs(float(depth_scale)):.3g}"
    if not np.any(np.isfinite(grad)):
        label += "\nno finite gradient: overflow"
    artists.phase_text.set_text(label)
    artists.phase_text.set_color(PHASE_COLOURS.get(phase, "k"))
    note = _note(grad, std, overflow_layer, dtype)
    artists.note.set_text(note)
    artists.title.set_text(title)
    overflow = overflow_layer > 0 or bool(np.any(~np.isfinite(np.concatenate([grad, std]))))
    return RegimePlotData(
        layers, grad, grad_drawn, predicted, predicted_drawn, std, std_drawn, grad_ylim,
        std_ylim, float(chi1), phase, overflow_layer, overflow, note,
    )  # fmt: skip
