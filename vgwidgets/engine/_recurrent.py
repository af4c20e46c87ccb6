"""Gradients through time: ``probe_through_time`` and ``run_rnn``, one ``lax.scan`` each.

For ``h_t = cell(x_t, h_{t-1})`` and a loss ``L`` read from the states, backpropagation through
time gives, with ``J_k = dh_k/dh_{k-1}``,

    dL/dh_t = dL/dh_T J_T J_{T-1} ... J_{t+1}   (loss on the last step),

so ``||dL/dh_t|| <= ||dL/dh_T|| prod_k ||J_k||``. For the vanilla cell ``J_k = U diag(phi'(a_k))``
and ``||J_k|| <= sigma_max(U) gamma`` (``gamma = sup |phi'|``: 1 for tanh, 1/4 for the sigmoid),
hence Pascanu et al.'s sufficient condition for vanishing, ``sigma_max(U) < 1/gamma``.

``dL/dh_t`` is the *total* derivative (through every later step), measured in one backward
pass: a zero ``eps_t`` is added to every state in the forward scan, and ``dL/d eps_t = dL/dh_t``.

References:
  Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML
  2013. Bengio, Simard & Frasconi, IEEE Trans. Neural Networks 5 (1994). Werbos,
  "Backpropagation through time", Proc. IEEE 78 (1990).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._compat import x64_context
from ._mlp import _scaled_norm
from ._recurrent_cells import GAMMAS, NONLINEARITIES, RNNParams, step
from ._recurrent_config import RNNConfig, RNNStructure, RNNTraced, rnn_dtype, traced_arrays
from ._validate import check_array, check_bool


# Steps per iteration of the compiled time loop. Unrolling 4 or 8 steps did not lower the CPU
# time per call here (2 cores; measured with process_time), and compiles longer.
UNROLL = 1


class TimeProbe(NamedTuple):
    """What ``probe_through_time`` measures; per-step arrays have shape ``(max_length,)``, entry
    ``k`` for the state ``h_t``, ``t = k + 1``.

    Entries past ``length`` are 0 and ``active`` is False there; ``trim()`` cuts them off.
    Overflow is a result: an inf or NaN shows in the entries it reaches.

    Attributes:
      loss: ``()``.
      grad_h_norm: ``||dL/dh_t||`` over the batch and units (Frobenius).
      grad_c_norm: ``||dL/dc_t||`` for the LSTM's cell state (0 for the other cells).
      jac_norm: ``||dh_t/dh_{t-1}||_2``, the spectral norm of the step's Jacobian for the
        batch's first sequence (``c_{t-1}`` held fixed for the LSTM); 0 unless asked for.
      gate_mean: the mean over batch and units of the LSTM's forget gate ``f_t`` or the GRU's
        update gate ``z_t`` (0 for the vanilla cell).
      active: ``t <= length``.
      overflow_step: the first step ``t`` (1-based) whose state holds an inf or NaN, or 0.
      rec_radius: the spectral radius of ``W_rec = w_rec[0]`` (its active corner), ``()``,
        computed on the host (``spectral_radius``).
      rec_norm: its largest singular value ``sigma_max``, ``()``.
      gamma: ``sup |phi'|`` of the vanilla cell's nonlinearity; NaN for the gated cells.
    """

    loss: jax.Array
    grad_h_norm: jax.Array
    grad_c_norm: jax.Array
    jac_norm: jax.Array
    gate_mean: jax.Array
    active: jax.Array
    overflow_step: jax.Array
    rec_radius: jax.Array
    rec_norm: jax.Array
    gamma: jax.Array

    def trim(self) -> TimeProbe:
        """The same result as NumPy arrays, per-step entries cut to the active steps."""
        length = int(np.sum(np.asarray(self.active)))
        return TimeProbe(
            *(np.asarray(v) if np.ndim(v) == 0 else np.asarray(v)[:length] for v in self)
        )


def _scan(structure: RNNStructure, params: RNNParams, xs, t: RNNTraced, eps_h, eps_c):
    """The masked forward scan: ``(loss, (h_prev, c_prev, gate_mean, finite, no_nan))``."""
    dtype = rnn_dtype(structure)
    batch = xs.shape[1]
    units = jnp.arange(structure.max_hidden) < t.hidden
    on = jnp.arange(1, structure.max_length + 1) <= t.length
    n_units = jnp.maximum(t.hidden, 1).astype(dtype) * batch

    def body(carry, inputs):
        h, c, every = carry
        x, eh, ec, active = inputs
        h2, c2, gate = step(structure.cell, t.nonlinearity, params, x, h, c, ec)
        h2 = jnp.where(units, h2, 0.0) + eh
        c2 = jnp.where(units, c2, 0.0)
        readout = jnp.sum(h2 @ params.w_out) / batch
        every = every + jnp.where(active, readout, 0.0)
        stats = (
            h, c, jnp.sum(jnp.where(units, gate, 0.0)) / n_units,
            jnp.all(jnp.isfinite(h2)) & jnp.all(jnp.isfinite(c2)),
            ~jnp.any(jnp.isnan(h2)) & ~jnp.any(jnp.isnan(c2)),
        )  # fmt: skip
        h2, c2 = jnp.where(active, h2, h), jnp.where(active, c2, c)
        return (h2, c2, every), stats

    zeros = jnp.zeros((batch, structure.max_hidden), dtype)
    eps_c = jnp.broadcast_to(eps_c, eps_h.shape)
    (h, _, every), stats = jax.lax.scan(
        body, (zeros, zeros, jnp.zeros((), dtype)), (xs, eps_h, eps_c, on), unroll=UNROLL
    )
    last = jnp.sum(h @ params.w_out) / batch
    return jnp.where(t.loss == 1, every, last), stats


def _jacobian_norms(structure, params, xs, t: RNNTraced, h_prev, c_prev):
    """``||dh_t/dh_{t-1}||_2`` per step for the first sequence: ``jax.jacfwd`` and an SVD."""
    units = jnp.arange(structure.max_hidden) < t.hidden
    cell = functools.partial(step, structure.cell, t.nonlinearity, params)

    def one(x, h, c):
        jac = jax.jacfwd(lambda v: jnp.where(units, cell(x, v, c)[0], 0.0))(h)
        return jnp.linalg.svd(jac, compute_uv=False)[0]

    return jax.vmap(one)(xs[:, 0], h_prev[:, 0], c_prev[:, 0])


@functools.partial(jax.jit, static_argnames="structure")
def _probe(structure: RNNStructure, params: RNNParams, xs, t: RNNTraced, jacobians) -> TimeProbe:
    """``probe_through_time``'s compiled core; ``xs`` is time-major ``(max_length, batch, n_in)``."""
    dtype = rnn_dtype(structure)
    eps = jnp.zeros(xs.shape[:2] + (structure.max_hidden,), dtype)
    if structure.cell == "lstm":
        (loss, stats), (g_h, g_c) = jax.value_and_grad(
            lambda e_h, e_c: _scan(structure, params, xs, t, e_h, e_c), (0, 1), has_aux=True
        )(eps, eps)
    else:  # no cell state: dL/dc is 0, and not computed (XLA would fold a reduction of zeros)
        (loss, stats), g_h = jax.value_and_grad(
            lambda e_h: _scan(structure, params, xs, t, e_h, 0.0), has_aux=True
        )(eps)
        g_c = None
    h_prev, c_prev, gate_mean, finite, no_nan = stats
    active = jnp.arange(1, structure.max_length + 1) <= t.length
    # A NaN in the forward pass at step s poisons every gradient at or before s (the backward
    # pass runs through it), and a non-finite loss poisons them all.
    has_nan = active & ~no_nan
    poisoned = (jnp.cumsum(has_nan[::-1])[::-1] > 0) | ~jnp.isfinite(loss)
    norms = [
        jnp.zeros(structure.max_length, dtype) if g is None
        else jnp.where(poisoned, jnp.nan, _scaled_norm(g, (1, 2)))
        for g in (g_h, g_c)
    ]  # fmt: skip
    jac = jax.lax.cond(
        jacobians,
        lambda: _jacobian_norms(structure, params, xs, t, h_prev, c_prev),
        lambda: jnp.zeros(structure.max_length, dtype),
    )
    bad = active & ~finite
    overflow_step = jnp.where(jnp.any(bad), jnp.argmax(bad) + 1, 0)
    sigma = jnp.linalg.svd(params.w_rec[0], compute_uv=False)[0]
    gammas = jnp.asarray([GAMMAS[n] for n in NONLINEARITIES], dtype)
    gamma = gammas[t.nonlinearity] if structure.cell == "vanilla" else jnp.asarray(jnp.nan)
    masked = [jnp.where(active, v, jnp.zeros_like(v)) for v in (*norms, jac, gate_mean)]
    return TimeProbe(
        loss, *masked, active, overflow_step, jnp.zeros((), dtype), sigma, gamma.astype(dtype)
    )  # rec_radius: filled in on the host (``spectral_radius``)


