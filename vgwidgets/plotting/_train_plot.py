"""The training figure: one column per run, built once, redrawn in place as a step is scrubbed.

Rows, per run: the training and test loss against the step; a layer-by-step heat map of
``log10`` of a chosen per-layer quantity (``||dC/dW_l||``, ``||dC/db_l||``, the update-to-data
ratio); the saturated and dead fractions per layer at the chosen step; the histograms of the
activations and of ``log10 |dC/dW_l|`` of three layers (first, middle, last) at that step.
Everything here is drawn from NumPy arrays (a ``TrainResult``'s fields); nothing is computed.
"""

from __future__ import annotations

from typing import NamedTuple

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator

from ._figure import DRAWN_PAST_EXTENT, _by_zorder, _meet, agg_figure, rgba_png

HEAT_LIMITS = (-8.0, 1.0)  # log10 of the heat map's colour scale
LAYER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")  # first, middle, last layer
EMPTY = "no run yet"


class RunPlotData(NamedTuple):
    """One run as the figure draws it (``None`` for a column with no run).

    Attributes:
      title: the column's title.
      step: ``(R,)`` recorded steps; ``train_loss``, ``test_loss``: ``(R,)``.
      heat: ``(L, R)`` log10 of the chosen quantity (non-finite where it is 0, inf or NaN).
      at: the chosen record's index.
      saturated, dead: ``(L,)`` at that record.
      layers: the 1-based layers whose histograms are drawn.
      act_edges, act_hist: ``(bins + 1,)`` and ``(len(layers), bins)``; ``grad_edges``,
        ``grad_hist`` likewise.
      first_nonfinite: the first non-finite step, or -1.
      act_top, grad_top: the largest fraction per bin over every record (the y-limits, fixed
        for the run, so that scrubbing redraws only the step's artists).
    """

    title: str
    step: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    heat: np.ndarray
    at: int
    saturated: np.ndarray
    dead: np.ndarray
    layers: tuple
    act_edges: np.ndarray
    act_hist: np.ndarray
    grad_edges: np.ndarray
    grad_hist: np.ndarray
    first_nonfinite: int
    act_top: float = 1.0
    grad_top: float = 1.0


class TrainingArtists(NamedTuple):
    """The figure, its axes ``axes[row][column]``, per column a dict of its artists, and
    ``state``: the background saved by the last full render (``render_training``) and, per
    axes, the artists drawn over it at every render, in matplotlib's order (``_over_changing``)."""

    figure: object
    axes: list
    columns: list
    state: dict


def _column_artists(axes) -> dict:
    """Every artist of one column, made once; ``_draw_run`` only updates them."""
    loss, heat, fractions, act, grad = axes
    for ax in axes:  # few ticks: tick labels are most of a redraw's cost
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(3))
    a = {
        "train": loss.plot([], [], color="#1f77b4", label="training")[0],
        "test": loss.plot([], [], color="#d62728", label="test")[0],
        "now": [ax.axvline(0, color=c, lw=0.8, animated=True)
                for ax, c in ((loss, "0.4"), (heat, "white"))],
        "bad": loss.axvline(0, color="#b00020", ls="--", lw=1.2, visible=False),
        "bad_text": loss.text(0, 1, "", color="#b00020", va="top", fontsize=8,
                              transform=loss.get_xaxis_transform()),
        "image": heat.imshow(np.full((1, 1), np.nan), aspect="auto", origin="lower",
                             vmin=HEAT_LIMITS[0], vmax=HEAT_LIMITS[1],
                             cmap=matplotlib.colormaps["viridis"].with_extremes(bad="#b00020"),
                             interpolation="nearest"),
        "saturated": fractions.plot([], [], "o-", ms=3, label="saturated", color="#9467bd",
                                    animated=True)[0],
        "dead": fractions.plot([], [], "s--", ms=3, label="dead", color="#8c564b",
                               animated=True)[0],
        # zorder 2, a line's: over the axis (ticks, 1.5), which would otherwise be redrawn over
        # them at every scrub (see ``_over_changing``)
        "act": [act.stairs([0.0], [0.0, 1.0], color=c, label=" ", animated=True, zorder=2)
                for c in LAYER_COLOURS],
        "grad": [grad.stairs([0.0], [0.0, 1.0], color=c, label=" ", animated=True, zorder=2)
                 for c in LAYER_COLOURS],
        "step_text": [ax.text(0.01, 0.97, "", transform=ax.transAxes, va="top", fontsize=8,
                              animated=True) for ax in (fractions, act, grad)],
        "empty": loss.text(0.5, 0.5, EMPTY, transform=loss.transAxes, ha="center", fontsize=10),
    }  # fmt: skip
    loss.set_xlabel("step", fontsize=8)
    loss.set_ylabel("loss", fontsize=8)
    heat.set_ylabel("layer", fontsize=8)
    heat.yaxis.set_major_locator(MaxNLocator(3, integer=True))
    fractions.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    fractions.set_xlabel("layer", fontsize=8)
    fractions.set_ylim(-0.05, 1.05)
    act.set_xlabel("activation a_l", fontsize=8)
    grad.set_xlabel("log10 |dC/dW_l|", fontsize=8)
    # One legend per kind of panel: the gradient histograms share the activations' colours.
    # Under the data (zorder 1.9, over the axis at 1.5): a step's line is never hidden by a
    # legend, and the legend stays in the saved background instead of being drawn anew over
    # the step's artists at every scrub (``_over_changing``; text is most of a draw's time).
    a["legends"] = [ax.legend(fontsize=7, loc="upper right") for ax in (loss, fractions, act)]
    for legend in a["legends"]:
        legend.set_zorder(1.9)
    return a


