"""Count the programs JAX compiles in a block of code: the one compile counter of the project.

"Moving a slider compiles nothing new" is a claim about JAX's in-process caches: a call either
finds its executable in memory, or JAX traces the function, lowers it to an MLIR module and asks
the backend for an executable. That last step is what is counted here, one per program. It is
counted the same whether XLA compiles the module or JAX's persistent compilation cache
(``jax_compilation_cache_dir``) hands back an executable compiled by an earlier process: either
way this process had missed its caches and built a new program. The programs that came from
the persistent cache are counted apart too (``cache_hits``, from JAX's
``/jax/compilation_cache/cache_hits`` event, present in JAX 0.4.30 and 0.10.2), so that
``count - cache_hits`` is what XLA compiled.

How: JAX reports every such step through ``jax.monitoring`` as a duration event, around the
lookup-or-compile of the executable (``/jax/core/compile/backend_compile_duration``, emitted in
``jax._src.interpreters.pxla`` in JAX 0.4.30, the floor, and in 0.10.2), and
around tracing and lowering. One listener is registered, once, the first time a block opens; it
adds each event to every block open at that moment (blocks may nest). Nothing is parsed from
log text and no private attribute of a jitted function is read.

Everything that compiles while the block is open is counted, whichever function or thread it
comes from, including an op run eagerly outside ``jit`` for the first time with new shapes
(JAX compiles those too): build inputs before the block when only one function is of interest.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

# jax.monitoring event -> phase. The names are those of jax._src.dispatch (JAXPR_TRACE_EVENT,
# JAXPR_TO_MLIR_MODULE_EVENT, BACKEND_COMPILE_EVENT), the same in JAX 0.4.30 and 0.10.2.
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"
PHASES = {
    "/jax/core/compile/jaxpr_trace_duration": "tracing",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lowering",
    "/jax/core/compile/backend_compile_duration": "compiling",
}

_open: list[Compilations] = []
_lock = threading.Lock()
_listening = False


class Compilations:
    """What JAX compiled while a ``count_compilations()`` block was open.

    Attributes:
      names: one entry per compilation, the program's name as JAX reports it (``"jit(_probe)"``);
        ``"?"`` on JAX versions that report no name (0.4.30 reports none).
      events: ``(phase, name, seconds)`` for every tracing, lowering and compiling step, the
        phase being ``"tracing"``, ``"lowering"`` or ``"compiling"``.
      cache_hits: how many of the ``count`` programs JAX's persistent compilation cache
        supplied (0 when that cache is off).
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.events: list[tuple[str, str, float]] = []
        self.cache_hits = 0

    @property
    def count(self) -> int:
        """How many programs were compiled (or loaded from the persistent cache)."""
        return len(self.names)

    @property
    def xla_compiled(self) -> int:
        """How many programs XLA compiled: ``count`` less the persistent cache's hits."""
        return self.count - self.cache_hits

    def seconds(self, name: str | None = None) -> dict:
        """``{phase: seconds}`` summed over the events, or over those whose name contains
        ``name`` (on a JAX that reports no names, over all events)."""
        out: dict = {}
        for phase, event_name, seconds in self.events:
            if name is None or event_name == "?" or name in event_name:
                out[phase] = out.get(phase, 0.0) + seconds
        return out

    def __repr__(self) -> str:
        return (
            f"Compilations(count={self.count}, cache_hits={self.cache_hits}, "
            f"names={self.names!r})"
        )


def _listener(event: str, duration: float, **kwargs) -> None:
    phase = PHASES.get(event)
    if phase is None or not _open:
        return
    name = str(kwargs.get("fun_name", "?"))
    with _lock:
        for block in _open:
            block.events.append((phase, name, float(duration)))
            if phase == "compiling":
                block.names.append(name)


def _hit_listener(event: str, **kwargs) -> None:
    if event != CACHE_HIT_EVENT or not _open:
        return
    with _lock:
        for block in _open:
            block.cache_hits += 1


@contextlib.contextmanager
def count_compilations() -> Iterator[Compilations]:
    """Count the programs JAX compiles inside a ``with`` block.

    A jitted function called with argument shapes and types it has not seen in this process
    counts 1; called again, 0. A hit in JAX's persistent compilation cache still counts 1: the
    question answered is "did this process build a new program", not "did XLA run".

    Yields:
      A ``Compilations``; after the block, ``.count`` is the number of compilations,
      ``.names`` their programs' names and ``.seconds()`` the time spent per phase.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from vgwidgets.engine import count_compilations
      >>> triple = jax.jit(lambda v: 3.0 * v)
      >>> x = jnp.ones(7)
      >>> with count_compilations() as first:
      ...     _ = triple(x)
      >>> with count_compilations() as again:
      ...     _ = triple(x)
      >>> first.count, again.count
      (1, 0)
    """
    global _listening
    import jax.monitoring

    with _lock:
        if not _listening:
            jax.monitoring.register_event_duration_secs_listener(_listener)
            jax.monitoring.register_event_listener(_hit_listener)
            _listening = True
        block = Compilations()
        _open.append(block)
    try:
        yield block
    finally:
        with _lock:
            _open.remove(block)
