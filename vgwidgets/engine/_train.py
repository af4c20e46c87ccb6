"""Training an ``MLPConfig`` network with optax, jit-compiled, with a record every ``k`` steps.

Step ``s + 1`` takes the parameters ``theta_s`` after ``s`` steps and the minibatch ``B_s``,

    g_s = dC_{B_s}/dtheta (theta_s),   (u_s, opt_{s+1}) = T(clip(g_s), opt_s),
    theta_{s+1} = theta_s + u_s,

with ``T`` optax's SGD, SGD with momentum or Adam and ``clip`` the config's clipping
(``optax.clip`` or ``optax.clip_by_global_norm``, composed with ``optax.chain``). Minibatches
are epochs of a shuffled training set: step ``s`` (0-based) of epoch ``e = s // (n // B)``
takes the examples ``perm_e[j B : (j + 1) B]``, ``j = s mod (n // B)``, with
``perm_e = jax.random.permutation(jax.random.fold_in(data_key, e), n)``.

The record at step ``s`` (every ``k`` steps, ``s = 0, k, ..., steps``) holds the training and
test loss and accuracy of ``theta_s``, and what step ``s + 1`` sees and does: per hidden layer
``||dC/dW_l||_F`` and ``||dC/db_l||`` (Nielsen's speed of learning), the update-to-data ratio
``||u_{s,l}|| / ||W_l||`` of the weights (Karpathy), the mean and standard deviation of
``a_l``, the saturated and dead fractions and fixed-bin histograms of ``a_l`` and of
``log10 |dC/dW_l|``, all on the batch ``B_s``. (The record at ``s = steps`` is measured on
``B_steps`` without taking the step.)

Two programs are compiled per network structure and optimizer: one instrumented step (the
record), one plain run of ``n`` steps under ``lax.fori_loop``, whose trip count is traced (a
``lax.scan`` needs a static length, which would compile anew for every number of steps). The
learning rate sits in the optimizer's state (``optax.inject_hyperparams``), so changing it, the
momentum, the clipping, the number of steps or the recording interval compiles nothing new.

References:
  Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015). Glorot & Bengio, AISTATS 2010.
  He, Zhang, Ren, Sun, ICCV 2015. Karpathy, "Building makemore part 3" (2022). Kingma & Ba,
  ICLR 2015 (Adam). Pascanu, Mikolov, Bengio, ICML 2013 (clipping).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Iterator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._boundary import INIT_ONLY, Fixed, check_config, check_key, check_params, to_arrays
from ._clipping import CLIP_MODES
from ._compat import x64_context
from ._config import MLPConfig, MLPParams, Structure, Traced, dtype_of
from ._losses import Loss
from ._mlp import _per_layer_norms
from ._network import scan_layers
from ._normalization import NormState
from ._params import init_mlp
from ._switch import chosen
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


class _Hyper(NamedTuple):
    """The traced numbers of a run, as arrays."""

    learning_rate: jax.Array
    momentum: jax.Array
    clip_value: jax.Array  # inf unless clip == "value"
    clip_norm: jax.Array  # inf unless clip == "global_norm"
    saturation: jax.Array
    act_range: jax.Array
    grad_low: jax.Array
    grad_high: jax.Array


class _Carry(NamedTuple):
    params: MLPParams
    opt_state: optax.OptState
    norm_state: NormState
    step: jax.Array  # int32, steps taken
    first_bad: jax.Array  # int32, -1 or the first non-finite step
    data_key: jax.Array
    perm: jax.Array  # (n,) int32, the current epoch's order of the training set


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
        optax.clip_by_global_norm(clip_norm) if by_norm else optax.identity(),
        base,
    )


def make_optimizer(
    kind: str, learning_rate, momentum=0.9, clip_value=np.inf, clip_norm=np.inf
) -> optax.GradientTransformation:
    """The optax transformation ``train`` uses: clipping by value, by global norm, then ``kind``.

    ``optax.chain(optax.clip(clip_value), optax.clip_by_global_norm(clip_norm), opt)``, wrapped
    in ``optax.inject_hyperparams``, which keeps the four numbers in the optimizer's state
    (so that a new value compiles nothing); an infinite threshold clips nothing.

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


