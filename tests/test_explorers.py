"""What every explorer shares, tested once over all of them (``vgwidgets.widgets.EXPLORERS``).

A failing update (the computation raising before anything is drawn, or the drawing raising after
the figure was already half redrawn) never raises out of the control's callback: the explorer
shows the message, keeps the last good PNG, result and plotted data, stays alive through further
changes, and the next valid change recovers to exactly the figure a fresh explorer draws.

Sliders follow the drag: every slider sends its value while it is dragged, and the kernel
throttles the refreshes. A browser's message reaches a control through ``set_state``; these tests
call it from inside a running asyncio loop, as a kernel does, and count the refreshes.
"""

import asyncio
import time

import ipywidgets as widgets
import jax
import numpy as np
import pytest

from vgwidgets import bench
from vgwidgets.engine import count_compilations
from vgwidgets.experiments import phase_map
from vgwidgets.widgets import (
    EXPLORERS,
    ChainExplorer,
    FixComparison,
    PhaseDiagram,
    RecurrentExplorer,
    RegimeExplorer,
    TrainingExplorer,
)

# Per explorer: small constructor arguments, a control move made while broken, another move made
# while still broken, and one made after the repair.
CASES = {
    ChainExplorer: ({}, ("weight", 2.5), ("n_layers", 6), ("x", 0.3)),
    FixComparison: ({"depth": 6}, ("depth", 9), ("bias_scale", 0.5), ("depth", 8)),
    RegimeExplorer: (
        {"width": 16, "batch": 16}, ("weight_scale", 2.0), ("bias_scale", 0.3), ("depth", 12)
    ),
    PhaseDiagram: (
        {"width": 16, "batch": 16}, ("weight_var", 2.0), ("bias_var", 0.3), ("depth", 12)
    ),
    RecurrentExplorer: (
        {"hidden": 16, "length": 40, "batch": 4}, ("gain", 2.0), ("length", 60), ("hidden", 20)
    ),
    TrainingExplorer: ({"steps": 100}, ("step", 20), ("step", 40), ("step", 60)),
}


def test_every_explorer_has_a_case():
    assert set(CASES) == set(EXPLORERS)


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("before drawing", ValueError("x must be a finite real number; got nan.")),
        ("before drawing", RuntimeError("probe broke")),
        ("after drawing", ZeroDivisionError("drawing failed")),
    ],
)
def test_a_failing_update_shows_its_message_and_keeps_the_last_figure(
    explorers, monkeypatch, cls, when, error
):
    kwargs, broken_move, second_move, good_move = CASES[cls]
    explorer = explorers(cls, **kwargs)
    assert explorer.error is None
    good_png, good_result, good_plotted = explorer.png, explorer.result, explorer.plotted
    good_summary = explorer.summary.value
    compute_and_draw = explorer.compute_and_draw

    def fail():
        if when == "after drawing":
            compute_and_draw()  # the figure is redrawn in place for the new values, then ...
        raise error

    monkeypatch.setattr(explorer, "compute_and_draw", fail)
    for name, value in (broken_move, second_move):
        getattr(explorer.controls, name).value = value  # must not raise
        assert explorer.error == f"{type(error).__name__}: {error}"
        assert explorer.exception is error
        assert str(error) in explorer.status.value
        assert "last valid settings" in explorer.status.value
        assert explorer.png == good_png
        assert explorer.result is good_result and explorer.plotted is good_plotted
        assert explorer.summary.value == good_summary

    monkeypatch.undo()
    name, value = good_move
    getattr(explorer.controls, name).value = value  # the next valid change recovers
    assert explorer.error is None and explorer.exception is None and explorer.status.value == ""
    assert explorer.png != good_png
    fresh = explorers(cls, **{**kwargs, **dict([broken_move, second_move, good_move])})
    assert fresh.error is None
    assert explorer.png == fresh.png


# ----------------------------------------------------------------------------------------------
# Sliders follow the drag, throttled in the kernel


def _slider(explorer, name):
    """The control the good move of ``CASES`` moves: a slider, in every explorer."""
    return getattr(explorer.controls, name)


def _drag_values(slider, count=50, seed=0):
    """``count`` values on ``slider``'s grid, each different from the one before."""
    rng, values, current = np.random.default_rng(seed), [], slider.value
    for _ in range(count):
        slider.value, previous = current, slider.value  # random_value avoids the current value
        values.append(bench.random_value(slider, rng))
        current = values[-1]
        slider.value = previous
    return values


