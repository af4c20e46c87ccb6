"""What ``train`` takes and gives: ``TrainConfig``, ``TrainData``, ``TrainResult``, the optimizer.

``TrainConfig`` says which of its fields are static (a change compiles anew) and which are
traced; ``make_optimizer`` builds the optax transformation ``train`` steps with (clipping by
value, by global norm, then SGD, momentum or Adam, its numbers in the optimizer's state);
``check_data`` checks a training and test set against a network before anything is traced.

References:
  Kingma & Ba, ICLR 2015 (Adam). Pascanu, Mikolov, Bengio, ICML 2013 (clipping).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._config import MLPConfig, MLPParams
from ._validate import check_array, check_choice, check_float, check_int

OPTIMIZERS = ("sgd", "momentum", "adam")
MAX_STEPS = 1_000_000
MAX_BINS = 256


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How ``train`` trains and what it records; the network and its clipping are an ``MLPConfig``.

    The fields split in two, and this is the one place that says which:

    - static (a change compiles anew, once): ``optimizer`` (the optimizer state's shape),
      ``batch_size`` and ``bins`` (array shapes);
    - traced (a change compiles nothing): ``learning_rate``, ``momentum``, ``steps``,
      ``record_every``, ``saturation``, ``act_range``, ``grad_range``, and the ``MLPConfig``'s
      ``clip`` and ``clip_threshold``.

    Attributes:
      optimizer: "sgd", "momentum" (SGD with heavy-ball momentum) or "adam" (optax's).
      learning_rate: ``> 0`` and at most 1e4.
      momentum: the momentum of "momentum", in ``[0, 1)`` (Adam keeps optax's 0.9, 0.999).
      steps: optimizer steps, ``1..1e6``, a multiple of ``record_every``.
      record_every: ``k``, steps between records.
      batch_size: examples per step, at most the training set's size.
      bins: histogram bins, ``2..256``.
      saturation: a unit counts as saturated on an example where
        ``|phi'(u)| <= saturation * sup |phi'|``; at the default 0.06 that is ``|tanh u| > 0.97``
        and a sigmoid within 0.015 of 0 or 1.
      act_range: activations are counted in ``bins`` equal bins over
        ``[-act_range, act_range]``; values outside go into the end bins.
      grad_range: ``(low, high)``, the same for ``log10 |dC/dW_l|`` (zeros go in the first bin).
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    steps: int = 500
    record_every: int = 10
    batch_size: int = 64
    bins: int = 40
    saturation: float = 0.06
    act_range: float = 4.0
    grad_range: tuple = (-10.0, 0.0)

    def __post_init__(self):
        set_ = object.__setattr__
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        set_(self, "learning_rate", check_float("learning_rate", self.learning_rate, 0.0, 1e4))
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be a number > 0; got {self.learning_rate!r}.")
        set_(self, "momentum", check_float("momentum", self.momentum, 0.0, 0.999))
        set_(self, "steps", check_int("steps", self.steps, 1, MAX_STEPS))
        set_(self, "record_every", check_int("record_every", self.record_every, 1, self.steps))
        if self.steps % self.record_every:
            nearest = max(self.steps // self.record_every, 1) * self.record_every
            raise ValueError(
                f"steps must be a multiple of record_every={self.record_every}; got "
                f"steps={self.steps}. Try steps={nearest}."
            )
        set_(self, "batch_size", check_int("batch_size", self.batch_size, 1, 1_000_000))
        set_(self, "bins", check_int("bins", self.bins, 2, MAX_BINS))
        set_(self, "saturation", check_float("saturation", self.saturation, 0.0, 1.0))
        set_(self, "act_range", check_float("act_range", self.act_range, 1e-6, 1e6))
        grad_range = self.grad_range
        if not isinstance(grad_range, (tuple, list)) or len(grad_range) != 2:
            raise ValueError(f"grad_range must be a pair (low, high); got {grad_range!r}.")
        low = check_float("grad_range[0]", grad_range[0], -300.0, 300.0)
        high = check_float("grad_range[1]", grad_range[1], -300.0, 300.0)
        if not low < high:
            raise ValueError(f"grad_range must have low < high; got {grad_range!r}.")
        set_(self, "grad_range", (low, high))

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)


class TrainData(NamedTuple):
    """A fixed training and test set: ``x`` of shape ``(n, n_in)``, integer ``labels`` ``(n,)``."""

    x_train: np.ndarray
    labels_train: np.ndarray
    x_test: np.ndarray
    labels_test: np.ndarray


class TrainResult(NamedTuple):
    """What ``train`` records. ``R`` = number of records, ``L`` = ``max_depth``.

    Per-layer entries past ``depth`` are 0; ``trim()`` cuts them off, and the records not yet
    taken (of a run still going, from ``train_chunks``). Divergence is a result: inf and NaN
    show as themselves.

    Attributes:
      step: ``(R,)``, the steps ``s`` taken before each record.
      train_loss, train_acc, test_loss, test_acc: ``(R,)``, of ``theta_s`` on the whole
        training and test sets (batch normalization in evaluation mode).
      batch_loss: ``(R,)``, the cost on the batch ``B_s``.
      grad_w_norm, grad_b_norm: ``(R, L)``, ``||dC/dW_l||_F`` and ``||dC/db_l||`` on ``B_s``.
      update_ratio: ``(R, L)``, ``||Delta W_l|| / ||W_l||`` of step ``s + 1``.
      act_mean, act_std: ``(R, L)``, of ``a_l`` over the batch's examples and the units.
      saturated_frac: ``(R, L)``, of (example, unit) pairs (``TrainConfig.saturation``).
      dead_frac: ``(R, L)``, of units whose ``phi'(u_l)`` is 0 on every example of the batch
        (ReLU: pre-activation ``u_l <= 0`` on the whole batch). Their weights need not be small.
      act_hist: ``(R, L, bins)`` counts of ``a_l`` (``act_edges``); NaNs are not counted.
      grad_hist: ``(R, L, bins)`` counts of ``log10 |dC/dW_l|`` entries (``grad_edges``).
      act_edges, grad_edges: ``(bins + 1,)``.
      first_nonfinite: ``()``, the first step (1-based) whose batch cost, gradient or new
        parameters held an inf or NaN; -1 if none.
      active: ``(L,)``, ``l < depth``.
      recorded: ``(R,)``, whether each record has been taken.
      params: the parameters after the last step taken.
    """

    step: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    batch_loss: np.ndarray
    grad_w_norm: np.ndarray
    grad_b_norm: np.ndarray
    update_ratio: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    saturated_frac: np.ndarray
    dead_frac: np.ndarray
    act_hist: np.ndarray
    grad_hist: np.ndarray
    act_edges: np.ndarray
    grad_edges: np.ndarray
    first_nonfinite: np.ndarray
    active: np.ndarray
    recorded: np.ndarray
    params: MLPParams

    def trim(self) -> TrainResult:
        """Per-layer entries cut to the active layers, records to those taken."""
        depth, n = int(np.sum(self.active)), int(np.sum(self.recorded))
        fields = {}
        for name, value in zip(self._fields, self):
            if name in _PER_RECORD_LAYER:
                value = value[:n, :depth]
            elif name in ("step", "recorded") or name in _PER_RECORD:
                value = value[:n]
            elif name == "active":
                value = value[:depth]
            fields[name] = value
        return TrainResult(**fields)


_PER_RECORD = ("train_loss", "train_acc", "test_loss", "test_acc", "batch_loss")
_PER_RECORD_LAYER = (
    "grad_w_norm", "grad_b_norm", "update_ratio", "act_mean", "act_std", "saturated_frac",
    "dead_frac", "act_hist", "grad_hist",
)  # fmt: skip


def _optimizer_factory(learning_rate, momentum, clip_value, clip_norm, kind):
    """``optax.chain(clip, clip_by_global_norm, optimizer)``; an inf threshold clips nothing.

    ``kind`` is an optimizer's name, or ``(name, by_value, by_norm)``, where a False flag puts
    ``optax.identity()`` in that clip's place (the same state, one pass over the gradients
    fewer): a specialized run (``Fixed``) knows which clipping it uses."""
    name, by_value, by_norm = (kind, True, True) if isinstance(kind, str) else kind
    if name == "sgd":
        base = optax.sgd(learning_rate)
    elif name == "momentum":
        base = optax.sgd(learning_rate, momentum=momentum)
    else:
        base = optax.adam(learning_rate)
    return optax.chain(
        optax.clip(clip_value) if by_value else optax.identity(),
        _clip_by_global_norm(clip_norm) if by_norm else optax.identity(),
        base,
    )


def _clip_by_global_norm(max_norm) -> optax.GradientTransformation:
    """``optax.clip_by_global_norm(max_norm)``, except that an infinite ``max_norm`` passes the
    updates through unchanged.

    optax scales by ``max_norm / ||g||`` where ``||g|| >= max_norm``. In float32 the norm
    overflows to inf once an element of ``g`` passes about 1.8e19 (its square passes 3.4e38),
    although ``g`` is finite; with ``max_norm = inf`` (no clipping: the traced program always
    holds this clip) optax's ``g / inf * inf`` then makes every update NaN, a divergence that
    did not happen. A finite ``max_norm`` keeps optax's behaviour exactly."""
    inner = optax.clip_by_global_norm(max_norm)

    def update(updates, state, params=None):
        clipped, state = inner.update(updates, state, params)
        unclipped = jnp.isposinf(max_norm)
        kept = jax.tree_util.tree_map(lambda c, u: jnp.where(unclipped, u, c), clipped, updates)
        return kept, state

    return optax.GradientTransformation(inner.init, update)