class _Layers(NamedTuple):
    """What the forward pass keeps of each hidden layer, stacked: ``(max_depth, ...)``."""

    a: jax.Array
    slope: jax.Array  # phi'(u), no gradient
    bound: jax.Array  # sup |phi'|, (max_depth,)


def _keep(layer: dict, p) -> _Layers:
    return _Layers(layer["a"], layer["slope"], layer["bound"])


def _loss(loss: Loss, logits, y):
    return loss.fn(logits, y)


def _forward(structure: Structure, params, x, traced: Traced, state, train):
    """The one call of the engine's forward pass in this module."""
    return scan_layers(structure, params, x, traced._replace(train=train), state, emit=_keep)


def _cost(structure, params, x, labels, traced, state, train):
    logits, layers, active, norm_state = _forward(structure, params, x, traced, state, train)
    y = jax.nn.one_hot(labels, structure.n_out, dtype=logits.dtype)
    cost = jnp.mean(chosen(structure.losses, traced.loss, _loss, logits, y))
    return cost, (logits, layers, active, norm_state)


def _batch(carry: _Carry, n: int, batch_size: int):
    """The indices of step ``carry.step``'s minibatch (module docstring), and the epoch's order.

    The permutation is drawn at the first step of each epoch and carried to the next steps
    (drawing it every step cost about a third of a step of a 30 x 128 network)."""
    per_epoch = n // batch_size
    epoch, j = carry.step // per_epoch, carry.step % per_epoch
    perm = jax.lax.cond(
        j == 0,
        lambda: jax.random.permutation(jax.random.fold_in(carry.data_key, epoch), n).astype(
            jnp.int32
        ),
        lambda: carry.perm,
    )
    return jax.lax.dynamic_slice(perm, (j * batch_size,), (batch_size,)), perm


def _all_finite(tree) -> jax.Array:
    return functools.reduce(
        jnp.logical_and, [jnp.all(jnp.isfinite(v)) for v in jax.tree_util.tree_leaves(tree)]
    )


def _step(structure, opt, traced, x, labels, batch_size, carry: _Carry, apply=True):
    """One optimizer step on the carry's batch: ``(new carry, loss, grads, updates, output)``."""
    idx, perm = _batch(carry, x.shape[0], batch_size)
    (loss, out), grads = jax.value_and_grad(_cost, argnums=1, has_aux=True)(
        structure, carry.params, x[idx], labels[idx], traced, carry.norm_state, True
    )
    updates, opt_state = opt.update(grads, carry.opt_state, carry.params)
    params = optax.apply_updates(carry.params, updates)
    ok = jnp.isfinite(loss) & _all_finite(grads) & _all_finite(params)
    first_bad = jnp.where((carry.first_bad < 0) & ~ok & apply, carry.step + 1, carry.first_bad)
    new = _Carry(params, opt_state, out[3], carry.step + 1, first_bad, carry.data_key, perm)
    new = jax.tree_util.tree_map(lambda n, o: jnp.where(apply, n, o), new, carry)
    return new, loss, grads, updates, out


def _hist(values, low, high, bins):
    """Counts of ``values`` in ``bins`` equal bins over ``[low, high]``, ends open; NaN skipped."""
    pos = jnp.clip((values - low) / (high - low) * bins, 0, bins - 1)
    keep = ~jnp.isnan(values)
    idx = jnp.where(keep, pos, 0).astype(jnp.int32).ravel()
    return jnp.bincount(idx, weights=keep.ravel().astype(jnp.float32), length=bins)


def _eval(structure, params, x, labels, traced, state):
    loss, out = _cost(structure, params, x, labels, traced, state, False)
    return loss, jnp.mean(jnp.argmax(out[0], axis=-1) == labels)


