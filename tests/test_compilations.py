"""``vgwidgets.engine.count_compilations``: one per program this process builds, zero on a repeat
call, one per new shape, with and without JAX's persistent compilation cache."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp

from vgwidgets.engine import count_compilations


def test_a_new_function_counts_once_a_repeat_zero_a_new_shape_once():
    def triple(v):
        return v * 3.0

    fn = jax.jit(triple)
    seven, nine = jnp.ones(7), jnp.ones(9)  # built outside: creating them compiles too
    with count_compilations() as first:
        fn(seven)
    with count_compilations() as again:
        fn(seven)
    with count_compilations() as new_shape:
        fn(nine)
    assert (first.count, again.count, new_shape.count) == (1, 0, 1)
    (name,) = first.names
    assert "triple" in name or name == "?"  # "?": a JAX that reports no names (0.4.30)
    assert again.names == [] and again.seconds() == {}
    phases = first.seconds("triple")
    assert set(phases) == {"tracing", "lowering", "compiling"}
    assert all(seconds > 0 for seconds in phases.values())


def test_blocks_nest_and_each_counts_what_compiled_while_it_was_open():
    double, halve = jax.jit(lambda v: 2.0 * v), jax.jit(lambda v: 0.5 * v)
    x = jnp.ones(5)
    with count_compilations() as outer:
        double(x)
        with count_compilations() as inner:
            halve(x)
    assert (outer.count, inner.count) == (2, 1)


def test_clearing_jaxs_caches_makes_the_next_call_compile_again():
    fn = jax.jit(lambda v: v - 1.0)
    x = jnp.ones(4)
    fn(x)
    jax.clear_caches()
    with count_compilations() as after_clear:
        fn(x)
    assert after_clear.count == 1


# A fresh process with the persistent cache in a temporary folder: the first program is
# compiled by XLA and written there; after jax.clear_caches() the same call is served from
# the disk (JAX's own '/jax/compilation_cache/cache_hits' event says so) and still counts 1.
_PERSISTENT = textwrap.dedent(
    """
    import os, jax, jax.numpy as jnp, jax.monitoring
    from vgwidgets.engine import count_compilations

    hits = []
    jax.monitoring.register_event_listener(
        lambda event, **kw: hits.append(event) if event.endswith("/cache_hits") else None)
    fn = jax.jit(lambda v: jnp.sin(v) * 2.0 + 1.0)
    seven, nine = jnp.ones(7), jnp.ones(9)
    counts = []
    for step in ("new", "again", "from disk", "again", "new shape"):
        if step == "from disk":
            jax.clear_caches()
        with count_compilations() as c:
            jax.block_until_ready(fn(nine if step == "new shape" else seven))
        counts.append(c.count)
    print(counts, len(hits), len(os.listdir(os.environ["JAX_COMPILATION_CACHE_DIR"])) > 0)
    """
)


def test_counts_are_the_same_with_the_persistent_compilation_cache_on(tmp_path):
    env = {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PERSISTENT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[1, 0, 1, 0, 1] 1 True"
