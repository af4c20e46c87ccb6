"""Compilation: the probe's first-call time at a shallow and a deep network.

Hidden layers run under ``jax.lax.scan``, so the compiled program should not grow with depth:
the first call at depth 200 should cost about what it costs at depth 10. JAX's in-memory caches
are cleared before each first call, so each one traces and compiles anew (a persistent
compilation cache on disk, if the user configured one, is reported, not disabled). Compile
times vary from one attempt to the next, so the two depths are measured in turn, ``attempts``
times each, and the median first call is reported; JAX's log gives each attempt's split into
tracing, lowering to MLIR and XLA's compilation.
"""

from __future__ import annotations

import statistics
import time

from ._probe import ProbeSize, _problem
from ._timing import count_compilations, time_calls

SHALLOW = ProbeSize("depth 10, width 128, batch 256", 10, 128, 256)
DEEP = ProbeSize("depth 200, width 128, batch 256", 200, 128, 256)
QUICK_SHALLOW = ProbeSize("depth 2, width 16, batch 8 (quick)", 2, 16, 8)
QUICK_DEEP = ProbeSize("depth 40, width 16, batch 8 (quick)", 40, 16, 8)


def _first_call(problem) -> dict:
    import jax

    from ..engine import probe

    config, params, x, y = problem
    jax.clear_caches()
    with count_compilations() as log:
        start = time.perf_counter()
        jax.block_until_ready(probe(config, params, x, y))
        seconds = time.perf_counter() - start
    return {"first_call_s": seconds, "phases_s": log.seconds("_probe"), "compiled": log.names}


def measure_compilation(*, quick: bool, repeats: int) -> dict:
    """First-call times at the shallow and the deep size, in turn, and their medians' ratio.

    Returns:
      ``{"shallow": ..., "deep": ..., "deep_over_shallow", "persistent_cache_dir"}``; each size
      has ``first_call_s`` (median), ``attempts`` (each attempt's seconds and phases),
      ``steady`` (later calls), ``compile_s`` (median first call minus median later call) and
      ``compilations`` (what the last first call compiled).
    """
    import jax

    from ..engine import probe

    sizes = {"shallow": QUICK_SHALLOW, "deep": QUICK_DEEP} if quick else {
        "shallow": SHALLOW, "deep": DEEP,
    }  # fmt: skip
    attempts = 1 if quick else 3
    problems = {k: _problem(size) for k, size in sizes.items()}
    runs = {k: [] for k in sizes}
    for _ in range(attempts):
        for key, problem in problems.items():
            runs[key].append(_first_call(problem))
    results = {}
    for key, size in sizes.items():
        steady = time_calls(
            lambda problem=problems[key]: probe(*problem), repeats=repeats, warmup=0
        )
        first = statistics.median(r["first_call_s"] for r in runs[key])
        results[key] = {
            "size": size._asdict(),
            "first_call_s": first,
            "attempts": [{k: r[k] for k in ("first_call_s", "phases_s")} for r in runs[key]],
            "steady": steady,
            "compile_s": first - steady["median_s"],
            "compilations": runs[key][-1]["compiled"],
        }
    results["deep_over_shallow"] = (
        results["deep"]["first_call_s"] / results["shallow"]["first_call_s"]
    )
    results["persistent_cache_dir"] = getattr(jax.config, "jax_compilation_cache_dir", None) or None
    return results