def spectral_radius(w) -> float:
    """``max |eig(w)|`` by NumPy's LAPACK on the host.

    Outside the compiled pass on purpose: XLA's CPU eigensolver took ~0.6 s for a 128 x 128
    matrix here, longer than the whole forward and backward scan, and JAX 0.4.30 has none on
    GPU. ``w`` is the active corner (padding only adds zero eigenvalues).
    """
    w = np.asarray(w, np.float64)
    if not np.all(np.isfinite(w)):
        return float("nan")
    return float(np.max(np.abs(np.linalg.eigvals(w)))) if w.size else 0.0


def _prepare(config: RNNConfig, params, x) -> np.ndarray:
    if not isinstance(config, RNNConfig):
        raise ValueError(f"config must be an RNNConfig; got {type(config).__name__}.")
    s = config.structure
    x = check_array("x", x, ndim=3)
    if x.shape[1:] != (s.max_length, s.n_in) or x.shape[0] < 1:
        raise ValueError(
            f"x must have shape (batch >= 1, max_length={s.max_length}, n_in={s.n_in}); "
            f"got {x.shape}."
        )
    expected = RNNParams(
        (4, s.n_in, s.max_hidden), (4, s.max_hidden, s.max_hidden), (4, s.max_hidden),
        (s.max_hidden,),
    )  # fmt: skip
    if not isinstance(params, RNNParams):
        raise ValueError(f"params must be RNNParams (from init_rnn); got {type(params).__name__}.")
    for name, shape, value in zip(RNNParams._fields, expected, params):
        if tuple(np.shape(value)) != shape:
            raise ValueError(
                f"params.{name} must have shape {shape} for this config's structure; got "
                f"{tuple(np.shape(value))}. Draw them with init_rnn(config, key=...)."
            )
    return x


