"""``FixComparison``: up to four networks, each with a fix, their per-layer gradients on one plot.

The explorer only wires controls to ``vgwidgets.experiments.compare`` (each slot a ``FixSpec``;
the depth, the weight scale and the bias scale shared; every network probed on the same batch of
handwritten digits, ``load_digits``, with parameters drawn from the same key) and to
``vgwidgets.plotting``'s comparison figure, with a table of the ratio of the first hidden layer's
norm to the last one's (``experiments.ratio``).

**What is plotted.** By default ``||dC/dW_l||_F``, the gradient of the weights of layer ``l``:
under batch normalization the bias ``b_l`` is cancelled by the mean subtraction, so
``||dC/db_l||`` is 0 up to rounding there and says nothing about how fast the layer learns
(Ioffe & Szegedy 2015, sec. 3.2). The *quantity* control switches to ``||dC/db_l||``, Nielsen's
speed of learning. The two can tell different stories: ``dC/dW_l = a_{l-1}^T dC/dz_l`` also
holds the layer's input, so where the forward signal and the back-propagated one change by
reciprocal factors per layer (ReLU with He's initialization times 2: ratio about 1 for ``W``,
about 1e5 for ``b`` at depth 20; tanh with small weights) ``||dC/dW_l||`` stays level while
``||dC/db_l||`` changes geometrically. For a configuration with clipping the solid line is the
clipped gradient (what an optimizer would use; ``LayerProbe.clipped_grad_w_norm``) and the faint
dashed line the unclipped one; the ratio in the table is taken from the solid line.

Moving a slider (depth, weight and bias scale, ``k``, the clipping threshold) or the clipping
mode compiles nothing new (see ``vgwidgets.experiments.compare``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import ipywidgets as widgets
import jax
import numpy as np

from ..engine import (
    ACTIVATIONS,
    CLIP_MODES,
    INITIALIZERS,
    NORMS,
    check_bool,
    check_choice,
    check_float,
    check_int,
)
from ..experiments import (
    CLIP_THRESHOLD,
    DEFAULT_SPECS,
    FIX_MAX_DEPTH,
    NORM_NAMES,
    RESIDUAL_EVERY,
    FixEntry,
    FixSpec,
    check_spec,
    compare,
    load_digits,
    ratio,
    ratio_trend,
)
from ..plotting import COLORS, FixCurve, fix_figure, update_fix_figure
from ._base import LOG_STEP, WARN_STYLE, Explorer, labelled

N_SLOTS = 4
DEPTH = (1, FIX_MAX_DEPTH)
WEIGHT_SCALE = (0.1, 10.0)  # a gain on each initializer's own scale; 1 is the recipe's
BIAS_SCALE = (0.0, 2.0)
WIDTH = (2, 256)
BATCH = (2, 1797)
QUANTITIES = {"w": "grad_w_norm", "b": "grad_b_norm"}
_YLABEL = {"w": "$\\|\\partial C/\\partial W_l\\|$", "b": "$\\|\\partial C/\\partial b_l\\|$"}


def curve(entry: FixEntry, quantity: str, label: str) -> FixCurve:
    """The plotted norms of ``entry``: clipped ones solid, the unclipped faint, if it clips."""
    field = QUANTITIES[quantity]
    unclipped = getattr(entry.probe, field)
    if entry.spec.clip == "none":
        return FixCurve(label, unclipped)
    return FixCurve(label, getattr(entry.probe, "clipped_" + field), unclipped)


def _cell(value: float) -> str:
    text = f"{value:.3g}"
    return f'<span style="{WARN_STYLE}">{text}</span>' if not np.isfinite(value) else text


def ratio_table(entries, curves) -> str:
    """The HTML table of first-over-last ratios, one row per enabled configuration."""
    head = (
        "<tr><th></th><th style='text-align:left'>configuration</th><th>layer 1</th>"
        "<th>layer L</th><th>layer 1 / layer L</th><th>note</th></tr>"
    )
    rows = []
    for slot, (entry, drawn) in enumerate(zip(entries, curves)):
        if entry is None:
            continue
        v = np.asarray(drawn.values, np.float64)
        notes = []
        if int(entry.probe.overflow_layer) >= 0:
            notes.append(f"overflow (inf/NaN) from layer {int(entry.probe.overflow_layer) + 1}")
        elif np.any(np.isnan(v)):
            notes.append("NaN gradient")
        if np.any(v == 0):
            notes.append("exact 0 in some layer")
        r = ratio(v)
        if not notes and np.isfinite(r):
            notes.append(ratio_trend(r))
        colour = COLORS[slot]
        rows.append(
            f"<tr><td style='color:{colour}'>&#9632; {slot + 1}</td>"
            f"<td style='text-align:left'>{html.escape(drawn.label)}</td>"
            f"<td>{_cell(v[0])}</td><td>{_cell(v[-1])}</td><td><b>{_cell(r)}</b></td>"
            f"<td>{'; '.join(notes)}</td></tr>"
        )
    if not rows:
        return "<div><i>No configuration enabled: tick one.</i></div>"
    style = "border-collapse: collapse; text-align: right; font-size: 90%;"
    return f"<table style='{style}' cellpadding='4'>{head}{''.join(rows)}</table>"


class SlotControls(NamedTuple):
    """The controls of one configuration; set ``.value`` to move one."""

    enabled: widgets.Checkbox
    activation: widgets.Dropdown
    initializer: widgets.Dropdown
    norm: widgets.Dropdown
    residual_every: widgets.IntSlider
    clip: widgets.Dropdown
    clip_threshold: widgets.FloatLogSlider


class FixControls(NamedTuple):
    """The shared controls; ``FixComparison.slots`` holds each configuration's."""

    depth: widgets.IntSlider
    weight_scale: widgets.FloatLogSlider
    bias_scale: widgets.FloatSlider
    quantity: widgets.Dropdown


