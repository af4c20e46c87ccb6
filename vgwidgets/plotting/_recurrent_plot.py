"""The recurrent figure: ``||dL/dh_t||`` against the distance ``T - t``, and ``W_rec``'s spectrum.

Left panel, on a log axis: ``||dL/dh_t||`` for each chosen cell (solid), the LSTM's
``||dL/dc_t||`` (dotted), and for the vanilla cell Pascanu et al.'s bound
``||dL/dh_T|| (sigma_max gamma)^(T-t)`` (dashed). Right panel: the eigenvalues of ``W_rec`` in
the complex plane, the unit circle, and circles at the spectral radius and at ``sigma_max``.
Built once by ``recurrent_figure``, redrawn in place by ``update_recurrent_figure``. Values a log
axis cannot place are marked as in every figure (``_figure.py``).
"""

from __future__ import annotations

import math
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
    unplaceable_note,
)

CELL_COLOURS = {"vanilla": "tab:blue", "lstm": "tab:orange", "gru": "tab:green"}
CELL_LABELS = {"vanilla": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
_BAD = "tab:red"
_CIRCLE = np.exp(1j * np.linspace(0, 2 * np.pi, 121))


class RecurrentArtists(NamedTuple):
    """Handles to everything ``update_recurrent_figure`` changes.

    Attributes:
      figure: the ``Figure`` (Agg canvas, unknown to pyplot).
      ax_grad, ax_eig: the two axes.
      grad_lines: ``{cell: Line2D}``, ``||dL/dh_t||``.
      cell_state_line: the LSTM's ``||dL/dc_t||``.
      bound_line: the vanilla cell's bound.
      inf, zero, nan: marks for values the log axis cannot place.
      eig_points, radius_circle, sigma_circle: the spectrum panel's artists.
      label, note, title: texts.
    """

    figure: Figure
    ax_grad: object
    ax_eig: object
    grad_lines: dict
    cell_state_line: Line2D
    bound_line: Line2D
    inf: Line2D
    zero: Line2D
    nan: Line2D
    eig_points: Line2D
    radius_circle: Line2D
    sigma_circle: Line2D
    label: object
    note: object
    title: object


class RecurrentPlotData(NamedTuple):
    """What ``update_recurrent_figure`` drew.

    Attributes:
      distance: ``T - t`` for ``t = 1..T`` (``T-1 .. 0``).
      grad: ``{cell: ||dL/dh_t||}`` as given.
      grad_drawn: ``{cell: values drawn}`` (inf at the top, 0 at the bottom, nan left out).
      cell_state: the LSTM's ``||dL/dc_t||`` as given (empty when the LSTM is not shown).
      bound: the vanilla cell's bound as given (empty when not shown).
      ylim: the log axis' limits.
      radius, sigma_max: the spectrum's radius and largest singular value.
      overflow: any inf or nan among the gradients.
      note: the note's text.
    """

    distance: np.ndarray
    grad: dict
    grad_drawn: dict
    cell_state: np.ndarray
    bound: np.ndarray
    ylim: tuple
    radius: float
    sigma_max: float
    overflow: bool
    note: str


def eig_reach(largest: float) -> float:
    """The spectrum panel's half-width: 1.1 times ``largest`` rounded up to an eighth of a
    decade (steps of ~33%). The limits then stay put while the gain moves a little, so that
    an update redraws the panel's ticks only when the circles outgrow it (or shrink to less
    than three quarters of it).

    Example:
      >>> eig_reach(1.0), eig_reach(1.2) == eig_reach(1.3), round(eig_reach(2.0) / 2.0, 2)
      (1.1, True, 1.3)
    """
    steps = math.ceil(round(8.0 * math.log10(max(largest, 1e-300)), 9))
    return 1.1 * 10.0 ** (steps / 8.0)


def recurrent_figure(*, figsize=(11.0, 4.2)) -> RecurrentArtists:
    """Build the recurrent figure once, empty; ``update_recurrent_figure`` fills it."""
    fig, (ax_grad, ax_eig) = agg_figure(
        figsize, ncols=2, dpi=80, gridspec_kw={"width_ratios": [2.1, 1.0]}
    )
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.86, wspace=0.22)
    title = changing(fig.suptitle("", fontsize=10))
    grad_lines = {
        cell: ax_grad.plot([], [], "-", color=colour, lw=1.6, label=CELL_LABELS[cell])[0]
        for cell, colour in CELL_COLOURS.items()
    }
    (cell_state_line,) = ax_grad.plot(
        [], [], ":", color=CELL_COLOURS["lstm"], lw=2, label="LSTM ||dL/dc_t||"
    )
    (bound_line,) = ax_grad.plot(
        [], [], "--", color="k", lw=1.2, label="bound ||dL/dh_T|| (σ_max γ)^(T-t)"
    )
    xaxis = ax_grad.get_xaxis_transform()
    kw = {"transform": xaxis, "clip_on": False, "zorder": 4, "ls": "none"}
    (inf,) = ax_grad.plot([], [], marker="^", color=_BAD, ms=7, mec="k", **kw)
    (zero,) = ax_grad.plot([], [], marker="v", color="0.3", ms=7, **kw)
    (nan,) = ax_grad.plot([], [], marker="X", color=_BAD, ms=8, **kw)
    log_y(ax_grad, minor=False)
    ax_grad.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    # The x label as a static figure text, not the axis' label: the axis is redrawn whenever
    # T or the decades shown change, and its label would be laid out and drawn again each time.
    box = ax_grad.get_position()
    fig.text((box.x0 + box.x1) / 2, 0.015, "distance T - t (steps back from the loss)",
             ha="center", va="bottom", fontsize="medium")  # fmt: skip
    ax_grad.set_title("||dL/dh_t||: the gradient reaching step t", fontsize=10)
    ax_grad.legend(loc="lower left", fontsize=7, frameon=False)
    # The texts change with the controls: drawn over the cached layers (``changing``), they
    # cost a few milliseconds, where a change to a static text redraws the whole figure.
    label = changing(ax_grad.text(
        0.98, 0.97, "", transform=ax_grad.transAxes, ha="right", va="top", fontsize=9,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    ))  # fmt: skip
    note = changing(ax_grad.text(
        0.98, 0.03, "", transform=ax_grad.transAxes, ha="right", va="bottom", fontsize=7,
        color=_BAD, fontweight="bold",
    ))  # fmt: skip
    ax_eig.plot(_CIRCLE.real, _CIRCLE.imag, "-", color="0.6", lw=1, label="unit circle")
    (radius_circle,) = ax_eig.plot([], [], "-", color="tab:purple", lw=1.2, label="radius ρ")
    (sigma_circle,) = ax_eig.plot([], [], "--", color="k", lw=1.2, label="σ_max")
    (eig_points,) = ax_eig.plot([], [], ".", color="tab:blue", ms=3, label="eigenvalues")
    ax_eig.set_aspect("equal", adjustable="box")
    # No legend and three ticks a side: each text costs a render on every update.
    ax_eig.set_title("eigenvalues of W_rec; circles: 1 (grey),\nρ (purple), σ_max (dashed)",
                     fontsize=9)  # fmt: skip
    for axis in (ax_eig.xaxis, ax_eig.yaxis):
        axis.set_major_locator(MaxNLocator(3, symmetric=True))
    return RecurrentArtists(
        fig, ax_grad, ax_eig, grad_lines, cell_state_line, bound_line, inf, zero, nan,
        eig_points, radius_circle, sigma_circle, label, note, title,
    )  # fmt: skip


