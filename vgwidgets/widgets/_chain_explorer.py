"""``ChainExplorer``: move a weight, a bias, the depth, and watch Nielsen's product shrink or blow up.

For a chain of one neuron per layer with every ``w_j = w`` and every ``b_j = b`` (or, with
"centre", the biases that put every ``z_j`` at 0), back-propagation gives (Nielsen, *Neural
Networks and Deep Learning*, ch. 5, eq. 122)

    dC/db_1 = phi'(z_1) * [w_2 phi'(z_2)] * ... * [w_L phi'(z_L)] * dC/da_L.

The explorer only wires controls to ``vgwidgets.chain``, ``vgwidgets.experiments.activation_curve``
(the curves ``phi`` and ``phi'`` it draws) and ``vgwidgets.plotting``; it shows the product
beside ``jax.grad``'s value, so the formula is checked on every change.
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from ..engine import (
    ACTIVATIONS,
    centred_biases,
    chain,
    check_bool,
    check_choice,
    check_float,
    check_int,
)
from ..experiments import activation_curve
from ..plotting import FLOAT_MAX, chain_figure, update_chain_figure
from ._base import Explorer, labelled, warnings_html

N_LAYERS = (1, 30)
# Linear, because a learner needs negative weights and 0 as well as Nielsen's w = 100:
# FloatLogSlider has neither. -10..150 holds the vanishing regime |w| < 4 (sigmoid), Nielsen's
# exploding 100, and 150, where 30 centred layers overflow float32. Type a value into the
# readout, or use the arrow keys (step 0.1), for fine moves near the bound 4.
WEIGHT = (-10.0, 150.0)
BIAS = (-10.0, 10.0)
X = (-5.0, 5.0)


class ChainControls(NamedTuple):
    """The explorer's controls; set ``.value`` on any of them to move it."""

    n_layers: widgets.IntSlider
    weight: widgets.FloatSlider
    bias: widgets.FloatSlider
    centre: widgets.Checkbox
    activation: widgets.Dropdown
    x: widgets.FloatSlider


def relative_difference(a: float, b: float) -> float:
    """``|a - b| / max(|a|, |b|)``: 0 when equal (zeros included), ``nan`` if either is not finite."""
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("nan")
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def _number(value: float) -> str:
    return f"{float(value):.4e}"


def product_summary(result) -> str:
    """The product of eq. 122 beside ``jax.grad``'s ``dC/db_1``, as HTML.

    Example:
      >>> import vgwidgets as vg
      >>> "relative difference" in product_summary(vg.chain([1.0], [0.0], 1.0))
      True
    """
    product, grad = float(result.product), float(result.grad_b1)
    difference = relative_difference(product, grad)
    shown = f"{difference:.1e}" if np.isfinite(difference) else "n/a (not finite)"
    text = (
        "&part;C/&part;b<sub>1</sub> by the product "
        "&phi;'(z<sub>1</sub>)&middot;w<sub>2</sub>&phi;'(z<sub>2</sub>)&middot;&middot;&middot;"
        "w<sub>L</sub>&phi;'(z<sub>L</sub>)&middot;&part;C/&part;a<sub>L</sub>: "
        f"<b><code>{_number(product)}</code></b> &nbsp;|&nbsp; "
        f"jax.grad: <b><code>{_number(grad)}</code></b> &nbsp;|&nbsp; "
        f"relative difference: <code>{shown}</code>"
    )
    values = np.concatenate([[product, grad], np.asarray(result.product_b, float)])
    notes = []
    if np.any(np.isinf(values)):
        notes.append(
            "overflow: inf &mdash; the product passed float32's largest number, "
            f"{FLOAT_MAX['float32']:.1e}"
        )
    if np.any(np.isnan(values)):
        notes.append("nan: an inf met a 0 (inf &times; 0 is undefined)")
    return f"<div>{text}{warnings_html(notes)}</div>"


