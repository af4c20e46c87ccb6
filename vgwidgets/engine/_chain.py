"""A chain of one neuron per layer, and the product that its first bias's gradient is.

For ``z_j = w_j a_{j-1} + b_j``, ``a_j = phi(z_j)``, ``a_0 = x``, back-propagation gives
(Nielsen, *Neural Networks and Deep Learning*, ch. 5, eq. 122)

    dC/db_1 = phi'(z_1) * [w_2 phi'(z_2)] * ... * [w_L phi'(z_L)] * dC/da_L,

and more generally ``dC/db_j = phi'(z_j) prod_{k>j} [w_k phi'(z_k)] dC/da_L``. For the sigmoid
every ``phi'(z) <= 1/4``, so with ``|w_k| < 4`` each factor shrinks the gradient.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import derivative, get_activation
from ._switch import activation_choice, activation_fn
from ._validate import check_array, check_float

MAX_CHAIN = 1000
_PAD = 32  # chains up to this length share one compilation


class ChainResult(NamedTuple):
    """Everything about one chain; ``(L,)`` arrays are indexed by layer ``j = 1..L``.

    Attributes:
      z: weighted inputs ``z_j``, ``(L,)``.
      a: activations ``a_j``, ``(L,)``.
      derivatives: ``phi'(z_j)``, ``(L,)``.
      factors: ``w_j phi'(z_j)`` for ``j = 2..L``, ``(L-1,)``.
      first_derivative: ``phi'(z_1)``, ``()``.
      dcost_da: ``dC/da_L``, ``()``.
      product: ``phi'(z_1) * prod(factors) * dC/da_L``, ``()``.
      grad_b1: ``dC/db_1`` from ``jax.grad``, ``()``.
      product_b: the product formula for every bias, ``dC/db_j``, ``(L,)``.
      grad_b: ``dC/db_j`` from ``jax.grad``, ``(L,)``.
      cost: ``C``, ``()``.
    """

    z: jax.Array
    a: jax.Array
    derivatives: jax.Array
    factors: jax.Array
    first_derivative: jax.Array
    dcost_da: jax.Array
    product: jax.Array
    grad_b1: jax.Array
    product_b: jax.Array
    grad_b: jax.Array
    cost: jax.Array


def _forward(phi, weights, biases, x, n):
    """``(z, a)`` per padded layer; layers ``j >= n`` pass ``a`` through unchanged."""

    def layer(a, inputs):
        w, b, j = inputs
        z = w * a + b
        a_new = phi(z)
        return jnp.where(j < n, a_new, a), (z, a_new)

    a_last, (z, a) = jax.lax.scan(layer, x, (weights, biases, jnp.arange(weights.shape[0])))
    return a_last, z, a


def _cost(a_last, target, use_target):
    return jnp.where(use_target, 0.5 * (a_last - target) ** 2, a_last)


@functools.partial(jax.jit, static_argnames="entries")
def _chain(entries, index, weights, biases, x, n, target, use_target):
    phi = activation_fn(entries, index)
    a_last, z, a = _forward(phi, weights, biases, x, n)
    active = jnp.arange(weights.shape[0]) < n
    slope = derivative(phi, z)
    dcost_da = jnp.where(use_target, a_last - target, jnp.ones_like(a_last))
    # factor_j = w_j phi'(z_j), with 1 in the padding so that products ignore it.
    factors = jnp.where(active, weights * slope, 1.0)
    # tail_j = prod_{k > j} factor_k, a reversed exclusive cumulative product.
    tail = jnp.cumprod(jnp.concatenate([factors[1:], jnp.ones_like(factors[:1])])[::-1])[::-1]
    product_b = jnp.where(active, slope * tail * dcost_da, 0.0)

    def cost_of_biases(b):
        return _cost(_forward(phi, weights, b, x, n)[0], target, use_target)

    grad_b = jnp.where(active, jax.grad(cost_of_biases)(biases), 0.0)
    return z, a, slope, factors, dcost_da, product_b, grad_b, _cost(a_last, target, use_target)


@functools.partial(jax.jit, static_argnames="entries")
def _centred(entries, index, weights, x):
    phi0 = activation_fn(entries, index)(jnp.zeros_like(x))
    return -weights * jnp.concatenate([x[None], jnp.full(weights.shape[0] - 1, phi0)])


def _inputs(weights, x, biases=None):
    w = check_array("weights", weights, ndim=1, dtype=np.float64)
    if not 1 <= w.shape[0] <= MAX_CHAIN:
        raise ValueError(
            f"weights must have 1 to {MAX_CHAIN} entries (one per layer); got {w.shape[0]}."
        )
    x = check_float("x", x)
    if biases is None:
        return w, x
    b = check_array("biases", biases, ndim=1, dtype=np.float64)
    if b.shape != w.shape:
        raise ValueError(
            f"biases must have the same length as weights ({w.shape[0]}); got {b.shape[0]}."
        )
    return w, b, x


def _pad(values, length, fill=0.0):
    return np.concatenate([values, np.full(length - values.shape[0], fill)]).astype(np.float32)


def _padded_length(n):
    return max(_PAD, n)


def centred_biases(weights, x: float, *, activation: str = "sigmoid") -> np.ndarray:
    """Biases that put every weighted input at ``z_j = 0``: ``b_1 = -w_1 x``, ``b_j = -w_j phi(0)``.

    Nielsen's exploding example takes ``w_j = 100`` with these biases: every factor is then
    ``100 * sigma'(0) = 25`` (Nielsen, *Neural Networks and Deep Learning*, ch. 5).

    Args:
      weights: ``(L,)``.
      x: the chain's input.
      activation: a key of ``ACTIVATIONS``.

    Returns:
      ``(L,)`` NumPy array of biases.
    """
    get_activation(activation)
    w, x = _inputs(weights, x)
    n = w.shape[0]
    padded = jnp.asarray(_pad(w, _padded_length(n)))
    biases = _centred(*activation_choice(activation), padded, jnp.float32(x))
    return np.asarray(biases)[:n]


def chain(
    weights, biases, x: float, *, activation: str = "sigmoid", target: float | None = None
) -> ChainResult:
    """The chain's forward pass, its factors, their product and ``jax.grad``'s ``dC/db_j``.

    The cost is ``C = a_L`` (so ``dC/da_L = 1`` and only the chain remains) or, with a
    ``target`` y, ``C = (a_L - y)^2 / 2``. Chains of up to 32 layers share one compilation.

    Args:
      weights: ``w_j``, ``(L,)`` with ``1 <= L <= 1000``, finite.
      biases: ``b_j``, ``(L,)``, finite.
      x: the input ``a_0``, finite.
      activation: a key of ``ACTIVATIONS``.
      target: ``None`` or a finite ``y``.

    Returns:
      A ``ChainResult`` of NumPy arrays; ``product`` equals ``grad_b1`` to float precision.

    Example:
      >>> r = chain([100.0] * 4, centred_biases([100.0] * 4, 0.5), 0.5)
      >>> [round(float(f), 3) for f in r.factors]
      [25.0, 25.0, 25.0]

    References:
      Nielsen, *Neural Networks and Deep Learning*, ch. 5, eq. 122 (2015).
    """
    get_activation(activation)
    w, b, x = _inputs(weights, x, biases)
    use_target = target is not None
    target = 0.0 if target is None else check_float("target", target)
    n = w.shape[0]
    length = _padded_length(n)
    z, a, slope, factors, dcost_da, product_b, grad_b, cost = (
        np.asarray(v)
        for v in _chain(
            *activation_choice(activation),
            jnp.asarray(_pad(w, length)),
            jnp.asarray(_pad(b, length)),
            jnp.float32(x),
            jnp.int32(n),
            jnp.float32(target),
            jnp.bool_(use_target),
        )
    )
    return ChainResult(
        z=z[:n],
        a=a[:n],
        derivatives=slope[:n],
        factors=factors[1:n],
        first_derivative=slope[0],
        dcost_da=dcost_da,
        product=product_b[0],
        grad_b1=grad_b[0],
        product_b=product_b[:n],
        grad_b=grad_b[:n],
        cost=cost,
    )