def update_recurrent_figure(
    artists: RecurrentArtists,
    grad: dict,
    *,
    cell_state=None,
    bound=None,
    eigenvalues=(),
    radius: float = float("nan"),
    sigma_max: float = float("nan"),
    label: str = "",
    dtype: str = "float32",
    title: str = "",
) -> RecurrentPlotData:
    """Redraw the figure of ``recurrent_figure`` in place.

    Args:
      artists: from ``recurrent_figure``.
      grad: ``{cell: ||dL/dh_t||}``, each ``(T,)`` for ``t = 1..T``; cells of ``CELL_COLOURS``.
      cell_state: the LSTM's ``||dL/dc_t||``, ``(T,)``, or ``None``.
      bound: the vanilla cell's bound, ``(T,)``, or ``None``.
      eigenvalues: ``W_rec``'s eigenvalues (complex).
      radius, sigma_max: its spectral radius and largest singular value.
      label: the text in the gradient panel's corner (the phases).
      dtype: named in the overflow note.
      title: the figure's title.

    Returns:
      A ``RecurrentPlotData``.

    Example:
      >>> artists = recurrent_figure()
      >>> data = update_recurrent_figure(artists, {"vanilla": [1e-3, 1e-2, 1.0]},
      ...                                bound=[1e-2, 1e-1, 1.0], radius=0.5, sigma_max=0.9)
      >>> data.distance.tolist(), data.ylim
      ([2, 1, 0], (0.0001, 10.0))
      >>> huge = update_recurrent_figure(artists, {"vanilla": [1.0, 1.0]}, bound=[1e308, 1.0])
      >>> huge.ylim  # the axis follows the measured curves, not the bound
      (0.1, 10.0)
    """
    grad = {cell: np.asarray(v, np.float64) for cell, v in grad.items()}
    unknown = set(grad) - set(CELL_COLOURS)
    if not grad or unknown:
        raise ValueError(f"grad must map cells of {tuple(CELL_COLOURS)}; got {tuple(grad)!r}.")
    n = next(iter(grad.values())).shape[0]
    if any(v.shape != (n,) for v in grad.values()) or n < 1:
        raise ValueError(f"every grad must be 1-D of one length >= 1; got {[v.shape for v in grad.values()]}.")
    distance = np.arange(n)[::-1]
    cell_state = np.empty(0) if cell_state is None else np.asarray(cell_state, np.float64)
    bound = np.empty(0) if bound is None else np.asarray(bound, np.float64)
    # The axis follows the measured curves; the bound, which may run far past them (up to
    # float64's largest number), is drawn where it falls and cut off by the axis.
    ylim = log_limits(*grad.values(), cell_state)
    drawn = {}
    for cell, line in artists.grad_lines.items():
        if cell in grad:
            values = grad[cell]
            drawn[cell] = np.where(np.isnan(values), np.nan, clip_to_axis(values, *ylim))
            line.set_data(distance, drawn[cell])
        else:
            line.set_data([], [])
    if cell_state.size == n:
        artists.cell_state_line.set_data(distance, np.where(cell_state > 0, cell_state, np.nan))
    else:
        artists.cell_state_line.set_data([], [])
    if bound.size == n:
        top = ylim[1] * 10.0
        artists.bound_line.set_data(distance, np.where(bound > 0, np.minimum(bound, top), np.nan))
    else:
        artists.bound_line.set_data([], [])
    every = np.concatenate(list(grad.values()))
    where = np.concatenate([distance] * len(grad))
    for mark, at in (
        (artists.inf, np.isinf(every)), (artists.zero, every == 0), (artists.nan, np.isnan(every))
    ):  # fmt: skip
        kind = "inf" if mark is artists.inf else "zero" if mark is artists.zero else "nan"
        mark.set_data(where[at], np.full(int(at.sum()), MARK_HEIGHTS[kind]))
    artists.ax_grad.set_ylim(*ylim)
    artists.ax_grad.set_xlim(n - 0.5 if n > 1 else 1.0, -0.5)
    eig = np.asarray(eigenvalues, np.complex128)
    artists.eig_points.set_data(eig.real, eig.imag)
    for circle, r in ((artists.radius_circle, radius), (artists.sigma_circle, sigma_max)):
        if np.isfinite(r):
            circle.set_data(r * _CIRCLE.real, r * _CIRCLE.imag)
        else:
            circle.set_data([], [])
    finite = [abs(v) for v in (radius, sigma_max, 1.0) if np.isfinite(v)]
    reach = eig_reach(max(finite))
    artists.ax_eig.set_xlim(-reach, reach)
    artists.ax_eig.set_ylim(-reach, reach)
    note = unplaceable_note(every, dtype=dtype, zero_cause=" (underflow)")
    artists.note.set_text(note)
    artists.label.set_text(label)
    artists.title.set_text(title)
    overflow = bool(np.any(~np.isfinite(every)))
    return RecurrentPlotData(
        distance, grad, drawn, cell_state, bound, ylim, float(radius), float(sigma_max),
        overflow, note,
    )  # fmt: skip