def probe_through_time(
    config: RNNConfig, params: RNNParams, x, *, jacobians: bool = False
) -> TimeProbe:
    """``||dL/dh_t||`` for every step, and what bounds it, in one jit-compiled pass.

    One forward ``lax.scan`` over time and its backward pass. Every field of
    ``config.traced`` (nonlinearity, initializer, length, hidden size, scales, biases, loss)
    and ``jacobians`` are traced: moving them compiles nothing new; a new
    ``config.structure`` or batch size does. The cell is static: one program per cell,
    compiled on its first use and cached, so switching between cells already used compiles
    nothing.

    Args:
      config: the network; ``config.length`` steps of ``x`` are used.
      params: from ``init_rnn`` with the same ``structure``.
      x: inputs, ``(batch, max_length, n_in)``, finite.
      jacobians: also measure each step's ``||dh_t/dh_{t-1}||_2`` (``jax.jacfwd`` and an SVD
        per step, for the first sequence; the dearest part, skipped at run time when False).

    Returns:
      A ``TimeProbe``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from vgwidgets.engine import init_rnn
      >>> cfg = RNNConfig(length=20, hidden=8, gain=0.5)
      >>> params = init_rnn(cfg, key=jax.random.key(0))
      >>> r = probe_through_time(cfg, params, jnp.ones((4, 20, 1)), jacobians=True).trim()
      >>> bool(r.grad_h_norm[0] < r.grad_h_norm[-1]), bool(r.jac_norm.max() <= r.rec_norm)
      (True, True)

    References:
      Pascanu, Mikolov & Bengio, ICML 2013, sec. 2-3. Werbos, Proc. IEEE 78 (1990).
    """
    x = _prepare(config, params, x)
    jacobians = check_bool("jacobians", jacobians)
    structure = config.structure
    with x64_context(structure.dtype):
        dtype = rnn_dtype(structure)
        params = RNNParams(*(jnp.asarray(v, dtype) for v in params))
        xs = jnp.asarray(np.swapaxes(x, 0, 1), dtype)
        traced = traced_arrays(structure, config.traced)
        result = _probe(structure, params, xs, traced, jnp.asarray(jacobians))
    n = config.hidden
    radius = spectral_radius(np.asarray(params.w_rec[0])[:n, :n])
    return result._replace(rec_radius=np.asarray(radius, result.rec_norm.dtype))


@functools.partial(jax.jit, static_argnames="structure")
def _run(structure, params, xs, t):
    dtype = rnn_dtype(structure)
    eps = jnp.zeros(xs.shape[:2] + (structure.max_hidden,), dtype)
    units = jnp.arange(structure.max_hidden) < t.hidden
    on = jnp.arange(1, structure.max_length + 1) <= t.length

    def body(carry, inputs):
        h, c = carry
        x, active = inputs
        h2, c2, _ = step(structure.cell, t.nonlinearity, params, x, h, c)
        h2, c2 = (jnp.where(active, jnp.where(units, v, 0.0), old) for v, old in ((h2, h), (c2, c)))
        return (h2, c2), h2

    _, hs = jax.lax.scan(body, (eps[0], eps[0]), (xs, on), unroll=UNROLL)
    return jnp.swapaxes(hs, 0, 1)


def run_rnn(config: RNNConfig, params: RNNParams, x) -> jax.Array:
    """The states ``h_1 .. h_max_length`` of ``config``'s network on ``x`` (one ``lax.scan``).

    Steps past ``config.length`` repeat ``h_length``. Traced and static fields as in
    ``probe_through_time``.

    Args:
      config: the network.
      params: from ``init_rnn``.
      x: ``(batch, max_length, n_in)``.

    Returns:
      ``(batch, max_length, max_hidden)``; units past ``hidden`` are 0.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from vgwidgets.engine import init_rnn
      >>> cfg = RNNConfig(cell="gru", length=5, hidden=3)
      >>> run_rnn(cfg, init_rnn(cfg, key=jax.random.key(0)), jnp.ones((2, 5, 1))).shape
      (2, 5, 3)
    """
    x = _prepare(config, params, x)
    structure = config.structure
    with x64_context(structure.dtype):
        dtype = rnn_dtype(structure)
        params = RNNParams(*(jnp.asarray(v, dtype) for v in params))
        xs = jnp.asarray(np.swapaxes(x, 0, 1), dtype)
        return _run(structure, params, xs, traced_arrays(structure, config.traced))
