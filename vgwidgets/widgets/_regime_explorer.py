"""``RegimeExplorer``: watch a deep network's gradients vanish or explode, beside mean-field theory.

A random MLP (``MLPConfig``, ``max_depth = 200``) is probed on a fixed batch, and its per-layer
speed of learning ``||dC/db_l||`` is drawn beside the mean-field prediction (Schoenholz et al.
2017): going back one layer multiplies the expected squared gradient by

    chi1 = sw^2 E[phi'(sqrt(q*) z)^2],   so   ||dC/db_l|| ~ ||dC/db_L|| chi1^((L - l)/2),

and the regime is *vanishing* for ``chi1 < 1``, *exploding* for ``chi1 > 1`` and *near critical*
where ``|ln chi1| < 0.05`` (``CRITICAL_BAND``: ``chi1`` within about 5% of 1, so that the
gradient norm changes by less than a factor ``e`` over ``2/0.05 = 40`` layers).

The variances follow the convention of the ``mean-field`` reproduction
(``vgwidgets.experiments.measure_gradient_rate``: ``normal_fan_in`` with ``weight_scale = sw``,
``bias_scale = sb``), extended to every initializer: ``sb^2 = bias_scale^2`` (every
initializer draws ``b ~ N(0, 1)``) and ``sw^2 = weight_scale^2 * gain``, where ``gain`` is the
initializer's ``fan_in * Var[W_ij]`` at ``weight_scale = 1``, measured on the network's own
hidden matrices (199 of ``width x width``; within 1% of the closed forms: 1 for
``normal_fan_in``, LeCun, Glorot (square layers) and orthogonal, 2 for He, 1/3 for Glorot's
"standard", ``width`` for ``N(0, 1)``, ``width / 10^4`` for ``N(0, 0.01^2)``).

The batch is fixed: ``batch`` Gaussian inputs ``x ~ N(0, 1)`` of ``width`` features (so the
first layer is square too) and random one-hot targets over 10 classes, drawn from ``seed``.

The prediction is for an infinitely wide network whose layers sit at ``q*``; the measurement is
one network of ``width`` units, started at ``q = sw^2 + sb^2``, and ``||dC/db_l||`` is the norm of
the gradient of the batch-*mean* cost. They agree in direction and roughly in rate (lesson 2
asserts 30% on a log scale for tanh in the vanishing phase); in the exploding phase the batch
mean grows more slowly than one example's gradient (see ``vgwidgets.experiments._meanfield_repro``,
which measures one example at a time).

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

from ..engine import ACTIVATIONS, INITIALIZERS, LayerProbe, MLPConfig, MLPParams, init_mlp, probe
from ..engine._meanfield import mean_field
from ..engine._validate import check_bool, check_choice, check_float, check_int
from ..plotting import regime_figure, update_regime_figure
from ._base import Explorer, labelled

MAX_DEPTH = 200
WEIGHT_EXPONENT = (-1.0, 1.5)  # the weight scale's log slider: 10^-1 .. 10^1.5 (31.6)
WEIGHT = (10.0 ** WEIGHT_EXPONENT[0], 10.0 ** WEIGHT_EXPONENT[1])
BIAS = (0.0, 2.0)
WIDTHS = (16, 32, 64, 128)
N_OUT = 10
MAX_BATCH = 1024
CRITICAL_BAND = 0.05  # |ln chi1| below this: "near critical"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_WARN = "color: #b00020; font-weight: bold;"


class RegimeControls(NamedTuple):
    """The explorer's controls; set ``.value`` on any of them to move it."""

    weight_scale: widgets.FloatLogSlider
    bias_scale: widgets.FloatSlider
    depth: widgets.IntSlider
    width: widgets.Dropdown
    activation: widgets.Dropdown
    initializer: widgets.Dropdown
    float64: widgets.Checkbox


class RegimeResult(NamedTuple):
    """One probe of the network and its mean-field prediction.

    Attributes:
      config: the ``MLPConfig`` probed (``max_depth = 200``).
      probe: ``LayerProbe.trim()`` of ``probe(config, params, x, y)``: NumPy, ``(depth,)``.
      weight_var: ``sw^2 = weight_scale^2 * gain``.
      bias_var: ``sb^2 = bias_scale^2``.
      chi1, q_star, depth_scale: ``mean_field(activation, sw^2, sb^2)``'s.
      predicted: ``||dC/db_L|| chi1^((L - l)/2)`` for ``l = 1..L``, float64 (``nan`` where the
        last layer's norm is not finite and positive).
      phase: ``phase_of(chi1)``.
    """

    config: MLPConfig
    probe: LayerProbe
    weight_var: float
    bias_var: float
    chi1: float
    q_star: float
    depth_scale: float
    predicted: np.ndarray
    phase: str


def phase_of(chi1: float, band: float = CRITICAL_BAND) -> str:
    """The regime of ``chi1``: "near critical" if ``|ln chi1| < band``, else "vanishing" for
    ``chi1 < 1`` and "exploding" for ``chi1 > 1``; "undefined" for ``nan``.

    Example:
      >>> phase_of(0.5), phase_of(1.02), phase_of(3.0)
      ('vanishing', 'near critical', 'exploding')
    """
    chi1 = float(chi1)
    if math.isnan(chi1) or chi1 < 0:
        return "undefined"
    if 0 < chi1 < math.inf and abs(math.log(chi1)) < band:
        return "near critical"
    return "vanishing" if chi1 < 1 else "exploding"


