"""Every registered activation, initializer and loss, under one parametrized set of checks."""

import functools
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import _activations, _initializers, count_compilations, x64_context

# The grid holds z = 0 and its neighbours exactly: ELU's and SELU's slopes peak at z -> 0-.
GRID = jnp.concatenate([jnp.linspace(-20.0, 20.0, 400_001), jnp.array([-1e-12, 0.0, 1e-12])])
# Activations whose backward pass is a surrogate: phi' (by differences) + this.
SURROGATE_OFFSET = {"lifted_sigmoid": lambda p: p}


def _parameter_values(act):
    if act.param is None:
        return [None]
    low, high = act.param.low, act.param.high
    return [low, act.param.default, 0.5 * (low + high), high]


@pytest.mark.parametrize("name", sorted(vg.ACTIVATIONS))
def test_max_derivative_is_the_supremum_of_the_derivative(name):
    act = vg.ACTIVATIONS[name]
    for p in _parameter_values(act):
        fn = act.fn if p is None else act.at(p)
        bound = act.max_derivative if p is None else float(act.max_derivative_at(p))
        slope = np.abs(np.asarray(vg.derivative(fn, GRID)))
        assert slope.max() == pytest.approx(bound, rel=1e-6), p
        # and autodiff's derivative agrees with central differences, away from kinks
        h = 1e-3
        zz = np.linspace(-4, 4, 81) + 0.0125
        fd = (np.asarray(fn(zz + h)) - np.asarray(fn(zz - h))) / (2 * h)
        offset = SURROGATE_OFFSET.get(name, lambda p: 0.0)(p)
        np.testing.assert_allclose(np.asarray(vg.derivative(fn, jnp.asarray(zz))), fd + offset, atol=1e-3)  # fmt: skip


@pytest.mark.parametrize("name", sorted(vg.ACTIVATIONS))
def test_activation_parameters_are_well_formed(name):
    act = vg.ACTIVATIONS[name]
    z = jnp.linspace(-3.0, 3.0, 13)
    assert act.formula and act.name == name
    assert act.max_derivative == pytest.approx(float(act.max_derivative_at(None if act.param is None else act.param.default)))  # fmt: skip
    if act.param is None:
        assert act.at(0.3) is act.fn
        return
    param = act.param
    assert param.low <= param.default <= param.high and param.label
    np.testing.assert_array_equal(act.fn(z), act.at(param.default)(z))
    # a traced parameter compiles once for every value
    fn = jax.jit(lambda z, p: act.at(p)(z))
    fn(z, param.low)
    with count_compilations() as moved:
        fn(z, param.high)
    assert moved.count == 0, moved.names


@pytest.mark.parametrize("name", sorted(vg.INITIALIZERS))
def test_initializers_are_deterministic_finite_and_scaled(name):
    config = vg.MLPConfig(n_in=50, depth=3, width=400, n_out=5, initializer=name)
    a = vg.init_mlp(config, key=jax.random.key(0))
    b = vg.init_mlp(config, key=jax.random.key(0))
    c = vg.init_mlp(config, key=jax.random.key(1))
    for field, x, y, z in zip(vg.MLPParams._fields, a, b, c):
        assert np.all(np.isfinite(x))
        np.testing.assert_array_equal(x, y)
        if field in ("w_first", "w_hidden", "b_hidden", "w_out", "b_out"):
            assert not np.array_equal(x, z)
    assert a.w_first.shape == (50, 400) and a.w_hidden.shape == (2, 400, 400)
    # the gain multiplies the draw, and every initializer's biases are N(0, bias_scale^2)
    scaled = vg.init_mlp(config.replace(weight_scale=2.0, bias_scale=0.5), key=jax.random.key(0))
    np.testing.assert_allclose(scaled.w_hidden, 2.0 * np.asarray(a.w_hidden), rtol=1e-6)
    assert np.std(scaled.b_hidden) == pytest.approx(0.5, rel=0.1)
    zero = vg.init_mlp(config.replace(bias_scale=0.0), key=jax.random.key(0))
    assert np.all(np.asarray(zero.b_hidden) == 0)


TRUNCATED = 2 / 0.87962566103423978  # a truncated draw lies within this many standard deviations
SHAPES = [(50, 400), (400, 400), (400, 50)]  # (fan_in, fan_out): wide, square, narrow


