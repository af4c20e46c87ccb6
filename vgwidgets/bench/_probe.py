"""The probe's throughput against a roofline and the baselines, and its compilation time.

BENCHMARKS.md ("What is measured, and how", sections 1 and 2) explains the FLOP count, the
rooflines and the first-call measurement; this module does what it says.
"""

from __future__ import annotations

import statistics
import time
from typing import NamedTuple

import numpy as np

from ..engine import MLPConfig, count_compilations, init_mlp, probe
from ._baselines import BASELINE_FIELDS, BASELINES, NORM_FIELDS, check, prepare_grad_only
from ._timing import time_calls


class ProbeSize(NamedTuple):
    """A benchmarked network: ``depth`` hidden layers of ``width``, a batch of ``batch``."""

    name: str
    depth: int
    width: int
    batch: int
    n_in: int = 64
    n_out: int = 10

    def flops(self) -> int:
        """Matrix-product FLOPs of one probe, forward and backward:
        ``2 b (3 (L - 1) w^2 + 2 w (n_in + n_out))`` (see BENCHMARKS.md)."""
        b, depth, w = self.batch, self.depth, self.width
        return 2 * b * (3 * (depth - 1) * w * w + 2 * w * (self.n_in + self.n_out))


DEFAULT = ProbeSize("depth 50, width 128, batch 256", 50, 128, 256)
LARGE = ProbeSize("depth 200, width 1024, batch 1024", 200, 1024, 1024)
QUICK = ProbeSize("depth 4, width 16, batch 8 (quick)", 4, 16, 8)
SHALLOW = ProbeSize("depth 10, width 128, batch 256", 10, 128, 256)
DEEP = ProbeSize("depth 200, width 128, batch 256", 200, 128, 256)
QUICK_SHALLOW = ProbeSize("depth 2, width 16, batch 8 (quick)", 2, 16, 8)
QUICK_DEEP = ProbeSize("depth 40, width 16, batch 8 (quick)", 40, 16, 8)


def _problem(size: ProbeSize, *, seed: int = 0):
    """The config, parameters and a batch of data (inputs N(0, 1), one-hot targets)."""
    import jax

    config = MLPConfig(n_in=size.n_in, depth=size.depth, width=size.width, n_out=size.n_out)
    params = jax.block_until_ready(init_mlp(config, key=jax.random.key(seed)))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size.batch, size.n_in)).astype(np.float32)
    y = np.eye(size.n_out, dtype=np.float32)[rng.integers(0, size.n_out, size.batch)]
    return config, params, x, y


def square_matmul(flops: int, *, seed: int = 0):
    """A jitted float32 ``(N, N) @ (N, N)`` with ``2 N^3`` nearest ``flops``: ``(n, call)``."""
    import jax
    import jax.numpy as jnp

    n = max(1, round((flops / 2) ** (1 / 3)))
    keys = jax.random.split(jax.random.key(seed))
    a, b = (jax.random.normal(key, (n, n), jnp.float32) for key in keys)
    matmul = jax.jit(jnp.matmul)
    return n, lambda: matmul(a, b)


def shaped_matmuls(size: ProbeSize, *, seed: int = 0):
    """The probe's own matrix products, all of ``size.flops()``, batched in one jitted call."""
    import jax
    import jax.numpy as jnp

    b, hidden, w = size.batch, size.depth - 1, size.width
    shapes = {
        "a": (max(hidden, 1), b, w), "w": (max(hidden, 1), w, w), "x": (b, size.n_in),
        "w1": (size.n_in, w), "h": (b, w), "wo": (w, size.n_out), "do": (b, size.n_out),
    }  # fmt: skip
    keys = dict(zip(shapes, jax.random.split(jax.random.key(seed), len(shapes))))
    arrays = {k: jax.random.normal(keys[k], s, jnp.float32) for k, s in shapes.items()}

    @jax.jit
    def products(v):
        out = [v["x"] @ v["w1"], v["x"].T @ v["h"], v["h"] @ v["wo"], v["do"] @ v["wo"].T]
        if hidden:  # forward, dC/dW, dC/da
            a_t, w_t = jnp.swapaxes(v["a"], 1, 2), jnp.swapaxes(v["w"], 1, 2)
            out += [v["a"] @ v["w"], a_t @ v["a"], v["a"] @ w_t]
        return out

    return lambda: products(arrays)


def _checked(prepare, problem, engine_result, *, fields, units, description):
    """``(entry, run)``: the reference's agreement with the engine, and its call (or None)."""
    config, params, x, y = problem
    entry = {"description": description}
    try:
        run, to_numpy = prepare(config, params, x, y, 0.05)
    except ValueError as error:
        return {**entry, "skipped": str(error)}, None
    agreement = check(
        engine_result, to_numpy(run()), dtype=config.dtype, units=units, fields=fields
    )
    entry["same_numbers"] = agreement
    if not agreement["same"]:
        return {**entry, "skipped": f"disagrees with the engine on {agreement['mismatched']}"}, None
    return entry, run


