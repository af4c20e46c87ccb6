"""Small shims over JAX versions (the floor in pyproject.toml is older than the newest JAX)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os

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


# YNNPACK's library fusions off: XLA's CPU backend (jaxlib 0.10.2, for one) hands matrix
# products to YNNPACK by default; for the 128 x 128 products of a training step Eigen's are
# faster on the 2-core CPU (BENCHMARKS.md, section 7: a specialized step of the 30 x 128
# network in about two thirds of the time). Products round differently in the last bits.
_SMALL_MATRIX_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.cache
def small_matrix_options() -> dict:
    """The ``compiler_options`` for ``small_matrix_jit``'s programs: ``_SMALL_MATRIX_OPTIONS``
    where they apply, else none.

    None when the default backend is not the CPU, when ``jax.jit`` takes no
    ``compiler_options`` (older JAX), when the user's ``XLA_FLAGS`` already choose YNNPACK's
    fusions (their choice stands), or when this XLA does not know the option (it refuses to
    compile a trivial program with it)."""
    if "compiler_options" not in inspect.signature(jax.jit).parameters:
        return {}
    if jax.default_backend() != "cpu" or any(
        name in os.environ.get("XLA_FLAGS", "") for name in _SMALL_MATRIX_OPTIONS
    ):
        return {}
    try:
        jax.jit(lambda x: x + 1, compiler_options=_SMALL_MATRIX_OPTIONS).lower(0.0).compile()
    except Exception:  # noqa: BLE001 - an XLA that does not know the option, in any words
        return {}
    return dict(_SMALL_MATRIX_OPTIONS)


def small_matrix_jit(fun, **jit_kwargs):
    """``jax.jit(fun, **jit_kwargs)`` compiled with ``small_matrix_options()``, for programs
    whose time goes to many small matrix products (a training step's).

    The options are decided at the first call (or ``lower``), not at import, so that importing
    the library starts no backend.

    Example:
      >>> import jax.numpy as jnp
      >>> double = small_matrix_jit(lambda x, n: n * (x @ x), static_argnames="n")
      >>> double(jnp.eye(2), n=2).tolist()
      [[2.0, 0.0], [0.0, 2.0]]
    """

    @functools.cache
    def jitted():
        options = small_matrix_options()
        return jax.jit(fun, **jit_kwargs, **({"compiler_options": options} if options else {}))

    @functools.wraps(fun)
    def call(*args, **kwargs):
        return jitted()(*args, **kwargs)

    call.lower = lambda *args, **kwargs: jitted().lower(*args, **kwargs)
    return call