def documented_variance(description: str, n_in: int, n_out: int) -> float:
    """The weight variance an initializer's description states, at fan-in ``n_in`` and fan-out
    ``n_out``: its ``var ...`` if it says one, else the ``W ~ N(0, ...)``, else ``W orthogonal``
    (unit singular values: 1/max(n_in, n_out) per entry). A new initializer whose description
    states none of these fails here: the description is its documentation."""
    said = re.search(r"\bvar (?:exactly )?(.+?)(?: \(|;|,|$)", description) or re.search(
        r"W ~ N\(0, ([^)]*)\)", description
    )
    if said is None:
        assert "W orthogonal" in description, f"no variance stated in {description!r}"
        return 1 / max(n_in, n_out)
    formula = re.sub(r"(\d) (n_)", r"\1*\2", said.group(1)).replace("^", "**")
    return eval(formula, {"sqrt": math.sqrt, "n_in": n_in, "n_out": n_out})  # noqa: S307


def _check_initializer(entry):
    """Shape, dtype, finite values, determinism and the documented variance of one draw, for
    every shape in ``SHAPES``; uniform and truncated draws reach their bound and stay in it."""
    for dtype in ("float32", "float64"):
        with x64_context(dtype):
            for shape in SHAPES:
                w = entry.weight(jax.random.key(3), shape, jnp.dtype(dtype))
                assert w.shape == shape and w.dtype == jnp.dtype(dtype), (shape, dtype)
                assert np.all(np.isfinite(w))
                np.testing.assert_array_equal(w, entry.weight(jax.random.key(3), shape, dtype))
                assert not np.array_equal(w, entry.weight(jax.random.key(4), shape, dtype))
    for n_in, n_out in SHAPES:
        w = np.asarray(entry.weight(jax.random.key(3), (n_in, n_out), jnp.float32), np.float64)
        std = documented_variance(entry.description, n_in, n_out) ** 0.5
        # 20,000 entries at least: the sample std is within 1% of the true one (3 sigma)
        assert np.std(w) == pytest.approx(std, rel=0.03), (n_in, n_out)
        assert np.mean(w) == pytest.approx(0.0, abs=0.02 * std)
        bound = 3**0.5 if "U[" in entry.description else None
        bound = TRUNCATED if "truncated normal" in entry.description else bound
        if bound is not None:
            assert np.abs(w).max() <= bound * std * (1 + 1e-6)
            assert np.abs(w).max() >= 0.95 * bound * std  # the bound is reached, not loose


@pytest.mark.parametrize("name", sorted(vg.INITIALIZERS))
def test_every_initializer_draws_what_its_description_says(name):
    _check_initializer(vg.INITIALIZERS[name])


@pytest.mark.parametrize("name", sorted(vg.INITIALIZERS))
def test_init_mlp_draws_every_layer_with_its_fans_and_unit_biases(name):
    p = vg.init_mlp(
        vg.MLPConfig(n_in=50, depth=3, width=400, n_out=5, initializer=name), key=jax.random.key(3)
    )
    description = vg.INITIALIZERS[name].description
    for w, n_in, n_out, rel in [(p.w_first, 50, 400, 0.03), (p.w_hidden, 400, 400, 0.02)]:
        std = documented_variance(description, n_in, n_out) ** 0.5
        assert np.std(w) == pytest.approx(std, rel=rel)
        assert np.mean(w) == pytest.approx(0.0, abs=0.02 * std)
    assert np.std(p.b_hidden) == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(vg.INITIALIZERS))
