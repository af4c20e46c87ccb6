"""``MLPParams`` and ``NormState`` for an ``MLPConfig`` network: drawing them and checking them."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._compat import x64_context
from ._config import MLPConfig, Structure
from ._initializers import get_initializer
from ._normalization import NormState
from ._validate import check_array


class MLPParams(NamedTuple):
    """Parameters of an ``MLPConfig`` network, padded to ``max_depth`` hidden layers.

    Every field exists for every config, so that one pytree shape serves them all; ``slope``
    is used by PReLU only, ``norm_scale`` and ``norm_shift`` by ``norm != "none"`` only (their
    gradients are 0 otherwise).

    Attributes:
      w_first: ``(n_in, width)``, hidden layer 1.
      w_hidden: ``(max_depth - 1, width, width)``, hidden layers 2..max_depth.
      b_hidden: ``(max_depth, width)``, the biases of hidden layers 1..max_depth.
      w_out: ``(width, n_out)``.
      b_out: ``(n_out,)``.
      slope: ``(max_depth,)``, PReLU's learned slope ``a_l`` per hidden layer; starts at the
        config's resolved ``activation_param``.
      norm_scale: ``(max_depth, width)``, the normalization's ``gamma``; starts at 1.
      norm_shift: ``(max_depth, width)``, the normalization's ``beta``; starts at 0.
    """

    w_first: jax.Array
    w_hidden: jax.Array
    b_hidden: jax.Array
    w_out: jax.Array
    b_out: jax.Array
    slope: jax.Array
    norm_scale: jax.Array
    norm_shift: jax.Array


def dtype_of(structure: Structure):
    return jnp.float64 if structure.dtype == "float64" else jnp.float32


@functools.partial(jax.jit, static_argnames=("shape", "initializer", "dtype"))
def _init(shape, initializer, dtype, key, weight_scale, bias_scale, slope) -> MLPParams:
    """Compiled once per ``(shape, initializer, dtype)``: the activation, loss and norm do not
    change what is drawn, and the scales and the slope are traced."""
    init = get_initializer(initializer)
    dtype = jnp.float64 if dtype == "float64" else jnp.float32
    n_in, width, n_out, max_depth = shape

    # Every array draws from its own fold of the key, numbered so that no number depends on
    # max_depth: the same key gives the same network at any padding.
    def fold(i):
        return jax.random.fold_in(key, i)

    hidden = jnp.arange(max_depth)
    w_first = init.weight(fold(0), (n_in, width), dtype)
    w_out = init.weight(fold(1), (width, n_out), dtype)
    b_out = init.bias(fold(2), (n_out,), dtype)
    # vmap over keys: each hidden layer's matrix is its own draw (orthogonal per layer).
    w_hidden = jax.vmap(lambda i: init.weight(fold(3 + 2 * i), (width, width), dtype))(hidden[1:])
    b_hidden = jax.vmap(lambda i: init.bias(fold(4 + 2 * i), (width,), dtype))(hidden)
    weight_scale = jnp.asarray(weight_scale, dtype)
    bias_scale = jnp.asarray(bias_scale, dtype)
    return MLPParams(
        weight_scale * w_first,
        weight_scale * w_hidden,
        bias_scale * b_hidden,
        weight_scale * w_out,
        bias_scale * b_out,
        jnp.full((max_depth,), slope, dtype),
        jnp.ones((max_depth, width), dtype),
        jnp.zeros((max_depth, width), dtype),
    )


def init_mlp(config: MLPConfig, *, key: jax.Array) -> MLPParams:
    """Draw an ``MLPConfig`` network's parameters (jit-compiled; scales are traced).

    ``W = weight_scale * draw`` and ``b = bias_scale * N(0, 1)`` (see ``INITIALIZERS``);
    PReLU slopes start at the config's ``activation_param``, normalization scales at 1 and
    shifts at 0. Compiled once per sizes, initializer and dtype.

    Args:
      config: the network.
      key: a ``jax.random`` key.

    Returns:
      ``MLPParams`` padded to ``config.max_depth`` hidden layers.

    Example:
      >>> import jax
      >>> p = init_mlp(MLPConfig(depth=2, max_depth=4), key=jax.random.key(0))
      >>> p.w_hidden.shape
      (3, 30, 30)

    References:
      Glorot & Bengio, AISTATS 2010; He et al., ICCV 2015; Saxe et al., ICLR 2014.
    """
    check_config(config)
    check_key(key)
    s, t = config.structure, config.traced
    with x64_context(config.dtype):
        return _init(
            tuple(s[:4]), s.initializer, s.dtype, key, t.weight_scale, t.bias_scale,
            t.activation_param,
        )  # fmt: skip


def init_norm_state(config: MLPConfig) -> NormState:
    """Batch normalization's initial running statistics: mean 0 and variance 1 everywhere.

    Args:
      config: the network.

    Returns:
      A ``NormState`` of ``(max_depth, width)`` arrays in the config's dtype.

    Example:
      >>> init_norm_state(MLPConfig(depth=2, width=3)).var.tolist()
      [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    check_config(config)
    shape = (config.max_depth, config.width)
    with x64_context(config.dtype):
        dtype = dtype_of(config.structure)
        return NormState(jnp.zeros(shape, dtype), jnp.ones(shape, dtype))


def check_config(config) -> None:
    if not isinstance(config, MLPConfig):
        raise TypeError(f"config must be an MLPConfig; got {type(config).__name__}.")


def check_key(key) -> None:
    """One JAX PRNG key: ``jax.random.key(seed)``, or a raw ``jax.random.PRNGKey(seed)``."""
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype == np.uint32 and shape is not None and len(shape) == 1
    if not ((typed and shape == ()) or raw):
        got = type(key).__name__ if dtype is None else f"an array of shape {shape}, dtype {dtype}"
        raise TypeError(
            f"key must be one JAX PRNG key, such as jax.random.key(0) (or jax.random.PRNGKey(0)); "
            f"got {got}: {key!r}."[:300]
        )


def _check_real(name: str, value) -> None:
    dtype = getattr(value, "dtype", None)
    dtype = np.asarray(value).dtype if dtype is None else dtype
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise ValueError(f"{name} must be an array of real numbers; got dtype {dtype}.")


def check_params(structure: Structure, params) -> None:
    n_in, width, n_out, max_depth = structure[:4]
    expected = MLPParams(
        (n_in, width),
        (max_depth - 1, width, width),
        (max_depth, width),
        (width, n_out),
        (n_out,),
        (max_depth,),
        (max_depth, width),
        (max_depth, width),
    )
    if not isinstance(params, MLPParams):
        raise TypeError(f"params must be MLPParams from init_mlp; got {type(params).__name__}.")
    for name, want, got in zip(MLPParams._fields, expected, params):
        if tuple(np.shape(got)) != want:
            raise ValueError(
                f"params.{name} must have shape {want} for this config; got {np.shape(got)}. "
                "Draw params with init_mlp(config, key=...) for the same structure."
            )
        _check_real(f"params.{name}", got)


def check_state(structure: Structure, state) -> None:
    """A ``NormState`` of finite ``(max_depth, width)`` arrays with variances >= 0."""
    if not isinstance(state, NormState):
        raise TypeError(
            f"state must be a NormState (from init_norm_state or a probe's norm_state) or "
            f"None; got {type(state).__name__}."
        )
    want = (structure.max_depth, structure.width)
    for name, value in zip(NormState._fields, state):
        array = check_array(f"state.{name}", value, ndim=2)
        if array.shape != want:
            raise ValueError(
                f"state.{name} must have shape (max_depth, width) = {want}; got {array.shape}."
            )
    if np.any(np.asarray(state.var) < 0):
        raise ValueError(
            f"state.var must be >= 0 (variances); its smallest entry is "
            f"{np.min(np.asarray(state.var)):g}."
        )
