"""The activations themselves: NumPy formulas, closed-form bounds, shapes and finite values far
out, the lifted sigmoid's backward (in the probe too)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import count_compilations
from vgwidgets.engine._compat import x64_context

from . import _reference as ref

Z = np.linspace(-6.0, 6.0, 241) + 0.0125  # no point on a kink


@pytest.mark.parametrize("name", sorted(vg.ACTIVATIONS))
def test_activations_match_their_numpy_formulas(name):
    act = vg.ACTIVATIONS[name]
    params = [None] if act.param is None else [act.param.low, act.param.default, act.param.high]
    for p in params:
        fn = act.fn if p is None else act.at(p)
        q = ref.DEFAULT_PARAM.get(name, 0.0) if p is None else p
        with x64_context("float64"):
            z = jnp.asarray(Z, jnp.float64)
            np.testing.assert_allclose(fn(z), ref.PHI_P[name](Z, q), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(
                vg.derivative(fn, z), ref.DPHI_P[name](Z, q), rtol=1e-12, atol=1e-15
            )


def test_closed_form_bounds():
    selu, gelu = vg.ACTIVATIONS["selu"], vg.ACTIVATIONS["gelu"]
    assert selu.max_derivative == pytest.approx(1.0507009873554805 * 1.6732632423543772)
    assert selu.max_derivative == pytest.approx(1.7581, abs=1e-4)
    # GELU's slope Phi(z) + z N(z) peaks at z = sqrt(2): Phi(sqrt 2) + sqrt(2) N(sqrt 2)
    phi = 0.5 * (1 + math.erf(1.0))
    assert gelu.max_derivative == pytest.approx(phi + math.sqrt(2) * math.exp(-1) / math.sqrt(2 * math.pi))  # fmt: skip
    assert gelu.max_derivative == pytest.approx(1.1289, abs=1e-4)
    lifted = vg.ACTIVATIONS["lifted_sigmoid"]
    assert float(lifted.max_derivative_at(0.3)) == pytest.approx(0.55)
    assert float(vg.ACTIVATIONS["elu"].max_derivative_at(2.5)) == 2.5
    assert float(vg.ACTIVATIONS["leaky_relu"].max_derivative_at(0.3)) == 1.0


def test_gelu_is_the_exact_one_not_the_tanh_approximation():
    z = jnp.linspace(-4.0, 4.0, 81)
    exact = jax.nn.gelu(z, approximate=False)
    np.testing.assert_array_equal(vg.ACTIVATIONS["gelu"].fn(z), exact)
    assert not np.allclose(vg.ACTIVATIONS["gelu"].fn(z), jax.nn.gelu(z, approximate=True), atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.37, 1.0])
def test_lifted_sigmoid_backward_is_sigma_prime_plus_eps_exactly(eps):
    act = vg.ACTIVATIONS["lifted_sigmoid"]
    z = jnp.linspace(-30.0, 30.0, 601)
    s = jax.nn.sigmoid(z)
    expected = s * (1 - s) + jnp.float32(eps)
    np.testing.assert_array_equal(act.at(eps)(z), s)  # the forward pass is the sigmoid
    np.testing.assert_array_equal(vg.derivative(act.at(eps), z), expected)
    grad = jax.vmap(jax.grad(lambda u: act.at(eps)(u)))(z)
    np.testing.assert_array_equal(grad, expected)
    # eps traced and compiled: the same as the compiled formula (XLA may fuse a * b + c into
    # one rounding, so compiled and eager results can differ in the last bit)
    traced = jax.jit(lambda z, e: vg.derivative(act.at(e), z))
    formula = jax.jit(lambda z, e: jax.nn.sigmoid(z) * (1 - jax.nn.sigmoid(z)) + e)
    np.testing.assert_array_equal(traced(z, eps), formula(z, eps))
    np.testing.assert_allclose(traced(z, eps), expected, rtol=2e-7)
    # in saturation, the sigmoid's slope vanishes; the lifted one stays at eps
    assert float(vg.derivative(act.at(eps), jnp.asarray(30.0))) == float(np.float32(eps))


def test_lifted_sigmoid_eps_gets_no_gradient_and_second_derivatives_work():
    z = jnp.linspace(-3.0, 3.0, 7)
    assert float(jax.grad(lambda e: vg.lifted_sigmoid(z, e).sum())(0.2)) == 0.0
    # what _meanfield needs: phi'' through the custom backward (d/dz (sigma' + eps) = sigma'')
    fn = vg.ACTIVATIONS["lifted_sigmoid"].fn
    second = vg.derivative(lambda u: vg.derivative(fn, u), z)
    expected = vg.derivative(lambda u: vg.derivative(jax.nn.sigmoid, u), z)
    np.testing.assert_allclose(second, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(vg.ACTIVATIONS))
def test_second_derivatives_exist_for_every_activation(name):
    """``_meanfield`` differentiates ``derivative`` again; it must be finite everywhere."""
    fn = vg.ACTIVATIONS[name].fn
    z = jnp.asarray(Z)
    second = vg.derivative(lambda u: vg.derivative(fn, u), z)
    assert second.shape == z.shape and np.all(np.isfinite(second))


FAR = np.concatenate([-np.logspace(-8, 4, 25)[::-1], [0.0], np.logspace(-8, 4, 25)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(vg.ACTIVATIONS))
def test_every_activation_keeps_shape_and_stays_finite_far_out(name, dtype):
    """|z| up to 1e4 (every float32 sigmoid and tanh saturates there), any shape, every
    parameter; the slope back-propagation uses is finite and within the registered bound."""
    act = vg.ACTIVATIONS[name]
    params = [None] if act.param is None else [act.param.low, act.param.default, act.param.high]
    with x64_context(dtype):
        z = jnp.asarray(np.resize(FAR, (3, 2, len(FAR))), dtype)
        for p in params:
            fn = act.fn if p is None else act.at(p)
            value, slope = fn(z), vg.derivative(fn, z)
            assert value.shape == slope.shape == z.shape
            assert value.dtype == slope.dtype == z.dtype
            assert np.all(np.isfinite(value)) and np.all(np.isfinite(slope)), p
            bound = act.max_derivative if p is None else float(act.max_derivative_at(p))
            assert np.all(np.abs(np.asarray(slope)) <= bound * (1 + 1e-6)), p
            np.testing.assert_array_equal(jax.jit(fn)(z), jax.jit(fn)(z))  # deterministic


def test_lifted_sigmoid_eps_reaches_the_probe_and_compiles_nothing_new():
    """The probe's gradient uses sigma'(z) + eps with eps traced: the float64 NumPy backprop
    with the lifted slope agrees at every eps, the loss (forward pass) does not move, and no
    eps value compiles anything."""
    config = ref.config64("lifted_sigmoid", loss="squared_error", activation_param=0.0)
    params = vg.init_mlp(config, key=jax.random.key(8))
    x, y = ref.data(config, batch=9, seed=8)
    layers = ref.unpadded(params, config.depth)
    vg.probe(config, params, x, y)
    configs = [config.replace(activation_param=eps) for eps in (0.0, 0.05, 0.4, 1.0)]
    with count_compilations() as compiled:
        results = [vg.probe(c, params, x, y).trim() for c in configs]
    assert compiled.count == 0, compiled.names
    for c, r in zip(configs, results):
        expected = ref.backprop("lifted_sigmoid", c.loss, layers, x, y, param=c.activation_param)
        np.testing.assert_allclose(r.grad_b_norm, [np.linalg.norm(b) for _, b in expected], rtol=1e-10)  # fmt: skip
    assert len({float(r.loss) for r in results}) == 1  # the forward pass is the sigmoid at every eps
    assert np.all(np.diff([r.grad_b_norm[0] for r in results]) > 0)  # the lift grows layer 1's
    # the bare custom_vjp under jit: one compilation for every eps
    grad = jax.jit(jax.vmap(jax.grad(vg.lifted_sigmoid), in_axes=(0, None)))
    z = jnp.linspace(-8.0, 8.0, 17)
    s = jax.nn.sigmoid(z)
    grad(z, 0.5)
    with count_compilations() as compiled:
        slopes = [grad(z, eps) for eps in (0.0, 0.2, 0.9)]
    assert compiled.count == 0, compiled.names
    for eps, slope in zip((0.0, 0.2, 0.9), slopes):
        np.testing.assert_allclose(slope, s * (1 - s) + eps, rtol=1e-6)
