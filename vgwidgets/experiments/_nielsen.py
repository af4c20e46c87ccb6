"""Nielsen's chapter 5 examples: the chain of four sigmoid neurons, and the speeds of learning.

``nielsen-chain``: for a chain ``z_j = w_j a_{j-1} + b_j``, ``a_j = sigma(z_j)`` and ``C = a_L``,

    dC/db_j = sigma'(z_j) * prod_{k>j} [w_k sigma'(z_k)],

so ``|dC/db_1| <= (1/4)^L prod_{k>=2} |w_k|``, an equality when every ``z_j = 0``. With
``w_j = 100`` and every ``z_j = 0`` each factor is 25 and the gradient explodes; with weights of
size about 1 each factor is below 1/4 and it vanishes.

``nielsen-speeds``: the speed of learning of hidden layer ``l`` is ``||dC/db_l||``, for the cost
averaged over 1,000 examples, at initialization of network2's sigmoid network.

References:
  Nielsen, *Neural Networks and Deep Learning*, ch. 5 (Determination Press, 2015),
  http://neuralnetworksanddeeplearning.com/chap5.html
"""

from __future__ import annotations

import textwrap

import jax
import numpy as np

from ..engine import (
    MLPConfig,
    centred_biases,
    chain,
    check_int,
    count_compilations,
    init_mlp,
    probe,
)
from ._data import load_digits
from ._registry import Reproduction

REFERENCE = "Nielsen, Neural Networks and Deep Learning, ch. 5 (2015)"

# ---------------------------------------------------------------------------------------------
# nielsen-chain

CHAIN_LENGTH = 4
CHAIN_X = 1.0
CHAIN_SEED = 0
EXPLODING_WEIGHT = 100.0

_CASE_KEYS = (
    "weights, biases, z, sigma_prime, factors (w_j sigma'(z_j), j = 1..4), product_b and grad_b "
    "(dC/db_j by the product formula and by jax.grad), product, grad_b1, relative_difference, "
    "bound ((1/4)^4 prod_{j>=2} |w_j|)"
)

CHAIN_KEYS = {
    "x": "the chain's input a_0",
    "cost": "the cost, C = a_L (so dC/da_L = 1)",
    "exploding": f"case (a), w_j = 100 and biases that make every z_j = 0: {_CASE_KEYS}, "
    "nielsen (sigma'(0) * 25^3)",
    "vanishing": "case (b), w_j and b_j ~ N(0, 1): the same keys except nielsen",
    "seed": "seed of numpy.random.default_rng that draws case (b)",
    "reference": "the source",
}


def _chain_case(weights, biases) -> dict:
    weights = np.asarray(weights, np.float64)
    r = chain(weights, biases, CHAIN_X)
    product, grad = float(r.product), float(r.grad_b1)
    return {
        "weights": weights.tolist(),
        "biases": np.asarray(biases, np.float64).tolist(),
        "z": r.z.tolist(),
        "sigma_prime": r.derivatives.tolist(),
        "factors": (weights * r.derivatives).tolist(),
        "product_b": r.product_b.tolist(),
        "grad_b": r.grad_b.tolist(),
        "product": product,
        "grad_b1": grad,
        "relative_difference": abs(product - grad) / abs(grad),
        "bound": 0.25**CHAIN_LENGTH * float(np.prod(np.abs(weights[1:]))),
    }


def run_chain(seeds: int | None = None) -> dict:
    """Nielsen's exploding and vanishing chains of four sigmoid neurons.

    Args:
      seeds: not used (the chains are fixed); anything but ``None`` is a ``ValueError``.

    Returns:
      A JSON-able dict with the keys of ``CHAIN_KEYS``.

    Example:
      >>> r = run_chain()
      >>> round(r["exploding"]["product"], 2), r["exploding"]["nielsen"]
      (3906.25, 3906.25)
    """
    if seeds is not None:
        raise ValueError(
            f"seeds does not apply to nielsen-chain, whose chains are fixed; got seeds={seeds!r}. "
            "Leave --seeds out."
        )
    weights = np.full(CHAIN_LENGTH, EXPLODING_WEIGHT)
    exploding = _chain_case(weights, centred_biases(weights, CHAIN_X))
    exploding["nielsen"] = 0.25 * (EXPLODING_WEIGHT * 0.25) ** (CHAIN_LENGTH - 1)
    rng = np.random.default_rng(CHAIN_SEED)
    weights, biases = rng.standard_normal(CHAIN_LENGTH), rng.standard_normal(CHAIN_LENGTH)
    return {
        "x": CHAIN_X,
        "cost": "C = a_L",
        "exploding": exploding,
        "vanishing": _chain_case(weights, biases),
        "seed": CHAIN_SEED,
        "reference": REFERENCE,
    }


