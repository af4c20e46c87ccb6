"""The adding problem (Hochreiter & Schmidhuber 1997): ``reproduce long-range``.

Each sequence has two channels: a value ``u_t ~ U(0, 1)`` and a marker, 1 at two steps and 0
elsewhere (one in the first half of the sequence, one in the second); the target is the sum of
the two marked values, read from the last state through a linear readout. Predicting the mean,
1, scores a mean squared error of ``Var(u + v) = 1/6``; a network counts as having learned the
task when its test error is below ``LEARNED_MSE`` (a tenth of that). The information must travel
from the first marker to the end: about ``T/2`` to ``T`` steps.

A vanilla tanh RNN, an LSTM (forget bias 1) and a GRU are trained from scratch with Adam and
gradient clipping by global norm (Pascanu et al. 2013), over several lengths and seeds. Every
sequence is generated in code (``jax.random``), none downloaded. Shorter sequences are
left-padded with zero inputs to the longest length, so that one compiled program per cell
serves every length.

References:
  Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 9 (1997), sec. 5.4
  (experiment 4, the adding problem). Le, Jaitly & Hinton, arXiv:1504.00941 (2015).
"""

from __future__ import annotations

import functools
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import CELLS, RNNConfig, check_choice, check_int, init_rnn, unroll
from ._registry import Reproduction

REFERENCE = "Hochreiter & Schmidhuber, Neural Computation 9 (1997), sec. 5.4: the adding problem"
LENGTHS = (10, 30, 60, 120)
HIDDEN = 32
BATCH = 32
STEPS = 500
LR = 1e-2
CLIP = 1.0
BASELINE_MSE = 1.0 / 6.0
LEARNED_MSE = BASELINE_MSE / 10
TEST_SIZE = 512


