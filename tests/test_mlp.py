"""The deep-MLP probe against an unrolled JAX network, NumPy backprop and float64 finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import _mlp  # the jitted probe itself, for its jaxpr
from vgwidgets.engine import count_compilations, to_arrays, x64_context

from . import _reference as ref

ACTIVATIONS = sorted(vg.ACTIVATIONS)
LOSSES = sorted(vg.LOSSES)
# A non-default parameter for every activation that has one: the value must reach the network.
PARAMS = {"leaky_relu": 0.2, "prelu": 0.3, "elu": 1.5, "lifted_sigmoid": 0.3}


# Compiling a new shape costs seconds (init, probe and forward pass: about 12 s of CPU), so the
# float32 tests share two: n_in=4, width=8, n_out=2, batch 7 at max_depth 3 (SMALL) and 20
# (PADDED); the depth, the activation and every other choice are traced values of one program.
# The float64 tests share ``ref.config64``'s shape at batch 16 or 9.
SMALL = vg.MLPConfig(n_in=4, depth=3, width=8, n_out=2)
PADDED = SMALL.replace(max_depth=20)


def _data(config, batch=7, seed=0):
    return ref.data(config, batch, seed)


def _layer_params(activation, params, depth):
    """The activation parameter of each hidden layer, as the NumPy reference takes it."""
    if activation == "prelu":
        return {"slopes": list(np.asarray(params.slope)[:depth])}
    return {"param": PARAMS.get(activation, 0.0)}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_probe_matches_unrolled_backprop_finite_differences_and_numpy(activation):
    """Every registered activation, each with one of the losses (all three are covered)."""
    config = ref.config64(activation, activation_param=PARAMS.get(activation))
    params = vg.init_mlp(config, key=jax.random.key(2))
    if activation == "prelu":  # a different learned slope in every layer
        params = params._replace(slope=np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))
    x, y = _data(config, batch=16, seed=3)
    layers, d = ref.unpadded(params, config.depth), config.depth
    options = _layer_params(activation, params, d)
    zs, _, acts, _, _ = ref.forward(activation, layers, x, **options)
    assert min(np.abs(z).min() for z in zs) > 1e-4  # no z at a kink, where differences fail
    result = vg.probe(config, params, x, y).trim()
    assert result.grad_b_norm.dtype == np.float64 and result.grad_b_norm.shape == (d,)

    # 1. an unrolled JAX network (same activation functions, written-out network)
    unrolled = ref.unrolled_grads(config, params, x, y)
    b_norms, w_norms = ref.norms(unrolled)
    np.testing.assert_allclose(result.grad_b_norm, b_norms, rtol=1e-10)
    np.testing.assert_allclose(result.grad_w_norm, w_norms, rtol=1e-10)
    np.testing.assert_allclose(result.grad_slope, np.abs(unrolled["slope"]), rtol=1e-10)
    # 2. NumPy's textbook backprop with the slope table (the lifted sigmoid's sigma' + eps)
    backprop = ref.backprop(activation, config.loss, layers, x, y, **options)
    np.testing.assert_allclose(result.grad_b_norm, [np.linalg.norm(b) for _, b in backprop])
    np.testing.assert_allclose(result.grad_w_norm, [np.linalg.norm(w) for w, _ in backprop])
    # 3. finite differences of the cost: the true gradient
    fd = ref.finite_difference_grads(activation, config.loss, layers, x, y, **options)
    fd_b = [np.linalg.norm(b) for _, b in fd]
    if activation == "lifted_sigmoid":  # a surrogate by design: not the gradient...
        assert not np.allclose(result.grad_b_norm, fd_b, rtol=1e-3)
        true = ref.backprop(activation, config.loss, layers, x, y, param=0.0)
        np.testing.assert_allclose(fd_b, [np.linalg.norm(b) for _, b in true], rtol=1e-6)
    else:
        np.testing.assert_allclose(result.grad_b_norm, fd_b, rtol=1e-6)
        np.testing.assert_allclose(result.grad_w_norm, [np.linalg.norm(w) for w, _ in fd], rtol=1e-6)  # fmt: skip
    if activation == "prelu":

        def cost(trial):
            return ref.mean_loss(activation, config.loss, layers, x, y, slopes=trial[0])

        fd_slope = ref.finite_difference(cost, [np.asarray(params.slope[:d], np.float64)])[0]
        np.testing.assert_allclose(result.grad_slope, np.abs(fd_slope), rtol=1e-6)
    else:
        assert np.all(result.grad_slope == 0)
    # 4. activation statistics against NumPy
    p = np.asarray(params.slope)[:d] if activation == "prelu" else [PARAMS.get(activation, 0.0)] * d
    bound = [float(vg.ACTIVATIONS[activation].max_derivative_at(q)) for q in p]
    slopes = [np.abs(ref.DPHI_P[activation](z, q)) for z, q in zip(zs, p)]
    np.testing.assert_allclose(result.act_mean, [a.mean() for a in acts], rtol=1e-10)
    np.testing.assert_allclose(result.act_std, [a.std() for a in acts], rtol=1e-10)
    np.testing.assert_allclose(result.preact_std, [z.std() for z in zs], rtol=1e-10)
    np.testing.assert_allclose(
        result.saturated_frac, [np.mean(s <= 0.05 * c) for s, c in zip(slopes, bound)]
    )
    np.testing.assert_allclose(result.dead_frac, [np.mean(np.all(a == 0, axis=0)) for a in acts])


@pytest.mark.parametrize("norm", vg.NORMS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_and_normalization_matches_the_references(activation, norm):
    """The activation, the normalization and the loss are traced choices of one compiled probe
    and one compiled forward pass; each choice gives the unrolled JAX network's gradients and
    NumPy's forward pass (float64). The losses take turns, so every (norm, loss) pair is run."""
    loss = LOSSES[(ACTIVATIONS.index(activation) + vg.NORMS.index(norm)) % len(LOSSES)]
    config = ref.config64(
        activation, norm=norm, loss=loss, activation_param=PARAMS.get(activation)
    )
    rng = np.random.default_rng(6)
    params = vg.init_mlp(config, key=jax.random.key(6))._replace(
        slope=rng.uniform(0.05, 0.6, size=6),
        norm_scale=rng.uniform(0.5, 2.0, size=(6, 4)),
        norm_shift=0.3 * rng.normal(size=(6, 4)),
    )
    x, y = _data(config, batch=9, seed=6)
    d, n = config.depth, x.shape[0]
    extras = ref.extras(params, d)
    zs, us, acts, logits, stats = ref.forward(
        activation, ref.unpadded(params, d), x, norm=norm, scales=extras["scales"],
        shifts=extras["shifts"], **_layer_params(activation, params, d),
    )  # fmt: skip
    out = vg.apply_mlp(config, params, x).trim()
    for got, want in [(out.z, zs), (out.u, us), (out.a, acts), (out.out, logits)]:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if norm == "batch":  # the running statistics moved towards the batch's (momentum 0.1)
        np.testing.assert_allclose(out.norm_state.mean, [0.1 * m for m, _ in stats], atol=1e-14)
        unbiased = [0.9 + 0.1 * v * n / (n - 1) for _, v in stats]
        np.testing.assert_allclose(out.norm_state.var, unbiased, rtol=1e-12)
    else:  # and stayed where they were otherwise
        assert np.all(out.norm_state.mean == 0) and np.all(out.norm_state.var == 1)
    result = vg.probe(config, params, x, y).trim()
    unrolled = ref.unrolled_grads(config, params, x, y)
    b_norms, w_norms = ref.norms(unrolled)
    assert result.loss == pytest.approx(np.mean(ref.loss(loss, logits, y)), rel=1e-12)
    np.testing.assert_allclose(result.grad_w_norm, w_norms, rtol=1e-10)
    np.testing.assert_allclose(result.grad_b_norm, b_norms, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(result.grad_slope, np.abs(unrolled["slope"]), rtol=1e-10)
    for got, want in [(result.grad_scale_norm, "scale"), (result.grad_shift_norm, "shift")]:
        np.testing.assert_allclose(got, np.linalg.norm(unrolled[want], axis=1), rtol=1e-10)
    np.testing.assert_allclose(result.act_mean, [a.mean() for a in acts], rtol=1e-10)
    np.testing.assert_allclose(result.act_std, [a.std() for a in acts], rtol=1e-10)
    np.testing.assert_allclose(result.preact_std, [z.std() for z in zs], rtol=1e-10)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_residual_connections_match_the_references(k):
    """``a_l = phi(u_l) + a_{l-k}`` at every k-th layer ``l > k``: 5 layers, k = 1, 2, 3."""
    config = ref.config64("tanh", depth=5, residual_every=k)
    params = vg.init_mlp(config, key=jax.random.key(4))
    x, y = _data(config, batch=9, seed=4)
    layers = ref.unpadded(params, 5)
    out = vg.apply_mlp(config, params, x).trim()
    _, _, acts, logits, _ = ref.forward("tanh", layers, x, residual_every=k)
    np.testing.assert_allclose(out.a, acts, rtol=1e-12)
    np.testing.assert_allclose(out.out, logits, rtol=1e-12)
    for l in range(5):  # the definition, layer by layer (l is 0-based, the layer is l + 1)
        skip = out.a[l - k] if (l + 1) % k == 0 and l + 1 > k else 0.0
        np.testing.assert_allclose(out.a[l], np.tanh(out.u[l]) + skip, rtol=1e-12)
    result = vg.probe(config, params, x, y).trim()
    b_norms, w_norms = ref.norms(ref.unrolled_grads(config, params, x, y))
    np.testing.assert_allclose(result.grad_b_norm, b_norms, rtol=1e-10)
    np.testing.assert_allclose(result.grad_w_norm, w_norms, rtol=1e-10)
    backprop = ref.backprop("tanh", config.loss, layers, x, y, residual_every=k)
    np.testing.assert_allclose(result.grad_b_norm, [np.linalg.norm(b) for _, b in backprop])
    fd = ref.finite_difference_grads("tanh", config.loss, layers, x, y, residual_every=k)
    np.testing.assert_allclose(result.grad_b_norm, [np.linalg.norm(b) for _, b in fd], rtol=1e-6)


def test_residual_every_beyond_depth_changes_nothing():
    config = ref.config64("tanh")
    params = vg.init_mlp(config, key=jax.random.key(4))
    x, y = _data(config, batch=9)
    plain = vg.probe(config, params, x, y)
    for k in (4, 5, 1000):  # the first skip would end at layer 2k > depth = 4
        far = vg.probe(config.replace(residual_every=k), params, x, y)
        np.testing.assert_array_equal(far.grad_b_norm, plain.grad_b_norm)
    assert not np.allclose(
        vg.probe(config.replace(residual_every=2), params, x, y).loss, plain.loss
    )


def test_float32_probe_matches_the_unrolled_reference():
    config = PADDED.replace(depth=4, weight_scale=1.3)
    params = vg.init_mlp(config, key=jax.random.key(1))
    x, y = _data(config)
    result = vg.probe(config, params, x, y).trim()
    assert result.grad_b_norm.dtype == np.float32
    b_norms, w_norms = ref.norms(ref.unrolled_grads(config, params, x, y))
    np.testing.assert_allclose(result.grad_b_norm, b_norms, rtol=2e-5)
    np.testing.assert_allclose(result.grad_w_norm, w_norms, rtol=2e-5)


def test_float64_leaves_the_session_in_float32():
    config = ref.config64("tanh", depth=2)
    vg.probe(config, vg.init_mlp(config, key=jax.random.key(0)), *_data(config, batch=9))
    assert jnp.asarray(1.0).dtype == jnp.float32


def test_dead_relu_units_are_counted():
    config = SMALL.replace(activation="relu", loss="squared_error")
    params = vg.init_mlp(config, key=jax.random.key(0))
    # Units 0-3 of layer 2 get a bias far below anything their inputs can reach: dead.
    params = params._replace(b_hidden=params.b_hidden.at[1, :4].set(-1e4))
    x = np.random.default_rng(0).normal(size=(7, 4))
    result = vg.probe(config, params, x, np.zeros((7, 2)))
    acts = ref.forward("relu", ref.unpadded(params, 3), x)[2]
    assert np.all(acts[1][:, :4] == 0)
    assert result.dead_frac[1] == pytest.approx(np.mean(np.all(acts[1] == 0, axis=0)))
    assert result.dead_frac[1] >= 0.4
    assert result.saturated_frac[1] >= 0.4
    assert result.grad_b_norm[0] > 0  # the live units still carry gradient


def test_padded_layers_are_inert_and_padding_does_not_change_results():
    small, big = SMALL, PADDED
    x, y = _data(small)
    p_small = vg.init_mlp(small, key=jax.random.key(5))
    p_big = vg.init_mlp(big, key=jax.random.key(5))
    np.testing.assert_array_equal(p_small.w_hidden, p_big.w_hidden[:2])
    r_small, r_big = vg.probe(small, p_small, x, y), vg.probe(big, p_big, x, y)
    np.testing.assert_allclose(r_small.grad_b_norm, r_big.grad_b_norm[:3], rtol=1e-6)
    assert r_big.active.tolist() == [True] * 3 + [False] * 17
    assert np.all(np.asarray(r_big.grad_b_norm[3:]) == 0)
    assert r_big.trim().grad_b_norm.shape == (3,)
    assert r_big.trim().norm_state.mean.shape == (3, 8)


def test_deep_padding_skipped_in_blocks_gives_the_plainly_scanned_results():
    """From LIVE_MIN_LAYERS padded layers on, blocks lying past the traced depth are skipped:
    every depth (within the first block, across blocks, the last shared layer) gives the
    numbers of a network padded to one layer fewer (scanned plainly), and the running
    statistics past the depth are the ones given. Two compiled programs in all."""
    from vgwidgets.engine._network import LIVE_MIN_LAYERS as m

    base = dict(n_in=4, width=6, n_out=2, activation="prelu", norm="batch", residual_every=3)
    deep, plain = (vg.MLPConfig(depth=1, max_depth=n, **base) for n in (m + 5, m - 1))
    x, y = _data(deep)
    p_deep = vg.init_mlp(deep, key=jax.random.key(3))
    p_plain = vg.init_mlp(plain, key=jax.random.key(3))
    np.testing.assert_array_equal(p_plain.w_hidden, p_deep.w_hidden[: m - 2])
    for depth in (1, 5, m // 2 + 3, m - 1):
        a = vg.probe(plain.replace(depth=depth), p_plain, x, y, train=True)
        b = vg.probe(deep.replace(depth=depth), p_deep, x, y, train=True)
        for name in ("grad_b_norm", "grad_w_norm", "act_std", "grad_slope", "grad_scale_norm"):
            np.testing.assert_allclose(
                getattr(b.trim(), name), getattr(a.trim(), name), rtol=1e-6, err_msg=name
            )
        np.testing.assert_allclose(b.trim().norm_state.var, a.trim().norm_state.var, rtol=1e-6)
        assert np.all(np.asarray(b.norm_state.var)[depth:] == 1.0)
        assert np.all(np.asarray(b.grad_b_norm)[depth:] == 0.0)


def test_moving_any_control_compiles_nothing_new():
    """After a shape's first probe, apply and draw, no control compiles anything: the choices
    (activation, initializer, loss, norm, clip) are traced like the numbers."""
    config = PADDED.replace(depth=2, activation="leaky_relu", norm="batch")
    x, y = _data(config)
    params = vg.init_mlp(config, key=jax.random.key(0))
    first = vg.probe(config, params, x, y)
    vg.apply_mlp(config, params, x)
    rng = np.random.default_rng(0)
    state = first.norm_state
    with count_compilations() as moving:
        _move_controls(config, x, y, state, rng)
    assert moving.count == 0, moving
    # The counter does count: a new width is a new structure.
    wider = config.replace(width=9)
    wider_params, wider_state = vg.init_mlp(wider, key=jax.random.key(0)), vg.init_norm_state(wider)
    with count_compilations() as widening:
        vg.probe(wider, wider_params, x, y, state=wider_state)
    assert widening.count == 1, widening
    # and so does a new batch size (float32 data: no conversion of the new shape to compile)
    x5, y5 = x[:5].astype(np.float32), y[:5].astype(np.float32)
    with count_compilations() as rebatching:
        vg.probe(config, params, x5, y5, state=state)
    assert rebatching.count == 1, rebatching


def _move_controls(config, x, y, state, rng):
    """Draw, probe and apply configs that differ from ``config`` in every traced value, every
    registered activation, initializer, loss, normalization and clipping mode among them."""
    choices = [
        ("activation", sorted(vg.ACTIVATIONS)), ("initializer", sorted(vg.INITIALIZERS)),
        ("loss", LOSSES), ("norm", vg.NORMS), ("clip", vg.CLIP_MODES),
    ]  # fmt: skip
    for i in range(max(len(names) for _, names in choices)):
        moved = config.replace(**{field: names[i % len(names)] for field, names in choices})
        param = vg.ACTIVATIONS[moved.activation].param
        moved = moved.replace(
            depth=int(rng.integers(1, 21)),
            weight_scale=float(rng.uniform(0, 5)),
            bias_scale=float(rng.uniform(0, 2)),
            activation_param=None if param is None else float(rng.uniform(param.low, param.high)),
            residual_every=int(rng.integers(0, 5)),
            clip_threshold=float(rng.uniform(0.01, 10)),
        )
        moved_params = vg.init_mlp(moved, key=jax.random.key(1))
        train = bool(i % 2)
        momentum = float(rng.uniform(0, 1))
        state = vg.probe(
            moved, moved_params, x, y, saturation=float(rng.uniform(0, 1)), train=train,
            state=state, momentum=momentum,
        ).norm_state  # fmt: skip
        vg.apply_mlp(moved, moved_params, x, train=train, state=state, momentum=momentum)


def test_a_new_registry_entry_compiles_each_program_once_more(monkeypatch):
    """A compiled program holds a branch per registry entry as it was: registering an entry
    makes a new program on the next call (with the entry among its branches), then none."""
    config = SMALL.replace(depth=2)
    params = vg.init_mlp(config, key=jax.random.key(0))
    x, y = _data(config)
    vg.probe(config, params, x, y)
    monkeypatch.setitem(vg.ACTIVATIONS, "softsign", None)
    vg.register_activation("softsign", jax.nn.soft_sign, max_derivative=1.0, formula="z/(1+|z|)")
    monkeypatch.setitem(vg.INITIALIZERS, "tiny", None)
    tiny = jax.nn.initializers.normal(0.01)
    vg.register_initializer("tiny", weight=tiny, bias=tiny, description="W ~ N(0, 0.01^2)")
    with count_compilations() as registered:
        vg.probe(config, params, x, y)
        vg.init_mlp(config, key=jax.random.key(0))
    assert registered.count == 2, registered  # the probe's program and the draw's
    softsign = config.replace(activation="softsign", initializer="tiny")
    with count_compilations() as chosen:
        tiny_params = vg.init_mlp(softsign, key=jax.random.key(0))
        result = vg.probe(softsign, tiny_params, x, y).trim()
        vg.probe(config, params, x, y)
    assert chosen.count == 0, chosen
    assert np.std(tiny_params.w_hidden) < 0.05
    np.testing.assert_allclose(result.act_mean[0], np.mean(jax.nn.soft_sign(
        x @ np.asarray(tiny_params.w_first, np.float64) + np.asarray(tiny_params.b_hidden[0])
    )), rtol=1e-5)  # fmt: skip


def test_program_size_does_not_grow_with_depth():
    """Hidden layers run in one lax.scan: the traced program is the same size at any depth."""

    def equations(max_depth):
        config = vg.MLPConfig(n_in=4, depth=max_depth, width=8, n_out=2, norm="batch")
        shapes = [(4, 8), (max_depth - 1, 8, 8), (max_depth, 8), (8, 2), (2,), (max_depth,)]
        params = vg.MLPParams(*(np.zeros(s) for s in shapes), *[np.ones((max_depth, 8))] * 2)
        x, y = _data(config)
        params, x, traced, state = to_arrays(
            config.structure, params, x, config.traced, None
        )
        jaxpr = jax.make_jaxpr(_mlp._probe, static_argnums=0)(
            config.structure, params, x, y, traced, state, 0.05
        )
        return len(jaxpr.jaxpr.eqns), str(jaxpr)

    (n5, text5), (n100, _) = equations(5), equations(100)
    assert "scan" in text5
    assert n5 == n100


def test_init_scales_weights_and_biases_and_starts_the_other_parameters():
    config = SMALL.replace(activation="prelu")
    base = vg.init_mlp(config, key=jax.random.key(7))
    scaled = vg.init_mlp(
        config.replace(weight_scale=3.0, bias_scale=0.5, activation_param=0.7),
        key=jax.random.key(7),
    )
    np.testing.assert_allclose(scaled.w_hidden, 3.0 * np.asarray(base.w_hidden), rtol=1e-6)
    np.testing.assert_allclose(scaled.b_hidden, 0.5 * np.asarray(base.b_hidden), rtol=1e-6)
    np.testing.assert_allclose(base.slope, 0.25)  # PReLU's default initial slope (He et al.)
    np.testing.assert_allclose(scaled.slope, 0.7, rtol=1e-6)
    assert np.all(np.asarray(base.norm_scale) == 1) and np.all(np.asarray(base.norm_shift) == 0)
    zero = vg.init_mlp(config.replace(bias_scale=0.0), key=jax.random.key(7))
    assert np.all(np.asarray(zero.b_hidden) == 0) and np.all(np.asarray(zero.b_out) == 0)


def test_overflow_shows_as_inf_or_nan_not_an_exception():
    config = PADDED.replace(
        depth=20,
        activation="relu",
        initializer="normal",
        weight_scale=1e3,
        loss="squared_error",
        clip="global_norm",
    )
    params = vg.init_mlp(config, key=jax.random.key(0))
    x = np.ones((7, 4))
    result = vg.probe(config, params, x, np.zeros((7, 2))).trim()
    zs = ref.forward("relu", ref.unpadded(params, 20), x)[0]  # float64: overflows later
    first_beyond_float32 = next(l for l, z in enumerate(zs) if np.abs(z).max() > 3.4e38)
    assert int(result.overflow_layer) == first_beyond_float32
    assert not np.isfinite(result.loss)
    assert np.all(np.isnan(result.grad_b_norm))  # a NaN cost has no gradient, not a zero one
    assert np.all(np.isnan(result.clipped_grad_b_norm))  # and clipping does not hide it
    assert np.isnan(result.grad_global_norm) and np.isnan(result.clipped_global_norm)
    assert np.isfinite(result.act_std[0])
    assert not np.any(np.isfinite(result.act_std[first_beyond_float32:]))


def test_no_overflow_reports_minus_one():
    config = SMALL
    x, y = _data(config)
    result = vg.probe(config, vg.init_mlp(config, key=jax.random.key(0)), x, y)
    assert int(result.overflow_layer) == -1 and np.all(np.isfinite(result.grad_b_norm))


# Moved from tests/test_issue3_engine.py (issue 8: tests live beside what they test).


@pytest.mark.parametrize("name", sorted(vg.INITIALIZERS))
def test_gradients_match_finite_differences_for_every_initializer(name):
    """A float64 tanh network drawn by each initializer (orthogonal: non-square first and last
    matrices): the probe's per-layer norms against central differences of the cost. The probe
    does not read the initializer, so one compiled probe serves every draw."""
    config = ref.config64("tanh", initializer=name, weight_scale=1.0, loss="squared_error")
    params = vg.init_mlp(config, key=jax.random.key(4))
    x, y = ref.data(config, batch=9, seed=4)
    layers = ref.unpadded(params, config.depth)
    fd = ref.finite_difference_grads("tanh", config.loss, layers, x, y)
    result = vg.probe(config.replace(initializer="normal"), params, x, y).trim()
    assert result.grad_b_norm.shape == (config.depth,)
    assert np.all(np.isfinite(result.grad_b_norm)) and np.all(result.grad_b_norm > 0)
    fd_b, fd_w = [np.linalg.norm(b) for _, b in fd], [np.linalg.norm(w) for w, _ in fd]
    # N(0, 0.01^2) weights shrink the first layer's gradient to ~1e-8: there the differences'
    # own error, ~1e-11, sets the tolerance
    np.testing.assert_allclose(result.grad_b_norm, fd_b, rtol=1e-6, atol=1e-8 * max(fd_b))
    np.testing.assert_allclose(result.grad_w_norm, fd_w, rtol=1e-6, atol=1e-8 * max(fd_w))


def _cost(config, x, y):
    def cost(params):
        out = vg.apply_mlp(config, params, x).out
        return jnp.mean(vg.LOSSES[config.loss].fn(out, y))

    return cost


def test_prelu_slope_is_a_trained_parameter_and_leaky_relu_slope_is_not():
    """jax.grad through ``apply_mlp`` reaches PReLU's per-layer slopes (He et al. 2015); a
    gradient step on the slopes alone lowers the cost. Leaky ReLU's slope is a constant."""
    config = ref.config64("prelu", loss="squared_error", depth=4)
    params = vg.init_mlp(config, key=jax.random.key(9))
    x, y = ref.data(config, batch=16, seed=9)
    with x64_context("float64"):
        cost = _cost(config, jnp.asarray(x), jnp.asarray(y))
        grads = jax.grad(cost)(params)
        g = np.asarray(grads.slope)
        assert np.all(g[:4] != 0) and np.all(g[4:] == 0)  # hidden layers 1-4; padding inert
        result = vg.probe(config, params, x, y).trim()
        np.testing.assert_allclose(np.abs(g[:4]), result.grad_slope, rtol=1e-10)
        stepped = params._replace(slope=params.slope - 0.1 * grads.slope)
        assert float(cost(stepped)) < float(cost(params))
        leaky = config.replace(activation="leaky_relu")
        assert np.all(np.asarray(jax.grad(_cost(leaky, jnp.asarray(x), jnp.asarray(y)))(params).slope) == 0)  # fmt: skip


@pytest.mark.parametrize(
    "activation, changes",
    [
        ("prelu", {"norm": "batch", "clip": "value", "clip_threshold": 0.01}),
        ("tanh", {"norm": "layer", "residual_every": 2, "clip": "global_norm"}),
        ("relu", {"depth": 6}),  # every layer: no per-layer select at all
    ],
)
def test_a_specialized_probe_equals_the_traced_one(activation, changes):
    # The choices compiled into the program (constants the compiler folds) change nothing but
    # the rounding; the traced probe is the one checked against the references above.
    config = ref.config64(activation, activation_param=PARAMS.get(activation), **changes)
    params = vg.init_mlp(config, key=jax.random.key(8))
    x, y = _data(config, batch=9, seed=8)
    traced = vg.probe(config, params, x, y)
    fixed = vg.probe(config, params, x, y, specialize=True)
    scale = float(np.max(traced.grad_w_norm))
    for name in traced._fields:
        want, got = getattr(traced, name), getattr(fixed, name)
        for w, g in zip(jax.tree_util.tree_leaves(want), jax.tree_util.tree_leaves(got)):
            # (a bias's gradient under batch normalization is 0 up to rounding)
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-13 * scale, err_msg=name)
    with pytest.raises(TypeError, match="specialize must be True or False; got 1"):
        vg.probe(config, params, x, y, specialize=1)
