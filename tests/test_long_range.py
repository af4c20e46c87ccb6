"""The adding problem (``reproduce long-range``): the generated task is what it says, and the
reproduction's JSON keys are the documented ones (a tiny run: one cell, 3 steps)."""

import jax
import numpy as np
import pytest

from vgwidgets.experiments import REPRODUCTIONS, adding_batch


def test_adding_batch_marks_two_values_in_the_last_length_steps():
    x, y = adding_batch(jax.random.key(0), 64, 10, 25)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (25, 64, 2) and y.shape == (64,)
    values, marker = x[..., 0], x[..., 1]
    assert not values[:15].any() and not marker[:15].any()  # left padding: zeros
    assert np.all(marker.sum(axis=0) == 2)
    first = np.argmax(marker, axis=0)
    second = 24 - np.argmax(marker[::-1], axis=0)
    assert np.all((15 <= first) & (first < 20) & (20 <= second) & (second < 25))  # one per half
    np.testing.assert_allclose(y, (values * marker).sum(axis=0), rtol=1e-6)
    assert np.all((0 <= values[15:]) & (values[15:] < 1))


def test_long_range_json_keys():
    entry = REPRODUCTIONS["long-range"]
    result = entry.run(seeds=1, lengths=(5,), steps=3, cells=("lstm",))
    assert set(result) == set(entry.json_keys)
    assert set(result["results"]["lstm"]["5"]) == {"test_mse", "learned", "final_train_loss"}
    assert "adding problem" in entry.format(result)
    with pytest.raises(ValueError, match="seeds must be an integer in"):
        entry.run(seeds=0)
