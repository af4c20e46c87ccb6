"""The naive pattern that the widgets are compared with: a new pyplot figure on every change.

What a user writes without the explorers: in the slider's callback, compute, ``plt.subplots``,
plot the same data as the explorer shows, ``savefig`` to PNG bytes, ``plt.close``. Each function
here takes the explorer's control values (``{control name: value}``) and returns the PNG; each
figure has the explorer's size in inches and dots per inch, so both PNGs have the same pixels
(``png_size``). Where the figure is built by a ``*_figure`` function, a test can read the data
it holds before it is closed.

``NAIVE`` maps an explorer's class name to its naive function. ``MEASURED_ELSEWHERE`` names the
explorers whose naive rebuild is measured in another section: ``TrainingExplorer``'s step
slider redraws a stored record (no recomputation), so its naive scrub
(``_naive_training.training_explorer_naive``) needs that record and is timed with the scrubs
in the training section. A widget in neither is still benchmarked; only its comparison with
rebuilding is reported as not measured.
"""

from __future__ import annotations

import io
import math
import struct

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _shown(values):
    """``values`` as float64, with what a log axis cannot show (0, inf, nan) as nan."""
    values = np.asarray(values, np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def png_size(png: bytes) -> tuple[int, int]:
    """``(width, height)`` in pixels of PNG bytes, from the header chunk (IHDR) that every PNG
    starts with: 8 signature bytes, the chunk's length and type (8), then width and height as
    big-endian 32-bit integers.

    Example:
      >>> png_size(PNG_SIGNATURE + bytes(8) + (900).to_bytes(4, "big") + (288).to_bytes(4, "big"))
      (900, 288)
    """
    png = bytes(png)
    if png[:8] != PNG_SIGNATURE or len(png) < 24:
        raise ValueError(f"png must be PNG bytes (signature {PNG_SIGNATURE!r}); got {png[:8]!r}.")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def same_size(naive_png: bytes, widget_png: bytes) -> dict:
    """``{"same_size": bool, "size_px": {"naive": [w, h], "widget": [w, h]}}`` of two PNGs: a
    naive figure drawn smaller than the widget's would render faster for nothing."""
    sizes = {"naive": list(png_size(naive_png)), "widget": list(png_size(widget_png))}
    return {"same_size": sizes["naive"] == sizes["widget"], "size_px": sizes}


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


def _regime_panels(left, right, result) -> None:
    """``RegimeExplorer``'s two log panels from a ``RegimeResult``: measured ``||dC/db_l||``
    beside the mean-field prediction on ``left``, ``std(a_l)`` on ``right``, and the first
    overflowing layer as a red line on both."""
    probe = result.probe
    grad, std = _shown(probe.grad_b_norm), _shown(probe.act_std)
    layers = np.arange(1, grad.size + 1)
    left.plot(layers, grad, ".-", label="measured ||dC/db_l||")
    left.plot(layers, _shown(result.predicted), "--", label="mean field")
    right.plot(layers, std, ".-", color="tab:green", label="std(a_l)")
    for ax, values in ((left, grad), (right, std)):
        if int(probe.overflow_layer) >= 0:
            ax.axvline(int(probe.overflow_layer) + 1, color="tab:red")
        ax.set_yscale("log")
        if not np.any(np.isfinite(values)):  # all overflowed: a log axis needs some range
            ax.set_ylim(0.1, 10.0)
        ax.set_xlabel("hidden layer l")
    left.set_title(f"{result.phase}: chi1 = {result.chi1:.4g}")
    right.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8)
    left.legend(fontsize=8)


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
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=80)
    fig.subplots_adjust(left=0.07, right=0.80, bottom=0.13, top=0.86, wspace=0.28)
    _regime_panels(left, right, result)
    fig.suptitle(f"{config.activation}, {config.initializer}, L = {config.depth}")
    return _png(fig)


