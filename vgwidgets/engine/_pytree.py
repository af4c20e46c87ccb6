"""Any params pytree, taken apart for differentiation: its float arrays, its fixed leaves, names.

``split_params`` flattens a pytree (a dict, flax's parameters, an equinox module) into the
floating-point arrays to differentiate and a ``Frame`` that puts them back: the tree structure and
the leaves that are not numbers (functions, strings), held fixed as
``eqx.partition(model, eqx.is_inexact_array)`` would hold them. Integer, boolean and complex
leaves are an error. ``model_order`` sorts the leaves layer by layer and ``leaf_name`` names them.
"""

from __future__ import annotations

import numbers
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class ById:
    """A static argument of ``jax.jit`` compared by identity (any callable, hashable or not)."""

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return id(self.value)

    def __eq__(self, other):
        return isinstance(other, ById) and other.value is self.value


class Frame(NamedTuple):
    """The fixed part of ``params``: its tree structure, the non-array leaves and where they sit.

    Compared by identity of the held objects, so it can be a static argument of ``jax.jit``."""

    treedef: object
    static: tuple  # (position in the flat leaves, ById(object)), for non-array leaves
    n: int

    def build(self, arrays, *, fill_static: bool = True):
        """The params tree from the array leaves (in flatten order); non-array leaves put back,
        or ``None`` (an empty subtree, as ``eqx.filter`` leaves it) with ``fill_static=False``."""
        leaves, it = [None] * self.n, iter(arrays)
        fixed = {i: held.value for i, held in self.static}
        for i in range(self.n):
            leaves[i] = (fixed[i] if fill_static else None) if i in fixed else next(it)
        return jax.tree_util.tree_unflatten(self.treedef, leaves)


def leaf_name(path) -> str:
    """``"Dense_0/kernel"`` for a leaf's key path (``"params"`` for the root itself)."""
    return "/".join(_key_name(k) for k in path) or "params"


def _key_name(key) -> str:
    for attribute in ("key", "name", "idx"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def _natural(text: str) -> tuple:
    """A sort key that orders the digits in ``text`` by value: "Dense_2" before "Dense_10"."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.findall(r"\d+|\D+", text)
    )


def model_order(paths) -> list[int]:
    """Positions of ``paths`` (in JAX's flatten order) sorted into the model's order.

    JAX flattens a dict in sorted key order, and every ``tree_map`` (an optimizer step, say)
    rebuilds dicts in that order, so ``Dense_10`` comes before ``Dense_2``. Here dict keys are
    sorted by ``_natural`` instead: layers by number, before and after any step. Other keys
    (list indices, a module's fields) keep JAX's order, which is theirs.

    Example:
      >>> tree = {f"Dense_{i}": 0.0 for i in (0, 1, 2, 10)}
      >>> paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
      >>> [leaf_name(paths[i]) for i in model_order(paths)]
      ['Dense_0', 'Dense_1', 'Dense_2', 'Dense_10']
    """
    seen: dict = {}
    ranks = []
    for path in paths:
        prefix, rank = (), []
        for key in path:
            if isinstance(key, jax.tree_util.DictKey):
                rank.append(_natural(str(key.key)))
            else:
                siblings = seen.setdefault(prefix, {})
                rank.append(((0, siblings.setdefault(str(key), len(siblings)), ""),))
            prefix = (*prefix, str(key))
        ranks.append(tuple(rank))
    return sorted(range(len(paths)), key=ranks.__getitem__)


def split_params(params):
    """``(frame, arrays, paths)``, arrays and their paths in JAX's flatten order; raises on
    integer, boolean or complex leaves.

    Example:
      >>> frame, arrays, paths = split_params({"w": jnp.ones(2), "act": jnp.tanh})
      >>> [leaf_name(p) for p in paths], frame.build(arrays)["act"] is jnp.tanh
      (['w'], True)
    """
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    arrays, static, paths = [], [], []
    for i, (path, leaf) in enumerate(flat):
        where = "params" + jax.tree_util.keystr(path)
        if isinstance(leaf, (bool, np.bool_, numbers.Integral)):
            dtype = np.asarray(leaf).dtype
        elif isinstance(leaf, (jax.Array, np.ndarray, np.generic, numbers.Number)):
            dtype = np.asarray(leaf).dtype if not isinstance(leaf, jax.Array) else leaf.dtype
        else:  # a function, a string...: held fixed, as equinox's partition holds them
            static.append((i, ById(leaf)))
            continue
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"params must hold floating-point arrays only, to be differentiated; {where} "
                f"has dtype {dtype}. Keep integer and boolean values out of params (pass them in "
                "the batch or close over them; with equinox, "
                "eqx.partition(model, eqx.is_inexact_array))."
            )
        arrays.append(jnp.asarray(leaf))
        paths.append(path)
    if not arrays:
        raise ValueError(
            f"params must hold at least one floating-point array; got {type(params).__name__} "
            f"with none ({len(flat)} leaves)."
        )
    return Frame(treedef, tuple(static), len(flat)), arrays, paths
