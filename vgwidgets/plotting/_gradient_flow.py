"""Gradient flow drawn: a ``Diagnosis`` (``vgwidgets.diagnose``) per parameter, on log axes.

Two panels sharing the x axis, one position per parameter leaf in the model's order. Top:
``||dC/dtheta_i||``, weight matrices (the leaves the vanishing ratio counts) filled, the rest
hollow, and the vanishing threshold drawn at ``min_grad_ratio`` times the largest matrix
gradient: a matrix below that line is what raised the flag. Bottom: the update-to-data ratio
``||u_i|| / ||theta_i||`` of one optimizer step, with Karpathy's rule of thumb, about 1e-3 for
a network that learns at a sensible speed (makemore part 3); leaves that are all zeros (biases
at initialization) have no ratio and are left out, and a note counts them.

Values a log axis cannot place are drawn as every figure here draws them (``_figure.py``): inf
as a triangle at the top, an exact 0 as one at the bottom, NaN as a cross in the middle, with a
note naming each. The figure draws the arrays it is given and compiles nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from ._figure import (
    MARK_HEIGHTS,
    ShownFigure,
    agg_figure,
    clip_to_axis,
    log_limits,
    log_y,
    unplaceable_note,
)

# Karpathy's rule of thumb for the update-to-data ratio (makemore part 3): about 1e-3.
UPDATE_RATIO_GUIDE = 1e-3
_MATRIX = "tab:blue"
_OTHER = "0.45"
_BAD = "tab:red"


class GradientFlowPlotData(NamedTuple):
    """What ``plot_gradient_flow`` draws, as NumPy arrays; per-leaf arrays have shape ``(n,)``.

    Attributes:
      positions: ``0..n-1``, one per leaf, labelled with ``names``.
      names: the leaves' names (``Diagnosis.names``).
      grad_norm: ``Diagnosis.grad_norm`` as float64 (may hold inf, 0, NaN).
      grad_drawn: ``grad_norm`` clipped to the axis (``clip_to_axis``), NaN left NaN (not
        drawn: its mark stands for it).
      grad_ylim: the top panel's limits.
      in_ratio: whether the leaf is drawn filled (counts in the vanishing ratio).
      vanishing_line: ``min_grad_ratio`` times the largest finite matrix gradient norm (NaN if
        there is none).
      ratio_positions: the leaves with a ratio (``param_norm != 0``).
      update_ratio: ``Diagnosis.update_ratio`` at ``ratio_positions``.
      ratio_drawn: ``update_ratio`` clipped to the bottom axis.
      ratio_ylim: the bottom panel's limits.
      grad_note, ratio_note: the panels' notes ("" when there is nothing to say).
      title: the figure's title.
    """

    positions: np.ndarray
    names: tuple
    grad_norm: np.ndarray
    grad_drawn: np.ndarray
    grad_ylim: tuple
    in_ratio: np.ndarray
    vanishing_line: float
    ratio_positions: np.ndarray
    update_ratio: np.ndarray
    ratio_drawn: np.ndarray
    ratio_ylim: tuple
    grad_note: str
    ratio_note: str
    title: str


def gradient_flow_data(diagnosis, *, title: str | None = None) -> GradientFlowPlotData:
    """The values ``plot_gradient_flow`` draws for ``diagnosis`` (no figure is made).

    Args:
      diagnosis: a ``Diagnosis`` from ``vgwidgets.diagnose``.
      title: the figure's title; ``None`` for one that names the flags raised.
    """
    grad = np.asarray(diagnosis.grad_norm, np.float64)
    n = grad.shape[0]
    positions = np.arange(n)
    in_ratio = np.asarray(diagnosis.in_ratio, bool)
    finite_matrices = grad[in_ratio & np.isfinite(grad)]
    vanishing_line = (
        float(finite_matrices.max()) * diagnosis.min_grad_ratio if finite_matrices.size else np.nan
    )
    grad_ylim = log_limits(grad, [vanishing_line] if np.isfinite(vanishing_line) else [])
    has_ratio = np.asarray(diagnosis.param_norm, np.float64) != 0
    ratio = np.asarray(diagnosis.update_ratio, np.float64)[has_ratio]
    ratio_ylim = log_limits(ratio, [UPDATE_RATIO_GUIDE])
    zero_params = int(np.sum(~has_ratio))
    ratio_note = unplaceable_note(ratio)
    if zero_params:
        extra = f"{zero_params} leaf (all zeros):\nno ratio, not drawn"
        if zero_params > 1:
            extra = f"{zero_params} leaves all zeros:\nno ratio, not drawn"
        ratio_note = "\n\n".join(filter(None, [ratio_note, extra]))
    if title is None:
        flags = diagnosis.flags()
        title = "gradient flow: " + (", ".join(flags) if flags else "no flag raised")
    return GradientFlowPlotData(
        positions=positions,
        names=tuple(diagnosis.names),
        grad_norm=grad,
        grad_drawn=_drawn(grad, grad_ylim),
        grad_ylim=grad_ylim,
        in_ratio=in_ratio,
        vanishing_line=vanishing_line,
        ratio_positions=positions[has_ratio],
        update_ratio=ratio,
        ratio_drawn=_drawn(ratio, ratio_ylim),
        ratio_ylim=ratio_ylim,
        grad_note=unplaceable_note(grad, zero_cause=" (no gradient reaches it)"),
        ratio_note=ratio_note,
        title=title,
    )


def _drawn(values, ylim):
    """Where the points go: inf at the top and 0 at the bottom (``clip_to_axis``), beside
    their marks; NaN nowhere (NaN is not drawn, its cross in the middle stands for it)."""
    return np.where(np.isnan(values), np.nan, clip_to_axis(values, *ylim))


def _mark(ax, positions, values) -> None:
    """Triangles and crosses for the values a log axis cannot place (see ``_figure.py``)."""
    xaxis = ax.get_xaxis_transform()
    for kind, where, style in (
        ("inf", np.isinf(values), dict(marker="^", color=_BAD, mec="k")),
        ("zero", values == 0, dict(marker="v", color="0.3")),
        ("nan", np.isnan(values), dict(marker="X", color=_BAD)),
    ):
        x = positions[where]
        ax.plot(
            x, np.full(x.shape, MARK_HEIGHTS[kind]), ls="none", ms=8, transform=xaxis,
            clip_on=False, zorder=4, gid=f"{kind}_marks", **style,
        )  # fmt: skip


def plot_gradient_flow(diagnosis, *, title: str | None = None) -> Figure:
    """Draw a ``Diagnosis``: gradient norm and update-to-data ratio per parameter, log scale.

    Args:
      diagnosis: from ``vgwidgets.diagnose``.
      title: the figure's title; ``None`` for one that names the flags raised.

    Returns:
      A ``matplotlib.figure.Figure`` (Agg canvas, not registered with pyplot) that a notebook
      shows as a PNG when a cell ends with it. Its lines carry ``gid`` names ("grad_matrices",
      "grad_other", "vanishing_line", "update_ratio", "ratio_guide") for reading back.

    Example:
      >>> import jax.numpy as jnp, vgwidgets as vg
      >>> loss_fn = lambda p, x: jnp.mean(jnp.tanh(x @ p["w1"]) @ p["w2"])
      >>> params = {"w1": jnp.ones((3, 4)), "w2": jnp.ones((4, 1))}
      >>> fig = plot_gradient_flow(vg.diagnose(loss_fn, params, jnp.ones((2, 3))))
      >>> [ax.get_yscale() for ax in fig.axes]
      ['log', 'log']

    References:
      Karpathy, "Building makemore part 3: activations & gradients, BatchNorm" (2022).
    """
    data = gradient_flow_data(diagnosis, title=title)
    n = data.positions.shape[0]
    fig, (ax_grad, ax_ratio) = agg_figure(
        (min(3.5 + 0.32 * n, 16.0), 6.4), nrows=2, sharex=True, figure_class=ShownFigure
    )
    fig.subplots_adjust(left=0.1, right=0.76, bottom=0.2, top=0.9, hspace=0.3)
    fig.suptitle(data.title, fontsize=12)

    matrices, other = data.in_ratio, ~data.in_ratio
    x = data.positions
    ax_grad.plot(x, data.grad_drawn, "-", color="0.8", lw=1, zorder=1)
    ax_grad.plot(
        x[matrices], data.grad_drawn[matrices], "o", color=_MATRIX, mec="k", ms=7,
        gid="grad_matrices", label="weight matrices\n(counted for vanishing)",
    )  # fmt: skip
    ax_grad.plot(
        x[other], data.grad_drawn[other], "s", mfc="none", mec=_OTHER, ms=6, gid="grad_other",
        label="other leaves (biases, ...)",
    )  # fmt: skip
    if np.isfinite(data.vanishing_line):
        ax_grad.axhline(
            data.vanishing_line, color=_BAD, ls="--", lw=1, gid="vanishing_line",
            label=f"vanishing below:\nlargest × {diagnosis.min_grad_ratio:g}",
        )  # fmt: skip
    _mark(ax_grad, x, data.grad_norm)
    ax_grad.set_ylabel("$\\|\\partial C/\\partial\\theta_i\\|$")
    ax_grad.set_title(
        f"gradient norm per parameter; global norm {diagnosis.global_norm:.3g}", fontsize=10
    )

    rx = data.ratio_positions
    ax_ratio.plot(rx, data.ratio_drawn, "o", color="tab:green", mec="k", ms=6, gid="update_ratio",
                  label="$\\|u_i\\| / \\|\\theta_i\\|$")  # fmt: skip
    ax_ratio.axhline(UPDATE_RATIO_GUIDE, color="k", ls=":", lw=1, gid="ratio_guide",
                     label="≈1e-3: Karpathy's\nrule of thumb")  # fmt: skip
    _mark(ax_ratio, rx, data.update_ratio)
    ax_ratio.set_ylabel("update / data")
    ax_ratio.set_title("update-to-data ratio of one optimizer step", fontsize=10)

    for ax, ylim, note in (
        (ax_grad, data.grad_ylim, data.grad_note),
        (ax_ratio, data.ratio_ylim, data.ratio_note),
    ):
        log_y(ax)
        ax.set_ylim(*ylim)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.text(1.02, 0.0, note, transform=ax.transAxes, ha="left", va="bottom", fontsize=8,
                color=_BAD, gid="note")  # fmt: skip
    ax_ratio.set_xlim(-0.6, n - 0.4)
    step = max(1, -(-n // 40))  # at most ~40 labels
    ax_ratio.set_xticks(x[::step])
    ax_ratio.set_xticklabels(data.names[::step], rotation=60, ha="right", fontsize=7)
    return fig
