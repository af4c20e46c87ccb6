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
    branches = [functools.partial(fn, entry) for entry in entries]
    return jax.lax.switch(index, branches, *operands)
