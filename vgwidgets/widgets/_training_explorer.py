"""``TrainingExplorer``: train a deep network on the digits and watch its gradients as it learns.

The explorer only wires controls to ``vgwidgets.engine.train_chunks`` and to
``vgwidgets.plotting``'s training figure. The network's and the optimizer's controls only set
what the next run will be; the Train button runs it. In a kernel (a running asyncio loop) the
run goes in chunks of about a quarter of a second, each computed in a worker thread, and the
figure and the progress bar are updated between chunks, so the kernel stays free to answer the
browser; outside one (a script, a test) ``train()`` runs it at once. The step slider scrubs the
recorded history: it recomputes nothing.

Depth is traced under ``max_depth = 30``, and the learning rate, momentum, clipping and steps
are traced too (``TrainConfig``): changing them compiles nothing. A new width, activation,
initializer, normalization or optimizer compiles once.
"""

from __future__ import annotations

import asyncio
import html
from typing import NamedTuple

import ipywidgets as widgets
import jax
import numpy as np

from ..engine import (
    ACTIVATIONS,
    CLIP_MODES,
    INITIALIZERS,
    NORMS,
    OPTIMIZERS,
    MLPConfig,
    TrainConfig,
    check_bool,
    check_choice,
    check_float,
    check_int,
    train_chunks,
)
from ..experiments import digits_split
from ..plotting import (
    RunPlotData,
    render_training,
    scrub_training_figure,
    training_figure,
    update_training_figure,
)
from ._base import LOG_STEP, Explorer, labelled, warnings_html

MAX_DEPTH = 30
WIDTHS = (16, 32, 64, 128)
GAIN_EXPONENT = (-1.0, 1.0)
LR_EXPONENT = (-4.0, 1.0)
CLIP_EXPONENT = (-2.0, 2.0)
STEPS = (50, 2000, 50)  # min, max, step of the steps slider
N_RECORDS = 50  # records per run: record_every = steps / 50
BATCH = 64
SLOTS = ("A", "B")
QUANTITIES = {
    "||dC/dW_l||": "grad_w_norm",
    "||dC/db_l||": "grad_b_norm",
    "update ratio ||ΔW_l||/||W_l||": "update_ratio",
}
CHUNK_SECONDS = 0.25


class TrainingControls(NamedTuple):
    """The explorer's controls; set ``.value`` on any of them to move it."""

    activation: widgets.Dropdown
    initializer: widgets.Dropdown
    gain: widgets.FloatLogSlider
    depth: widgets.IntSlider
    width: widgets.Dropdown
    norm: widgets.Dropdown
    residual_every: widgets.IntSlider
    optimizer: widgets.Dropdown
    learning_rate: widgets.FloatLogSlider
    clip: widgets.Dropdown
    clip_threshold: widgets.FloatLogSlider
    steps: widgets.IntSlider
    slot: widgets.ToggleButtons
    quantity: widgets.Dropdown
    step: widgets.IntSlider


# The CSS class of the controls that only set the next run (the browser tests move the others).
WAITS_FOR_TRAIN = "vg-waits-for-train"
_SETTINGS = (
    "activation", "initializer", "gain", "depth", "width", "norm", "residual_every",
    "optimizer", "learning_rate", "clip", "clip_threshold", "steps",
)  # fmt: skip