def test_init_mlp_draws_what_the_entry_draws_on_the_same_keys(name, dtype):
    """``init_mlp`` picks the initializer by a traced index (one compiled draw serves them
    all); what it draws is the entry's own draw on the key's folds (0: W_1, 1: W_out, 2: b_out,
    3 + 2i: W_{i+1}, 4 + 2i: b_{i+1}) times the scales. Equal up to one rounding of the scale
    product, which XLA may fuse into the draw inside the compiled program."""
    config = vg.MLPConfig(
        n_in=5, depth=3, width=6, n_out=2, max_depth=4, initializer=name, weight_scale=1.3,
        bias_scale=0.5, dtype=dtype,
    )  # fmt: skip
    key = jax.random.key(3)
    params = vg.init_mlp(config, key=key)
    entry = vg.INITIALIZERS[name]
    with x64_context(dtype):
        fold, t = functools.partial(jax.random.fold_in, key), jnp.dtype(dtype)
        expected = [
            1.3 * entry.weight(fold(0), (5, 6), t),
            1.3 * jnp.stack([entry.weight(fold(3 + 2 * i), (6, 6), t) for i in (1, 2, 3)]),
            0.5 * jnp.stack([entry.bias(fold(4 + 2 * i), (6,), t) for i in range(4)]),
            1.3 * entry.weight(fold(1), (6, 2), t),
            0.5 * entry.bias(fold(2), (2,), t),
        ]
    for field, got, want in zip(vg.MLPParams._fields, params, expected):
        assert got.dtype == t, field
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(t).eps, atol=0, err_msg=field)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(vg.INITIALIZERS))
def test_a_specialized_init_draws_exactly_what_the_traced_choice_draws(name, dtype):
    # init_mlp(..., specialize=True) compiles the entry in where the traced index switches to
    # it: the same network, to the bit (the switch's traced draws are checked just above)
    config = vg.MLPConfig(
        n_in=5, depth=3, width=6, n_out=2, max_depth=4, initializer=name, weight_scale=1.3,
        bias_scale=0.5, activation="prelu", activation_param=0.3, dtype=dtype,
    )  # fmt: skip
    traced = vg.init_mlp(config, key=jax.random.key(4))
    fixed = vg.init_mlp(config, key=jax.random.key(4), specialize=True)
    for field, want, got in zip(vg.MLPParams._fields, traced, fixed):
        assert got.dtype == want.dtype == jnp.dtype(dtype), field
        np.testing.assert_array_equal(got, want, err_msg=field)


def test_a_specialized_init_compiles_per_initializer_not_per_scale():
    config = vg.MLPConfig(n_in=3, depth=2, width=7, n_out=2, max_depth=5, initializer="he_uniform")
    key = jax.random.key(0)
    with count_compilations() as first:
        vg.init_mlp(config, key=key, specialize=True)
    with count_compilations() as scaled:
        vg.init_mlp(config.replace(weight_scale=2.0, bias_scale=0.1), key=key, specialize=True)
    with count_compilations() as other:
        vg.init_mlp(config.replace(initializer="orthogonal"), key=key, specialize=True)
    assert (first.count, scaled.count, other.count) == (1, 0, 1), (first, scaled, other)
    assert first.names in (["jit(_init)"], ["?"])
    with pytest.raises(TypeError, match="specialize must be True or False; got 'yes'"):
        vg.init_mlp(config, key=key, specialize="yes")


def test_documented_variances_are_the_papers_formulas():
    """The descriptions, read by ``documented_variance``, give the published formulas."""
    n_in, n_out = 50, 400
    expected = {
        "normal": 1.0,
        "normal_fan_in": 1 / n_in,
        "small_normal": 1e-4,
        "glorot_standard": 1 / (3 * n_in),  # U[-1/sqrt n, 1/sqrt n] (Glorot & Bengio, eq. 1)
        "lecun_normal": 1 / n_in,
        "glorot_normal": 2 / (n_in + n_out),  # Glorot & Bengio, eq. 12
        "glorot_uniform": 2 / (n_in + n_out),
        "he_normal": 2 / n_in,  # He et al., eq. 10
        "he_uniform": 2 / n_in,
        "orthogonal": 1 / n_out,
    }
    for name, variance in expected.items():
        description = vg.INITIALIZERS[name].description
        assert documented_variance(description, n_in, n_out) == pytest.approx(variance), name


@pytest.mark.parametrize(
    ("base", "gain", "target"),
    [
        ("lecun_normal", 2**0.5, "he_normal"),  # He = sqrt(2) x LeCun (He et al. 2015)
        ("glorot_standard", 6**0.5, "he_uniform"),  # U[-1/sqrt n, .] x sqrt 6 = U[-sqrt(6/n), .]
        ("small_normal", 100.0, "normal"),
    ],
)
def test_the_gain_is_a_factor_on_the_draw(base, gain, target):
    """``weight_scale`` multiplies the draw: with the same key, a gain turns one initializer
    into another whose variance differs by gain^2 (same distribution family)."""
    config = vg.MLPConfig(n_in=50, depth=3, width=400, n_out=5, initializer=base)
    scaled = vg.init_mlp(config.replace(weight_scale=gain), key=jax.random.key(5))
    other = vg.init_mlp(config.replace(initializer=target), key=jax.random.key(5))
    for field in ("w_first", "w_hidden", "w_out"):
        np.testing.assert_allclose(getattr(scaled, field), getattr(other, field), rtol=2e-6, atol=1e-7)  # fmt: skip


