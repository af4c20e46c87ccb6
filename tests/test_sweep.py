"""The phase-diagram sweep and the depth scales against oracles: closed forms (ReLU, tanh at
sb^2 = 0), ``mean_field``, a dense trapezoid rule for the correlation map, ``jax.grad`` for the
written-out backward pass, ln chi1 for the measured rates, and the single-device run for the
sharded one."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import (
    SweepConfig,
    count_compilations,
    depth_scales,
    mean_field,
    memory_estimate,
    sweep,
)
from vgwidgets.engine._sweep import _network
from vgwidgets.engine._switch import activation_choice

# ------------------------------------------------------------------------------------------------
# Theory


def test_relu_depth_scales_are_all_minus_one_over_ln_half_sw2():
    # F(q) = sw^2 q/2 + sb^2: chi_q = sw^2/2 = chi1; ordered for sw^2 < 2, so c* = 1, chi_c = chi1
    weight_var = np.array([0.5, 1.0, 1.5, 1.9])
    d = depth_scales("relu", weight_var, 0.1)
    expected = -1 / np.log(weight_var / 2)
    for field in (d.xi_q, d.xi_c, d.xi_grad):
        np.testing.assert_allclose(field, expected, rtol=1e-10)
    np.testing.assert_array_equal(d.c_star, 1.0)
    np.testing.assert_allclose(d.chi_q, weight_var / 2, rtol=1e-12)


def test_tanh_without_bias_closed_forms():
    # sw^2 <= 1: q* = 0, chi_q = chi1 = sw^2 (tanh'(0) = 1, tanh(0) tanh''(0) = 0), c* = 1.
    # sw^2 > 1: tanh is odd, so C(0) = 0: c* = 0, where chi_c = sw^2 E[tanh'(sqrt(q*) z)]^2.
    d = depth_scales("tanh", [0.5, 0.9, 1.5, 3.0], 0.0)
    np.testing.assert_allclose(d.chi_q[:2], [0.5, 0.9], rtol=1e-12)
    np.testing.assert_allclose(d.xi_c[:2], -1 / np.log([0.5, 0.9]), rtol=1e-12)
    np.testing.assert_array_equal(d.c_star[:2], 1.0)
    np.testing.assert_allclose(d.c_star[2:], 0.0, atol=1e-13)
    z = np.linspace(-10, 10, 200_001)
    pdf = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
    for i, weight_var in ((2, 1.5), (3, 3.0)):
        f = (1 - np.tanh(np.sqrt(d.q_star[i]) * z) ** 2) * pdf
        mean_slope = np.sum((f[1:] + f[:-1]) / 2) * (z[1] - z[0])  # trapezoid rule
        assert d.chi_c[i] == pytest.approx(weight_var * mean_slope**2, rel=1e-9)
        assert d.xi_c[i] == pytest.approx(-1 / np.log(d.chi_c[i]), rel=1e-12)


def test_depth_scales_agree_with_mean_field():
    weight_var, bias_var = np.meshgrid([0.5, 1.2, 2.0, 3.5], [0.0, 0.05, 0.4])
    d, mf = depth_scales("tanh", weight_var, bias_var), mean_field("tanh", weight_var, bias_var)
    np.testing.assert_array_equal(d.q_star, mf.q_star)
    np.testing.assert_array_equal(d.chi1, mf.chi1)
    np.testing.assert_array_equal(d.xi_grad, mf.depth_scale)
    # ordered: xi_c = xi_grad; chaotic: c* < 1 and chi_c < 1 (c* attracts), xi_c > 0
    ordered = mf.chi1 <= 1
    np.testing.assert_allclose(d.xi_c[ordered], d.xi_grad[ordered], rtol=1e-12)
    assert np.all(d.c_star[~ordered] < 1) and np.all(d.chi_c[~ordered] < 1)


def test_chaotic_c_star_is_a_fixed_point_of_a_dense_correlation_map():
    weight_var, bias_var = 2.5, 0.05
    d = depth_scales("tanh", weight_var, bias_var)
    q, c = float(d.q_star), float(d.c_star)
    z = np.linspace(-9, 9, 1801)
    pdf = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    u1, u2 = np.sqrt(q) * z1, np.sqrt(q) * (c * z1 + np.sqrt(1 - c**2) * z2)
    weights = np.outer(pdf, pdf) * (z[1] - z[0]) ** 2
    mapped = (weight_var * np.sum(weights * np.tanh(u1) * np.tanh(u2)) + bias_var) / q
    assert 0 < c < 1 and mapped == pytest.approx(c, abs=1e-7)
    slope = weight_var * np.sum(weights * (1 - np.tanh(u1) ** 2) * (1 - np.tanh(u2) ** 2))
    assert float(d.chi_c) == pytest.approx(slope, rel=1e-6)


# ------------------------------------------------------------------------------------------------
# Measured networks


def test_written_out_backward_pass_equals_jax_grad():
    width, depth, examples = 6, 4, 4
    keys = jax.random.split(jax.random.key(3), 4)
    w = jax.random.normal(keys[0], (depth, width, width)) / np.sqrt(width)
    b = jax.random.normal(keys[1], (depth, width))
    x = jax.random.normal(keys[2], (examples, width))
    v = jax.random.normal(keys[3], (examples, width))
    sw, sb = 1.3, 0.4
    *_, log_grad, _ = _network(*activation_choice("tanh"), w, b, x, v, depth, 0, sw, sb, 1.0)

    def cost(biases, x_e, v_e):  # C = v . a_L for one example; dC/db_l is its gradient
        a = x_e
        for l in range(depth):
            a = jnp.tanh(sw * a @ w[l] + sb * b[l] + biases[l])
        return jnp.dot(v_e, a)

    per_example = jax.jit(jax.vmap(jax.grad(cost), (None, 0, 0)))
    grads = np.asarray(per_example(jnp.zeros((depth, width)), x, v))  # (examples, depth, width)
    squares = np.sum(grads.astype(np.float64) ** 2, axis=-1)  # (examples, depth)
    expected = np.log(np.mean(squares / squares[:, -1:], axis=0))
    np.testing.assert_allclose(log_grad, expected, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def wide():
    """Tanh at sb^2 = 0.05, width 512, far from the critical line (sw^2 ~ 1.76) on both sides."""
    config = SweepConfig(activation="tanh", width=512, depth=30, examples=32)
    return sweep(config, [0.5, 4.0], [0.05], key=jax.random.key(0))


def test_measured_rates_are_within_ten_percent_of_ln_chi1(wide):
    log_chi1 = np.log(wide.theory.chi1)
    assert np.all(np.abs(log_chi1) > 0.25)  # away from criticality
    np.testing.assert_array_less(np.abs(wide.rate - log_chi1), 0.1 * np.abs(log_chi1))


def test_forward_length_stays_at_q_star_and_correlation_heads_for_c_star(wide):
    r = wide.trim()
    np.testing.assert_allclose(r.q_start, r.theory.q_star)
    # one network of 512 units: each layer's q^l within 20% of q*, their mean within 5%
    np.testing.assert_allclose(r.q, r.theory.q_star[..., None] * np.ones(30), rtol=0.2)
    np.testing.assert_allclose(np.mean(r.q, axis=-1), r.theory.q_star, rtol=0.05)
    assert np.all(r.c[0, 0, -5:] > 0.99)  # ordered: two inputs become one (c* = 1)
    assert abs(np.mean(r.c[0, 1, -10:]) - float(r.theory.c_star[0, 1])) < 0.1  # chaotic
    assert np.all(r.log_grad[..., -1] == 0)


def test_depth_is_traced_and_the_same_key_gives_the_same_networks():
    config = SweepConfig(width=16, depth=6, max_depth=12, examples=2, skip=1)
    first = sweep(config, [0.5, 2.0], [0.1], key=jax.random.key(1))
    with count_compilations() as compiled:
        deeper = sweep(
            SweepConfig(width=16, depth=12, examples=2, skip=1), [0.5, 2.0], [0.1],
            key=jax.random.key(1),
        )  # fmt: skip
        again = sweep(config.replace(depth=9), [0.5, 2.0], [0.1],
                      key=jax.random.key(1))  # fmt: skip
    assert compiled.count == 0  # depth is traced under max_depth 12
    np.testing.assert_array_equal(first.q[..., :6], again.q[..., :6])
    assert deeper.trim().q.shape == (1, 2, 12) and again.trim().q.shape == (1, 2, 9)


SHARDED = textwrap.dedent(
    """
    import jax, numpy as np
    from vgwidgets.engine import SweepConfig, sweep
    from vgwidgets.engine import _sweep
    assert len(jax.devices()) == 4, jax.devices()
    seen = []
    measure = _sweep._measure
    def spy(*args, **kwargs):
        seen.append(args[7].sharding)  # the sw array
        return measure(*args, **kwargs)
    _sweep._measure = spy
    config = SweepConfig(width=32, depth=8, examples=4, skip=1, chunk=2)
    axes = ([0.5, 1.5, 4.0], [0.0, 0.05, 0.3])  # 9 points, padded to 12
    one = sweep(config, *axes, key=jax.random.key(0), devices=jax.devices()[:1])
    four = sweep(config, *axes, key=jax.random.key(0))
    assert len(seen[1].device_set) == 4 and len(seen[0].device_set) == 1, seen
    for field in ("q", "c", "log_grad", "rate"):
        assert np.array_equal(getattr(one, field), getattr(four, field), equal_nan=True), field
    print("equal on", len(seen[1].device_set), "devices")
    """
)


def test_the_grid_sharded_over_four_devices_equals_the_single_device_run():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    env["JAX_PLATFORMS"] = "cpu"
    run = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "equal on 4 devices" in run.stdout


# ------------------------------------------------------------------------------------------------
# Bad input: named errors before tracing


def test_a_grid_too_large_for_memory_is_refused_with_the_estimate_and_the_limit():
    config = SweepConfig(width=1024, depth=100, examples=8)
    estimate = memory_estimate(config, 256 * 256)
    with pytest.raises(ValueError, match="MiB per device, above the limit of 1.0 MiB") as info:
        sweep(config, np.linspace(0.5, 4, 256), np.linspace(0, 1, 256),
              key=jax.random.key(0), memory_limit=2**20)  # fmt: skip
    assert f"{estimate / 2**20:.1f} MiB" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "swish"}, "activation must be one of"),
        ({"width": 1}, r"width must be an integer in \[2, 4096\]; got 1"),
        ({"depth": 5, "max_depth": 4}, r"depth must be an integer in \[1, 4\]; got 5"),
        ({"examples": 3}, "examples must be even"),
        ({"c0": 1.5}, "c0 must be a number in"),
        ({"depth": 5, "skip": 2}, "depth must be > 2 skip"),
    ],
)
def test_bad_configs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SweepConfig(**kwargs)


@pytest.mark.parametrize(
    ("weight_vars", "bias_vars", "match"),
    [
        ([0.0, 1.0], [0.0], "weight_vars must hold variances > 0 and <= 100; got 0"),
        ([1.0], [-0.1], "bias_vars must hold variances >= 0 and <= 100; got -0.1"),
        ([1.0, np.nan], [0.0], "weight_vars must hold only finite numbers"),
        (np.ones(1025), [0.0], "weight_vars must hold 1 to 1024 values; got 1025"),
        ([[1.0]], [0.0], "weight_vars must be a 1-D array"),
        ("1.0", [0.0], "weight_vars must be a 1-D array of variances; got '1.0'"),
    ],
)
def test_bad_grids_are_named(weight_vars, bias_vars, match):
    with pytest.raises(ValueError, match=match):
        sweep(SweepConfig(width=8, depth=4, examples=2, skip=1), weight_vars, bias_vars,
              key=jax.random.key(0))  # fmt: skip


def test_public_names():
    assert vg.sweep is sweep and vg.SweepConfig is SweepConfig