def _count_refreshes(explorer, monkeypatch, after_first=None):
    """Wrap ``explorer.refresh``; return the list of its calls' ``(start, end)`` times."""
    calls, refresh = [], explorer.refresh

    def counted():
        start = time.perf_counter()
        try:
            return refresh()
        finally:
            if after_first is not None and not calls:
                after_first()  # still inside the first refresh: new values arrive meanwhile
            calls.append((start, time.perf_counter()))

    monkeypatch.setattr(explorer, "refresh", counted)
    return calls


def _in_a_loop(explorer, moves, *, pause=0.002):
    """Run ``moves()`` (a generator of browser moves) in a running loop, then let it settle.

    Returns the seconds it took and the errors the loop's exception handler saw.
    """
    seen = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context))
        start = time.perf_counter()
        for _ in moves():
            await asyncio.sleep(pause)
        # A scheduled refresh is due at most `throttle` after the last one ended.
        await asyncio.sleep(2 * explorer.throttle + 0.05)
        return time.perf_counter() - start

    return asyncio.run(main()), seen


def _assert_same_as_fresh(explorers, cls, kwargs, explorer, name, value):
    fresh = explorers(cls, **{**kwargs, name: value})
    assert explorer.error is None and fresh.error is None, (explorer.error, fresh.error)
    jax.tree.map(np.testing.assert_array_equal, explorer.result, fresh.result)
    jax.tree.map(np.testing.assert_array_equal, explorer.plotted, fresh.plotted)
    assert explorer.png == fresh.png


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_every_slider_follows_the_drag_unless_told_not_to(explorers, cls):
    kwargs = CASES[cls][0]
    sliders = bench.sliders(explorers(cls, **kwargs))
    assert sliders and all(s.continuous_update for s in sliders.values())
    sliders = bench.sliders(explorers(cls, **kwargs, continuous_update=False))
    assert not any(s.continuous_update for s in sliders.values())


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_a_drag_refreshes_a_few_times_and_ends_on_the_latest_value(explorers, monkeypatch, cls):
    kwargs, name = CASES[cls][0], CASES[cls][3][0]
    explorer = explorers(cls, **kwargs)
    explorer.throttle = 0.1
    slider = _slider(explorer, name)
    values = _drag_values(slider)
    calls = _count_refreshes(explorer, monkeypatch)

    def moves():
        for value in values:
            slider.set_state({"value": value})  # what a browser's message does
            yield

    elapsed, seen = _in_a_loop(explorer, moves)
    assert not seen
    assert slider.value == values[-1]
    # Every throttled refresh but the first waits `throttle` after the one before it ended: the
    # count is bounded by the time the loop spent outside refreshes, whatever the machine's speed.
    idle = elapsed - sum(end - start for start, end in calls)
    assert 1 <= len(calls) <= min(6, 2 + idle / explorer.throttle), (len(calls), idle)
    print(f"{cls.__name__}: {len(values)} moves, {len(calls)} refreshes in {elapsed:.2f} s")
    _assert_same_as_fresh(explorers, cls, kwargs, explorer, name, values[-1])


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_values_arriving_during_a_refresh_get_one_refresh_after_it(explorers, monkeypatch, cls):
    kwargs, name = CASES[cls][0], CASES[cls][3][0]
    explorer = explorers(cls, **kwargs)
    slider = _slider(explorer, name)
    values = _drag_values(slider, count=11)

    def arrive():
        for value in values[1:]:
            slider.set_state({"value": value})

    calls = _count_refreshes(explorer, monkeypatch, after_first=arrive)

    def moves():
        slider.set_state({"value": values[0]})
        yield

    _, seen = _in_a_loop(explorer, moves)
    assert not seen
    assert len(calls) == 2  # the running one, then one with the latest values, not ten
    _assert_same_as_fresh(explorers, cls, kwargs, explorer, name, values[-1])


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_an_error_in_a_throttled_refresh_is_shown(explorers, monkeypatch, cls):
    kwargs, name = CASES[cls][0], CASES[cls][3][0]
    explorer = explorers(cls, **kwargs)
    good_png, slider = explorer.png, _slider(explorer, name)
    values = _drag_values(slider)

    def fail():
        raise RuntimeError("probe broke while dragging")

    monkeypatch.setattr(explorer, "compute_and_draw", fail)

    def moves():
        for value in values[:-1]:
            slider.set_state({"value": value})
            yield

    _, seen = _in_a_loop(explorer, moves)
    assert not seen, "an exception reached the event loop"
    assert explorer.error == "RuntimeError: probe broke while dragging"
    assert "probe broke while dragging" in explorer.status.value
    assert explorer.png == good_png
    monkeypatch.undo()

    def last():
        slider.set_state({"value": values[-1]})
        yield

    _, seen = _in_a_loop(explorer, last)
    assert not seen and explorer.error is None and explorer.status.value == ""
    _assert_same_as_fresh(explorers, cls, kwargs, explorer, name, values[-1])


