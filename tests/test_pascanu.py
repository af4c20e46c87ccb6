"""Pascanu, Mikolov & Bengio (2013): the bound on gradients through time as a property over
random matrices, the Gaussian spectral-radius/singular-value gap, the cliff's surface against a
direct NumPy evaluation, Algorithm 1's clipped descent, and ``reproduce pascanu-cliff``'s keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vgwidgets import _cli
from vgwidgets.engine import (
    RNNConfig,
    RNNParams,
    cliff_descent,
    cliff_surface,
    probe_through_time,
)
from vgwidgets.experiments import REPRODUCTIONS, run_cliff, spectrum_gap, through_time_bound

# One float64 structure: every example runs the same compiled program (hidden, gain, the
# nonlinearity and the length are traced).
MAX_HIDDEN, MAX_LENGTH, N_IN = 5, 12, 2


@settings(
    max_examples=30, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
@given(
    hidden=st.integers(1, MAX_HIDDEN),
    length=st.integers(2, MAX_LENGTH),
    scale=st.floats(0.05, 4.0),
    nonlinearity=st.sampled_from(["tanh", "sigmoid", "relu"]),
    seed=st.integers(0, 2**16),
)
def test_measured_decay_never_exceeds_the_bound(hidden, length, scale, nonlinearity, seed):
    """``||dL/dh_t|| <= ||dL/dh_T|| prod_k ||J_k|| <= ||dL/dh_T|| (sigma_max gamma)^(T-t)`` for
    any recurrent matrix, input and bias: random Gaussian ones at any scale."""
    rng = np.random.default_rng(seed)
    w_rec = np.zeros((4, MAX_HIDDEN, MAX_HIDDEN))
    w_rec[0, :hidden, :hidden] = scale * rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    w_in = np.zeros((4, N_IN, MAX_HIDDEN))
    w_in[0, :, :hidden] = rng.standard_normal((N_IN, hidden))
    b = np.zeros((4, MAX_HIDDEN))
    b[0, :hidden] = rng.standard_normal(hidden)
    w_out = np.zeros(MAX_HIDDEN)
    w_out[:hidden] = rng.standard_normal(hidden)
    cfg = RNNConfig(
        nonlinearity=nonlinearity, length=length, hidden=hidden, n_in=N_IN,
        max_length=MAX_LENGTH, max_hidden=MAX_HIDDEN, dtype="float64",
    )  # fmt: skip
    x = rng.standard_normal((1, MAX_LENGTH, N_IN))  # one sequence: jac_norm is its Jacobians'
    r = probe_through_time(cfg, RNNParams(w_in, w_rec, b, w_out), x, jacobians=True).trim()
    grad = r.grad_h_norm
    assert r.rec_norm == pytest.approx(np.linalg.norm(w_rec[0], 2), rel=1e-9)
    bound = through_time_bound(r)
    assert np.all(grad <= bound * (1 + 1e-9) + 1e-300)
    # The finer bound, with the measured Jacobians (its factors are each <= sigma_max gamma).
    assert np.all(r.jac_norm <= r.rec_norm * r.gamma * (1 + 1e-9))
    products = np.cumprod(r.jac_norm[1:][::-1])[::-1]  # prod_{k>t} ||J_k||, t = 1..T-1
    assert np.all(grad[:-1] <= grad[-1] * products * (1 + 1e-9) + 1e-300)


def test_gaussian_matrix_radius_near_one_and_largest_singular_value_near_two():
    """Circular law and the largest singular value's edge: radius -> 1, sigma_max -> 2."""
    gap = spectrum_gap(128, seeds=3)  # at n = 128 the radius still sits ~5-10% above 1
    assert all(0.9 < r < 1.2 for r in gap["radius"]), gap
    assert all(1.8 < s < 2.1 for s in gap["sigma_max"]), gap
    assert all(s - r > 0.6 for r, s in zip(gap["radius"], gap["sigma_max"])), gap


def _numpy_cliff(w, b):
    x = 0.5
    for _ in range(50):
        x = w / (1 + np.exp(-x)) + b
    return (1 / (1 + np.exp(-x)) - 0.7) ** 2


def test_cliff_surface_matches_a_direct_numpy_evaluation():
    ws = np.array([0.0, 2.0, 4.5, 6.0, 8.0, 10.0])
    bs = np.array([-8.0, -4.0, -3.0, -2.5, 0.0, 2.0])
    surface = cliff_surface(ws, bs)
    expected = np.array([[_numpy_cliff(w, b) for w in ws] for b in bs])
    np.testing.assert_allclose(surface, expected, rtol=1e-10, atol=1e-14)
    # The wall: along b at w = 8 the loss jumps from ~0.49 (low fixed point) to ~0.09 (high).
    column = cliff_surface([8.0], np.linspace(-6, -2, 41))[:, 0]
    assert column[0] > 0.4 and column[-1] < 0.1
    assert np.max(np.abs(np.diff(column))) > 0.3  # one grid step of 0.1 crosses the wall


def test_clipping_bounds_every_step_and_keeps_the_descent_in_the_valley():
    plain = cliff_descent((6.0, -2.5), lr=0.5, steps=200)
    clipped = cliff_descent((6.0, -2.5), lr=0.5, steps=200, threshold=1.0)
    steps = np.linalg.norm(np.diff(clipped.path, axis=0), axis=1)
    assert np.all(steps <= 0.5 + 1e-12)
    expected = 0.5 * np.minimum(clipped.grad_norm, 1.0)
    np.testing.assert_allclose(steps, expected, rtol=1e-9)
    # The plain run found the valley, then a step on the wall threw it off.
    assert plain.loss.min() < 1e-3 and plain.loss[-1] > 0.05
    assert np.max(np.linalg.norm(np.diff(plain.path, axis=0), axis=1)) > 1.0
    assert clipped.loss[-1] < 1e-3 and clipped.grad_norm.max() > 100.0


def test_cliff_reproduction_keys_and_table(capsys):
    with pytest.raises(ValueError, match="seeds does not apply to pascanu-cliff"):
        run_cliff(seeds=2)
    assert _cli.main(["reproduce", "pascanu-cliff", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == set(REPRODUCTIONS["pascanu-cliff"].json_keys)
    assert np.asarray(result["surface"]).shape == (len(result["b"]), len(result["w"]))
    assert result["clipped"]["final_loss"] < result["plain"]["final_loss"]
    text = REPRODUCTIONS["pascanu-cliff"].format(result)
    assert "Algorithm 1" in text and "largest singular value" in text
