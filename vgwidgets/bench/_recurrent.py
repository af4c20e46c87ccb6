"""``probe_through_time``'s bench rows: time per call at T = 1000, hidden 128, batch 64, and
its first-call (compile) time at several sequence lengths, which should be flat in T.

The first-call time is measured on a fresh ``max_length`` each (a new static shape: the probe
compiles), so it is what a learner waits for when a new size is first used. A PyTorch eager
baseline (``nn.RNN`` / ``nn.LSTM`` with retained hidden-state gradients) is not measured here:
PyTorch is not a dependency and is not installed on the bench machine; the row says so.
"""

from __future__ import annotations

import time

import numpy as np

from ..engine import RNNConfig, count_compilations, init_rnn, probe_through_time
from ._timing import time_calls

SIZE = {"length": 1000, "hidden": 128, "batch": 64}
QUICK_SIZE = {"length": 50, "hidden": 16, "batch": 4}
COMPILE_LENGTHS = (100, 1000, 3000)
QUICK_COMPILE_LENGTHS = (20, 60)


def _problem(cell: str, length: int, hidden: int, batch: int):
    import jax

    config = RNNConfig(cell=cell, length=length, hidden=hidden)
    params = jax.block_until_ready(init_rnn(config, key=jax.random.key(0)))
    x = np.random.default_rng(0).standard_normal((batch, length, 1)).astype(np.float32)
    return config, params, x


def measure_recurrent(*, quick: bool = False, repeats: int = 30) -> dict:
    """Median and p95 of ``probe_through_time`` per cell, and first-call seconds per length.

    Returns:
      ``{"size", "cells": {cell: {"median_s", "p95_s", "compile_s"}}, "compile":
      {"lengths", "first_call_s"}, "torch": {"skipped": ...}}``.
    """
    import jax

    size = QUICK_SIZE if quick else SIZE
    out: dict = {"size": dict(size), "cells": {}}
    for cell in ("lstm",) if quick else ("vanilla", "lstm", "gru"):  # --quick: one cell
        config, params, x = _problem(cell, size["length"], size["hidden"], size["batch"])
        start = time.perf_counter()
        with count_compilations() as compiled:
            jax.block_until_ready(probe_through_time(config, params, x))
        first = time.perf_counter() - start
        timing = time_calls(
            {cell: lambda c=config, p=params: jax.block_until_ready(probe_through_time(c, p, x))},
            repeats=min(repeats, 10), budget_s=2.0 if quick else 20.0,
        )[cell]  # fmt: skip
        out["cells"][cell] = {
            "median_s": timing["median_s"], "p95_s": timing["p95_s"], "first_call_s": first,
            "compile_s": compiled.seconds().get("compiling", 0.0),
        }  # fmt: skip
    lengths = QUICK_COMPILE_LENGTHS if quick else COMPILE_LENGTHS
    first_calls = []
    for length in lengths:
        config, params, x = _problem("lstm", length, size["hidden"], size["batch"])
        with count_compilations() as compiled:
            jax.block_until_ready(probe_through_time(config, params, x))
        first_calls.append(sum(compiled.seconds().values()))
    out["compile"] = {"cell": "lstm", "lengths": list(lengths), "first_call_s": first_calls}
    out["torch"] = {"skipped": "PyTorch is not installed (optional baseline, not measured)"}
    return out