def make_optimizer(
    kind: str, learning_rate, momentum=0.9, clip_value=np.inf, clip_norm=np.inf
) -> optax.GradientTransformation:
    """The optax transformation ``train`` uses: clipping by value, by global norm, then ``kind``.

    ``optax.chain(optax.clip(clip_value), optax.clip_by_global_norm(clip_norm), opt)``, wrapped
    in ``optax.inject_hyperparams``, which keeps the four numbers in the optimizer's state
    (so that a new value compiles nothing); an infinite threshold clips nothing (even where
    the global norm of finite gradients overflows, which turns optax's own clip into NaN).

    Args:
      kind: one of ``OPTIMIZERS``.
      learning_rate, momentum, clip_value, clip_norm: numbers, or traced scalars.

    Returns:
      An ``optax.GradientTransformation``.

    Example:
      >>> import jax.numpy as jnp
      >>> opt = make_optimizer("sgd", learning_rate=0.1)
      >>> round(float(opt.update(jnp.ones(1), opt.init(jnp.zeros(1)))[0][0]), 6)
      -0.1
    """
    check_choice("optimizer", kind, OPTIMIZERS)
    return _optimizer(kind, learning_rate, momentum, clip_value, clip_norm)


def _optimizer(kind, learning_rate, momentum, clip_value, clip_norm):
    """``make_optimizer`` unchecked; ``kind`` may also be ``_optimizer_factory``'s tuple."""
    return optax.inject_hyperparams(_optimizer_factory, static_args="kind")(
        learning_rate, momentum, clip_value, clip_norm, kind
    )


