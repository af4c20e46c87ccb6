"""Gradients through time: ``probe_through_time`` and ``run_rnn``, one ``lax.scan`` each.

For ``h_t = cell(x_t, h_{t-1})`` and a loss ``L`` read from the states, backpropagation through
time gives, with ``J_k = dh_k/dh_{k-1}``,

    dL/dh_t = dL/dh_T J_T J_{T-1} ... J_{t+1}   (loss on the last step),

so ``||dL/dh_t|| <= ||dL/dh_T|| prod_k ||J_k||``. For the vanilla cell ``J_k = U diag(phi'(a_k))``
and ``||J_k|| <= sigma_max(U) gamma`` (``gamma = sup |phi'|``: 1 for tanh, 1/4 for the sigmoid),
hence Pascanu et al.'s sufficient condition for vanishing, ``sigma_max(U) < 1/gamma``.

``dL/dh_t`` is the *total* derivative (through every later step). The probe writes
backpropagation through time out: a forward loop stores the states, a backward loop carries
``dL/dh_t`` from ``t = T`` down to 1 with one ``jax.vjp`` of the step per iteration. Both loops
run ``length`` iterations (``lax.fori_loop`` with a traced bound): the cost follows the length
asked for, not the padded maximum, and the length still compiles nothing.

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


def _forward(structure: RNNStructure, params: RNNParams, xs, t: RNNTraced):
    """The forward pass, ``length`` steps of a ``fori_loop``: the states ``h_0 .. h_max_length``
    and ``c_0 ..`` (``(max_length + 1, batch, max_hidden)``; entries past ``length`` stay 0),
    and per step the mean gate and whether the new state is finite / free of NaN."""
    dtype = rnn_dtype(structure)
    shape = (structure.max_length + 1,) + xs.shape[1:2] + (structure.max_hidden,)
    units = jnp.arange(structure.max_hidden) < t.hidden
    n_units = jnp.maximum(t.hidden, 1).astype(dtype) * xs.shape[1]
    steps = jnp.zeros(structure.max_length, dtype)
    flags = jnp.ones(structure.max_length, bool)

    def body(k, carry):  # step t = k + 1
        h, c, hs, cs, gates, finite, no_nan = carry
        h2, c2, gate = step(structure.cell, t.nonlinearity, params, xs[k], h, c)
        h2, c2 = jnp.where(units, h2, 0.0), jnp.where(units, c2, 0.0)
        # The state is carried on its own and only written into the stacks (never read back
        # from them here), so that XLA updates the stacks in place: reading hs[k] in the loop
        # made it copy the whole stack every step (20 s instead of ~0.1 s at T = 1000).
        return (
            h2, c2, hs.at[k + 1].set(h2), cs.at[k + 1].set(c2),
            gates.at[k].set(jnp.sum(jnp.where(units, gate, 0.0)) / n_units),
            finite.at[k].set(jnp.all(jnp.isfinite(h2)) & jnp.all(jnp.isfinite(c2))),
            no_nan.at[k].set(~jnp.any(jnp.isnan(h2)) & ~jnp.any(jnp.isnan(c2))),
        )  # fmt: skip

    zeros = jnp.zeros(shape, dtype)
    start = (zeros[0], zeros[0], zeros, zeros, steps, flags, flags)
    return jax.lax.fori_loop(0, t.length, body, start)[2:]


def _backward(structure: RNNStructure, params: RNNParams, xs, t: RNNTraced, hs, cs):
    """Backpropagation through time, written out: ``||dL/dh_t||`` and ``||dL/dc_t||`` for
    ``t = length .. 1``, one ``jax.vjp`` of the step per iteration of a ``fori_loop``.

    With ``F_t: (h_{t-1}, c_{t-1}, e) -> (h_t, c_t)``, ``e`` added to ``c_t`` before ``h_t`` reads
    it: given ``G_h[t] = dL/dh_t`` and ``K[t]``, the derivative through ``c_t``'s later uses,
    the vjp of ``F_t`` returns ``dL/dh_{t-1}`` through step ``t``, ``K[t-1]`` and ``dL/de``, which
    is the total ``dL/dc_t`` (through ``h_t`` too). ``G_h[t-1]`` adds the readout's
    ``w_out / batch`` when the loss reads every step.
    """
    dtype = rnn_dtype(structure)
    batch = xs.shape[1]
    units = jnp.arange(structure.max_hidden) < t.hidden
    readout = jnp.broadcast_to(jnp.where(units, params.w_out, 0.0) / batch, hs.shape[1:])
    every = (t.loss == 1).astype(dtype)
    lstm = structure.cell == "lstm"

    def body(i, carry):  # k = length - 1 - i: step t = k + 1, from h_k to h_{k+1}
        g_h, g_c_later, norm_h, norm_c = carry
        k = t.length - 1 - i

        def cell(h, c, e):
            h2, c2, _ = step(structure.cell, t.nonlinearity, params, xs[k], h, c, e)
            return jnp.where(units, h2, 0.0), jnp.where(units, c2, 0.0)

        zero = jnp.zeros_like(g_h)
        _, vjp = jax.vjp(cell, hs[k], cs[k], zero)
        g_h_prev, g_c_prev, g_c_total = vjp((g_h, g_c_later if lstm else zero))
        norm_h = norm_h.at[k].set(_scaled_norm(g_h, (0, 1)))
        if lstm:
            norm_c = norm_c.at[k].set(_scaled_norm(g_c_total, (0, 1)))
        return _flush(g_h_prev + every * readout), _flush(g_c_prev), norm_h, norm_c

    norms = jnp.zeros(structure.max_length, dtype)
    start = (readout, jnp.zeros_like(readout), norms, norms)
    _, _, norm_h, norm_c = jax.lax.fori_loop(0, t.length, body, start)
    return norm_h, norm_c


def _flush(g):
    """Subnormal entries (below the dtype's smallest normal number, ~1.2e-38 in float32) set
    to 0. A vanishing gradient carried back through hundreds of steps would otherwise sit in
    subnormal numbers, which this CPU multiplies ~100x slower (one refresh took 7 s instead
    of 0.1 s); what falls below is reported as an exact 0, underflow, as it would be anyway
    a few steps later."""
    return jnp.where(jnp.abs(g) < jnp.finfo(g.dtype).tiny, jnp.zeros_like(g), g)


def _loss(structure, params, t: RNNTraced, hs):
    batch = hs.shape[1]
    per_step = jnp.sum(hs[1:] @ params.w_out, axis=1) / batch
    active = jnp.arange(1, structure.max_length + 1) <= t.length
    every = jnp.sum(jnp.where(active, per_step, 0.0))
    return jnp.where(t.loss == 1, every, per_step[jnp.maximum(t.length - 1, 0)])


def _jacobian_norms(structure, params, t: RNNTraced, x0, h0, c0):
    """``||dh_t/dh_{t-1}||_2`` per step for the first sequence (its inputs ``x0`` and states
    ``h0``, ``c0`` before each step): ``jax.jacfwd`` and an SVD, one step at a time.

    A loop, not ``vmap`` over the steps: the vmapped form held every step's Jacobian at once
    (``max_length`` x 128 x 128 floats, 32 MB at 500 steps), and XLA set that memory aside on
    every call of the probe, asked for or not (~3 ms a call). The loop runs ``length`` steps.
    """
    units = jnp.arange(structure.max_hidden) < t.hidden
    cell = functools.partial(step, structure.cell, t.nonlinearity, params)

    def body(k, norms):
        jac = jax.jacfwd(lambda v: jnp.where(units, cell(x0[k], v, c0[k])[0], 0.0))(h0[k])
        return norms.at[k].set(jnp.linalg.svd(jac, compute_uv=False)[0])

    return jax.lax.fori_loop(0, t.length, body, jnp.zeros(structure.max_length, h0.dtype))


@functools.partial(jax.jit, static_argnames="structure")
def _probe(
    structure: RNNStructure, params: RNNParams, xs, t: RNNTraced, jacobians, spectrum
) -> TimeProbe:
    """``probe_through_time``'s compiled core; ``xs`` is time-major ``(max_length, batch, n_in)``.

    Both loops run ``length`` iterations (``fori_loop`` with a traced bound), so the cost
    follows ``length``, not ``max_length``; and the backward pass needs no autodiff through the
    loop (it is written out with one ``vjp`` per step)."""
    dtype = rnn_dtype(structure)
    hs, cs, gate_mean, finite, no_nan = _forward(structure, params, xs, t)
    loss = _loss(structure, params, t, hs)
    norm_h, norm_c = _backward(structure, params, xs, t, hs, cs)
    active = jnp.arange(1, structure.max_length + 1) <= t.length
    # A NaN in the forward pass at step s poisons every gradient at or before s (the backward
    # pass runs through it), and a non-finite loss poisons them all.
    has_nan = active & ~no_nan
    poisoned = (jnp.cumsum(has_nan[::-1])[::-1] > 0) | ~jnp.isfinite(loss)
    norms = [jnp.where(poisoned, jnp.nan, norm_h)]
    norms.append(jnp.where(poisoned, jnp.nan, norm_c) if structure.cell == "lstm" else norm_c)
    first = (xs[:, 0], hs[:-1, 0], cs[:-1, 0])  # the first sequence's inputs and states
    jac = jax.lax.cond(
        jacobians,
        lambda first: _jacobian_norms(structure, params, t, *first),
        lambda first: jnp.zeros(structure.max_length, dtype),
        first,
    )
    bad = active & ~finite
    overflow_step = jnp.where(jnp.any(bad), jnp.argmax(bad) + 1, 0)
    sigma = jax.lax.cond(
        spectrum,
        lambda: jnp.linalg.svd(params.w_rec[0], compute_uv=False)[0],
        lambda: jnp.asarray(jnp.nan, dtype),
    )
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
    config: RNNConfig, params: RNNParams, x, *, jacobians: bool = False, spectrum: bool = True
) -> TimeProbe:
    """``||dL/dh_t||`` for every step, and what bounds it, in one jit-compiled pass.

    One forward loop over time and the backward loop of backpropagation through time, each
    ``length`` iterations. Every field of
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
      spectrum: compute ``rec_norm`` (an SVD) and ``rec_radius`` (NumPy's eigenvalues, on the
        host); False leaves both NaN, for callers that know them already (on a loaded 2-core
        machine one LAPACK call can take a second: OpenBLAS's threads wait on each other).

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
    spectrum = check_bool("spectrum", spectrum)
    structure = config.structure
    with x64_context(structure.dtype):
        dtype = rnn_dtype(structure)
        params = RNNParams(*(jnp.asarray(v, dtype) for v in params))
        xs = jnp.asarray(np.swapaxes(x, 0, 1), dtype)
        traced = traced_arrays(structure, config.traced)
        flags = jnp.asarray(jacobians), jnp.asarray(spectrum)
        result = _probe(structure, params, xs, traced, *flags)
    n = config.hidden
    value = spectral_radius(np.asarray(params.w_rec[0])[:n, :n]) if spectrum else float("nan")
    return result._replace(rec_radius=np.asarray(value, result.rec_norm.dtype))


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

    _, hs = jax.lax.scan(body, (eps[0], eps[0]), (xs, on))
    return jnp.swapaxes(hs, 0, 1)


def unroll(config: RNNConfig, params: RNNParams, xs) -> jax.Array:
    """The states ``h_1 .. h_T`` for time-major inputs ``xs`` (``(T, batch, n_in)``): traceable,
    for use inside the caller's own ``jit`` and ``grad`` (training). ``config``'s fields are
    constants here (no masking: every step of ``xs`` runs, every unit is used); no checks.

    Returns:
      ``(T, batch, max_hidden)``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from vgwidgets.engine import init_rnn
      >>> cfg = RNNConfig(cell="lstm", length=4, hidden=3)
      >>> p = init_rnn(cfg, key=jax.random.key(0))
      >>> jax.jit(lambda p, xs: unroll(cfg, p, xs))(p, jnp.ones((4, 2, 1))).shape
      (4, 2, 3)
    """
    nonlinearity = NONLINEARITIES.index(config.nonlinearity)

    def body(carry, x):
        h, c = carry
        h2, c2, _ = step(config.cell, nonlinearity, params, x, h, c)
        return (h2, c2), h2

    zeros = jnp.zeros(xs.shape[1:2] + (params.w_rec.shape[-1],), xs.dtype)
    _, hs = jax.lax.scan(body, (zeros, zeros), xs)
    return hs


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
