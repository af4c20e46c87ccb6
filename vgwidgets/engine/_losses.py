"""The loss registry: per-example costs on the network's linear output (logits), from optax."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._validate import check_choice


class Loss(NamedTuple):
    """A per-example cost ``C(out, y)`` with ``out, y`` of shape ``(batch, n_out)``.

    Attributes:
      name: registry key.
      fn: ``(out, y) -> (batch,)``.
      description: one line.
    """

    name: str
    fn: Callable[[jax.Array, jax.Array], jax.Array]
    description: str


LOSSES: dict[str, Loss] = {}


def register_loss(name: str, fn, *, description: str) -> Loss:
    """Add a loss to the registry and return its entry."""
    entry = Loss(name, fn, description)
    LOSSES[name] = entry
    return entry


def get_loss(name: str) -> Loss:
    """Return the registry entry for ``name``; a ``ValueError`` lists the valid names."""
    return LOSSES[check_choice("loss", name, LOSSES)]


register_loss(
    "squared_error",
    lambda out, y: jnp.sum(optax.l2_loss(out, y), axis=-1),
    description="C = 1/2 ||out - y||^2 with a linear output layer",
)
register_loss(
    "cross_entropy",
    lambda out, y: jnp.sum(optax.sigmoid_binary_cross_entropy(out, y), axis=-1),
    description=(
        "C = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], a = sigmoid(out) "
        "(Nielsen's network2 CrossEntropyCost)"
    ),
)
register_loss(
    "softmax_cross_entropy",
    optax.softmax_cross_entropy,
    description="C = -sum_j y_j ln softmax(out)_j",
)
