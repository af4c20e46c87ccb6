"""``probe_through_time``'s bench rows: time per call at T = 1000, hidden 128, batch 64, against
PyTorch eager, and its first-call (compile) time at several sequence lengths, which should be
flat in T.

The PyTorch baseline (optional: skipped with the reason when torch is absent) is what a user
would otherwise write: ``nn.RNNCell`` / ``nn.LSTMCell`` in a Python loop over time, given the
engine's weights, every state's ``retain_grad()``, the same loss on the last step and one
``loss.backward()``; the norms are read from the retained ``.grad``. (``nn.RNN`` / ``nn.LSTM``
over the whole sequence cannot give them: their internal states are not tensors of the graph,
and the gradient of their output at step t holds only the loss's direct term, not the path
through the later steps.) It is checked against the engine's norms first and timed only if it
agrees; the two are timed in turn, round after round, after untimed warm-up calls (no
compilation is timed), with each library's default threads.

The compile time is measured on a fresh ``max_length`` each (a new static shape: the probe
compiles), in a fresh process with no persistent compilation cache, so that it is what XLA
spends, what a learner waits for when a new size is first used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from ..engine import RNNConfig, count_compilations, init_rnn, probe_through_time
from ._baselines import _torch_unavailable
from ._timing import time_calls

SIZE = {"length": 1000, "hidden": 128, "batch": 64}
QUICK_SIZE = {"length": 50, "hidden": 16, "batch": 4}
COMPILE_LENGTHS = (100, 500, 3000)  # not 1000: the timed size has compiled that one
QUICK_COMPILE_LENGTHS = (20, 60)
TORCH_CELLS = ("vanilla", "lstm")  # the cells the PyTorch baseline has (nn.RNNCell, nn.LSTMCell)
# The engine's gate blocks are [g, i, f, o]; PyTorch's LSTMCell stacks [i, f, g, o].
_TORCH_BLOCKS = {"vanilla": (0,), "lstm": (1, 2, 0, 3)}
NORM_FIELDS = ("grad_h_norm", "grad_c_norm")


def _problem(cell: str, length: int, hidden: int, batch: int):
    import jax

    config = RNNConfig(cell=cell, length=length, hidden=hidden)
    params = jax.block_until_ready(init_rnn(config, key=jax.random.key(0)))
    x = np.random.default_rng(0).standard_normal((batch, length, 1)).astype(np.float32)
    return config, params, x


def prepare_torch(config: RNNConfig, params, x):
    """PyTorch eager backpropagation through time with the engine's weights.

    ``h_t = cell(x_t, h_{t-1})`` by ``nn.RNNCell`` (tanh) or ``nn.LSTMCell`` in a loop over the
    ``config.length`` steps, each ``h_t`` (and ``c_t``) ``retain_grad()``-ed, the engine's loss
    on the last step ``L = mean_b w_out . h_T``, ``L.backward()``; then ``||dL/dh_t||`` (and
    ``||dL/dc_t||``) over batch and units, the norms taken in float64. Subnormal numbers are
    flushed to zero while it runs (``torch.set_flush_denormal``), as the engine flushes its
    carried gradient: the same numbers, and no ~100x slower subnormal arithmetic.

    Args:
      config: a vanilla tanh or LSTM ``RNNConfig`` with ``hidden == max_hidden`` (no padding),
        float32 or float64.
      params: ``init_rnn(config, ...)``.
      x: ``(batch, max_length, n_in)``.

    Returns:
      ``(run, to_numpy)``: ``run()`` returns ``(loss, grad_h_norm, grad_c_norm)`` as tensors
      (``grad_c_norm`` zeros for the vanilla cell), ``to_numpy`` turns them into NumPy arrays.
    """
    import torch

    vanilla_tanh = config.cell == "vanilla" and config.nonlinearity == "tanh"
    if not (vanilla_tanh or config.cell == "lstm"):
        raise ValueError(
            f"the PyTorch baseline knows the tanh vanilla cell and the LSTM; got cell="
            f"{config.cell!r}, nonlinearity={config.nonlinearity!r}."
        )
    if config.hidden != config.max_hidden:
        raise ValueError(
            f"the PyTorch baseline needs hidden == max_hidden (no padding); got hidden="
            f"{config.hidden}, max_hidden={config.max_hidden}."
        )
    dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
    n, lstm = config.hidden, config.cell == "lstm"
    w_in, w_rec, b, w_out = (np.asarray(v, config.dtype) for v in params)
    blocks = _TORCH_BLOCKS[config.cell]
    kind = torch.nn.LSTMCell if lstm else torch.nn.RNNCell
    module = kind(config.n_in, n, dtype=dtype)
    with torch.no_grad():  # PyTorch's W is the engine's transposed (column vectors)
        module.weight_ih.copy_(torch.from_numpy(np.concatenate([w_in[k].T for k in blocks])))
        module.weight_hh.copy_(torch.from_numpy(np.concatenate([w_rec[k].T for k in blocks])))
        module.bias_ih.copy_(torch.from_numpy(np.concatenate([b[k] for k in blocks])))
        module.bias_hh.zero_()
    xs = torch.tensor(np.swapaxes(np.asarray(x, config.dtype), 0, 1)[: config.length], dtype=dtype)
    readout = torch.tensor(w_out, dtype=dtype)
    batch = xs.shape[1]

    def run():
        torch.set_flush_denormal(True)
        try:
            module.zero_grad(set_to_none=True)
            h = c = torch.zeros(batch, n, dtype=dtype)
            hs, cs = [], []
            for x_t in xs:
                if lstm:
                    h, c = module(x_t, (h, c))
                    c.retain_grad()
                    cs.append(c)
                else:
                    h = module(x_t, h)
                h.retain_grad()
                hs.append(h)
            loss = (h @ readout).sum() / batch
            loss.backward()
            with torch.no_grad():
                norm = lambda states: torch.linalg.vector_norm(  # noqa: E731
                    torch.stack([s.grad for s in states]).double(), dim=(1, 2)
                )
                grad_h = norm(hs)
                grad_c = norm(cs) if lstm else torch.zeros_like(grad_h)
            return loss.detach(), grad_h, grad_c
        finally:
            torch.set_flush_denormal(False)

    return run, lambda result: tuple(v.detach().cpu().numpy() for v in result)


def check_norms(engine, baseline, *, dtype: str = "float32") -> dict:
    """Compare a baseline's ``(loss, grad_h_norm, grad_c_norm)`` with ``probe_through_time``'s.

    An entry agrees when ``|e - b| <= rtol * max(|e|, |b|) + atol``, ``rtol`` 1e-3 in float32
    (1e-9 in float64). ``atol`` is ``1e4`` times the smallest normal number (~1e-34 in float32):
    near it the engine's flushed subnormals and PyTorch's differ. ``max_rel_diff`` is the
    largest ``|e - b| / max(|e|, |b|)`` over the entries above ``atol``.

    Returns:
      ``{"same": bool, "max_rel_diff": {field: float}, "mismatched": [field, ...],
      "compared": {field: entries above atol}}``.
    """
    engine = engine.trim()
    rtol = 1e-3 if dtype == "float32" else 1e-9
    atol = float(np.finfo(np.dtype(dtype)).tiny) * 1e4
    worst, mismatched, compared = {}, [], {}
    for name, b in zip(("loss", *NORM_FIELDS), baseline):
        e = np.asarray(getattr(engine, name), np.float64)
        b = np.asarray(b, np.float64)
        if e.shape != b.shape:
            worst[name], compared[name] = float("inf"), 0
            mismatched.append(name)
            continue
        scale, diff = np.maximum(np.abs(e), np.abs(b)), np.abs(e - b)
        above = scale > atol
        worst[name] = float(np.max(diff[above] / scale[above], initial=0.0))
        compared[name] = int(np.sum(above))
        if not np.all(diff <= rtol * scale + atol):
            mismatched.append(name)
    return {
        "same": not mismatched, "max_rel_diff": worst, "mismatched": mismatched,
        "compared": compared,
    }  # fmt: skip


def _threads() -> dict:
    import torch

    return {
        "cpu_count": os.cpu_count(), "torch_intra_op": torch.get_num_threads(),
        "torch_inter_op": torch.get_num_interop_threads(),
        "jax": "XLA's CPU default (one thread per core)",
    }  # fmt: skip


# The first call at each length in a fresh process with no persistent compilation cache: the
# phases' seconds (tracing, lowering, XLA compiling) and how many programs a cache supplied.
_COMPILE_SCRIPT = """
import json, sys
import jax
from vgwidgets.bench._recurrent import _problem
from vgwidgets.engine import count_compilations, probe_through_time
hidden, batch, *lengths = (int(v) for v in sys.argv[1:])
seconds, hits = [], []
for length in [7, *lengths]:  # 7, not reported: the process's first compilation warms it up
    config, params, x = _problem("lstm", length, hidden, batch)
    with count_compilations() as compiled:
        jax.block_until_ready(probe_through_time(config, params, x))
    seconds.append(sum(compiled.seconds().values()))
    hits.append(compiled.cache_hits)
