"""Oracles for the engine tests: a plain NumPy float64 MLP (no scan, no padding, no JAX) and,
at the end, a plainly unrolled JAX network.

``forward`` runs the network of ``MLPConfig`` layer by layer (activation parameters, PReLU's
per-layer slopes, batch/layer normalization, skips every ``k`` layers); ``backprop`` is the
textbook backward pass for ``norm="none"`` with a table of slopes ``DPHI`` (so it honours the
lifted sigmoid's ``sigma' + eps``); ``finite_difference_grads`` differentiates the cost itself.
"""

from __future__ import annotations

import math

import numpy as np

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[float])


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _leaky(z, a):
    return np.where(z >= 0, z, a * z)


def _elu(z, alpha):
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


# phi(z; p) and the slope back-propagation multiplies by, for every registered activation.
PHI_P = {
    "sigmoid": lambda z, p: _sigmoid(z),
    "tanh": lambda z, p: np.tanh(z),
    "relu": lambda z, p: np.maximum(z, 0.0),
    "leaky_relu": _leaky,
    "prelu": _leaky,
    "elu": _elu,
    "selu": lambda z, p: SELU_SCALE * _elu(z, SELU_ALPHA),
    "gelu": lambda z, p: z * 0.5 * (1 + _erf(z / np.sqrt(2))),
    "lifted_sigmoid": lambda z, p: _sigmoid(z),
}
DPHI_P = {
    "sigmoid": lambda z, p: _sigmoid(z) * (1 - _sigmoid(z)),
    "tanh": lambda z, p: 1 - np.tanh(z) ** 2,
    "relu": lambda z, p: (z > 0).astype(float),
    "leaky_relu": lambda z, p: np.where(z >= 0, 1.0, p),
    "prelu": lambda z, p: np.where(z >= 0, 1.0, p),
    "elu": lambda z, p: np.where(z > 0, 1.0, p * np.exp(np.minimum(z, 0.0))),
    "selu": lambda z, p: SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0))),
    "gelu": lambda z, p: (
        0.5 * (1 + _erf(z / np.sqrt(2))) + z * np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
    ),
    "lifted_sigmoid": lambda z, p: _sigmoid(z) * (1 - _sigmoid(z)) + p,
}
DEFAULT_PARAM = {"leaky_relu": 0.01, "prelu": 0.25, "elu": 1.0, "lifted_sigmoid": 0.1}


def _at_default(name, f):
    p = DEFAULT_PARAM.get(name, 0.0)
    return lambda z: f(z, p)


PHI = {name: _at_default(name, f) for name, f in PHI_P.items()}
DPHI = {name: _at_default(name, f) for name, f in DPHI_P.items()}
NORM_EPS = 1e-5


def loss(name, out, y):
    if name == "squared_error":
        return 0.5 * np.sum((out - y) ** 2, axis=-1)
    if name == "cross_entropy":  # -[y ln a + (1 - y) ln(1 - a)], a = sigmoid(out), stably
        softplus = np.maximum(out, 0) + np.log1p(np.exp(-np.abs(out)))
        return np.sum(softplus - y * out, axis=-1)
    if name == "softmax_cross_entropy":
        shifted = out - out.max(axis=-1, keepdims=True)
        log_softmax = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        return -np.sum(y * log_softmax, axis=-1)
    raise KeyError(name)


def dloss(name, out, y):
    """``dC_i/d out_i`` per example."""
    if name == "squared_error":
        return out - y
    if name == "cross_entropy":
        return _sigmoid(out) - y
    if name == "softmax_cross_entropy":
        e = np.exp(out - out.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True) * y.sum(axis=-1, keepdims=True) - y
    raise KeyError(name)


def unpadded(params, depth):
    """The layer list ``[(W_1, b_1), ..., (W_depth, b_depth), (W_out, b_out)]`` in float64."""
    w_first, w_hidden, b_hidden, w_out, b_out = (np.asarray(v, np.float64) for v in params[:5])
    weights = [w_first, *w_hidden[: depth - 1], w_out]
    biases = [*b_hidden[:depth], b_out]
    return list(zip(weights, biases))