def training_figure(n_runs: int = 2) -> TrainingArtists:
    """Build the figure and its artists once: 5 rows, ``n_runs`` columns.

    Example:
      >>> artists = training_figure(2)
      >>> len(artists.figure.axes)
      10
    """
    figure, axes = agg_figure((5.2 * n_runs, 11.0), nrows=5, ncols=n_runs, dpi=64, squeeze=False)
    figure.subplots_adjust(left=0.1, right=0.97, top=0.95, bottom=0.05, hspace=0.55, wspace=0.3)
    rows = [[axes[r][c] for c in range(n_runs)] for r in range(5)]
    columns = [_column_artists([row[c] for row in rows]) for c in range(n_runs)]
    over = [_over_changing(ax) for ax in figure.axes]
    return TrainingArtists(figure, rows, columns, {"background": None, "over": over})


def _over_changing(ax) -> list:
    """The artists of ``ax`` that matplotlib draws from its first changing (animated) one on,
    in its order (``Axes.draw``: the children but the background patch, by zorder, ties in
    the children's order); the static ones among them are made animated too.

    So the saved background holds only what lies under every changing artist, and a render
    that draws this list over it draws what ``savefig`` draws: a spine or the divergence
    marker over a step's line, not the line over them."""
    ordered = _by_zorder(a for a in ax.get_children() if a is not ax.patch)
    first = next((i for i, a in enumerate(ordered) if a.get_animated()), len(ordered))
    renderer = ax.figure.canvas.get_renderer()
    # what lies wholly outside the axes (a title) is under no changing artist, which the axes
    # clip; an artist hidden now may be shown later (the divergence marker): extents, not
    # visibility, decide
    over = [
        a for a in ordered[first:]
        if a.get_animated() or _meet(a.get_window_extent(renderer).padded(DRAWN_PAST_EXTENT),
                                     ax.bbox)
    ]  # fmt: skip
    for artist in over:
        artist.set_animated(True)
    return over


def _finite_limits(*arrays):
    values = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    pad = 0.05 * (high - low) or 0.5
    return low - pad, high + pad


