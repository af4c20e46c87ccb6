"""Recurrent cells (vanilla, LSTM, GRU), their parameters and the recurrent initializations.

Row vectors, as in the rest of the engine: a state ``h`` of shape ``(..., H)`` times a matrix
``(H, H)``. Every cell reads the same ``RNNParams``, gate blocks stacked on a leading axis of 4
(a cell uses the blocks it needs; the others stay unused), so that every cell's parameters
have one pytree shape. Block 0 is always the *candidate* block, the one
that plays the vanilla cell's role (``W_rec = w_rec[0]``, whose spectrum ``probe_through_time``
reports):

    vanilla: [W]            LSTM: [g, i, f, o]           GRU: [n, r, z]  (b[3] = b_hn)

The GRU follows the convention of equinox's ``GRUCell``, PyTorch's ``nn.GRU`` and cuDNN: the
reset gate multiplies the recurrent term *after* the matrix, ``r * (h U_n + b_hn)``. Cho et al.
(2014) wrote it *before*, ``(r * h) U_n``; the two are different functions of the same weights
(Keras calls the first ``reset_after=True``). Both keep the gradient path ``z * h``.

Recurrent initializations (each gate block drawn alone), with ``n`` the active hidden size:
``gaussian`` ``N(0, g^2/n)``; ``orthogonal``, a Haar-random orthogonal matrix times ``g``
(Saxe et al. 2014); ``identity``, ``g I`` (Le, Jaitly & Hinton 2015's IRNN at ``g = 1`` with
ReLU).

References:
  Elman, "Finding structure in time", Cognitive Science 14 (1990). Hochreiter & Schmidhuber,
  "Long short-term memory", Neural Computation 9 (1997). Gers, Schmidhuber & Cummins, "Learning
  to forget", Neural Computation 12 (2000). Cho et al., "Learning phrase representations using
  RNN encoder-decoder", EMNLP 2014. Le, Jaitly & Hinton, "A simple way to initialize recurrent
  networks of rectified linear units", arXiv:1504.00941 (2015). Jozefowicz, Zaremba & Sutskever,
  "An empirical exploration of recurrent network architectures", ICML 2015.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

CELLS = ("vanilla", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu", "sigmoid")
RECURRENT_INITS = ("gaussian", "orthogonal", "identity")
# sup |phi'| of the vanilla cell's nonlinearity: Pascanu et al.'s gamma.
GAMMAS = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}
GATES = 4  # blocks in RNNParams, the LSTM's count


class RNNParams(NamedTuple):
    """A recurrent cell's parameters, padded to ``max_hidden`` units.

    Attributes:
      w_in: ``(4, n_in, H)``, the input matrix of each gate block.
      w_rec: ``(4, H, H)``, the recurrent matrix of each block; ``w_rec[0]`` is ``W_rec``.
      b: ``(4, H)``, the biases (the LSTM's forget bias is in ``b[2]``; the GRU's ``b_hn``,
        added inside the reset gate, is ``b[3]``).
      w_out: ``(H,)``, the linear readout the probe's loss uses.
    """

    w_in: jax.Array
    w_rec: jax.Array
    b: jax.Array
    w_out: jax.Array


def _pre(p: RNNParams, x, h, k):
    """Block ``k``'s pre-activation ``x W_k + h U_k + b_k``."""
    return x @ p.w_in[k] + h @ p.w_rec[k] + p.b[k]


def vanilla_cell(p: RNNParams, x, h, phi=jnp.tanh):
    """Elman's cell: ``h' = phi(x W + h U + b)``.

    ``dh'/dh = U diag(phi'(a))`` (row vectors), so ``||dh'/dh|| <= ||U|| sup|phi'|``: the
    factor in Pascanu et al.'s bound.

    Example:
      >>> p = RNNParams(jnp.zeros((4, 1, 2)), jnp.zeros((4, 2, 2)), jnp.ones((4, 2)), jnp.ones(2))
      >>> [round(float(v), 4) for v in vanilla_cell(p, jnp.ones(1), jnp.zeros(2))]  # tanh(1)
      [0.7616, 0.7616]
    """
    return phi(_pre(p, x, h, 0))


def _lstm(p: RNNParams, x, h, c, eps_c=0.0):
    g = jnp.tanh(_pre(p, x, h, 0))
    i, f, o = (jax.nn.sigmoid(_pre(p, x, h, k)) for k in (1, 2, 3))
    c = f * c + i * g + eps_c  # eps_c: the probe's zero perturbation, dL/d eps_c = dL/dc
    return o * jnp.tanh(c), c, f


