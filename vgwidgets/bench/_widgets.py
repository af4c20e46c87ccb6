"""Widget latency, compilations from control moves, and memory, for every explorer.

Explorers are those of ``vgwidgets.widgets.EXPLORERS``, so an explorer added there is measured
with no change here. A move sets one of its sliders (``IntSlider``, ``FloatSlider``,
``FloatLogSlider`` among its ``controls``) to a random value on its grid; outside a kernel the
assignment runs the explorer's callback synchronously, so its time is the time from the change
to the PNG bytes being ready.

Per explorer, one instance built with its defaults:
  1. moves cycling through the sliders: compilations are counted over the first
     ``moves_per_control`` moves of each; resident memory is read after one move of each and
     again ``memory_changes`` moves later (the two phases overlap, to keep the run short);
  2. latency: every control back at its default, then per sample one slider moved to a random
     value (timed) and back (untimed); the same states are then rendered the naive way.
"""

from __future__ import annotations

import gc

import numpy as np

from ..engine import count_compilations
from ._naive import NAIVE
from ._timing import clock, resident_bytes, stats

MEMORY_METHOD = "/proc/self/statm"


def explorer_classes() -> dict:
    """``{name: class}`` for every explorer of ``vgwidgets.widgets.EXPLORERS``."""
    from ..widgets import EXPLORERS

    return {cls.__name__: cls for cls in EXPLORERS}


def controls_of(explorer) -> dict:
    """``{name: widget}`` of an explorer's ``controls`` (a NamedTuple or a dict)."""
    controls = explorer.controls
    return dict(controls._asdict() if hasattr(controls, "_asdict") else controls)


def sliders(explorer) -> dict:
    """The ``IntSlider``, ``FloatSlider`` and ``FloatLogSlider`` among ``controls_of(explorer)``."""
    import ipywidgets

    kinds = (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider)
    return {k: c for k, c in controls_of(explorer).items() if isinstance(c, kinds)}


def random_value(control, rng: np.random.Generator):
    """A random value on the slider ``control``'s grid within its range, not its current value."""
    import ipywidgets

    for _ in range(100):
        if isinstance(control, ipywidgets.IntSlider):
            value = int(rng.integers(control.min, control.max + 1))
        else:
            steps = round((control.max - control.min) / control.step)
            exponent = control.min + int(rng.integers(0, steps + 1)) * control.step
            value = float(round(min(exponent, control.max), 12))
            if isinstance(control, ipywidgets.FloatLogSlider):
                value = float(control.base**value)
        if value != control.value:
            return value
    raise ValueError(f"could not find a new value for {control!r} (is its range empty?)")


def _seconds(fn) -> float:
    """Seconds that one call of ``fn`` takes."""
    return clock(fn).timeit(1)


def _set(control, value) -> float:
    """Seconds that ``control.value = value`` takes (the explorer's refresh included)."""
    return _seconds(lambda: setattr(control, "value", value))


def _moves(explorer, controls: dict, count: int, rng) -> tuple[list, int]:
    """``count`` timed moves cycling through ``controls``; their times and the errors shown."""
    names, times, errors = list(controls), [], 0
    for i in range(count):
        control = controls[names[i % len(names)]]
        times.append(_set(control, random_value(control, rng)))
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
    made = []
    construct_s = _seconds(lambda: made.append(cls()))
    explorer = made[0]
    try:
        controls = sliders(explorer)
        if not controls:
            return {"construct_s": construct_s, "skipped": "no continuous control"}
        defaults = _state(explorer)
        first, counted = len(controls), moves_per_control * len(controls)
        total = max(first + memory_changes, counted)
        with count_compilations() as compiled:
            times, errors_first = _moves(explorer, controls, first, rng)
            gc.collect()
            before = resident_bytes()
            more, errors_counted = _moves(explorer, controls, counted - first, rng)
        with count_compilations() as later:
            rest, errors_rest = _moves(explorer, controls, total - counted, rng)
        gc.collect()
        after = resident_bytes()
        compilations = {
            "moves": counted,
            "moves_per_control": moves_per_control,
            "count": compiled.count,
            "compiled": sorted(set(compiled.names)),
            "errors_shown": errors_first + errors_counted,
            "count_in_further_moves": later.count,
            "further_moves": total - counted,
        }
        memory = {
            "changes": total - first,
            "method": MEMORY_METHOD if before is not None else f"unavailable (no {MEMORY_METHOD})",
            "errors_shown": errors_counted + errors_rest,
        }
        if before is not None:
            growth = (after - before) / 2**20
            memory.update(
                rss_before_mb=before / 2**20, rss_after_mb=after / 2**20, growth_mb=growth,
                growth_mb_per_1000=growth * 1000 / memory["changes"],
            )  # fmt: skip

        for name, value in defaults.items():
            controls_of(explorer)[name].value = value
        names, latencies, states, errors = list(controls), [], [], 0
        for i in range(samples):
            name = names[i % len(names)]
            previous_png = explorer.png
            latencies.append(_set(controls[name], random_value(controls[name], rng)))
            errors += explorer.error is not None or explorer.png == previous_png
            states.append(_state(explorer))
            controls[name].value = defaults[name]
        latency = {**stats(latencies), "errors_or_unchanged": int(errors)}
        latency["move_median_s"] = float(np.median(times + more + rest))
    finally:
        explorer.close()

    naive_fn = NAIVE.get(cls.__name__)
    if naive_fn is None:
        naive = {"skipped": f"no naive rebuild written for {cls.__name__} (bench/_naive.py)"}
    else:
        naive_fn(states[0])  # warm-up: pyplot's import and first figure
        naive = {"function": naive_fn.__name__}
        naive.update(stats(_seconds(lambda s=state: naive_fn(s)) for state in states))
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
