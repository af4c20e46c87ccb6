"""``glorot-init``: back-propagated gradients at initialization, standard versus normalized.

Glorot & Bengio (2010, sec. 4.2) write ``s_l = z_{l-1} W_l + b_l`` for the pre-activations
and ``z_l = f(s_l)``; back-propagation gives ``dC/ds_l = f'(s_l) (dC/ds_{l+1} W_{l+1}^T)``. In
the linear regime (``f'(s) ~ 1``) with independent weights, each step back multiplies the
variance by ``n Var[W]`` (``n`` units per layer), their eq. 13:

    Var[dC/ds_l] = (n Var[W])^(L - l) Var[dC/ds_L].

Their "standard" initialization ``W ~ U[-1/sqrt(n), 1/sqrt(n)]`` has ``n Var[W] = 1/3``, so the
back-propagated gradient shrinks going towards the input; their "normalized" one (Glorot
uniform, ``Var[W] = 2/(n_in + n_out)``) has ``n Var[W] = 1`` between layers of equal size, and
keeps it (their Fig. 7). Outside the linear regime each step also multiplies by
``E[f'(s_l)^2] <= 1`` (tanh): the refined prediction that this module prints beside eq. 13.

``measure_backprop_std`` takes the per-example gradients ``dC_i/ds_l`` as the gradient of the
summed cost with respect to a per-example copy of the biases (``b_l`` broadcast over the batch:
an additive perturbation of ``s_l`` for each example), through the engine's own forward pass.

References:
  X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
  networks", AISTATS 2010, sec. 4.2, eqs. (13) and (16), Fig. 7.
"""

from __future__ import annotations

import functools
import textwrap
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import (
    MLPConfig,
    check_int,
    derivative,
    get_activation,
    get_initializer,
    get_loss,
    init_mlp,
    run_network,
    to_arrays,
    x64_context,
)
from ._data import N_CLASSES, N_EXAMPLES, N_PIXELS, load_digits
from ._meanfield_repro import _wrap

REFERENCE = (
    "Glorot & Bengio, 'Understanding the difficulty of training deep feedforward neural "
    "networks', AISTATS 2010, sec. 4.2, eq. 13 and Fig. 7"
)
INITIALIZATIONS = (("glorot_standard", "standard"), ("glorot_uniform", "normalized"))
WIDTH, DEPTH, EXAMPLES = 1000, 5, 500
MAX_SEEDS = 32
PAPER = {
    "standard": "back-propagated gradients get smaller going from the output towards the input",
    "normalized": "back-propagated gradients have about the same spread in every layer",
}

SUMMARY = (
    "Glorot & Bengio 2010, Fig. 7: std of the back-propagated gradient dC/ds_l per layer of a "
    "tanh network (5 x 1000) at initialization, standard vs normalized initialization, beside "
    "their eq. 13 (--seeds N networks each, default 3)"
)

JSON_KEYS = {
    "initializations": "one record per initialization: name (standard, normalized), "
    "initializer, description, std (per hidden layer, input first, mean over seeds), "
    "std_per_seed, ratio (first over last layer, mean over seeds), ratio_per_seed, n_var_w "
    "(n Var[W] of the hidden-to-hidden weights, measured), eq13_ratio ((n Var W)^((L-1)/2)), "
    "slope_sq (E[tanh'(s_l)^2] per layer, mean over seeds), eq13_slope_ratio (eq. 13 times "
    "the measured E[tanh'(s_l)^2], l < L, square-rooted), paper (the paper's finding)",
    "network": "activation, depth, width, n_in, n_out, loss, biases, inputs, examples, dtype",
    "seeds": "the seeds of the networks (jax.random.key(seed))",
    "seconds": "wall-clock time of the run",
    "reference": "the source",
}


class BackpropStd(NamedTuple):
    """The spread of the back-propagated gradient in each hidden layer, over examples and units.

    Attributes:
      std: ``std(dC_i/ds_l)`` over examples ``i`` and units, per hidden layer (input first),
        ``(depth,)``; ``C_i`` is example ``i``'s own cost.
      slope_sq: ``E[f'(s_l)^2]`` over examples and units, ``(depth,)``.
      n_var_w: ``n Var[W_l]`` of the hidden-to-hidden matrices ``W_2..W_depth`` (``n`` = width,
        ``Var`` measured over their entries), ``(depth - 1,)``.
    """

    std: np.ndarray
    slope_sq: np.ndarray
    n_var_w: np.ndarray

    @property
    def ratio(self) -> float:
        """``std`` of the first hidden layer over that of the last."""
        return float(self.std[0] / self.std[-1])

    def eq13_ratio(self) -> float:
        """Eq. 13's first-over-last ratio of standard deviations, ``prod_l (n Var W_l)^(1/2)``."""
        return float(np.sqrt(np.prod(self.n_var_w)))

    def eq13_slope_ratio(self) -> float:
        """The same with each step's ``E[f'(s_l)^2]`` (layers ``1..depth-1``) multiplied in."""
        return float(np.sqrt(np.prod(self.n_var_w * self.slope_sq[:-1])))


