"""Batch and layer normalization of a hidden layer's pre-activations, as pure functions.

For pre-activations ``z`` of shape ``(batch, width)``, a normalization returns

    u = gamma * (z - mu) / sqrt(s^2 + EPS) + beta,

and the layer's activation is ``phi(u)``. Batch normalization takes ``mu, s^2`` per unit over
the batch in training mode and the running statistics in evaluation mode; layer normalization
takes them per example over the units, the same in both modes. ``gamma`` (scale) and ``beta``
(shift) are learned, one per unit and layer, in ``MLPParams.norm_scale`` / ``norm_shift``.

The running statistics are state, carried in a ``NormState`` that goes in and comes out: in
training mode, with the batch mean ``m_B`` and *unbiased* batch variance
``v_B = n/(n-1) * s_B^2`` (Ioffe & Szegedy 2015, alg. 2, step 10),

    mean <- (1 - momentum) * mean + momentum * m_B,
    var  <- (1 - momentum) * var  + momentum * v_B,

the convention of PyTorch's ``BatchNorm1d`` (``momentum=0.1``). Nothing is stored anywhere else.

A bias ``b_l`` before batch normalization is cancelled by the mean subtraction, so its
gradient is 0 up to rounding: ``beta`` does its work (Ioffe & Szegedy 2015, sec. 3.2).

References:
  Ioffe, Szegedy, "Batch normalization: accelerating deep network training by reducing
  internal covariate shift", ICML 2015. Ba, Kiros, Hinton, "Layer normalization",
  arXiv:1607.06450, 2016.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._switch import chosen

NORMS = ("none", "batch", "layer")
EPS = 1e-5  # added to the variance, as in PyTorch and flax


class NormState(NamedTuple):
    """Batch normalization's running statistics, per hidden layer and unit.

    Attributes:
      mean: ``(max_depth, width)``, starts at 0.
      var: ``(max_depth, width)``, starts at 1.
    """

    mean: jax.Array
    var: jax.Array


def batch_norm(z, scale, shift, mean, var, *, train, momentum):
    """Batch normalization of ``z`` (``(batch, width)``) and the updated running statistics.

    Args:
      z: pre-activations, ``(batch, width)``.
      scale, shift: ``gamma`` and ``beta``, ``(width,)``.
      mean, var: running statistics, ``(width,)``.
      train: batch statistics and an update (True) or the running ones, unchanged (False);
        may be traced.
      momentum: the weight of the batch in the update, in ``[0, 1]``; may be traced.

    Returns:
      ``(u, mean, var)``: normalized ``u`` like ``z`` and the running statistics after.

    Example:
      >>> z = jnp.array([[1.0], [3.0]])
      >>> u, m, v = batch_norm(z, jnp.ones(1), jnp.zeros(1), jnp.zeros(1), jnp.ones(1),
      ...                      train=True, momentum=0.1)
      >>> [round(float(t), 3) for t in (u[0, 0], m[0], v[0])]
      [-1.0, 0.2, 1.1]
    """
    n = z.shape[0]
    batch_mean = jnp.mean(z, axis=0)
    batch_var = jnp.var(z, axis=0)
    use_mean = jnp.where(train, batch_mean, mean)
    use_var = jnp.where(train, batch_var, var)
    u = scale * (z - use_mean) / jnp.sqrt(use_var + EPS) + shift
    unbiased = batch_var * (n / max(n - 1, 1))
    new_mean = jnp.where(train, (1 - momentum) * mean + momentum * batch_mean, mean)
    new_var = jnp.where(train, (1 - momentum) * var + momentum * unbiased, var)
    return u, new_mean, new_var


def layer_norm(z, scale, shift):
    """Layer normalization: each example's pre-activations to mean 0, variance 1 over units.

    Args:
      z: ``(batch, width)``.
      scale, shift: ``gamma`` and ``beta``, ``(width,)``.

    Returns:
      ``u`` like ``z``.

    Example:
      >>> [round(float(t), 3) for t in layer_norm(jnp.array([[1.0, 3.0]]), 1.0, 0.0)[0]]
      [-1.0, 1.0]
    """
    mean = jnp.mean(z, axis=-1, keepdims=True)
    var = jnp.var(z, axis=-1, keepdims=True)
    return scale * (z - mean) / jnp.sqrt(var + EPS) + shift


def normalize(kind, z, scale, shift, mean, var, *, train, momentum):
    """``(u, mean, var)`` for ``NORMS[kind]`` ("none": ``u = z``, statistics unchanged).

    Args:
      kind: an index into ``NORMS`` (int32; may be traced: ``jax.lax.switch`` runs only the
        chosen normalization), or its name.
      z, scale, shift, mean, var, train, momentum: as ``batch_norm`` takes them; layer
        normalization and "none" leave ``mean`` and ``var`` as they are.

    Returns:
      ``(u, mean, var)``.

    Example:
      >>> z = jnp.array([[1.0, 3.0]])
      >>> u, _, _ = normalize(jnp.int32(2), z, 1.0, 0.0, jnp.zeros(2), jnp.ones(2),
      ...                     train=True, momentum=0.1)
      >>> [round(float(t), 3) for t in u[0]]
      [-1.0, 1.0]
    """
    if isinstance(kind, str):
        kind = NORMS.index(kind)
    return chosen(NORMS, kind, _normalize_by_name, z, scale, shift, mean, var, train, momentum)


def _normalize_by_name(name, z, scale, shift, mean, var, train, momentum):
    if name == "batch":
        return batch_norm(z, scale, shift, mean, var, train=train, momentum=momentum)
    if name == "layer":
        return layer_norm(z, scale, shift), mean, var
    return z, mean, var
