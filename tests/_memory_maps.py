"""Drop JAX's compiled programs between test files once a process holds many memory mappings.

Every program XLA compiles for the CPU keeps memory-mapped regions (its code and data; 3 to 10
per program, measured with jaxlib 0.10.2) for as long as a jit cache holds it, and a test worker
compiles thousands of programs over the suite. Linux caps the mappings of one process
(``vm.max_map_count``, 65530 by default); past the cap, the next compilation cannot map its
code and the worker dies with a segmentation fault inside XLA's compiler. So after the last test
of a file, a process holding more than ``FRACTION`` of the cap calls ``jax.clear_caches()``: the
next file compiles again (or loads from the persistent compilation cache) what it uses.

Only between files, never between two tests of one file: tests may count the compilations of
programs that a module-scoped fixture compiled before them. Only where JAX is already imported
(the notebooks' pytest process never imports it) and where Linux tells the cap and the count.
"""

from __future__ import annotations

import gc
import sys

FRACTION = 0.5


def mapped_regions() -> int | None:
    """The number of memory mappings of this process, or ``None`` where Linux's ``/proc`` is
    not there to tell."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def map_limit() -> int | None:
    """``vm.max_map_count``, or ``None`` where it cannot be read."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def pytest_runtest_teardown(item, nextitem):
    jax = sys.modules.get("jax")
    if jax is None or (nextitem is not None and nextitem.path == item.path):
        return
    count, limit = mapped_regions(), map_limit()
    if count is not None and limit is not None and count > FRACTION * limit:
        jax.clear_caches()
        gc.collect()