def check_data(config: MLPConfig, train_config: TrainConfig, data) -> TrainData:
    if not isinstance(data, TrainData) and not (isinstance(data, tuple) and len(data) == 4):
        raise TypeError(
            f"data must be a TrainData (x_train, labels_train, x_test, labels_test), such as "
            f"vgwidgets.experiments.digits_split(); got {type(data).__name__}."
        )
    names = TrainData._fields
    checked = []
    for i in (0, 2):
        x = check_array(names[i], data[i], ndim=2)
        if x.shape[1] != config.n_in or x.shape[0] < 1:
            raise ValueError(
                f"{names[i]} must have shape (n >= 1, n_in={config.n_in}); got {x.shape}."
            )
        labels = check_array(names[i + 1], data[i + 1], ndim=1)
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"{names[i + 1]} must hold integer class labels; got dtype {labels.dtype}."
            )
        if labels.shape[0] != x.shape[0]:
            raise ValueError(
                f"{names[i + 1]} must have one label per row of {names[i]} ({x.shape[0]}); "
                f"got {labels.shape[0]}."
            )
        if labels.min() < 0 or labels.max() >= config.n_out:
            raise ValueError(
                f"{names[i + 1]} must be class labels in [0, n_out - 1 = {config.n_out - 1}]; "
                f"got values from {labels.min()} to {labels.max()}."
            )
        checked += [x, labels.astype(np.int32)]
    if train_config.batch_size > checked[0].shape[0]:
        raise ValueError(
            f"batch_size must be at most the training set's size {checked[0].shape[0]}; got "
            f"{train_config.batch_size}."
        )
    if config.norm == "batch" and train_config.batch_size < 2:
        raise ValueError(
            f"batch_size must be at least 2 for batch normalization; got {train_config.batch_size}."
        )
    return TrainData(*checked)
