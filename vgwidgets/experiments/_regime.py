"""Vanishing or exploding: a deep random MLP's per-layer gradients beside mean-field theory.

What ``RegimeExplorer`` shows, computed without a widget. A random MLP (``MLPConfig``,
``max_depth = REGIME_MAX_DEPTH = 200``) is probed on a fixed batch, and its per-layer speed of
learning ``||dC/db_l||`` is set beside the mean-field prediction (Schoenholz et al. 2017): going
back one layer multiplies the expected squared gradient by

    chi1 = sw^2 E[phi'(sqrt(q*) z)^2],   so   ||dC/db_l|| ~ ||dC/db_L|| chi1^((L - l)/2).

Over ``L`` layers the squared gradient changes by ``chi1^L = e^(-L/xi)``, with the gradient depth
scale ``xi = -1/ln chi1``. The regime (``phase_of``) compares the depth with it: *near critical*
where ``L <= |xi|`` (the squared gradient changes by at most a factor ``e`` over the network),
else *vanishing* for ``chi1 < 1`` and *exploding* for ``chi1 > 1``. So ``chi1 = 1.02`` is near
critical at depth 30 (``xi = 50``) and exploding at depth 200.

The variances follow the convention of the ``mean-field`` reproduction
(``measure_gradient_rate``: ``normal_fan_in`` with ``weight_scale = sw``, ``bias_scale = sb``),
extended to every initializer: ``sb^2 = bias_scale^2`` (every initializer draws ``b ~ N(0, 1)``)
and ``sw^2 = weight_scale^2 * gain``, where ``gain`` is the initializer's ``fan_in * Var[W_ij]``
at ``weight_scale = 1``, measured on the network's own hidden matrices (``initializer_gain``:
199 of ``width x width``; within 1% of the closed forms: 1 for ``normal_fan_in``, LeCun, Glorot
(square layers) and orthogonal, 2 for He, 1/3 for Glorot's "standard", ``width`` for
``N(0, 1)``, ``width / 10^4`` for ``N(0, 0.01^2)``).

The batch is fixed (``regime_batch``): Gaussian inputs ``x ~ N(0, 1)`` of ``width`` features (so
the first layer is square too) and random one-hot targets over 10 classes.

The prediction is for an infinitely wide network whose layers sit at ``q*``; the measurement is
one network of ``width`` units, started at ``q = sw^2 + sb^2``, and ``||dC/db_l||`` is the norm of
the gradient of the batch-*mean* cost. They agree in direction and roughly in rate (lesson 2
asserts 30% on a log scale for tanh in the vanishing phase); in the exploding phase the batch
mean grows more slowly than one example's gradient (see ``measure_gradient_rate``, which
measures one example at a time).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np

from ..engine import LayerProbe, MLPConfig, MLPParams, init_mlp, mean_field, probe

REGIME_MAX_DEPTH = 200
REGIME_N_OUT = 10


class RegimeResult(NamedTuple):
    """One probe of the network and its mean-field prediction.

    Attributes:
      config: the ``MLPConfig`` probed (``max_depth = 200``).
      probe: ``LayerProbe.trim()`` of ``probe(config, params, x, y)``: NumPy, ``(depth,)``.
      weight_var: ``sw^2 = weight_scale^2 * gain``.
      bias_var: ``sb^2 = bias_scale^2``.
      chi1, q_star, depth_scale: ``mean_field(activation, sw^2, sb^2)``'s (``depth_scale`` is
        the gradient depth scale ``xi = -1/ln chi1``).
      predicted: ``||dC/db_L|| chi1^((L - l)/2)`` for ``l = 1..L``, float64 (``nan`` where the
        last layer's norm is not finite and positive).
      phase: ``phase_of(chi1, config.depth)``.
    """

    config: MLPConfig
    probe: LayerProbe
    weight_var: float
    bias_var: float
    chi1: float
    q_star: float
    depth_scale: float
    predicted: np.ndarray
    phase: str


def phase_of(chi1: float, depth: int) -> str:
    """The regime of ``depth`` layers whose squared gradient changes by ``chi1`` per layer.

    "near critical" if ``depth <= |xi|``, with ``xi = -1/ln chi1`` the gradient depth scale (the
    squared gradient then changes by at most a factor ``e`` over the network; ``chi1 == 1``
    gives ``xi = inf``); else "vanishing" for ``chi1 < 1`` and "exploding" for ``chi1 > 1``;
    "undefined" for ``nan`` or a negative ``chi1``.

    Args:
      chi1: the mean-field ``chi1`` (``MeanField.chi1``).
      depth: the number of layers ``L``, a positive integer.

    Returns:
      One of "vanishing", "near critical", "exploding", "undefined".

    Example:
      >>> phase_of(0.5, 30), phase_of(1.02, 30), phase_of(1.02, 200), phase_of(3.0, 1)
      ('vanishing', 'near critical', 'exploding', 'exploding')
    """
    chi1 = float(chi1)
    if math.isnan(chi1) or chi1 < 0:
        return "undefined"
    log_chi1 = math.log(chi1) if chi1 > 0 else -math.inf
    if log_chi1 == 0 or depth <= abs(-1.0 / log_chi1):
        return "near critical"
    return "vanishing" if chi1 < 1 else "exploding"


def predicted_norms(last: float, chi1: float, depth: int) -> np.ndarray:
    """``last * chi1^((depth - l)/2)`` for ``l = 1..depth`` (float64); ``nan`` if ``last`` is
    not finite and positive or ``chi1`` is not finite.

    Example:
      >>> predicted_norms(1.0, 4.0, 3).tolist()
      [4.0, 2.0, 1.0]
    """
    if not (np.isfinite(last) and last > 0 and np.isfinite(chi1) and chi1 > 0):
        return np.full(depth, np.nan)
    steps = depth - np.arange(1, depth + 1, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        return float(last) * np.exp(0.5 * steps * math.log(chi1))


def regime_batch(width: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed batch: ``x ~ N(0, 1)`` of shape ``(batch, width)`` and one-hot ``y`` over 10
    classes, float64, from ``numpy.random.default_rng(seed)``.

    Example:
      >>> x, y = regime_batch(16, 4, 0)
      >>> x.shape, y.shape, y.sum(axis=1).tolist()
      ((4, 16), (4, 10), [1.0, 1.0, 1.0, 1.0])
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    y = np.eye(REGIME_N_OUT)[rng.integers(0, REGIME_N_OUT, batch)]
    return x, y


def regime_config(
    *, weight_scale, bias_scale, depth, width, activation, initializer, float64
) -> MLPConfig:
    """The ``MLPConfig`` of a regime network (validated by ``MLPConfig``): square hidden layers,
    10 outputs, ``max_depth = 200``, float64 or float32."""
    return MLPConfig(
        n_in=width,
        depth=depth,
        width=width,
        n_out=REGIME_N_OUT,
        activation=activation,
        initializer=initializer,
        weight_scale=weight_scale,
        bias_scale=bias_scale,
        max_depth=REGIME_MAX_DEPTH,
        dtype="float64" if float64 else "float32",
    )


def initializer_gain(config: MLPConfig, seed: int) -> float:
    """The initializer's ``fan_in * Var[W_ij]`` at unit weight scale, measured as
    ``width * mean(W^2)`` over the hidden matrices ``init_mlp`` draws from ``seed``."""
    unit = config.replace(weight_scale=1.0)
    w_hidden = np.asarray(init_mlp(unit, key=jax.random.key(seed)).w_hidden, np.float64)
    return config.width * float(np.mean(np.square(w_hidden)))


def regime_result(config: MLPConfig, params: MLPParams, x, y, gain: float) -> RegimeResult:
    """Probe ``config``'s network on ``(x, y)`` and set the mean-field prediction beside it.

    Args:
      config: from ``regime_config``.
      params: ``init_mlp(config, key=...)``.
      x, y: the batch (``regime_batch``).
      gain: ``initializer_gain(config, seed)``.

    Returns:
      A ``RegimeResult``.
    """
    measured = probe(config, params, x, y).trim()
    weight_var = config.weight_scale**2 * gain
    bias_var = config.bias_scale**2
    mf = mean_field(config.activation, weight_var, bias_var)
    chi1 = float(mf.chi1)
    last = float(measured.grad_b_norm[-1])
    return RegimeResult(
        config, measured, weight_var, bias_var, chi1, float(mf.q_star), float(mf.depth_scale),
        predicted_norms(last, chi1, config.depth), phase_of(chi1, config.depth),
    )  # fmt: skip
