"""The training section: the engine's loop against a Python loop of a jitted optax step, and
``TrainingExplorer``'s build time, scrub latency and memory.

All loops train the same network (``MLPConfig``: ReLU, He's initialization) with the same
optimizer (optax's Adam) on the same minibatches of the digits, from the same parameters.
The engine runs its steps inside one compiled program per record (``lax.fori_loop``), with
the network's choices traced (as ``TrainingExplorer`` runs it) and compiled in
(``train(..., specialize=True)``). The usual way is a plain JAX MLP, a list of ``(W, b)`` per
layer, and a jitted ``value_and_grad`` + ``optax`` update called once per step from Python,
each batch sliced with NumPy; before timing, it is checked to reach the engine's parameters
after a few steps (in float64, where Adam does not amplify rounding). Steps per second exclude
compilation (one warm-up run of each first).

The explorer's scrubs are compared with the naive scrub
(``_naive_training.training_explorer_naive``): the whole figure drawn anew with pyplot, from the
runs the explorer stored, at the same steps. It is measured here, and only here, because it
needs those runs.
"""

from __future__ import annotations

import gc
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import (
    MLPConfig,
    TrainConfig,
    init_mlp,
    small_matrix_jit,
    small_matrix_options,
    train,
    x64_context,
)
from ..experiments import digits_split
from ._naive import same_size
from ._naive_training import training_explorer_naive
from ._timing import clock, resident_bytes, stats

FULL = {"depth": 30, "width": 128, "batch": 128, "steps": 500}
QUICK = {"depth": 3, "width": 16, "batch": 16, "steps": 20}


