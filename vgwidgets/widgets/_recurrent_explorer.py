"""``RecurrentExplorer``: gradients through time in a vanilla RNN, an LSTM and a GRU, overlaid.

The explorer wires controls to ``vgwidgets.experiments.through_time`` (every chosen cell probed
on one fixed batch, the vanilla cell's Pascanu bound, the labels) and to
``vgwidgets.plotting``'s recurrent figure. Every slider is a traced value of one compiled
program per cell (``max_length`` 500, ``max_hidden`` 128): moving it compiles nothing. Each cell
compiles once, on its first use.
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from ..engine import (
    CELLS,
    NONLINEARITIES,
    RECURRENT_INITS,
    check_bool,
    check_choice,
    check_float,
    check_int,
)
from ..experiments import (
    THROUGH_TIME_MAX_HIDDEN,
    THROUGH_TIME_MAX_LENGTH,
    ThroughTime,
    through_time,
    through_time_batch,
    through_time_config,
    unit_spectrum,
)
from ..plotting import recurrent_figure, update_recurrent_figure
from ._base import LOG_STEP, Explorer, labelled, warnings_html

GAIN_EXPONENT = (-1.0, 1.0)  # the gain's log slider: 0.1 .. 10
INPUT_SCALE = (0.0, 3.0)
FORGET_BIAS = (-3.0, 5.0)
MAX_BATCH = 256
# The hidden slider moves in steps of 4 (any size in [4, 128] can be set from Python): W_rec's
# eigenvalues are computed once per (hidden, initializer) and cached (the gain only scales
# them), and 32 sizes on the slider keep the eigensolves few.
HIDDEN_STEP = 4
_NAMES = {"vanilla": "vanilla", "lstm": "LSTM", "gru": "GRU"}


class RecurrentControls(NamedTuple):
    """The explorer's controls; set ``.value`` on any of them to move it."""

    vanilla: widgets.Checkbox
    lstm: widgets.Checkbox
    gru: widgets.Checkbox
    length: widgets.IntSlider
    hidden: widgets.IntSlider
    gain: widgets.FloatLogSlider
    input_scale: widgets.FloatSlider
    forget_bias: widgets.FloatSlider
    initializer: widgets.Dropdown
    nonlinearity: widgets.Dropdown


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def recurrent_summary(result: ThroughTime) -> str:
    """Per cell: the label and ``||dL/dh_1|| / ||dL/dh_T||``; the spectrum; warnings; as HTML."""
    rows = []
    notes = []
    for cell in result.cells:
        r = result.probes[cell]
        grad = np.asarray(r.grad_h_norm, np.float64)
        with np.errstate(all="ignore"):
            ratio = grad[0] / grad[-1]
        extra = ""
        if cell == "lstm":
            extra = f", mean forget gate <code>{_fmt(float(np.mean(r.gate_mean)))}</code>"
        elif cell == "gru":
            extra = f", mean update gate <code>{_fmt(float(np.mean(r.gate_mean)))}</code>"
        rows.append(
            f"<b>{_NAMES[cell]}: {html.escape(result.phases[cell])}</b> "
            f"(||dL/dh<sub>1</sub>|| / ||dL/dh<sub>T</sub>|| = <code>{_fmt(ratio)}</code>{extra})"
        )
        if int(r.overflow_step) > 0:
            notes.append(f"{_NAMES[cell]}: overflow, inf/nan in the state from step {int(r.overflow_step)}")
        if np.any(np.isnan(grad)):
            notes.append(f"{_NAMES[cell]}: the gradient is nan at {int(np.isnan(grad).sum())} step(s)")
        elif np.any(np.isinf(grad)):
            notes.append(f"{_NAMES[cell]}: the gradient is inf at {int(np.isinf(grad).sum())} step(s)")
        if np.any(grad == 0):
            notes.append(f"{_NAMES[cell]}: the gradient underflowed to 0 at {int((grad == 0).sum())} step(s)")
    cfg = result.config
    spectrum = (
        f"W<sub>rec</sub>: spectral radius &rho; = <code>{_fmt(result.radius)}</code>, largest "
        f"singular value &sigma;<sub>max</sub> = <code>{_fmt(result.sigma_max)}</code>"
    )
    if "vanilla" in result.cells:
        gamma = float(result.probes["vanilla"].gamma)
        factor = result.sigma_max * gamma
        verdict = (
            "&lt; 1: vanishing is certain (sufficient condition)" if factor < 1
            else "&ge; 1: exploding is possible, not certain (necessary condition)"
        )  # fmt: skip
        spectrum += (
            f"; &gamma; = sup|&phi;'| = <code>{_fmt(gamma)}</code> ({cfg.nonlinearity}), "
            f"&sigma;<sub>max</sub>&gamma; = <code>{_fmt(factor)}</code> {verdict}"
        )
    return f"<div>{'<br>'.join(rows)}<br>{spectrum}{warnings_html(notes)}</div>"