def glorot_config(
    initializer: str,
    *,
    activation: str = "tanh",
    width: int = WIDTH,
    depth: int = DEPTH,
    weight_scale: float = 1.0,
    dtype: str = "float32",
) -> MLPConfig:
    """The network that ``measure_backprop_std`` draws: digits in, 10 classes out, zero biases.

    Example:
      >>> glorot_config("glorot_uniform").width
      1000
    """
    return MLPConfig(
        n_in=N_PIXELS,
        depth=depth,
        width=width,
        n_out=N_CLASSES,
        activation=activation,
        initializer=initializer,
        weight_scale=weight_scale,
        bias_scale=0.0,
        loss="softmax_cross_entropy",
        dtype=dtype,
    )


@functools.partial(jax.jit, static_argnames=("structure", "activation", "loss"))
def _per_example(structure, activation, loss, params, x, y, traced, state):
    """``(dC_i/ds_l, s_l)``, each ``(max_depth, batch, width)``."""
    loss = get_loss(loss).fn
    # One copy of the biases per example: d(sum_i C_i)/d b_copy[l, i] = dC_i/ds_l of example i.
    shape = (structure.max_depth, x.shape[0], structure.width)
    b = jnp.broadcast_to(params.b_hidden[:, None, :], shape)

    def cost(b):
        out = run_network(structure, params._replace(b_hidden=b), x, traced, state)
        return jnp.sum(loss(out.out, y)), out.z

    grads, z = jax.grad(cost, has_aux=True)(b)
    slope = derivative(get_activation(activation).at(traced.activation_param), z)
    return jnp.std(grads, axis=(1, 2)), jnp.mean(slope**2, axis=(1, 2))


def measure_backprop_std(
    initializer: str,
    *,
    activation: str = "tanh",
    width: int = WIDTH,
    depth: int = DEPTH,
    examples: int = EXAMPLES,
    seed: int = 0,
    weight_scale: float = 1.0,
    dtype: str = "float32",
) -> BackpropStd:
    """The std of ``dC/ds_l`` per hidden layer of a random network at initialization.

    The network is ``glorot_config(initializer, ...)``: the 64 pixels of the UCI digits in,
    ``depth`` hidden layers of ``width`` units, 10 linear outputs and the softmax cross-entropy
    on one-hot labels, ``W = weight_scale * draw`` and zero biases (as Glorot & Bengio start),
    drawn by ``init_mlp(config, key=jax.random.key(seed))``. It is run on the first
    ``examples`` digits, and ``dC_i/ds_l`` is each example's own gradient.

    Args:
      initializer: a key of ``INITIALIZERS`` ("glorot_standard", "glorot_uniform", ...).
      activation: a key of ``ACTIVATIONS``.
      width, depth: the hidden layers.
      examples: how many digits, ``1..1797``.
      seed: the network's key.
      weight_scale: the gain multiplying the initializer's draw.
      dtype: "float32" or "float64".

    Returns:
      A ``BackpropStd``.

    Example:
      >>> r = measure_backprop_std("glorot_standard", width=200, examples=100)
      >>> bool(r.std[0] < r.std[-1])  # smaller towards the input
      True

    References:
      Glorot & Bengio, AISTATS 2010, eq. 13 and Fig. 7.
    """
    config = glorot_config(
        initializer,
        activation=activation,
        width=width,
        depth=depth,
        weight_scale=weight_scale,
        dtype=dtype,
    )
    examples = check_int("examples", examples, 1, N_EXAMPLES)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    digits = load_digits()
    params = init_mlp(config, key=jax.random.key(seed))
    structure = config.structure  # the initializer is traced: one program serves them all
    with x64_context(config.dtype):
        arrays, x, traced, state = to_arrays(
            structure, params, digits.x[:examples], config.traced, None
        )
        y = jnp.asarray(digits.y[:examples], x.dtype)
        std, slope_sq = _per_example(
            structure, config.activation, config.loss, arrays, x, y, traced, state
        )
        w = np.asarray(params.w_hidden, np.float64)
    return BackpropStd(
        np.asarray(std, np.float64),
        np.asarray(slope_sq, np.float64),
        width * np.var(w.reshape(len(w), -1), axis=1),
    )