def predicted_norms(last: float, chi1: float, depth: int) -> np.ndarray:
    """``last * chi1^((depth - l)/2)`` for ``l = 1..depth`` (float64); ``nan`` if ``last`` is
    not finite and positive or ``chi1`` is not finite.

    Example:
      >>> predicted_norms(1.0, 4.0, 3).tolist()
      [4.0, 2.0, 1.0]
    """
    if not (np.isfinite(last) and last > 0 and np.isfinite(chi1) and chi1 > 0):
        return np.full(depth, np.nan)
    steps = depth - np.arange(1, depth + 1, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        return float(last) * np.exp(0.5 * steps * math.log(chi1))


def regime_batch(width: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed batch: ``x ~ N(0, 1)`` of shape ``(batch, width)`` and one-hot ``y`` over 10
    classes, float64, from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    y = np.eye(N_OUT)[rng.integers(0, N_OUT, batch)]
    return x, y


def regime_config(
    *, weight_scale, bias_scale, depth, width, activation, initializer, float64
) -> MLPConfig:
    """The ``MLPConfig`` the controls stand for (validated by ``MLPConfig``)."""
    return MLPConfig(
        n_in=width,
        depth=depth,
        width=width,
        n_out=N_OUT,
        activation=activation,
        initializer=initializer,
        weight_scale=weight_scale,
        bias_scale=bias_scale,
        max_depth=MAX_DEPTH,
        dtype="float64" if float64 else "float32",
    )


def initializer_gain(config: MLPConfig, seed: int) -> float:
    """The initializer's ``fan_in * Var[W_ij]`` at unit weight scale, measured as
    ``width * mean(W^2)`` over the hidden matrices ``init_mlp`` draws from ``seed``."""
    unit = config.replace(weight_scale=1.0)
    w_hidden = np.asarray(init_mlp(unit, key=jax.random.key(seed)).w_hidden, np.float64)
    return config.width * float(np.mean(np.square(w_hidden)))


def regime_result(config: MLPConfig, params: MLPParams, x, y, gain: float) -> RegimeResult:
    """Probe ``config``'s network on ``(x, y)`` and set the mean-field prediction beside it."""
    measured = probe(config, params, x, y).trim()
    weight_var = config.weight_scale**2 * gain
    bias_var = config.bias_scale**2
    mf = mean_field(config.activation, weight_var, bias_var)
    chi1 = float(mf.chi1)
    last = float(measured.grad_b_norm[-1])
    return RegimeResult(
        config, measured, weight_var, bias_var, chi1, float(mf.q_star), float(mf.depth_scale),
        predicted_norms(last, chi1, config.depth), phase_of(chi1),
    )  # fmt: skip


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def regime_summary(result: RegimeResult) -> str:
    """The label, chi1, the depth scale, and first-over-last ratios measured and predicted, as HTML."""
    r, cfg = result.probe, result.config
    grad = np.asarray(r.grad_b_norm, np.float64)
    with np.errstate(all="ignore"):
        measured = grad[0] / grad[-1]
    predicted = result.chi1 ** ((cfg.depth - 1) / 2) if np.isfinite(result.chi1) else np.nan
    text = (
        f"<b>{html.escape(result.phase)}</b>: &chi;<sub>1</sub> = <code>{_fmt(result.chi1)}</code>"
        f" (ln &chi;<sub>1</sub> = <code>{_fmt(math.log(result.chi1)) if result.chi1 > 0 else '-inf'}"
        f"</code>; near critical where |ln &chi;<sub>1</sub>| &lt; {CRITICAL_BAND:g}), "
        f"depth scale &xi; = -1/ln &chi;<sub>1</sub> = <code>{_fmt(result.depth_scale)}</code>, "
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
            f"({cfg.dtype}; float32's largest number is {_FLOAT32_MAX:.1e})"
        )
    if np.any(np.isinf(grad)):
        notes.append(f"overflow: the gradient is inf in {int(np.isinf(grad).sum())} layer(s)")
    if np.any(np.isnan(grad)):
        notes.append(f"nan: the gradient is nan in {int(np.isnan(grad).sum())} layer(s)")
    if np.any(grad == 0):
        notes.append(f"the gradient is exactly 0 in {int((grad == 0).sum())} layer(s)")
    text += "".join(f'<br><span style="{_WARN}">{note}</span>' for note in notes)
    return f"<div>{text}</div>"


class RegimeExplorer(Explorer):
    """Vanishing or exploding: a deep random MLP's per-layer gradients beside mean-field theory.

    Controls: weight scale (log slider), bias scale, depth (1..200), width, activation (every
    key of ``ACTIVATIONS``), initializer (every key of ``INITIALIZERS``), float64. Left panel:
    ``||dC/db_l||`` per hidden layer on a log axis, with the mean-field line
    ``||dC/db_L|| chi1^((L-l)/2)``; right panel: ``std(a_l)``. The label says "vanishing"
    (``chi1 < 1``), "exploding" (``chi1 > 1``) or "near critical" (``|ln chi1| < 0.05``).
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
      continuous_update: recompute while a slider is dragged (off: one update per release).

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
        continuous_update: bool = False,
    ):
        weight_scale = check_float("weight_scale", weight_scale, *WEIGHT)
        bias_scale = check_float("bias_scale", bias_scale, *BIAS)
        depth = check_int("depth", depth, 1, MAX_DEPTH)
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
                step=0.01, description="weight scale", continuous_update=live,
                readout_format=".3g",
            )),
            bias_scale=labelled(widgets.FloatSlider(
                value=bias_scale, min=BIAS[0], max=BIAS[1], step=0.01, description="bias scale",
                continuous_update=live, readout_format=".2f",
            )),
            depth=labelled(widgets.IntSlider(
                value=depth, min=1, max=MAX_DEPTH, step=1, description="depth L",
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
            phase=result.phase, overflow_layer=int(r.overflow_layer), dtype=config.dtype,
            title=title,
        )  # fmt: skip
        return result, plotted, regime_summary(result)
