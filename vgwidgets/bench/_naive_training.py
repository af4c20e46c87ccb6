"""``TrainingExplorer``'s naive scrub: its whole figure drawn anew with pyplot at one step of
the runs it stored (``_naive`` has the pattern; the training section times it)."""

from __future__ import annotations

import numpy as np

from ._naive import _png


def _record_at(steps, step: int) -> int:
    """The index of the last record taken at or before ``step`` (the first if none)."""
    return int(min(max(np.searchsorted(steps, step, side="right") - 1, 0), len(steps) - 1))


def training_explorer_figure(runs: dict, step: int, *, field: str = "grad_w_norm"):
    """``TrainingExplorer``'s figure drawn with pyplot from scratch at one step of stored runs.

    What a notebook's scrub callback does once the runs are trained and kept: nothing is
    recomputed; for the record at or before ``step`` a new figure is drawn whole, one column
    per run of five panels: training and test loss with the step marked (and the first
    non-finite step, if any), the layer-by-record heat map of ``log10`` of ``field``, the
    saturated and dead fractions per layer at that record, and the histograms (fraction per
    bin) of the activations and of ``log10 |dC/dW_l|`` of the first, middle and last layers.
    The size is the explorer's: 5.2 x 11 inches per column at 64 dpi.

    Args:
      runs: ``{slot: TrainResult}``, trimmed (``TrainingExplorer.result``).
      step: the step chosen, as the explorer's step slider gives it.
      field: the heat map's ``TrainResult`` field (the explorer's default: ``grad_w_norm``).

    Returns:
      The pyplot figure, open (``training_explorer_naive`` saves and closes it).
    """
    import matplotlib
    import matplotlib.pyplot as plt

    heat_map = matplotlib.colormaps["viridis"].with_extremes(bad="#b00020")
    fig, axes = plt.subplots(5, len(runs), figsize=(5.2 * len(runs), 11.0), dpi=64, squeeze=False)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.95, bottom=0.05, hspace=0.55, wspace=0.3)
    for column, (slot, run) in enumerate(runs.items()):
        loss, heat, fractions, act, grad = axes[:, column]
        at = _record_at(run.step, step)
        now, span = float(run.step[at]), float(max(run.step[-1], 1))
        loss.plot(run.step, run.train_loss, label="training")
        loss.plot(run.step, run.test_loss, label="test")
        if int(run.first_nonfinite) >= 0:
            loss.axvline(int(run.first_nonfinite), color="#b00020", ls="--")
        loss.set_title(f"{slot}: step {now:g}", fontsize=9)
        loss.legend(fontsize=7)
        with np.errstate(all="ignore"):
            values = np.log10(np.asarray(getattr(run, field), np.float64)).T
        n_layers = values.shape[0]
        heat.imshow(np.ma.masked_invalid(values), aspect="auto", origin="lower", vmin=-8.0,
                    vmax=1.0, cmap=heat_map, extent=(0, span, 0.5, n_layers + 0.5),
                    interpolation="nearest")  # fmt: skip
        heat.set_title(f"log10 {field} (red: 0, inf or nan)", fontsize=9)
        for ax, colour in ((loss, "0.4"), (heat, "white")):
            ax.axvline(now, color=colour, lw=0.8)
        layers = np.arange(1, n_layers + 1)
        fractions.plot(layers, run.saturated_frac[at], "o-", ms=3, label="saturated")
        fractions.plot(layers, run.dead_frac[at], "s--", ms=3, label="dead")
        fractions.set_ylim(-0.05, 1.05)
        fractions.legend(fontsize=7)
        shown = sorted({1, (n_layers + 1) // 2, n_layers})
        for ax, edges, hist in ((act, run.act_edges, run.act_hist[at]),
                                (grad, run.grad_edges, run.grad_hist[at])):  # fmt: skip
            for layer in shown:
                counts = np.asarray(hist[layer - 1], np.float64)
                ax.stairs(counts / max(counts.sum(), 1.0), edges, label=f"layer {layer}")
            ax.legend(fontsize=7)
        act.set_xlabel("activation a_l", fontsize=8)
        grad.set_xlabel("log10 |dC/dW_l|", fontsize=8)
    return fig


def training_explorer_naive(runs: dict, step: int, *, field: str = "grad_w_norm") -> bytes:
    """``training_explorer_figure(runs, step, field=field)`` as PNG bytes: the naive scrub."""
    return _png(training_explorer_figure(runs, step, field=field))
