"""Clocks, statistics, resident memory and a compilation counter, shared by every benchmark.

Times are wall-clock (``time.perf_counter``) around a call whose result is made ready with
``jax.block_until_ready``, so asynchronous dispatch never hides work. Statistics are the median
(the figure reported) and the 95th percentile, over repeats after warm-up calls.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

_COMPILING = re.compile(r"^Compiling ")


def stats(seconds) -> dict:
    """Median, 95th percentile, minimum and count of a list of durations in seconds.

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


def time_calls(
    fn: Callable[[], Any], *, repeats: int, warmup: int = 1, budget_s: float | None = None
) -> dict:
    """Time ``fn()`` ``repeats`` times after ``warmup`` untimed calls; ``stats`` of the times.

    Each call's result goes through ``jax.block_until_ready`` inside the timed region (a no-op
    for NumPy or torch results). With ``budget_s``, timing stops early once that many seconds
    have been spent, after at least 3 repeats.
    """
    import jax

    for _ in range(warmup):
        jax.block_until_ready(fn())
    times = []
    spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
        if budget_s is not None and spent > budget_s and len(times) >= 3:
            break
    return stats(times)


def time_interleaved(
    calls: dict, *, repeats: int, warmup: int = 1, budget_s: float | None = None
) -> dict:
    """Time several calls in turn, round after round; ``{name: stats}``.

    Every round calls each of ``calls`` once (timed alone, its result made ready). A change in
    the machine's load during the run then touches every call alike. With ``budget_s``, rounds
    stop once that many seconds have been spent, after at least 3.
    """
    import jax

    for fn in calls.values():
        for _ in range(warmup):
            jax.block_until_ready(fn())
    times: dict = {name: [] for name in calls}
    spent = 0.0
    for done in range(1, repeats + 1):
        for name, fn in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            spent += elapsed
        if budget_s is not None and spent > budget_s and done >= 3:
            break
    return {name: stats(values) for name, values in times.items()}


def rss_bytes() -> tuple[int | None, str]:
    """This process's resident set size in bytes, and how it was read.

    ``/proc/self/statm`` on Linux; else ``psutil`` if installed; else ``None``
    (``resource``'s ``ru_maxrss`` is a peak, not the current size, so it cannot show growth).
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE"), "/proc/self/statm"
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil
    except ImportError:
        return None, "unavailable (no /proc/self/statm, no psutil)"
    return int(psutil.Process().memory_info().rss), "psutil"


_FINISHED = re.compile(
    r"^Finished (.+?) (?:of |for )?(jit\(\w+\)|\w+)(?: for jit)? in ([0-9.eE+-]+) sec"
)


class CompileLog(logging.Handler):
    """What JAX logged about compilations: ``names`` (one per compilation) and ``phases``.

    ``phases`` holds ``(phase, computation, seconds)`` from JAX's "Finished tracing ...",
    "Finished jaxpr to MLIR module conversion ..." and "Finished XLA compilation ..." records.
    """

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.names: list[str] = []
        self.phases: list[tuple[str, str, float]] = []

    def emit(self, record):
        message = record.getMessage()
        if _COMPILING.match(message):
            # "Compiling jit(_probe) with global shapes ...": keep "jit(_probe)".
            self.names.append(message.split(" ", 2)[1])
            return
        finished = _FINISHED.match(message)
        if finished:
            phase, name, seconds = finished.groups()
            self.phases.append((phase, name, float(seconds)))

    def seconds(self, computation: str) -> dict:
        """``{phase: seconds}`` summed over the records whose computation names ``computation``."""
        out: dict = {}
        for phase, name, seconds in self.phases:
            if computation in name:
                out[phase] = out.get(phase, 0.0) + seconds
        return out


@contextlib.contextmanager
def count_compilations():
    """Count JAX compilations in a ``with`` block, from JAX's own ``jax_log_compiles`` log.

    Every compilation that misses JAX's in-memory caches logs one "Compiling ..." record;
    the handler counts those. The records are kept from the console while the block runs;
    the flag, the logger's level and its propagation are restored afterwards.

    Yields:
      A ``CompileLog``: ``len(log.names)`` is the number of compilations.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> with count_compilations() as log:
      ...     _ = jax.jit(lambda v: v * 3.0)(jnp.ones(7))
      >>> len(log.names) >= 1
      True
    """
    import jax

    logger = logging.getLogger("jax")
    handler = CompileLog()
    previous = (jax.config.jax_log_compiles, logger.level, logger.propagate)
    logger.addHandler(handler)
    # jax_log_compiles logs at WARNING; make sure a quieter configured level lets it through.
    logger.setLevel(min(logger.getEffectiveLevel(), logging.WARNING))
    logger.propagate = False
    jax.config.update("jax_log_compiles", True)
    try:
        yield handler
    finally:
        jax.config.update("jax_log_compiles", previous[0])
        logger.removeHandler(handler)
        logger.setLevel(previous[1])
        logger.propagate = previous[2]
