"""The regime theory of ``vgwidgets.experiments`` (``phase_of``, ``predicted_norms``, the batch),
against the rule written out: near critical where ``L <= |xi|``, ``xi = -1/ln chi1``."""

import math

import numpy as np
import pytest

from vgwidgets.experiments import phase_of, predicted_norms, regime_batch


def test_the_label_follows_chi1_at_a_given_depth():
    assert phase_of(0.5, 30) == "vanishing" and phase_of(2.0, 30) == "exploding"
    assert phase_of(0.0, 1) == "vanishing" and phase_of(math.inf, 1) == "exploding"
    assert phase_of(math.nan, 30) == "undefined" and phase_of(-1.0, 30) == "undefined"
    assert phase_of(1.0, 10**9) == "near critical"  # chi1 == 1 exactly: xi = inf


@pytest.mark.parametrize("log_chi1", [1e-3, 0.02, 0.049, 0.3, 1.0])
@pytest.mark.parametrize("sign", [1, -1])
def test_near_critical_exactly_where_the_depth_is_within_the_depth_scale(log_chi1, sign):
    chi1 = math.exp(sign * log_chi1)
    xi = abs(-1.0 / math.log(chi1))
    away = "exploding" if sign > 0 else "vanishing"
    for depth in range(1, 2000):
        expected = "near critical" if depth <= xi else away
        assert phase_of(chi1, depth) == expected, (chi1, depth, xi)
        # The squared gradient changes by chi1^L over the network: at most e when near critical.
        if expected == "near critical":
            assert abs(depth * math.log(chi1)) <= 1 + 1e-12


def test_the_old_band_is_not_enough_at_depth_200():
    # |ln chi1| = 0.025 was "near critical" at every depth; over 200 layers that is e^5.
    assert phase_of(math.exp(0.025), 39) == "near critical"  # xi = 40, up to rounding
    assert phase_of(math.exp(0.025), 41) == "exploding"
    assert phase_of(math.exp(-0.025), 200) == "vanishing"


def test_predicted_norms_are_the_geometric_line():
    np.testing.assert_allclose(predicted_norms(2.0, 0.25, 4), [2.0 / 8, 2.0 / 4, 2.0 / 2, 2.0])
    assert np.isnan(predicted_norms(0.0, 2.0, 3)).all()
    assert np.isnan(predicted_norms(1.0, math.inf, 3)).all()


def test_the_batch_is_fixed_by_the_seed():
    x, y = regime_batch(32, 8, 3)
    x2, y2 = regime_batch(32, 8, 3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert x.shape == (8, 32) and y.shape == (8, 10) and (y.sum(axis=1) == 1).all()