def test_python_changes_refresh_at_once_even_in_a_running_loop(explorers, monkeypatch):
    """A notebook cell runs inside the kernel's loop: ``.value = x`` then reads the new result."""
    explorer = explorers(ChainExplorer)
    calls = _count_refreshes(explorer, monkeypatch)

    async def main():
        pngs = [explorer.png]
        explorer.controls.weight.value = 2.0
        pngs.append(explorer.png)
        explorer.throttle = 0  # and 0 makes a browser's change refresh at once too
        explorer.controls.weight.set_state({"value": 3.0})
        pngs.append(explorer.png)
        assert len(calls) == 2 and len(set(pngs)) == 3

    asyncio.run(main())
    with pytest.raises(ValueError, match=r"throttle must be a number in \[0, 10\]; got -1"):
        explorer.throttle = -1


def _log_sliders(widget):
    import ipywidgets

    if isinstance(widget, ipywidgets.FloatLogSlider):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _log_sliders(child)


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_a_value_given_to_a_log_slider_survives_the_browser_snapping_it_to_the_step(
    explorers, cls
):
    """The browser's slider snaps its value to the exponent grid ``min + k * step`` and sends the
    snapped value back; a value the lessons give (0.8, 2, sqrt 2, 1e-3, ...) must come back
    within 0.12% and read the same to 3 significant digits (it read 0.794 for 0.8 at step 0.01)."""
    import math

    explorer = explorers(cls, **CASES[cls][0])
    sliders = list(_log_sliders(explorer))
    for slider in sliders:
        low, high = slider.base**slider.min, slider.base**slider.max
        for value in (0.8, 2.0, 2**0.5, 3**0.5, 10.0, 1e-3, 0.05, 1.0, 5 / 3):
            if not low <= value <= high:
                continue
            exponent = math.log(value, slider.base)
            k = round((exponent - slider.min) / slider.step)
            snapped = slider.base ** (slider.min + k * slider.step)
            assert abs(snapped / value - 1) < 1.2e-3, (slider.description, value, snapped)
            if value in (0.8, 2.0, 1e-3, 1.0, 10.0):
                assert f"{snapped:.3g}" == f"{value:.3g}", (slider.description, value, snapped)
    # the chain's sliders are linear, and so are the phase diagram's (its map's axes are)
    assert sliders or cls in (ChainExplorer, PhaseDiagram)


def _choice_controls(widget):
    """Every enabled drop-down, toggle and check box under ``widget``, in display order."""
    found = []
    if isinstance(widget, widgets.Dropdown | widgets.ToggleButtons | widgets.Checkbox):
        found.append(widget)
    for child in getattr(widget, "children", ()):
        found.extend(_choice_controls(child))
    return found


def _values(control):
    if isinstance(control, widgets.Checkbox):
        return [not control.value, control.value]
    labels_and_values = [o if isinstance(o, tuple) else (o, o) for o in control.options]
    values = [v for _, v in labels_and_values]
    return [v for v in values if v != control.value] + [control.value]


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_every_choice_compiles_nothing_from_its_first_move(explorers, cls):
    """Drop-downs and check boxes are traced like the sliders: after the explorer is built,
    trying every value of every choice compiles nothing. Only the controls that change array
    shapes (``SHAPE_CONTROLS``: a width, float64) compile, once per new value."""
    # PhaseDiagram's maps are cached per process: one cached by an earlier test would let this
    # explorer's build compile nothing, and its first new activation compile the map's programs
    phase_map.cache_clear()
    explorer = explorers(cls, **CASES[cls][0])
    shape_controls = [getattr(explorer.controls, name) for name in cls.SHAPE_CONTROLS]
    choices, kinds = [], set()
    for control in _choice_controls(explorer):
        # one of each kind: FixComparison's four slots run the same code
        kind = (control.description, repr(getattr(control, "options", None)))
        if not any(control is s for s in shape_controls) and kind not in kinds:
            choices.append(control)
            kinds.add(kind)
    assert choices
    for control in choices:
        with count_compilations() as moves:
            for value in _values(control):
                control.value = value
        assert explorer.error is None, (control.description, explorer.error)
        assert moves.count == 0, (control.description, moves)
