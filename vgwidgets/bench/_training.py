"""The training section: the engine's loop against a Python loop of a jitted optax step, and
``TrainingExplorer``'s build time, scrub latency and memory.

Both loops train the same network (``MLPConfig``: ReLU, He's initialization) with the same
optimizer (optax's Adam) on minibatches of the digits. The engine runs its steps inside one
compiled program per record (``lax.fori_loop``); the usual way calls a jitted
``value_and_grad`` + ``optax`` update once per step from Python, slicing each batch with NumPy.
Steps per second exclude compilation (one warm-up run of each first).
"""

from __future__ import annotations

import gc
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import MLPConfig, TrainConfig, get_loss, init_mlp, run_network, to_arrays, train
from ..experiments import digits_split
from ._timing import resident_bytes, stats

FULL = {"depth": 30, "width": 128, "batch": 128, "steps": 500}
QUICK = {"depth": 3, "width": 16, "batch": 16, "steps": 20}


def _python_loop(config: MLPConfig, data, steps: int, batch: int, key):
    """A function running ``steps`` of Adam the usual way: a Python loop calling one jitted
    optax step (compiled on the first run, reused after)."""
    optimizer = optax.adam(1e-3)
    structure = config.structure
    loss_fn = get_loss(config.loss).fn
    start, _, traced, norm_state = to_arrays(
        structure, init_mlp(config, key=key), data.x_train[:1], config.traced, None
    )

    @jax.jit
    def step(params, state, x, labels):
        def cost(p):
            out = run_network(structure, p, x, traced, norm_state).out
            return jnp.mean(loss_fn(out, jax.nn.one_hot(labels, structure.n_out)))

        loss, grads = jax.value_and_grad(cost)(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    def run():
        params, state = start, optimizer.init(start)
        rng = np.random.default_rng(0)
        n, per_epoch = len(data.x_train), len(data.x_train) // batch
        perm = rng.permutation(n)
        for s in range(steps):
            if s % per_epoch == 0:
                perm = rng.permutation(n)
            idx = perm[(s % per_epoch) * batch : (s % per_epoch + 1) * batch]
            params, state, loss = step(params, state, data.x_train[idx], data.labels_train[idx])
        return float(loss)

    return run


def _steps_per_s(fn, steps: int, repeats: int) -> dict:
    fn()  # compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {**stats(times), "steps_per_s": steps / float(np.median(times))}


def measure_training(*, quick: bool) -> dict:
    """Steps per second of both loops, and the explorer's build, scrub latency and memory."""
    from ..widgets import TrainingExplorer

    size = QUICK if quick else FULL
    repeats = 2 if quick else 3
    data = digits_split()
    config = MLPConfig(depth=size["depth"], width=size["width"], activation="relu",
                       initializer="he_normal", bias_scale=0.0, loss="softmax_cross_entropy")
    tc = TrainConfig(optimizer="adam", steps=size["steps"], record_every=size["steps"],
                     batch_size=size["batch"])  # fmt: skip
    key = jax.random.key(0)

    def engine():
        jax.block_until_ready(train(config, tc, data, key=key).params)

    engine_t = _steps_per_s(engine, size["steps"], repeats)
    python_t = _steps_per_s(_python_loop(config, data, size["steps"], size["batch"], key),
                            size["steps"], repeats)  # fmt: skip

    start = time.perf_counter()
    explorer = TrainingExplorer()
    build_s = time.perf_counter() - start
    try:
        rng, slider = np.random.default_rng(0), explorer.controls.step
        scrubs = 20 if quick else 200
        latencies = []
        gc.collect()
        before = resident_bytes()
        for _ in range(scrubs):
            value = int(rng.integers(slider.min, slider.max + 1))
            t0 = time.perf_counter()
            slider.value = value
            latencies.append(time.perf_counter() - t0)
        gc.collect()
        after = resident_bytes()
        errors = explorer.error is not None
    finally:
        explorer.close()
    memory = (None if before is None else (after - before) / 2**20)
    return {
        "size": size,
        "engine": engine_t,
        "python_loop": python_t,
        "speedup": engine_t["steps_per_s"] / python_t["steps_per_s"],
        "explorer": {
            "build_s": build_s, "scrubs": scrubs, "scrub": stats(latencies),
            "memory_growth_mb": memory, "error": errors,
        },  # fmt: skip
    }
