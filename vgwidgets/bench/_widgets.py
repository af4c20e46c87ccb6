"""Widget latency, compilations from control moves, and memory, for every explorer.

Explorers are those of ``vgwidgets.widgets.EXPLORERS``, so an explorer added there is measured
with no change here. A move sets one of its sliders (``IntSlider``, ``FloatSlider``,
``FloatLogSlider`` among its ``controls``) to a random value on its grid; outside a kernel the
assignment runs the explorer's callback synchronously, so its time is the time from the change
to the PNG bytes being ready. Latency is timed on the sliders that redraw (``redrawing``: those
wired to the refresh); ``TrainingExplorer``'s network and optimizer sliders only set its next
run, and its step slider alone redraws.

Per explorer, one instance built with its defaults:
  1. moves cycling through the sliders: compilations are counted over the first
     ``moves_per_control`` moves of each; resident memory is read after one move of each and
     again ``memory_changes`` moves later (the two phases overlap, to keep the run short);
  2. latency: every control back at its default, then per sample one slider that redraws moved
     to a random value (timed) and back (untimed); the same states are then rendered the naive
     way (``_naive.NAIVE``), and the naive PNG's pixel size compared with the widget's. How
     each timed render began (a full redraw, some axes redrawn, or the cached layers restored:
     ``FigureRenderer.counts``) is recorded too.

And, on a second instance, compilations over random moves of every control (``every_control``):
dropdowns, check boxes and sliders alike, each moved ``moves`` times to a random other value, in
turn. A move that brings the explorer's ``SHAPE_CONTROLS`` to values not seen before in this
process (a new width, a new dtype) may compile: those are counted apart. Every other move should
compile nothing (issue 9: "target 0 after each shape's first use").
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from ..engine import count_compilations
from ._naive import MEASURED_ELSEWHERE, NAIVE, same_size
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


def redrawing(explorer) -> dict:
    """The sliders of ``sliders(explorer)`` that redraw the figure: those wired to its refresh
    (``Explorer.wired``). A slider that only sets what a later action uses (the next training
    run of ``TrainingExplorer``) is left out: its move leaves the figure as it was."""
    wired = {id(control) for control in getattr(explorer, "wired", ())}
    return {name: c for name, c in sliders(explorer).items() if id(c) in wired}


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


def every_control(explorer) -> dict:
    """``{name: widget}`` of every control wired to ``explorer``'s refresh (``Explorer.wired``).

    Named by their field in ``explorer.controls``, or in a tuple of NamedTuples held by the
    explorer (``"slots[2].activation"``), else by their description and position.
    """
    names = {id(c): name for name, c in controls_of(explorer).items()}
    for attribute, value in vars(explorer).items():
        if isinstance(value, tuple) and value and all(hasattr(v, "_asdict") for v in value):
            for i, group in enumerate(value):
                for field, control in group._asdict().items():
                    names.setdefault(id(control), f"{attribute}[{i}].{field}")
    out = {}
    for i, control in enumerate(getattr(explorer, "wired", ())):
        out[names.get(id(control), f"{getattr(control, 'description', '') or 'control'}#{i}")] = (
            control
        )
    return out


def random_choice(control, rng: np.random.Generator):
    """A random value for any control: ``random_value`` for a slider, another option of a
    dropdown (or other selection), the other state of a check box; ``None`` for other kinds."""
    import ipywidgets

    if isinstance(control, (ipywidgets.IntSlider, ipywidgets.FloatSlider,
                            ipywidgets.FloatLogSlider)):  # fmt: skip
        return random_value(control, rng)
    if isinstance(control, (ipywidgets.Checkbox, ipywidgets.ToggleButton)):
        return not control.value
    if isinstance(control, (ipywidgets.Dropdown, ipywidgets.RadioButtons, ipywidgets.Select,
                            ipywidgets.ToggleButtons)):  # fmt: skip
        indices = [i for i in range(len(control.options)) if i != control.index]
        return None if not indices else ("index", int(rng.choice(indices)))
    return None


def _apply(control, choice) -> None:
    if isinstance(choice, tuple) and choice and choice[0] == "index":
        control.index = choice[1]
    else:
        control.value = choice


def measure_every_control(
    cls, *, moves: int, max_controls: int | None = None, move_shapes: bool = True, seed=0
) -> dict:
    """Compilations over random moves of every control of a freshly built ``cls()``.

    Each control in turn (skipped while disabled) is moved to a random other value, ``moves``
    times in all; each move's compilations are counted by ``count_compilations``. A move that
    brings the explorer's ``SHAPE_CONTROLS`` to values not seen before is a shape's first use.
    With ``max_controls``, only the first that many controls (in ``wired`` order) are moved;
    with ``move_shapes=False``, the ``SHAPE_CONTROLS`` are not (their first uses compile).

    Returns:
      ``{"moves", "shape_controls", "first_use": {"moves", "count"}, "count" (every other
      move's compilations: the target is 0), "seconds_max" (the slowest move), "errors_shown",
      "per_control": {name: {"kind", "moves", "count", "first_use_count", "seconds_max"}},
      "skipped": [names of controls of a kind not moved]}``.
    """
    rng = np.random.default_rng(seed)
    explorer = cls()
    try:
        controls = every_control(explorer)
        shape = tuple(getattr(cls, "SHAPE_CONTROLS", ()))
        seen = {tuple(controls[n].value for n in shape if n in controls)}
        per = {
            name: {"kind": type(c).__name__, "moves": 0, "count": 0, "first_use_count": 0,
                   "seconds_max": 0.0}
            for name, c in controls.items()
        }  # fmt: skip
        skipped = sorted(n for n, c in controls.items() if random_choice(c, rng) is None)
        names = [
            n for n in controls if n not in skipped and (move_shapes or n not in shape)
        ][:max_controls]
        first_moves = errors = 0
        for i in range(moves * len(names)):
            name = names[i % len(names)]
            control = controls[name]
            if control.disabled:
                continue
            choice = random_choice(control, rng)
            with count_compilations() as compiled:
                seconds = _seconds(lambda c=control, v=choice: _apply(c, v))
            signature = tuple(controls[n].value for n in shape if n in controls)
            first = signature not in seen
            seen.add(signature)
            entry = per[name]
            entry["moves"] += 1
            entry["seconds_max"] = max(entry["seconds_max"], seconds)
            entry["first_use_count" if first else "count"] += compiled.count
            first_moves += first
            errors += explorer.error is not None
    finally:
        explorer.close()
    return {
        "moves": sum(e["moves"] for e in per.values()),
        "shape_controls": list(shape),
        "first_use": {
            "moves": first_moves, "count": sum(e["first_use_count"] for e in per.values())
        },
        "count": sum(e["count"] for e in per.values()),
        "seconds_max": max((e["seconds_max"] for e in per.values()), default=0.0),
        "errors_shown": errors,
        "per_control": per,
        "skipped": skipped,
    }


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
      A JSON-able dict with ``construct_s``, ``controls`` (every slider: all are moved for the
      compilation count and the memory), ``compilations``, ``memory``, ``latency`` (its
      ``controls``: the sliders timed, ``redrawing``) and ``naive`` (with ``same_size``:
      whether its PNG has the widget's pixel size; ``{"skipped": reason}`` where there is no
      naive function, with ``measured_in`` where another section measures it).
    """
    rng = np.random.default_rng(seed)
    made = []
    construct_s = _seconds(lambda: made.append(cls()))
    explorer = made[0]
    try:
        controls, timed = sliders(explorer), redrawing(explorer)
        if not timed:
            return {"construct_s": construct_s, "skipped": "no slider that redraws"}
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
        renders_before = dict(explorer.renderer.counts)
        names, latencies, states, errors = list(timed), [], [], 0
        for i in range(samples):
            name = names[i % len(names)]
            previous_png = explorer.png
            latencies.append(_set(timed[name], random_value(timed[name], rng)))
            errors += explorer.error is not None or explorer.png == previous_png
            states.append(_state(explorer))
            if i == 0:
                widget_png = explorer.png
            renders = {k: explorer.renderer.counts[k] - renders_before[k] for k in renders_before}
            timed[name].value = defaults[name]
            renders_before = dict(explorer.renderer.counts)
            rendered = renders if i == 0 else {k: rendered[k] + renders[k] for k in renders}
        latency = {**stats(latencies), "errors_or_unchanged": int(errors), "renders": rendered,
                   "controls": names}  # fmt: skip
        latency["move_median_s"] = float(np.median(times + more + rest))
    finally:
        explorer.close()

    naive_fn, elsewhere = NAIVE.get(cls.__name__), MEASURED_ELSEWHERE.get(cls.__name__)
    if elsewhere:
        naive = {"skipped": f"measured in {elsewhere}", "measured_in": elsewhere}
    elif naive_fn is None:
        naive = {"skipped": f"no naive rebuild written for {cls.__name__} (bench/_naive.py)"}
    else:
        first = naive_fn(states[0])  # warm-up: pyplot's import and first figure
        naive = {"function": naive_fn.__name__}
        naive.update(stats(_seconds(lambda s=state: naive_fn(s)) for state in states))
        naive["over_widget"] = naive["median_s"] / latency["median_s"]
        naive.update(same_size(first, widget_png))
    return {
        "construct_s": construct_s,
        "controls": {name: type(c).__name__ for name, c in controls.items()},
        "compilations": compilations,
        "memory": memory,
        "latency": latency,
        "naive": naive,
    }


# Build one explorer in a fresh process; print the seconds and what was compiled, as JSON.
_BUILD_SCRIPT = """
import json, sys, time
start = time.perf_counter()
import vgwidgets
from vgwidgets.engine import count_compilations
from vgwidgets.widgets import EXPLORERS
imported = time.perf_counter()
cls = {c.__name__: c for c in EXPLORERS}[sys.argv[1]]
with count_compilations() as built:
    explorer = cls()
done = time.perf_counter()
print(json.dumps({"build_s": done - imported, "import_s": imported - start,
                  "count": built.count, "cache_hits": built.cache_hits,
                  "phases_s": built.seconds(),
                  "cache_dir": vgwidgets.compilation_cache_dir(), "error": explorer.error}))
"""


def measure_builds(name: str, *, timeout_s: float = 600) -> dict:
    """An explorer's build with defaults in a fresh Python process, twice: with an empty
    persistent compilation cache ("cold") and again with the cache the first filled ("warm").

    The cache is the explorers' own (``enable_compilation_cache``) in a temporary folder; JAX
    and vgwidgets cache settings of this process's environment are not passed on. The time is
    the constructor's alone; the import of vgwidgets before it is reported apart.
    """
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE", "VGWIDGETS_"))
    }  # fmt: skip
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    out = {}
    with tempfile.TemporaryDirectory(prefix="vgwidgets-bench-cache-") as folder:
        env["VGWIDGETS_CACHE_DIR"] = folder
        for run in ("cold", "warm"):
            done = subprocess.run(
                [sys.executable, "-c", _BUILD_SCRIPT, name], capture_output=True, text=True,
                env=env, timeout=timeout_s, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                return {"skipped": f"the {run} build failed: {done.stderr.strip()[-300:]}"}
            out[run] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def measure_widgets(*, quick: bool, progress=None) -> dict:
    """``measure_explorer``, ``measure_every_control`` and (not with ``quick``)
    ``measure_builds`` for every class of ``explorer_classes``, ``{name: result}`` (the last
    two under ``"every_control"`` and ``"builds"``)."""
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
        if "latency" in results[name]:
            if progress:
                progress(f"widget {name}: every control")
            results[name]["every_control"] = (
                measure_every_control(cls, moves=1, max_controls=6, move_shapes=False)
                if quick
                else measure_every_control(cls, moves=6)
            )
            if quick:
                results[name]["builds"] = {"skipped": "--quick"}
            else:
                if progress:
                    progress(f"widget {name}: cold and warm builds in fresh processes")
                results[name]["builds"] = measure_builds(name)
    return results
