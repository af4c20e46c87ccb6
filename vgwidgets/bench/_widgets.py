"""Widget latency, compilations from control moves, and memory, for every registered explorer.

Explorers are found in ``vgwidgets.widgets.__all__`` (every class there that subclasses the
explorer base), so an explorer added later is measured with no change here. Its continuous
controls are the ``IntSlider``, ``FloatSlider`` and ``FloatLogSlider`` among its ``controls``;
a move sets one of them to a random value on its grid within its range. Setting ``.value``
outside a kernel runs the explorer's callback synchronously, so the time of the assignment is
the time from the change to the PNG bytes being ready.

Per explorer, in this order (one instance, built with its defaults):
  1. random moves, cycling through the continuous controls: compilations are counted over the
     first ``moves_per_control`` moves of every control; resident memory is read after the
     first move of each control and again ``memory_changes`` moves later (the two phases
     overlap, to keep the run short);
  2. latency: every control back at its default, then per sample one control moved to a random
     value (timed) and back (untimed); the same states are then rendered the naive way.
"""

from __future__ import annotations

import gc
import time

import numpy as np

from ._naive import NAIVE
from ._timing import count_compilations, rss_bytes, stats


def explorer_classes() -> dict:
    """``{name: class}`` for every explorer that ``vgwidgets.widgets`` exports."""
    from .. import widgets
    from ..widgets._base import Explorer

    found = {}
    for name in widgets.__all__:
        obj = getattr(widgets, name, None)
        if isinstance(obj, type) and issubclass(obj, Explorer) and obj is not Explorer:
            found[name] = obj
    return found


def controls_of(explorer) -> dict:
    """``{name: widget}`` of an explorer's ``controls`` (a NamedTuple, a dict or an object)."""
    controls = explorer.controls
    if hasattr(controls, "_asdict"):
        return dict(controls._asdict())
    if isinstance(controls, dict):
        return dict(controls)
    return {k: v for k, v in vars(controls).items() if not k.startswith("_")}


def continuous_controls(explorer) -> dict:
    """The sliders among ``controls_of(explorer)``: ``IntSlider``, ``FloatSlider``, ``FloatLogSlider``."""
    import ipywidgets as widgets

    kinds = (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider)
    return {k: c for k, c in controls_of(explorer).items() if isinstance(c, kinds)}


def random_value(control, rng: np.random.Generator):
    """A random value on ``control``'s grid within its range, different from its current value."""
    import ipywidgets as widgets

    for _ in range(100):
        if isinstance(control, widgets.IntSlider):
            value = int(rng.integers(control.min, control.max + 1))
        else:
            steps = round((control.max - control.min) / control.step)
            exponent = control.min + int(rng.integers(0, steps + 1)) * control.step
            exponent = round(min(exponent, control.max), 12)
            if isinstance(control, widgets.FloatLogSlider):
                value = float(control.base**exponent)
            else:
                value = float(exponent)
        if value != control.value:
            return value
    raise ValueError(f"could not find a new value for {control!r} (is its range empty?)")


def _moves(explorer, controls: dict, count: int, rng) -> tuple[list, int]:
    """``count`` moves cycling through ``controls``; the time of each and the errors shown."""
    names = list(controls)
    times, errors = [], 0
    for i in range(count):
        control = controls[names[i % len(names)]]
        value = random_value(control, rng)
        start = time.perf_counter()
        control.value = value
        times.append(time.perf_counter() - start)
        errors += explorer.error is not None
    return times, errors


def _state(explorer) -> dict:
    return {name: control.value for name, control in controls_of(explorer).items()}


def measure_explorer(cls, *, moves_per_control: int, memory_changes: int, samples: int, seed=0):
    """Measure one explorer class; see the module docstring for the phases.

    Returns:
      A JSON-able dict with ``construct_s``, ``controls``, ``compilations``, ``memory``,
      ``latency`` and ``naive`` (``{"skipped": reason}`` where there is no naive function).
    """
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    explorer = cls()
    construct_s = time.perf_counter() - start
    try:
        controls = continuous_controls(explorer)
        if not controls:
            return {"construct_s": construct_s, "skipped": "no continuous control"}
        defaults = _state(explorer)

        # One run of moves: the first moves_per_control per control are counted for
        # compilations; resident memory is read after the first round (one move of each
        # control, so first-use allocations are not counted as growth) and at the end,
        # memory_changes moves later.
        rounds = len(controls)
        counted = moves_per_control * len(controls)
        total = max(rounds + memory_changes, counted)
        with count_compilations() as log:
            move_times, move_errors = _moves(explorer, controls, rounds, rng)
            gc.collect()
            before, method = rss_bytes()
            more_times, more_errors = _moves(explorer, controls, counted - rounds, rng)
        with count_compilations() as later:
            rest_times, rest_errors = _moves(explorer, controls, total - counted, rng)
        gc.collect()
        after, _ = rss_bytes()
        move_times += more_times + rest_times
        compilations = {
            "moves": counted,
            "moves_per_control": moves_per_control,
            "count": len(log.names),
            "compiled": sorted(set(log.names)),
            "errors_shown": move_errors + more_errors,
            "count_in_further_moves": len(later.names),
            "further_moves": total - counted,
        }
        memory = {
            "changes": total - rounds,
            "method": method,
            "errors_shown": more_errors + rest_errors,
        }
        if before is not None:
            growth = (after - before) / 2**20
            memory.update(
                rss_before_mb=before / 2**20,
                rss_after_mb=after / 2**20,
                growth_mb=growth,
                growth_mb_per_1000=growth * 1000 / memory["changes"],
            )

        for name, value in defaults.items():
            controls_of(explorer)[name].value = value
        names = list(controls)
        times, states, errors = [], [], 0
        for i in range(samples):
            name = names[i % len(names)]
            control = controls[name]
            value = random_value(control, rng)
            previous_png = explorer.png
            begin = time.perf_counter()
            control.value = value
            times.append(time.perf_counter() - begin)
            errors += explorer.error is not None or explorer.png == previous_png
            states.append(_state(explorer))
            control.value = defaults[name]
        latency = {**stats(times), "errors_or_unchanged": int(errors)}
        latency["move_median_s"] = float(np.median(move_times))
    finally:
        explorer.close()

    naive_fn = NAIVE.get(cls.__name__)
    if naive_fn is None:
        naive = {"skipped": f"no naive rebuild written for {cls.__name__} (bench/_naive.py)"}
    else:
        naive_fn(states[0])  # warm-up: pyplot's import and first figure
        naive_times = []
        for state in states:
            begin = time.perf_counter()
            naive_fn(state)
            naive_times.append(time.perf_counter() - begin)
        naive = {"function": naive_fn.__name__, **stats(naive_times)}
        naive["over_widget"] = naive["median_s"] / latency["median_s"]
    return {
        "construct_s": construct_s,
        "controls": {name: type(c).__name__ for name, c in controls.items()},
        "compilations": compilations,
        "memory": memory,
        "latency": latency,
        "naive": naive,
    }


def measure_widgets(*, quick: bool, progress=None) -> dict:
    """``measure_explorer`` for every class of ``explorer_classes``, ``{name: result}``."""
    sizes = (
        {"moves_per_control": 3, "memory_changes": 10, "samples": 3}
        if quick
        else {"moves_per_control": 100, "memory_changes": 1000, "samples": 50}
    )
    results = {}
    for name, cls in explorer_classes().items():
        if progress:
            progress(f"widget {name}")
        results[name] = measure_explorer(cls, **sizes)
    return results
