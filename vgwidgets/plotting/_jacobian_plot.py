"""The Jacobian-spectrum figure: the spread of log singular values against depth, and the
singular values themselves at one depth, for each network of the ``jacobian-spectrum``
reproduction (Pennington et al. 2017, fig. 1)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._figure import agg_figure

_COLOURS = ("tab:green", "tab:blue", "tab:red", "tab:orange", "tab:purple", "tab:brown")


def jacobian_figure(depths, spreads: dict, singular_values: dict, *, depth: int) -> Figure:
    """Left: ``std(ln s)`` against depth (log axis), one line per network; right: a histogram of
    ``log10 s`` of each network's ``J_depth`` (zero and unresolved values left out).

    Args:
      depths: the depths of ``spreads``, ``(n,)``.
      spreads: ``{name: (n,) std of ln s}``.
      singular_values: ``{name: (width,) singular values at depth}``.
      depth: the depth of ``singular_values``, for the title.

    Returns:
      A ``Figure`` with an Agg canvas, unknown to pyplot.

    Example:
      >>> fig = jacobian_figure([1, 2], {"a": [0.1, 0.2]}, {"a": np.ones(4)}, depth=2)
      >>> len(fig.axes)
      2
    """
    fig, (ax_spread, ax_hist) = agg_figure((11.0, 3.8), ncols=2, dpi=80)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.88, wspace=0.25)
    depths = np.asarray(depths)
    for colour, (name, values) in zip(_COLOURS, spreads.items()):
        ax_spread.plot(depths, values, "o-", color=colour, label=name, ms=4)
    ax_spread.set_xscale("log", base=2)
    ax_spread.set_xlabel("depth L")
    ax_spread.set_ylabel("std of ln s (resolved singular values)")
    ax_spread.set_title("spread of the Jacobian's singular values", fontsize=10)
    ax_spread.legend(fontsize=8, frameon=False)
    logs = {}
    for name, values in singular_values.items():
        values = np.asarray(values, np.float64)
        kept = values[values > 1e-12 * values.max()]
        logs[name] = np.log10(kept)
    finite = np.concatenate(list(logs.values())) if logs else np.zeros(1)
    bins = np.linspace(finite.min() - 0.1, finite.max() + 0.1, 40)
    for colour, (name, values) in zip(_COLOURS, logs.items()):
        ax_hist.hist(values, bins=bins, color=colour, alpha=0.5, label=name)
    ax_hist.axvline(0.0, color="k", lw=1, ls="--")
    ax_hist.set_xlabel("log10 s (0: s = 1, an isometry)")
    ax_hist.set_ylabel("count")
    ax_hist.set_title(f"singular values of J at L = {depth}", fontsize=10)
    return fig