class FixComparison(Explorer):
    """Up to four deep networks, each with a fix, and their per-layer gradient norms on one plot.

    Shared controls (``controls``): depth ``L`` (1 to 50), weight scale (a gain on every
    initializer's own scale, 0.1 to 10, log), bias scale (``b ~ N(0, scale^2)``), and the
    plotted quantity (``||dC/dW_l||`` or ``||dC/db_l||``). Per configuration (``slots[i]``):
    enabled, activation, initializer, normalization, skip every ``k`` (0: none), clipping and
    its threshold. Under the plot, a table of each configuration's first-over-last ratio.

    Everything on show is readable from Python: ``result`` (a tuple of ``FixEntry`` or ``None``,
    one per slot), ``plotted`` (a ``FixPlotData``), ``specs()``, ``error``, ``png``; the batch
    is ``x``, ``y`` and the parameters' key ``key``.

    Args:
      specs: 1 to 4 ``FixSpec`` (or dicts of their fields) for the slots; slots past them
        take ``DEFAULT_SPECS``' entries, disabled. ``None``: ``DEFAULT_SPECS``, all enabled.
      depth: ``L``, in ``[1, 50]``.
      weight_scale: in ``[0.1, 10]``.
      bias_scale: in ``[0, 2]``.
      quantity: "w" (``||dC/dW_l||``) or "b" (``||dC/db_l||``).
      width: units per hidden layer, in ``[2, 256]`` (fixed: a new width compiles anew).
      batch: how many of the 1,797 digits to probe on, in ``[2, 1797]``.
      seed: the parameters' key, ``jax.random.key(seed)``, a non-negative integer.
      continuous_update: recompute while a slider is dragged (on by default; the kernel
        throttles the updates, so a drag never queues stale ones: see ``Explorer``).

    Example:
      >>> from vgwidgets import FixComparison
      >>> fix = FixComparison(depth=20)
      >>> ratios = [e.probe.grad_w_norm[0] / e.probe.grad_w_norm[-1] for e in fix.result]
      >>> bool(ratios[0] < 1e-6 < 0.1 < ratios[1])  # sigmoid vanishes; ReLU + He does not
      True

    References:
      Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015). He et al., ICCV 2015 (He
      initialization) and CVPR 2016 (residual). Ioffe & Szegedy, ICML 2015. Ba, Kiros & Hinton
      2016. Pascanu, Mikolov & Bengio, ICML 2013 (clipping).
    """

    def __init__(
        self,
        *,
        specs: Sequence | None = None,
        depth: int = 20,
        weight_scale: float = 1.0,
        bias_scale: float = 0.0,
        quantity: str = "w",
        width: int = 32,
        batch: int = 64,
        seed: int = 0,
        continuous_update: bool = True,
    ):
        specs = self._check_specs(specs)
        depth = check_int("depth", depth, *DEPTH)
        weight_scale = check_float("weight_scale", weight_scale, *WEIGHT_SCALE)
        bias_scale = check_float("bias_scale", bias_scale, *BIAS_SCALE)
        quantity = check_choice("quantity", quantity, QUANTITIES)
        self.width = check_int("width", width, *WIDTH)
        batch = check_int("batch", batch, *BATCH)
        seed = check_int("seed", seed, 0, 2**31 - 1)
        live = check_bool("continuous_update", continuous_update)
        digits = load_digits()
        self.x, self.y = digits.x[:batch], digits.y[:batch]
        self.key = jax.random.key(seed)

        def log_slider(description, value, limits, step):
            return widgets.FloatLogSlider(
                value=value, base=10, min=np.log10(limits[0]), max=np.log10(limits[1]),
                step=step, description=description, continuous_update=live,
                readout_format=".3g",
            )  # fmt: skip

        self.controls = FixControls(
            depth=labelled(widgets.IntSlider(value=depth, min=DEPTH[0], max=DEPTH[1],
                                             description="depth L", continuous_update=live)),
            weight_scale=labelled(log_slider("weight scale", weight_scale, WEIGHT_SCALE, LOG_STEP)),
            bias_scale=labelled(widgets.FloatSlider(
                value=bias_scale, min=BIAS_SCALE[0], max=BIAS_SCALE[1], step=0.05,
                description="bias scale", continuous_update=live, readout_format=".2f")),
            quantity=labelled(widgets.Dropdown(
                options=[("‖∂C/∂W_l‖ (weights)", "w"), ("‖∂C/∂b_l‖ (biases)", "b")],
                value=quantity, description="plot")),
        )  # fmt: skip
        narrow = "6em"

        def dropdown(description, options, value):
            return labelled(
                widgets.Dropdown(options=options, value=value, description=description,
                                 layout=widgets.Layout(width="15em")),
                narrow,
            )  # fmt: skip

        slots = []
        for i, spec in enumerate(specs):
            slots.append(SlotControls(
                enabled=widgets.Checkbox(value=spec.enabled, description=f"network {i + 1}",
                                         indent=False),
                activation=dropdown("activation", list(ACTIVATIONS), spec.activation),
                initializer=dropdown("initializer", list(INITIALIZERS), spec.initializer),
                norm=dropdown("normalize", [(NORM_NAMES[n], n) for n in NORMS], spec.norm),
                residual_every=labelled(widgets.IntSlider(
                    value=spec.residual_every, min=RESIDUAL_EVERY[0], max=RESIDUAL_EVERY[1],
                    description="skip every", continuous_update=live,
                    layout=widgets.Layout(width="15em")), narrow),
                clip=dropdown("clip", [(m.replace("_", " "), m) for m in CLIP_MODES], spec.clip),
                clip_threshold=labelled(log_slider("threshold", spec.clip_threshold,
                                                   CLIP_THRESHOLD, LOG_STEP), narrow),
            ))  # fmt: skip
            slots[-1].clip_threshold.layout.width = "15em"
        self.slots = tuple(slots)
        c = self.controls
        shared = widgets.HBox([widgets.VBox([c.depth, c.weight_scale]),
                               widgets.VBox([c.bias_scale, c.quantity])])  # fmt: skip
        columns = widgets.HBox([widgets.VBox(list(slot)) for slot in self.slots])
        self.artists = fix_figure(n_curves=N_SLOTS)
        super().__init__(widgets.VBox([shared, columns]), self.artists.figure)
        self.wire(*self.controls, *(control for slot in self.slots for control in slot))
        self.refresh()

    @staticmethod
    def _check_specs(specs) -> tuple:
        if specs is None:
            return DEFAULT_SPECS
        if isinstance(specs, (str, Mapping, FixSpec)) or not isinstance(specs, Sequence):
            raise ValueError(
                f"specs must be a list of 1 to {N_SLOTS} FixSpec (or dicts); got {specs!r}."
            )
        if not 1 <= len(specs) <= N_SLOTS:
            raise ValueError(f"specs must hold 1 to {N_SLOTS} configurations; got {len(specs)}.")
        given = [check_spec(f"specs[{i}]", spec) for i, spec in enumerate(specs)]
        return (*given, *(s._replace(enabled=False) for s in DEFAULT_SPECS[len(given) :]))

    def specs(self) -> tuple:
        """The configurations the slot controls stand for, one ``FixSpec`` per slot."""
        return tuple(
            FixSpec(s.activation.value, s.initializer.value, s.norm.value,
                    s.residual_every.value, s.clip.value, s.clip_threshold.value,
                    s.enabled.value)
            for s in self.slots
        )  # fmt: skip

    def compute_and_draw(self):
        c = self.controls
        specs = self.specs()
        for slot, spec in zip(self.slots, specs):
            for control in slot[1:]:
                control.disabled = not spec.enabled
            slot.clip_threshold.disabled = not spec.enabled or spec.clip == "none"
        entries = compare(
            specs, depth=c.depth.value, weight_scale=c.weight_scale.value,
            bias_scale=c.bias_scale.value, width=self.width, x=self.x, y=self.y, key=self.key,
        )  # fmt: skip
        quantity = c.quantity.value
        curves = [
            None if e is None else curve(e, quantity, f"{i + 1}: {e.spec.label()}")
            for i, e in enumerate(entries)
        ]
        # A short title: every character costs render time; the rest goes under the table.
        title = (
            f"At initialization: L = {c.depth.value}, weight scale {c.weight_scale.value:.3g}, "
            f"bias scale {c.bias_scale.value:.2f}"
        )
        plotted = update_fix_figure(self.artists, curves, ylabel=_YLABEL[quantity], title=title)
        setting = (
            f"<div style='font-size: 85%; color: #555;'>{self.width} units per hidden layer, "
            f"{len(self.x)} handwritten digits, every network drawn from the same key; faint "
            "dashed lines: the gradient before clipping.</div>"
        )
        return entries, plotted, ratio_table(entries, curves) + setting
