"""The naive pattern that the widgets are compared with: a new pyplot figure on every change.

What a user writes without the explorers: in the slider's callback, compute, ``plt.subplots``,
plot the same data as the explorer shows, ``savefig`` to PNG bytes, ``plt.close``. Each function
here takes the explorer's control values (``{control name: value}``) and returns the PNG.

``NAIVE`` maps an explorer's class name to its naive function. A widget without an entry is
still benchmarked; only its comparison with rebuilding is reported as not measured.
"""

from __future__ import annotations

import io

import numpy as np


def _shown(values):
    """``values`` as float64, with what a log axis cannot show (0, inf, nan) as nan."""
    values = np.asarray(values, np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _png(fig) -> bytes:
    """``fig`` saved to PNG bytes, then closed (pyplot forgets it)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def chain_explorer_naive(state: dict) -> bytes:
    """``ChainExplorer``'s figure, rebuilt with pyplot from scratch for one set of controls."""
    import jax.numpy as jnp
    import matplotlib.pyplot as plt

    from ..engine import centred_biases, chain, derivative, get_activation

    n, activation, x = state["n_layers"], state["activation"], state["x"]
    weights = np.full(n, float(state["weight"]))
    if state["centre"]:
        biases = centred_biases(weights, x, activation=activation)
    else:
        biases = np.full(n, float(state["bias"]))
    result = chain(weights, biases, x, activation=activation)
    phi = get_activation(activation)

    finite = result.z[np.isfinite(result.z)]
    half = max(6.0, 1.1 * float(np.abs(finite).max()) if finite.size else 0.0)
    z = jnp.linspace(-half, half, 401)
    layers = np.arange(1, n + 1)
    with np.errstate(invalid="ignore", over="ignore"):
        bars = np.abs(np.concatenate([[result.first_derivative], result.factors]))
        running = np.abs(result.product_b)
    bars, running = _shown(bars), _shown(running)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.4), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.79, bottom=0.22, top=0.84, wspace=0.38)
    twin = left.twinx()
    twin.plot(z, phi.fn(z), "--", color="0.55", label="phi(z)")
    left.plot(z, derivative(phi.fn, z), lw=2, label="phi'(z)")
    left.plot(result.z[:1], result.derivatives[:1], "D", ms=7, label="layer 1")
    left.plot(result.z[1:], result.derivatives[1:], "o", ms=7, label="layers j >= 2")
    left.axhline(phi.max_derivative, color="k", ls=":")
    left.set_xlabel("z")
    left.set_title(f"{activation}: phi(z) = {phi.formula}, and its slope", fontsize=11)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8, ncol=2)
    right.bar(layers, bars - 1.0, bottom=1.0, width=0.8, label="factors")
    right.plot(layers, running, "k.-", label="|dC/db_j|")
    right.axhline(1.0, color="k", ls="--")
    right.set_yscale("log")
    right.set_xlabel("layer j")
    right.set_title("factors per layer (log scale)", fontsize=11)
    right.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    fig.suptitle(
        f"Nielsen's chain, eq. 122: L = {n}, w = {state['weight']:g}, x = {x:g}; "
        f"dC/db_1 = {float(result.product):.3g}"
    )
    return _png(fig)


def fix_comparison_naive(state: dict) -> bytes:
    """``FixComparison``'s figure, rebuilt with pyplot for one set of its shared controls.

    The configurations are the explorer's defaults (``DEFAULT_SPECS``); every call draws the
    parameters and probes each network, then builds a new figure, as a callback would.
    """
    import jax
    import matplotlib.pyplot as plt

    from ..engine import MLPConfig, init_mlp, probe
    from ..experiments import DEFAULT_SPECS, FIX_MAX_DEPTH, load_digits

    digits = load_digits()
    x, y = digits.x[:64], digits.y[:64]
    field = "grad_w_norm" if state.get("quantity", "w") == "w" else "grad_b_norm"
    fig, ax = plt.subplots(figsize=(10.0, 4.2), dpi=80)
    fig.subplots_adjust(left=0.08, right=0.66, bottom=0.13, top=0.9)
    for i, spec in enumerate(DEFAULT_SPECS):
        config = MLPConfig(
            n_in=64, depth=state["depth"], width=32, n_out=10, activation=spec.activation,
            initializer=spec.initializer, weight_scale=state["weight_scale"],
            bias_scale=state["bias_scale"], max_depth=FIX_MAX_DEPTH, norm=spec.norm,
            residual_every=spec.residual_every, clip=spec.clip,
            clip_threshold=spec.clip_threshold,
        )  # fmt: skip
        result = probe(config, init_mlp(config, key=jax.random.key(0)), x, y).trim()
        values = _shown(getattr(result, field))
        ax.plot(np.arange(1, len(values) + 1), values, ".-", lw=2, label=f"{i + 1}: {spec.label()}")
    ax.set_yscale("log")
    ax.set_xlabel("hidden layer l (1 = nearest the input)")
    ax.set_ylabel("||dC/dW_l|| (log scale)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.suptitle(f"Per-layer gradient norms at initialization: depth {state['depth']}")
    return _png(fig)


def regime_explorer_naive(state: dict) -> bytes:
    """``RegimeExplorer``'s figure, rebuilt with pyplot for one set of controls.

    The same computation as the explorer (``init_mlp``, ``probe``, ``mean_field``, its default
    batch of 64 and seed 0), then a new figure with both log panels, as a callback would.
    """
    import jax
    import matplotlib.pyplot as plt

    from ..engine import init_mlp
    from ..experiments import initializer_gain, regime_batch, regime_config, regime_result

    config = regime_config(**state)
    x, y = regime_batch(config.width, 64, 0)
    params = init_mlp(config, key=jax.random.key(0))
    result = regime_result(config, params, x, y, initializer_gain(config, 0))
    layers = np.arange(1, config.depth + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=80)
    fig.subplots_adjust(left=0.07, right=0.80, bottom=0.13, top=0.86, wspace=0.28)
    grad, std = _shown(result.probe.grad_b_norm), _shown(result.probe.act_std)
    left.plot(layers, grad, ".-", label="measured ||dC/db_l||")
    left.plot(layers, _shown(result.predicted), "--", label="mean field")
    right.plot(layers, std, ".-", color="tab:green", label="std(a_l)")
    for ax, values in ((left, grad), (right, std)):
        if int(result.probe.overflow_layer) >= 0:
            ax.axvline(int(result.probe.overflow_layer) + 1, color="tab:red")
        ax.set_yscale("log")
        if not np.any(np.isfinite(values)):  # all overflowed: a log axis needs some range
            ax.set_ylim(0.1, 10.0)
        ax.set_xlabel("hidden layer l")
    left.set_title(f"{result.phase}: chi1 = {result.chi1:.4g}")
    right.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8)
    left.legend(fontsize=8)
    fig.suptitle(f"{config.activation}, {config.initializer}, L = {config.depth}")
    return _png(fig)


NAIVE = {
    "ChainExplorer": chain_explorer_naive,
    "FixComparison": fix_comparison_naive,
    "RegimeExplorer": regime_explorer_naive,
}