@functools.partial(jax.jit, static_argnames=("structure", "kind"))
def _start(structure, kind, params, traced, state, hyper: _Hyper, key, labels) -> _Carry:
    opt = make_optimizer(kind, *hyper[:4])
    zero = jnp.zeros((), jnp.int32)
    data_key, order = jax.random.fold_in(key, 1), jnp.zeros(labels.shape, jnp.int32)  # step 0 draws
    return _Carry(params, opt.init(params), state, zero, zero - 1, data_key, order)


def _advance_steps(structure, kind, batch_size, traced, hyper, x, labels, carry: _Carry, n_steps):
    """``n_steps`` (traced) plain steps; ``traced`` is arrays, or a static ``Fixed`` (then the
    clipping the run does not use is left out: ``optax.identity()`` in its place)."""
    if isinstance(traced, Fixed):
        traced = traced.arrays()
        mode = CLIP_MODES[int(traced.clip)]
        kind = (kind, mode == "value", mode == "global_norm")
    opt = _optimizer(kind, *hyper[:4])

    def body(_, c):
        return _step(structure, opt, traced, x, labels, batch_size, c)[0]

    return jax.lax.fori_loop(0, n_steps, body, carry)


_advance = jax.jit(_advance_steps, static_argnames=("structure", "kind", "batch_size"))
_advance_fixed = jax.jit(
    _advance_steps, static_argnames=("structure", "kind", "batch_size", "traced")
)


@functools.partial(jax.jit, static_argnames=("structure", "kind", "batch_size", "bins"))
def _record(structure, kind, batch_size, bins, traced, hyper, data, carry: _Carry, apply):
    """The record at ``carry.step`` and the step from it (taken if ``apply``)."""
    x, labels, x_test, labels_test = data
    opt = make_optimizer(kind, *hyper[:4])
    params = carry.params
    new, loss, grads, updates, out = _step(
        structure, opt, traced, x, labels, batch_size, carry, apply
    )
    train_loss, train_acc = _eval(structure, params, x, labels, traced, carry.norm_state)
    test_loss, test_acc = _eval(structure, params, x_test, labels_test, traced, carry.norm_state)
    grad_b, grad_w = _per_layer_norms(grads)
    _, update_w = _per_layer_norms(updates)
    _, param_w = _per_layer_norms(params)
    ratio = update_w / param_w
    _, layers, active, _ = out
    a = jax.lax.stop_gradient(layers.a)

    def layer_stats(a_l, slope_l, bound_l):
        slope = jnp.abs(slope_l)
        return (
            jnp.mean(a_l),
            jnp.std(a_l),
            jnp.mean(slope <= hyper.saturation * bound_l).astype(a_l.dtype),
            jnp.mean(jnp.all(slope == 0, axis=0)).astype(a_l.dtype),
            _hist(a_l, -hyper.act_range, hyper.act_range, bins),
        )

    mean, std, saturated, dead, act_hist = jax.vmap(layer_stats)(a, layers.slope, layers.bound)

    def log_hist(g):
        return _hist(jnp.log10(jnp.abs(g)), hyper.grad_low, hyper.grad_high, bins)

    grad_hist = jnp.concatenate([log_hist(grads.w_first)[None], jax.vmap(log_hist)(grads.w_hidden)])
    per_layer = [
        jnp.where(active if v.ndim == 1 else active[:, None], v, jnp.zeros_like(v))
        for v in (grad_w, grad_b, ratio, mean, std, saturated, dead, act_hist, grad_hist)
    ]
    scalars = (carry.step, train_loss, train_acc, test_loss, test_acc, loss)
    return new, scalars, per_layer


class _Run(NamedTuple):
    """Everything a run's compiled calls take, checked and converted once."""

    structure: Structure
    kind: str
    batch_size: int
    bins: int
    traced: Traced
    hyper: _Hyper
    data: tuple
    n_records: int
    record_every: int
    dtype: str


def _check_data(config: MLPConfig, train_config: TrainConfig, data) -> TrainData:
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


