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