def measure_probe(size: ProbeSize, *, repeats: int, budget_s: float) -> dict:
    """Time ``vgwidgets.probe`` at ``size``, the rooflines, the bare ``jax.grad`` and baselines.

    The engine is timed through the public ``probe`` with NumPy inputs, as a user calls it.
    Each reference is first checked against the engine's numbers and timed only if it agrees.

    Returns:
      A JSON-able dict: the size, ``flops``, ``engine``, ``roofline``, ``shaped_roofline``,
      ``grad_only``, ``baselines`` and the ratios ``engine_over_roofline``,
      ``engine_over_shaped_roofline``, ``grad_only_over_roofline``, ``<baseline>_over_engine``.
    """
    import jax

    problem = _problem(size)
    config = problem[0]
    flops, units = size.flops(), size.batch * size.width
    engine_result = jax.block_until_ready(probe(*problem))
    n, square = square_matmul(flops)
    calls = {"engine": lambda: probe(*problem), "roofline": square}
    # The same probe with the config's choices compiled in (what the traced choices cost)
    fixed = jax.block_until_ready(probe(*problem, specialize=True))
    fixed_agrees = bool(np.allclose(fixed.grad_w_norm, engine_result.grad_w_norm, rtol=1e-4))
    if fixed_agrees:
        calls["engine_specialized"] = lambda: probe(*problem, specialize=True)
    calls["shaped_roofline"] = shaped_matmuls(size)
    grad_only, run = _checked(
        prepare_grad_only, problem, engine_result, fields=("loss", *NORM_FIELDS), units=units,
        description="jax.grad of the same network, jit, norms only (no statistics)",
    )  # fmt: skip
    if run is not None:
        calls["grad_only"] = run
    baselines = {}
    for name, baseline in BASELINES.items():
        reason = baseline.unavailable()
        if reason is None and size is LARGE and name == "numpy":
            reason = "CPU-only baseline, not timed at the accelerator size"
        if reason is not None:
            baselines[name] = {"description": baseline.description, "skipped": reason}
            continue
        baselines[name], run = _checked(
            baseline.prepare, problem, engine_result, fields=BASELINE_FIELDS, units=units,
            description=baseline.description,
        )  # fmt: skip
        if name == "torch":
            import torch

            from ._baselines import torch_device

            baselines[name].update(
                version=torch.__version__, device=torch_device(), threads=torch.get_num_threads()
            )
        if run is not None:
            calls[name] = run

    timings = time_calls(calls, repeats=repeats, warmup=2, budget_s=budget_s)
    for timing in timings.values():
        timing["gflops"] = flops / timing["median_s"] / 1e9
    engine, roofline = timings["engine"], timings["roofline"]
    rate = 2 * n**3 / roofline["median_s"]
    roofline.update(n=n, gflops=rate / 1e9, time_for_flops_s=flops / rate)
    grad_only.update(timings.get("grad_only", {}))
    for name, entry in baselines.items():
        entry.update(timings.get(name, {}))
    result = {
        "size": size._asdict(),
        "dtype": config.dtype,
        "activation": config.activation,
        "loss": config.loss,
        "flops": flops,
        "engine": engine,
        "roofline": roofline,
        "shaped_roofline": timings["shaped_roofline"],
        "engine_over_roofline": engine["median_s"] / roofline["time_for_flops_s"],
        "engine_over_shaped_roofline": engine["median_s"] / timings["shaped_roofline"]["median_s"],
        "grad_only": grad_only,
        "baselines": baselines,
    }
    if "grad_only" in timings:
        result["grad_only_over_roofline"] = grad_only["median_s"] / roofline["time_for_flops_s"]
        result["engine_over_grad_only"] = engine["median_s"] / grad_only["median_s"]
    result["specialized"] = timings.get(
        "engine_specialized", {"skipped": "probe(..., specialize=True) disagreed with probe"}
    )
    if "engine_specialized" in timings and "grad_only" in timings:
        result["specialized_over_grad_only"] = (
            timings["engine_specialized"]["median_s"] / grad_only["median_s"]
        )
    for name in baselines:
        if name in timings:
            result[f"{name}_over_engine"] = timings[name]["median_s"] / engine["median_s"]
    return result


def _first_call(problem) -> dict:
    """Clear JAX's in-memory caches, then time one probe call and count what it compiles."""
    import jax

    jax.clear_caches()
    with count_compilations() as compiled:
        start = time.perf_counter()
        jax.block_until_ready(probe(*problem))
        seconds = time.perf_counter() - start
    return {"first_call_s": seconds, "phases_s": compiled.seconds("_probe"), "compiled": compiled}


def measure_compilation(*, quick: bool, repeats: int) -> dict:
    """First-call times at a shallow and a deep size, measured in turn, and their medians' ratio.

    A persistent compilation cache, if the user configured one, is reported, not disabled.

    Returns:
      ``{"shallow": ..., "deep": ..., "deep_over_shallow", "persistent_cache_dir"}``; each size
      has ``first_call_s`` (median), ``attempts`` (each attempt's seconds and ``phases_s``:
      tracing, lowering, compiling), ``steady`` (later calls), ``compile_s`` (median first call
      minus median later call) and ``compilations`` (what the last first call compiled).
    """
    import jax

    sizes = {"shallow": QUICK_SHALLOW, "deep": QUICK_DEEP} if quick else {
        "shallow": SHALLOW, "deep": DEEP,
    }  # fmt: skip
    problems = {key: _problem(size) for key, size in sizes.items()}
    runs = {key: [] for key in sizes}
    for _ in range(1 if quick else 3):
        for key, problem in problems.items():
            runs[key].append(_first_call(problem))
    results = {}
    for key, size in sizes.items():
        calls = {"steady": lambda problem=problems[key]: probe(*problem)}
        steady = time_calls(calls, repeats=repeats, warmup=0)["steady"]
        first = statistics.median(r["first_call_s"] for r in runs[key])
        results[key] = {
            "size": size._asdict(),
            "first_call_s": first,
            "attempts": [{k: r[k] for k in ("first_call_s", "phases_s")} for r in runs[key]],
            "steady": steady,
            "compile_s": first - steady["median_s"],
            "compilations": runs[key][-1]["compiled"].names,
        }
    results["deep_over_shallow"] = (
        results["deep"]["first_call_s"] / results["shallow"]["first_call_s"]
    )
    results["persistent_cache_dir"] = getattr(jax.config, "jax_compilation_cache_dir", None) or None
    return results