def test_orthogonal_weights_are_orthogonal_in_every_layer():
    config = vg.MLPConfig(n_in=5, depth=4, width=16, n_out=3, initializer="orthogonal")
    p = vg.init_mlp(config.replace(weight_scale=2.0), key=jax.random.key(0))
    for w in np.asarray(p.w_hidden, np.float64):
        np.testing.assert_allclose(w.T @ w, 4.0 * np.eye(16), atol=1e-5)  # gain^2 I
    assert not np.allclose(p.w_hidden[0], p.w_hidden[1])  # each layer its own draw
    w_first, w_out = np.asarray(p.w_first, np.float64), np.asarray(p.w_out, np.float64)
    np.testing.assert_allclose(w_first @ w_first.T, 4.0 * np.eye(5), atol=1e-5)  # orthonormal rows
    np.testing.assert_allclose(w_out.T @ w_out, 4.0 * np.eye(3), atol=1e-5)  # and columns


def test_a_new_activation_is_one_registry_line(monkeypatch):
    monkeypatch.setitem(_activations.ACTIVATIONS, "softsign", None)
    vg.register_activation("softsign", jax.nn.soft_sign, max_derivative=1.0, formula="z/(1+|z|)")
    r = vg.chain([1.5, -0.5, 2.0], [0.1, 0.0, -0.2], 0.4, activation="softsign")
    np.testing.assert_allclose(r.product, r.grad_b1, rtol=1e-5)
    config = vg.MLPConfig(
        n_in=3, depth=2, width=4, n_out=1, activation="softsign", loss="squared_error"
    )
    result = vg.probe(
        config, vg.init_mlp(config, key=jax.random.key(0)), np.ones((2, 3)), np.ones((2, 1))
    )
    assert np.all(np.isfinite(result.grad_b_norm))


def test_a_new_parametrized_activation_is_one_registry_line(monkeypatch):
    monkeypatch.setitem(_activations.ACTIVATIONS, "scaled_tanh", None)
    vg.register_activation(
        "scaled_tanh",
        lambda z, c: jnp.tanh(c * z),
        max_derivative=lambda c: jnp.abs(c),
        formula="tanh(c z)",
        param=vg.ActivationParam("c", 1.0, 0.1, 3.0, "steepness c"),
    )
    act = vg.ACTIVATIONS["scaled_tanh"]
    assert act.max_derivative == 1.0 and float(act.max_derivative_at(2.0)) == 2.0
    config = vg.MLPConfig(n_in=3, depth=2, width=4, n_out=1, activation="scaled_tanh")
    params = vg.init_mlp(config, key=jax.random.key(0))
    x, y = np.ones((2, 3)), np.ones((2, 1))
    steep = vg.probe(config.replace(activation_param=3.0), params, x, y)
    assert not np.allclose(vg.probe(config, params, x, y).loss, steep.loss)
    with pytest.raises(ValueError, match=r"activation_param must be a number in \[0.1, 3\]"):
        config.replace(activation_param=5.0)


def test_a_new_initializer_is_one_registry_line(monkeypatch):
    """Registered, it passes every check the built-in ones pass, and networks use it."""
    monkeypatch.setitem(_initializers.INITIALIZERS, "tiny", None)
    init = jax.nn.initializers.normal(0.01)
    entry = vg.register_initializer("tiny", weight=init, bias=init, description="W ~ N(0, 0.01^2)")
    assert vg.INITIALIZERS["tiny"] is entry
    _check_initializer(entry)
    p = vg.init_mlp(
        vg.MLPConfig(n_in=30, depth=2, width=300, initializer="tiny"), key=jax.random.key(0)
    )
    assert np.std(p.w_hidden) == pytest.approx(0.01, rel=0.05)