def _prepare(config, train_config, data, key, params):
    check_config(config)
    if not isinstance(train_config, TrainConfig):
        raise TypeError(f"train_config must be a TrainConfig; got {type(train_config).__name__}.")
    check_key(key)
    data = _check_data(config, train_config, data)
    if params is None:
        params = init_mlp(config, key=jax.random.fold_in(key, 0))
    else:
        check_params(config.structure, params)
    structure, tc = config.structure, train_config
    inf = float("inf")
    with x64_context(config.dtype):
        params, x, traced, state = to_arrays(
            structure, params, data.x_train, config.traced, None
        )
        dtype = dtype_of(structure)
        hyper = _Hyper(
            *(jnp.asarray(v, dtype) for v in (
                tc.learning_rate, tc.momentum,
                config.clip_threshold if config.clip == "value" else inf,
                config.clip_threshold if config.clip == "global_norm" else inf,
                tc.saturation, tc.act_range, *tc.grad_range,
            ))
        )  # fmt: skip
        arrays = (
            x, jnp.asarray(data.labels_train), jnp.asarray(data.x_test, dtype),
            jnp.asarray(data.labels_test),
        )  # fmt: skip
        carry = _start(structure, tc.optimizer, params, traced, state, hyper, key, arrays[1])
    run = _Run(
        structure, tc.optimizer, tc.batch_size, tc.bins, traced, hyper, arrays,
        tc.steps // tc.record_every + 1, tc.record_every, config.dtype,
    )  # fmt: skip
    return run, carry


def _assemble(run: _Run, records: list, carry: _Carry, config: TrainConfig) -> TrainResult:
    """The records so far, padded to the run's length, as one ``TrainResult`` of NumPy arrays."""
    n_layers = run.structure.max_depth
    total, n = run.n_records, len(records)
    scalars = np.zeros((6, total))
    per_layer = [np.zeros((total, n_layers)) for _ in range(7)]
    per_layer += [np.zeros((total, n_layers, run.bins)) for _ in range(2)]
    for r, (s, layers) in enumerate(records):
        scalars[:, r] = s
        for array, value in zip(per_layer, layers):
            array[r] = value
    step = np.arange(total) * run.record_every
    low, high = config.grad_range
    return TrainResult(
        step, *scalars[1:], *per_layer,
        np.linspace(-config.act_range, config.act_range, run.bins + 1),
        np.linspace(low, high, run.bins + 1),
        np.asarray(carry.first_bad), np.arange(n_layers) < int(run.traced.depth),
        np.arange(total) < n, MLPParams(*(np.asarray(v) for v in carry.params)),
    )  # fmt: skip


