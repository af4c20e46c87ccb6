"""An ``MLPConfig`` network's starting point: its ``MLPParams`` drawn, its ``NormState`` fresh."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ._boundary import check_config, check_key, fresh_norm_state
from ._compat import optimization_barrier, x64_context
from ._config import MLPConfig, MLPParams
from ._initializers import INITIALIZERS, Initializer
from ._normalization import NormState
from ._switch import chosen


def _draw(init: Initializer, key, *, shape, dtype):
    """Unit-scale draws of every weight and bias with one initializer:
    ``(w_first, w_hidden, b_hidden, w_out, b_out)``."""
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
    return w_first, w_hidden, b_hidden, w_out, b_out


def _init(shape, initializers, dtype, key, index, weight_scale, bias_scale, slope) -> MLPParams:
    """``init_mlp``'s compiled core, once per ``(shape, dtype)`` (and registry). Traced
    (``_init_traced``), the initializer is the ``index`` into ``initializers``, a
    ``jax.lax.switch`` that draws with the chosen one only; static (``_init_fixed``), ``index``
    is a Python int and the program holds that initializer alone. The scales and the slope are
    traced either way.

    The unit-scale draws pass an optimization barrier before they are scaled: a switch's branch
    is compiled apart from what follows it, and the barrier keeps that boundary where the entry
    is called directly, so both programs draw the same bits (XLA could otherwise fuse the
    scaling into the draw and round differently)."""
    dtype = jnp.float64 if dtype == "float64" else jnp.float32
    max_depth, width = shape[3], shape[1]
    draws = chosen(initializers, index, functools.partial(_draw, shape=shape, dtype=dtype), key)
    w_first, w_hidden, b_hidden, w_out, b_out = optimization_barrier(draws)
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


_STATIC = ("shape", "initializers", "dtype")
_init_fixed = jax.jit(_init, static_argnames=(*_STATIC, "index"))
_init_traced = jax.jit(_init, static_argnames=_STATIC)


def init_mlp(config: MLPConfig, *, key: jax.Array, specialize: bool = False) -> MLPParams:
    """Draw an ``MLPConfig`` network's parameters (jit-compiled; scales are traced).

    ``W = weight_scale * draw`` and ``b = bias_scale * N(0, 1)`` (see ``INITIALIZERS``);
    PReLU slopes start at the config's ``activation_param``, normalization scales at 1 and
    shifts at 0. Compiled once per sizes and dtype: the initializer is a traced choice, so
    moving it compiles nothing new (see ``MLPConfig``).

    Args:
      config: the network.
      key: a ``jax.random`` key.
      specialize: compile the config's initializer into the program, which then holds that
        initializer's draws only, not a ``jax.lax.switch`` over every registered one: smaller,
        so quicker to compile and to load from JAX's persistent cache, but each initializer
        compiles once more (the scales and the slope stay traced). It draws exactly what the
        traced choice draws, to the bit. For a caller whose initializer never moves
        (``PhaseDiagram``), as ``probe(..., specialize=True)`` is for its choices.

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
    if not isinstance(specialize, bool):
        raise TypeError(f"specialize must be True or False; got {specialize!r}.")
    s, t = config.structure, config.traced
    run, index = (_init_fixed, int(t.initializer)) if specialize else (_init_traced, t.initializer)
    with x64_context(config.dtype):
        return run(
            tuple(s[:4]), tuple(INITIALIZERS.values()), s.dtype, key, index,
            t.weight_scale, t.bias_scale, t.activation_param,
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
    with x64_context(config.dtype):
        return fresh_norm_state(config.structure)
