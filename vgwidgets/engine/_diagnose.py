"""Gradient health of any JAX model: per-parameter gradient norms, update-to-data ratios, flags.

For a loss ``C(theta, batch)`` and parameters ``theta`` split into leaves ``theta_i`` (one weight
matrix, one bias, ...), ``diagnose`` measures at ``theta``:

- ``||g_i||``, with ``g_i = dC/dtheta_i`` (Nielsen's "speed of learning" of that leaf);
- ``||theta_i||`` and ``||u_i|| / ||theta_i||``, where ``u_i`` is the update that one step of
  an optax optimizer would add to ``theta_i`` (Karpathy's update-to-data ratio);
- ``||g|| = sqrt(sum_i ||g_i||^2)``, the global norm that ``optax.clip_by_global_norm`` clips;

and raises three flags: a gradient holds inf or NaN; ``||g||`` is over a threshold (exploding);
the smallest layer gradient norm is a tiny fraction of the largest (vanishing). Norms are
Frobenius norms of whole leaves, computed as ``m ||g / m||`` (``m = max |g|``) so that a
vanishing gradient does not underflow to 0 in float32 (see ``probe``).

The model can be anything JAX differentiates: a dict of arrays, flax's ``variables["params"]``,
an equinox module (its non-array leaves, such as activation functions, are held fixed and not
measured, as ``eqx.partition(model, eqx.is_inexact_array)`` would hold them). Only the norms are
compiled (one program per ``loss_fn``, optimizer, tree structure and shapes); the flags are
taken from them outside it, so changing a threshold compiles nothing.

References:
  Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015). Pascanu, Mikolov, Bengio, "On
  the difficulty of training recurrent neural networks", ICML 2013. Karpathy, "Building
  makemore part 3: activations & gradients, BatchNorm" (2022), the update-to-data ratio.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._mlp import _scaled_norm
from ._pytree import ById, leaf_name, model_order, split_params
from ._validate import check_float

# Defaults, and why (see ``diagnose``'s Args).
MAX_GLOBAL_NORM = 100.0
MIN_GRAD_RATIO = 1e-2
# One object, so that calls without an optimizer share one compiled program.
DEFAULT_OPTIMIZER = optax.sgd(1e-2)


class Diagnosis(NamedTuple):
    """What ``diagnose`` measured; every per-leaf array has shape ``(n_leaves,)``, in the
    model's order: layers by number (``Dense_2`` before ``Dense_10``, see ``diagnose``).

    Attributes:
      names: each leaf's path, e.g. ``"params/Dense_0/kernel"`` or ``"layers/0/weight"``.
      shapes: each leaf's shape.
      grad_norm: ``||dC/dtheta_i||`` (inf or NaN if the gradient holds one).
      param_norm: ``||theta_i||``.
      update_norm: ``||u_i||``, the optimizer's update of ``theta_i`` for one step.
      update_ratio: ``||u_i|| / ||theta_i||`` (inf where ``theta_i`` is all zeros and
        ``u_i`` is not, as for biases at initialization; NaN where both are).
      nonfinite_leaves: whether ``dC/dtheta_i`` holds an inf or NaN.
      in_ratio: whether leaf ``i`` counts in ``grad_ratio``: every leaf with two or more
        dimensions (one weight matrix or kernel per layer), or every leaf if none has.
      loss: ``C(theta, batch)``.
      global_norm: ``||g||`` over every leaf.
      grad_ratio: smallest over largest ``grad_norm`` among the leaves ``in_ratio``; 0 if
        every one of them is 0 (no layer learns), NaN if one is not finite.
      nonfinite: a gradient (or the loss) holds inf or NaN.
      exploding: ``global_norm > max_global_norm`` (an infinite norm counts; NaN does not:
        ``nonfinite`` says it).
      vanishing: ``grad_ratio < min_grad_ratio``.
      max_global_norm, min_grad_ratio: the thresholds the flags used.
    """

    names: tuple
    shapes: tuple
    grad_norm: np.ndarray
    param_norm: np.ndarray
    update_norm: np.ndarray
    update_ratio: np.ndarray
    nonfinite_leaves: np.ndarray
    in_ratio: np.ndarray
    loss: float
    global_norm: float
    grad_ratio: float
    nonfinite: bool
    exploding: bool
    vanishing: bool
    max_global_norm: float
    min_grad_ratio: float

    def flags(self) -> tuple[str, ...]:
        """The names of the flags raised: some of "nonfinite", "exploding", "vanishing"."""
        return tuple(f for f in ("nonfinite", "exploding", "vanishing") if getattr(self, f))

    def table(self) -> str:
        """One line per leaf (name, shape, ``||g||``, ``||theta||``, update/data), then the
        global norm, the ratio and the flags: for printing."""
        width = max(len("leaf"), *(len(n) for n in self.names))
        rows = [f"{'leaf':<{width}}  {'shape':<12} {'|grad|':>10} {'|param|':>10} {'upd/data':>10}"]
        for i, name in enumerate(self.names):
            shape = "x".join(map(str, self.shapes[i])) or "scalar"
            rows.append(
                f"{name:<{width}}  {shape:<12} {self.grad_norm[i]:>10.3g} "
                f"{self.param_norm[i]:>10.3g} {self.update_ratio[i]:>10.3g}"
            )
        rows.append(
            f"loss {self.loss:.4g}, global gradient norm {self.global_norm:.3g}, "
            f"smallest/largest layer gradient {self.grad_ratio:.3g}"
        )
        rows.append("flags: " + (", ".join(self.flags()) or "none"))
        return "\n".join(rows)


def _leaf_norm(x):
    return jnp.zeros((), x.dtype) if x.size == 0 else _scaled_norm(jnp.ravel(x), 0)


@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer", "frame"))
def _diagnose(loss_fn, optimizer, frame, arrays, batch, opt_state):
    """``diagnose``'s compiled core: ``(loss, grad, param, update norms, non-finite)``."""

    def loss_of(arrays):
        loss = loss_fn.value(frame.build(arrays), batch)
        _check_loss(loss)
        return loss

    loss, grads = jax.value_and_grad(loss_of)(arrays)
    params = frame.build(arrays, fill_static=False)
    grad_tree = frame.build(grads, fill_static=False)
    if opt_state is None:
        opt_state = optimizer.value.init(params)
    updates, _ = optimizer.value.update(grad_tree, opt_state, params)
    # The updates in the same flat order as ``arrays``: None (non-array) leaves are no leaves.
    updates = jax.tree_util.tree_leaves(updates)
    norms = [jnp.stack([_leaf_norm(x) for x in xs]) for xs in (grads, arrays, updates)]
    nonfinite = jnp.stack([~jnp.all(jnp.isfinite(g)) for g in grads])
    return loss, *norms, nonfinite