def phase_diagram_figure(state: dict):
    """``PhaseDiagram``'s figure drawn with pyplot from scratch for one set of its controls.

    The explorer's computation: the activation's ``phase_map`` (theory on the grid, the
    critical line, the measured networks; cached per activation for this function as for the
    explorer), ``depth_scales`` at the chosen point, and the chosen network (``normal_fan_in``
    weights scaled by ``sw = sqrt(sw^2)``, biases by ``sb``) drawn and probed by
    ``regime_result``. Width, batch and seed are the explorer's defaults (32, 32, 0) unless
    ``state`` has them. Then a new 12.5 x 4 inch figure at 72 dpi (the explorer's): the map
    with its colour bar, the critical line, the measured dots and the chosen point, and the
    regime panels.

    Returns:
      The pyplot figure, open (``phase_diagram_naive`` saves and closes it).
    """
    import jax
    import matplotlib.pyplot as plt

    from ..engine import depth_scales, init_mlp
    from ..experiments import MAP_OPTIONS, QUANTITIES, measured_values, phase_map
    from ..experiments import quantity_values, regime_batch, regime_config, regime_result

    activation, quantity = state["activation"], state["quantity"]
    weight_var, bias_var = float(state["weight_var"]), float(state["bias_var"])
    width, batch, seed = state.get("width", 32), state.get("batch", 32), state.get("seed", 0)
    mapped = phase_map(activation)
    point = depth_scales(activation, weight_var, bias_var, **MAP_OPTIONS)
    config = regime_config(
        weight_scale=math.sqrt(weight_var), bias_scale=math.sqrt(bias_var),
        depth=int(state["depth"]), width=width, activation=activation,
        initializer="normal_fan_in", float64=False,
    )  # fmt: skip
    x, y = regime_batch(width, batch, seed)
    result = regime_result(config, init_mlp(config, key=jax.random.key(seed)), x, y, 1.0)

    fig, (ax_map, left, right) = plt.subplots(1, 3, figsize=(12.5, 4.0), dpi=72)
    fig.subplots_adjust(left=0.05, right=0.86, bottom=0.13, top=0.86, wspace=0.38)
    # ln chi1 on a diverging scale centred on 0; a depth scale's log10 from 0.1 to 1000 layers.
    cmap, (low, high) = ("RdBu_r", (-1.5, 1.5)) if quantity == "ln chi1" else ("viridis", (-1, 3))
    weights, biases = np.asarray(mapped.weight_axis), np.asarray(mapped.bias_axis)
    values = np.asarray(quantity_values(mapped.theory, quantity), np.float64)
    image = ax_map.imshow(
        np.ma.masked_invalid(values), origin="lower", aspect="auto", cmap=cmap, vmin=low,
        vmax=high, extent=(weights[0], weights[-1], biases[0], biases[-1]),
        interpolation="nearest",
    )  # fmt: skip
    colorbar = fig.colorbar(image, ax=ax_map, fraction=0.06, pad=0.02)
    colorbar.set_label(QUANTITIES[quantity], fontsize=8)
    ax_map.plot(np.asarray(mapped.critical), biases, "k-", lw=2)
    dots = np.ravel(np.asarray(measured_values(mapped.measured, quantity), np.float64))
    shown = np.isfinite(dots)
    ax_map.scatter(
        np.ravel(mapped.measured.weight_var)[shown], np.ravel(mapped.measured.bias_var)[shown],
        c=dots[shown], cmap=cmap, vmin=low, vmax=high, s=40, edgecolors="k", zorder=3,
    )  # fmt: skip
    ax_map.plot([weight_var], [bias_var], "kx", ms=12, mew=3, zorder=4)
    ax_map.set_xlabel("weight variance sw^2")
    ax_map.set_ylabel("bias variance sb^2")
    ax_map.set_title(f"chi1 = {float(point.chi1):.3g} at the cross; black: chi1 = 1", fontsize=10)
    _regime_panels(left, right, result)
    fig.suptitle(f"{activation}: sw^2 = {weight_var:.3g}, sb^2 = {bias_var:.3g}, "
                 f"L = {config.depth}, width {width}")  # fmt: skip
    return fig


def phase_diagram_naive(state: dict) -> bytes:
    """``phase_diagram_figure(state)`` as PNG bytes: a callback's new figure per change."""
    return _png(phase_diagram_figure(state))


