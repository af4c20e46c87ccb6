"""The activation registry: one line adds an activation to every explorer and test.

An entry holds the function and the supremum of its slope, ``sup_z |phi'(z)|``, which is the bound
that the course compares each factor ``w * phi'(z)`` with (1/4 for the sigmoid: Nielsen, *Neural
Networks and Deep Learning*, ch. 5). An activation may have one scalar parameter (leaky ReLU's
slope, ELU's alpha, the lifted sigmoid's eps) with a default, a valid range and a label; its
bound is then a function of the parameter. ``Activation.fn`` is always the one-argument function
at the default parameter, so code that knows nothing of parameters keeps working.

References:
  Maas, Hannun, Ng, "Rectifier nonlinearities improve neural network acoustic models", ICML
  workshop 2013 (leaky ReLU). He, Zhang, Ren, Sun, "Delving deep into rectifiers", ICCV 2015
  (PReLU). Clevert, Unterthiner, Hochreiter, "Fast and accurate deep network learning by
  exponential linear units (ELUs)", ICLR 2016. Klambauer, Unterthiner, Mayr, Hochreiter,
  "Self-normalizing neural networks", NeurIPS 2017 (SELU). Hendrycks, Gimpel, "Gaussian error
  linear units (GELUs)", arXiv:1606.08415, 2016. Roodschild, Gotay Sardinas, Will, "A new
  approach for the vanishing gradient problem on sigmoid activation", Progress in Artificial
  Intelligence 9, 351-360 (2020) (the lifted sigmoid).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._validate import check_choice


class ActivationParam(NamedTuple):
    """The one scalar parameter an activation may have.

    Attributes:
      name: a short name, e.g. ``"negative_slope"``.
      default: the value ``MLPConfig(activation_param=None)`` and ``Activation.fn`` use.
      low, high: the valid range, inclusive.
      label: words for a control, e.g. ``"negative slope a"``.
      trainable: the network learns it (PReLU): ``MLPParams.slope`` holds one per hidden layer,
        initialized to the configured value.
    """

    name: str
    default: float
    low: float
    high: float
    label: str
    trainable: bool = False


class Activation(NamedTuple):
    """An elementwise nonlinearity ``phi``, perhaps with one scalar parameter ``p``.

    Attributes:
      name: registry key.
      fn: ``phi`` at the default parameter, elementwise, ``(...,) -> (...,)``.
      max_derivative: ``sup_z |phi'(z)|`` at the default parameter, the bound drawn beside
        every factor.
      formula: a short plain-text formula, for labels.
      param: the ``ActivationParam``, or ``None``.
      fn_param: ``(z, p) -> phi(z; p)``, or ``None``; ``p`` may be a traced value.
      max_derivative_param: ``p -> sup_z |phi'(z; p)|`` (jnp-traceable), or ``None``.
    """

    name: str
    fn: Callable[[jax.Array], jax.Array]
    max_derivative: float
    formula: str
    param: ActivationParam | None = None
    fn_param: Callable[[jax.Array, jax.Array], jax.Array] | None = None
    max_derivative_param: Callable[[jax.Array], jax.Array] | None = None

    def at(self, p) -> Callable[[jax.Array], jax.Array]:
        """``phi(.; p)`` as a one-argument function; ``fn`` itself if there is no parameter.

        ``p`` broadcasts against ``z`` (a per-layer ``(L, 1, 1)`` array for PReLU's slopes).
        """
        if self.param is None:
            return self.fn
        return functools.partial(_call_with_param, self.fn_param, p)

    def max_derivative_at(self, p):
        """``sup_z |phi'(z; p)|``; ``max_derivative`` if there is no parameter."""
        if self.param is None:
            return self.max_derivative
        return self.max_derivative_param(p)


def _call_with_param(fn_param, p, z):
    return fn_param(z, p)


ACTIVATIONS: dict[str, Activation] = {}


def register_activation(
    name: str, fn, *, max_derivative, formula: str, param: ActivationParam | None = None
) -> Activation:
    """Add an activation to the registry and return its entry.

    Args:
      name: the registry key.
      fn: ``z -> phi(z)``, or ``(z, p) -> phi(z; p)`` when ``param`` is given.
      max_derivative: ``sup_z |phi'(z)|``, or, with ``param``, a function of ``p`` giving it
        (written with ``jnp`` so that ``p`` may be traced) or a number if it does not depend
        on ``p``.
      formula: a short plain-text formula.
      param: an ``ActivationParam`` for an activation with a parameter.

    Returns:
      The new ``Activation``.

    Example:
      >>> import jax.numpy as jnp
      >>> entry = register_activation("softsign", lambda z: z / (1 + jnp.abs(z)),
      ...                             max_derivative=1.0, formula="z/(1+|z|)")
      >>> float(get_activation("softsign").fn(jnp.array(1.0)))
      0.5
      >>> del ACTIVATIONS["softsign"]  # (leave the registry as it was)
    """
    if param is None:
        entry = Activation(name, fn, float(max_derivative), formula)
    else:
        bound = max_derivative
        if not callable(bound):
            bound = functools.partial(_constant, float(max_derivative))
        at_default = functools.partial(_call_with_param, fn, param.default)
        entry = Activation(name, at_default, float(bound(param.default)), formula, param, fn, bound)
    ACTIVATIONS[name] = entry
    return entry


def _constant(value, p):
    return value


def get_activation(name: str) -> Activation:
    """Return the registry entry for ``name``; a ``ValueError`` lists the valid names."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]


def derivative(fn: Callable[[jax.Array], jax.Array], z: jax.Array) -> jax.Array:
    """``phi'(z)`` elementwise, as back-propagation uses it: a VJP of the elementwise ``phi``.

    Reverse mode, so that an activation with a custom backward pass (``jax.custom_vjp``, the
    lifted sigmoid) gives the slope that gradients are multiplied by, ``sigma'(z) + eps``.
    Differentiable again (``derivative(lambda u: derivative(fn, u), z)`` is ``phi''``).

    Example:
      >>> float(derivative(jnp.tanh, jnp.asarray(0.0)))
      1.0
    """
    z = jnp.asarray(z)
    value, pullback = jax.vjp(fn, z)
    return pullback(jnp.ones_like(value))[0]


def trainable(entries: tuple[Activation, ...], index) -> jax.Array:
    """Whether ``entries[index]`` learns its parameter (PReLU), as a bool scalar; ``index``
    may be traced."""
    flags = [entry.param is not None and entry.param.trainable for entry in entries]
    return jnp.asarray(flags)[index]


@jax.custom_vjp
def lifted_sigmoid(z: jax.Array, eps: jax.Array) -> jax.Array:
    """The sigmoid forward, ``sigma'(z) + eps`` backward (Roodschild et al. 2020).

    Forward ``sigma(z) = 1/(1 + exp(-z))`` unchanged; the backward pass multiplies by
    ``sigma'(z) + eps`` instead of ``sigma'(z) = sigma(z)(1 - sigma(z)) <= 1/4``, so a deep
    stack of sigmoids no longer multiplies the gradient by a number near 0 wherever units
    saturate. The result is not the gradient of the cost: a deliberate surrogate.

    Args:
      z: pre-activations, any shape.
      eps: the lift, ``>= 0``, broadcasting with ``z``; may be traced. It gets no gradient.

    Returns:
      ``sigma(z)``.

    Example:
      >>> round(float(jax.grad(lifted_sigmoid)(0.0, 0.1)), 6)  # 1/4 + 0.1 (float32)
      0.35

    References:
      Roodschild, Gotay Sardinas, Will, "A new approach for the vanishing gradient problem on
      sigmoid activation", Progress in Artificial Intelligence 9, 351-360 (2020).
    """
    return jax.nn.sigmoid(z)


def _lifted_forward(z, eps):
    s = jax.nn.sigmoid(z)
    return s, (s, eps)


def _lifted_backward(residuals, g):
    s, eps = residuals
    return g * (s * (1 - s) + eps), jnp.zeros_like(eps)


lifted_sigmoid.defvjp(_lifted_forward, _lifted_backward)


def _lifted(z, eps):
    z = jnp.asarray(z)
    return lifted_sigmoid(z, jnp.asarray(eps, z.dtype))


def _at_least_one(p):
    """``max(1, |p|)``: the bound of ReLU-like units with slope ``p`` on the negative side."""
    return jnp.maximum(1.0, jnp.abs(p))


# SELU's constants (Klambauer et al. 2017, eq. 14), as jax.nn.selu uses them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# GELU: phi'(z) = Phi(z) + z N(z; 0, 1) peaks where phi''(z) = N(z)(2 - z^2) = 0, at sqrt(2).
GELU_MAX_DERIVATIVE = 0.5 * (1 + math.erf(1.0)) + math.exp(-1.0) / math.sqrt(math.pi)

register_activation("sigmoid", jax.nn.sigmoid, max_derivative=0.25, formula="1/(1+exp(-z))")
register_activation("tanh", jnp.tanh, max_derivative=1.0, formula="tanh(z)")
register_activation("relu", jax.nn.relu, max_derivative=1.0, formula="max(0, z)")
register_activation(
    "leaky_relu",
    jax.nn.leaky_relu,
    max_derivative=_at_least_one,
    formula="max(z, a z)",
    param=ActivationParam("negative_slope", 0.01, 0.0, 1.0, "negative slope a"),
)
register_activation(
    "prelu",
    jax.nn.leaky_relu,
    max_derivative=_at_least_one,
    formula="max(z, a z), a learned per layer",
    param=ActivationParam("slope", 0.25, 0.0, 1.0, "initial slope a", trainable=True),
)
register_activation(
    "elu",
    jax.nn.elu,
    max_derivative=_at_least_one,
    formula="z if z > 0 else alpha (exp(z) - 1)",
    param=ActivationParam("alpha", 1.0, 0.0, 5.0, "alpha"),
)
register_activation(
    "selu",
    jax.nn.selu,
    max_derivative=SELU_SCALE * SELU_ALPHA,
    formula="lambda (z if z > 0 else alpha (exp(z) - 1))",
)
register_activation(
    "gelu",
    functools.partial(jax.nn.gelu, approximate=False),
    max_derivative=GELU_MAX_DERIVATIVE,
    formula="z Phi(z)",
)
register_activation(
    "lifted_sigmoid",
    _lifted,
    max_derivative=lambda eps: 0.25 + eps,
    formula="1/(1+exp(-z)), backward sigma'(z) + eps",
    param=ActivationParam("eps", 0.1, 0.0, 1.0, "derivative lift eps"),
)
