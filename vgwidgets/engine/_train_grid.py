"""Many networks of one depth trained together: a grid of weight variances under ``vmap``.

For the trainable-depth experiment of Schoenholz et al. (2017): at one depth ``L``, networks
initialised at each weight variance ``sw^2`` of a grid (same bias variance, same draws scaled)
are trained with plain SGD (``optax.sgd``) on the same minibatches, all at once: the parameters
carry a leading grid axis and one ``vmap``-ed step updates every network; ``lax.scan`` runs the
steps, and the test accuracy is read every ``steps / checkpoints`` steps, so that one run shows
how the trainable region grows with the training budget.

Why not the single-network training loop (engine ``_train``, on another branch): this loop is
deliberately minimal (no schedules, no clipping, no per-step history) because its cost is
multiplied by the grid, and its parameters are a stack of networks rather than one
``MLPParams``; the network is the plain ``z_l = W_l a_{l-1} + b_l``, ``a_l = phi(z_l)`` of
mean-field theory, with ``W ~ N(0, sw^2/fan_in)`` and ``b ~ N(0, sb^2)``.

Static (a change compiles anew): ``activation``, ``width``, ``depth``, ``batch``, ``steps``,
``checkpoints``, the data's shapes and the grid's length; traced: the variances and the
learning rate.

References:
  Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, "Deep information propagation", ICLR 2017,
  sec. 6 and fig. 5.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._activations import ACTIVATIONS, get_activation
from ._boundary import check_key
from ._validate import check_array, check_choice, check_float, check_int


@dataclasses.dataclass(frozen=True)
class TrainGridConfig:
    """The networks and the training of ``train_grid``; validated on construction.

    Attributes:
      activation: a key of ``ACTIVATIONS``.
      bias_var: ``sb^2`` in ``[0, 100]``.
      width: hidden units, in ``[2, 2048]``.
      depth: hidden layers, in ``[1, 1000]``.
      steps: SGD steps, a multiple of ``checkpoints``, in ``[1, 10^6]``.
      checkpoints: how often the test accuracy is read (every ``steps / checkpoints`` steps).
      batch: examples per step, in ``[1, 4096]``.
      learning_rate: SGD's, in ``(0, 10]``.

    Example:
      >>> TrainGridConfig(depth=10, steps=300, checkpoints=3).steps
      300
    """

    activation: str = "tanh"
    bias_var: float = 0.05
    width: int = 64
    depth: int = 10
    steps: int = 300
    checkpoints: int = 3
    batch: int = 64
    learning_rate: float = 0.01

    def __post_init__(self):
        set_ = object.__setattr__
        check_choice("activation", self.activation, ACTIVATIONS)
        set_(self, "bias_var", check_float("bias_var", self.bias_var, 0.0, 100.0))
        set_(self, "width", check_int("width", self.width, 2, 2048))
        set_(self, "depth", check_int("depth", self.depth, 1, 1000))
        set_(self, "checkpoints", check_int("checkpoints", self.checkpoints, 1, 1000))
        set_(self, "steps", check_int("steps", self.steps, 1, 10**6))
        if self.steps % self.checkpoints:
            raise ValueError(
                f"steps must be a multiple of checkpoints={self.checkpoints}; got {self.steps}."
            )
        set_(self, "batch", check_int("batch", self.batch, 1, 4096))
        set_(self, "learning_rate", check_float("learning_rate", self.learning_rate, 0.0, 10.0))
        if self.learning_rate == 0:
            raise ValueError("learning_rate must be > 0; got 0.0.")

    def replace(self, **changes) -> TrainGridConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)


class TrainGridResult(NamedTuple):
    """What ``train_grid`` measured; one column per weight variance.

    Attributes:
      steps: ``(checkpoints,)``, the steps taken at each reading.
      accuracy: ``(checkpoints, n_weight)``, test accuracy (``nan`` -> counted wrong).
      loss: ``(checkpoints, n_weight)``, mean training loss over the steps before the reading
        (``nan`` or ``inf`` where training diverged).
    """

    steps: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray


def _init(key, n_in, width, depth, n_out):
    """Standard normal draws, scaled per network later: ``(w_first, w_hidden, w_out, biases)``."""
    k = jax.random.split(key, 5)
    return (
        jax.random.normal(k[0], (n_in, width)) / jnp.sqrt(n_in),
        jax.random.normal(k[1], (depth - 1, width, width)) / jnp.sqrt(width),
        jax.random.normal(k[2], (width, n_out)) / jnp.sqrt(width),
        jax.random.normal(k[3], (depth, width)),
        jax.random.normal(k[4], (n_out,)),
    )


def _logits(activation, params, x):
    phi = get_activation(activation).fn
    w_first, w_hidden, w_out, b_hidden, b_out = params
    a = phi(x @ w_first + b_hidden[0])

    def layer(a, inputs):
        w, b = inputs
        return phi(a @ w + b), None

    a, _ = jax.lax.scan(layer, a, (w_hidden, b_hidden[1:]))
    return a @ w_out + b_out


@functools.partial(
    jax.jit, static_argnames=("activation", "width", "depth", "steps", "checkpoints", "batch")
)
def _train(activation, width, depth, steps, checkpoints, batch, key, sw, sb, learning_rate,
           x_train, y_train, x_test, labels_test):  # fmt: skip
    k_init, k_data = jax.random.split(key)
    draws = _init(k_init, x_train.shape[1], width, depth, y_train.shape[1])

    def network(sw_i):  # one network's parameters at weight scale sw_i
        w_first, w_hidden, w_out, b_hidden, b_out = draws
        return (sw_i * w_first, sw_i * w_hidden, sw_i * w_out, sb * b_hidden, sb * b_out)

    params = jax.vmap(network)(sw)
    optimizer = optax.sgd(learning_rate)
    state = jax.vmap(optimizer.init)(params)

    def loss_fn(p, xb, yb):
        return jnp.mean(optax.softmax_cross_entropy(_logits(activation, p, xb), yb))

    def step(carry, k):
        params, state = carry
        index = jax.random.randint(k, (batch,), 0, x_train.shape[0])
        xb, yb = x_train[index], y_train[index]
        loss, grads = jax.vmap(jax.value_and_grad(loss_fn), (0, None, None))(params, xb, yb)
        updates, state = jax.vmap(optimizer.update)(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    def accuracy(p):
        predicted = jnp.argmax(_logits(activation, p, x_test), axis=-1)
        return jnp.mean(predicted == labels_test)

    def chunk(carry, keys):
        carry, losses = jax.lax.scan(step, carry, keys)
        return carry, (jax.vmap(accuracy)(carry[0]), jnp.mean(losses, axis=0))

    keys = jax.random.split(k_data, steps).reshape(checkpoints, steps // checkpoints)
    _, (acc, loss) = jax.lax.scan(chunk, (params, state), keys)
    return acc, loss


def train_grid(
    config: TrainGridConfig,
    weight_vars,
    x_train,
    y_train,
    x_test,
    labels_test,
    *,
    key: jax.Array,
) -> TrainGridResult:
    """Train one network per weight variance, all of depth ``config.depth``, together.

    Args:
      config: a ``TrainGridConfig``.
      weight_vars: ``sw^2`` values, 1-D, 1 to 256 of them, each in ``(0, 100]``.
      x_train: ``(n, features)`` inputs.
      y_train: ``(n, classes)`` one-hot targets.
      x_test: ``(m, features)``.
      labels_test: ``(m,)`` integer classes.
      key: a ``jax.random`` key: the draws (shared by every network, scaled by its ``sw``)
        and the minibatches (shared too).

    Returns:
      A ``TrainGridResult`` of NumPy arrays.

    Example:
      >>> import numpy as np, jax
      >>> x = np.random.default_rng(0).normal(size=(32, 4)); labels = (x[:, 0] > 0).astype(int)
      >>> r = train_grid(TrainGridConfig(width=8, depth=2, steps=40, checkpoints=2, batch=8,
      ...                                learning_rate=0.1),
      ...                [0.5, 1.5], x, np.eye(2)[labels], x, labels, key=jax.random.key(0))
      >>> r.accuracy.shape
      (2, 2)

    References:
      Schoenholz et al., "Deep information propagation", ICLR 2017, sec. 6.
    """
    if not isinstance(config, TrainGridConfig):
        raise TypeError(f"config must be a TrainGridConfig; got {type(config).__name__}.")
    weight_vars = check_array("weight_vars", np.atleast_1d(weight_vars), ndim=1,
                              dtype=np.float64)  # fmt: skip
    if not 1 <= weight_vars.size <= 256 or np.any(weight_vars <= 0) or np.any(weight_vars > 100):
        raise ValueError(
            f"weight_vars must hold 1 to 256 variances in (0, 100]; got {weight_vars.tolist()}."
        )
    x_train = check_array("x_train", x_train, ndim=2, dtype=np.float32)
    y_train = check_array("y_train", y_train, ndim=2, dtype=np.float32)
    x_test = check_array("x_test", x_test, ndim=2, dtype=np.float32)
    labels_test = check_array("labels_test", labels_test, ndim=1).astype(np.int32)
    if y_train.shape[0] != x_train.shape[0] or x_test.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"x_train {x_train.shape}, y_train {y_train.shape} and x_test {x_test.shape} must "
            "agree: as many targets as inputs, as many test features as training features."
        )
    if labels_test.shape[0] != x_test.shape[0]:
        raise ValueError(
            f"labels_test must have one label per test input ({x_test.shape[0]}); got "
            f"{labels_test.shape[0]}."
        )
    check_key(key)
    c = config
    acc, loss = _train(
        c.activation, c.width, c.depth, c.steps, c.checkpoints, c.batch, key,
        jnp.asarray(np.sqrt(weight_vars), jnp.float32), jnp.float32(np.sqrt(c.bias_var)),
        jnp.float32(c.learning_rate), x_train, y_train, x_test, labels_test,
    )  # fmt: skip
    steps = np.arange(1, c.checkpoints + 1) * (c.steps // c.checkpoints)
    return TrainGridResult(steps, np.asarray(acc, np.float64), np.asarray(loss, np.float64))
