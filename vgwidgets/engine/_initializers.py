"""The initializer registry: one line adds a weight initializer.

Each entry holds two ``jax.nn.initializers``-style functions ``(key, shape, dtype) -> array``
for a weight matrix of shape ``(fan_in, fan_out)`` and a bias vector. ``init_mlp`` multiplies
what they draw: ``W = weight_scale * draw`` (the config's ``weight_scale`` is the *gain*: 1 gives
the variance in the description, sqrt(2) turns LeCun's into He's), ``b = bias_scale * draw``.

Biases: every initializer draws ``b ~ N(0, 1)``, so that ``b ~ N(0, bias_scale^2)``, the
``sigma_b^2 = bias_scale^2`` of mean-field theory (Poole et al. 2016). The modern recipes
(Glorot, He, LeCun, orthogonal) start from zero biases: that is ``bias_scale=0``.

Three draws are *truncated* normals, as ``jax.nn.initializers`` defines them: ``lecun_normal``,
``glorot_normal`` and ``he_normal`` draw ``N(0, 1)`` cut at +-2 and rescaled by
1/0.8796 (the standard deviation of that truncated normal), so their variance is *exactly* the
formula's and no entry lies beyond ``2/0.8796 = 2.274`` standard deviations.

References:
  LeCun, Bottou, Orr, Mueller, "Efficient BackProp", in *Neural Networks: Tricks of the Trade*
  (1998), sec. 4.6. Glorot, Bengio, "Understanding the difficulty of training deep feedforward
  neural networks", AISTATS 2010, eqs. (1) and (16). He, Zhang, Ren, Sun, "Delving deep into
  rectifiers", ICCV 2015, eq. (10). Saxe, McClelland, Ganguli, "Exact solutions to the nonlinear
  dynamics of learning in deep linear neural networks", ICLR 2014 (orthogonal). Nielsen,
  *Neural Networks and Deep Learning*, ch. 3 (``network2``'s initializers).
"""

from __future__ import annotations

from typing import NamedTuple

from jax.nn import initializers as jinit

from ._validate import check_choice


class Initializer(NamedTuple):
    """How a layer's parameters are drawn (before ``weight_scale`` and ``bias_scale``).

    Attributes:
      name: registry key.
      weight: ``(key, (fan_in, fan_out), dtype) -> array``.
      bias: ``(key, (fan_out,), dtype) -> array``.
      description: one line, with the variance and the source.
    """

    name: str
    weight: jinit.Initializer
    bias: jinit.Initializer
    description: str


INITIALIZERS: dict[str, Initializer] = {}


def register_initializer(name: str, *, weight, bias, description: str) -> Initializer:
    """Add an initializer to the registry and return its entry.

    Args:
      name: the registry key (``MLPConfig.initializer``).
      weight, bias: ``jax.nn.initializers``-style ``(key, shape, dtype) -> array``.
      description: a short plain-text description.

    Returns:
      The new ``Initializer``.

    Example:
      >>> entry = register_initializer("tiny", weight=jinit.normal(1e-3), bias=jinit.zeros,
      ...                              description="W ~ N(0, 1e-6)")
      >>> get_initializer("tiny").description
      'W ~ N(0, 1e-6)'
      >>> del INITIALIZERS["tiny"]  # (leave the registry as it was)
    """
    entry = Initializer(name, weight, bias, description)
    INITIALIZERS[name] = entry
    return entry


def get_initializer(name: str) -> Initializer:
    """Return the registry entry for ``name``; a ``ValueError`` lists the valid names."""
    return INITIALIZERS[check_choice("initializer", name, INITIALIZERS)]


_BIAS = jinit.normal(1.0)

for _name, _weight, _description in [
    ("normal", jinit.normal(1.0), "W ~ N(0, 1) (Nielsen's network2 large_weight_initializer)"),
    (
        "normal_fan_in",
        jinit.variance_scaling(1.0, "fan_in", "normal"),
        "W ~ N(0, 1/n_in) (Nielsen's network2 default_weight_initializer)",
    ),
    ("small_normal", jinit.normal(0.01), "W ~ N(0, 0.01^2), small random weights"),
    (
        "glorot_standard",
        jinit.variance_scaling(1.0 / 3.0, "fan_in", "uniform"),
        "W ~ U[-1/sqrt(n_in), 1/sqrt(n_in)], var 1/(3 n_in) (Glorot & Bengio 2010's 'standard')",
    ),
    (
        "lecun_normal",
        jinit.lecun_normal(),
        "W ~ truncated normal, var exactly 1/n_in (LeCun et al. 1998)",
    ),
    (
        "glorot_normal",
        jinit.glorot_normal(),
        "W ~ truncated normal, var exactly 2/(n_in + n_out) (Glorot & Bengio 2010, Xavier)",
    ),
    (
        "glorot_uniform",
        jinit.glorot_uniform(),
        "W ~ U[-sqrt(6/(n_in + n_out)), +], var 2/(n_in + n_out) (Glorot & Bengio 2010, Xavier)",
    ),
    (
        "he_normal",
        jinit.he_normal(),
        "W ~ truncated normal, var exactly 2/n_in (He et al. 2015, Kaiming)",
    ),
    ("he_uniform", jinit.he_uniform(), "W ~ U[-sqrt(6/n_in), +], var 2/n_in (He et al. 2015)"),
    (
        "orthogonal",
        jinit.orthogonal(1.0),
        "W orthogonal (W^T W = I; semi-orthogonal if not square) (Saxe et al. 2014)",
    ),
]:
    register_initializer(
        _name, weight=_weight, bias=_BIAS, description=f"{_description}; b ~ N(0, 1)"
    )
del _name, _weight, _description
