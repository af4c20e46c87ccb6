"""What every explorer shares: controls wired to one refresh, a PNG view, errors shown inside.

The wiring pattern (ipywidgets' "separating concerns"): the computation lives in the engine,
the drawing in ``vgwidgets.plotting``; an explorer only builds its controls and a figure once,
and on every change of a control runs ``compute -> draw -> render`` in ``refresh``.

Drawing is portable: the figure is rendered to PNG bytes by matplotlib's Agg canvas and shown
in an ``ipywidgets.Image``; a ``FigureRenderer`` redraws only what changed (blitting). That
works alike in Colab, VS Code, JupyterLab and Voila, with ipywidgets 7.7.1 and 8, needs no
``%matplotlib widget`` and registers nothing with pyplot.

A failing refresh never propagates out of a callback: its message is shown in the explorer,
the last good figure, result and plotted data stay, and the next valid change recovers.

Sliders follow the drag (``continuous_update``), throttled in the kernel as in ipywidgets'
"Widget Events" documentation (throttling): a change sent by the browser only schedules a
refresh on the kernel's event loop; changes that arrive before it runs replace one another, so
a refresh always draws the latest values and no queue of stale ones builds up. The rule for
when a change is throttled and when it refreshes at once is in ``Explorer``'s docstring.
"""

from __future__ import annotations

import asyncio
import html
import time
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..engine import check_float
from ..plotting import FigureRenderer
from ._cache import ensure_compilation_cache

# Seconds between the end of one throttled refresh and the start of the next (``throttle``).
DEFAULT_THROTTLE_S = 0.05

# A summary's warnings (overflow, nan, exact zeros): dark red, bold.
WARN_STYLE = "color: #b00020; font-weight: bold;"
# The exponent step of every log slider. The browser's slider snaps the value to its step and
# sends the snapped value back to the kernel, so a coarse step moves a value the constructor was
# given (10^-0.1 = 0.794 for 0.8 at step 0.01): at 0.001 every value is within 0.12% of the one
# given, and reads the same to the readout's 3 significant digits.
LOG_STEP = 0.001
_ERROR_STYLE = (
    "color: #8a1020; background: #fdecea; border: 1px solid #d9534f; border-radius: 4px; "
    "padding: 4px 8px; margin: 4px 0; font-family: monospace; white-space: pre-wrap;"
)


def warnings_html(notes) -> str:
    """Each of ``notes`` (HTML) on its own line, in the warning style; "" for none."""
    return "".join(f'<br><span style="{WARN_STYLE}">{note}</span>' for note in notes)


def error_html(message: str) -> str:
    """``message`` escaped and boxed as an error, for an ``ipywidgets.HTML``."""
    return f'<div style="{_ERROR_STYLE}">{html.escape(message)}</div>'


def labelled(control: widgets.Widget, width: str = "9em") -> widgets.Widget:
    """Give ``control``'s description a fixed width, so that a column of controls lines up."""
    control.style.description_width = width
    return control


