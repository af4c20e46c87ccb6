"""Nielsen's ch. 5 reproductions against oracles: network2's backprop in float64 NumPy, the
chain recomputed in float64, and the figures of the book."""

import json

import jax
import numpy as np
import pytest

from vgwidgets.engine import count_compilations, init_mlp
from vgwidgets.experiments import REPRODUCTIONS, load_digits, run_chain, run_speeds
from vgwidgets.experiments._nielsen import N_EXAMPLES, SPEEDS_CONFIG, speeds

# ------------------------------------------------------------------------------------------------
# Oracles


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def network2_speeds(params, depth, x, y):
    """``||mean_x dC/db_l||`` per hidden layer, by Nielsen's network2 backprop in float64.

    Nielsen's weights are ``(n_out, n_in)`` and examples are columns; the engine's weights are
    ``(fan_in, fan_out)`` and padded to ``max_depth``, so take the first ``depth`` layers and
    transpose. CrossEntropyCost.delta is ``a - y`` at the sigmoid output layer.
    """
    w_first, w_hidden, b_hidden, w_out, b_out = (
        np.asarray(getattr(params, name), np.float64)
        for name in ("w_first", "w_hidden", "b_hidden", "w_out", "b_out")
    )
    weights = [w_first.T, *(w.T for w in w_hidden[: depth - 1]), w_out.T]
    biases = [*(b[:, None] for b in b_hidden[:depth]), b_out[:, None]]
    activation = np.asarray(x, np.float64).T
    zs = []
    for w, b in zip(weights, biases):
        zs.append(w @ activation + b)
        activation = _sigmoid(zs[-1])
    delta = activation - np.asarray(y, np.float64).T
    nabla_b = [delta]
    for layer in range(2, len(weights) + 1):
        s = _sigmoid(zs[-layer])
        delta = (weights[-layer + 1].T @ delta) * s * (1 - s)
        nabla_b.insert(0, delta)
    return np.array([np.linalg.norm(nb.mean(axis=1)) for nb in nabla_b[:-1]])


def chain_oracle(weights, biases, x):
    """``dC/db_j = sigma'(z_j) prod_{k>j} w_k sigma'(z_k)`` for ``C = a_L``, in float64."""
    a, slopes = x, []
    for w, b in zip(weights, biases):
        a = _sigmoid(w * a + b)
        slopes.append(a * (1 - a))
    slopes = np.array(slopes)
    factors = np.asarray(weights) * slopes
    return np.array([slopes[j] * np.prod(factors[j + 1 :]) for j in range(len(weights))])


# ------------------------------------------------------------------------------------------------
# nielsen-speeds


@pytest.fixture(scope="module")
def batch():
    digits = load_digits()
    return digits.x[:N_EXAMPLES], digits.y[:N_EXAMPLES]


@pytest.fixture(scope="module")
def speeds_result():
    with count_compilations() as whole_run:
        result = run_speeds(seeds=5)
    return result, whole_run.count


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_speeds_match_network2_backprop(batch, seed, depth):
    x, y = batch
    params = init_mlp(SPEEDS_CONFIG, key=jax.random.key(seed))
    expected = network2_speeds(params, depth, x, y)
    np.testing.assert_allclose(speeds(params, x, y, depth), expected, rtol=1e-5)


def test_run_speeds_reports_network2_speeds_per_seed(batch, speeds_result):
    result, _ = speeds_result
    x, y = batch
    assert result["seeds"] == [0, 1, 2, 3, 4]
    for seed in (0, 4):
        params = init_mlp(SPEEDS_CONFIG, key=jax.random.key(seed))
        for record in result["depths"]:
            expected = network2_speeds(params, record["depth"], x, y)
            np.testing.assert_allclose(record["speeds"][seed], expected, rtol=1e-5)


def test_speeds_summary_statistics(speeds_result):
    result, _ = speeds_result
    for record in result["depths"]:
        rows = np.array(record["speeds"])
        assert rows.shape == (5, record["depth"])
        np.testing.assert_allclose(record["mean"], rows.mean(axis=0))
        np.testing.assert_allclose(record["std"], rows.std(axis=0))
        np.testing.assert_allclose(record["ratios"], rows.mean(0)[1:] / rows.mean(0)[:-1])


