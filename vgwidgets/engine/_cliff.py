"""Pascanu et al.'s cliff: one recurrent unit, its loss surface, and gradient descent over it.

The unit is ``x_t = w sigma(x_{t-1}) + b`` from ``x_0 = 0.5``, with the loss
``E(w, b) = (sigma(x_50) - 0.7)^2`` (Pascanu, Mikolov & Bengio 2013, sec. 3.3 and Fig. 6). For
``w > 4`` the map ``x -> w sigma(x) + b`` has two stable fixed points over a band of ``b``; which
one ``x_50`` reaches jumps as ``(w, b)`` crosses the band's edge, and ``E`` with it: a wall,
where ``dE/db`` is huge, beside plateaus where it is small. A gradient step taken on the wall
throws the parameters far away; clipping the gradient's norm (their Algorithm 1) bounds the
step and keeps the descent where it was.

Computed in float64 (``x64_context``): the wall is steep enough to matter in float32.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._compat import x64_context
from ._validate import check_float, check_int, check_positive

CLIFF_STEPS = 50
CLIFF_X0 = 0.5
CLIFF_TARGET = 0.7


def cliff_loss(w, b, steps: int = CLIFF_STEPS):
    """``(sigma(x_steps) - 0.7)^2`` for ``x_t = w sigma(x_{t-1}) + b``, ``x_0 = 0.5`` (traceable,
    vmappable; ``steps`` is static).

    Example:
      >>> with x64_context("float64"):
      ...     print(round(float(cliff_loss(0.0, 0.0)), 4))  # x_t = 0: (1/2 - 0.7)^2
      0.04
    """

    def body(x, _):
        return w * jax.nn.sigmoid(x) + b, None

    x0 = jnp.asarray(CLIFF_X0, jnp.result_type(w, b, float))
    x, _ = jax.lax.scan(body, x0, None, length=steps)
    return (jax.nn.sigmoid(x) - CLIFF_TARGET) ** 2


@jax.jit
def _surface(ws, bs):
    return jax.vmap(lambda b: jax.vmap(lambda w: cliff_loss(w, b))(ws))(bs)


def cliff_surface(ws, bs) -> np.ndarray:
    """``E(w, b)`` on a grid, in float64: ``out[i, j] = E(ws[j], bs[i])``.

    Args:
      ws, bs: 1-D arrays of finite numbers.

    Returns:
      ``(len(bs), len(ws))`` NumPy array.

    Example:
      >>> cliff_surface([0.0, 8.0], [0.0]).round(3).tolist()
      [[0.04, 0.09]]
    """
    ws, bs = (np.asarray(v, np.float64) for v in (ws, bs))
    for name, v in (("ws", ws), ("bs", bs)):
        if v.ndim != 1 or v.size < 1 or not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers; got {v!r}.")
    with x64_context("float64"):
        return np.asarray(_surface(jnp.asarray(ws), jnp.asarray(bs)))


class CliffDescent(NamedTuple):
    """A gradient-descent run on the cliff's loss.

    Attributes:
      path: ``(steps + 1, 2)``, the ``(w, b)`` visited, the start first.
      loss: ``(steps + 1,)``, ``E`` at each.
      grad_norm: ``(steps,)``, ``||dE/d(w, b)||`` before clipping, at each step taken.
    """

    path: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray


@functools.partial(jax.jit, static_argnames="steps")
def _descend(start, lr, threshold, steps):
    grad = jax.value_and_grad(lambda p: cliff_loss(p[0], p[1]))

    def body(p, _):
        value, g = grad(p)
        norm = jnp.linalg.norm(g)
        scale = jnp.where(norm > threshold, threshold / norm, 1.0)  # Algorithm 1
        return p - lr * scale * g, (p, value, norm)

    last, (path, loss, norms) = jax.lax.scan(body, start, None, length=steps)
    return (
        jnp.concatenate([path, last[None]]),
        jnp.concatenate([loss, cliff_loss(last[0], last[1])[None]]),
        norms,
    )


def cliff_descent(
    start, *, lr: float = 0.5, steps: int = 200, threshold: float | None = None
) -> CliffDescent:
    """Gradient descent on ``E(w, b)`` from ``start``, with or without norm clipping.

    Each step: ``g = dE/d(w, b)``; if ``threshold`` is given and ``||g|| > threshold``,
    ``g <- threshold g / ||g||`` (Pascanu et al.'s Algorithm 1); ``(w, b) <- (w, b) - lr g``.
    One compiled ``lax.scan``; ``lr`` and ``threshold`` are traced.

    Args:
      start: ``(w, b)``, finite.
      lr: the learning rate, > 0.
      steps: steps to take, in ``[1, 100000]``.
      threshold: the clipping threshold (> 0), or ``None`` for plain gradient descent.

    Returns:
      A ``CliffDescent`` of float64 NumPy arrays.

    Example:
      >>> run = cliff_descent((6.0, -2.5), steps=5, threshold=1.0)
      >>> run.path.shape, bool(np.all(np.diff(run.path, axis=0) ** 2 <= 0.25 + 1e-12))
      ((6, 2), True)

    References:
      Pascanu, Mikolov & Bengio, ICML 2013, Algorithm 1 and Fig. 6.
    """
    start = np.asarray(start, np.float64)
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise ValueError(f"start must be (w, b), two finite numbers; got {start!r}.")
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, 1, 100_000)
    threshold = math.inf if threshold is None else check_positive("threshold", threshold)
    check_float("lr", lr)
    with x64_context("float64"):
        out = _descend(jnp.asarray(start), jnp.asarray(lr), jnp.asarray(threshold), steps)
        return CliffDescent(*(np.asarray(v) for v in out))
