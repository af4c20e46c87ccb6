"""Abuse of the explorers, as learners dish it out: rapid random slider changes, bad constructor
arguments. (Bad command lines: tests/test_cli.py.)

Every explorer of ``vgwidgets.widgets.EXPLORERS`` (new ones are picked up) takes ``CHANGES``
random slider changes, drawn and read the way the benchmark drives the explorers
(``vgwidgets.bench.sliders``, ``random_value``, ``resident_bytes``): no exception escapes a
callback, the figure shown at the end is the one a freshly built explorer draws for the same
control values, and neither the number of live matplotlib figures nor the resident memory grows
with the number of changes.
"""

from __future__ import annotations

import gc
import inspect
import math
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from vgwidgets import bench
from vgwidgets.widgets import EXPLORERS as CLASSES

EXPLORERS = {cls.__name__: cls for cls in CLASSES}
# 100 changes per explorer (500 until wave 2 doubled the explorers, 200 until wave 3; the
# suite's time is budgeted); each recomputes and renders a PNG (0.05 to 0.2 s on a quiet 2-core
# EPYC). What the size buys: a leaked Figure is caught exactly at any size (the live-figure
# count); a leak that only shows in resident memory is caught when it exceeds the allowance,
# which grows with the number of changes between the two readings (``_allowance_mib``):
# 0.375 MiB per change (60 MiB over the 160 changes measured when the suite ran 200), at least
# 20 MiB, so that any size catches about 384 KB per change (a leaked Agg canvas, or a few PNGs)
# and a cache settling in one step (up to 10 MiB seen) passes. Smaller leaks are the
# benchmark's to find: it measures resident memory growth over 1000 changes of every explorer
# against a 50 MB target (BENCHMARKS.md). The Colab leg (make test-colab) runs 50 (at most 513
# KB per change): there the question is whether ipywidgets 7.7.1 and the oldest matplotlib and
# jax drive the same callbacks, which the first few changes answer.
# VGWIDGETS_ABUSE_CHANGES=N sets it.
CHANGES = int(os.environ.get("VGWIDGETS_ABUSE_CHANGES", "100"))
MIB_PER_CHANGE, MIN_ALLOWANCE_MIB = 60 / 160, 20.0


def _live_figures() -> int:
    gc.collect()
    return sum(isinstance(o, Figure) for o in gc.get_objects())


def _allowance_mib(changes: int) -> float:
    """The resident-memory growth allowed over ``changes`` changes."""
    return max(MIN_ALLOWANCE_MIB, MIB_PER_CHANGE * changes)


def _mib() -> float:
    return bench.resident_bytes() / 2**20


def _assert_same(a, b, where="plotted"):
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (str, bytes, type(None), bool)):
        assert a == b, where
    else:
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6,
                                   atol=0, equal_nan=True, err_msg=where)  # fmt: skip


@pytest.mark.skipif(bench.resident_bytes() is None, reason="reads RSS from /proc")
@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_rapid_random_changes(name):
    """Sliders are what a learner drags fast, and moving one compiles nothing (a test elsewhere
    checks each explorer for that), so the changes measure the widget, not JAX's compiler."""
    cls = EXPLORERS[name]
    explorer = cls()
    sliders = bench.sliders(explorer)
    assert sliders, f"{name} shows no slider"
    names = sorted(sliders)
    rng = np.random.default_rng(0)
    figures = _live_figures()
    rss, start = [], time.perf_counter()
    for step in range(CHANGES):
        control = sliders[names[rng.integers(len(names))]]
        if control.disabled:
            continue
        control.value = bench.random_value(control, rng)  # any escaping error fails
        if step in (CHANGES // 5, CHANGES - 1):
            gc.collect()
            rss.append(_mib())
    per_change = (time.perf_counter() - start) / CHANGES
    assert plt.get_fignums() == []  # nothing registered with pyplot
    assert _live_figures() == figures, "figures were left alive by the changes"
    # A figure leaked per change would be hundreds of MiB; caches may settle a little.
    allowance = _allowance_mib(CHANGES - 1 - CHANGES // 5)
    assert rss[1] - rss[0] < allowance, (
        f"resident memory grew {rss[1] - rss[0]:.0f} MiB over {CHANGES - 1 - CHANGES // 5} "
        f"changes (allowed: {allowance:.0f} MiB)"
    )
    final = {key: control.value for key, control in sliders.items()}

    fresh = cls()
    try:
        for key, control in bench.sliders(fresh).items():
            if not control.disabled:
                control.value = final[key]
        if explorer.error is None:
            assert fresh.error is None, fresh.error
            _assert_same(explorer.plotted, fresh.plotted)
            assert explorer.png == fresh.png, "the figure differs from a fresh one's"
        else:  # the last change was invalid: both say so
            assert fresh.error == explorer.error
    finally:
        fresh.close()
        explorer.close()
    print(f"{name}: {CHANGES} changes, {per_change * 1000:.0f} ms each, RSS {rss} MiB")


# ----------------------------------------------------------------------------------------------
# Constructors: every keyword with a bad value of its default's kind gets a message naming it


def _bad_values(default) -> list:
    if isinstance(default, bool):
        return ["yes", 2, None]
    if isinstance(default, int):
        return [-(10**9), 10**18, 2.5, "3", math.nan]
    if isinstance(default, float):
        return [math.nan, math.inf, -math.inf, 1e308, "1.0"]
    if isinstance(default, str):
        return ["no-such-name", 3, None]
    return []


CONSTRUCTOR_CASES = [
    (name, parameter.name, bad)
    for name in sorted(EXPLORERS)
    for parameter in inspect.signature(EXPLORERS[name]).parameters.values()
    if parameter.default is not inspect.Parameter.empty
    for bad in _bad_values(parameter.default)
]


@pytest.mark.parametrize(("name", "argument", "bad"), CONSTRUCTOR_CASES)
def test_constructor_rejects_bad_arguments(name, argument, bad):
    with pytest.raises((ValueError, TypeError)) as info:
        EXPLORERS[name](**{argument: bad})
    message = str(info.value)
    assert argument in message and repr(bad) in message, message
    assert not any("/jax/" in str(e.path) for e in info.traceback), "raised inside JAX"


def test_constructor_rejects_unknown_keywords():
    for name in EXPLORERS:
        with pytest.raises(TypeError, match="no_such_option"):
            EXPLORERS[name](no_such_option=1)
