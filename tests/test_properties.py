"""Property-based bad input over the public API (hypothesis): every bad value gets a
``ValueError``/``TypeError`` that names the argument, the value and what is valid, raised by
vgwidgets before JAX traces anything (no frame of the traceback lies inside JAX).

Examples are derandomized and bounded (``SETTINGS``), so a run is deterministic and quick.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vgwidgets as vg
from vgwidgets.engine import _config

# 30 derandomized examples per property. Each bad value meets one of a few checks (type, range,
# finiteness, registry name) raised before JAX traces anything, and hypothesis tries the boundary
# values (min - 1, max + 1, nan, inf, None, empty) first, so 30 reach every check of every field
# sampled. Valid configurations that reach ``probe`` share max_depth, so depth and scale are traced
# and only the two widths compile: an example costs milliseconds. More would repeat the checks.
SETTINGS = settings(
    max_examples=30, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
GOOD = {"n_in": 3, "depth": 2, "width": 4, "n_out": 2}
INT_FIELDS = {
    "n_in": (1, _config.MAX_FEATURES),
    "width": (1, _config.MAX_WIDTH),
    "n_out": (1, _config.MAX_FEATURES),
    "depth": (1, _config.MAX_DEPTH),
    "max_depth": (1, _config.MAX_DEPTH),
    "residual_every": (0, _config.MAX_DEPTH),
}
CHOICE_FIELDS = {
    "activation": vg.ACTIVATIONS,
    "initializer": vg.INITIALIZERS,
    "loss": vg.LOSSES,
    "dtype": _config.DTYPES,
    "norm": vg.NORMS,
    "clip": vg.CLIP_MODES,
}
NOT_A_NUMBER = st.one_of(
    st.none(), st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2),
    st.just(object()), st.just(1j),
)  # fmt: skip


def _raises(call, error=ValueError):
    """``call()``'s exception, checked to come from vgwidgets, not from inside JAX."""
    with pytest.raises(error) as info:
        call()
    frames = [str(entry.path) for entry in info.traceback]
    assert not any("/jax/" in f or "/jaxlib/" in f or "/optax/" in f for f in frames), frames
    return str(info.value)


def _bad_int(low, high):
    return st.integers(max_value=low - 1) | st.integers(min_value=high + 1)


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(INT_FIELDS)))
def test_config_integers_out_of_range(data, field):
    low, high = INT_FIELDS[field]
    value = data.draw(_bad_int(low, high) | st.floats(allow_nan=True) | NOT_A_NUMBER)
    assume(not (field == "max_depth" and value is None))  # None: max_depth = depth
    changes = {**GOOD, field: value}
    if field == "depth":
        changes["max_depth"] = None
    message = _raises(lambda: vg.MLPConfig(**changes))
    assert field in message and repr(value)[:40] in message, message
    if isinstance(value, int) and not isinstance(value, bool):
        assert f"[{low}, {high}]" in message, message


@SETTINGS
@given(field=st.sampled_from(sorted(INT_FIELDS)), data=st.data())
def test_config_integers_in_range_are_kept(field, data):
    low, high = INT_FIELDS[field]
    value = data.draw(st.integers(low, min(high, 64)))
    changes = {**GOOD, "max_depth": 64, field: value}
    if field == "depth":
        changes["max_depth"] = max(64, value)
    assert getattr(vg.MLPConfig(**changes), field) == value


@SETTINGS
@given(field=st.sampled_from(["weight_scale", "bias_scale"]),
       value=st.sampled_from([math.nan, math.inf, -math.inf]) | st.floats(max_value=-1e-300)
       | NOT_A_NUMBER)  # fmt: skip
def test_config_scales_must_be_finite_and_non_negative(field, value):
    message = _raises(lambda: vg.MLPConfig(**GOOD, **{field: value}))
    assert field in message and repr(value)[:40] in message, message


@SETTINGS
@given(field=st.sampled_from(sorted(CHOICE_FIELDS)), value=st.text(max_size=12) | NOT_A_NUMBER)
def test_config_unknown_names_list_the_valid_ones(field, value):
    assume(not (isinstance(value, str) and value in CHOICE_FIELDS[field]))
    message = _raises(lambda: vg.MLPConfig(**GOOD, **{field: value}))
    assert field in message and repr(value)[:40] in message, message
    assert all(repr(choice) in message for choice in CHOICE_FIELDS[field]), message


@pytest.fixture(scope="module")
def network():
    config = vg.MLPConfig(**GOOD)
    return config, vg.init_mlp(config, key=jax.random.key(0))


ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.complex64, np.bool_, "U3"]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    elements=None,
)


def _valid_x(x) -> bool:
    return (
        x.ndim == 2 and x.shape[1] == GOOD["n_in"] and x.shape[0] >= 1
        and (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
             or x.dtype == np.bool_)
        and bool(np.all(np.isfinite(x.astype(float))))
    )  # fmt: skip


