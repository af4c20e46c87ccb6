"""Nielsen's chain (eq. 122): the product of factors against jax.grad and a NumPy float64 chain."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vgwidgets as vg

from . import _reference as ref

ALL = sorted(vg.ACTIVATIONS)


def _numpy_chain(activation, w, b, x):
    z, a = [], float(x)
    for wj, bj in zip(w, b):
        z.append(wj * a + bj)
        a = ref.PHI[activation](np.float64(z[-1]))
    return np.array(z)


@pytest.mark.parametrize("activation", ALL)
@pytest.mark.parametrize("n", [1, 2, 7, 32, 33, 60])
def test_product_equals_autodiff_for_every_bias(activation, n):
    rng = np.random.default_rng(n)
    w, b = rng.normal(size=n), rng.normal(size=n)
    r = vg.chain(w, b, 0.3, activation=activation)
    assert r.z.shape == r.grad_b.shape == (n,) and r.factors.shape == (n - 1,)
    np.testing.assert_allclose(r.product, r.grad_b1, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(r.product_b, r.grad_b, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(
        r.product, r.first_derivative * np.prod(r.factors) * r.dcost_da, rtol=1e-5, atol=1e-30
    )


@pytest.mark.parametrize("activation", sorted(ref.PHI))
def test_forward_matches_a_float64_numpy_chain(activation):
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=6), rng.normal(size=6)
    r = vg.chain(w, b, -0.7, activation=activation)
    z = _numpy_chain(activation, w, b, -0.7)
    np.testing.assert_allclose(r.z, z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.factors, w[1:] * np.asarray(r.derivatives[1:]), rtol=1e-6)


def test_quadratic_cost_multiplies_by_a_minus_y():
    r = vg.chain([0.5, -1.2, 2.0], [0.1, 0.2, -0.3], 1.0, target=0.25)
    assert r.dcost_da == pytest.approx(r.a[-1] - 0.25, rel=1e-6)
    assert r.cost == pytest.approx(0.5 * (r.a[-1] - 0.25) ** 2, rel=1e-6)
    np.testing.assert_allclose(r.product, r.grad_b1, rtol=1e-5)


def test_nielsen_exploding_example_gives_factors_of_25():
    w = np.full(4, 100.0)
    r = vg.chain(w, vg.centred_biases(w, 0.5), 0.5)
    np.testing.assert_allclose(r.z, 0.0, atol=1e-5)
    np.testing.assert_allclose(r.factors, 25.0, rtol=1e-6)
    assert r.grad_b1 == pytest.approx(0.25 * 25.0**3, rel=1e-6)


@pytest.mark.parametrize("activation", ALL)
def test_centred_biases_put_every_z_at_zero(activation):
    w = np.random.default_rng(0).normal(size=9) * 3
    np.testing.assert_allclose(
        vg.chain(w, vg.centred_biases(w, 1.7, activation=activation), 1.7, activation=activation).z,
        0.0,
        atol=1e-5,
    )


# 40 examples: the bound |w sigma'(z)| <= |w|/4 is one inequality per factor, and each example
# holds up to 11 factors (z from 0 to saturation), so 40 examples check hundreds; chains of up
# to 32 layers share one compilation, so each example costs about a millisecond.
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=2, max_size=12),
    st.floats(-3, 3),
    st.floats(-2, 2),
)
def test_each_sigmoid_factor_is_at_most_a_quarter_of_its_weight(w, b, x):
    r = vg.chain(w, np.full(len(w), b), x)
    assert np.all(np.abs(r.factors) <= np.abs(w[1:]) / 4 * (1 + 1e-6))
    assert np.all(r.derivatives <= 0.25 + 1e-7)


def test_chains_up_to_32_layers_share_one_compilation():
    from vgwidgets.engine import count_compilations

    vg.chain([1.0], [0.0], 0.1)
    with count_compilations() as chains:
        for n in range(1, 33):
            vg.chain(np.ones(n), np.zeros(n), 0.1)
    assert chains.count == 0, chains
