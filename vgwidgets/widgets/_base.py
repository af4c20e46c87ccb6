"""What every explorer shares: controls wired to one refresh, a PNG view, errors shown inside.

The wiring pattern (ipywidgets' "separating concerns"): the computation lives in the engine,
the drawing in ``vgwidgets.plotting``; an explorer only builds its controls and a figure once,
and on every change of a control runs ``compute -> draw -> render`` in ``refresh``.

Drawing is portable: the figure is rendered to PNG bytes by matplotlib's Agg canvas and shown
in an ``ipywidgets.Image``. That works alike in Colab, VS Code, JupyterLab and Voila, with
ipywidgets 7.7.1 and 8, needs no ``%matplotlib widget`` and registers nothing with pyplot.

A failing refresh never propagates out of a callback: its message is shown in the explorer,
the last good figure, result and plotted data stay, and the next valid change recovers.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..plotting import figure_png

# A summary's warnings (overflow, nan, exact zeros): dark red, bold.
WARN_STYLE = "color: #b00020; font-weight: bold;"
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
    """

    def __init__(self, controls: widgets.Widget, figure: Figure, **kwargs):
        self.figure = figure
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        self.result: Any = None
        self.plotted: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        super().__init__(children=[controls, self.image, self.summary, self.status], **kwargs)

    @property
    def png(self) -> bytes:
        """The PNG bytes on show: the last good figure."""
        return bytes(self.image.value)

    def wire(self, *controls: widgets.Widget) -> None:
        """Refresh whenever one of ``controls`` changes value."""
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, change=None) -> None:
        self.refresh()

    def compute_and_draw(self):
        """Compute, redraw ``self.figure`` in place, return ``(result, plotted, summary_html)``."""
        raise NotImplementedError

    def refresh(self) -> bool:
        """Recompute and redraw from the controls; on failure show why and keep the last figure.

        Returns:
          Whether the refresh succeeded.
        """
        try:
            result, plotted, summary = self.compute_and_draw()
            png = figure_png(self.figure)
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
        stack = list(self.children)
        while stack:
            widget = stack.pop()
            stack.extend(getattr(widget, "children", ()))
            widget.close()
        super().close()
