"""Gradient-probe throughput against a roofline measured in the same run, and the baselines.

FLOP count (matrix products only; elementwise work is not counted). For batch ``b``, ``L``
hidden layers of width ``w``, ``n_in`` inputs and ``n_out`` outputs, the probe's forward pass
multiplies ``(b, n_in) @ (n_in, w)``, ``L - 1`` times ``(b, w) @ (w, w)`` and
``(b, w) @ (w, n_out)``; the backward pass needs one product per layer for ``dC/dW`` (none for
the output layer, whose gradient the probe does not use) and one per layer for ``dC/da`` (none
for the input, which is not differentiated). Each ``(b, n) @ (n, m)`` costs ``2 b n m``:

    FLOPs = 2 b (3 (L - 1) w^2 + 2 w (n_in + n_out)).

Roofline: the time this machine's own float32 matrix product needs for those FLOPs, from one
jit-compiled ``(N, N) @ (N, N)`` with ``2 N^3`` closest to them, timed in the same run. Beside it,
the same FLOPs as the probe's own matrix shapes, batched into one call (the rate the machine
reaches at those small shapes, with no dependency between them).

Everything of one size is timed in interleaved rounds (engine, rooflines, references,
baselines, then again), so that a change in the machine's load touches all of them alike and
their ratios stay meaningful on a shared machine.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._baselines import BASELINES, FIELDS, NORMS, check, prepare_grad_only
from ._timing import time_interleaved


class ProbeSize(NamedTuple):
    """A benchmarked network: ``depth`` hidden layers of ``width``, a batch of ``batch``."""

    name: str
    depth: int
    width: int
    batch: int
    n_in: int = 64
    n_out: int = 10

    def flops(self) -> int:
        """Matrix-product FLOPs of one probe (forward + backward), see the module docstring."""
        b, depth, w = self.batch, self.depth, self.width
        return 2 * b * (3 * (depth - 1) * w * w + 2 * w * (self.n_in + self.n_out))


DEFAULT = ProbeSize("depth 50, width 128, batch 256", 50, 128, 256)
LARGE = ProbeSize("depth 200, width 1024, batch 1024", 200, 1024, 1024)
QUICK = ProbeSize("depth 4, width 16, batch 8 (quick)", 4, 16, 8)


def _problem(size: ProbeSize, *, seed: int = 0):
    """The config, parameters and a batch of data (inputs N(0, 1), one-hot targets)."""
    import jax

    from ..engine import MLPConfig, init_mlp

    config = MLPConfig(n_in=size.n_in, depth=size.depth, width=size.width, n_out=size.n_out)
    params = jax.block_until_ready(init_mlp(config, key=jax.random.key(seed)))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size.batch, size.n_in)).astype(np.float32)
    y = np.eye(size.n_out, dtype=np.float32)[rng.integers(0, size.n_out, size.batch)]
    return config, params, x, y


def square_matmul(flops: int, *, seed: int = 0):
    """A jit-compiled float32 ``(N, N) @ (N, N)`` with ``2 N^3`` nearest ``flops``: ``(n, call)``."""
    import jax
    import jax.numpy as jnp

    n = max(1, round((flops / 2) ** (1 / 3)))
    keys = jax.random.split(jax.random.key(seed))
    a = jax.random.normal(keys[0], (n, n), jnp.float32)
    b = jax.random.normal(keys[1], (n, n), jnp.float32)
    matmul = jax.jit(jnp.matmul)
    return n, lambda: matmul(a, b)


def shaped_matmuls(size: ProbeSize, *, seed: int = 0):
    """The probe's own matrix products, all of ``size.flops()``, batched in one jitted call."""
    import jax
    import jax.numpy as jnp

    b, depth, w, n_in, n_out = size.batch, size.depth, size.width, size.n_in, size.n_out
    shapes = {
        "a": (max(depth - 1, 1), b, w),
        "w": (max(depth - 1, 1), w, w),
        "x": (b, n_in),
        "w1": (n_in, w),
        "h": (b, w),
        "wo": (w, n_out),
        "do": (b, n_out),
    }
    keys = jax.random.split(jax.random.key(seed), len(shapes))
    arrays = {
        k: jax.random.normal(key, s, jnp.float32) for key, (k, s) in zip(keys, shapes.items())
    }
    hidden = depth - 1

    @jax.jit
    def products(v):
        out = [v["x"] @ v["w1"], v["x"].T @ v["h"], v["h"] @ v["wo"], v["do"] @ v["wo"].T]
        if hidden:
            out += [
                v["a"] @ v["w"],  # forward
                jnp.swapaxes(v["a"], 1, 2) @ v["a"],  # dC/dW
                v["a"] @ jnp.swapaxes(v["w"], 1, 2),  # dC/da
            ]
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

    The engine is timed through the public ``probe`` (argument checks included), with NumPy
    inputs, as a user calls it. Each reference is first checked against the engine's numbers
    and timed only if it agrees. All are timed in interleaved rounds.

    Returns:
      A JSON-able dict: the size, ``flops``, ``engine``, ``roofline``, ``shaped_roofline``,
      ``grad_only``, ``baselines`` and the ratios ``engine_over_roofline``,
      ``engine_over_shaped_roofline``, ``grad_only_over_roofline``, ``<baseline>_over_engine``.
    """
    import jax

    from ..engine import probe

    problem = _problem(size)
    config, params, x, y = problem
    flops = size.flops()
    units = size.batch * size.width
    engine_result = jax.block_until_ready(probe(*problem))
    n, square = square_matmul(flops)
    calls = {
        "engine": lambda: probe(config, params, x, y),
        "roofline": square,
        "shaped_roofline": shaped_matmuls(size),
    }
    grad_only, run = _checked(
        prepare_grad_only,
        problem,
        engine_result,
        fields=("loss", *NORMS),
        units=units,
        description="jax.grad of the same network, jit, norms only (no statistics)",
    )
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
            baseline.prepare,
            problem,
            engine_result,
            fields=FIELDS,
            units=units,
            description=baseline.description,
        )
        if name == "torch":
            import torch

            from ._baselines import torch_device

            baselines[name].update(
                version=torch.__version__, device=torch_device(), threads=torch.get_num_threads()
            )
        if run is not None:
            calls[name] = run

    timings = time_interleaved(calls, repeats=repeats, warmup=2, budget_s=budget_s)
    for timing in timings.values():
        timing["gflops"] = flops / timing["median_s"] / 1e9
    engine, roofline, shaped = timings["engine"], timings["roofline"], timings["shaped_roofline"]
    rate = 2 * n**3 / roofline["median_s"]
    roofline.update(n=n, gflops=rate / 1e9, time_for_flops_s=flops / rate)
    if "grad_only" in timings:
        grad_only.update(timings["grad_only"])
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
        "shaped_roofline": shaped,
        "engine_over_roofline": engine["median_s"] / roofline["time_for_flops_s"],
        "engine_over_shaped_roofline": engine["median_s"] / shaped["median_s"],
        "grad_only": grad_only,
        "baselines": baselines,
    }
    if "grad_only" in timings:
        result["grad_only_over_roofline"] = grad_only["median_s"] / roofline["time_for_flops_s"]
    for name in baselines:
        if name in timings:
            result[f"{name}_over_engine"] = timings[name]["median_s"] / engine["median_s"]
    return result
