"""Networks trained together under vmap, against one network trained alone; the multiplier fit;
the ``trainable-depth`` reproduction's JSON on a tiny grid."""

import json

import jax
import numpy as np
import pytest

from vgwidgets.engine import TrainGridConfig, train_grid
from vgwidgets.experiments import REPRODUCTIONS, _trainable_repro, fit_multiplier

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 6)).astype(np.float32)
LABELS = (X[:, 0] + X[:, 1] > 0).astype(int)
Y = np.eye(2, dtype=np.float32)[LABELS]
TINY = TrainGridConfig(width=8, depth=3, steps=60, checkpoints=3, batch=16, learning_rate=0.1)


def test_networks_trained_together_do_not_interact():
    # The same networks in another order (one compiled program): each column is unchanged, so
    # every network trains as it would alone.
    together = train_grid(TINY, [0.5, 1.5, 3.0], X, Y, X, LABELS, key=jax.random.key(0))
    shuffled = train_grid(TINY, [3.0, 0.5, 1.5], X, Y, X, LABELS, key=jax.random.key(0))
    np.testing.assert_allclose(together.accuracy, shuffled.accuracy[:, [1, 2, 0]])
    np.testing.assert_allclose(together.loss, shuffled.loss[:, [1, 2, 0]], rtol=1e-5)
    assert together.steps.tolist() == [20, 40, 60]
    assert together.accuracy[-1, 1] > 0.8  # a linearly separable toy problem is learnt
    assert together.loss[-1, 1] < together.loss[0, 1]


def test_fit_multiplier_finds_the_separating_c():
    depths, xi_c = [10, 20, 40, 80], [5.0, 20.0]
    trained = [[True, True], [True, True], [False, True], [False, True]]
    c, agreement, (low, high) = fit_multiplier(depths, xi_c, trained)
    assert agreement == 1.0 and 4.0 <= low <= c <= high < 8.0  # 20 <= 5c < 40 and 80 <= 20c


def test_reproduction_json_keys_on_a_tiny_grid():
    result = json.loads(json.dumps(_trainable_repro.run_grid(
        [1.0, 2.0], [2], TINY.replace(steps=20, checkpoints=2),
    )))  # fmt: skip
    entry = REPRODUCTIONS["trainable-depth"]
    assert set(result) == set(entry.json_keys)
    assert np.asarray(result["accuracy"]).shape == (2, 1, 2)  # readings, depths, sw^2
    assert [f["steps"] for f in result["fits"]] == [10, 20]
    assert "fitted multiplier c" in entry.format(result)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 10, "checkpoints": 3}, "steps must be a multiple of checkpoints=3; got 10"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"depth": 0}, r"depth must be an integer in \[1, 1000\]; got 0"),
    ],
)
def test_bad_configs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainGridConfig(**kwargs)


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="labels_test must have one label per test input"):
        train_grid(TINY, [1.0], X, Y, X, LABELS[:5], key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"weight_vars must hold 1 to 256 variances in \(0, 100\]"):
        train_grid(TINY, [0.0], X, Y, X, LABELS, key=jax.random.key(0))


def test_full_is_refused_by_a_reproduction_without_a_full_grid(capsys):
    from vgwidgets import _cli

    assert _cli.main(["reproduce", "jacobian-spectrum", "--full"]) == 2
    assert "--full is not an option of jacobian-spectrum" in capsys.readouterr().err