@SETTINGS
@given(x=ARRAYS)
def test_probe_bad_inputs(network, x):
    assume(not _valid_x(x))
    config, params = network
    y = np.zeros((max(x.shape[0], 1) if x.ndim else 1, GOOD["n_out"]))
    message = _raises(lambda: vg.probe(config, params, x, y))
    assert message.startswith("x must") or message.startswith("y must"), message


@SETTINGS
@given(x=ARRAYS)
def test_apply_mlp_bad_inputs(network, x):
    assume(not _valid_x(x))
    config, params = network
    message = _raises(lambda: vg.apply_mlp(config, params, x))
    assert message.startswith("x must"), message


@SETTINGS
@given(key=st.integers() | st.floats() | NOT_A_NUMBER | hnp.arrays(np.float32, 2))
def test_init_mlp_needs_a_prng_key(network, key):
    config, _ = network
    message = _raises(lambda: vg.init_mlp(config, key=key), TypeError)
    assert message.startswith("key must") and "jax.random.key" in message, message


@SETTINGS
@given(weights=ARRAYS, x=st.floats(allow_nan=True, allow_infinity=True))
def test_chain_bad_inputs(weights, x):
    valid_w = (weights.ndim == 1 and 1 <= weights.shape[0] <= 1000 and weights.dtype.kind in "fiub"
               and bool(np.all(np.isfinite(weights.astype(float)))))  # fmt: skip
    assume(not (valid_w and math.isfinite(x)))
    biases = np.zeros(weights.shape[:1] if weights.ndim else (1,))
    message = _raises(lambda: vg.chain(weights, biases, x))
    assert message.startswith(("weights must", "x must")), message
    if valid_w:
        assert repr(x) in message


@SETTINGS
@given(n=st.integers(1, 40), data=st.data())
def test_chain_biases_must_match(n, data):
    m = data.draw(st.integers(0, 40).filter(lambda m: m != n))
    message = _raises(lambda: vg.chain(np.ones(n), np.zeros(m), 0.5))
    assert "biases" in message and str(m) in message and str(n) in message, message


@SETTINGS
@given(activation=st.text(max_size=10) | NOT_A_NUMBER)
def test_unknown_activation(activation):
    assume(not (isinstance(activation, str) and activation in vg.ACTIVATIONS))
    for call in (lambda: vg.chain([1.0], [0.0], 0.5, activation=activation),
                 lambda: vg.centred_biases([1.0], 0.5, activation=activation)):  # fmt: skip
        message = _raises(call)
        assert "activation" in message and "'sigmoid'" in message, message


@SETTINGS
@given(threshold=st.floats(max_value=0.0) | st.sampled_from([math.nan, math.inf]) | NOT_A_NUMBER,
       mode=st.sampled_from(vg.CLIP_MODES))  # fmt: skip
def test_clip_threshold(threshold, mode):
    message = _raises(lambda: vg.clip_gradients({"w": np.ones(3)}, mode=mode, threshold=threshold))
    assert "threshold" in message and repr(threshold)[:40] in message, message


@SETTINGS
@given(leaf=st.sampled_from([np.ones(2, np.int32), np.array(["a"]), np.ones(2, complex), "g", 3]))
def test_clip_gradients_need_floating_leaves(leaf):
    message = _raises(lambda: vg.clip_gradients({"w": leaf}, mode="value", threshold=1.0))
    assert message.startswith("grads must") and "grads['w']" in message, message


@SETTINGS
@given(mode=st.text(max_size=10) | NOT_A_NUMBER)
def test_clip_mode(mode):
    assume(not (isinstance(mode, str) and mode in vg.CLIP_MODES))
    message = _raises(lambda: vg.clip_gradients({"w": np.ones(3)}, mode=mode, threshold=1.0))
    assert "mode" in message and "'global_norm'" in message, message


@SETTINGS
@given(depth=st.integers(1, 8), width=st.sampled_from([1, 8]), scale=st.floats(0, 1e30))
def test_valid_configs_probe_without_error(depth, width, scale):
    """Random valid sizes and scales, huge ones too: a result (inf or NaN where it overflows),
    the layers past ``depth`` masked to 0, never an error."""
    # Width 8 is tests/test_mlp.py's PADDED shape (max_depth 20, batch 7): its compiled
    # programs are shared through JAX's persistent cache.
    config = vg.MLPConfig(n_in=4, depth=depth, width=width, n_out=2, max_depth=20,
                          weight_scale=scale)  # fmt: skip
    params = vg.init_mlp(config, key=jax.random.key(0))
    result = vg.probe(config, params, np.ones((7, 4)), np.eye(2)[[0, 1, 0, 1, 0, 1, 0]])
    assert result.grad_b_norm.shape == (20,)
    assert list(np.asarray(result.active)) == [layer < depth for layer in range(20)]
    assert np.all(np.asarray(result.grad_b_norm)[depth:] == 0)