def run_configs(settings: dict) -> tuple[MLPConfig, TrainConfig]:
    """The engine's configs for one slot's settings (raises the engine's errors)."""
    config = MLPConfig(
        n_in=64, n_out=10, depth=settings["depth"], max_depth=MAX_DEPTH, width=settings["width"],
        activation=settings["activation"], initializer=settings["initializer"],
        weight_scale=settings["gain"], bias_scale=0.0, loss="softmax_cross_entropy",
        norm=settings["norm"], residual_every=settings["residual_every"], clip=settings["clip"],
        clip_threshold=settings["clip_threshold"],
    )  # fmt: skip
    steps = settings["steps"]
    train_config = TrainConfig(
        optimizer=settings["optimizer"], learning_rate=settings["learning_rate"], steps=steps,
        record_every=max(1, steps // N_RECORDS), batch_size=BATCH,
    )  # fmt: skip
    return config, train_config


def checked_settings(*, activation, initializer, gain, depth, width, norm, residual_every,
                     optimizer, learning_rate, clip, clip_threshold, steps) -> dict:
    """One run's settings, each checked against its control's range."""
    settings = {
        "activation": check_choice("activation", activation, ACTIVATIONS),
        "initializer": check_choice("initializer", initializer, INITIALIZERS),
        "gain": check_float("gain", gain, 10 ** GAIN_EXPONENT[0], 10 ** GAIN_EXPONENT[1]),
        "depth": check_int("depth", depth, 1, MAX_DEPTH),
        "width": width,
        "norm": check_choice("norm", norm, NORMS),
        "residual_every": check_int("residual_every", residual_every, 0, MAX_DEPTH),
        "optimizer": check_choice("optimizer", optimizer, OPTIMIZERS),
        "learning_rate": check_float(
            "learning_rate", learning_rate, 10 ** LR_EXPONENT[0], 10 ** LR_EXPONENT[1]
        ),
        "clip": check_choice("clip", clip, CLIP_MODES),
        "clip_threshold": check_float(
            "clip_threshold", clip_threshold, 10 ** CLIP_EXPONENT[0], 10 ** CLIP_EXPONENT[1]
        ),
        "steps": check_int("steps", steps, STEPS[0], STEPS[1]),
    }
    if isinstance(width, bool) or width not in WIDTHS:
        raise ValueError(f"width must be one of {', '.join(map(str, WIDTHS))}; got {width!r}.")
    if settings["steps"] % STEPS[2]:
        raise ValueError(f"steps must be a multiple of {STEPS[2]}; got {steps!r}.")
    return settings


def _title(slot: str, s: dict) -> str:
    return (
        f"{slot}: {s['activation']}, {s['initializer']} ×{s['gain']:.3g}, L={s['depth']}, "
        f"n={s['width']}, {s['optimizer']} lr={s['learning_rate']:.3g}"
        + (f", clip {s['clip']} {s['clip_threshold']:.3g}" if s["clip"] != "none" else "")
        + (f", {s['norm']} norm" if s["norm"] != "none" else "")
        + (f", skip/{s['residual_every']}" if s["residual_every"] else "")
    )


class TrainingExplorer(Explorer):
    """Train a deep MLP on the digits; scrub its loss, gradient norms, saturation and histograms.

    Controls: the network (activation, initializer with its gain, depth 1..30, width,
    normalization, a skip connection every ``k`` layers), the optimizer (SGD, momentum, Adam),
    learning rate, clipping (by value or by global norm, with its threshold) and steps; "run"
    chooses which of two runs (A, B) these controls set; Train trains the runs whose settings
    changed; the step slider scrubs the history. Panels, per run: training and test loss; a
    layer-by-step heat map of ``log10`` of the chosen quantity; the saturated and dead
    fractions per layer at the chosen step; histograms of activations and of
    ``log10 |dC/dW_l|`` of the first, middle and last layer at that step. A run that diverges
    shows the step where inf or NaN first appeared.

    Readable from Python: ``result`` (``{"A": TrainResult, ...}``, trimmed), ``plotted``,
    ``settings`` (per slot), ``pending`` (slots whose settings changed since their run),
    ``error``, ``png``.

    Args:
      activation, initializer, gain, depth, width, norm, residual_every, optimizer,
        learning_rate, clip, clip_threshold, steps: run A's settings (B starts as a copy).
      compare: show two runs side by side: ``True`` (B starts as a copy of A) or a dict of
        the settings in which B differs, e.g. ``{"initializer": "glorot_normal"}``.
      step: the step shown, or ``None`` for the last one.
      seed: draws the networks and the minibatches.
      continuous_update: sliders send their values while dragged (the step slider scrubs as
        it moves; the kernel throttles the redraws, see ``Explorer``).

    Example:
      >>> from vgwidgets import TrainingExplorer
      >>> explorer = TrainingExplorer(depth=4, steps=100)
      >>> bool(explorer.result["A"].test_acc[-1] > explorer.result["A"].test_acc[0])
      True
      >>> explorer.controls.step.value = 50  # scrubs: nothing is recomputed
      >>> explorer.plotted[0].at
      25

    References:
      Nielsen (2015), ch. 5; Glorot & Bengio, AISTATS 2010; He et al., ICCV 2015; Karpathy,
      "Building makemore part 3" (2022).
    """

    def __init__(
        self,
        *,
        activation: str = "relu",
        initializer: str = "he_normal",
        gain: float = 1.0,
        depth: int = 10,
        width: int = 32,
        norm: str = "none",
        residual_every: int = 0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        clip: str = "none",
        clip_threshold: float = 1.0,
        steps: int = 200,
        compare: bool | dict = False,
        step: int | None = None,
        seed: int = 0,
        continuous_update: bool = True,
    ):
        settings = checked_settings(
            activation=activation, initializer=initializer, gain=gain, depth=depth, width=width,
            norm=norm, residual_every=residual_every, optimizer=optimizer,
            learning_rate=learning_rate, clip=clip, clip_threshold=clip_threshold, steps=steps,
        )  # fmt: skip
        if isinstance(compare, dict):
            unknown = sorted(set(compare) - set(_SETTINGS))
            if unknown:
                raise ValueError(
                    f"compare must be True, False or a dict of run B's settings among "
                    f"{', '.join(_SETTINGS)}; got the key(s) {', '.join(map(repr, unknown))}."
                )
            b_settings = checked_settings(**{**settings, **compare})
        else:
            compare = check_bool("compare", compare)
            b_settings = dict(settings)
        if step is not None:
            step = check_int("step", step, 0, max(settings["steps"], b_settings["steps"]))
        self.seed = check_int("seed", seed, 0, 2**31 - 1)
        live = check_bool("continuous_update", continuous_update)
        self.slots = SLOTS if compare else SLOTS[:1]
        self.settings = {"A": settings, "B": b_settings} if compare else {"A": settings}
        self.pending = set(self.slots)
        self.runs: dict = {}
        self.trained: dict = {}  # slot -> the settings its run was trained with
        self.task: asyncio.Task | None = None
        self._again = False
        self._loading = False
        self._key = self._drawn = None  # what the figure's background was last drawn for
        self._version = 0  # counts the changes of self.runs
        self._data = digits_split()

        def log_slider(value, exponents, description):
            return labelled(widgets.FloatLogSlider(
                value=value, base=10, min=exponents[0], max=exponents[1], step=LOG_STEP,
                description=description, continuous_update=live, readout_format=".3g",
            ))  # fmt: skip

        def dropdown(value, options, description):
            return labelled(widgets.Dropdown(options=options, value=value, description=description))

        s = settings
        last = max(self.settings[slot]["steps"] for slot in self.slots)
        self.controls = TrainingControls(
            activation=dropdown(s["activation"], list(ACTIVATIONS), "activation"),
            initializer=dropdown(s["initializer"], list(INITIALIZERS), "initializer"),
            gain=log_slider(s["gain"], GAIN_EXPONENT, "gain"),
            depth=labelled(widgets.IntSlider(value=s["depth"], min=1, max=MAX_DEPTH,
                                             description="depth L", continuous_update=live)),
            width=dropdown(s["width"], [(str(w), w) for w in WIDTHS], "width"),
            norm=dropdown(s["norm"], list(NORMS), "normalization"),
            residual_every=labelled(widgets.IntSlider(
                value=s["residual_every"], min=0, max=MAX_DEPTH, description="skip every",
                continuous_update=live)),
            optimizer=dropdown(s["optimizer"], list(OPTIMIZERS), "optimizer"),
            learning_rate=log_slider(s["learning_rate"], LR_EXPONENT, "learning rate"),
            clip=dropdown(s["clip"], list(CLIP_MODES), "clipping"),
            clip_threshold=log_slider(s["clip_threshold"], CLIP_EXPONENT, "clip threshold"),
            steps=labelled(widgets.IntSlider(value=s["steps"], min=STEPS[0], max=STEPS[1],
                                             step=STEPS[2], description="steps",
                                             continuous_update=live)),
            slot=widgets.ToggleButtons(options=list(self.slots), value="A", description="run"),
            quantity=dropdown("||dC/dW_l||", list(QUANTITIES), "heat map"),
            step=labelled(widgets.IntSlider(value=last if step is None else step, min=0,
                                            max=last, step=1, description="step",
                                            continuous_update=live)),
        )  # fmt: skip
        c = self.controls
        self.button = widgets.Button(description="Train", button_style="primary", icon="play")
        # Progress as HTML, not an IntProgress: it is a display of the run, not a control.
        self.progress = widgets.HTML()
        self.done, self.total = 0, 1
        self.button.on_click(lambda _: self.start())
        box = widgets.VBox([
            widgets.HBox([
                widgets.VBox([c.activation, c.initializer, c.gain, c.depth, c.width, c.norm]),
                widgets.VBox([c.residual_every, c.optimizer, c.learning_rate, c.clip,
                              c.clip_threshold, c.steps]),
            ]),
            widgets.HBox([c.slot, self.button, self.progress]) if len(self.slots) > 1
            else widgets.HBox([self.button, self.progress]),
            widgets.HBox([c.step, c.quantity]),
        ])  # fmt: skip
        self.artists = training_figure(len(self.slots))
        super().__init__(box, self.artists.figure)
        for name in _SETTINGS:
            getattr(c, name).observe(self._on_setting, names="value")
            # marked in the page: these only set the next run, they redraw nothing
            getattr(c, name).add_class(WAITS_FOR_TRAIN)
        c.slot.observe(self._on_slot, names="value")
        self.wire(c.step, c.quantity)
        self.start()

    # -- settings ---------------------------------------------------------------------------

    def _on_setting(self, change) -> None:
        if self._loading:
            return
        slot = self.controls.slot.value
        self.settings[slot][self._name_of(change["owner"])] = change["new"]
        self.pending.add(slot)
        self.summary.value = self._summary()

    def _name_of(self, control) -> str:
        for name in _SETTINGS:
            if getattr(self.controls, name) is control:
                return name
        raise KeyError(control)

    def _on_slot(self, change) -> None:
        self._loading = True
        try:
            for name, value in self.settings[change["new"]].items():
                getattr(self.controls, name).value = value
        finally:
            self._loading = False
        self.summary.value = self._summary()

    # -- training ---------------------------------------------------------------------------

    def _jobs(self):
        """``(slot, config, train_config)`` for every pending slot; a bad setting raises."""
        jobs = [(slot, *run_configs(self.settings[slot])) for slot in self.slots
                if slot in self.pending]  # fmt: skip
        for slot, _, _ in jobs:  # a setting changed from here on makes the slot pending again
            self.trained[slot] = dict(self.settings[slot])
            self.pending.discard(slot)
        return jobs

    def _chunks(self, config, train_config):
        return train_chunks(config, train_config, self._data, key=jax.random.key(self.seed),
                            chunk_seconds=CHUNK_SECONDS)  # fmt: skip

    def _finish(self, slot, result) -> None:
        self._set_run(slot, result.trim())

    def _set_run(self, slot, result) -> None:
        """Store a run (or its record so far); the next draw is a full one."""
        self.runs[slot] = result
        self._version += 1

    def _show_error(self, error: BaseException) -> None:
        from ._base import error_html

        self.error, self.exception = f"{type(error).__name__}: {error}", error
        self.status.value = error_html(f"{self.error}\n(The figure still shows the last run.)")

    def train(self) -> bool:
        """Train every pending run now, in this thread, and redraw; ``False`` on a bad setting
        (shown in the explorer, which keeps its last good runs)."""
        try:
            jobs = self._jobs()
        except (ValueError, TypeError) as error:
            self._show_error(error)
            return False
        self._progress(0, sum(tc.steps // tc.record_every + 1 for _, _, tc in jobs))
        for slot, config, train_config in jobs:
            for result in self._chunks(config, train_config):
                self._set_run(slot, result)
            self._finish(slot, self.runs[slot])
            self._progress(self.done + int(self.runs[slot].recorded.sum()))
        self._after_training()
        return True

    def _progress(self, done: int, total: int | None = None) -> None:
        """Show ``done`` of ``total`` records as a bar."""
        self.done, self.total = done, self.total if total is None else max(total, 1)
        self.progress.value = (
            f'<progress value="{self.done}" max="{self.total}" style="width: 12em"></progress> '
            f"{self.done} / {self.total} records"
        )

    def start(self) -> None:
        """What the Train button does: ``train()`` at once without a running event loop, else
        an asyncio task that trains in chunks in a worker thread and redraws between them."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self.train()
            return
        if self.task is not None and not self.task.done():
            self._again = True  # already training: train what is pending once it is done
            return
        if not self.png:
            # The empty figure first: the task's first record can take tens of seconds when
            # its programs are not in the compilation cache.
            self.refresh()
        self.button.disabled = True
        self.task = loop.create_task(self._train_async())

    async def _train_async(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            jobs = self._jobs()
            self._progress(0, sum(tc.steps // tc.record_every + 1 for _, _, tc in jobs))
            before = 0
            for slot, config, train_config in jobs:
                chunks = self._chunks(config, train_config)
                while True:
                    result = await loop.run_in_executor(None, next, chunks, None)
                    if result is None:
                        break
                    self._set_run(slot, result)
                    self._progress(before + int(result.recorded.sum()))
                    self._after_training(partial=True)
                    await asyncio.sleep(0)
                before = self.done
                self._finish(slot, self.runs[slot])
            self._after_training()
        except Exception as error:  # noqa: BLE001 (a task has nowhere to raise to)
            self._show_error(error)
        finally:
            self.button.disabled = False
            if self._again:
                self._again, self.task = False, None
                self.start()

    def _after_training(self, partial: bool = False) -> None:
        """Fit the step slider to the longest run (once it is done) and redraw."""
        if not partial:
            longest = max((int(r.step[-1]) for r in self.runs.values()), default=0)
            slider = self.controls.step
            if slider.max != longest:
                value = slider.value if slider.value < slider.max else longest
                slider.max = max(longest, 1)
                if slider.value != value:
                    slider.value = value  # refreshes
                    return
        self.refresh()

    # -- drawing ----------------------------------------------------------------------------

    def _plot_data(self, slot, result) -> RunPlotData | None:
        if result is None:
            return None
        trimmed = result.trim()
        n = len(trimmed.step)
        if n == 0:
            return None
        at = int(np.searchsorted(trimmed.step, self.controls.step.value, side="right") - 1)
        at = min(max(at, 0), n - 1)
        with np.errstate(all="ignore"):
            heat = np.log10(getattr(trimmed, QUANTITIES[self.controls.quantity.value])).T
        depth = trimmed.grad_w_norm.shape[1]
        layers = tuple(sorted({1, (depth + 1) // 2, depth}))
        index = [layer - 1 for layer in layers]

        def top(hist):  # the largest fraction per bin of the shown layers over every record
            counts = hist[:, index]
            return float(np.max(counts / np.maximum(counts.sum(-1, keepdims=True), 1.0)))

        return RunPlotData(
            _title(slot, self.trained.get(slot, self.settings[slot])), trimmed.step,
            trimmed.train_loss, trimmed.test_loss, heat, at, trimmed.saturated_frac[at],
            trimmed.dead_frac[at], layers, trimmed.act_edges, trimmed.act_hist[at][index],
            trimmed.grad_edges, trimmed.grad_hist[at][index], int(trimmed.first_nonfinite),
            top(trimmed.act_hist), top(trimmed.grad_hist),
        )  # fmt: skip

    def compute_and_draw(self):
        runs = {slot: self.runs.get(slot) for slot in self.slots}
        data = [self._plot_data(slot, r) for slot, r in runs.items()]
        quantity = self.controls.quantity.value
        # Only the step moved since the last full render: redraw the step's artists alone.
        # (A counter, not the runs' ids: a freed run's id can be reused by the next one.)
        self._key = (self._version, quantity)
        if self._key == self._drawn:
            plotted = scrub_training_figure(self.artists, data)
        else:
            plotted = update_training_figure(self.artists, data, heat_name=quantity)
        result = {slot: r.trim() for slot, r in runs.items() if r is not None}
        return result, plotted, self._summary(result)

    def render(self) -> bytes:
        full = self._key != self._drawn
        png = render_training(self.artists, full=full)
        self._drawn = self._key
        return png

    def _summary(self, result=None) -> str:
        result = self.result if result is None else result
        lines = []
        for slot, r in (result or {}).items():
            bad = int(r.first_nonfinite)
            line = (
                f"<b>{slot}</b>: training loss <code>{r.train_loss[-1]:.4g}</code>, test accuracy "
                f"<code>{r.test_acc[-1]:.3f}</code> after {int(r.step[-1])} steps"
            )
            if bad >= 0:
                line += warnings_html([f"inf or nan first at step {bad}"])
            lines.append(line)
        if self.pending and result:
            lines.append(
                "<i>settings changed for run(s) "
                f"{html.escape(', '.join(sorted(self.pending)))}: press Train</i>"
            )
        return "<div>" + "<br>".join(lines) + "</div>"
