"""``PhaseDiagram``: the ordered and chaotic phases on a map, with one network's profile beside it.

The explorer only wires controls to ``vgwidgets.experiments`` (``phase_map``: theory on a grid,
the critical line and measured networks, cached per activation; ``regime_result``: the chosen
point's network, probed as ``RegimeExplorer`` probes it) and to ``vgwidgets.plotting``
(``phase_figure``, ``update_phase_map``, ``update_regime_figure``).

Moving the weight variance, the bias variance or the depth compiles nothing (traced values, as
in ``RegimeExplorer``); the quantity shown only redraws the map. An activation is compiled for
on its first use only: its map is cached, and its programs stay in JAX's caches.
"""

from __future__ import annotations

import html
import math
from typing import NamedTuple

import ipywidgets as widgets
import jax
import numpy as np

from ..engine import (
    ACTIVATIONS,
    DepthScales,
    check_bool,
    check_choice,
    check_float,
    check_int,
    depth_scales,
    init_mlp,
)
from ..experiments import (
    MAP_OPTIONS,
    PHASE_BIAS_VARS,
    PHASE_WEIGHT_VARS,
    QUANTITIES,
    REGIME_MAX_DEPTH,
    PhaseMap,
    RegimeResult,
    measured_values,
    phase_map,
    quantity_values,
    regime_batch,
    regime_config,
    regime_result,
)
from ..plotting import phase_figure, update_phase_map, update_regime_figure
from ._base import Explorer, labelled, warnings_html

WEIGHT = (float(PHASE_WEIGHT_VARS[0]), float(PHASE_WEIGHT_VARS[-1]))
BIAS = (float(PHASE_BIAS_VARS[0]), float(PHASE_BIAS_VARS[-1]))
WIDTHS = (16, 32, 64, 128)
MAX_BATCH = 256


class PhaseControls(NamedTuple):
    """The explorer's controls; set ``.value`` on any of them to move it."""

    weight_var: widgets.FloatSlider
    bias_var: widgets.FloatSlider
    depth: widgets.IntSlider
    activation: widgets.Dropdown
    quantity: widgets.Dropdown


class PhaseResult(NamedTuple):
    """What one refresh computed.

    Attributes:
      map: the activation's ``PhaseMap``.
      point: ``depth_scales`` at the chosen ``(sw^2, sb^2)`` (0-d arrays).
      regime: the chosen point's network, a ``RegimeResult``.
    """

    map: PhaseMap
    point: DepthScales
    regime: RegimeResult


def _fmt(value) -> str:
    return f"{float(value):.4g}"


def phase_summary(result: PhaseResult) -> str:
    """The chosen point's phase, ``chi1`` and depth scales, as HTML."""
    p, r = result.point, result.regime
    chi1 = float(p.chi1)
    side = "ordered (gradients vanish)" if chi1 < 1 else "chaotic (gradients explode)"
    if chi1 == 1:
        side = "critical"
    text = (
        f"<b>{html.escape(side)}</b> at σ<sub>w</sub><sup>2</sup> = <code>{_fmt(r.weight_var)}"
        f"</code>, σ<sub>b</sub><sup>2</sup> = <code>{_fmt(r.bias_var)}</code>: "
        f"&chi;<sub>1</sub> = <code>{_fmt(chi1)}</code>, q* = <code>{_fmt(p.q_star)}</code>, "
        f"c* = <code>{_fmt(p.c_star)}</code>; depth scales &xi;<sub>&nabla;</sub> = "
        f"<code>{_fmt(p.xi_grad)}</code>, &xi;<sub>c</sub> = <code>{_fmt(p.xi_c)}</code>, "
        f"&xi;<sub>q</sub> = <code>{_fmt(p.xi_q)}</code>. The network of depth "
        f"L = <code>{r.config.depth}</code> is <b>{html.escape(r.phase)}</b> (L against "
        "|&xi;<sub>&nabla;</sub>|). Dots: measured per-layer change of ln ||&part;C/&part;b"
        "<sub>l</sub>||<sup>2</sup> in random networks (width 128, depth 30), on the map's "
        "colour scale."
    )
    notes = []
    if not bool(p.converged):
        notes.append("no finite attracting q* here: the forward signal grows without bound")
    return f"<div>{text}{warnings_html(notes)}</div>"


