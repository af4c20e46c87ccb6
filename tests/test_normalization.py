"""Batch and layer normalization against NumPy, the running-statistics formula, and gradients
against an unrolled JAX network and float64 finite differences."""

import jax
import numpy as np
import pytest

import vgwidgets as vg

from . import _reference as ref


def _setup(norm, seed=0, batch=8):
    """A float64 network with non-trivial scale/shift and a non-trivial running state."""
    config = ref.config64("tanh", norm=norm, depth=4)
    params = vg.init_mlp(config, key=jax.random.key(seed))
    rng = np.random.default_rng(seed)
    params = params._replace(
        norm_scale=rng.uniform(0.5, 2.0, size=params.norm_scale.shape),
        norm_shift=rng.normal(size=params.norm_shift.shape) * 0.3,
    )
    state = vg.NormState(rng.normal(size=(6, 4)) * 0.5, rng.uniform(0.5, 3.0, size=(6, 4)))
    x, y = ref.data(config, batch=batch, seed=seed)
    return config, params, state, x, y


def _numpy(config, params, x, **options):
    d = config.depth
    return ref.forward(
        "tanh", ref.unpadded(params, d), x, norm=config.norm, **ref.extras(params, d), **options
    )


def test_batch_norm_in_training_uses_batch_statistics():
    config, params, state, x, _ = _setup("batch")
    out = vg.apply_mlp(config, params, x, train=True, state=state).trim()
    zs, us, acts, logits, _ = _numpy(config, params, x)
    zs = np.asarray(zs)
    np.testing.assert_allclose(out.z, zs, rtol=1e-12)
    np.testing.assert_allclose(out.u, us, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.a, acts, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.out, logits, rtol=1e-10)
    # undo gamma and beta: every unit has mean 0 and variance s^2/(s^2 + eps) ~ 1 over the batch
    scale, shift = np.asarray(params.norm_scale)[:4, None], np.asarray(params.norm_shift)[:4, None]
    standard = (out.u - shift) / scale
    np.testing.assert_allclose(standard.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard.var(axis=1), zs.var(axis=1) / (zs.var(axis=1) + 1e-5))
    assert np.all(np.abs(standard.std(axis=1) - 1) < 1e-3)


