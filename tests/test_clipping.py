"""Gradient clipping: the probe's clipped norms against optax's own clipping of the same gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import vgwidgets as vg
from vgwidgets.engine import count_compilations, x64_context

from . import _reference as ref


def _setup(activation="tanh", **changes):
    config = ref.config64(activation, **changes)
    params = vg.init_mlp(config, key=jax.random.key(6))
    x, y = ref.data(config, batch=16, seed=6)
    return config, params, x, y


def _optax(transform, tree):
    return transform.update(tree, transform.init(tree))[0]


def _global_norm(tree):
    return np.sqrt(sum(np.sum(np.square(v)) for v in jax.tree_util.tree_leaves(tree)))


@pytest.mark.parametrize("threshold", [0.01, 0.3, 100.0])
@pytest.mark.parametrize("mode", ["value", "global_norm"])
def test_clipped_norms_equal_optax_clipping_of_the_same_gradient(mode, threshold):
    """The oracle: optax.clip / optax.clip_by_global_norm on an unrolled network's gradient."""
    config, params, x, y = _setup("prelu", clip=mode, clip_threshold=threshold)
    result = vg.probe(config, params, x, y).trim()
    grads = ref.unrolled_grads(config, params, x, y)  # every parameter: w, b, slope, scale, shift
    transform = optax.clip(threshold) if mode == "value" else optax.clip_by_global_norm(threshold)
    with x64_context("float64"):
        clipped = jax.tree_util.tree_map(np.asarray, _optax(transform, grads))
    b_norms, w_norms = ref.norms(clipped)
    np.testing.assert_allclose(result.clipped_grad_b_norm, b_norms, rtol=1e-10)
    np.testing.assert_allclose(result.clipped_grad_w_norm, w_norms, rtol=1e-10)
    np.testing.assert_allclose(result.grad_global_norm, _global_norm(grads), rtol=1e-10)
    np.testing.assert_allclose(result.clipped_global_norm, _global_norm(clipped), rtol=1e-10)


def test_global_norm_clipping_rescales_every_layer_by_threshold_over_norm():
    """``g <- c/||g|| g`` when ``||g|| > c`` (Pascanu et al. 2013), else ``g`` unchanged."""
    config, params, x, y = _setup(clip="global_norm")
    norm = float(vg.probe(config, params, x, y).grad_global_norm)
    for c in (0.1 * norm, 0.9 * norm):
        r = vg.probe(config.replace(clip_threshold=c), params, x, y).trim()
        np.testing.assert_allclose(r.clipped_grad_b_norm, c / norm * r.grad_b_norm, rtol=1e-12)
        np.testing.assert_allclose(r.clipped_grad_w_norm, c / norm * r.grad_w_norm, rtol=1e-12)
        assert float(r.clipped_global_norm) == pytest.approx(c, rel=1e-12)
    r = vg.probe(config.replace(clip_threshold=1.1 * norm), params, x, y)
    np.testing.assert_array_equal(r.clipped_grad_b_norm, r.grad_b_norm)
    np.testing.assert_array_equal(r.clipped_grad_w_norm, r.grad_w_norm)


def test_value_clipping_bounds_every_entry():
    config, params, x, y = _setup(clip="value", clip_threshold=1e-3)
    r = vg.probe(config, params, x, y).trim()
    assert np.all(r.clipped_grad_b_norm <= np.sqrt(config.width) * 1e-3 * (1 + 1e-12))
    assert np.all(r.clipped_grad_b_norm <= r.grad_b_norm)
    huge = vg.probe(config.replace(clip_threshold=1e6), params, x, y)
    np.testing.assert_array_equal(huge.clipped_grad_b_norm, huge.grad_b_norm)


def test_no_clipping_reports_the_gradient_itself():
    config, params, x, y = _setup()
    r = vg.probe(config, params, x, y)
    np.testing.assert_array_equal(r.clipped_grad_b_norm, r.grad_b_norm)
    np.testing.assert_array_equal(r.clipped_grad_w_norm, r.grad_w_norm)
    np.testing.assert_array_equal(r.clipped_global_norm, r.grad_global_norm)


def test_moving_clip_mode_and_threshold_compiles_nothing_new():
    config, params, x, y = _setup()
    vg.probe(config, params, x, y)
    with count_compilations() as moving:
        for mode in vg.CLIP_MODES:
            for c in (1e-4, 0.5, 1e4):
                vg.probe(config.replace(clip=mode, clip_threshold=c), params, x, y)
    assert moving.count == 0, moving


def test_clip_gradients_is_optax_on_any_pytree():
    tree = {"w": jnp.array([[3.0, -4.0], [0.5, 0.0]]), "b": jnp.array([12.0])}
    np.testing.assert_array_equal(
        vg.clip_gradients(tree, mode="value", threshold=1.0)["w"],
        _optax(optax.clip(1.0), tree)["w"],
    )
    by_norm = vg.clip_gradients(tree, mode="global_norm", threshold=1.0)
    np.testing.assert_allclose(by_norm["b"], _optax(optax.clip_by_global_norm(1.0), tree)["b"])
    assert _global_norm(by_norm) == pytest.approx(1.0, rel=1e-6)
    assert vg.clip_gradients(tree, mode="none", threshold=1.0) is not None
    with pytest.raises(ValueError, match=r"mode must be one of 'none', 'value', 'global_norm'"):
        vg.clip_gradients(tree, mode="norm", threshold=1.0)
    with pytest.raises(ValueError, match=r"threshold must be a number > 0; got 0.0"):
        vg.clip_gradients(tree, mode="value", threshold=0.0)