class Explorer(widgets.VBox):
    """Base of the explorers: a ``VBox`` of controls, a PNG of one figure, a summary, an error area.

    Being a ``VBox`` (not an object holding one), an explorer shows when a notebook cell
    evaluates it, nests in other layouts, and works as it is with ipywidgets 7.7.1 and 8:
    the display hooks (``_ipython_display_`` in 7, ``_repr_mimebundle_`` in 8) are inherited.

    A subclass builds its controls and figure, calls ``super().__init__``, wires the controls
    with ``self.wire(...)`` and calls ``self.refresh()`` once; it implements ``compute_and_draw``,
    which returns ``(result, plotted, summary_html)`` after redrawing ``self.figure`` in place.

    Attributes:
      figure: the one ``matplotlib.figure.Figure``, built once.
      image: the ``ipywidgets.Image`` showing its PNG.
      summary: an ``ipywidgets.HTML`` under the image.
      status: the ``ipywidgets.HTML`` where an error is shown ("" when there is none).
      result: the last good computation's result (``None`` before the first).
      plotted: the data the last good refresh gave the figure's artists.
      error: the last refresh's error message, or ``None`` if it succeeded.
      exception: the exception behind ``error``, for debugging, or ``None``.
      throttle: seconds, at least, between the end of one throttled refresh and the start of
        the next (default 0.05); 0 makes every change refresh at once.
      renderer: the ``vgwidgets.plotting.FigureRenderer`` that turns ``figure`` into the PNG;
        its ``counts`` say how often an update redrew everything, some axes, or nothing static.
      wired: the controls ``wire`` connected, in order (the bench moves every one of them).
      SHAPE_CONTROLS: (class attribute) names of controls whose new values change the shapes
        or dtypes computed with (a width, float64): those may compile once per value, and the
        bench counts their first uses apart; every other move must compile nothing.

    Fast updates, with no code in the subclass: ``refresh`` renders through ``renderer``,
    which draws the static parts of the figure once, the axes' ticks and labels again only
    where limits moved, and on every update only the changing artists (see
    ``FigureRenderer``). Every artist in an axes' data coordinates is redrawn on every update
    by itself; a text in axes or figure coordinates that changes with the controls (a title
    naming the values, a label in a corner, a note) should be marked in the figure's builder
    with ``vgwidgets.plotting.changing(artist)``, else each of its changes redraws the whole
    figure (still correct, only slower). Set limits only when they change, and titles only
    when their text does (``set_title`` with a font size marks the figure changed each time).

    When a change refreshes at once and when it is throttled:
      * A change made by Python code (``slider.value = x`` in a test, a script or a notebook
        cell) refreshes at once, before the assignment returns: ``result``, ``plotted`` and
        ``png`` are up to date on the next line, with or without an event loop.
      * A change sent by the browser (ipywidgets' ``set_state``; a dragged slider sends one per
        move) is throttled when ``throttle > 0`` and an asyncio event loop is running, as in
        a Jupyter kernel, Voila or Colab: unless a refresh is already scheduled, it schedules
        one with the loop's ``call_later``, ``throttle`` seconds after the last throttled
        refresh ended (counted from its end, not its start as in the documentation's
        example, so that the kernel reads the moves that queued up during a refresh before
        it draws again). That refresh reads the controls as they are when it runs: the latest
        value wins, and the moves in between cost nothing. With no running loop (plain
        pytest, a script), or ``throttle == 0``, it refreshes at once.
      * A refresh made at once cancels a scheduled one: it has drawn the latest values.
      Errors in a throttled refresh are shown in ``status`` like any other.
    """

    # Names of the controls (fields of ``self.controls``) whose values change an array's shape
    # or dtype (a width, float64): each new value compiles once, and is then cached. Every
    # other move of every control, choices included, compiles nothing (tests/test_explorers.py
    # checks it; the bench counts both apart).
    SHAPE_CONTROLS: tuple[str, ...] = ()
    # On the class, so that ``close`` works on an explorer whose constructor raised early.
    _scheduled: asyncio.TimerHandle | None = None  # the throttled refresh to come, if any
    _last_throttled_end = -float("inf")

    def __new__(cls, *args, **kwargs):
        # Before a subclass's constructor compiles anything: JAX's persistent compilation
        # cache in a per-user folder, unless turned off or set up by the user (``_cache.py``).
        ensure_compilation_cache()
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, controls: widgets.Widget, figure: Figure, **kwargs):
        self.figure = figure
        self.renderer = FigureRenderer(figure)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        self.result: Any = None
        self.plotted: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.throttle = DEFAULT_THROTTLE_S
        self.wired: list = []
        super().__init__(children=[controls, self.image, self.summary, self.status], **kwargs)

    @property
    def png(self) -> bytes:
        """The PNG bytes on show: the last good figure."""
        return bytes(self.image.value)

    def wire(self, *controls: widgets.Widget) -> None:
        """Refresh whenever one of ``controls`` changes value (they are listed in ``wired``)."""
        for control in controls:
            control.observe(self._on_change, names="value")
            self.wired.append(control)

    @property
    def throttle(self) -> float:
        """Seconds between throttled refreshes; 0: every change refreshes at once."""
        return self._throttle

    @throttle.setter
    def throttle(self, seconds: float) -> None:
        self._throttle = check_float("throttle", seconds, 0.0, 10.0)

    def _on_change(self, change=None) -> None:
        loop = _running_loop() if self.throttle > 0 and _from_browser(change) else None
        if loop is None:
            self.refresh()
        elif self._scheduled is None:  # else the scheduled refresh will read this value too
            delay = self._last_throttled_end + self.throttle - time.monotonic()
            self._scheduled = loop.call_later(max(0.0, delay), self._throttled_refresh)

    def _throttled_refresh(self) -> None:
        self._scheduled = None
        try:
            self.refresh()
        finally:
            self._last_throttled_end = time.monotonic()

    def _cancel_scheduled(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None

    def compute_and_draw(self):
        """Compute, redraw ``self.figure`` in place, return ``(result, plotted, summary_html)``."""
        raise NotImplementedError

    def render(self) -> bytes:
        """The PNG of ``self.figure`` after ``compute_and_draw``: ``renderer``'s (blitted). An
        explorer that manages its own partial redraws (``TrainingExplorer``'s scrub) overrides
        this."""
        return self.renderer.png()

    def refresh(self) -> bool:
        """Recompute and redraw from the controls; on failure show why and keep the last figure.

        Returns:
          Whether the refresh succeeded.
        """
        self._cancel_scheduled()  # this refresh draws the latest values
        try:
            result, plotted, summary = self.compute_and_draw()
            png = self.render()
        # Any error, not only the engine's ValueError: a callback has nowhere to raise to, and
        # an error shown in the widget beats a dead widget and a traceback in a hidden log.
        except Exception as error:  # noqa: BLE001
            self.error = f"{type(error).__name__}: {error}"
            self.exception = error
            self.status.value = error_html(
                f"{self.error}\n(The figure still shows the last valid settings.)"
            )
            return False
        self.result, self.plotted = result, plotted
        self.image.value = png
        self.summary.value = summary
        self.error = self.exception = None
        self.status.value = ""
        return True

    def close(self) -> None:
        """Close this explorer and every widget inside it."""
        self._cancel_scheduled()
        stack = list(self.children)
        while stack:
            widget = stack.pop()
            stack.extend(getattr(widget, "children", ()))
            widget.close()
        super().close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio event loop running in this thread (a kernel's), or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _from_browser(change) -> bool:
    """Whether ``change`` came from the browser: ipywidgets' ``set_state`` locks the property
    while it applies a front end's state and fires the observers (ipywidgets 7 and 8)."""
    owner = getattr(change, "owner", None)
    return change is not None and change.get("name") in getattr(owner, "_property_lock", {})