@pytest.mark.parametrize("momentum", [0.0, 0.1, 0.7, 1.0])
def test_running_statistics_follow_the_update_formula(momentum):
    config, params, state, x, _ = _setup("batch")
    out = vg.apply_mlp(config, params, x, train=True, state=state, momentum=momentum)
    zs = _numpy(config, params, x)[0]
    n = x.shape[0]
    for l, z in enumerate(zs):  # unbiased batch variance n/(n-1) s^2 (Ioffe & Szegedy, alg. 2)
        mean = (1 - momentum) * state.mean[l] + momentum * z.mean(axis=0)
        var = (1 - momentum) * state.var[l] + momentum * z.var(axis=0) * n / (n - 1)
        np.testing.assert_allclose(out.norm_state.mean[l], mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(out.norm_state.var[l], var, rtol=1e-12)
    # padded layers (depth 4 of max_depth 6) keep their statistics
    np.testing.assert_array_equal(out.norm_state.mean[4:], state.mean[4:])
    np.testing.assert_array_equal(out.norm_state.var[4:], state.var[4:])
    # and probe returns the same new state: nothing is kept anywhere else
    result = vg.probe(config, params, x, np.zeros((n, 2)), state=state, momentum=momentum)
    np.testing.assert_allclose(result.norm_state.mean, out.norm_state.mean, rtol=1e-12)


def test_batch_norm_in_evaluation_uses_the_running_statistics():
    config, params, state, x, _ = _setup("batch")
    out = vg.apply_mlp(config, params, x, train=False, state=state).trim()
    running = list(zip(np.asarray(state.mean), np.asarray(state.var)))
    _, us, _, logits, _ = _numpy(config, params, x, train=False, running=running)
    np.testing.assert_allclose(out.u, us, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.out, logits, rtol=1e-10)
    np.testing.assert_array_equal(out.norm_state.mean, np.asarray(state.mean)[:4])  # unchanged
    # each example's output no longer depends on the rest of the batch: one at a time agrees
    alone = vg.apply_mlp(config, params, x[:1], train=False, state=state)
    np.testing.assert_allclose(alone.out[0], out.out[0], rtol=1e-12)
    # and the default state is init_norm_state's: mean 0, variance 1
    default = vg.apply_mlp(config, params, x, train=False)
    fresh = vg.apply_mlp(config, params, x, train=False, state=vg.init_norm_state(config))
    np.testing.assert_array_equal(default.out, fresh.out)
    np.testing.assert_array_equal(vg.init_norm_state(config).var, np.ones((6, 4)))


def test_layer_norm_normalizes_each_example_over_its_units():
    config, params, state, x, _ = _setup("layer")
    out = vg.apply_mlp(config, params, x, state=state).trim()
    zs, us, _, logits, _ = _numpy(config, params, x)
    zs = np.asarray(zs)
    np.testing.assert_allclose(out.u, us, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.out, logits, rtol=1e-10)
    scale, shift = np.asarray(params.norm_scale)[:4, None], np.asarray(params.norm_shift)[:4, None]
    standard = (out.u - shift) / scale
    np.testing.assert_allclose(standard.mean(axis=2), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard.var(axis=2), zs.var(axis=2) / (zs.var(axis=2) + 1e-5))
    # no running statistics, no modes: training and evaluation agree, the state is unchanged
    np.testing.assert_array_equal(vg.apply_mlp(config, params, x, train=False).out, out.out)
    np.testing.assert_array_equal(out.norm_state.var, np.asarray(state.var)[:4])


@pytest.mark.parametrize(("norm", "train"), [("batch", True), ("batch", False), ("layer", True)])
def test_normalized_gradients_match_unrolled_and_finite_differences(norm, train):
    config, params, state, x, y = _setup(norm, seed=1)
    running = list(zip(np.asarray(state.mean), np.asarray(state.var)))
    result = vg.probe(config, params, x, y, train=train, state=state).trim()
    unrolled = ref.unrolled_grads(config, params, x, y, train=train, running=running)
    b_norms, w_norms = ref.norms(unrolled)
    np.testing.assert_allclose(result.grad_w_norm, w_norms, rtol=1e-10)
    np.testing.assert_allclose(result.grad_b_norm, b_norms, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(result.grad_scale_norm, np.linalg.norm(unrolled["scale"], axis=1), rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(result.grad_shift_norm, np.linalg.norm(unrolled["shift"], axis=1), rtol=1e-10)  # fmt: skip

    layers, extras = ref.unpadded(params, 4), ref.extras(params, 4)
    flat = [v for pair in layers for v in pair] + [np.stack(extras["scales"]), np.stack(extras["shifts"])]  # fmt: skip

    def cost(trial):
        pairs = list(zip(trial[0:10:2], trial[1:10:2]))
        return ref.mean_loss(
            "tanh", config.loss, pairs, x, y, norm=norm, scales=trial[10], shifts=trial[11],
            train=train, running=running,
        )  # fmt: skip

    fd = ref.finite_difference(cost, flat)
    np.testing.assert_allclose(result.grad_w_norm, [np.linalg.norm(w) for w in fd[0:8:2]], rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(result.grad_scale_norm, np.linalg.norm(fd[10], axis=1), rtol=1e-6)
    np.testing.assert_allclose(result.grad_shift_norm, np.linalg.norm(fd[11], axis=1), rtol=1e-6)
    if norm == "batch" and train:  # the mean subtraction cancels b_l: its gradient is 0
        assert np.all(result.grad_b_norm < 1e-10 * result.grad_shift_norm)
    else:
        np.testing.assert_allclose(result.grad_b_norm, [np.linalg.norm(b) for b in fd[1:8:2]], rtol=1e-6)  # fmt: skip


def test_norm_none_leaves_scale_and_shift_alone():
    config = ref.config64("tanh")
    params = vg.init_mlp(config, key=jax.random.key(0))
    x, y = ref.data(config)
    result = vg.probe(config, params, x, y)
    assert np.all(np.asarray(result.grad_scale_norm) == 0)
    assert np.all(np.asarray(result.grad_shift_norm) == 0)
    out = vg.apply_mlp(config, params, x)
    np.testing.assert_array_equal(out.u, out.z)
