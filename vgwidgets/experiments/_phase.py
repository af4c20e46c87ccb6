"""The phase diagram: mean-field theory on a grid of ``(sw^2, sb^2)``, measured rates beside it.

What ``PhaseDiagram`` shows, computed without a widget. For one activation, ``phase_map``
evaluates ``depth_scales`` on a fine grid (``PHASE_WEIGHT_VARS x PHASE_BIAS_VARS``), finds the
critical line ``chi1 = 1`` on it (``critical_line``), and runs ``sweep`` on a coarse grid of
random networks (``MEASURED_WEIGHT_VARS x MEASURED_BIAS_VARS``, width 128, depth 30) whose
measured per-layer change of ``ln ||dC/db_l||^2`` is set on the same colour scale as
``ln chi1``: where theory and networks agree, the dots vanish into the map.

Maps are cached per activation (``functools.lru_cache``: the arrays are read-only), so an
explorer that switches back to an activation computes and compiles nothing.

References:
  Poole et al., NeurIPS 2016, fig. 2; Schoenholz et al., ICLR 2017, fig. 1 and 4.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import numpy as np

from ..engine import (
    ACTIVATIONS,
    DepthScales,
    SweepConfig,
    SweepResult,
    check_choice,
    depth_scales,
    sweep,
)

PHASE_WEIGHT_VARS = np.round(np.linspace(0.1, 4.0, 40), 6)  # sw^2, step 0.1
PHASE_BIAS_VARS = np.round(np.linspace(0.0, 0.4, 21), 6)  # sb^2, step 0.02
# The map's quadrature and iterations: 200 nodes and 300 steps of the length map keep a map
# under ~2 s of one core for every activation (ln chi1 changes by < 1e-6 against the defaults
# wherever q* converges; a q that has not settled in 300 steps is drawn as diverging).
MAP_OPTIONS = {"n_nodes": 200, "max_iter": 300}
MEASURED_WEIGHT_VARS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
MEASURED_BIAS_VARS = (0.05, 0.15, 0.25, 0.35)
MEASURED_CONFIG = SweepConfig(width=128, depth=30, examples=8)

# name -> (label, theory from a DepthScales, measured from a sweep's rate). Depth scales are
# shown as log10, so that 1, 10 and 100 layers are evenly spaced.
QUANTITIES = {
    "ln chi1": "ln χ₁ (per layer change of ln ||dC/db_l||², going back)",
    "log10 |xi_grad|": "log₁₀ |ξ_∇| = log₁₀ |1/ln χ₁| (gradient depth scale)",
    "log10 xi_c": "log₁₀ ξ_c (correlation depth scale)",
    "log10 xi_q": "log₁₀ ξ_q (length depth scale)",
}


class PhaseMap(NamedTuple):
    """One activation's phase diagram.

    Attributes:
      activation: the key of ``ACTIVATIONS``.
      weight_axis, bias_axis: the fine grid's ``sw^2`` and ``sb^2`` values.
      theory: ``depth_scales`` on ``meshgrid(weight_axis, bias_axis)``, ``(n_bias, n_weight)``.
      critical: the critical ``sw^2`` at each ``sb^2`` of ``bias_axis`` (``nan`` where ``chi1``
        does not cross 1 within the grid).
      measured: ``sweep`` on the coarse grid (``MEASURED_*``), ``trim()``-ed.
    """

    activation: str
    weight_axis: np.ndarray
    bias_axis: np.ndarray
    theory: DepthScales
    critical: np.ndarray
    measured: SweepResult


def critical_line(weight_axis, log_chi1) -> np.ndarray:
    """Where each row of ``log_chi1`` first crosses 0 along ``weight_axis``, linearly
    interpolated; ``nan`` for a row that does not cross.

    Example:
      >>> critical_line([1.0, 2.0, 3.0], np.log([[0.5, 1.0, 1.5], [0.2, 0.3, 0.4]])).tolist()
      [2.0, nan]
    """
    weight_axis = np.asarray(weight_axis, np.float64)
    log_chi1 = np.atleast_2d(np.asarray(log_chi1, np.float64))
    out = np.full(log_chi1.shape[0], np.nan)
    for row, values in enumerate(log_chi1):
        above = np.flatnonzero(values >= 0)
        if above.size == 0:
            continue
        j = int(above[0])
        if j == 0:
            out[row] = weight_axis[0] if values[0] == 0 else np.nan
            continue
        lo, hi = values[j - 1], values[j]
        t = -lo / (hi - lo)
        out[row] = weight_axis[j - 1] + t * (weight_axis[j] - weight_axis[j - 1])
    return out


def quantity_values(theory: DepthScales, quantity: str) -> np.ndarray:
    """The map's values of ``quantity`` (a key of ``QUANTITIES``) from ``theory``.

    Example:
      >>> from vgwidgets.engine import depth_scales
      >>> round(float(quantity_values(depth_scales("relu", 1.0, 0.0), "ln chi1")), 4)
      -0.6931
    """
    check_choice("quantity", quantity, QUANTITIES)
    with np.errstate(divide="ignore", invalid="ignore"):
        if quantity == "ln chi1":
            return np.log(theory.chi1)
        if quantity == "log10 |xi_grad|":
            return np.log10(np.abs(theory.xi_grad))
        if quantity == "log10 xi_c":
            return np.log10(theory.xi_c)
        return np.log10(theory.xi_q)


def measured_values(measured: SweepResult, quantity: str) -> np.ndarray:
    """What the networks say about ``quantity``: their rate (``ln chi1``) or ``log10 |1/rate|``
    (``|xi_grad|``); ``nan`` for the other depth scales, which the sweep does not fit."""
    check_choice("quantity", quantity, QUANTITIES)
    rate = np.asarray(measured.rate, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if quantity == "ln chi1":
            return rate
        if quantity == "log10 |xi_grad|":
            return np.log10(np.abs(1.0 / rate))
    return np.full(rate.shape, np.nan)


@functools.lru_cache(maxsize=16)
def phase_map(activation: str, seed: int = 0) -> PhaseMap:
    """Theory on the fine grid, the critical line, and measured networks on the coarse grid.

    Cached per ``(activation, seed)``; the arrays returned are read-only.

    Args:
      activation: a key of ``ACTIVATIONS``.
      seed: the key of the measured networks' draws.

    Returns:
      A ``PhaseMap``.

    Example:
      >>> m = phase_map("relu")
      >>> round(float(np.nanmean(m.critical)), 6)  # ReLU: chi1 = sw^2/2 at every sb^2
      2.0
    """
    check_choice("activation", activation, ACTIVATIONS)
    weight_var, bias_var = np.meshgrid(PHASE_WEIGHT_VARS, PHASE_BIAS_VARS)
    theory = depth_scales(activation, weight_var, bias_var, **MAP_OPTIONS)
    with np.errstate(divide="ignore"):
        critical = critical_line(PHASE_WEIGHT_VARS, np.log(theory.chi1))
    measured = sweep(
        MEASURED_CONFIG.replace(activation=activation), MEASURED_WEIGHT_VARS, MEASURED_BIAS_VARS,
        key=jax.random.key(seed),
    ).trim()  # fmt: skip
    result = PhaseMap(activation, PHASE_WEIGHT_VARS.copy(), PHASE_BIAS_VARS.copy(), theory,
                      critical, measured)  # fmt: skip
    for value in jax.tree_util.tree_leaves(tuple(result[1:])):
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return result
