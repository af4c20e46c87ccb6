"""Bad input: a ValueError naming the argument, the value and what is valid, before any tracing."""

import math

import jax
import numpy as np
import pytest

import vgwidgets as vg
# White-box: the fixture below replaces the engine's jit-compiled entry points themselves.
from vgwidgets.engine import _chain, _mlp, _network
from vgwidgets.engine import _params as params_module

GOOD = {"n_in": 3, "depth": 2, "width": 4, "n_out": 2}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"depth": 0}, ["depth", "0", "[1, 2000]"]),
        ({"depth": -3}, ["depth", "-3"]),
        ({"depth": 2.5}, ["depth", "2.5", "integer"]),
        ({"depth": True}, ["depth", "True"]),
        ({"depth": "3"}, ["depth", "'3'"]),
        ({"depth": 5, "max_depth": 4}, ["depth", "5", "[1, 4]", "max_depth"]),
        ({"max_depth": 10**6}, ["max_depth", "1000000", "2000"]),
        ({"width": 0}, ["width", "0", "[1, 8192]"]),
        ({"width": 10**9}, ["width", "1000000000"]),
        ({"n_in": -1}, ["n_in", "-1"]),
        ({"activation": "swish!"}, ["activation", "'swish!'", "'sigmoid'", "'tanh'", "'relu'"]),
        ({"initializer": "xavier?"}, ["initializer", "'xavier?'", "'normal'"]),
        ({"loss": "hinge"}, ["loss", "'hinge'", "'cross_entropy'"]),
        ({"dtype": "float16"}, ["dtype", "'float16'", "'float64'"]),
        ({"weight_scale": math.nan}, ["weight_scale", "nan", "finite"]),
        ({"weight_scale": math.inf}, ["weight_scale", "inf"]),
        ({"bias_scale": -1.0}, ["bias_scale", "-1.0", "[0"]),
        ({"weight_scale": "big"}, ["weight_scale", "'big'"]),
        ({"activation_param": 0.1}, ["activation_param", "None", "'sigmoid'", "no parameter", "0.1", "'leaky_relu'"]),
        ({"activation": "leaky_relu", "activation_param": 1.5}, ["activation_param", "[0, 1]", "1.5", "negative slope"]),
        ({"activation": "elu", "activation_param": -1.0}, ["activation_param", "[0, 5]", "-1.0", "alpha"]),
        ({"activation": "lifted_sigmoid", "activation_param": math.nan}, ["activation_param", "nan", "finite"]),
        ({"activation": "prelu", "activation_param": "0.2"}, ["activation_param", "'0.2'"]),
        ({"norm": "group"}, ["norm", "'group'", "'none'", "'batch'", "'layer'"]),
        ({"norm": None}, ["norm", "None"]),
        ({"residual_every": -1}, ["residual_every", "-1", "[0, 2000]"]),
        ({"residual_every": 1.5}, ["residual_every", "1.5", "integer"]),
        ({"clip": "norm"}, ["clip", "'norm'", "'value'", "'global_norm'"]),
        ({"clip_threshold": 0.0}, ["clip_threshold", "0.0", "> 0"]),
        ({"clip_threshold": -2}, ["clip_threshold", "-2", "> 0"]),
        ({"clip_threshold": math.inf}, ["clip_threshold", "inf", "finite"]),
    ],
)  # fmt: skip
def test_config_errors_name_argument_value_and_valid_range(changes, words):
    with pytest.raises(ValueError) as info:
        vg.MLPConfig(**{**GOOD, **changes})
    for word in words:
        assert word in str(info.value)


