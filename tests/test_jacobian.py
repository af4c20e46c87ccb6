"""Input-output Jacobian spectra against ``jnp.linalg.svd`` of ``jax.jacfwd``, the isometry
claims of Pennington et al. 2017, and the ``jacobian-spectrum`` reproduction's JSON."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vgwidgets.engine import JacobianConfig, jacobian_spectrum, x64_context
from vgwidgets.engine._jacobian import _draw
from vgwidgets.experiments import REPRODUCTIONS


@pytest.mark.parametrize(
    ("activation", "weights", "weight_var", "bias_var"),
    [("tanh", "gaussian", 1.5, 0.1), ("relu", "orthogonal", 2.0, 0.0)],
)
def test_singular_values_equal_svd_of_jacfwd(activation, weights, weight_var, bias_var):
    config = JacobianConfig(activation, weights, weight_var, bias_var, width=6, depth=3)
    key = jax.random.key(7)
    spectrum = jacobian_spectrum(config, key=key)
    phi = {"tanh": jnp.tanh, "relu": jax.nn.relu}[activation]
    with x64_context("float64"):
        k_w, k_b, k_x = jax.random.split(key, 3)
        w = np.sqrt(weight_var) * _draw(weights, k_w, 3, 6)
        b = np.sqrt(bias_var) * jax.random.normal(k_b, (3, 6), jnp.float64)
        x = jax.random.normal(k_x, (6,), jnp.float64)
        x = np.sqrt(spectrum.q_start - bias_var) / np.sqrt(weight_var) * np.sqrt(6) * x / (
            jnp.linalg.norm(x))  # fmt: skip

        def network(x0):  # every layer's output, so that one jacfwd gives every J_l
            outputs = []
            for l in range(3):
                x0 = phi(w[l] @ x0 + b[l])
                outputs.append(x0)
            return outputs

        jacobians = jax.jit(jax.jacfwd(network))(x)
        for depth in (1, 2, 3):
            expected = jnp.linalg.svd(jacobians[depth - 1], compute_uv=False)
            np.testing.assert_allclose(spectrum.at(depth), expected, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def result():
    """The reproduction's run (width 64, depths 1..128), through JSON, as the CLI prints it."""
    return json.loads(json.dumps(REPRODUCTIONS["jacobian-spectrum"].run()))


def _case(result, name):
    record = next(r for r in result["cases"] if r["name"] == name)
    at = {d: i for i, d in enumerate(result["depths"])}
    return {k: dict(zip(at, record[k])) for k in ("log_spread", "resolved", "mean_square")}


def test_tanh_with_orthogonal_weights_near_q_star_zero_is_close_to_an_isometry(result):
    iso, gauss = _case(result, "tanh, orthogonal"), _case(result, "tanh, gaussian")
    assert max(iso["log_spread"].values()) < 0.4 and min(iso["resolved"].values()) == 1
    for depth, value in iso["mean_square"].items():  # chi1 = 1: mean s^2 stays 1
        assert value == pytest.approx(1.0, rel=0.05), depth
    assert gauss["log_spread"][16] > 3 * gauss["log_spread"][2]  # grows with depth
    assert gauss["log_spread"][32] > 10 * iso["log_spread"][32]


def test_relu_zeroes_about_half_the_directions_and_spreads_the_rest(result):
    for name in ("relu, gaussian (He)", "relu, orthogonal (He)"):
        relu = _case(result, name)
        assert 0.3 <= relu["resolved"][1] <= 0.7  # binomial(64, 1/2) / 64: 3 sd
        assert relu["log_spread"][32] > 2 and relu["log_spread"][32] > 2 * relu["log_spread"][2]


def test_reproduction_json_keys_and_table(result):
    entry = REPRODUCTIONS["jacobian-spectrum"]
    assert set(result) == set(entry.json_keys)
    assert all(len(r["log_spread"]) == len(result["depths"]) for r in result["cases"])
    assert "only the former is close to an isometry" in entry.format(result)
    with pytest.raises(ValueError, match=r"seeds must be an integer in \[1, 16\]; got 0"):
        entry.run(seeds=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": "uniform"}, "weights must be one of 'gaussian', 'orthogonal'; got 'uniform'"),
        ({"weight_var": 0.0}, "weight_var must be > 0"),
        ({"width": 1}, r"width must be an integer in \[2, 1024\]; got 1"),
        ({"depth": 0}, r"depth must be an integer in \[1, 1000\]; got 0"),
        ({"activation": "swish"}, "activation must be one of"),
    ],
)
def test_bad_configs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        JacobianConfig(**kwargs)
