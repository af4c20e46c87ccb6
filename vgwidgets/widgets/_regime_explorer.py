"""``RegimeExplorer``: watch a deep network's gradients vanish or explode, beside mean-field theory.

The explorer only wires controls to ``vgwidgets.experiments`` (``regime_config``,
``regime_batch``, ``initializer_gain``, ``regime_result``; the theory, the variances' convention
and the phase rule are explained there) and to ``vgwidgets.plotting``'s regime figure.

Moving the weight scale, the bias scale or the depth compiles nothing: ``init_mlp`` takes the
scales as traced values (the same key gives the same draws at every scale), and ``depth`` is a
traced value under ``max_depth = 200``. The gain is measured once per
``(width, initializer, dtype)``.
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
    INITIALIZERS,
    MLPConfig,
    check_bool,
    check_choice,
    check_float,
    check_int,
    init_mlp,
)
from ..experiments import (
    REGIME_MAX_DEPTH,
    RegimeResult,
    initializer_gain,
    regime_batch,
    regime_config,
    regime_result,
)
from ..plotting import FLOAT_MAX, regime_figure, update_regime_figure
from ._base import LOG_STEP, Explorer, labelled, warnings_html

WEIGHT_EXPONENT = (-1.0, 1.5)  # the weight scale's log slider: 10^-1 .. 10^1.5 (31.6)
WEIGHT = (10.0 ** WEIGHT_EXPONENT[0], 10.0 ** WEIGHT_EXPONENT[1])
BIAS = (0.0, 2.0)
WIDTHS = (16, 32, 64, 128)
MAX_BATCH = 1024


class RegimeControls(NamedTuple):
    """The explorer's controls; set ``.value`` on any of them to move it."""

    weight_scale: widgets.FloatLogSlider
    bias_scale: widgets.FloatSlider
    depth: widgets.IntSlider
    width: widgets.Dropdown
    activation: widgets.Dropdown
    initializer: widgets.Dropdown
    float64: widgets.Checkbox


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def regime_summary(result: RegimeResult) -> str:
    """The label, the depth against the depth scale, chi1, and first-over-last ratios measured
    and predicted, as HTML."""
    r, cfg = result.probe, result.config
    grad = np.asarray(r.grad_b_norm, np.float64)
    with np.errstate(all="ignore"):
        measured = grad[0] / grad[-1]
    predicted = result.chi1 ** ((cfg.depth - 1) / 2) if np.isfinite(result.chi1) else np.nan
    log_chi1 = _fmt(math.log(result.chi1)) if result.chi1 > 0 else "-inf"
    text = (
        f"<b>{html.escape(result.phase)}</b>: depth L = <code>{cfg.depth}</code> vs depth scale "
        f"&xi; = -1/ln &chi;<sub>1</sub> = <code>{_fmt(result.depth_scale)}</code> (near critical "
        "where L &le; |&xi;|: the squared gradient changes by at most a factor e over the "
        f"network); &chi;<sub>1</sub> = <code>{_fmt(result.chi1)}</code> "
        f"(ln &chi;<sub>1</sub> = <code>{log_chi1}</code>), "
        f"q* = <code>{_fmt(result.q_star)}</code>; "
        f"&sigma;<sub>w</sub><sup>2</sup> = <code>{_fmt(result.weight_var)}</code>, "
        f"&sigma;<sub>b</sub><sup>2</sup> = <code>{_fmt(result.bias_var)}</code>"
        f"<br>||&part;C/&part;b<sub>1</sub>|| / ||&part;C/&part;b<sub>L</sub>||: measured "
        f"<code>{_fmt(measured)}</code>, mean field &chi;<sub>1</sub><sup>(L-1)/2</sup> = "
        f"<code>{_fmt(predicted)}</code>"
    )
    notes = []
    if int(r.overflow_layer) >= 0:
        notes.append(
            f"overflow: inf/nan in the forward pass from layer {int(r.overflow_layer) + 1} on "
            f"({cfg.dtype}; float32's largest number is {FLOAT_MAX['float32']:.1e})"
        )
    if np.any(np.isinf(grad)):
        notes.append(f"overflow: the gradient is inf in {int(np.isinf(grad).sum())} layer(s)")
    if np.any(np.isnan(grad)):
        notes.append(f"nan: the gradient is nan in {int(np.isnan(grad).sum())} layer(s)")
    if np.any(grad == 0):
        notes.append(f"the gradient is exactly 0 in {int((grad == 0).sum())} layer(s)")
    return f"<div>{text}{warnings_html(notes)}</div>"


