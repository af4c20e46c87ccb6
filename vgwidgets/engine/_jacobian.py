"""Singular values of a deep network's input-output Jacobian at initialization, layer by layer.

For ``h^l = sw W_l x^{l-1} + sb b_l`` and ``x^l = phi(h^l)`` (``x^0`` the input), the Jacobian
of layer ``l``'s output with respect to the input is the product

    J_l = dx^l/dx^0 = D_l (sw W_l) D_{l-1} (sw W_{l-1}) ... D_1 (sw W_1),   D_l = diag(phi'(h^l)).

On the critical line (``chi1 = 1``) the mean squared singular value of ``J_l`` stays 1 at every
depth, but its spread need not: with Gaussian ``W`` it grows with depth (products of random
matrices), for ReLU whatever ``W`` is (``D_l`` is 0 on half the units), and only for tanh with
orthogonal ``W`` near ``q* = 0`` does it stay close to 1, *dynamical isometry* (Saxe et al. 2014;
Pennington, Schoenholz & Ganguli 2017). ``jacobian_spectrum`` builds ``J_l`` by forward
products inside one ``lax.scan`` (``N`` matrix products of ``N x N`` per layer, ``jax.jacfwd``'s
work without re-running the network per depth) and takes its singular values at every layer, in
float64 (the smallest singular values of a deep product fall far below float32's resolution).

Static (a change compiles anew): ``activation``, ``weights``, ``width``, ``depth``; traced:
``weight_var``, ``bias_var`` and the input's length.

References:
  Saxe, McClelland, Ganguli, "Exact solutions to the nonlinear dynamics of learning in deep
  linear neural networks", ICLR 2014.
  Pennington, Schoenholz, Ganguli, "Resurrecting the sigmoid in deep learning through dynamical
  isometry: theory and practice", NeurIPS 2017.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import ACTIVATIONS, derivative, get_activation
from ._boundary import check_key
from ._compat import x64_context
from ._meanfield import mean_field
from ._validate import check_choice, check_float, check_int

WEIGHTS = ("gaussian", "orthogonal")
JACOBIAN_MAX_WIDTH = 1024
JACOBIAN_MAX_DEPTH = 1000
RESOLVED = 1e-12  # singular values below this times the largest are taken as unresolved


@dataclasses.dataclass(frozen=True)
class JacobianConfig:
    """A random network whose input-output Jacobian is measured; validated on construction.

    Attributes:
      activation: a key of ``ACTIVATIONS`` (at its default parameter).
      weights: "gaussian" (``W_ij ~ N(0, 1/width)``) or "orthogonal" (``W^T W = I``, Saxe
        et al. 2014), each scaled by ``sw``.
      weight_var, bias_var: ``sw^2`` in ``(0, 100]``, ``sb^2`` in ``[0, 100]``.
      width: units per layer (and input features), in ``[2, 1024]``.
      depth: layers, in ``[1, 1000]``.

    Example:
      >>> JacobianConfig("relu", "gaussian", 2.0, 0.0, width=8, depth=3).weights
      'gaussian'
    """

    activation: str = "tanh"
    weights: str = "orthogonal"
    weight_var: float = 1.0
    bias_var: float = 0.0
    width: int = 128
    depth: int = 32

    def __post_init__(self):
        set_ = object.__setattr__
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("weights", self.weights, WEIGHTS)
        set_(self, "weight_var", check_float("weight_var", self.weight_var, 0.0, 100.0))
        if self.weight_var == 0:
            raise ValueError("weight_var must be > 0 (the network must pass a signal); got 0.0.")
        set_(self, "bias_var", check_float("bias_var", self.bias_var, 0.0, 100.0))
        set_(self, "width", check_int("width", self.width, 2, JACOBIAN_MAX_WIDTH))
        set_(self, "depth", check_int("depth", self.depth, 1, JACOBIAN_MAX_DEPTH))

    def replace(self, **changes) -> JacobianConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)


class JacobianSpectrum(NamedTuple):
    """Singular values of ``J_l`` for ``l = 1..depth``.

    Attributes:
      singular_values: ``(depth, width)``, each row in descending order, float64.
      log_spread: ``(depth,)``, the standard deviation of ``ln s`` over the *resolved* singular
        values of each ``J_l``, those above ``RESOLVED * s_max`` (float64 cannot tell smaller
        ones from 0; ReLU's ``D_l`` makes about half of them exactly 0): 0 for an isometry.
      resolved: ``(depth,)``, the fraction of singular values above ``RESOLVED * s_max``.
      log_max: ``(depth,)``, ``ln s_max``.
      mean_square: ``(depth,)``, the mean of ``s^2`` (``tr J^T J / width``), 1 on average at
        ``chi1 = 1``.
      q_start: the length ``q^1`` of the first pre-activation: ``q*`` where it is finite and
        attracting and at least ``1e-6``, else ``sw^2 + sb^2``.
    """

    singular_values: np.ndarray
    log_spread: np.ndarray
    resolved: np.ndarray
    log_max: np.ndarray
    mean_square: np.ndarray
    q_start: float

    def at(self, depth: int) -> np.ndarray:
        """The singular values of ``J_depth`` (1-based), ``(width,)``."""
        depth = check_int("depth", depth, 1, self.singular_values.shape[0])
        return self.singular_values[depth - 1]


def _draw(weights: str, key, depth: int, width: int):
    if weights == "orthogonal":
        init = jax.nn.initializers.orthogonal()
        return jax.vmap(lambda k: init(k, (width, width), jnp.float64))(
            jax.random.split(key, depth)
        )
    return jax.random.normal(key, (depth, width, width), jnp.float64) / jnp.sqrt(width)


@functools.partial(jax.jit, static_argnames=("activation", "weights", "width", "depth"))
def _spectra(activation, weights, width, depth, key, sw, sb, scale):
    phi = get_activation(activation).fn
    k_w, k_b, k_x = jax.random.split(key, 3)
    w = sw * _draw(weights, k_w, depth, width)
    b = sb * jax.random.normal(k_b, (depth, width), jnp.float64)
    x = jax.random.normal(k_x, (width,), jnp.float64)
    x = scale * jnp.sqrt(width) * x / jnp.linalg.norm(x)

    def layer(carry, inputs):
        x, jac = carry
        w_l, b_l = inputs
        h = w_l @ x + b_l
        jac = derivative(phi, h)[:, None] * (w_l @ jac)
        return (phi(h), jac), jnp.linalg.svd(jac, compute_uv=False)

    _, values = jax.lax.scan(layer, (x, jnp.eye(width, dtype=jnp.float64)), (w, b))
    return values


def jacobian_spectrum(config: JacobianConfig, *, key: jax.Array) -> JacobianSpectrum:
    """The singular values of the input-output Jacobian ``J_l`` at every depth ``l``.

    The input is a random vector scaled so that the first pre-activation has length
    ``q^1 = q*`` (``JacobianSpectrum.q_start``): the network starts where mean-field theory
    puts it, and ``chi1`` is the theory's mean of ``s^2`` per layer.

    Args:
      config: a ``JacobianConfig``.
      key: a ``jax.random`` key (weights, biases and input are drawn from it).

    Returns:
      A ``JacobianSpectrum`` of NumPy float64 arrays.

    Example:
      >>> import jax
      >>> cfg = JacobianConfig("tanh", "orthogonal", 1.0183, 1e-6, width=16, depth=4)
      >>> s = jacobian_spectrum(cfg, key=jax.random.key(0))  # chi1 = 1, q* = 0.009
      >>> s.singular_values.shape, bool(s.log_spread[-1] < 0.05)  # nearly an isometry
      ((4, 16), True)

    References:
      Pennington, Schoenholz, Ganguli, NeurIPS 2017; Saxe et al., ICLR 2014.
    """
    if not isinstance(config, JacobianConfig):
        raise TypeError(f"config must be a JacobianConfig; got {type(config).__name__}.")
    check_key(key)
    mf = mean_field(config.activation, config.weight_var, config.bias_var)
    q_star = float(mf.q_star)
    usable = bool(mf.converged) and np.isfinite(q_star) and q_star >= 1e-6
    q_start = q_star if usable else config.weight_var + config.bias_var
    scale = float(np.sqrt(max(q_start - config.bias_var, 0.0) / config.weight_var))
    with x64_context("float64"):
        values = np.asarray(
            _spectra(
                config.activation, config.weights, config.width, config.depth, key,
                jnp.asarray(np.sqrt(config.weight_var), jnp.float64),
                jnp.asarray(np.sqrt(config.bias_var), jnp.float64),
                jnp.asarray(scale, jnp.float64),
            )
        )  # fmt: skip
    resolved = values > RESOLVED * values[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(resolved, np.log(np.where(resolved, values, 1.0)), np.nan)
    spread = np.nanstd(logs, axis=-1)
    return JacobianSpectrum(
        values, spread, np.mean(resolved, axis=-1), np.log(values[:, 0]),
        np.mean(values**2, axis=-1), q_start,
    )  # fmt: skip