def _chain_table(case: dict) -> list[str]:
    header = ("j", "w_j", "b_j", "z_j", "sigma'(z_j)", "w_j sigma'(z_j)", "product dC/db_j")
    widths = (2, 9, 9, 9, 12, 16, 16)
    lines = ["  " + " ".join(f"{h:>{w}}" for h, w in zip(header, widths)) + " jax.grad dC/db_j"]
    for j in range(len(case["weights"])):
        lines.append(
            f"  {j + 1:>2} {case['weights'][j]:>9.4g} {case['biases'][j]:>9.4g} "
            f"{case['z'][j]:>9.3g} {case['sigma_prime'][j]:>12.4g} {case['factors'][j]:>16.4g} "
            f"{case['product_b'][j]:>16.6g} {case['grad_b'][j]:>17.6g}"
        )
    lines += [
        (
            f"  dC/db_1: product {case['product']:.7g}, jax.grad {case['grad_b1']:.7g}, "
            f"relative difference {case['relative_difference']:.1e}"
        ),
        f"  bound (1/4)^{len(case['weights'])} prod_(j>=2) |w_j| = {case['bound']:.7g}",
    ]
    return lines


def format_chain(result: dict) -> str:
    """The two chains as tables, each product beside ``jax.grad``'s ``dC/db_1``."""
    exploding, vanishing = result["exploding"], result["vanishing"]
    lines = [
        (
            f"Nielsen's chain of {len(exploding['weights'])} sigmoid neurons "
            f"({result['reference']}), input x = {result['x']:g}, {result['cost']}:"
        ),
        "  dC/db_j = sigma'(z_j) * prod_(k>j) [w_k sigma'(z_k)],  sigma'(z) <= 1/4",
        "",
        "(a) exploding: w_j = 100, biases that make every z_j = 0, so every w_j sigma'(z_j) = 25",
        *_chain_table(exploding),
        f"  Nielsen: sigma'(0) * 25^3 = {exploding['nielsen']:g}",
        "",
        (
            f"(b) vanishing: w_j, b_j ~ N(0, 1) (numpy.random.default_rng({result['seed']})); "
            "|w_j sigma'(z_j)| < 1/4 wherever |w_j| < 1"
        ),
        *_chain_table(vanishing),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# nielsen-speeds

DEPTHS = (2, 3, 4)
N_EXAMPLES = 1000
MAX_SEEDS = 100
NIELSEN_SPEEDS = {
    2: (0.07, 0.31),
    3: (0.012, 0.060, 0.283),
    4: (0.003, 0.017, 0.070, 0.285),
}
SPEEDS_CONFIG = MLPConfig(
    n_in=64,
    depth=max(DEPTHS),
    width=30,
    n_out=10,
    activation="sigmoid",
    initializer="normal_fan_in",
    loss="cross_entropy",
    max_depth=max(DEPTHS),
)
DATA_NOTE = (
    "Data differ: these are the UCI 8x8 digits (64 inputs), Nielsen's are MNIST (784 inputs), "
    "so the magnitudes need not match; the ratios of consecutive layers are the point."
)

SPEEDS_KEYS = {
    "seeds": "the seeds s (jax.random.key(s) draws each network)",
    "n_examples": "examples averaged over (the first of the UCI digits)",
    "network": "n_in, width, n_out, activation, initializer, loss",
    "depths": "one record per number of hidden layers: depth, speeds (per seed, per layer "
    "||dC/db_l||), mean, std (over seeds, ddof=0), ratios (mean_{l+1} / mean_l), nielsen, "
    "nielsen_ratios",
    "compilations": "programs compiled by the probe calls after the first (0: one structure)",
    "note": "how the set-up differs from Nielsen's",
    "reference": "the source",
}


def speeds(params, x, y, depth: int) -> np.ndarray:
    """``||dC/db_l||`` for the hidden layers ``l = 1..depth`` of ``SPEEDS_CONFIG``'s network."""
    return np.asarray(probe(SPEEDS_CONFIG.replace(depth=depth), params, x, y).trim().grad_b_norm)


def run_speeds(seeds: int = 5) -> dict:
    """Nielsen's per-layer speeds of learning at initialization, for 2, 3 and 4 hidden layers.

    Network2's set-up: 30 sigmoid units per hidden layer, ``W ~ N(0, 1)/sqrt(n_in)``,
    ``b ~ N(0, 1)``, cross-entropy on sigmoid outputs; the speed of hidden layer ``l`` is
    ``||dC/db_l||`` for the cost averaged over the first 1,000 digits. Every depth runs on one
    ``MLPConfig`` structure (``max_depth=4``), so the probe compiles once.

    Args:
      seeds: how many networks to draw per depth, ``1..100``.

    Returns:
      A JSON-able dict with the keys of ``SPEEDS_KEYS``.

    Example:
      >>> r = run_speeds(seeds=1)
      >>> [d["depth"] for d in r["depths"]]
      [2, 3, 4]
    """
    seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    digits = load_digits()
    x, y = digits.x[:N_EXAMPLES], digits.y[:N_EXAMPLES]
    table, compiled = {depth: [] for depth in DEPTHS}, []
    for seed in range(seeds):
        # The depth-d network is the first d hidden layers of this draw, then the output layer.
        params = init_mlp(SPEEDS_CONFIG, key=jax.random.key(seed))
        for depth in DEPTHS:
            with count_compilations() as new:
                table[depth].append(speeds(params, x, y, depth))
            compiled.append(new.count)
    records = []
    for depth, rows in table.items():
        rows = np.asarray(rows, np.float64)
        mean = rows.mean(axis=0)
        nielsen = np.asarray(NIELSEN_SPEEDS[depth])
        records.append(
            {
                "depth": depth,
                "speeds": rows.tolist(),
                "mean": mean.tolist(),
                "std": rows.std(axis=0).tolist(),
                "ratios": (mean[1:] / mean[:-1]).tolist(),
                "nielsen": nielsen.tolist(),
                "nielsen_ratios": (nielsen[1:] / nielsen[:-1]).tolist(),
            }
        )
    cfg = SPEEDS_CONFIG
    return {
        "seeds": list(range(seeds)),
        "n_examples": N_EXAMPLES,
        "network": {
            "n_in": cfg.n_in,
            "width": cfg.width,
            "n_out": cfg.n_out,
            "activation": cfg.activation,
            "initializer": cfg.initializer,
            "loss": cfg.loss,
        },
        "depths": records,
        "compilations": sum(compiled[1:]),
        "note": DATA_NOTE,
        "reference": REFERENCE,
    }


def _as_printed(values) -> list[str]:
    """Nielsen's figures with as many decimals as the book prints (0.060, not 0.06)."""
    decimals = max(len(f"{v:g}".partition(".")[2]) for v in values)
    return [f"{v:.{decimals}f}" for v in values]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(
        text, width=96, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )


def _row(label: str, cells) -> str:
    return f"  {label:<18}" + "".join(f"{c:<20}" for c in cells).rstrip()


def format_speeds(result: dict) -> str:
    """Per depth: the mean (+- std) speed of each layer beside Nielsen's, and their ratios."""
    net = result["network"]
    lines = [
        f"Speeds of learning ||dC/db_l|| at initialization ({result['reference']}):",
        *_wrap(
            f"network2's set-up: {net['n_in']} inputs, hidden layers of {net['width']} "
            f"{net['activation']} units, {net['n_out']} sigmoid outputs, cross-entropy; "
            f"W ~ N(0,1)/sqrt(n_in), b ~ N(0,1); cost averaged over {result['n_examples']} "
            f"examples; means and standard deviations over {len(result['seeds'])} seed(s)."
        ),
        *_wrap(result["note"]),
    ]
    for record in result["depths"]:
        layers = range(1, record["depth"] + 1)
        lines += [
            "",
            _row(f"{record['depth']} hidden layers", (f"layer {layer}" for layer in layers)),
            _row(
                "measured", (f"{m:.3g} +- {s:.2g}" for m, s in zip(record["mean"], record["std"]))
            ),
            _row("Nielsen (MNIST)", _as_printed(record["nielsen"])),
            _row("ratio l / (l-1)", ["", *(f"{r:.2f}" for r in record["ratios"])]),
            _row("Nielsen's ratio", ["", *(f"{r:.2f}" for r in record["nielsen_ratios"])]),
        ]
    lines.append("")
    smallest = min(min(record["ratios"]) for record in result["depths"])
    lines.append(
        f"Smallest measured ratio of consecutive layers: {smallest:.2f}"
        + (
            ", so each earlier hidden layer learns more slowly than the next, as in Nielsen's."
            if smallest > 1
            else ", so some earlier layer learns faster than the next, unlike Nielsen's."
        )
    )
    return "\n".join(lines)


REPRODUCTIONS = {
    r.name: r
    for r in (
        Reproduction(
            "nielsen-chain",
            "Nielsen ch. 5: dC/db_1 of a 4-neuron sigmoid chain as a product of factors "
            "w_j sigma'(z_j), exploding (w = 100) and vanishing (w ~ N(0, 1)), beside jax.grad",
            CHAIN_KEYS,
            run_chain,
            format_chain,
        ),
        Reproduction(
            "nielsen-speeds",
            "Nielsen ch. 5: per-layer speeds of learning ||dC/db_l|| at initialization for 2, 3 "
            "and 4 hidden sigmoid layers, on the UCI digits (--seeds N, default 5)",
            SPEEDS_KEYS,
            run_speeds,
            format_speeds,
        ),
    )
}