def extras(params, depth):
    """``{"slope", "scale", "shift"}``: per-layer lists of the other parameters, float64."""
    return {
        "slopes": list(np.asarray(params.slope, np.float64)[:depth]),
        "scales": list(np.asarray(params.norm_scale, np.float64)[:depth]),
        "shifts": list(np.asarray(params.norm_shift, np.float64)[:depth]),
    }


def normalize(z, norm, scale, shift, *, train=True, mean=None, var=None):
    """``u`` and the batch statistics ``(m_B, s_B^2)`` (biased) used, if any."""
    if norm == "none":
        return z, None
    if norm == "layer":
        m, v = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
        return scale * (z - m) / np.sqrt(v + NORM_EPS) + shift, None
    if train:
        m, v = z.mean(axis=0), z.var(axis=0)
        return scale * (z - m) / np.sqrt(v + NORM_EPS) + shift, (m, v)
    return scale * (z - mean) / np.sqrt(var + NORM_EPS) + shift, None


def forward(
    activation, layers, x, *, param=None, slopes=None, norm="none", scales=None, shifts=None,
    residual_every=0, train=True, running=None,
):  # fmt: skip
    """``(zs, us, acts, out, batch_stats)`` of every hidden layer, in float64.

    ``param`` defaults to the activation's default; ``slopes`` (PReLU) overrides it per layer.
    ``running`` is ``[(mean_l, var_l)]`` for batch normalization in evaluation mode.
    """
    depth = len(layers) - 1
    p = DEFAULT_PARAM.get(activation, 0.0) if param is None else param
    zs, us, acts, batch_stats = [], [], [], []
    a = np.asarray(x, np.float64)
    for l in range(depth):
        w, b = layers[l]
        z = a @ w + b
        scale = 1.0 if scales is None else scales[l]
        shift = 0.0 if shifts is None else shifts[l]
        mean, var = (None, None) if running is None else running[l]
        u, stats = normalize(z, norm, scale, shift, train=train, mean=mean, var=var)
        a = PHI_P[activation](u, p if slopes is None else slopes[l])
        n = l + 1  # the layer's number, 1-based
        if residual_every and n % residual_every == 0 and n > residual_every:
            a = a + acts[n - residual_every - 1]
        zs.append(z)
        us.append(u)
        acts.append(a)
        batch_stats.append(stats)
    w, b = layers[-1]
    return zs, us, acts, a @ w + b, batch_stats


def mean_loss(activation, loss_name, layers, x, y, **options):
    return float(np.mean(loss(loss_name, forward(activation, layers, x, **options)[3], y)))


def backprop(activation, loss_name, layers, x, y, *, param=None, slopes=None, residual_every=0):
    """``[(dC/dW_l, dC/db_l)]`` by the textbook backward pass (norm "none"), with ``DPHI_P``."""
    p = DEFAULT_PARAM.get(activation, 0.0) if param is None else param
    zs, _, acts, out, _ = forward(
        activation, layers, x, param=p, slopes=slopes, residual_every=residual_every
    )
    x = np.asarray(x, np.float64)
    depth, k = len(layers) - 1, residual_every
    g_out = dloss(loss_name, out, y) / x.shape[0]
    g_a = [np.zeros_like(a) for a in acts]
    g_a[-1] = g_out @ layers[-1][0].T
    grads = [None] * depth
    for l in reversed(range(depth)):
        n = l + 1
        if k and n % k == 0 and n > k:
            g_a[n - k - 1] += g_a[l]
        g_z = g_a[l] * DPHI_P[activation](zs[l], p if slopes is None else slopes[l])
        a_prev = x if l == 0 else acts[l - 1]
        grads[l] = (a_prev.T @ g_z, g_z.sum(axis=0))
        if l > 0:
            g_a[l - 1] += g_z @ layers[l][0].T
    return grads


def finite_difference(cost, arrays, eps=1e-6):
    """Central differences of ``cost(arrays)`` with respect to every entry of every array."""
    grads = []
    for k, array in enumerate(arrays):
        g = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            values = []
            for sign in (1.0, -1.0):
                trial = [a.copy() for a in arrays]
                trial[k][i] += sign * eps
                values.append(cost(trial))
            g[i] = (values[0] - values[1]) / (2 * eps)
        grads.append(g)
    return grads