def run(seeds: int = 3) -> dict:
    """Standard against normalized initialization, ``seeds`` networks each.

    Args:
      seeds: networks per initialization, ``1..32`` (seeds ``0..seeds-1``).

    Returns:
      A JSON-able dict with the keys of ``JSON_KEYS``.
    """
    seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    start = time.perf_counter()
    records = []
    for initializer, name in INITIALIZATIONS:
        runs = [measure_backprop_std(initializer, seed=s) for s in range(seeds)]
        std = np.array([r.std for r in runs])
        n_var_w = float(np.mean([r.n_var_w for r in runs]))
        slope_sq = np.mean([r.slope_sq for r in runs], axis=0)
        records.append(
            {
                "name": name,
                "initializer": initializer,
                "description": get_initializer(initializer).description.split(";")[0],
                "std": std.mean(axis=0).tolist(),
                "std_per_seed": std.tolist(),
                "ratio": float(np.mean([r.ratio for r in runs])),
                "ratio_per_seed": [r.ratio for r in runs],
                "n_var_w": n_var_w,
                "eq13_ratio": float(np.mean([r.eq13_ratio() for r in runs])),
                "slope_sq": slope_sq.tolist(),
                "eq13_slope_ratio": float(np.mean([r.eq13_slope_ratio() for r in runs])),
                "paper": PAPER[name],
            }
        )
    return {
        "initializations": records,
        "network": {
            "activation": "tanh",
            "depth": DEPTH,
            "width": WIDTH,
            "n_in": N_PIXELS,
            "n_out": N_CLASSES,
            "loss": "softmax_cross_entropy",
            "biases": 0.0,
            "inputs": "the first examples of the UCI handwritten digits (8x8 pixels in [0, 1])",
            "examples": EXAMPLES,
            "dtype": "float32",
        },
        "seeds": list(range(seeds)),
        "seconds": time.perf_counter() - start,
        "reference": REFERENCE,
    }


def format_table(result: dict) -> str:
    """The per-layer table, the first-over-last ratios, eq. 13 and the paper's finding."""
    net, (standard, normalized) = result["network"], result["initializations"]
    lines = [
        "Back-propagated gradients at initialization, standard vs normalized initialization",
        *textwrap.wrap(f"({result['reference']}).", width=96),
        *_wrap(
            f"{net['activation']}, {net['depth']} hidden layers of {net['width']} units, "
            f"{net['n_in']} inputs (the first {net['examples']} UCI digits), {net['n_out']} "
            f"outputs, softmax cross-entropy, biases 0, {len(result['seeds'])} network(s) per "
            "initialization; std of dC_i/ds_l over examples i and units (mean over networks)."
        ),
        "",
        f"  {'layer':>5}{'standard U[-1/sqrt(n), 1/sqrt(n)]':>36}"
        + f"{'normalized (Glorot uniform)':>30}",
    ]
    for l, (a, b) in enumerate(zip(standard["std"], normalized["std"]), start=1):
        lines.append(f"  {l:>5}{a:>36.4g}{b:>30.4g}")
    spread = [
        f"{min(r['ratio_per_seed']):.3f}-{max(r['ratio_per_seed']):.3f}"
        for r in (standard, normalized)
    ]
    rows = [
        ("first / last, measured", [f"{r['ratio']:.3f}" for r in (standard, normalized)]),
        ("  range over networks", spread),
        ("n Var[W], measured", [f"{r['n_var_w']:.4f}" for r in (standard, normalized)]),
        ("eq. 13: (n Var W)^((L-1)/2)", [f"{r['eq13_ratio']:.3f}" for r in (standard, normalized)]),
        (
            "eq. 13 x E[tanh'(s_l)^2]",
            [f"{r['eq13_slope_ratio']:.3f}" for r in (standard, normalized)],
        ),
    ]
    lines.append("")
    for label, (a, b) in rows:
        lines.append(f"  {label:<30}{a:>11}{b:>30}")
    lines += [
        "",
        *_wrap(
            f"Glorot & Bengio, Fig. 7. Standard: {standard['paper']}. Normalized: "
            f"{normalized['paper']}."
        ),
        *_wrap(
            "Eq. 13 assumes the linear regime, tanh'(s) = 1; the last row multiplies in each "
            f"step's measured E[tanh'(s_l)^2] <= 1. ({result['seconds']:.1f} s)"
        ),
    ]
    return "\n".join(lines)