def _batches(key, n: int, batch: int, steps: int) -> np.ndarray:
    """The engine's minibatch indices of steps 1..steps (``engine/_train.py``'s docstring)."""
    data_key, per_epoch = jax.random.fold_in(key, 1), n // batch
    orders = [np.asarray(jax.random.permutation(jax.random.fold_in(data_key, e), n))
              for e in range((steps - 1) // per_epoch + 1)]  # fmt: skip
    return np.stack([orders[s // per_epoch][(s % per_epoch) * batch:][:batch]
                     for s in range(steps)])  # fmt: skip


def _plain_layers(params) -> list:
    """The engine's stacked ``MLPParams`` as the usual list of per-layer ``(W, b)``."""
    ws = [params.w_first, *params.w_hidden, params.w_out]
    bs = [*params.b_hidden, params.b_out]
    return [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(ws, bs)]


def _python_loop(config: MLPConfig, data, steps: int, batch: int, key, jit=jax.jit):
    """``run``: ``run(k=steps)`` trains ``k`` steps of Adam the usual way, a plain ReLU MLP and a
    Python loop calling one jitted optax step (compiled on the first run, reused after), on
    the engine's batches from the engine's starting parameters, and returns the parameters.
    ``jit`` compiles the step (``small_matrix_jit``: with the engine's compiler options)."""
    optimizer = optax.adam(1e-3)
    start = _plain_layers(init_mlp(config, key=jax.random.fold_in(key, 0)))
    order = _batches(key, len(data.x_train), batch, steps)

    def forward(layers, x):
        for w, b in layers[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = layers[-1]
        return x @ w + b

    @jit
    def step(layers, state, x, labels):
        def cost(p):
            logits = forward(p, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        loss, grads = jax.value_and_grad(cost)(layers)
        updates, state = optimizer.update(grads, state, layers)
        return optax.apply_updates(layers, updates), state, loss

    def run(n_steps=steps):
        layers, state = start, optimizer.init(start)
        for s in range(n_steps):
            idx = order[s]
            layers, state, loss = step(layers, state, data.x_train[idx], data.labels_train[idx])
        jax.block_until_ready(layers)
        return layers

    return run


def _check_same_training(config, data, batch: int, key, steps: int = 5) -> float:
    """The largest relative difference between the engine's and the Python loop's parameters
    after ``steps`` steps, both in float64; raises if it is over 1e-6 (the loops would not be
    comparable: another batch or start differs by order 1).

    float64, because Adam divides each gradient by its own running size: in float32 a deep
    ReLU network's gradients hold entries that cancel to rounding noise (about 1e-9), which
    the two programs round differently and Adam turns into steps of about the learning rate
    with either sign (on this network, a relative difference near 1 after 5 steps). In float64
    that noise is far below Adam's epsilon (1e-8) and moves nothing."""
    wide = config.replace(dtype="float64")
    tc = TrainConfig(optimizer="adam", steps=steps, record_every=steps, batch_size=batch)
    with x64_context("float64"):
        engine = _plain_layers(train(wide, tc, data, key=key).params)
        plain = _python_loop(wide, data, steps, batch, key)(steps)
        worst = max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(a))))
            for pair_e, pair_p in zip(engine, plain) for a, b in zip(pair_e, pair_p)
        )
    if not worst <= 1e-6:
        raise AssertionError(f"the Python loop does not train as the engine does: {worst:.3g}")
    return worst


def _steps_per_s(fn, steps: int, repeats: int) -> dict:
    fn()  # compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {**stats(times), "steps_per_s": steps / float(np.median(times))}


def measure_naive_scrubs(runs: dict, steps, widget_png: bytes) -> dict:
    """The naive scrub (``training_explorer_naive``) of ``runs`` at each of ``steps``, timed
    after one untimed call (pyplot's import and first figure), and its PNG's pixel size
    against the explorer's ``widget_png``."""
    first = training_explorer_naive(runs, int(steps[0]))
    times = [clock(lambda s=int(s): training_explorer_naive(runs, s)).timeit(1) for s in steps]
    return {"function": training_explorer_naive.__name__, **stats(times),
            **same_size(first, widget_png)}  # fmt: skip


def measure_training(*, quick: bool) -> dict:
    """Steps per second of both loops, and the explorer's build, scrub latency and memory, and
    the naive scrub's latency on the explorer's runs."""
    from ..widgets import TrainingExplorer

    size = QUICK if quick else FULL
    repeats = 2 if quick else 3
    data = digits_split()
    config = MLPConfig(depth=size["depth"], width=size["width"], activation="relu",
                       initializer="he_normal", bias_scale=0.0, loss="softmax_cross_entropy")
    tc = TrainConfig(optimizer="adam", steps=size["steps"], record_every=size["steps"],
                     batch_size=size["batch"])  # fmt: skip
    key = jax.random.key(0)

    def engine(specialize=False):
        jax.block_until_ready(train(config, tc, data, key=key, specialize=specialize).params)

    python_run = _python_loop(config, data, size["steps"], size["batch"], key)
    same = _check_same_training(config, data, size["batch"], key)
    engine_t = _steps_per_s(engine, size["steps"], repeats)
    fixed_t = _steps_per_s(lambda: engine(True), size["steps"], repeats)
    python_t = _steps_per_s(python_run, size["steps"], repeats)
    # The usual loop compiled as the engine's steps are (``small_matrix_jit``), so that the
    # report tells the in-program loop's share of the speedup from the compiler options'.
    same_options = small_matrix_options()
    python_same_t = (
        _steps_per_s(_python_loop(config, data, size["steps"], size["batch"], key,
                                  jit=small_matrix_jit), size["steps"], repeats)
        if same_options else None
    )  # fmt: skip

    start = time.perf_counter()
    explorer = TrainingExplorer()
    build_s = time.perf_counter() - start
    try:
        rng, slider = np.random.default_rng(0), explorer.controls.step
        scrubs = 20 if quick else 200
        latencies, values = [], []
        gc.collect()
        before = resident_bytes()
        for _ in range(scrubs):
            values.append(int(rng.integers(slider.min, slider.max + 1)))
            t0 = time.perf_counter()
            slider.value = values[-1]
            latencies.append(time.perf_counter() - t0)
        gc.collect()
        after = resident_bytes()
        errors = explorer.error is not None
        runs, widget_png = explorer.result, explorer.png
    finally:
        explorer.close()
    memory = (None if before is None else (after - before) / 2**20)
    # Fewer naive scrubs than scrubs: each draws a whole new figure, tens of times a scrub.
    naive = measure_naive_scrubs(runs, values[: 5 if quick else 50], widget_png)
    naive["over_scrub"] = naive["median_s"] / float(np.median(latencies))
    return {
        "size": size,
        "engine": engine_t,
        "engine_specialized": fixed_t,
        "python_loop": python_t,
        "compiler_options": same_options,
        "python_loop_same_options": python_same_t,
        "same_training_max_rel_diff": same,
        "speedup_traced": engine_t["steps_per_s"] / python_t["steps_per_s"],
        "speedup": fixed_t["steps_per_s"] / python_t["steps_per_s"],
        "speedup_same_options": (
            None if python_same_t is None
            else fixed_t["steps_per_s"] / python_same_t["steps_per_s"]
        ),
        "explorer": {
            "build_s": build_s, "scrubs": scrubs, "scrub": stats(latencies),
            "memory_growth_mb": memory, "error": errors, "naive": naive,
        },  # fmt: skip
    }