def recurrent_explorer_figure(state: dict):
    """``RecurrentExplorer``'s figure drawn with pyplot from scratch for one set of controls.

    The explorer's computation, ``through_time`` on the fixed batch of its default size and
    seed (8, 0, unless ``state`` has ``batch`` and ``seed``), except that ``W_rec``'s spectrum
    is computed on every call (the explorer keeps it per hidden size and initializer, as a
    plain callback would not). Then a new 11 x 4.2 inch figure at 80 dpi (the explorer's):
    ``||dL/dh_t||`` per ticked cell against ``T - t`` on a log axis, the LSTM's
    ``||dL/dc_t||`` and the vanilla cell's bound, with y-limits set by the curves (the bound
    may reach float64's largest number); beside it the eigenvalues, the unit circle, and
    circles at the spectral radius and at ``sigma_max``.

    Returns:
      The pyplot figure, open (``recurrent_explorer_naive`` saves and closes it).
    """
    import matplotlib.pyplot as plt

    from ..engine import CELLS
    from ..experiments import through_time, through_time_batch, through_time_config

    cells = tuple(cell for cell in CELLS if state[cell])
    config = through_time_config(
        cell=cells[0], nonlinearity=state["nonlinearity"], initializer=state["initializer"],
        length=int(state["length"]), hidden=int(state["hidden"]), gain=float(state["gain"]),
        input_scale=float(state["input_scale"]), forget_bias=float(state["forget_bias"]),
    )  # fmt: skip
    seed = state.get("seed", 0)
    result = through_time(config, cells, through_time_batch(state.get("batch", 8), seed), seed=seed)

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11.0, 4.2), dpi=80, gridspec_kw={"width_ratios": [2.1, 1.0]}
    )
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.86, wspace=0.22)
    distance = np.arange(config.length)[::-1]
    curves = [_shown(result.probes[cell].grad_h_norm) for cell in result.cells]
    for cell, values in zip(result.cells, curves):
        left.plot(distance, values, "-", lw=1.6, label=f"{cell}: {result.phases[cell]}")
    if "lstm" in result.cells:
        curves.append(_shown(result.probes["lstm"].grad_c_norm))
        left.plot(distance, curves[-1], ":", lw=2, label="LSTM ||dL/dc_t||")
    if "vanilla" in result.cells:
        left.plot(distance, _shown(result.bound), "k--", lw=1.2, label="bound")
    left.set_yscale("log")
    finite = np.concatenate(curves)
    finite = finite[np.isfinite(finite)]
    low, high = (finite.min() / 10, finite.max() * 10) if finite.size else (0.1, 10.0)
    left.set_ylim(low, high)
    left.set_xlim(config.length - 0.5, -0.5)
    left.set_xlabel("distance T - t (steps back from the loss)")
    left.set_title("||dL/dh_t||: the gradient reaching step t", fontsize=10)
    left.legend(loc="lower left", fontsize=7)
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 121))
    right.plot(result.eigenvalues.real, result.eigenvalues.imag, ".", ms=3, label="eigenvalues")
    for radius, style, label in ((1.0, "-", "1"), (result.radius, "-", "radius"),
                                 (result.sigma_max, "--", "sigma_max")):  # fmt: skip
        right.plot(radius * circle.real, radius * circle.imag, style, lw=1.2, label=label)
    right.set_aspect("equal", adjustable="box")
    right.set_title("eigenvalues of W_rec", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(f"{config.initializer} W_rec, g = {config.gain:.3g}, n = {config.hidden}, "
                 f"T = {config.length}, input scale {config.input_scale:.2f}")  # fmt: skip
    return fig


def recurrent_explorer_naive(state: dict) -> bytes:
    """``recurrent_explorer_figure(state)`` as PNG bytes: a callback's new figure per change."""
    return _png(recurrent_explorer_figure(state))


NAIVE = {
    "ChainExplorer": chain_explorer_naive,
    "FixComparison": fix_comparison_naive,
    "RegimeExplorer": regime_explorer_naive,
    "PhaseDiagram": phase_diagram_naive,
    "RecurrentExplorer": recurrent_explorer_naive,
}
# Where the naive rebuild of an explorer left out of ``NAIVE`` is measured, as a JSON path.
MEASURED_ELSEWHERE = {"TrainingExplorer": "training.explorer.naive"}