def lstm_cell(p: RNNParams, x, h, c):
    """The LSTM with a forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000).

        g = tanh(x W_g + h U_g + b_g)      i = sigma(x W_i + h U_i + b_i)
        f = sigma(x W_f + h U_f + b_f)     o = sigma(x W_o + h U_o + b_o)
        c' = f * c + i * g                 h' = o * tanh(c')

    ``dc'/dc = diag(f)`` along the cell-state path: the gradient through ``c`` shrinks by the
    forget gate per step, ``b_f`` (1 in Jozefowicz et al. 2015) holding it near 1.

    Returns:
      ``(h', c')``.

    Example:
      >>> p = RNNParams(jnp.zeros((4, 1, 2)), jnp.zeros((4, 2, 2)), jnp.zeros((4, 2)), jnp.ones(2))
      >>> h, c = lstm_cell(p, jnp.ones(1), jnp.zeros(2), jnp.ones(2))
      >>> c.tolist()  # f = sigma(0) = 1/2 keeps half of c; g = tanh(0) adds nothing
      [0.5, 0.5]
    """
    h, c, _ = _lstm(p, x, h, c)
    return h, c


def _gru(p: RNNParams, x, h):
    r = jax.nn.sigmoid(_pre(p, x, h, 1))
    z = jax.nn.sigmoid(_pre(p, x, h, 2))
    n = jnp.tanh(x @ p.w_in[0] + p.b[0] + r * (h @ p.w_rec[0] + p.b[3]))
    return (1.0 - z) * n + z * h, z


def gru_cell(p: RNNParams, x, h):
    """The gated recurrent unit (Cho et al. 2014), reset gate applied after the matrix.

        r = sigma(x W_r + h U_r + b_r)     z = sigma(x W_z + h U_z + b_z)
        n = tanh(x W_n + b_n + r * (h U_n + b_hn))
        h' = (1 - z) * n + z * h

    (Cho et al. wrote ``n = tanh(x W_n + (r * h) U_n)``; this is equinox's, PyTorch's and
    cuDNN's form.) ``dh'/dh`` contains ``diag(z)``: the update gate is the GRU's forget gate.

    Example:
      >>> p = RNNParams(jnp.zeros((4, 1, 2)), jnp.zeros((4, 2, 2)), jnp.zeros((4, 2)), jnp.ones(2))
      >>> gru_cell(p, jnp.ones(1), jnp.ones(2)).tolist()  # z = 1/2, n = 0
      [0.5, 0.5]
    """
    return _gru(p, x, h)[0]


def phi_of(nonlinearity, a):
    """The vanilla cell's nonlinearity chosen by a traced index into ``NONLINEARITIES``.

    All three are computed and one is selected (``jnp.select``): three cheap elementwise maps
    beat a conditional inside the time loop, which cost ~5x the step here."""
    return jnp.select(
        [nonlinearity == 0, nonlinearity == 1], [jnp.tanh(a), jax.nn.relu(a)], jax.nn.sigmoid(a)
    )


def step(cell: str, nonlinearity, p: RNNParams, x, h, c, eps_c=0.0):
    """One step of ``cell`` (a static name): ``(h', c', gate)``.

    ``gate`` is the LSTM's forget gate ``f``, the GRU's update gate ``z``, zeros for the vanilla
    cell (whose ``phi`` is the traced ``nonlinearity``, see ``phi_of``); ``c'`` is zeros except
    for the LSTM, whose ``c'`` gets ``eps_c`` added before ``h'`` reads it.
    """
    zeros = jnp.zeros_like(h)
    if cell == "vanilla":
        return phi_of(nonlinearity, _pre(p, x, h, 0)), zeros, zeros
    if cell == "lstm":
        return _lstm(p, x, h, c, eps_c)
    h2, z = _gru(p, x, h)
    return h2, zeros, z


def recurrent_matrix(key, kind, gain, hidden, max_hidden: int, dtype):
    """One ``(max_hidden, max_hidden)`` recurrent block: ``kind`` (an index into
    ``RECURRENT_INITS``), ``gain`` and the active size ``hidden`` traced; zero outside the
    active ``hidden x hidden`` corner.

    The orthogonal draw is the QR factor of a Gaussian matrix, signs fixed by ``diag(R)`` (Haar
    measure). Padding the Gaussian draw with the identity makes ``Q`` block diagonal, so its
    active corner is the QR factor of the active corner alone: one program serves every size.
    """
    units = jnp.arange(max_hidden) < hidden
    corner = units[:, None] & units[None, :]
    n = jnp.asarray(hidden, dtype)
    draw = jax.random.normal(key, (max_hidden, max_hidden), dtype)
    gaussian = draw / jnp.sqrt(n)
    eye = jnp.eye(max_hidden, dtype=dtype)

    def orthogonal():
        q, r = jnp.linalg.qr(jnp.where(corner, draw, eye))
        return q * jnp.sign(jnp.diagonal(r))[None, :]

    # The QR runs only for "orthogonal" (lax.cond runs one branch): a LAPACK call per draw is
    # what a loaded 2-core machine is slowest at.
    w = jax.lax.cond(kind == 1, orthogonal, lambda: jnp.where(kind == 0, gaussian, eye))
    return jnp.where(corner, gain * w, 0.0)