class PhaseDiagram(Explorer):
    """The phase diagram of deep random networks: ordered, chaotic and the critical line between.

    Controls: weight variance ``sw^2`` and bias variance ``sb^2`` (the chosen point, a cross on
    the map), depth ``L`` (1..200) of the chosen point's network, activation (every key of
    ``ACTIVATIONS``), and the quantity mapped: ``ln chi1`` or a depth scale (``xi_grad``,
    ``xi_c``, ``xi_q``, as ``log10``). Left: the map with the critical line ``chi1 = 1`` and
    measured networks as dots on the same colour scale; middle and right: the chosen point's
    network, as ``RegimeExplorer`` draws it (``normal_fan_in`` weights, ``weight_scale = sw``,
    ``bias_scale = sb``).

    Evaluate it in a notebook cell to show it; it never calls ``display`` itself. Readable from
    Python: ``result`` (a ``PhaseResult``), ``plotted`` (``(PhasePlotData, RegimePlotData)``),
    ``error``, ``png``; the controls are ``controls.weight_var`` etc.

    Args:
      weight_var: ``sw^2`` in ``[0.1, 4]``.
      bias_var: ``sb^2`` in ``[0, 0.4]``.
      depth: hidden layers of the chosen point's network, in ``[1, 200]``.
      activation: a key of ``ACTIVATIONS``.
      quantity: a key of ``QUANTITIES``.
      width: units of the chosen point's network, one of 16, 32, 64, 128.
      batch: examples it is probed on, in ``[1, 256]``.
      seed: draws its batch and weights, in ``[0, 2^31 - 1]``.
      continuous_update: recompute while a slider is dragged (throttled: see ``Explorer``).

    Example:
      >>> from vgwidgets import PhaseDiagram
      >>> explorer = PhaseDiagram(weight_var=1.0, bias_var=0.05)
      >>> float(explorer.result.point.chi1) < 1, explorer.result.regime.phase
      (True, 'vanishing')

    References:
      Poole et al., NeurIPS 2016; Schoenholz et al., "Deep information propagation", ICLR 2017.
    """

    def __init__(
        self,
        *,
        weight_var: float = 1.5,
        bias_var: float = 0.05,
        depth: int = 30,
        activation: str = "tanh",
        quantity: str = "ln chi1",
        width: int = 32,
        batch: int = 32,
        seed: int = 0,
        continuous_update: bool = True,
    ):
        weight_var = check_float("weight_var", weight_var, *WEIGHT)
        bias_var = check_float("bias_var", bias_var, *BIAS)
        depth = check_int("depth", depth, 1, REGIME_MAX_DEPTH)
        activation = check_choice("activation", activation, ACTIVATIONS)
        quantity = check_choice("quantity", quantity, QUANTITIES)
        if isinstance(width, bool) or width not in WIDTHS:
            raise ValueError(f"width must be one of {', '.join(map(str, WIDTHS))}; got {width!r}.")
        self.width = int(width)
        self.batch_size = check_int("batch", batch, 1, MAX_BATCH)
        self.seed = check_int("seed", seed, 0, 2**31 - 1)
        live = check_bool("continuous_update", continuous_update)
        self.batch = regime_batch(self.width, self.batch_size, self.seed)

        self.controls = PhaseControls(
            weight_var=labelled(widgets.FloatSlider(
                value=weight_var, min=WEIGHT[0], max=WEIGHT[1], step=0.01,
                description="σw² (weights)", continuous_update=live, readout_format=".2f",
            )),
            bias_var=labelled(widgets.FloatSlider(
                value=bias_var, min=BIAS[0], max=BIAS[1], step=0.01,
                description="σb² (biases)", continuous_update=live, readout_format=".2f",
            )),
            depth=labelled(widgets.IntSlider(
                value=depth, min=1, max=REGIME_MAX_DEPTH, step=1, description="depth L",
                continuous_update=live,
            )),
            activation=labelled(widgets.Dropdown(
                options=[(f"{name}: {a.formula}", name) for name, a in ACTIVATIONS.items()],
                value=activation, description="activation φ",
            )),
            quantity=labelled(widgets.Dropdown(
                options=[(label, name) for name, label in QUANTITIES.items()], value=quantity,
                description="map",
            )),
        )  # fmt: skip
        c = self.controls
        box = widgets.HBox(
            [widgets.VBox([c.weight_var, c.bias_var, c.depth]), widgets.VBox([c.activation,
                                                                              c.quantity])]
        )  # fmt: skip
        self.artists = phase_figure()
        super().__init__(box, self.artists.figure)
        self.wire(*self.controls)
        self.refresh()

    def compute_and_draw(self):
        c = self.controls
        weight_var, bias_var = float(c.weight_var.value), float(c.bias_var.value)
        activation, quantity = c.activation.value, c.quantity.value
        mapped = phase_map(activation)
        point = depth_scales(activation, weight_var, bias_var, **MAP_OPTIONS)
        config = regime_config(
            weight_scale=math.sqrt(weight_var), bias_scale=math.sqrt(bias_var),
            depth=int(c.depth.value), width=self.width, activation=activation,
            initializer="normal_fan_in", float64=False,
        )  # fmt: skip
        x, y = self.batch
        # normal_fan_in always: its draws alone compiled in (the same bits as the traced choice)
        params = init_mlp(config, key=jax.random.key(self.seed), specialize=True)
        regime = regime_result(config, params, x, y, 1.0)  # normal_fan_in: gain 1 exactly
        measured = mapped.measured
        map_data = update_phase_map(
            self.artists, mapped.weight_axis, mapped.bias_axis,
            quantity_values(mapped.theory, quantity), critical=mapped.critical,
            measured_weight=np.ravel(measured.weight_var),
            measured_bias=np.ravel(measured.bias_var),
            measured=np.ravel(measured_values(measured, quantity)),
            point=(weight_var, bias_var), label=QUANTITIES[quantity],
            diverging=quantity == "ln chi1",
        )  # fmt: skip
        r = regime.probe
        title = (
            f"{activation}: phase diagram, and the network at σw² = {weight_var:.3g}, "
            f"σb² = {bias_var:.3g}, L = {config.depth}, width {config.width}"
        )
        profile = update_regime_figure(
            self.artists.regime, r.grad_b_norm, r.act_std, regime.predicted, chi1=regime.chi1,
            phase=regime.phase, depth_scale=regime.depth_scale,
            overflow_layer=int(r.overflow_layer), dtype=config.dtype, title=title,
        )  # fmt: skip
        result = PhaseResult(mapped, point, regime)
        return result, (map_data, profile), phase_summary(result)
