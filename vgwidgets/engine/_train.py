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
With ``specialize=True`` the plain run's program has the network's choices compiled in
(``Fixed``): one more program per network, each step cheaper. On the CPU the plain runs'
programs leave YNNPACK out (``_compat.small_matrix_jit``). What ``train`` takes and returns is
defined in ``_train_config``.

References:
  Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015). Glorot & Bengio, AISTATS 2010.
  He, Zhang, Ren, Sun, ICCV 2015. Karpathy, "Building makemore part 3" (2022). Kingma & Ba,
  ICLR 2015 (Adam). Pascanu, Mikolov, Bengio, ICML 2013 (clipping).
"""

from __future__ import annotations

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
from ._compat import small_matrix_jit, x64_context
from ._config import MLPConfig, MLPParams, Structure, Traced, dtype_of
from ._losses import Loss
from ._mlp import _per_layer_norms
from ._network import LIVE_MIN_LAYERS, scan_layers
from ._normalization import NormState
from ._params import init_mlp
from ._switch import chosen
from ._train_config import TrainConfig, TrainResult, _optimizer, check_data, make_optimizer
from ._validate import check_float
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


def _step(structure, opt, traced, x, labels, batch_size, carry: _Carry, apply=True,
          checks=("grads", "params")):  # fmt: skip
    """One optimizer step on the carry's batch: ``(new carry, loss, grads, updates, output)``.

    ``first_bad`` takes the step if its loss, or one of ``checks`` (its gradients, the new
    parameters), is not finite."""
    idx, perm = _batch(carry, x.shape[0], batch_size)
    (loss, out), grads = jax.value_and_grad(_cost, argnums=1, has_aux=True)(
        structure, carry.params, x[idx], labels[idx], traced, carry.norm_state, True
    )
    updates, opt_state = opt.update(grads, carry.opt_state, carry.params)
    params = optax.apply_updates(carry.params, updates)
    ok = jnp.isfinite(loss)
    if "grads" in checks:
        ok = ok & _all_finite(grads)
    if "params" in checks:
        ok = ok & _all_finite(params)
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


def _advance_steps(structure, kind, batch_size, traced, hyper, x, labels, carry: _Carry, n_steps,
                   exact=True):  # fmt: skip
    """``n_steps`` (traced) plain steps; ``traced`` is arrays, or a static ``Fixed`` (then the
    clipping the run does not use is left out: ``optax.identity()`` in its place).

    With ``exact=False`` (a ``Fixed`` run) the steps check only their loss (and their gradients
    when clipping by value), and the call returns ``(carry, suspect)``: ``suspect`` is true when
    no earlier step was non-finite and the parameters or the optimizer's state are not finite
    after the last step. Any non-finite gradient or parameter leaves such a trace: non-finite
    parameters stay so (``inf + u`` and ``NaN + u`` are not finite), and a non-finite gradient
    makes the update or the optimizer's moments non-finite, and these stay so (SGD, momentum and
    Adam; clipping by global norm turns it into NaN), all but clipping by value (``inf`` clipped
    to the threshold), whose gradients are therefore checked at every step. A suspect run is
    run again with ``exact=True`` (``_advance_checked``) to find the step; otherwise its
    ``first_bad`` is what the exact run gives. The per-step checks cost a pass over the
    parameters and one over the gradients every step, one reduction per array.
    """
    unstack, checks = False, ("grads", "params")
    if isinstance(traced, Fixed):
        traced = traced.arrays()
        mode = CLIP_MODES[int(traced.clip)]
        kind = (kind, mode == "value", mode == "global_norm")
        unstack = structure.max_depth < LIVE_MIN_LAYERS
        if not exact:
            checks = ("grads",) if mode == "value" else ()
    opt = _optimizer(kind, *hyper[:4])

    def body(_, c):
        return _step(structure, opt, traced, x, labels, batch_size, c, checks=checks)[0]

    if unstack:
        # The steps run on a list of per-layer hidden matrices (parameters and optimizer
        # state), as a network written layer by layer holds them: a stacked one's layers are
        # sliced out of the stack (a copy) every step and its gradient stacked back (another).
        new = _stack_hidden(jax.lax.fori_loop(0, n_steps, body, _unstack_hidden(carry)))
    else:
        new = jax.lax.fori_loop(0, n_steps, body, carry)
    if exact:
        return new
    moments = jax.tree_util.tree_leaves(  # the optimizer's state but its hyperparameters (inf
        new.opt_state, is_leaf=lambda node: isinstance(node, MLPParams)  # thresholds)
    )
    kept = [m for m in moments if isinstance(m, MLPParams)]
    return new, (carry.first_bad < 0) & ~_all_finite((new.params, kept))


# The steps' programs, compiled for small matrix products (``_compat.small_matrix_jit``).
_advance = small_matrix_jit(_advance_steps, static_argnames=("structure", "kind", "batch_size"))
_advance_fixed = small_matrix_jit(
    _advance_steps, static_argnames=("structure", "kind", "batch_size", "traced", "exact")
)


def _advance_checked(structure, kind, batch_size, traced, hyper, x, labels, carry, n_steps):
    """``_advance_fixed`` without the per-step checks of parameters and gradients, run again
    with them when its result is suspect (``_advance_steps``): the same carry either way."""
    args = (structure, kind, batch_size, traced, hyper, x, labels, carry, n_steps)
    new, suspect = _advance_fixed(*args, exact=False)
    return _advance_fixed(*args) if bool(suspect) else new


def _each_params(fn, tree):
    """``tree`` with ``fn`` applied to each ``MLPParams`` in it (the parameters, Adam's moments)."""
    return jax.tree_util.tree_map(
        lambda node: fn(node) if isinstance(node, MLPParams) else node, tree,
        is_leaf=lambda node: isinstance(node, MLPParams),
    )


def _unstack_hidden(tree):
    return _each_params(lambda p: p._replace(w_hidden=tuple(p.w_hidden)), tree)


def _stack_hidden(tree):
    return _each_params(lambda p: p._replace(w_hidden=jnp.stack(p.w_hidden)), tree)


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

def _prepare(config, train_config, data, key, params):
    check_config(config)
    if not isinstance(train_config, TrainConfig):
        raise TypeError(f"train_config must be a TrainConfig; got {type(train_config).__name__}.")
    check_key(key)
    data = check_data(config, train_config, data)
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
        (_advance_checked, Fixed(run.traced, unused=INIT_ONLY + ("clip_threshold",)))
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
        decide, and a step of a 30 x 128 network takes about 40% less time (BENCHMARKS.md,
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
