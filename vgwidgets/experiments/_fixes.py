"""The fixes compared: several deep networks, each with a fix, probed on one batch.

What ``FixComparison`` shows, computed without a widget. Each ``FixSpec`` picks an activation,
an initializer, a normalization (batch or layer), a residual connection every ``k`` layers and a
gradient clipping; the depth, the weight scale and the bias scale are shared (``compare``). Every
network is probed on the same batch with parameters drawn from the same key, and the ratio of
the first hidden layer's gradient norm to the last one's (``ratio``) says how evenly its layers
learn: about 1 when they all learn alike, far below 1 where the gradient vanishes, far above
where it explodes (``ratio_trend``).

Every network is padded to ``FIX_MAX_DEPTH`` layers, and the depth, the scales, ``k``, the
clipping mode and its threshold are traced values of ``MLPConfig``: changing them compiles
nothing new. A new activation, initializer or normalization compiles its network once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ..engine import (
    ACTIVATIONS,
    CLIP_MODES,
    INITIALIZERS,
    NORMS,
    MLPConfig,
    check_bool,
    check_choice,
    check_float,
    check_int,
    init_mlp,
    probe,
)

FIX_MAX_DEPTH = 50
RESIDUAL_EVERY = (0, 10)  # k: a skip connection every k layers, 0 for none
CLIP_THRESHOLD = (1e-4, 100.0)
NORM_NAMES = {"none": "no normalization", "batch": "batch norm", "layer": "layer norm"}


class FixSpec(NamedTuple):
    """One configuration of the comparison (the shared depth and scales are set apart).

    Attributes:
      activation: a key of ``ACTIVATIONS``.
      initializer: a key of ``INITIALIZERS``.
      norm: a key of ``NORMS``: "none", "batch", "layer".
      residual_every: ``k``, a skip connection every ``k`` layers, 0 for none, in ``[0, 10]``.
      clip: one of ``CLIP_MODES``: "none", "value", "global_norm".
      clip_threshold: in ``[1e-4, 100]``.
      enabled: whether the configuration is computed and drawn.

    Example:
      >>> FixSpec("sigmoid", "normal_fan_in", norm="batch", residual_every=2).label()
      'sigmoid, normal_fan_in, batch norm, skip every 2'
    """

    activation: str
    initializer: str
    norm: str = "none"
    residual_every: int = 0
    clip: str = "none"
    clip_threshold: float = 1.0
    enabled: bool = True

    def label(self) -> str:
        """A short description, e.g. ``"sigmoid, normal_fan_in, batch norm"``."""
        parts = [self.activation, self.initializer]
        if self.norm != "none":
            parts.append(NORM_NAMES[self.norm])
        if self.residual_every:
            parts.append(f"skip every {self.residual_every}")
        if self.clip != "none":
            parts.append(f"clip {self.clip.replace('_', ' ')} {self.clip_threshold:g}")
        return ", ".join(parts)


# The baseline and three fixes of it: Nielsen's deep sigmoid network, whose gradient vanishes
# towards the input; ReLU with He's initialization (He et al. 2015); the same sigmoid network
# with batch normalization (Ioffe & Szegedy 2015); and with a skip connection every 2 layers
# (He et al. 2016).
DEFAULT_SPECS = (
    FixSpec("sigmoid", "normal_fan_in"),
    FixSpec("relu", "he_normal"),
    FixSpec("sigmoid", "normal_fan_in", norm="batch"),
    FixSpec("sigmoid", "normal_fan_in", residual_every=2),
)


def check_spec(name: str, spec) -> FixSpec:
    """``spec`` (a ``FixSpec`` or a mapping of its fields) validated, as a ``FixSpec``.

    Raises:
      ValueError: naming ``name``'s field, the value received and what would be valid.

    Example:
      >>> check_spec("specs[0]", {"activation": "relu", "initializer": "he_normal"}).norm
      'none'
    """
    if isinstance(spec, Mapping):
        unknown = set(spec) - set(FixSpec._fields)
        if unknown:
            raise ValueError(
                f"{name} has unknown keys {sorted(unknown)}; valid keys: {list(FixSpec._fields)}."
            )
        if not {"activation", "initializer"} <= set(spec):
            raise ValueError(f"{name} must give 'activation' and 'initializer'; got {dict(spec)}.")
        spec = FixSpec(**spec)
    if not isinstance(spec, FixSpec):
        raise ValueError(f"{name} must be a FixSpec or a dict of its fields; got {spec!r}.")
    return FixSpec(
        check_choice(f"{name}.activation", spec.activation, ACTIVATIONS),
        check_choice(f"{name}.initializer", spec.initializer, INITIALIZERS),
        check_choice(f"{name}.norm", spec.norm, NORMS),
        check_int(f"{name}.residual_every", spec.residual_every, *RESIDUAL_EVERY),
        check_choice(f"{name}.clip", spec.clip, CLIP_MODES),
        check_float(f"{name}.clip_threshold", spec.clip_threshold, *CLIP_THRESHOLD),
        check_bool(f"{name}.enabled", spec.enabled),
    )


class FixEntry(NamedTuple):
    """One enabled configuration computed: its config, its parameters and what ``probe`` gave."""

    spec: FixSpec
    config: MLPConfig
    params: object
    probe: object


def compare(specs, *, depth, weight_scale, bias_scale, width, x, y, key) -> tuple:
    """Probe every enabled spec on ``(x, y)``: a tuple of ``FixEntry`` (``None`` where disabled).

    Every network is padded to ``FIX_MAX_DEPTH`` hidden layers and drawn from the same ``key``,
    so networks with the same initializer share their parameters (drawn once); the probes are
    trimmed to ``depth`` layers (NumPy arrays).

    Args:
      specs: ``FixSpec``s (validated ones: ``check_spec``).
      depth: hidden layers, in ``[1, FIX_MAX_DEPTH]``.
      weight_scale, bias_scale: shared by every network.
      width: units per hidden layer.
      x, y: the batch, ``(batch, n_in)`` and ``(batch, n_out)``.
      key: a ``jax.random.key``.
    """
    entries, drawn = [], {}
    for spec in specs:
        if not spec.enabled:
            entries.append(None)
            continue
        config = MLPConfig(
            n_in=x.shape[1], depth=depth, width=width, n_out=y.shape[1],
            activation=spec.activation, initializer=spec.initializer,
            weight_scale=weight_scale, bias_scale=bias_scale, max_depth=FIX_MAX_DEPTH,
            norm=spec.norm, residual_every=spec.residual_every, clip=spec.clip,
            clip_threshold=spec.clip_threshold,
        )  # fmt: skip
        if spec.initializer not in drawn:
            drawn[spec.initializer] = init_mlp(config, key=key)
        params = drawn[spec.initializer]
        entries.append(FixEntry(spec, config, params, probe(config, params, x, y).trim()))
    return tuple(entries)


def ratio(values) -> float:
    """``values[0] / values[-1]``, first hidden layer over last, as IEEE division gives it.

    Example:
      >>> ratio([1e-6, 1e-3, 1.0]), ratio([0.0, 0.0])
      (1e-06, nan)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(values[0]) / np.float64(values[-1]))


def ratio_trend(value: float) -> str:
    """"vanishing" below ``1e-2``, "exploding" above ``1e2``, else "balanced" (finite ratios).

    Example:
      >>> ratio_trend(1e-5), ratio_trend(3.0), ratio_trend(1e5)
      ('vanishing', 'balanced', 'exploding')
    """
    return "vanishing" if value < 1e-2 else "exploding" if value > 1e2 else "balanced"
