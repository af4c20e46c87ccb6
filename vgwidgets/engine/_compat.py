"""Small shims over JAX versions (the floor in pyproject.toml is older than the newest JAX)."""

from __future__ import annotations

import contextlib

import jax


def x64_context(dtype: str):
    """A context in which arrays of ``dtype`` ("float32" or "float64") can exist.

    float64 needs JAX's x64 mode; it is switched on for the duration of the call only, so a
    float64 computation never changes the rest of the user's session.

    Example:
      >>> import jax.numpy as jnp
      >>> with x64_context("float64"):
      ...     print(jnp.ones(2, jnp.float64).dtype)
      float64
    """
    if dtype != "float64" or jax.config.read("jax_enable_x64"):
        return contextlib.nullcontext()
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # jax < 0.5
        from jax.experimental import enable_x64 as enable
    return enable(True)


def optimization_barrier(operand):
    """``jax.lax.optimization_barrier``: ``operand`` (a pytree of arrays) unchanged, computed
    before anything that uses the result, and fused with nothing across the barrier.

    Why it is here: a program that calls one entry of a registry directly, where another picks
    it with ``jax.lax.switch``, must compute the same bits. A conditional's branch is compiled
    on its own, so XLA cannot fuse its last operations with what the caller does next; inlined,
    it could (an FMA, say). A barrier on the branch's results keeps that boundary.

    ``jax.lax.optimization_barrier`` is public from JAX 0.4.32; on older versions (the floor,
    0.4.30) the same primitive is ``jax._src.ad_checkpoint._optimization_barrier``. Neither has
    a batching rule there: use it outside ``vmap``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> jax.jit(lambda x: 2.0 * optimization_barrier(x + 1.0))(jnp.float32(1.0)).item()
      4.0
    """
    barrier = getattr(jax.lax, "optimization_barrier", None)
    if barrier is None:  # jax < 0.4.32
        from jax._src.ad_checkpoint import _optimization_barrier as barrier
    return barrier(operand)
