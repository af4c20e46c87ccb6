"""The training loop against a hand-written optax loop, hand-computed records and constructed
networks (dead units, divergence); its errors before tracing; what compiles."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import vgwidgets as vg
from vgwidgets.engine import (
    MLPConfig,
    TrainConfig,
    TrainData,
    count_compilations,
    init_mlp,
    train,
    train_chunks,
)
from vgwidgets.experiments import digits_split

BATCH = 16
SMALL = MLPConfig(depth=2, width=8, activation="sigmoid", loss="softmax_cross_entropy")
RELU = MLPConfig(depth=2, width=8, activation="relu", initializer="he_normal",
                 loss="softmax_cross_entropy")  # fmt: skip


@pytest.fixture(scope="module")
def data():
    """A small fixed split (fewer examples: cheaper records, same code)."""
    s = digits_split()
    return TrainData(s.x_train[:200], s.labels_train[:200], s.x_test[:50], s.labels_test[:50])


def _hand_cost(p, x, labels):
    """The 2-hidden-layer sigmoid network written out, softmax cross-entropy, batch mean."""
    a = jax.nn.sigmoid(x @ p["w1"] + p["b1"])
    a = jax.nn.sigmoid(a @ p["w2"] + p["b2"])
    logits = a @ p["wo"] + p["bo"]
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def _hand_params(params):
    return {
        "w1": params.w_first, "b1": params.b_hidden[0], "w2": params.w_hidden[0],
        "b2": params.b_hidden[1], "wo": params.w_out, "bo": params.b_out,
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind, optimizer, clip",
    [
        ("adam", optax.adam(0.01), "none"),
        ("momentum", optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(0.5, momentum=0.8)),
         "global_norm"),
    ],
)  # fmt: skip
def test_training_matches_a_handwritten_optax_loop_step_for_step(data, kind, optimizer, clip):
    config = SMALL.replace(clip=clip, clip_threshold=0.5)
    tc = TrainConfig(optimizer=kind, learning_rate=0.01 if kind == "adam" else 0.5,
                     momentum=0.8, steps=6, record_every=1, batch_size=BATCH)  # fmt: skip
    key = jax.random.key(3)
    result = train(config, tc, data, key=key).trim()

    # The documented schedule: the parameters from fold_in(key, 0), batches from fold_in(key, 1).
    x_all, labels_all = jnp.asarray(data.x_train), jnp.asarray(data.labels_train, jnp.int32)
    cost_fn = jax.jit(_hand_cost)
    for s, p, loss, g, updates in _hand_steps(data, config, optimizer, key, tc.steps):
        # the record at step s: theta_s on the training set, and step s + 1 on its batch
        np.testing.assert_allclose(result.train_loss[s], cost_fn(p, x_all, labels_all),
                                   rtol=1e-5)  # fmt: skip
        np.testing.assert_allclose(result.batch_loss[s], loss, rtol=1e-5)
        np.testing.assert_allclose(
            result.grad_w_norm[s], [np.linalg.norm(g["w1"]), np.linalg.norm(g["w2"])], rtol=1e-5
        )
        np.testing.assert_allclose(
            result.grad_b_norm[s], [np.linalg.norm(g["b1"]), np.linalg.norm(g["b2"])], rtol=1e-5
        )
        ratio = [np.linalg.norm(updates[w]) / np.linalg.norm(p[w]) for w in ("w1", "w2")]
        np.testing.assert_allclose(result.update_ratio[s], ratio, rtol=1e-4)
    for name, value in _hand_params(result.params).items():
        np.testing.assert_allclose(value, p[name], atol=1e-6)
    assert result.first_nonfinite == -1
    assert result.step.tolist() == list(range(7))


def _hand_steps(data, config, optimizer, key, steps):
    """The documented schedule by hand: the parameters from ``fold_in(key, 0)``, batches from
    ``fold_in(key, 1)``. Yields ``(s, theta_s, batch cost, gradient, update)`` for
    ``s = 0..steps`` (the update at ``s = steps`` is computed, not taken)."""
    p = _hand_params(init_mlp(config, key=jax.random.fold_in(key, 0)))
    state, data_key = optimizer.init(p), jax.random.fold_in(key, 1)
    n, per_epoch = data.x_train.shape[0], data.x_train.shape[0] // BATCH
    x_all, labels_all = jnp.asarray(data.x_train), jnp.asarray(data.labels_train, jnp.int32)
    grad_fn, update_fn = jax.jit(jax.value_and_grad(_hand_cost)), jax.jit(optimizer.update)
    for s in range(steps + 1):
        perm = jax.random.permutation(jax.random.fold_in(data_key, s // per_epoch), n)
        idx = perm[(s % per_epoch) * BATCH : (s % per_epoch + 1) * BATCH]
        loss, g = grad_fn(p, x_all[idx], labels_all[idx])
        updates, new_state = update_fn(g, state, p)
        yield s, p, loss, g, updates
        p, state = optax.apply_updates(p, updates), new_state


@pytest.mark.parametrize("specialize", [False, True])
def test_the_steps_between_records_match_the_handwritten_loop(data, specialize):
    # record_every > 1: steps 2..k run in the lax loop, traced or specialized
    config = SMALL.replace(clip="global_norm", clip_threshold=0.5)
    optimizer = optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(0.5, momentum=0.8))
    tc = TrainConfig(optimizer="momentum", learning_rate=0.5, momentum=0.8, steps=8,
                     record_every=4, batch_size=BATCH)  # fmt: skip
    key = jax.random.key(4)
    result = train(config, tc, data, key=key, specialize=specialize).trim()
    hand = {s: (p, loss) for s, p, loss, _, _ in _hand_steps(data, config, optimizer, key, 8)}
    for r, s in enumerate(result.step):
        np.testing.assert_allclose(result.batch_loss[r], hand[s][1], rtol=1e-5)
    for name, value in _hand_params(result.params).items():
        np.testing.assert_allclose(value, hand[8][0][name], atol=1e-6)


@pytest.mark.parametrize(
    "changes",
    [
        {"activation": "tanh", "norm": "layer", "residual_every": 1, "clip": "value",
         "clip_threshold": 0.05},
        {"activation": "prelu", "norm": "batch", "depth": 2, "max_depth": 3},
    ],
)  # fmt: skip
def test_specialized_steps_equal_the_traced_ones(data, changes):
    # normalizations, skips, a learned activation parameter and layers past depth: the
    # choices folded into the program change nothing but the rounding
    config = RELU.replace(**changes)
    tc = TrainConfig(optimizer="momentum", learning_rate=0.1, steps=10, record_every=5,
                     batch_size=BATCH)  # fmt: skip
    traced = train(config, tc, data, key=jax.random.key(2))
    fixed = train(config, tc, data, key=jax.random.key(2), specialize=True)
    for a, b in zip(traced.params, fixed.params):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fixed.train_loss, traced.train_loss, rtol=1e-5)
    with count_compilations() as again:  # numbers stay traced when specialized
        train(config, tc.replace(learning_rate=0.05, steps=20), data, key=jax.random.key(3),
              specialize=True)  # fmt: skip
    assert again.count == 0, again.names


def test_activation_records_and_histograms_match_the_forward_pass(data):
    tc = TrainConfig(steps=4, record_every=2, batch_size=BATCH, act_range=1.0)
    key = jax.random.key(1)
    result = train(SMALL, tc, data, key=key).trim()
    # Every value counted once: batch x width activations, fan_in x width weight gradients.
    np.testing.assert_array_equal(result.act_hist.sum(-1), BATCH * SMALL.width)
    np.testing.assert_array_equal(result.grad_hist.sum(-1)[:, 0], SMALL.n_in * SMALL.width)
    np.testing.assert_array_equal(result.grad_hist.sum(-1)[:, 1], SMALL.width**2)
    # The record at step 0: the first batch through the initial network, by hand.
    params = init_mlp(SMALL, key=jax.random.fold_in(key, 0))
    perm = jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 1), 0), 200)
    x = data.x_train[np.asarray(perm[:BATCH])]
    a1 = jax.nn.sigmoid(x @ params.w_first + params.b_hidden[0])
    a2 = jax.nn.sigmoid(a1 @ params.w_hidden[0] + params.b_hidden[1])
    for layer, a in enumerate((a1, a2)):
        a = np.asarray(a)
        np.testing.assert_allclose(result.act_mean[0, layer], a.mean(), rtol=1e-5)
        np.testing.assert_allclose(result.act_std[0, layer], a.std(), rtol=1e-4)
        counts, _ = np.histogram(a, bins=tc.bins, range=(-1.0, 1.0))
        np.testing.assert_array_equal(result.act_hist[0, layer], counts)
        # sigma'(u) = a(1 - a) <= 0.06 * 1/4: within ~0.0153 of 0 or 1
        saturated = np.mean(a * (1 - a) <= tc.saturation * 0.25)
        np.testing.assert_allclose(result.saturated_frac[0, layer], saturated, atol=1e-6)
    np.testing.assert_allclose(result.act_edges, np.linspace(-1, 1, tc.bins + 1))


def test_dead_fraction_counts_constructed_dead_units(data):
    params = init_mlp(RELU, key=jax.random.key(0))
    # Units 0..2 of layer 1 get a pre-activation below 0 on every input (inputs are in [0, 1]);
    # the others a large positive bias, so that none of them dies by chance.
    b = np.asarray(params.b_hidden).copy()
    b[0] = [-100.0] * 3 + [100.0] * 5
    params = params._replace(b_hidden=b)
    tc = TrainConfig(optimizer="sgd", learning_rate=1e-4, steps=4, record_every=2,
                     batch_size=BATCH)  # fmt: skip
    result = train(RELU, tc, data, key=jax.random.key(0), params=params).trim()
    np.testing.assert_array_equal(result.dead_frac[:, 0], 3 / 8)
    # A dead unit's weights are untouched (zero gradient) and not small: death is not size.
    w = np.asarray(result.params.w_first)[:, :3]
    np.testing.assert_array_equal(w, np.asarray(params.w_first)[:, :3])
    assert np.linalg.norm(w) > 0.5


def test_divergence_is_a_result_with_its_first_step(data):
    tc = TrainConfig(optimizer="sgd", learning_rate=1e4, steps=4, record_every=2,
                     batch_size=BATCH)  # fmt: skip
    big = RELU.replace(weight_scale=1e6)
    result = train(big, tc, data, key=jax.random.key(0)).trim()
    assert 1 <= int(result.first_nonfinite) <= 4
    assert not np.isfinite(result.train_loss[-1])
    # Clipping by global norm keeps the same run finite.
    clipped = train(big.replace(clip="global_norm", clip_threshold=1e-3), tc, data,
                    key=jax.random.key(0)).trim()  # fmt: skip
    assert int(clipped.first_nonfinite) == -1 and np.all(np.isfinite(clipped.train_loss))


def test_no_clipping_passes_finite_gradients_whose_norm_overflows():
    # optax.clip_by_global_norm(inf) makes g / inf * inf = NaN once ||g|| overflows float32
    # (an element past ~1.8e19); the traced optimizer always holds that clip, so "no clipping"
    # must pass such a finite gradient through, and a finite threshold must stay optax's.
    g = {"w": jnp.array([3e19, -1.0, 2.0], jnp.float32)}
    zeros = jax.tree_util.tree_map(jnp.zeros_like, g)
    opt = vg.engine.make_optimizer("sgd", learning_rate=1.0)
    updates, _ = opt.update(g, opt.init(zeros), zeros)
    np.testing.assert_array_equal(updates["w"], -g["w"])
    for norm in (1.0, 1e30):
        ours = vg.engine.make_optimizer("sgd", learning_rate=1.0, clip_norm=norm)
        theirs = optax.chain(optax.clip_by_global_norm(norm), optax.sgd(1.0))
        np.testing.assert_array_equal(
            ours.update(g, ours.init(zeros), zeros)[0]["w"],
            theirs.update(g, theirs.init(zeros), zeros)[0]["w"],
        )


@pytest.mark.parametrize(
    "optimizer, lr, clip, value",
    [
        # the update overflows the parameters while the loss is still finite: the specialized
        # steps check only the loss, and must find the step by running the chunk again
        ("sgd", 1e4, "none", 1e33),
        ("momentum", 1e4, "value", 1e33),
        # the loss itself overflows
        ("adam", 1e-2, "global_norm", 3.4e38),
    ],
)
def test_a_divergence_between_records_has_the_same_step_specialized(
    data, monkeypatch, optimizer, lr, clip, value
):
    x = np.array(data.x_train)
    x[56] = value  # one huge example; key 0 draws it at step 3, inside the first chunk
    huge = TrainData(x, *data[1:])
    config = RELU.replace(clip=clip, clip_threshold=1e37 if clip == "value" else 1.0)
    tc = TrainConfig(optimizer=optimizer, learning_rate=lr, steps=8, record_every=8,
                     batch_size=BATCH)  # fmt: skip
    traced = train(config, tc, huge, key=jax.random.key(0))
    fixed = train(config, tc, huge, key=jax.random.key(0), specialize=True)
    assert int(traced.first_nonfinite) == int(fixed.first_nonfinite) == 3
    if value < 1e38:  # without the second run, the loss of the next step would be named
        monkeypatch.setattr(
            vg.engine._train, "_advance_checked",
            lambda *args: vg.engine._train._advance_fixed(*args, exact=False)[0],
        )  # fmt: skip
        assert int(train(config, tc, huge, key=jax.random.key(0), specialize=True)
                   .first_nonfinite) == 4  # fmt: skip


def test_numbers_and_lengths_compile_nothing_new(data):
    tc = TrainConfig(steps=4, record_every=2, batch_size=BATCH)
    train(SMALL, tc, data, key=jax.random.key(0))
    with count_compilations() as again:
        for changes in ({"learning_rate": 0.5}, {"steps": 9, "record_every": 3},
                        {"momentum": 0.5, "saturation": 0.2, "act_range": 2.0}):  # fmt: skip
            train(SMALL.replace(clip="value", depth=1), tc.replace(**changes), data,
                  key=jax.random.key(5))  # fmt: skip
    assert again.count == 0, again.names


def test_same_key_same_run_and_chunks_add_up_to_the_run(data):
    tc = TrainConfig(steps=6, record_every=2, batch_size=BATCH)
    first = train(SMALL, tc, data, key=jax.random.key(7))
    second = train(SMALL, tc, data, key=jax.random.key(7))
    np.testing.assert_array_equal(first.grad_w_norm, second.grad_w_norm)
    chunks = list(train_chunks(SMALL, tc, data, key=jax.random.key(7), chunk_seconds=0))
    assert len(chunks) == 4
    counts = [int(c.recorded.sum()) for c in chunks]
    assert counts == sorted(counts) and counts[-1] == 4
    np.testing.assert_array_equal(chunks[-1].grad_w_norm, first.grad_w_norm)
    np.testing.assert_array_equal(chunks[0].trim().step, first.step[: counts[0]])


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"steps": 0}, "steps must be an integer in"),
        ({"steps": 2.5}, "steps must be an integer"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite"),
        ({"learning_rate": 0.0}, "learning_rate must be a number > 0"),
        ({"learning_rate": "fast"}, "learning_rate must be a finite"),
        ({"steps": 10, "record_every": 3}, "steps must be a multiple of record_every=3"),
        ({"record_every": 0}, "record_every must be an integer"),
        ({"bins": 1}, "bins must be an integer in"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"saturation": -0.1}, "saturation must be a number in"),
        ({"grad_range": (0.0, -1.0)}, "grad_range must have low < high"),
    ],
)
def test_bad_settings_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**changes)


def test_bad_data_is_named_before_tracing(data):
    tc = TrainConfig(steps=2, record_every=1, batch_size=BATCH)
    x, labels, xt, lt = data
    bad = [
        (data._replace(labels_train=labels + 5), ValueError, "labels_train must be class labels"),
        (data._replace(x_train=x[:, :10]), ValueError, r"x_train must have shape \(n >= 1, n_in"),
        (data._replace(labels_test=lt.astype(float)), ValueError, "integer class labels"),
        (data._replace(labels_train=labels[:5]), ValueError, "one label per row"),
        ((x, labels), TypeError, "data must be a TrainData"),
        (data._replace(x_train=x[:10], labels_train=labels[:10]), ValueError, "batch_size"),
    ]
    key = jax.random.key(0)  # made outside the count: a first key compiles the seeding
    with count_compilations() as compiled:
        for value, error, match in bad:
            with pytest.raises(error, match=match):
                train(SMALL, tc, value, key=key)
        with pytest.raises(TypeError, match="key must be one JAX PRNG key"):
            train(SMALL, tc, data, key=0)
        with pytest.raises(TypeError, match="train_config must be a TrainConfig"):
            train(SMALL, {"steps": 2}, data, key=key)
    assert compiled.count == 0


def test_training_names_are_public():
    assert vg.train is train and vg.TrainConfig is TrainConfig
    assert vg.digits_split is digits_split


def test_specialize_must_be_a_bool(data):
    tc = TrainConfig(steps=2, record_every=1, batch_size=BATCH)
    with pytest.raises(TypeError, match="specialize must be True or False; got 'yes'"):
        train(SMALL, tc, data, key=jax.random.key(0), specialize="yes")


def test_the_steps_programs_leave_ynnpack_out_where_the_cpu_would_use_it(monkeypatch):
    # _compat.small_matrix_jit: the steps' programs compile without YNNPACK's fusions (Eigen's
    # products); that they train as optax does is the handwritten-loop tests' business
    from vgwidgets.engine import _compat

    x = jnp.ones((128, 128))
    default = jax.jit(jnp.matmul).lower(x, x).compile().as_text()
    if "ynn_fusion" not in default:
        pytest.skip(f"this XLA ({jax.__version__}, {jax.default_backend()}) uses no YNNPACK")
    ours = _compat.small_matrix_jit(jnp.matmul).lower(x, x).compile().as_text()
    assert "ynn_fusion" not in ours
    np.testing.assert_allclose(_compat.small_matrix_jit(jnp.matmul)(x, x), x @ x)
    # a user's own choice in XLA_FLAGS stands
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=individual_dot")
    _compat.small_matrix_options.cache_clear()
    try:
        assert _compat.small_matrix_options() == {}
    finally:
        monkeypatch.undo()
        _compat.small_matrix_options.cache_clear()
    assert _compat.small_matrix_options() == _compat._SMALL_MATRIX_OPTIONS