class RecurrentExplorer(Explorer):
    """Gradients through time: ``||dL/dh_t||`` against ``T - t`` for a vanilla RNN, an LSTM, a GRU.

    Controls: the cells shown (vanilla, LSTM, GRU; any together), sequence length ``T``
    (2..500), hidden size (4..128, in steps of 4), recurrent gain ``g`` (log slider, 0.1..10), input scale,
    forget-gate bias (the LSTM's), recurrent initializer ("gaussian" ``N(0, g^2/n)``,
    "orthogonal", "identity"), and the vanilla cell's nonlinearity. Left panel: log
    ``||dL/dh_t||`` per cell, the LSTM's ``||dL/dc_t||`` (dotted) and, for the vanilla cell,
    Pascanu et al.'s bound ``||dL/dh_T|| (sigma_max gamma)^(T-t)`` (dashed); right panel: the
    eigenvalues of ``W_rec`` with the unit circle, the spectral radius and ``sigma_max``. The
    loss is linear in ``h_T`` (``L = mean_b w_out . h_T``), so what the curves show is the
    backward pass alone. Overflow is marked (inf at the top, nan as a cross) and named.

    Evaluate it in a notebook cell to show it; it never calls ``display`` itself. Readable from
    Python: ``result`` (a ``ThroughTime``), ``plotted`` (a ``RecurrentPlotData``), ``error``,
    ``png``; the controls are ``controls.gain`` etc.

    Args:
      cells: the cells shown at first, a tuple of names from ``CELLS`` (all three by default:
        each cell is its own compiled program, so a cell left out compiles when first ticked).
      length: ``T``, in ``[2, 500]``.
      hidden: units, in ``[4, 128]`` (the slider moves in steps of 4).
      gain: ``g``, in ``[0.1, 10]``.
      input_scale: in ``[0, 3]``.
      forget_bias: the LSTM's forget-gate bias, in ``[-3, 5]``.
      initializer: a name of ``RECURRENT_INITS``.
      nonlinearity: the vanilla cell's, a name of ``NONLINEARITIES``.
      batch: sequences in the fixed batch, in ``[1, 256]``.
      seed: draws the batch and the weights, in ``[0, 2^31 - 1]``.
      continuous_update: recompute while a slider is dragged (throttled, see ``Explorer``).

    Example:
      >>> from vgwidgets import RecurrentExplorer
      >>> explorer = RecurrentExplorer(cells=("vanilla",), gain=0.5, length=50)
      >>> explorer.result.phases["vanilla"]
      'vanishing'
      >>> explorer.controls.gain.value = 3.0
      >>> explorer.result.phases["vanilla"]
      'exploding'

    References:
      Pascanu, Mikolov & Bengio, ICML 2013. Hochreiter & Schmidhuber 1997. Cho et al. 2014.
      Le, Jaitly & Hinton 2015.
    """

    def __init__(
        self,
        *,
        cells: tuple = ("vanilla", "lstm", "gru"),
        length: int = 100,
        hidden: int = 64,
        gain: float = 1.0,
        input_scale: float = 1.0,
        forget_bias: float = 1.0,
        initializer: str = "gaussian",
        nonlinearity: str = "tanh",
        batch: int = 8,
        seed: int = 0,
        continuous_update: bool = True,
    ):
        if not isinstance(cells, (tuple, list)) or not cells:
            raise ValueError(
                f"cells must be a non-empty tuple of {', '.join(map(repr, CELLS))}; got {cells!r}."
            )
        for cell in cells:
            check_choice("cells", cell, CELLS)
        length = check_int("length", length, 2, THROUGH_TIME_MAX_LENGTH)
        hidden = check_int("hidden", hidden, HIDDEN_STEP, THROUGH_TIME_MAX_HIDDEN)
        gain = check_float("gain", gain, 10.0 ** GAIN_EXPONENT[0], 10.0 ** GAIN_EXPONENT[1])
        input_scale = check_float("input_scale", input_scale, *INPUT_SCALE)
        forget_bias = check_float("forget_bias", forget_bias, *FORGET_BIAS)
        initializer = check_choice("initializer", initializer, RECURRENT_INITS)
        nonlinearity = check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        self.batch_size = check_int("batch", batch, 1, MAX_BATCH)
        self.seed = check_int("seed", seed, 0, 2**31 - 1)
        live = check_bool("continuous_update", continuous_update)
        self.x = through_time_batch(self.batch_size, self.seed)
        self._spectra: dict = {}  # (hidden, initializer) -> W_rec's eigenvalues at gain 1

        def box(cell):
            return widgets.Checkbox(
                value=cell in cells, description=_NAMES[cell], indent=False,
                layout=widgets.Layout(width="7em"),
            )  # fmt: skip

        self.controls = RecurrentControls(
            vanilla=box("vanilla"), lstm=box("lstm"), gru=box("gru"),
            length=labelled(widgets.IntSlider(
                value=length, min=2, max=THROUGH_TIME_MAX_LENGTH, step=1,
                description="length T", continuous_update=live,
            )),
            hidden=labelled(widgets.IntSlider(
                value=hidden, min=HIDDEN_STEP, max=THROUGH_TIME_MAX_HIDDEN, step=HIDDEN_STEP,
                description="hidden n", continuous_update=live,
            )),
            gain=labelled(widgets.FloatLogSlider(
                value=gain, base=10, min=GAIN_EXPONENT[0], max=GAIN_EXPONENT[1], step=LOG_STEP,
                description="gain g", continuous_update=live, readout_format=".3g",
            )),
            input_scale=labelled(widgets.FloatSlider(
                value=input_scale, min=INPUT_SCALE[0], max=INPUT_SCALE[1], step=0.05,
                description="input scale", continuous_update=live, readout_format=".2f",
            )),
            forget_bias=labelled(widgets.FloatSlider(
                value=forget_bias, min=FORGET_BIAS[0], max=FORGET_BIAS[1], step=0.1,
                description="forget bias", continuous_update=live, readout_format=".1f",
            )),
            initializer=labelled(widgets.Dropdown(
                options=[(name, name) for name in RECURRENT_INITS], value=initializer,
                description="W_rec init",
            )),
            nonlinearity=labelled(widgets.Dropdown(
                options=[(name, name) for name in NONLINEARITIES], value=nonlinearity,
                description="vanilla φ",
            )),
        )  # fmt: skip
        c = self.controls
        layout = widgets.HBox(
            [
                widgets.VBox([c.length, c.hidden, c.gain, c.input_scale]),
                widgets.VBox(
                    [c.forget_bias, c.initializer, c.nonlinearity,
                     widgets.HBox([c.vanilla, c.lstm, c.gru])]
                ),  # fmt: skip
            ]
        )
        self.artists = recurrent_figure()
        super().__init__(layout, self.artists.figure)
        self.wire(*self.controls)
        self.refresh()

    @property
    def cells(self) -> tuple:
        """The cells ticked, in ``CELLS`` order."""
        return tuple(cell for cell in CELLS if getattr(self.controls, cell).value)

    def config(self):
        """The ``RNNConfig`` the controls stand for (its ``cell`` is the first ticked one)."""
        c = self.controls
        return through_time_config(
            cell=(self.cells or ("vanilla",))[0], nonlinearity=c.nonlinearity.value,
            initializer=c.initializer.value, length=int(c.length.value),
            hidden=int(c.hidden.value), gain=float(c.gain.value),
            input_scale=float(c.input_scale.value), forget_bias=float(c.forget_bias.value),
        )  # fmt: skip

    def compute_and_draw(self):
        if not self.cells:
            raise ValueError("tick at least one cell (vanilla, LSTM or GRU) to show.")
        config = self.config()
        key = (config.hidden, config.initializer)
        if key not in self._spectra:  # the gain only scales them: one eigensolve per key
            self._spectra[key] = unit_spectrum(config, self.seed)
        result = through_time(
            config, self.cells, self.x, seed=self.seed, spectrum=self._spectra[key]
        )
        grad = {cell: result.probes[cell].grad_h_norm for cell in result.cells}
        label = "\n".join(f"{_NAMES[c]}: {result.phases[c]}" for c in result.cells)
        title = (
            f"{config.initializer} W_rec, g = {config.gain:.3g}, n = {config.hidden}, "
            f"T = {config.length}, input scale {config.input_scale:.2f}"
            + (f", vanilla φ = {config.nonlinearity}" if "vanilla" in result.cells else "")
            + (f", forget bias {config.forget_bias:.1f}" if "lstm" in result.cells else "")
        )
        plotted = update_recurrent_figure(
            self.artists, grad,
            cell_state=result.probes["lstm"].grad_c_norm if "lstm" in result.cells else None,
            bound=result.bound if "vanilla" in result.cells else None,
            eigenvalues=result.eigenvalues, radius=result.radius, sigma_max=result.sigma_max,
            label=label, dtype=config.dtype, title=title,
        )  # fmt: skip
        return result, plotted, recurrent_summary(result)