def _check_loss(loss) -> None:
    shape, dtype = getattr(loss, "shape", None), getattr(loss, "dtype", None)
    if shape is None or dtype is None:
        raise TypeError(
            f"loss_fn must return a scalar array (the loss); got {type(loss).__name__}. If it "
            "returns (loss, aux), pass lambda p, b: loss_fn(p, b)[0]."
        )
    if shape != ():
        raise ValueError(
            f"loss_fn must return a scalar (shape ()); got shape {tuple(shape)}. Reduce it, "
            "e.g. with jnp.mean over the batch."
        )
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(
            f"loss_fn must return a floating-point scalar to be differentiated; got dtype {dtype}."
        )


def _check_batch(batch) -> None:
    for path, leaf in jax.tree_util.tree_flatten_with_path(batch)[0]:
        if not isinstance(leaf, (jax.Array, np.ndarray, np.generic, numbers.Number)):
            raise TypeError(
                f"batch must be a pytree of arrays (or numbers); batch"
                f"{jax.tree_util.keystr(path)} is {type(leaf).__name__}. Close over anything "
                "else in loss_fn."
            )


def _check_opt_state(optimizer, params, opt_state) -> None:
    """``opt_state`` must have the structure and shapes of ``optimizer.init(params)``."""
    want = jax.eval_shape(optimizer.init, params)
    got = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(np.shape(x), jnp.result_type(x)),
                                 opt_state)  # fmt: skip
    same = jax.tree_util.tree_structure(want) == jax.tree_util.tree_structure(got) and all(
        a.shape == b.shape for a, b in zip(jax.tree_util.tree_leaves(want),
                                           jax.tree_util.tree_leaves(got))
    )  # fmt: skip
    if not same:
        raise ValueError(
            "opt_state must be the optimizer's state for these params, shaped like "
            f"optimizer.init(params): {jax.tree_util.tree_structure(want)}; got "
            f"{jax.tree_util.tree_structure(got)}. Pass the state your training loop holds, "
            "or None for a fresh one."
        )


