"""The test run's guard against the cap on memory mappings per process (tests/_memory_maps.py)."""

import gc
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import pytest

from tests import _memory_maps


def test_compiled_programs_hold_memory_maps_until_jax_clears_its_caches():
    if _memory_maps.mapped_regions() is None:
        pytest.skip("this system has no /proc/self/maps")
    jax.clear_caches()
    gc.collect()
    before = _memory_maps.mapped_regions()
    programs = [jax.jit(lambda x, i=i: jnp.tanh(x @ x + i)) for i in range(40)]
    for program in programs:
        program(jnp.ones((16, 16))).block_until_ready()
    held = _memory_maps.mapped_regions()
    # the mechanism the guard relies on: each compiled program keeps mappings while cached ...
    assert held - before >= len(programs), (before, held)
    jax.clear_caches()
    gc.collect()
    # ... and gives most of them back when JAX's caches are cleared
    assert _memory_maps.mapped_regions() - before < 0.5 * (held - before)


def _item(path):
    return SimpleNamespace(path=path)


@pytest.mark.parametrize(
    ("count", "limit", "next_path", "cleared"),
    [
        (900, 1000, "b.py", True),  # a file ends over half the cap
        (900, 1000, "a.py", False),  # within a file: never
        (400, 1000, "b.py", False),  # under half the cap
        (900, 1000, None, True),  # the worker's last test
        (900, None, "b.py", False),  # no cap to read
        (None, 1000, "b.py", False),  # no /proc/self/maps
    ],
)
def test_caches_are_cleared_only_between_files_over_half_the_cap(
    monkeypatch, count, limit, next_path, cleared
):
    calls = []
    monkeypatch.setattr(_memory_maps, "mapped_regions", lambda: count)
    monkeypatch.setattr(_memory_maps, "map_limit", lambda: limit)
    monkeypatch.setattr(jax, "clear_caches", lambda: calls.append(1))
    nextitem = None if next_path is None else _item(next_path)
    _memory_maps.pytest_runtest_teardown(_item("a.py"), nextitem)
    assert calls == ([1] if cleared else [])