def finite_difference_grads(activation, loss_name, layers, x, y, eps=1e-6, **options):
    """Central differences of the batch-mean cost: ``[(dC/dW_l, dC/db_l) for each hidden l]``."""
    flat = [v for pair in layers for v in pair]

    def cost(trial):
        pairs = list(zip(trial[0::2], trial[1::2]))
        return mean_loss(activation, loss_name, pairs, x, y, **options)

    g = finite_difference(cost, flat, eps)
    return list(zip(g[0::2], g[1::2]))[:-1]


# ------------------------------------------------------------------------------------------------
# An unrolled JAX network: a Python loop over layers (no scan, no padding, no masks), written
# out here rather than taken from the engine, differentiated by jax.grad, run eagerly.


def config64(activation="tanh", **changes):
    """The small float64 config the gradient tests share (one compilation per activation)."""
    import vgwidgets as vg

    names = sorted(vg.ACTIVATIONS)
    losses = sorted(vg.LOSSES)
    base = {
        "n_in": 3, "depth": 4, "width": 4, "n_out": 2, "max_depth": 6,
        "loss": losses[names.index(activation) % len(losses)], "dtype": "float64",
        "weight_scale": 1.5, "bias_scale": 0.5,
    }  # fmt: skip
    return vg.MLPConfig(activation=activation, **{**base, **changes})


def data(config, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, config.n_in))
    y = rng.uniform(size=(batch, config.n_out))
    if config.loss == "softmax_cross_entropy":
        y = y / y.sum(axis=1, keepdims=True)
    return x, y


def unrolled_grads(config, params, x, y, *, train=True, running=None):
    """``jax.grad`` of the batch-mean cost of a plainly unrolled network.

    Returns ``{"w": [...], "b": [...], "slope", "scale", "shift"}`` over the ``depth`` hidden
    layers and (for ``w``, ``b``) the output layer last.
    """
    import jax
    import jax.numpy as jnp

    import vgwidgets as vg

    act = vg.ACTIVATIONS[config.activation]
    trainable = act.param is not None and act.param.trainable
    d, k, norm = config.depth, config.residual_every, config.norm
    dtype = jnp.float64 if config.dtype == "float64" else jnp.float32
    tree = {
        "w": [params.w_first, *params.w_hidden[: d - 1], params.w_out],
        "b": [*params.b_hidden[:d], params.b_out],
        "slope": params.slope[:d],
        "scale": params.norm_scale[:d],
        "shift": params.norm_shift[:d],
    }

    def cost(tree):
        a, acts = jnp.asarray(x, dtype), []
        for l in range(d):
            z = a @ tree["w"][l] + tree["b"][l]
            if norm == "batch":
                m, v = (z.mean(axis=0), z.var(axis=0)) if train else running[l]
            elif norm == "layer":
                m, v = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
            if norm != "none":
                z = tree["scale"][l] * (z - m) / jnp.sqrt(v + NORM_EPS) + tree["shift"][l]
            p = tree["slope"][l] if trainable else config.traced.activation_param
            a = act.at(p)(z)
            if k and (l + 1) % k == 0 and l + 1 > k:
                a = a + acts[l - k]
            acts.append(a)
        out = a @ tree["w"][-1] + tree["b"][-1]
        return jnp.mean(vg.LOSSES[config.loss].fn(out, jnp.asarray(y, dtype)))

    from vgwidgets.engine import x64_context

    with x64_context(config.dtype):
        tree = jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype), tree)
        return jax.tree_util.tree_map(np.asarray, jax.grad(cost)(tree))


def norms(grads):
    """Per-layer ``(||dC/db_l||, ||dC/dW_l||)`` of ``unrolled_grads``' hidden layers."""
    return (
        [np.linalg.norm(b) for b in grads["b"][:-1]],
        [np.linalg.norm(w) for w in grads["w"][:-1]],
    )
