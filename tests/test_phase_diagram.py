"""``PhaseDiagram`` and the phase map it draws, against ``depth_scales``, ``critical_weight_var``
and ``regime_result`` run directly. (Failing updates and abuse: test_explorers / test_abuse.)"""

import math

import jax
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import count_compilations, critical_weight_var, depth_scales
from vgwidgets.experiments import (
    MAP_OPTIONS,
    critical_line,
    measured_values,
    phase_map,
    quantity_values,
    regime_batch,
    regime_config,
    regime_result,
)
from vgwidgets.widgets import PhaseDiagram


@pytest.fixture(scope="module")
def explorer():
    built = PhaseDiagram(width=16, batch=16)
    yield built
    built.close()


def test_the_critical_line_on_the_map_follows_critical_weight_var():
    m = phase_map("tanh")
    for i in (0, 10):  # sb^2 = 0 and 0.2: linear interpolation on a 0.1 grid
        exact = critical_weight_var("tanh", float(m.bias_axis[i]))
        assert m.critical[i] == pytest.approx(exact, abs=0.02)
    np.testing.assert_allclose(phase_map("relu").critical, 2.0, rtol=1e-9)


def test_critical_line_interpolates_and_leaves_rows_without_a_crossing():
    line = critical_line([1.0, 2.0, 3.0], [[-1.0, -0.5, 0.5], [-1.0, -0.9, -0.8]])
    assert line[0] == pytest.approx(2.5) and math.isnan(line[1])


def test_the_map_is_depth_scales_and_the_dots_are_measured_rates():
    m = phase_map("tanh")
    weight_var, bias_var = np.meshgrid(m.weight_axis, m.bias_axis)
    np.testing.assert_array_equal(
        quantity_values(m.theory, "ln chi1"),
        np.log(depth_scales("tanh", weight_var, bias_var, **MAP_OPTIONS).chi1),
    )
    np.testing.assert_array_equal(measured_values(m.measured, "ln chi1"), m.measured.rate)
    assert np.all(np.isnan(measured_values(m.measured, "log10 xi_c")))
    # width-128 networks agree with ln chi1 away from the critical line
    log_chi1 = np.log(m.measured.theory.chi1)
    far = np.abs(log_chi1) > 0.3
    error = np.abs(m.measured.rate - log_chi1)
    np.testing.assert_array_less(error[far], 0.2 * np.abs(log_chi1)[far])
    with pytest.raises(ValueError, match="quantity must be one of"):
        quantity_values(m.theory, "chi2")


def test_the_profile_is_the_regime_explorers_network(explorer):
    c = explorer.controls
    c.weight_var.value, c.bias_var.value, c.depth.value = 2.5, 0.1, 20
    config = regime_config(weight_scale=math.sqrt(2.5), bias_scale=math.sqrt(0.1), depth=20,
                           width=16, activation="tanh", initializer="normal_fan_in",
                           float64=False)  # fmt: skip
    x, y = regime_batch(16, 16, 0)
    params = vg.init_mlp(config, key=jax.random.key(0))
    oracle = regime_result(config, params, x, y, 1.0)
    r = explorer.result
    np.testing.assert_array_equal(r.regime.probe.grad_b_norm, oracle.probe.grad_b_norm)
    assert r.regime.phase == "exploding" and float(r.point.chi1) > 1
    map_data, profile = explorer.plotted
    assert map_data.point == (2.5, 0.1)
    np.testing.assert_array_equal(profile.grad, oracle.probe.grad_b_norm)
    assert "chaotic" in explorer.summary.value


def test_sliders_and_quantity_compile_nothing_and_activations_only_on_first_use(explorer):
    c = explorer.controls
    c.activation.value = "relu"  # first use: may compile
    c.activation.value = "tanh"
    with count_compilations() as compiled:
        c.weight_var.value, c.bias_var.value, c.depth.value = 0.7, 0.2, 150
        c.quantity.value = "log10 xi_c"
        c.activation.value = "relu"
        c.quantity.value = "ln chi1"
        c.activation.value = "tanh"
    assert compiled.count == 0, compiled
    assert explorer.error is None
    map_data, _ = explorer.plotted
    assert map_data.clim == (-1.5, 1.5)  # ln chi1 of tanh reaches below -1.5 at sw^2 = 0.1


def test_a_depth_scale_map_is_log10_on_a_sequential_scale(explorer):
    explorer.controls.quantity.value = "log10 |xi_grad|"
    map_data, _ = explorer.plotted
    m = explorer.result.map
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(map_data.values, np.log10(np.abs(m.theory.xi_grad)))
    assert map_data.clim[1] <= 3.0 and map_data.clim[0] >= -1.0
    explorer.controls.quantity.value = "ln chi1"
