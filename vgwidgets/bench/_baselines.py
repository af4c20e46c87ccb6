"""The probe written the way a user would otherwise write it: NumPy backprop, PyTorch eager.

Both compute what ``vgwidgets.probe`` computes for the active layers (the cost, ``||dC/db_l||``,
``||dC/dW_l||_F`` and the activation statistics) from the same parameters and data, so that a
timing compares the same work; BENCHMARKS.md describes each. ``check`` compares a baseline's
numbers with the engine's; the benchmark runs it before timing, and a baseline that disagrees
is reported, not timed. ``prepare_grad_only`` is the bare ``jax.grad`` reference.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..engine import LayerProbe, MLPConfig, MLPParams, get_activation, get_loss

# The probe's fields that every baseline computes; the gradient norms and the fractions among them.
BASELINE_FIELDS = (
    "loss", "grad_b_norm", "grad_w_norm", "act_mean", "act_std", "preact_std",
    "saturated_frac", "dead_frac",
)  # fmt: skip
NORM_FIELDS = ("grad_b_norm", "grad_w_norm")
FRACTION_FIELDS = ("saturated_frac", "dead_frac")
BaselineProbe = namedtuple("BaselineProbe", BASELINE_FIELDS)
BaselineProbe.__doc__ = "What a baseline computes: ``LayerProbe``'s fields for the active layers."

# phi and phi' (from z and a = phi(z)) for the activations that the baselines know.
_NUMPY_PHI = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
}
BASELINE_ACTIVATIONS = tuple(_NUMPY_PHI)
BASELINE_LOSSES = ("cross_entropy", "squared_error", "softmax_cross_entropy")


class Baseline(NamedTuple):
    """A way of computing the probe outside the engine.

    ``unavailable()`` says why it cannot run here (or ``None``); ``prepare(config, params, x, y,
    saturation)`` returns ``(run, to_numpy)``: ``run()`` does the timed work and returns a
    ``BaselineProbe`` in the baseline's own arrays, ``to_numpy`` turns it into NumPy arrays.
    """

    name: str
    description: str
    unavailable: Callable[[], str | None]
    prepare: Callable


def _layers(config: MLPConfig, params: MLPParams):
    """``[(W_1, b_1), ..., (W_depth, b_depth)]`` and ``(W_out, b_out)`` as NumPy arrays."""
    p = MLPParams(*(np.asarray(v) for v in params))
    weights = [p.w_first, *p.w_hidden[: config.depth - 1]]
    return list(zip(weights, p.b_hidden[: config.depth])), (p.w_out, p.b_out)


def _supported(config: MLPConfig) -> None:
    if config.activation not in _NUMPY_PHI:
        raise ValueError(
            f"the baselines know the activations {', '.join(BASELINE_ACTIVATIONS)}; "
            f"got activation={config.activation!r}."
        )
    if config.loss not in BASELINE_LOSSES:
        known = ", ".join(BASELINE_LOSSES)
        raise ValueError(f"the baselines know the losses {known}; got {config.loss!r}.")


def _numpy_loss(name: str, out, y):
    """Batch-mean cost and its gradient with respect to ``out``."""
    if name == "cross_entropy":
        # -y log s(out) - (1 - y) log(1 - s(out)), written stably; gradient s(out) - y.
        per = np.maximum(out, 0) - out * y + np.log1p(np.exp(-np.abs(out)))
        grad = 1.0 / (1.0 + np.exp(-out)) - y
    elif name == "squared_error":
        per, grad = 0.5 * (out - y) ** 2, out - y
    else:  # softmax_cross_entropy
        shifted = out - out.max(axis=-1, keepdims=True)
        log_softmax = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        per = -y * log_softmax
        grad = np.exp(log_softmax) * y.sum(axis=-1, keepdims=True) - y
    return np.mean(np.sum(per, axis=-1)), (grad / out.shape[0]).astype(out.dtype)


def _prepare_numpy(config: MLPConfig, params: MLPParams, x, y, saturation: float):
    _supported(config)
    dtype = np.dtype(config.dtype)
    hidden, (w_out, b_out) = _layers(config, params)
    hidden = [(w.astype(dtype), b.astype(dtype)) for w, b in hidden]
    w_out, b_out = w_out.astype(dtype), b_out.astype(dtype)
    x, y = np.asarray(x, dtype), np.asarray(y, dtype)
    phi, slope_of = _NUMPY_PHI[config.activation]
    bound = dtype.type(saturation * get_activation(config.activation).max_derivative)

    def run() -> BaselineProbe:
        with np.errstate(over="ignore", under="ignore"):
            a, inputs, zs, acts = x, [], [], []
            for w, b in hidden:
                inputs.append(a)
                zs.append(a @ w + b)
                acts.append(a := phi(zs[-1]))
            loss, dout = _numpy_loss(config.loss, a @ w_out + b_out, y)
            da = dout @ w_out.T
            grad_b, grad_w = [0.0] * len(hidden), [0.0] * len(hidden)
            slopes = [slope_of(z, a) for z, a in zip(zs, acts)]
            for layer in reversed(range(len(hidden))):
                dz = da * slopes[layer]
                grad_b[layer] = np.linalg.norm(dz.sum(axis=0))
                grad_w[layer] = np.linalg.norm(inputs[layer].T @ dz)
                if layer:
                    da = dz @ hidden[layer][0].T
            z_all, a_all, s_all = np.stack(zs), np.stack(acts), np.stack(slopes)
            return BaselineProbe(
                loss, np.array(grad_b), np.array(grad_w), a_all.mean(axis=(1, 2)),
                a_all.std(axis=(1, 2)), z_all.std(axis=(1, 2)),
                np.mean(np.abs(s_all) <= bound, axis=(1, 2)),
                np.mean(np.all(a_all == 0, axis=1), axis=-1),
            )  # fmt: skip

    return run, lambda result: BaselineProbe(*(np.asarray(v) for v in result))


def _torch_unavailable() -> str | None:
    try:
        import torch  # noqa: F401
    except ImportError:
        return "not installed (pip install 'torch>=2' to time it)"
    return None


def torch_device() -> str:
    """``"cuda"`` where JAX runs on a GPU and this torch can use it, else ``"cpu"``."""
    import jax
    import torch

    return "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"


def _prepare_torch(config: MLPConfig, params: MLPParams, x, y, saturation: float):
    _supported(config)
    import torch
    import torch.nn.functional as F

    device = torch_device()
    dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
    hidden, out_layer = _layers(config, params)
    layers = []
    for w, b in [*hidden, out_layer]:
        linear = torch.nn.Linear(w.shape[0], w.shape[1], device=device, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(w.T)))
            linear.bias.copy_(torch.from_numpy(np.array(b)))
        layers.append(linear)
    x, y = (torch.as_tensor(np.asarray(v), dtype=dtype, device=device) for v in (x, y))
    phi, slope_of = {
        "sigmoid": (torch.sigmoid, lambda z, a: a * (1 - a)),
        "tanh": (torch.tanh, lambda z, a: 1 - a * a),
        "relu": (torch.relu, lambda z, a: (z > 0).to(z.dtype)),
    }[config.activation]
    bound = saturation * get_activation(config.activation).max_derivative

    def cost(out):
        if config.loss == "cross_entropy":
            per = F.binary_cross_entropy_with_logits(out, y, reduction="none")
        elif config.loss == "squared_error":
            per = 0.5 * (out - y) ** 2
        else:
            per = -y * F.log_softmax(out, dim=-1)
        return per.sum(dim=-1).mean()

    def run() -> BaselineProbe:
        for layer in layers:
            layer.weight.grad = layer.bias.grad = None
        a, zs, acts = x, [], []
        for layer in layers[:-1]:
            zs.append(layer(a))
            acts.append(a := phi(zs[-1]))
        loss = cost(layers[-1](a))
        loss.backward()
        with torch.no_grad():
            z_all, a_all = torch.stack(zs), torch.stack(acts)
            result = BaselineProbe(
                loss.detach(),
                torch.stack([layer.bias.grad.norm() for layer in layers[:-1]]),
                torch.stack([layer.weight.grad.norm() for layer in layers[:-1]]),
                a_all.mean(dim=(1, 2)),
                a_all.std(dim=(1, 2), correction=0),
                z_all.std(dim=(1, 2), correction=0),
                (slope_of(z_all, a_all).abs() <= bound).to(dtype).mean(dim=(1, 2)),
                (a_all == 0).all(dim=1).to(dtype).mean(dim=-1),
            )
        if device == "cuda":
            torch.cuda.synchronize()
        return result

    return run, lambda result: BaselineProbe(*(v.detach().cpu().numpy() for v in result))


BASELINES = {
    "numpy": Baseline(
        "numpy", "NumPy, backprop written out in a Python loop over layers", lambda: None,
        _prepare_numpy,
    ),
    "torch": Baseline(
        "torch", "PyTorch eager: nn.Linear layers in a loop, loss.backward(), each layer's .grad",
        _torch_unavailable, _prepare_torch,
    ),
}  # fmt: skip


def prepare_grad_only(config: MLPConfig, params: MLPParams, x, y, saturation: float = 0.05):
    """The bare reference: ``jax.grad`` of the same network, jit-compiled, norms and cost only.

    The same forward pass (hidden layers under ``lax.scan``) and cost as the engine, then the
    per-layer gradient norms, with none of the probe's statistics, masks or overflow checks.
    Its statistics fields are NaN (``check`` it with ``fields=("loss", *NORM_FIELDS)``).
    """
    import jax
    import jax.numpy as jnp

    _supported(config)
    dtype = jnp.dtype(config.dtype)
    phi, cost = get_activation(config.activation).fn, get_loss(config.loss).fn
    hidden, (w_out, b_out) = _layers(config, params)
    weights = (jnp.asarray(hidden[0][0], dtype), jnp.asarray(np.stack([w for w, _ in hidden[1:]])))
    biases = jnp.asarray(np.stack([b for _, b in hidden]), dtype)
    out_layer = (jnp.asarray(w_out, dtype), jnp.asarray(b_out, dtype))
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)

    def mean_cost(weights, biases, out_layer):
        a = phi(x @ weights[0] + biases[0])
        step = lambda a, wb: (phi(a @ wb[0] + wb[1]), None)  # noqa: E731
        a, _ = jax.lax.scan(step, a, (weights[1], biases[1:]))
        return jnp.mean(cost(a @ out_layer[0] + out_layer[1], y))

    @jax.jit
    def run_jit(weights, biases, out_layer):
        loss, (g_w, g_b) = jax.value_and_grad(mean_cost, argnums=(0, 1))(weights, biases, out_layer)
        grad_w = jnp.concatenate(
            [jnp.linalg.norm(g_w[0])[None], jnp.sqrt(jnp.sum(g_w[1] ** 2, axis=(1, 2)))]
        )
        nan = jnp.full(grad_w.shape, jnp.nan, dtype)
        return BaselineProbe(loss, jnp.linalg.norm(g_b, axis=-1), grad_w, nan, nan, nan, nan, nan)

    run = lambda: run_jit(weights, biases, out_layer)  # noqa: E731
    return run, lambda result: BaselineProbe(*(np.asarray(v) for v in result))


def check(
    engine: LayerProbe, baseline, *, dtype: str, units: int = 1, fields=BASELINE_FIELDS
) -> dict:
    """Compare a baseline's NumPy result with the engine's, field by field.

    An entry agrees when ``|e - b| <= rtol * max(|e|, |b|) + atol``: ``rtol`` is 1e-3 in float32
    (1e-9 in float64). A norm ``sqrt(sum g_i^2)`` loses digits once the squares pass under the
    smallest normal number ``tiny``, where XLA (which flushes subnormals) and NumPy lose different
    ones, so norms get ``atol = sqrt(tiny) * 1e3`` (1e-16 in float32); fractions allow one of
    ``units`` (batch x width) pairs to differ at the saturation threshold.

    Args:
      engine: ``probe``'s result (any padding is trimmed here).
      baseline: the baseline's result as NumPy arrays.
      dtype: the computation's dtype.
      units: batch x width, the count behind each fraction.
      fields: which fields to compare.

    Returns:
      ``{"same": bool, "max_rel_diff": {field: float}, "mismatched": [field, ...]}``.
    """
    engine = engine.trim()
    rtol = 1e-3 if dtype == "float32" else 1e-9
    atols = {name: 1e-6 if dtype == "float32" else 1e-12 for name in fields}
    atols.update(loss=0.0)
    norm_atol = float(np.sqrt(np.finfo(np.dtype(dtype)).tiny)) * 1e3
    atols.update((name, norm_atol) for name in NORM_FIELDS)
    atols.update((name, max(1e-3, 1.5 / units)) for name in FRACTION_FIELDS)
    worst, mismatched = {}, []
    for name in fields:
        e = np.asarray(getattr(engine, name), np.float64)
        b = np.asarray(getattr(baseline, name), np.float64)
        if e.shape != b.shape:
            worst[name] = float("inf")
            mismatched.append(name)
            continue
        scale, diff = np.maximum(np.abs(e), np.abs(b)), np.abs(e - b)
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = np.where(scale > atols[name], diff / scale, 0.0)
        worst[name] = float(np.max(relative, initial=0.0))
        if np.any(~(diff <= rtol * scale + atols[name]) & ~(np.isnan(e) & np.isnan(b))):
            mismatched.append(name)
    return {"same": not mismatched, "max_rel_diff": worst, "mismatched": mismatched}
