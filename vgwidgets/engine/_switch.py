"""A registry choice as a traced index: ``jax.lax.switch`` over the registry's entries.

A dropdown that picks an activation, a loss, an initializer or a normalization must not
compile anything. So the compiled programs take the choice as an int32 index and hold one
branch per entry of the registry; XLA's conditional runs only the branch the index picks, and
reverse-mode differentiation keeps one set of residuals, shared by the branches (JAX merges
residuals of the same shape across branches). The entries tuple is static: an entry registered
after a compilation makes a new tuple, and the program compiles once more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def chosen(entries: tuple, index, fn: Callable, *operands):
    """``fn(entries[index], *operands)`` with ``index`` traced: ``jax.lax.switch`` over entries.

    The compiled program holds one branch per entry and runs only the one ``index`` picks, so
    moving the choice compiles nothing new. Every branch must return the same shapes and dtypes.

    Args:
      entries: the candidates, a registry's entries (``Structure.activations``, say).
      index: an int32 scalar, ``0 <= index < len(entries)``; may be traced.
      fn: ``(entry, *operands) -> pytree``.
      *operands: arrays passed to every branch.

    Returns:
      What ``fn`` returns for the chosen entry.

    Example:
      >>> import jax.numpy as jnp
      >>> from vgwidgets.engine import ACTIVATIONS
      >>> entries = tuple(ACTIVATIONS.values())
      >>> at = lambda act, p, z: act.at(p)(z)
      >>> relu = list(ACTIVATIONS).index("relu")
      >>> chosen(entries, jnp.int32(relu), at, jnp.float32(0.0), jnp.array([-1.0, 2.0])).tolist()
      [0.0, 2.0]
    """
    known = _known(index, len(entries))
    if known is not None:  # fixed while tracing (a specialized program): no switch at all
        return fn(entries[known], *operands)
    branches = [functools.partial(fn, entry) for entry in entries]
    return jax.lax.switch(index, branches, *operands)


def _known(index, n: int) -> int | None:
    """``index`` clamped to ``0..n-1`` as ``jax.lax.switch`` clamps it, where it is a Python
    or NumPy number (known while tracing); else None (a tracer, or a JAX array: an eager call
    keeps its one compiled switch for every choice)."""
    if not isinstance(index, (int, np.integer, np.ndarray)) or np.ndim(index) != 0:
        return None
    return min(max(int(index), 0), n - 1)


def _slopes(act, p, u, uniform=True):
    """``(phi(u; p), dphi/du, dphi/dp, sup|phi'(.; p)|)`` for one registry entry.

    Both derivatives are elementwise, reverse-mode products with a cotangent of ones (an entry
    may define its own VJP, as the lifted sigmoid does), exact for an elementwise ``phi``;
    ``dphi/dp`` is zero for an activation without a parameter: zeros like ``u`` where every
    branch of a switch must return the same (``uniform``), else None."""
    a, pullback = jax.vjp(act.at(p), u)
    (da_du,) = pullback(jnp.ones_like(a))
    if act.param is None:
        da_dp = jnp.zeros_like(u) if uniform else None
    else:
        # p broadcast to u's shape, so that the pullback keeps one slope per element
        _, pullback_p = jax.vjp(lambda q: act.at(q)(u), jnp.broadcast_to(p, u.shape))
        (da_dp,) = pullback_p(jnp.ones_like(a))
    return a, da_du, da_dp, jnp.asarray(act.max_derivative_at(p), u.dtype)


def activate(entries: tuple, index, p, u):
    """``(phi(u; p), phi'(u; p), sup_z |phi'(z; p)|)`` for ``phi = entries[index]``, traced index.

    The forward pass runs the chosen branch of one ``jax.lax.switch``, which also computes the
    elementwise slopes ``dphi/du`` and ``dphi/dp``; the backward pass multiplies by them and
    holds no conditional. Differentiating through the switch itself made XLA copy or
    zero-fill every branch's residuals per layer (about 2.5x the time of a fixed activation);
    this way a deep network's gradient costs what it costs with the activation fixed. An
    index known while tracing (a number, not a tracer: ``train(..., specialize=True)``) calls
    its entry directly, and an activation without a parameter then keeps no ``dphi/dp``. The
    slope and its bound are returned for statistics (saturation) and carry no gradient.

    Args:
      entries: a registry's ``Activation`` entries (a static tuple).
      index: int32 scalar, may be traced.
      p: the activation parameter, a scalar (may be traced; differentiable).
      u: the activation's input, any shape (differentiable).

    Returns:
      ``(a, slope, bound)``: ``phi(u; p)`` and ``phi'(u; p)`` like ``u``, and the scalar
      ``sup_z |phi'(z; p)|``.

    Example:
      >>> import jax.numpy as jnp
      >>> from vgwidgets.engine import ACTIVATIONS
      >>> relu = jnp.int32(list(ACTIVATIONS).index("relu"))
      >>> entries = tuple(ACTIVATIONS.values())
      >>> g = jax.grad(lambda u: activate(entries, relu, jnp.float32(0.0), u)[0].sum())
      >>> g(jnp.array([-1.0, 2.0])).tolist()
      [0.0, 1.0]
    """
    known = _known(index, len(entries))
    if known is not None:  # fixed while tracing: the entry's own pass, no switch
        return _activate_one(entries[known], p, u)
    return _activate_switch(entries, index, p, u)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _activate_switch(entries: tuple, index, p, u):
    a, da_du, _, bound = chosen(entries, index, _slopes, p, u)
    return a, da_du, bound


def _switch_fwd(entries, index, p, u):
    a, da_du, da_dp, bound = chosen(entries, index, _slopes, p, u)
    return (a, da_du, bound), (index, p, da_du, da_dp)


def _switch_bwd(entries, residuals, cotangents):
    index, p, da_du, da_dp = residuals
    dp, du = _pull(p, da_du, da_dp, cotangents)
    return np.zeros(np.shape(index), dtype=jax.dtypes.float0), dp, du


def _pull(p, da_du, da_dp, cotangents):
    """``(dC/dp, dC/du)`` from the cotangent of ``a``; the slope and its bound carry none."""
    g = cotangents[0]
    dp = jnp.zeros_like(p) if da_dp is None else jnp.sum(g * da_dp).astype(p.dtype)
    return dp.reshape(p.shape), g * da_du


_activate_switch.defvjp(_switch_fwd, _switch_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _activate_one(act, p, u):
    a, da_du, _, bound = _slopes(act, p, u, uniform=False)
    return a, da_du, bound


def _one_fwd(act, p, u):
    a, da_du, da_dp, bound = _slopes(act, p, u, uniform=False)
    return (a, da_du, bound), (p, da_du, da_dp)


def _one_bwd(act, residuals, cotangents):
    return _pull(*residuals, cotangents)


_activate_one.defvjp(_one_fwd, _one_bwd)


def evaluate_activation(activation: str, z) -> tuple[jax.Array, jax.Array]:
    """``(phi(z), phi'(z))`` of a registered activation at its default parameter, jit-compiled
    with the choice traced: moving from one activation to another compiles nothing.

    Args:
      activation: a key of ``ACTIVATIONS``.
      z: a float32 array of any shape.

    Returns:
      ``(phi(z), phi'(z))``, float32 arrays like ``z``.

    Example:
      >>> phi, slope = evaluate_activation("sigmoid", jnp.zeros(2, jnp.float32))
      >>> phi.tolist(), slope.tolist()
      ([0.5, 0.5], [0.25, 0.25])
    """
    from ._activations import ACTIVATIONS, get_activation

    get_activation(activation)
    entries = tuple(ACTIVATIONS.values())
    return _evaluate(entries, jnp.int32(list(ACTIVATIONS).index(activation)), jnp.asarray(z))


def _phi_and_slope(act, z):
    a, pullback = jax.vjp(act.fn, z)
    return a, pullback(jnp.ones_like(a))[0]


@functools.partial(jax.jit, static_argnames="entries")
def _evaluate(entries, index, z):
    return chosen(entries, index, _phi_and_slope, z)


def activation_choice(activation: str) -> tuple[tuple, np.int32]:
    """``(entries, index)`` for a registered activation: the registry's entries as a tuple
    (a static argument of a compiled function) and the activation's int32 index (traced)."""
    from ._activations import ACTIVATIONS, get_activation

    get_activation(activation)
    return tuple(ACTIVATIONS.values()), np.int32(list(ACTIVATIONS).index(activation))


def activation_fn(entries: tuple, index) -> Callable[[jax.Array], jax.Array]:
    """``phi`` of ``entries[index]`` at its default parameter, ``index`` traced: a function that
    runs ``jax.lax.switch`` at each call (differentiable, e.g. by ``derivative``)."""
    return functools.partial(chosen, entries, index, _apply_fn)


def _apply_fn(act, u):
    return act.fn(u)