@pytest.fixture
def forbid_tracing(monkeypatch):
    """Calling it makes reaching any jit-compiled function fail: errors must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("reached the jit-compiled function before validating")

    def forbid():
        for module, name in [
            (_mlp, "_probe"), (params_module, "_init"), (_network, "_apply"), (_chain, "_chain"),
        ]:  # fmt: skip
            monkeypatch.setattr(module, name, forbidden)
        monkeypatch.setattr(_chain, "_centred", forbidden)

    return forbid


def _params():
    config = vg.MLPConfig(**GOOD)
    return config, vg.init_mlp(config, key=jax.random.key(0))


@pytest.mark.parametrize(
    ("x", "y", "words"),
    [
        (np.ones((5, 4)), np.ones((5, 2)), ["x", "n_in=3", "(5, 4)"]),
        (np.ones(3), np.ones((1, 2)), ["x", "2-D", "(3,)"]),
        (np.full((5, 3), np.nan), np.ones((5, 2)), ["x", "finite"]),
        (np.ones((5, 3)), np.ones((4, 2)), ["y", "batch=5", "(4, 2)"]),
        ([["a", "b", "c"]], np.ones((1, 2)), ["x", "numbers"]),
    ],
)
def test_probe_rejects_bad_data_before_tracing(forbid_tracing, x, y, words):
    config, params = _params()
    forbid_tracing()
    with pytest.raises(ValueError) as info:
        vg.probe(config, params, x, y)
    for word in words:
        assert word in str(info.value)


def test_probe_rejects_bad_saturation_and_mismatched_params(forbid_tracing):
    config, params = _params()
    forbid_tracing()
    with pytest.raises(ValueError, match="saturation"):
        vg.probe(config, params, np.ones((2, 3)), np.ones((2, 2)), saturation=2.0)
    with pytest.raises(
        ValueError, match=r"params.w_first must have shape \(3, 5\) for this config; got \(3, 4\)"
    ):
        vg.probe(config.replace(width=5), params, np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="params must be MLPParams"):
        vg.probe(config, {"w": 1}, np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="config must be an MLPConfig"):
        vg.init_mlp({"depth": 3}, key=jax.random.key(0))


def _batch_norm():
    config = vg.MLPConfig(**GOOD, norm="batch")
    return config, vg.init_mlp(config, key=jax.random.key(0))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"train": 1}, ["train", "True or False", "1"]),
        ({"train": "yes"}, ["train", "'yes'"]),
        ({"momentum": 1.5}, ["momentum", "[0, 1]", "1.5"]),
        ({"momentum": math.nan}, ["momentum", "nan"]),
        ({"state": vg.NormState(np.zeros((2, 5)), np.ones((2, 5)))}, ["state.mean", "(2, 4)", "(2, 5)"]),
        ({"state": vg.NormState(np.zeros((2, 4)), -np.ones((2, 4)))}, ["state.var", ">= 0", "-1"]),
        ({"state": vg.NormState(np.zeros((2, 4)), np.full((2, 4), np.inf))}, ["state.var", "finite"]),
        ({"state": vg.NormState(np.zeros(4), np.ones((2, 4)))}, ["state.mean", "2-D", "(4,)"]),
    ],
)  # fmt: skip
def test_probe_and_apply_reject_bad_normalization_arguments(forbid_tracing, kwargs, words):
    config, params = _batch_norm()
    forbid_tracing()
    for call in (
        lambda: vg.probe(config, params, np.ones((2, 3)), np.ones((2, 2)), **kwargs),
        lambda: vg.apply_mlp(config, params, np.ones((2, 3)), **kwargs),
    ):
        with pytest.raises(ValueError) as info:
            call()
        for word in words:
            assert word in str(info.value)


def test_batch_norm_training_needs_two_examples(forbid_tracing):
    config, params = _batch_norm()
    forbid_tracing()
    with pytest.raises(ValueError, match=r"x must hold at least 2 examples .* got 1"):
        vg.probe(config, params, np.ones((1, 3)), np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"state must be a NormState .* got tuple"):
        vg.apply_mlp(config, params, np.ones((2, 3)), state=(np.zeros((2, 4)), np.ones((2, 4))))
    with pytest.raises(ValueError, match=r"params.slope must have shape \(2,\)"):
        vg.apply_mlp(config, params._replace(slope=np.ones(3)), np.ones((2, 3)))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: vg.chain([1.0, 2.0], [0.0], 0.5), ["biases", "same length", "1"]),
        (lambda: vg.chain([], [], 0.5), ["weights", "1 to 1000", "0"]),
        (lambda: vg.chain([1.0, np.inf], [0.0, 0.0], 0.5), ["weights", "finite"]),
        (lambda: vg.chain([1.0], [0.0], float("nan")), ["x", "nan"]),
        (lambda: vg.chain([1.0], [0.0], 0.5, activation="step"), ["activation", "'step'"]),
        (lambda: vg.chain([1.0], [0.0], 0.5, target=math.inf), ["target", "inf"]),
        (lambda: vg.chain(np.ones((2, 2)), np.ones(2), 0.5), ["weights", "1-D", "(2, 2)"]),
        (lambda: vg.centred_biases([1.0], "x"), ["x", "'x'"]),
    ],
)
def test_chain_errors(forbid_tracing, call, words):
    forbid_tracing()
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)