def _draw_run(axes, a: dict, run: RunPlotData | None, heat_name: str) -> None:
    loss, heat, fractions, act, grad = axes
    shown = run is not None
    for key, artist in a.items():
        for item in artist if isinstance(artist, list) else [artist]:
            item.set_visible(shown if key != "empty" else not shown)
    if not shown:
        for ax in axes:
            ax.set_title("")
        return
    span = float(run.step[-1]) if len(run.step) > 1 else 1.0
    a["train"].set_data(run.step, run.train_loss)
    a["test"].set_data(run.step, run.test_loss)
    loss.set_xlim(0, span)
    loss.set_ylim(*_finite_limits(run.train_loss, run.test_loss))
    bad = run.first_nonfinite >= 0
    a["bad"].set_visible(bad)
    a["bad_text"].set_visible(bad)
    if bad:
        a["bad"].set_xdata([run.first_nonfinite] * 2)
        a["bad_text"].set_position((run.first_nonfinite, 0.98))
        a["bad_text"].set_text(f" inf/nan at step {run.first_nonfinite}")
    loss.set_title(run.title, fontsize=9)

    n_layers = run.heat.shape[0]
    a["image"].set_data(np.where(np.isfinite(run.heat), run.heat, np.nan))
    a["image"].set_extent((0, span, 0.5, n_layers + 0.5))
    heat.set_xlim(0, span)
    heat.set_ylim(0.5, n_layers + 0.5)
    heat.set_title(f"log10 {heat_name} (red: 0, inf or nan)", fontsize=9)

    fractions.set_xlim(0.5, len(run.saturated) + 0.5)
    fractions.set_title("saturated and dead fractions per layer", fontsize=9)

    texts = a["legends"][2].get_texts()
    for ax, key, edges, counts in (
        (act, "act", run.act_edges, run.act_hist),
        (grad, "grad", run.grad_edges, run.grad_hist),
    ):
        for i, (stairs, text) in enumerate(zip(a[key], texts)):
            if i < len(run.layers):
                text.set_text(f"layer {run.layers[i]}")
            else:
                stairs.set_visible(False)
                text.set_text("")
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(0, 1.05 * (run.act_top if key == "act" else run.grad_top) or 1.0)
        ax.set_title("histograms (fraction per bin)", fontsize=9)
    _draw_step(a, run)


def _draw_step(a: dict, run: RunPlotData) -> None:
    """The artists that depend on the chosen step only (drawn over the saved background)."""
    step_now = float(run.step[run.at])
    for line in a["now"]:
        line.set_xdata([step_now, step_now])
    layers = np.arange(1, len(run.saturated) + 1)
    a["saturated"].set_data(layers, run.saturated)
    a["dead"].set_data(layers, run.dead)
    for text in a["step_text"]:
        text.set_text(f"step {step_now:g}")
    for key, edges, counts in (("act", run.act_edges, run.act_hist),
                               ("grad", run.grad_edges, run.grad_hist)):  # fmt: skip
        for i, stairs in enumerate(a[key]):
            if i < len(run.layers):
                stairs.set_data(counts[i] / max(float(np.sum(counts[i])), 1.0), edges)


def update_training_figure(artists: TrainingArtists, runs, *, heat_name: str):
    """Redraw every column from ``runs`` (one ``RunPlotData`` or ``None`` per column).

    Returns:
      ``runs`` as a tuple: the data the figure now shows.

    Example:
      >>> artists = training_figure(1)
      >>> update_training_figure(artists, [None], heat_name="||dC/dW_l||")
      (None,)
    """
    runs = tuple(runs)
    for column, run in enumerate(runs):
        axes = [row[column] for row in artists.axes]
        _draw_run(axes, artists.columns[column], run, heat_name)
    return runs


def scrub_training_figure(artists: TrainingArtists, runs):
    """Redraw only what depends on the chosen step (``runs`` as for ``update_training_figure``,
    each differing from the last full update in ``at`` only).

    Returns:
      ``runs`` as a tuple.
    """
    runs = tuple(runs)
    for column, run in enumerate(runs):
        if run is not None:
            _draw_step(artists.columns[column], run)
    return runs


def render_training(artists: TrainingArtists, *, full: bool) -> bytes:
    """PNG bytes of the figure: a full draw saves the background (every artist but the step's
    and those drawn over them), a scrub restores it; the step's artists and those over them are
    then drawn on it in matplotlib's order, the same in both cases.

    Example:
      >>> artists = training_figure(1)
      >>> render_training(artists, full=True)[:4]
      b'\\x89PNG'
    """
    figure = artists.figure
    canvas = figure.canvas
    if full or artists.state["background"] is None:
        canvas.draw()  # skips the animated (step) artists
        artists.state["background"] = canvas.copy_from_bbox(figure.bbox)
    else:
        canvas.restore_region(artists.state["background"])
    for over in artists.state["over"]:
        for item in over:
            if item.get_visible():
                figure.draw_artist(item)
    return rgba_png(canvas.buffer_rgba())
