"""Recurrent cells and ``probe_through_time``: the cells against equinox's and a NumPy oracle,
``||dL/dh_t||`` and ``||dL/dc_t||`` against finite differences in float64, the step Jacobians'
norms against ``jax.jacfwd`` and an SVD, the initializations, and no compilation when a traced
field moves (the cell included)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vgwidgets.engine import (
    CELLS,
    RNNConfig,
    RNNParams,
    count_compilations,
    gru_cell,
    init_rnn,
    lstm_cell,
    probe_through_time,
    run_rnn,
    vanilla_cell,
    x64_context,
)

# One small float64 structure for the oracle tests (each test reuses its compiled programs).
SMALL = {"n_in": 2, "max_hidden": 4, "max_length": 6, "dtype": "float64"}


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _np_step(cell, p, x, h, c, phi=np.tanh, eps_c=0.0):
    """The three cells written out in NumPy, block order [candidate, gates...] (the oracle)."""
    w_in, w_rec, b = (np.asarray(v, np.float64) for v in p[:3])

    def pre(k):
        return x @ w_in[k] + h @ w_rec[k] + b[k]

    if cell == "vanilla":
        return phi(pre(0)), c
    if cell == "lstm":
        g, i, f, o = np.tanh(pre(0)), _sigmoid(pre(1)), _sigmoid(pre(2)), _sigmoid(pre(3))
        c = f * c + i * g + eps_c
        return o * np.tanh(c), c
    r, z = _sigmoid(pre(1)), _sigmoid(pre(2))
    n = np.tanh(x @ w_in[0] + b[0] + r * (h @ w_rec[0] + b[3]))
    return (1 - z) * n + z * h, c


def _active(p, hidden):
    """``p`` cut to its active ``hidden`` units."""
    return RNNParams(
        np.asarray(p.w_in, np.float64)[..., :hidden],
        np.asarray(p.w_rec, np.float64)[:, :hidden, :hidden],
        np.asarray(p.b, np.float64)[:, :hidden],
        np.asarray(p.w_out, np.float64)[:hidden],
    )


def _np_loss(cell, p, x, length, hidden, *, at, eps_h=0.0, eps_c=0.0, every=False):
    """``mean_b w_out . h_T`` (or summed over t), ``eps_h`` added to ``h_at`` and ``eps_c`` to
    ``c_at`` (before ``h_at`` reads it)."""
    q = _active(p, hidden)
    batch = x.shape[0]
    h, c, total = np.zeros((batch, hidden)), np.zeros((batch, hidden)), 0.0
    for t in range(1, length + 1):
        h, c = _np_step(cell, q, x[:, t - 1], h, c, eps_c=eps_c if t == at else 0.0)
        if t == at:
            h = h + eps_h
        total += np.sum(h @ q.w_out) / batch
    return total if every else np.sum(h @ q.w_out) / batch


def _np_states(cell, p, x, length, hidden, phi=np.tanh):
    """``(h_{t-1}, c_{t-1}, h_t)`` for ``t = 1..length``, each ``(length, batch, hidden)``."""
    q = _active(p, hidden)
    batch = x.shape[0]
    h, c, hs, cs = np.zeros((batch, hidden)), np.zeros((batch, hidden)), [], []
    for t in range(length):
        hs.append(h)
        cs.append(c)
        h, c = _np_step(cell, q, x[:, t], h, c, phi)
    return np.stack(hs), np.stack(cs), np.stack([*hs[1:], h])


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, SMALL["max_length"], SMALL["n_in"]))
    return x


def _config(**kw):
    return RNNConfig(**{**SMALL, "length": 5, "hidden": 3, "gain": 1.2, "bias_scale": 0.3, **kw})


# ----------------------------------------------------------------------------------------------
# Cells


@pytest.mark.parametrize("cell", CELLS)
def test_states_match_a_numpy_oracle(small, cell):
    cfg = _config(cell=cell)
    p = init_rnn(cfg, key=jax.random.key(1))
    hs = np.asarray(run_rnn(cfg, p, small))[:, :5, :3]
    expected = _np_states(cell, p, small, 5, 3)[2]
    np.testing.assert_allclose(hs, np.swapaxes(expected, 0, 1), rtol=1e-10, atol=1e-12)


def test_lstm_and_gru_cells_match_equinox():
    eqx = pytest.importorskip("equinox", reason="equinox is a test extra (the reference cells)")
    n_in, n = 3, 5
    keys = jax.random.split(jax.random.key(2), 4)
    x = jax.random.normal(keys[0], (n_in,))
    h = jax.random.normal(keys[1], (n,))
    c = jax.random.normal(keys[2], (n,))

    lstm = eqx.nn.LSTMCell(n_in, n, key=keys[3])
    # equinox stacks the LSTM's blocks as i, f, g, o on the rows; ours are [g, i, f, o].
    blocks = [2, 0, 1, 3]
    split = lambda w: jnp.split(w, 4)  # noqa: E731
    p = RNNParams(
        jnp.stack([split(lstm.weight_ih)[k].T for k in blocks]),
        jnp.stack([split(lstm.weight_hh)[k].T for k in blocks]),
        jnp.stack([split(lstm.bias)[k] for k in blocks]),
        jnp.zeros(n),
    )
    ours = lstm_cell(p, x, h, c)
    theirs = lstm((x), (h, c))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    gru = eqx.nn.GRUCell(n_in, n, key=keys[3])
    # equinox: r, z, n on the rows plus bias_n inside the reset gate; ours [n, r, z, b_hn].
    blocks = [2, 0, 1]
    w_in = [jnp.split(gru.weight_ih, 3)[k].T for k in blocks]
    w_rec = [jnp.split(gru.weight_hh, 3)[k].T for k in blocks]
    b = [jnp.split(gru.bias, 3)[k] for k in blocks] + [gru.bias_n]
    p = RNNParams(
        jnp.stack([*w_in, jnp.zeros_like(w_in[0])]),
        jnp.stack([*w_rec, jnp.zeros_like(w_rec[0])]),
        jnp.stack(b),
        jnp.zeros(n),
    )
    np.testing.assert_allclose(gru_cell(p, x, h), gru(x, h), rtol=1e-5, atol=1e-6)


def test_vanilla_cell_is_phi_of_the_affine_map():
    p = RNNParams(jnp.ones((4, 1, 2)), 0.5 * jnp.ones((4, 2, 2)), jnp.zeros((4, 2)), jnp.ones(2))
    out = vanilla_cell(p, jnp.ones(1), jnp.ones(2), jax.nn.sigmoid)
    np.testing.assert_allclose(out, _sigmoid(2.0) * np.ones(2), rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# Initializations


@pytest.mark.parametrize("gain", [0.5, 2.0])
def test_recurrent_initializations(gain):
    cfg = RNNConfig(hidden=100, max_hidden=128, gain=gain)
    key = jax.random.key(3)
    for name in ("gaussian", "orthogonal", "identity"):
        w = np.asarray(init_rnn(cfg.replace(initializer=name), key=key).w_rec, np.float64)
        active, pad = w[:, :100, :100], w[:, 100:, :]
        assert not pad.any() and not w[:, :, 100:].any()
        if name == "identity":
            np.testing.assert_array_equal(active, gain * np.broadcast_to(np.eye(100), active.shape))
        elif name == "orthogonal":
            for block in active:
                np.testing.assert_allclose(block.T @ block, gain**2 * np.eye(100), atol=2e-5 * gain**2)
        else:  # N(0, g^2/n): 4 x 10,000 draws, the mean square within 3% (4 sd)
            assert np.mean(active**2) == pytest.approx(gain**2 / 100, rel=0.03)


def test_forget_bias_goes_to_the_lstm_forget_gate_only():
    cfg = RNNConfig(cell="lstm", hidden=4, forget_bias=1.0, bias_scale=0.0)
    b = np.asarray(init_rnn(cfg, key=jax.random.key(0)).b)
    np.testing.assert_array_equal(b[2], np.ones(4))
    assert not np.delete(b, 2, axis=0).any()
    b = np.asarray(init_rnn(cfg.replace(cell="gru"), key=jax.random.key(0)).b)
    assert not b.any()


# ----------------------------------------------------------------------------------------------
# ||dL/dh_t|| against finite differences (float64)


def _fd_norm(loss_at, shape, delta=1e-6):
    grad = np.zeros(shape)
    for idx in np.ndindex(*shape):
        e = np.zeros(shape)
        e[idx] = delta
        grad[idx] = (loss_at(e) - loss_at(-e)) / (2 * delta)
    return np.linalg.norm(grad)


@pytest.mark.parametrize("loss", ["last", "every"])
@pytest.mark.parametrize("cell", CELLS)
def test_grad_h_norm_matches_finite_differences(small, cell, loss):
    cfg = _config(cell=cell, loss=loss)
    p = init_rnn(cfg, key=jax.random.key(4))
    r = probe_through_time(cfg, p, small).trim()
    assert r.grad_h_norm.shape == (5,)
    every = loss == "every"
    for t in range(1, 6):
        fd = _fd_norm(lambda e, t=t: _np_loss(cell, p, small, 5, 3, at=t, eps_h=e, every=every), (2, 3))
        assert r.grad_h_norm[t - 1] == pytest.approx(fd, rel=1e-6, abs=1e-12), t
        if cell == "lstm":
            fd = _fd_norm(lambda e, t=t: _np_loss(cell, p, small, 5, 3, at=t, eps_c=e, every=every), (2, 3))
            assert r.grad_c_norm[t - 1] == pytest.approx(fd, rel=1e-6, abs=1e-12), t
    if cell != "lstm":
        assert not r.grad_c_norm.any()


# ----------------------------------------------------------------------------------------------
# Step Jacobians against jax.jacfwd and an SVD


@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_norms_match_jacfwd_and_svd(small, cell):
    cfg = _config(cell=cell, gain=1.5)
    p = init_rnn(cfg, key=jax.random.key(5))
    r = probe_through_time(cfg, p, small, jacobians=True).trim()
    h_prev, c_prev, _ = _np_states(cell, p, small, 5, 3)
    q = RNNParams(
        jnp.asarray(p.w_in)[..., :3], jnp.asarray(p.w_rec)[:, :3, :3], jnp.asarray(p.b)[:, :3],
        jnp.asarray(p.w_out)[:3],
    )  # fmt: skip
    with x64_context("float64"):
        for t in range(5):
            x, h, c = (jnp.asarray(v, jnp.float64) for v in (small[0, t], h_prev[t, 0], c_prev[t, 0]))
            if cell == "vanilla":
                fn = lambda v, x=x: vanilla_cell(q, x, v)  # noqa: E731
            elif cell == "lstm":
                fn = lambda v, x=x, c=c: lstm_cell(q, x, v, c)[0]  # noqa: E731
            else:
                fn = lambda v, x=x: gru_cell(q, x, v)  # noqa: E731
            expected = np.linalg.svd(np.asarray(jax.jacfwd(fn)(h)), compute_uv=False)[0]
            assert r.jac_norm[t] == pytest.approx(expected, rel=1e-9), t
    w = np.asarray(p.w_rec[0])[:3, :3]
    assert r.rec_norm == pytest.approx(np.linalg.svd(w, compute_uv=False)[0], rel=1e-9)
    assert r.rec_radius == pytest.approx(np.max(np.abs(np.linalg.eigvals(w))), rel=1e-9)


# ----------------------------------------------------------------------------------------------
# Traced fields compile nothing


def test_moving_any_traced_field_compiles_nothing(small):
    cfg = _config(dtype="float32")
    x = small.astype(np.float32)
    key = jax.random.key(0)
    probe_through_time(cfg, init_rnn(cfg, key=key), x, jacobians=True)
    moves = [
        {"nonlinearity": "relu"}, {"nonlinearity": "sigmoid"}, {"initializer": "orthogonal"},
        {"initializer": "identity"}, {"length": 2}, {"hidden": 4}, {"gain": 3.0},
        {"input_scale": 0.1}, {"bias_scale": 1.0}, {"forget_bias": -2.0}, {"loss": "every"},
    ]  # fmt: skip
    with count_compilations() as compiled:
        for move in moves:
            moved = cfg.replace(**move)
            r = probe_through_time(moved, init_rnn(moved, key=key), x, jacobians=False)
            assert r.trim().grad_h_norm.shape == (moved.length,)
    assert compiled.count == 0, compiled.names


def test_each_cell_compiles_once_then_switching_compiles_nothing(small):
    """The cell is static (one program per cell, cached): a cell's first use compiles its probe
    and its draw; going back to a cell already used compiles nothing."""
    x = small.astype(np.float32)
    key = jax.random.key(0)
    for cell in CELLS:
        cfg = _config(dtype="float32", cell=cell)
        probe_through_time(cfg, init_rnn(cfg, key=key), x)
    with count_compilations() as compiled:
        for cell in (*CELLS, *CELLS[::-1]):
            cfg = _config(dtype="float32", cell=cell, gain=0.7, hidden=2)
            probe_through_time(cfg, init_rnn(cfg, key=key), x)
    assert compiled.count == 0, compiled.names


# ----------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"cell": "transformer"}, "cell must be one of 'vanilla', 'lstm', 'gru'"),
        ({"nonlinearity": "gelu"}, "nonlinearity must be one of"),
        ({"initializer": "xavier"}, "initializer must be one of"),
        ({"length": 7}, r"length must be an integer in \[1, 6\]; got 7\. \(max_length is 6"),
        ({"hidden": 0}, r"hidden must be an integer in \[1, 4\]; got 0"),
        ({"gain": float("nan")}, "gain must be a finite real number; got nan"),
        ({"forget_bias": 50.0}, r"forget_bias must be a number in \[-20, 20\]; got 50.0"),
    ],
)
def test_bad_config_is_named(changes, match):
    with pytest.raises(ValueError, match=match):
        _config(**changes)


def test_bad_input_shapes_are_named(small):
    cfg = _config()
    p = init_rnn(cfg, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"x must have shape \(batch >= 1, max_length=6, n_in=2\)"):
        probe_through_time(cfg, p, small[:, :5])
    with pytest.raises(ValueError, match=r"params.w_rec must have shape \(4, 4, 4\)"):
        probe_through_time(cfg, p._replace(w_rec=np.zeros((4, 3, 3))), small)
    with pytest.raises(ValueError, match="jacobians must be True or False"):
        probe_through_time(cfg, p, small, jacobians="yes")