def diagnose(
    loss_fn,
    params,
    batch,
    *,
    optimizer: optax.GradientTransformation | None = None,
    opt_state=None,
    max_global_norm: float = MAX_GLOBAL_NORM,
    min_grad_ratio: float = MIN_GRAD_RATIO,
) -> Diagnosis:
    """Gradient norms, update-to-data ratios and vanishing/exploding flags of any JAX model.

    One jit-compiled forward and backward pass of ``loss_fn`` at ``params`` on ``batch``, and
    one optimizer step computed (not applied). With ``g_i = dC/dtheta_i`` per leaf ``i`` and
    ``u_i`` the update ``optimizer.update(g, opt_state, params)`` returns for it (what
    ``optax.apply_updates`` would add to ``theta_i``; ``-lr g_i`` for SGD):

      grad_norm_i = ||g_i||,  update_ratio_i = ||u_i|| / ||theta_i||,
      global_norm = sqrt(sum_i ||g_i||^2),
      grad_ratio = min_i ||g_i|| / max_i ||g_i||  over the weight matrices i.

    With ``opt_state=None`` the step is the first one from ``optimizer.init(params)``: for
    Adam that step is about ``lr`` per entry whatever the gradient's size, so pass the state of
    your training run to see the step it would take now. Compiled once per ``loss_fn``,
    ``optimizer`` (the same objects: a new ``optax.sgd(...)`` per call recompiles), tree
    structure and shapes; the thresholds are applied outside the compiled program.

    Leaves come in the model's order, the same before and after a training step: a dict's
    keys with their numbers compared as numbers (``Dense_2`` before ``Dense_10``; JAX's own
    order, which every ``tree_map`` and optimizer step rebuilds dicts in, puts ``Dense_10``
    first), lists and a module's fields in their own order.

    Args:
      loss_fn: ``loss_fn(params, batch)`` returning the loss, a floating-point scalar.
      params: any pytree of floating-point arrays (a dict, flax's ``variables["params"]``,
        an equinox module). Leaves that are not numbers or arrays (functions, strings) are held
        fixed and not measured; integer or boolean leaves are an error.
      batch: any pytree of arrays, passed to ``loss_fn`` as it is.
      optimizer: an optax ``GradientTransformation``; ``None`` for ``optax.sgd(1e-2)``.
      opt_state: its state for ``params``; ``None`` for ``optimizer.init(params)``.
      max_global_norm: ``exploding`` when ``global_norm`` is over it; finite, > 0. Default
        100: the healthy networks below give global norms of 4 to 7 (a loss of order 1,
        averaged over the batch), and gradients are commonly clipped at norms of 1 to 10
        (Pascanu et al. 2013 clip at a threshold taken from the usual norms); 100 is far past
        both. Scale it with your loss: a sum over the batch multiplies the norm by its size.
      min_grad_ratio: ``vanishing`` when ``grad_ratio`` is under it; in ``(0, 1]``. Default
        0.01, measured on the bundled digits (1,000 examples, 5 seeds, width 30): ReLU
        networks with He initialization, 4 or 6 hidden layers, give 0.28 to 0.8 (layers'
        shapes differ, so their norms do by a few times); Nielsen's sigmoid network
        (ch. 5, ``N(0, 1/n_in)`` weights) gives 0.2 with one hidden layer, 0.04 with two,
        about 0.01 with three, 0.002 with four (his example of vanishing gradients), 1e-4 with
        six.

    Returns:
      A ``Diagnosis`` of NumPy arrays and Python numbers.

    Example:
      >>> import jax.numpy as jnp
      >>> def loss_fn(p, batch):
      ...     x, y = batch
      ...     return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
      >>> params = {"w": jnp.ones((3, 1)), "b": jnp.zeros(1)}
      >>> batch = (jnp.ones((4, 3)), jnp.zeros((4, 1)))
      >>> d = diagnose(loss_fn, params, batch)
      >>> d.names, [f"{g:.3f}" for g in d.grad_norm], d.flags()
      (('b', 'w'), ['6.000', '10.392'], ())

    References:
      Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015). Pascanu, Mikolov, Bengio,
      ICML 2013. Karpathy, "Building makemore part 3" (2022).
    """
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function loss_fn(params, batch) -> scalar; got "
            f"{type(loss_fn).__name__}."
        )
    if optimizer is None:
        optimizer = DEFAULT_OPTIMIZER
    if not all(callable(getattr(optimizer, f, None)) for f in ("init", "update")):
        raise TypeError(
            "optimizer must be an optax GradientTransformation (with init and update), e.g. "
            f"optax.sgd(1e-2) or optax.adam(1e-3); got {type(optimizer).__name__}."
        )
    max_global_norm = check_float("max_global_norm", max_global_norm)
    if not max_global_norm > 0:
        raise ValueError(f"max_global_norm must be a finite number > 0; got {max_global_norm!r}.")
    min_grad_ratio = check_float("min_grad_ratio", min_grad_ratio, 0.0, 1.0)
    if not min_grad_ratio > 0:
        raise ValueError(f"min_grad_ratio must be a number in (0, 1]; got {min_grad_ratio!r}.")
    frame, arrays, paths = split_params(params)
    _check_batch(batch)
    if opt_state is not None:
        _check_opt_state(optimizer, frame.build(arrays, fill_static=False), opt_state)

    out = _diagnose(ById(loss_fn), ById(optimizer), frame, arrays, batch, opt_state)
    loss, grad_norm, param_norm, update_norm, nonfinite = (np.asarray(v) for v in out)
    order = model_order(paths)
    grad_norm, param_norm, update_norm, nonfinite = (
        v[order] for v in (grad_norm, param_norm, update_norm, nonfinite)
    )
    names = tuple(leaf_name(paths[i]) for i in order)
    shapes = tuple(tuple(arrays[i].shape) for i in order)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        update_ratio = update_norm / param_norm
        # In float64, whose squares of float32 norms neither underflow nor overflow.
        global_norm = float(np.sqrt(np.sum(grad_norm.astype(np.float64) ** 2)))
    sizes = np.array([math.prod(s) for s in shapes])
    in_ratio = np.array([len(s) >= 2 for s in shapes]) & (sizes > 0)
    if not in_ratio.any():
        in_ratio = sizes > 0
    counted = grad_norm[in_ratio].astype(np.float64)
    if counted.size == 0 or not np.all(np.isfinite(counted)):
        grad_ratio = math.nan
    else:
        largest = float(counted.max())
        grad_ratio = float(counted.min()) / largest if largest > 0 else 0.0
    loss = float(loss)
    any_nonfinite = bool(nonfinite.any()) or not math.isfinite(loss)
    return Diagnosis(
        names=names,
        shapes=shapes,
        grad_norm=grad_norm,
        param_norm=param_norm,
        update_norm=update_norm,
        update_ratio=update_ratio,
        nonfinite_leaves=nonfinite,
        in_ratio=in_ratio,
        loss=loss,
        global_norm=global_norm,
        grad_ratio=grad_ratio,
        nonfinite=any_nonfinite,
        exploding=bool(global_norm > max_global_norm),
        vanishing=bool(grad_ratio < min_grad_ratio),
        max_global_norm=max_global_norm,
        min_grad_ratio=min_grad_ratio,
    )