class ChainExplorer(Explorer):
    """An explorer of Nielsen's chain: L layers of one sigmoid (or other) neuron each.

    Controls: number of layers, weight, bias (or "centre every z at 0"), activation, input x.
    Shows the activation's slope at every layer's ``z_j``, the factors ``|w_j phi'(z_j)|`` on a
    log axis with the running product ``|dC/db_j|``, and the product beside ``jax.grad``.

    Evaluate it in a notebook cell to show it; it never calls ``display`` itself. Everything
    on show is readable from Python: ``result`` (a ``ChainResult``), ``plotted`` (a
    ``ChainPlotData``), ``error``, ``png``; the controls are ``controls.n_layers`` etc.

    Args:
      n_layers: ``L``, in ``[1, 30]``.
      weight: every ``w_j``, in ``[-10, 150]``.
      bias: every ``b_j``, in ``[-10, 10]`` (unused while ``centre`` is on).
      centre: use ``centred_biases``, ``b_j = -w_j a_{j-1}``, which put every ``z_j`` at 0, so
        that every factor is ``w phi'(0)``. ``phi'(0)`` is the slope's peak ``sup phi'`` for
        sigmoid (1/4), tanh (1) and lifted_sigmoid, and equals it for elu, leaky_relu and prelu
        (1, their linear part's slope; JAX takes it at 0). It is not the peak for: relu
        (JAX's ``relu'(0) = 0``, so the centred relu chain's gradient is exactly 0), gelu
        (``phi'(0) = 1/2``; the slope peaks at ``z = sqrt 2``, about 1.13) and selu (the
        supremum ``lambda alpha``, about 1.76, is approached as ``z -> 0`` from below, where
        JAX's ``selu'(0)`` takes its value; from above the slope is ``lambda``, about 1.05).
      activation: a key of ``ACTIVATIONS``.
      x: the input ``a_0``, in ``[-5, 5]``.
      continuous_update: recompute while a slider is dragged (on by default; the kernel
        throttles the updates, so a drag never queues stale ones: see ``Explorer``).

    Example:
      >>> from vgwidgets import ChainExplorer
      >>> explorer = ChainExplorer(weight=100.0, centre=True)  # Nielsen's exploding chain
      >>> [round(float(f), 3) for f in explorer.result.factors]
      [25.0, 25.0, 25.0]
      >>> explorer.controls.n_layers.value = 30
      >>> explorer.plotted.overflow
      True

    References:
      Nielsen, *Neural Networks and Deep Learning*, ch. 5, eq. 122 (2015).
    """

    def __init__(
        self,
        *,
        n_layers: int = 4,
        weight: float = 1.0,
        bias: float = 0.0,
        centre: bool = False,
        activation: str = "sigmoid",
        x: float = 1.0,
        continuous_update: bool = True,
    ):
        n_layers = check_int("n_layers", n_layers, *N_LAYERS)
        weight = check_float("weight", weight, *WEIGHT)
        bias = check_float("bias", bias, *BIAS)
        centre = check_bool("centre", centre)
        activation = check_choice("activation", activation, ACTIVATIONS)
        x = check_float("x", x, *X)
        live = check_bool("continuous_update", continuous_update)

        def slider(kind, description, value, limits, step, **extra):
            return labelled(
                kind(
                    value=value, min=limits[0], max=limits[1], step=step,
                    description=description, continuous_update=live, **extra,
                )
            )  # fmt: skip

        self.controls = ChainControls(
            n_layers=slider(widgets.IntSlider, "layers L", n_layers, N_LAYERS, 1),
            weight=slider(widgets.FloatSlider, "weight w", weight, WEIGHT, 0.1,
                          readout_format=".1f"),
            bias=slider(widgets.FloatSlider, "bias b", bias, BIAS, 0.1, readout_format=".1f"),
            centre=widgets.Checkbox(value=centre, description="centre every z at 0", indent=False),
            activation=labelled(
                widgets.Dropdown(
                    options=[(f"{name}: {a.formula}", name) for name, a in ACTIVATIONS.items()],
                    value=activation,
                    description="activation φ",
                )
            ),
            x=slider(widgets.FloatSlider, "input x", x, X, 0.1, readout_format=".1f"),
        )  # fmt: skip
        c = self.controls
        box = widgets.HBox(
            [
                widgets.VBox([c.n_layers, c.weight, c.bias]),
                widgets.VBox([c.activation, c.x, c.centre]),
            ]
        )
        self.artists = chain_figure(max_layers=N_LAYERS[1])
        super().__init__(box, self.artists.figure)
        self.wire(*self.controls)
        self.refresh()

    def inputs(self) -> dict:
        """The arguments of ``vgwidgets.chain`` that the controls stand for, as NumPy arrays."""
        c = self.controls
        n, activation, x = c.n_layers.value, c.activation.value, c.x.value
        weights = np.full(n, float(c.weight.value))
        # Computed whether or not the box is ticked (microseconds), so that ticking it
        # compiles nothing: its program is compiled with the explorer.
        centred = centred_biases(weights, x, activation=activation)
        biases = centred if c.centre.value else np.full(n, float(c.bias.value))
        return {"weights": weights, "biases": biases, "x": x, "activation": activation}

    def compute_and_draw(self):
        c = self.controls
        c.bias.disabled = c.centre.value
        inputs = self.inputs()
        result = chain(inputs["weights"], inputs["biases"], inputs["x"],
                       activation=inputs["activation"])  # fmt: skip
        bias = "centred (every z = 0)" if c.centre.value else f"{c.bias.value:g}"
        title = (
            f"Nielsen's chain, eq. 122: L = {c.n_layers.value}, w = {c.weight.value:g}, "
            f"b = {bias}, x = {c.x.value:g};  "
            f"$\\partial C/\\partial b_1$ = {float(result.product):.3g}"
        )
        curve = activation_curve(inputs["activation"], result.z)
        plotted = update_chain_figure(self.artists, result, curve, title=title)
        return result, plotted, product_summary(result)
