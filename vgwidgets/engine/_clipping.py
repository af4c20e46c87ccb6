"""Gradient clipping, by value and by global norm, with optax's own transformations.

For a gradient pytree ``g`` (all of a network's parameters) and a threshold ``c > 0``:

- by value (``optax.clip``): every entry ``g_i <- min(max(g_i, -c), c)``;
- by global norm (``optax.clip_by_global_norm``): with ``||g|| = sqrt(sum_i g_i^2)`` over every
  leaf, ``g <- c/||g|| * g`` when ``||g|| > c``, else ``g`` unchanged. The direction is kept;
  only an exploding step is shortened.

Clipping bounds the step that an exploding gradient would take; it does nothing for a
vanishing one (Pascanu et al. 2013, sec. 3.2).

References:
  Pascanu, Mikolov, Bengio, "On the difficulty of training recurrent neural networks", ICML
  2013, alg. 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._validate import check_choice, check_positive

CLIP_MODES = ("none", "value", "global_norm")


def global_norm(tree) -> jax.Array:
    """``sqrt(sum of squares)`` over every leaf of ``tree``."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree_util.tree_leaves(tree)))


def _apply(transform: optax.GradientTransformation, grads):
    return transform.update(grads, transform.init(grads))[0]


def clip_by_mode(grads, mode, threshold):
    """``grads`` clipped by ``CLIP_MODES[mode]``, unchecked; ``mode`` (an index) and
    ``threshold`` may be traced. ``clip_gradients`` is the checked form."""
    by_value = _apply(optax.clip(threshold), grads)
    by_norm = _apply(optax.clip_by_global_norm(threshold), grads)
    mode = jnp.asarray(mode, jnp.int32)
    return jax.tree_util.tree_map(lambda *g: jax.lax.select_n(mode, *g), grads, by_value, by_norm)


def clip_gradients(grads, *, mode: str, threshold: float):
    """Clip a gradient pytree by value or by global norm, as optax does in a training step.

    Args:
      grads: a pytree of arrays (``MLPParams`` of gradients, say).
      mode: one of ``CLIP_MODES``: "none", "value", "global_norm".
      threshold: ``c > 0``, finite: the largest entry (by value) or global norm.

    Returns:
      A pytree like ``grads``.

    Example:
      >>> g = {"w": jnp.array([3.0, 4.0])}
      >>> clip_gradients(g, mode="global_norm", threshold=1.0)["w"].tolist()
      [0.6000000238418579, 0.800000011920929]

    References:
      Pascanu, Mikolov, Bengio, "On the difficulty of training recurrent neural networks",
      ICML 2013.
    """
    mode = CLIP_MODES.index(check_choice("mode", mode, CLIP_MODES))
    threshold = check_positive("threshold", threshold)
    for path, leaf in jax.tree_util.tree_flatten_with_path(grads)[0]:
        dtype = getattr(leaf, "dtype", None)
        dtype = np.asarray(leaf).dtype if dtype is None else dtype
        if dtype == object or not jnp.issubdtype(dtype, jnp.floating):
            where = f"grads{jax.tree_util.keystr(path)}"
            raise ValueError(
                f"grads must be a pytree of floating-point arrays; {where} is "
                f"{type(leaf).__name__} of dtype {dtype}. Pass gradients from jax.grad, or "
                "arrays made with jnp.asarray(..., float)."
            )
    return clip_by_mode(grads, mode, threshold)