class RegimeExplorer(Explorer):
    """Vanishing or exploding: a deep random MLP's per-layer gradients beside mean-field theory.

    Controls: weight scale (log slider), bias scale, depth (1..200), width, activation (every
    key of ``ACTIVATIONS``), initializer (every key of ``INITIALIZERS``), float64. Left panel:
    ``||dC/db_l||`` per hidden layer on a log axis, with the mean-field line
    ``||dC/db_L|| chi1^((L-l)/2)``; right panel: ``std(a_l)``. The label
    (``vgwidgets.experiments.phase_of``) compares the depth ``L`` with the gradient depth scale
    ``xi = -1/ln chi1``: "near critical" where ``L <= |xi|`` (the squared gradient changes by at
    most a factor ``e`` over the network), else "vanishing" (``chi1 < 1``) or "exploding"
    (``chi1 > 1``); the summary shows ``L`` beside ``xi``.
    Overflow is shown as inf/nan, with the first overflowing layer marked; tick float64 to see
    the finite values.

    Evaluate it in a notebook cell to show it; it never calls ``display`` itself. Readable from
    Python: ``result`` (a ``RegimeResult``), ``plotted`` (a ``RegimePlotData``), ``batch``
    (``(x, y)``), ``error``, ``png``; the controls are ``controls.weight_scale`` etc.

    Args:
      weight_scale: in ``[0.1, 31.6]`` (``10^-1 .. 10^1.5``).
      bias_scale: in ``[0, 2]``.
      depth: hidden layers, in ``[1, 200]``.
      width: units per hidden layer, one of 16, 32, 64, 128.
      activation: a key of ``ACTIVATIONS``.
      initializer: a key of ``INITIALIZERS``.
      float64: compute in float64 instead of float32.
      batch: examples in the fixed batch, in ``[1, 1024]``.
      seed: draws the batch and the network, in ``[0, 2^31 - 1]``.
      continuous_update: recompute while a slider is dragged (on by default; the kernel
        throttles the updates, so a drag never queues stale ones: see ``Explorer``).

    Example:
      >>> from vgwidgets import RegimeExplorer
      >>> explorer = RegimeExplorer(activation="tanh", weight_scale=0.8, bias_scale=0.0)
      >>> explorer.result.phase
      'vanishing'
      >>> explorer.controls.weight_scale.value = 2.0
      >>> explorer.result.phase
      'exploding'

    References:
      Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, "Deep information propagation", ICLR 2017.
      Poole et al., NeurIPS 2016. Nielsen, *Neural Networks and Deep Learning*, ch. 5.
    """

    SHAPE_CONTROLS = ("width", "float64")

    def __init__(
        self,
        *,
        weight_scale: float = 1.0,
        bias_scale: float = 0.1,
        depth: int = 30,
        width: int = 64,
        activation: str = "tanh",
        initializer: str = "normal_fan_in",
        float64: bool = False,
        batch: int = 64,
        seed: int = 0,
        continuous_update: bool = True,
    ):
        weight_scale = check_float("weight_scale", weight_scale, *WEIGHT)
        bias_scale = check_float("bias_scale", bias_scale, *BIAS)
        depth = check_int("depth", depth, 1, REGIME_MAX_DEPTH)
        if isinstance(width, bool) or width not in WIDTHS:
            raise ValueError(f"width must be one of {', '.join(map(str, WIDTHS))}; got {width!r}.")
        activation = check_choice("activation", activation, ACTIVATIONS)
        initializer = check_choice("initializer", initializer, INITIALIZERS)
        float64 = check_bool("float64", float64)
        self.batch_size = check_int("batch", batch, 1, MAX_BATCH)
        self.seed = check_int("seed", seed, 0, 2**31 - 1)
        live = check_bool("continuous_update", continuous_update)
        self._gains: dict = {}
        self._batches: dict = {}

        self.controls = RegimeControls(
            weight_scale=labelled(widgets.FloatLogSlider(
                value=weight_scale, base=10, min=WEIGHT_EXPONENT[0], max=WEIGHT_EXPONENT[1],
                step=LOG_STEP, description="weight scale", continuous_update=live,
                readout_format=".3g",
            )),
            bias_scale=labelled(widgets.FloatSlider(
                value=bias_scale, min=BIAS[0], max=BIAS[1], step=0.01, description="bias scale",
                continuous_update=live, readout_format=".2f",
            )),
            depth=labelled(widgets.IntSlider(
                value=depth, min=1, max=REGIME_MAX_DEPTH, step=1, description="depth L",
                continuous_update=live,
            )),
            width=labelled(widgets.Dropdown(
                options=[(str(w), w) for w in WIDTHS], value=width, description="width",
            )),
            activation=labelled(widgets.Dropdown(
                options=[(f"{name}: {a.formula}", name) for name, a in ACTIVATIONS.items()],
                value=activation, description="activation φ",
            )),
            initializer=labelled(widgets.Dropdown(
                options=[(name, name) for name in INITIALIZERS], value=initializer,
                description="initializer",
            )),
            float64=widgets.Checkbox(value=float64, description="float64", indent=False),
        )  # fmt: skip
        c = self.controls
        box = widgets.HBox(
            [
                widgets.VBox([c.weight_scale, c.bias_scale, c.depth]),
                widgets.VBox([c.activation, c.initializer, widgets.HBox([c.width, c.float64])]),
            ]
        )
        self.artists = regime_figure()
        super().__init__(box, self.artists.figure)
        self.wire(*self.controls)
        self.refresh()

    def config(self) -> MLPConfig:
        """The ``MLPConfig`` the controls stand for."""
        c = self.controls
        return regime_config(
            weight_scale=float(c.weight_scale.value), bias_scale=float(c.bias_scale.value),
            depth=int(c.depth.value), width=int(c.width.value), activation=c.activation.value,
            initializer=c.initializer.value, float64=bool(c.float64.value),
        )  # fmt: skip

    @property
    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed batch ``(x, y)`` at the current width (float64 NumPy arrays)."""
        width = int(self.controls.width.value)
        if width not in self._batches:
            self._batches[width] = regime_batch(width, self.batch_size, self.seed)
        return self._batches[width]

    def _gain(self, config: MLPConfig) -> float:
        key = (config.width, config.initializer, config.dtype)
        if key not in self._gains:
            self._gains[key] = initializer_gain(config, self.seed)
        return self._gains[key]

    def compute_and_draw(self):
        config = self.config()
        x, y = self.batch
        params = init_mlp(config, key=jax.random.key(self.seed))
        result = regime_result(config, params, x, y, self._gain(config))
        r = result.probe
        title = (
            f"{config.activation}, {config.initializer}, σw² = {result.weight_var:.3g}, "
            f"σb² = {result.bias_var:.3g}, L = {config.depth}, width {config.width}, "
            f"{config.dtype}"
        )
        plotted = update_regime_figure(
            self.artists, r.grad_b_norm, r.act_std, result.predicted, chi1=result.chi1,
            phase=result.phase, depth_scale=result.depth_scale,
            overflow_layer=int(r.overflow_layer), dtype=config.dtype, title=title,
        )  # fmt: skip
        return result, plotted, regime_summary(result)