print(json.dumps({"first_call_s": seconds[1:], "cache_hits": hits[1:]}))
"""


def measure_compile_by_length(lengths, hidden: int, batch: int, *, timeout_s: float = 900):
    """The LSTM probe's compile time (tracing, lowering, XLA) at each of ``lengths``, each a new
    ``max_length``, measured in one fresh Python process with JAX's persistent compilation
    cache off (this process's cache settings are not passed on), so that every length is
    compiled by XLA, not loaded; an unreported length is compiled first, so that the
    process's one-time costs fall on none of them.

    Returns:
      ``{"cell", "lengths", "first_call_s", "cache_hits"}`` or ``{"skipped": reason}``.
    """
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE", "VGWIDGETS_"))
    }  # fmt: skip
    env["VGWIDGETS_NO_CACHE"] = "1"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    args = [str(v) for v in (hidden, batch, *lengths)]
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE_SCRIPT, *args], capture_output=True, text=True, env=env,
        timeout=timeout_s, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return {"skipped": f"the fresh process failed: {done.stderr.strip()[-300:]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cell": "lstm", "lengths": list(lengths), **result}


def measure_recurrent(*, quick: bool = False, repeats: int = 30) -> dict:
    """Median and p95 of ``probe_through_time`` per cell, PyTorch eager's for the vanilla cell
    and the LSTM, and first-call seconds per length.

    Returns:
      ``{"size", "cells": {cell: {"median_s", "p95_s", "first_call_s", "compile_s"}},
      "torch": {"description", "skipped"} or {..., "threads", "version", "cells": {cell:
      {"same_numbers", "median_s", ... or "skipped", "torch_over_engine"}}},
      "compile": {"cell", "lengths", "first_call_s", "cache_hits"}}``.
    """
    import jax

    size = QUICK_SIZE if quick else SIZE
    out: dict = {"size": dict(size), "cells": {}}
    torch_entry: dict = {
        "description": "PyTorch eager: nn.RNNCell / nn.LSTMCell in a loop over time, each "
        "state's retain_grad(), loss.backward() (the engine's weights and loss)"
    }
    reason = _torch_unavailable()
    if reason is not None:
        torch_entry["skipped"] = reason
    else:
        import torch

        torch_entry.update(version=torch.__version__, threads=_threads(), cells={})
    for cell in ("lstm",) if quick else ("vanilla", "lstm", "gru"):  # --quick: one cell
        config, params, x = _problem(cell, size["length"], size["hidden"], size["batch"])
        start = time.perf_counter()
        with count_compilations() as compiled:
            engine_result = jax.block_until_ready(probe_through_time(config, params, x))
        first = time.perf_counter() - start
        calls = {"engine": lambda c=config, p=params: probe_through_time(c, p, x)}
        if reason is None and cell in TORCH_CELLS:
            run, to_numpy = prepare_torch(config, params, x)
            agreement = check_norms(engine_result, to_numpy(run()))
            entry = torch_entry["cells"][cell] = {"same_numbers": agreement}
            if agreement["same"]:
                calls["torch"] = run
            else:
                entry["skipped"] = f"disagrees with the engine on {agreement['mismatched']}"
        timings = time_calls(calls, repeats=min(repeats, 10), budget_s=2.0 if quick else 20.0)
        timing = timings["engine"]
        out["cells"][cell] = {
            "median_s": timing["median_s"], "p95_s": timing["p95_s"], "first_call_s": first,
            "compile_s": compiled.seconds().get("compiling", 0.0),
        }  # fmt: skip
        if "torch" in timings:
            torch_entry["cells"][cell].update(timings["torch"])
            torch_entry["cells"][cell]["torch_over_engine"] = (
                timings["torch"]["median_s"] / timing["median_s"]
            )
    out["torch"] = torch_entry
    lengths = QUICK_COMPILE_LENGTHS if quick else COMPILE_LENGTHS
    out["compile"] = measure_compile_by_length(lengths, size["hidden"], size["batch"])
    return out