def train_chunks(
    config: MLPConfig,
    train_config: TrainConfig,
    data,
    *,
    key: jax.Array,
    params: MLPParams | None = None,
    chunk_seconds: float | None = 0.25,
    specialize: bool = False,
) -> Iterator[TrainResult]:
    """``train``, yielding the records so far after every chunk of about ``chunk_seconds``.

    For a user interface that must stay responsive: between two yields the caller's thread
    is busy for about ``chunk_seconds`` (more only if one step takes longer). The chunk's
    number of steps is adapted to the measured time per step, and compiles nothing new.

    Args:
      config, train_config, data, key, params: as ``train``.
      chunk_seconds: the time between yields, ``0..60`` (0: after every record); ``None``
        yields once, at the end.
      specialize: as ``train``'s.

    Yields:
      ``TrainResult``s, ``recorded`` growing; the last one is ``train``'s result.

    Example:
      >>> from vgwidgets.experiments import digits_split
      >>> cfg = MLPConfig(depth=2, width=8, loss="softmax_cross_entropy")
      >>> tc = TrainConfig(steps=20, record_every=10, batch_size=16)
      >>> runs = list(train_chunks(cfg, tc, digits_split(), key=jax.random.key(0),
      ...                          chunk_seconds=0))
      >>> int(runs[-1].recorded.sum())
      3
    """
    if chunk_seconds is not None:
        chunk_seconds = check_float("chunk_seconds", chunk_seconds, 0.0, 60.0)
    if not isinstance(specialize, bool):
        raise TypeError(f"specialize must be True or False; got {specialize!r}.")
    run, carry = _prepare(config, train_config, data, key, params)
    advance, traced = (
        (_advance_fixed, Fixed(run.traced, unused=INIT_ONLY + ("clip_threshold",)))
        if specialize else (_advance, run.traced)
    )  # fmt: skip
    records, k = [], run.record_every
    chunk_steps, started = max(1, k - 1), time.perf_counter()
    statics = (run.structure, run.kind, run.batch_size)
    with x64_context(run.dtype):
        for r in range(run.n_records):
            last = r == run.n_records - 1
            carry, scalars, layers = _record(
                *statics, run.bins, run.traced, run.hyper, run.data, carry, not last
            )
            records.append((scalars, layers))
            left = 0 if last else k - 1
            while left:
                n = min(left, chunk_steps)
                t0 = time.perf_counter()
                carry = advance(*statics, traced, run.hyper, *run.data[:2], carry, n)
                left -= n
                if chunk_seconds is not None:
                    jax.block_until_ready(carry.step)
                    per_step = (time.perf_counter() - t0) / n
                    chunk_steps = max(1, int(0.8 * max(chunk_seconds, 0.01) / max(per_step, 1e-9)))
            if chunk_seconds is not None and (
                time.perf_counter() - started >= chunk_seconds and not last
            ):
                yield _assemble(run, jax.device_get(records), carry, train_config)
                started = time.perf_counter()
        yield _assemble(run, jax.device_get(records), carry, train_config)


def train(
    config: MLPConfig,
    train_config: TrainConfig,
    data,
    *,
    key: jax.Array,
    params: MLPParams | None = None,
    specialize: bool = False,
) -> TrainResult:
    """Train ``config``'s network on ``data`` with optax, recording every ``k`` steps.

    Steps run inside two compiled programs (module docstring): the learning rate, momentum,
    clipping, steps, recording interval, thresholds and ranges are traced, so changing them
    compiles nothing new; a new structure, optimizer, batch size or number of bins does.
    Deterministic given ``key`` (``fold_in(key, 0)`` draws the parameters, ``fold_in(key, 1)``
    the minibatches). Arguments are checked before anything is traced.

    Args:
      config: the network, and its gradient clipping (``clip``, ``clip_threshold``).
      train_config: a ``TrainConfig``.
      data: a ``TrainData``; labels are integers in ``[0, n_out)``.
      key: a ``jax.random`` key.
      params: starting parameters (``MLPParams`` of ``config``'s shapes), or ``None`` to draw
        them with ``init_mlp(config, key=jax.random.fold_in(key, 0))``.
      specialize: compile the network's choices into the steps' program (activation and its
        parameter, normalization, depth, skips, clipping mode): XLA then folds what they
        decide, and a step of a 30 x 128 network takes about a quarter less time (BENCHMARKS.md,
        section 7), but each new combination of them compiles once more (seconds). For long
        runs of one network; the explorer keeps them traced. The records' program stays traced.

    Example:
      >>> from vgwidgets.experiments import digits_split
      >>> cfg = MLPConfig(depth=2, width=8, loss="softmax_cross_entropy")
      >>> tc = TrainConfig(steps=100, record_every=50, learning_rate=0.05, batch_size=16)
      >>> r = train(cfg, tc, digits_split(), key=jax.random.key(0)).trim()
      >>> r.step.tolist(), bool(r.test_acc[-1] > 0.5 > r.test_acc[0]), r.grad_w_norm.shape
      ([0, 50, 100], True, (3, 2))

    References:
      Nielsen (2015), ch. 5; Karpathy, makemore part 3 (2022); optax.
    """
    result = None
    for result in train_chunks(config, train_config, data, key=key, params=params,
                               chunk_seconds=None, specialize=specialize):  # fmt: skip
        pass
    return result
