"""``MLPConfig``, the frozen description of a deep fully connected network; its static and
traced parts (``Structure``, ``Traced``); and ``MLPParams``, the parameters it is filled with."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._activations import ACTIVATIONS, Activation
from ._clipping import CLIP_MODES
from ._initializers import INITIALIZERS
from ._losses import LOSSES, Loss
from ._normalization import NORMS
from ._validate import check_choice, check_float, check_int, check_positive

MAX_DEPTH = 2000
MAX_WIDTH = 8192
MAX_FEATURES = 100_000
DTYPES = ("float32", "float64")


class Structure(NamedTuple):
    """The static part of an ``MLPConfig``: array shapes, dtype and the registries' entries.

    The compiled functions take it as a static argument, so a change compiles anew. The
    registries enter as tuples of their entries, the branches that ``jax.lax.switch`` picks
    from with the traced indices ``Traced.activation`` and ``Traced.loss``: the choice itself
    compiles nothing, but an entry registered (or replaced) after a compilation makes a new
    tuple, so the next call compiles once more, with the new entry among the branches.
    """

    n_in: int
    width: int
    n_out: int
    max_depth: int
    dtype: str
    activations: tuple[Activation, ...]
    losses: tuple[Loss, ...]


class Traced(NamedTuple):
    """The traced values of one call: moving any of them compiles nothing new.

    ``MLPConfig.traced`` gives the config's own, as Python numbers: the choices
    ``activation``, ``initializer``, ``loss``, ``norm`` and ``clip`` as indices into
    ``ACTIVATIONS``, ``INITIALIZERS``, ``LOSSES`` (in registration order), ``NORMS`` and
    ``CLIP_MODES``; ``activation_param`` resolved (the activation's default for ``None``, 0 for
    an activation without a parameter). ``train`` and ``momentum`` are arguments of
    ``apply_mlp`` and ``probe``, not config fields: ``MLPConfig.traced`` holds their defaults
    and the call replaces them. At the boundary every field becomes an array of the config's
    dtype (int32 for ``depth``, ``residual_every`` and the choices, bool for ``train``) and the
    record goes into the compiled function as one argument. ``initializer``, ``weight_scale``
    and ``bias_scale`` are used only by ``init_mlp``'s draw.
    """

    depth: int
    activation: int
    initializer: int
    loss: int
    norm: int
    weight_scale: float
    bias_scale: float
    activation_param: float
    residual_every: int
    clip: int
    clip_threshold: float
    train: bool = True
    momentum: float = 0.1


class MLPParams(NamedTuple):
    """Parameters of an ``MLPConfig`` network, padded to ``max_depth`` hidden layers.

    Every field exists for every config, so that one pytree shape serves them all; ``slope``
    is used by PReLU only, ``norm_scale`` and ``norm_shift`` by ``norm != "none"`` only (their
    gradients are 0 otherwise).

    Attributes:
      w_first: ``(n_in, width)``, hidden layer 1.
      w_hidden: ``(max_depth - 1, width, width)``, hidden layers 2..max_depth.
      b_hidden: ``(max_depth, width)``, the biases of hidden layers 1..max_depth.
      w_out: ``(width, n_out)``.
      b_out: ``(n_out,)``.
      slope: ``(max_depth,)``, PReLU's learned slope ``a_l`` per hidden layer; starts at the
        config's resolved ``activation_param``.
      norm_scale: ``(max_depth, width)``, the normalization's ``gamma``; starts at 1.
      norm_shift: ``(max_depth, width)``, the normalization's ``beta``; starts at 0.
    """

    w_first: jax.Array
    w_hidden: jax.Array
    b_hidden: jax.Array
    w_out: jax.Array
    b_out: jax.Array
    slope: jax.Array
    norm_scale: jax.Array
    norm_shift: jax.Array


def dtype_of(structure: Structure):
    """The JAX dtype of a structure's arrays: ``jnp.float64`` or ``jnp.float32``."""
    return jnp.float64 if structure.dtype == "float64" else jnp.float32


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    """A deep MLP: ``n_in -> depth x [width, activation] -> n_out`` (linear output, then the loss).

    Hidden layer ``l`` computes ``z_l = a_{l-1} W_l + b_l``, normalizes it to ``u_l`` (``norm``;
    ``u_l = z_l`` for "none") and sets ``a_l = phi(u_l)``, plus ``a_{l-k}`` when a skip
    connection ends there: with ``k = residual_every > 0``, every layer ``l`` that is a multiple
    of ``k`` and ``l > k`` has ``a_l = phi(u_l) + a_{l-k}`` (the first block, layers ``1..k``,
    has none, since ``a_0 = x`` has ``n_in`` features, not ``width``; He et al. 2016).

    Hidden layers ``2..max_depth`` are stacked and run with ``jax.lax.scan``; layers past
    ``depth`` are skipped by a mask. The fields split in two, and this is the one place that
    says which:

    - static (``structure``, a ``Structure``, part of the compilation key: a change compiles
      anew): the shapes and the dtype, ``n_in``, ``width``, ``n_out``, ``max_depth``,
      ``dtype`` (and the batch size of each call);
    - traced (``traced``, a ``Traced``, passed as arrays: moving them compiles nothing new):
      ``depth`` (up to ``max_depth``), ``activation``, ``initializer``, ``loss``, ``norm``,
      ``clip`` (each an index into its registry, the branch ``jax.lax.switch`` takes),
      ``weight_scale``, ``bias_scale``, ``activation_param``, ``residual_every``,
      ``clip_threshold``; the same record carries the calls' ``train`` and ``momentum``.

    The compiled programs hold a branch for every entry of ``ACTIVATIONS`` and ``LOSSES``
    (``init_mlp``'s, of ``INITIALIZERS``) as it was at compilation: registering a new entry
    compiles each program once more on its next call, and never again after that.

    Attributes:
      n_in, width, n_out: layer sizes.
      depth: number of hidden layers, ``1 <= depth <= max_depth``.
      activation: a key of ``ACTIVATIONS``.
      initializer: a key of ``INITIALIZERS``.
      weight_scale, bias_scale: factors multiplying the initializer's draws (finite, >= 0).
      loss: a key of ``LOSSES``.
      max_depth: the largest depth this config's compiled code serves; defaults to ``depth``.
      dtype: "float32" or "float64".
      activation_param: the activation's parameter (``Activation.param``: leaky ReLU's slope,
        PReLU's *initial* slope, ELU's alpha, the lifted sigmoid's eps) in its valid range, or
        ``None`` for its default; must be ``None`` for an activation without one.
      norm: "none", "batch" (Ioffe & Szegedy 2015) or "layer" (Ba et al. 2016), on ``z_l``.
      residual_every: ``k``, a skip connection every ``k`` layers; 0 for none.
      clip: how ``probe`` clips the gradient for its ``clipped_*`` entries: "none", "value"
        (``optax.clip``) or "global_norm" (``optax.clip_by_global_norm``; Pascanu et al. 2013).
      clip_threshold: the clipping threshold, > 0.

    Example:
      >>> cfg = MLPConfig(n_in=64, depth=3, width=30, n_out=10, max_depth=8)
      >>> cfg.replace(depth=5).structure == cfg.structure
      True
    """

    n_in: int = 64
    depth: int = 3
    width: int = 30
    n_out: int = 10
    activation: str = "sigmoid"
    initializer: str = "normal_fan_in"
    weight_scale: float = 1.0
    bias_scale: float = 1.0
    loss: str = "cross_entropy"
    max_depth: int | None = None
    dtype: str = "float32"
    activation_param: float | None = None
    norm: str = "none"
    residual_every: int = 0
    clip: str = "none"
    clip_threshold: float = 1.0

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "n_in", check_int("n_in", self.n_in, 1, MAX_FEATURES))
        set_(self, "width", check_int("width", self.width, 1, MAX_WIDTH))
        set_(self, "n_out", check_int("n_out", self.n_out, 1, MAX_FEATURES))
        if self.max_depth is None:
            set_(self, "depth", check_int("depth", self.depth, 1, MAX_DEPTH))
            set_(self, "max_depth", self.depth)
        else:
            set_(self, "max_depth", check_int("max_depth", self.max_depth, 1, MAX_DEPTH))
            try:
                set_(self, "depth", check_int("depth", self.depth, 1, self.max_depth))
            except ValueError as error:
                raise ValueError(
                    f"{error} (max_depth is {self.max_depth}: raise it to go deeper)"
                ) from None
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("dtype", self.dtype, DTYPES)
        set_(self, "weight_scale", check_float("weight_scale", self.weight_scale, 0.0))
        set_(self, "bias_scale", check_float("bias_scale", self.bias_scale, 0.0))
        set_(self, "activation_param", _check_activation_param(self))
        check_choice("norm", self.norm, NORMS)
        set_(self, "residual_every", check_int("residual_every", self.residual_every, 0, MAX_DEPTH))
        check_choice("clip", self.clip, CLIP_MODES)
        set_(self, "clip_threshold", check_positive("clip_threshold", self.clip_threshold))

    @property
    def structure(self) -> Structure:
        """The static (compilation-key) part of the config: shapes, dtype, and the activation
        and loss registries' entries as they are now."""
        return Structure(
            self.n_in,
            self.width,
            self.n_out,
            self.max_depth,
            self.dtype,
            tuple(ACTIVATIONS.values()),
            tuple(LOSSES.values()),
        )

    @property
    def traced(self) -> Traced:
        """The traced (compile-free) part of the config, choices as registry indices,
        ``activation_param`` resolved and ``train``, ``momentum`` at their defaults."""
        param = ACTIVATIONS[self.activation].param
        if self.activation_param is not None:
            value = self.activation_param
        else:
            value = 0.0 if param is None else param.default
        return Traced(
            depth=self.depth,
            activation=list(ACTIVATIONS).index(self.activation),
            initializer=list(INITIALIZERS).index(self.initializer),
            loss=list(LOSSES).index(self.loss),
            norm=NORMS.index(self.norm),
            weight_scale=self.weight_scale,
            bias_scale=self.bias_scale,
            activation_param=value,
            residual_every=self.residual_every,
            clip=CLIP_MODES.index(self.clip),
            clip_threshold=self.clip_threshold,
        )

    def replace(self, **changes) -> MLPConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)


def _check_activation_param(config: MLPConfig) -> float | None:
    value = config.activation_param
    if value is None:
        return None
    param = ACTIVATIONS[config.activation].param
    if param is None:
        raise ValueError(
            f"activation_param must be None for activation {config.activation!r}, which has no "
            f"parameter; got {value!r}. Activations with one: "
            f"{', '.join(repr(n) for n, a in ACTIVATIONS.items() if a.param is not None)}."
        )
    try:
        return check_float("activation_param", value, param.low, param.high)
    except ValueError as error:
        raise ValueError(f"{error} ({param.label} of {config.activation})") from None
