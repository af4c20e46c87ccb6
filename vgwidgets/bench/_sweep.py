"""The phase-diagram sweep's throughput: random networks measured per second (``engine.sweep``).

One size per backend, stated in the result: on a CPU a 16 x 16 grid of width-128, depth-30
networks (8 examples each), on a GPU or TPU the 256 x 256 grid of width-256, depth-50 networks
that issue 13 asks for. The first call (compilation and the theory's quadrature included) is
timed once; then ``repeats`` calls with the same shapes, whose median gives networks per second.
The grid is sharded over every device JAX has (``jax.devices()``).
"""

from __future__ import annotations

import time

import numpy as np

from ..engine import SweepConfig, sweep
from ._timing import stats

CPU_SIZE = {"grid": (16, 16), "config": SweepConfig(width=128, depth=30, examples=8)}
ACCELERATOR_SIZE = {"grid": (256, 256), "config": SweepConfig(width=256, depth=50, examples=8)}
QUICK_SIZE = {"grid": (4, 4), "config": SweepConfig(width=16, depth=6, examples=2, skip=1)}


def measure_sweep(*, quick: bool, backend: str, repeats: int) -> dict:
    """Time ``sweep`` at the size for ``backend`` (``QUICK_SIZE`` when ``quick``).

    Returns:
      ``{"size": {...}, "first_call_s", "timing": stats, "networks_per_s", "devices"}``.
    """
    import jax

    size = QUICK_SIZE if quick else (CPU_SIZE if backend == "cpu" else ACCELERATOR_SIZE)
    n_bias, n_weight = size["grid"]
    config = size["config"]
    weight_vars = np.linspace(0.5, 4.0, n_weight)
    bias_vars = np.linspace(0.0, 0.4, n_bias)
    key = jax.random.key(0)
    start = time.perf_counter()
    sweep(config, weight_vars, bias_vars, key=key)
    first = time.perf_counter() - start
    times = []
    for _ in range(max(1, min(repeats, 5))):
        start = time.perf_counter()
        sweep(config, weight_vars, bias_vars, key=key)  # results come back as NumPy: synced
        times.append(time.perf_counter() - start)
    timing = stats(times)
    return {
        "size": {
            "name": f"{n_bias} x {n_weight} grid, width {config.width}, depth {config.depth}, "
            f"{config.examples} examples, {config.activation}",
            "networks": n_bias * n_weight,
            "width": config.width,
            "depth": config.depth,
            "examples": config.examples,
        },
        "first_call_s": first,
        "timing": timing,
        "networks_per_s": n_bias * n_weight / timing["median_s"],
        "devices": len(jax.devices()),
    }