def test_each_earlier_layer_learns_several_times_slower_for_every_seed(speeds_result):
    # Measured over seeds 0..99: every ratio of consecutive layers lies in [3.2, 9];
    # Nielsen's MNIST ratios lie in [4.1, 5.7]. So "at least twice as slow" holds per seed.
    result, _ = speeds_result
    for record in result["depths"]:
        rows = np.array(record["speeds"])
        assert np.all(rows[:, 1:] > 2 * rows[:, :-1]), (record["depth"], rows)


def test_speeds_share_one_compilation(speeds_result):
    # 5 seeds x 3 depths = 15 probes; one MLPConfig structure (max_depth=4) serves them all:
    # only the first probe call may compile, and a second run compiles nothing at all.
    result, _ = speeds_result
    assert result["compilations"] == 0
    with count_compilations() as again:
        assert run_speeds(seeds=1)["compilations"] == 0
    assert again.count == 0


def test_speeds_figures_and_json(speeds_result):
    result, _ = speeds_result
    entry = REPRODUCTIONS["nielsen-speeds"]
    assert set(result) == set(entry.json_keys)
    assert json.loads(json.dumps(result)) == result
    nielsen = {r["depth"]: r["nielsen"] for r in result["depths"]}
    assert nielsen == {2: [0.07, 0.31], 3: [0.012, 0.06, 0.283], 4: [0.003, 0.017, 0.07, 0.285]}
    text = entry.format(result)
    for figures in ("0.07 ", "0.31", "0.012", "0.060", "0.283", "0.003", "0.017", "0.070", "0.285"):
        assert figures in text
    assert "784" in text and "64 inputs" in text and "Nielsen" in text


@pytest.mark.parametrize("seeds", [0, 101, -1, 2.5, True, "3"])
def test_speeds_rejects_bad_seeds(seeds):
    with pytest.raises(ValueError, match="seeds"):
        run_speeds(seeds=seeds)


# ------------------------------------------------------------------------------------------------
# nielsen-chain


@pytest.fixture(scope="module")
def chain_result():
    return run_chain()


def test_exploding_factors_are_25(chain_result):
    case = chain_result["exploding"]
    np.testing.assert_array_equal(case["weights"], 100.0)
    np.testing.assert_allclose(case["z"], 0.0, atol=1e-6)
    np.testing.assert_allclose(case["sigma_prime"], 0.25, rtol=1e-6)
    np.testing.assert_allclose(case["factors"], 25.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["exploding", "vanishing"])
def test_chain_product_equals_jax_grad_and_float64_oracle(chain_result, name):
    case = chain_result[name]
    np.testing.assert_allclose(case["product_b"], case["grad_b"], rtol=1e-5)
    assert case["product"] == case["product_b"][0] and case["grad_b1"] == case["grad_b"][0]
    assert case["relative_difference"] < 1e-5
    expected = chain_oracle(case["weights"], case["biases"], chain_result["x"])
    np.testing.assert_allclose(case["product_b"], expected, rtol=1e-5)


def test_exploding_product_is_nielsens(chain_result):
    case = chain_result["exploding"]
    assert case["nielsen"] == 0.25 * 25**3
    np.testing.assert_allclose(case["product"], case["nielsen"], rtol=1e-6)
    np.testing.assert_allclose(case["bound"], case["nielsen"])  # every z_j = 0 attains the bound


def test_vanishing_product_is_below_the_bound(chain_result):
    case = chain_result["vanishing"]
    weights, factors = np.abs(case["weights"]), np.abs(case["factors"])
    assert np.all(factors <= weights / 4)
    assert np.all(factors[weights < 1] < 0.25)
    bound = 0.25 ** len(weights) * np.prod(weights[1:])
    np.testing.assert_allclose(case["bound"], bound)
    assert abs(case["product"]) < bound
    # Tiny: the first bias learns thousands of times more slowly than the last.
    assert abs(case["product_b"][0]) < 1e-3 * abs(case["product_b"][-1])


def test_chain_json_and_table(chain_result):
    entry = REPRODUCTIONS["nielsen-chain"]
    assert set(chain_result) == set(entry.json_keys)
    assert json.loads(json.dumps(chain_result)) == chain_result
    assert set(chain_result["exploding"]) - set(chain_result["vanishing"]) == {"nielsen"}
    text = entry.format(chain_result)
    assert "3906.25" in text and "25" in text and "jax.grad" in text
    for name in ("exploding", "vanishing"):
        assert f"{chain_result[name]['relative_difference']:.1e}" in text


def test_chain_rejects_seeds():
    with pytest.raises(ValueError, match="seeds"):
        run_chain(seeds=3)
