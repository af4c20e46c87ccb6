"""An activation and its slope sampled on a grid, for the chain figure to draw.

The plotting layer compiles nothing: this is where the curves ``phi(z)`` and ``phi'(z)`` that
``vgwidgets.plotting.update_chain_figure`` draws are computed, as NumPy arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import ACTIVATIONS, Activation, derivative, evaluate_activation, get_activation

CURVE_POINTS = 401  # fixed, so that each activation compiles once
MIN_HALF_WIDTH = 6.0  # the curves always show z in [-6, 6] at least
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class ActivationCurve(NamedTuple):
    """An activation sampled on ``z in [-h, h]``, with what a figure labels it by.

    Attributes:
      name: the activation's key in ``ACTIVATIONS``.
      formula: its plain-text formula.
      bound: ``sup_z |phi'(z)|`` (``Activation.max_derivative``).
      half_width: ``h``, the grid's half width (a Python float).
      z: the grid, ``(401,)`` float32, from ``-h`` to ``h``.
      phi: ``phi(z)``, ``(401,)``.
      slope: ``phi'(z)`` by ``jax.grad`` (``derivative``), ``(401,)``.
    """

    name: str
    formula: str
    bound: float
    half_width: float
    z: np.ndarray
    phi: np.ndarray
    slope: np.ndarray


@jax.jit
def _grid(half_width):
    return jnp.linspace(-half_width, half_width, CURVE_POINTS)


def activation_curve(activation, around=()) -> ActivationCurve:
    """``phi`` and ``phi'`` on a grid wide enough to hold every finite value of ``around``.

    The grid is ``[-h, h]`` with ``h = max(6, 1.1 max |around|)`` (finite values only; at most
    half float32's largest number).

    Args:
      activation: a key of ``ACTIVATIONS`` or an ``Activation``.
      around: the points the curve must cover, e.g. a chain's ``z_j`` (``ChainResult.z``).

    Returns:
      An ``ActivationCurve`` of NumPy arrays.

    Example:
      >>> curve = activation_curve("sigmoid")
      >>> curve.z[0], curve.z[-1], curve.bound, round(float(curve.slope.max()), 4)
      (np.float32(-6.0), np.float32(6.0), 0.25, 0.25)
    """
    if not isinstance(activation, Activation):
        activation = get_activation(activation)
    z = np.asarray(around, np.float64).ravel()
    finite_z = z[np.isfinite(z)]
    half_width = max(MIN_HALF_WIDTH, 1.1 * float(np.abs(finite_z).max()) if finite_z.size else 0)
    half_width = min(half_width, _FLOAT32_MAX / 2)
    grid = _grid(jnp.float32(half_width))
    if ACTIVATIONS.get(activation.name) is activation:  # one compiled program for all of them
        phi, slope = evaluate_activation(activation.name, grid)
    else:
        phi, slope = activation.fn(grid), derivative(activation.fn, grid)
    return ActivationCurve(
        activation.name, activation.formula, activation.max_derivative, half_width,
        np.asarray(grid), np.asarray(phi), np.asarray(slope),
    )  # fmt: skip
