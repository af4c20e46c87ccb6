"""Timing with the standard library's ``timeit``, its statistics, and resident memory.

Every timed call's result goes through ``jax.block_until_ready`` inside the timed region, so
asynchronous dispatch never hides work (a no-op for NumPy or torch results, or ``None``).
Garbage collection stays on while timing (``timeit`` turns it off by default): a user's call
pays for it too. Compilations are counted by ``vgwidgets.engine.count_compilations``.
"""

from __future__ import annotations

import os
import timeit

import numpy as np


def clock(fn) -> timeit.Timer:
    """A ``timeit.Timer`` of ``fn()`` with its result made ready; ``.timeit(1)`` times one call."""
    import jax

    return timeit.Timer(lambda: jax.block_until_ready(fn()), setup="gc.enable()")


def stats(seconds) -> dict:
    """Median (the figure reported), 95th percentile, minimum and count of durations in seconds.

    Example:
      >>> stats([1.0, 2.0, 3.0])["median_s"]
      2.0
    """
    values = np.asarray(list(seconds), dtype=float)
    if values.size == 0:
        raise ValueError("stats needs at least one duration; got none.")
    return {
        "median_s": float(np.median(values)),
        "p95_s": float(np.percentile(values, 95)),
        "min_s": float(values.min()),
        "repeats": int(values.size),
    }


def time_calls(calls: dict, *, repeats: int, warmup: int = 1, budget_s=None) -> dict:
    """Time several calls in turn, round after round, after ``warmup`` untimed calls of each.

    Every round times each call once, so a change in the machine's load touches all of them
    alike. With ``budget_s``, the first round's time sets how many rounds fit in that many
    seconds (at least 3, at most ``repeats``).

    Returns:
      ``{name: stats}``.

    Example:
      >>> time_calls({"sum": lambda: sum(range(100))}, repeats=4)["sum"]["repeats"]
      4
    """
    timers = {name: clock(fn) for name, fn in calls.items()}
    for timer in timers.values():
        timer.timeit(warmup)
    times = {name: [timer.timeit(1)] for name, timer in timers.items()}
    rounds = repeats
    if budget_s is not None:
        per_round = sum(t[0] for t in times.values())
        rounds = max(3, min(repeats, int(budget_s / max(per_round, 1e-9))))
    for _ in range(rounds - 1):
        for name, timer in timers.items():
            times[name].append(timer.timeit(1))
    return {name: stats(values) for name, values in times.items()}


def resident_bytes() -> int | None:
    """This process's resident set size in bytes, from ``/proc/self/statm``; ``None`` elsewhere.

    (``resource``'s ``ru_maxrss`` is a peak, not the current size, so it cannot show growth.)

    Example:
      >>> size = resident_bytes()
      >>> size is None or size > 0
      True
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