def adding_batch(key, batch: int, length: int, max_length: int):
    """``(x, y)``: ``x`` time-major ``(max_length, batch, 2)``, the last ``length`` steps holding
    the task (the first ones zero), ``y`` ``(batch,)``. Traceable (``length`` may be traced)."""
    k_values, k_first, k_second = jax.random.split(key, 3)
    values = jax.random.uniform(k_values, (max_length, batch))
    start = max_length - length
    half = jnp.maximum(length // 2, 1)
    first = start + jax.random.randint(k_first, (batch,), 0, half)
    second = start + half + jax.random.randint(k_second, (batch,), 0, jnp.maximum(length - half, 1))
    steps = jnp.arange(max_length)[:, None]
    marker = ((steps == first) | (steps == second)).astype(values.dtype)
    values = jnp.where(steps >= start, values, 0.0)
    y = jnp.sum(values * marker, axis=0)
    return jnp.stack([values, marker], axis=-1), y


def _model_loss(config, params, x, y):
    rnn, w, b = params
    h = unroll(config, rnn, x)[-1]
    return jnp.mean((h @ w + b - y) ** 2)


@functools.partial(jax.jit, static_argnames=("config", "steps"))
def _train(config: RNNConfig, params, key, length, steps: int):
    """``steps`` of Adam with clipping by global norm, fresh batches each step; one program per
    cell and maximum length (``length`` is traced)."""
    optimizer = optax.chain(optax.clip_by_global_norm(CLIP), optax.adam(LR))
    grad = jax.value_and_grad(lambda p, x, y: _model_loss(config, p, x, y))

    def body(carry, k):
        p, state = carry
        x, y = adding_batch(k, BATCH, length, config.max_length)
        loss, g = grad(p, x, y)
        updates, state = optimizer.update(g, state, p)
        return (optax.apply_updates(p, updates), state), loss

    (params, _), losses = jax.lax.scan(
        body, (params, optimizer.init(params)), jax.random.split(key, steps)
    )
    x, y = adding_batch(jax.random.fold_in(key, 10**6), TEST_SIZE, length, config.max_length)
    return losses, _model_loss(config, params, x, y)


def train_adding(cell: str, length: int, seed: int, *, max_length: int, steps: int = STEPS):
    """Train one network on the adding problem; return ``(train_losses, test_mse)``.

    Example:
      >>> losses, mse = train_adding("lstm", 5, 0, max_length=5, steps=3)
      >>> losses.shape, bool(np.isfinite(mse))
      ((3,), True)
    """
    config = RNNConfig(
        cell=cell, length=max_length, hidden=HIDDEN, n_in=2, forget_bias=1.0,
        max_length=max_length,
    )  # fmt: skip
    key = jax.random.key(seed)
    rnn = init_rnn(config, key=jax.random.fold_in(key, 1))
    readout = (jnp.zeros(HIDDEN), jnp.asarray(1.0))  # starts at the mean answer
    losses, mse = _train(config, (rnn, *readout), key, length, steps)
    return np.asarray(losses), float(mse)


JSON_KEYS = {
    "lengths": "sequence lengths T",
    "seeds": "seeds per (cell, length)",
    "steps": "training steps (Adam, batch 32, clipping by global norm at 1)",
    "hidden": "hidden units",
    "baseline_mse": "the error of always answering 1 (Var of the sum, 1/6)",
    "learned_mse": "test MSE below which a run counts as learned (baseline / 10)",
    "results": "per cell (vanilla, lstm, gru): per length, test_mse (one per seed), learned "
    "(how many seeds), final_train_loss",
    "longest_learned": "per cell: the longest length at which every seed learned, or 0",
    "seconds": "wall-clock time of the run",
    "reference": "the source",
}
SUMMARY = (
    "the adding problem (Hochreiter & Schmidhuber 1997): vanilla RNN vs LSTM vs GRU, with clipping"
)


def run(seeds: int | None = None, *, lengths=LENGTHS, steps: int = STEPS, cells=CELLS) -> dict:
    """Train each cell at each length with ``seeds`` seeds (default 2).

    The default (4 lengths up to 120, 2 seeds, 500 steps) takes about 2 minutes on a 2-core
    CPU, most of it compiling one training program per cell.

    Args:
      seeds: seeds per (cell, length), in ``[1, 10]``.
      cells: names from ``CELLS``.
      lengths: sequence lengths, each in ``[2, 1000]``.
      steps: training steps per run, in ``[1, 100000]``.

    Returns:
      A JSON-able dict with the keys of ``JSON_KEYS``.
    """
    seeds = 2 if seeds is None else check_int("seeds", seeds, 1, 10)
    lengths = tuple(check_int("lengths", int(n), 2, 1000) for n in lengths)
    steps = check_int("steps", steps, 1, 100_000)
    cells = tuple(check_choice("cells", c, CELLS) for c in cells)
    start = time.perf_counter()
    max_length = max(lengths)
    results = {}
    for cell in cells:
        per_length = {}
        for length in lengths:
            runs = [train_adding(cell, length, s, max_length=max_length, steps=steps)
                    for s in range(seeds)]  # fmt: skip
            mses = [mse for _, mse in runs]
            per_length[str(length)] = {
                "test_mse": mses,
                "learned": int(sum(m < LEARNED_MSE for m in mses)),
                "final_train_loss": [float(np.mean(losses[-20:])) for losses, _ in runs],
            }
        results[cell] = per_length
    longest = {
        cell: max([n for n in lengths if results[cell][str(n)]["learned"] == seeds], default=0)
        for cell in cells
    }
    return {
        "lengths": list(lengths), "seeds": seeds, "steps": steps, "hidden": HIDDEN,
        "baseline_mse": BASELINE_MSE, "learned_mse": LEARNED_MSE, "results": results,
        "longest_learned": longest, "seconds": time.perf_counter() - start,
        "reference": REFERENCE,
    }  # fmt: skip


def format_table(result: dict) -> str:
    """A readable table of ``run``'s result."""
    lengths = result["lengths"]
    header = "cell      " + "".join(f"{'T = ' + str(n):>16s}" for n in lengths)
    rows = []
    for cell, per in result["results"].items():
        cells = "".join(
            f"{np.mean(per[str(n)]['test_mse']):>10.4f} ({per[str(n)]['learned']}/{result['seeds']})"
            for n in lengths
        )
        rows.append(f"{cell:10s}{cells}")
    longest = ", ".join(f"{c} {n}" for c, n in result["longest_learned"].items())
    return textwrap.dedent(
        f"""\
        The adding problem: test MSE (mean over {result['seeds']} seeds; learned/seeds), {result['steps']}
        steps of Adam with clipping, {result['hidden']} hidden units. Always answering 1 scores
        {result['baseline_mse']:.4f}; learned means below {result['learned_mse']:.4f}.

        """
    ) + "\n".join([header, *rows]) + (
        f"\n\nLongest length learned by every seed: {longest}. ({result['seconds']:.0f} s)\n"
        "A failure here is a failure within this budget (steps, width, forget bias 1), not a claim\n"
        "about what the cell can learn with more.\n\n" + REFERENCE
    )


REPRODUCTIONS = {
    "long-range": Reproduction("long-range", SUMMARY, JSON_KEYS, run, format_table),
}
