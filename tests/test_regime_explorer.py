"""``RegimeExplorer`` driven from plain Python, against ``probe`` and ``mean_field`` run directly.

Setting a control's ``.value`` outside a kernel fires ``observe`` synchronously, so every test
moves controls as a learner would and reads back what the explorer computed and drew. The theory
it wires (``phase_of``, ``predicted_norms``, ...) is tested in ``test_regime.py``; a failing
update, shared by every explorer, in ``test_explorers.py``.
"""

import functools

import jax
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import count_compilations, mean_field
from vgwidgets.experiments import phase_of, regime_batch
from vgwidgets.widgets import RegimeExplorer

# fan_in * Var[W_ij] of each initializer for a square width x width layer (its docstring).
GAIN = {
    "normal": lambda n: n,
    "normal_fan_in": lambda n: 1.0,
    "small_normal": lambda n: 1e-4 * n,
    "glorot_standard": lambda n: 1.0 / 3.0,
    "lecun_normal": lambda n: 1.0,
    "glorot_normal": lambda n: 1.0,
    "glorot_uniform": lambda n: 1.0,
    "he_normal": lambda n: 2.0,
    "he_uniform": lambda n: 2.0,
    "orthogonal": lambda n: 1.0,
}


@pytest.fixture
def make(explorers):
    return functools.partial(explorers, RegimeExplorer, width=16, batch=16)


def _oracle(explorer):
    """``probe`` on ``init_mlp``'s network for the controls' config, run directly."""
    c = explorer.controls
    config = vg.MLPConfig(
        n_in=c.width.value, depth=c.depth.value, width=c.width.value, n_out=10,
        activation=c.activation.value, initializer=c.initializer.value,
        weight_scale=c.weight_scale.value, bias_scale=c.bias_scale.value, max_depth=200,
        dtype="float64" if c.float64.value else "float32",
    )  # fmt: skip
    params = vg.init_mlp(config, key=jax.random.key(explorer.seed))
    x, y = regime_batch(c.width.value, explorer.batch_size, explorer.seed)
    return config, vg.probe(config, params, x, y).trim()


def _assert_consistent(explorer):
    config, expected = _oracle(explorer)
    result, plotted = explorer.result, explorer.plotted
    assert result.config == config
    for field in ("grad_b_norm", "act_std", "overflow_layer", "loss"):
        np.testing.assert_allclose(
            getattr(result.probe, field), getattr(expected, field), rtol=0, err_msg=field
        )
    np.testing.assert_array_equal(plotted.grad, result.probe.grad_b_norm)
    np.testing.assert_array_equal(plotted.std, result.probe.act_std)
    finite = np.isfinite(plotted.grad) & (plotted.grad > 0)
    np.testing.assert_allclose(explorer.artists.grad_line.get_ydata()[finite], plotted.grad[finite])
    # The prediction: mean_field's chi1 at sw^2 = weight_scale^2 * gain, sb^2 = bias_scale^2.
    gain = GAIN[config.initializer](config.width)
    assert result.weight_var == pytest.approx(config.weight_scale**2 * gain, rel=0.02)
    assert result.bias_var == config.bias_scale**2
    mf = mean_field(config.activation, result.weight_var, result.bias_var)
    assert result.chi1 == float(mf.chi1) == plotted.chi1
    assert result.phase == plotted.phase == phase_of(result.chi1, config.depth)
    last = float(result.probe.grad_b_norm[-1])
    if np.isfinite(last) and last > 0:
        layers = np.arange(1, config.depth + 1)
        np.testing.assert_allclose(
            plotted.predicted, last * result.chi1 ** ((config.depth - layers) / 2), rtol=1e-9
        )
    assert explorer.error is None and explorer.status.value == ""
    assert result.phase in explorer.summary.value
    assert f"depth L = <code>{config.depth}</code> vs depth scale" in explorer.summary.value
    assert explorer.png.startswith(b"\x89PNG")


SLIDER_MOVES = [("weight_scale", 2.5), ("bias_scale", 0.4), ("depth", 200), ("weight_scale", 0.3),
                ("depth", 1)]  # fmt: skip
OTHER_MOVES = [("width", 32), ("initializer", "he_normal"), ("float64", True), ("depth", 150),
               ("activation", "gelu")]  # fmt: skip


def _move(explorer, moves):
    """Make each move; after each, everything agrees with the oracle and the PNG changed."""
    _assert_consistent(explorer)
    figure = explorer.figure
    for name, value in moves:
        before = explorer.png
        getattr(explorer.controls, name).value = value
        _assert_consistent(explorer)
        assert explorer.png != before, name
    assert explorer.figure is figure  # built once


@pytest.mark.parametrize("activation", sorted(vg.ACTIVATIONS))
def test_every_slider_updates_result_plot_and_png(make, activation):
    _move(make(activation=activation), SLIDER_MOVES)


def test_width_initializer_dtype_and_activation_controls_update(make):
    _move(make(activation="tanh"), OTHER_MOVES)


@pytest.mark.parametrize("initializer", sorted(vg.INITIALIZERS))
def test_every_initializer_maps_to_its_weight_variance(make, initializer):
    explorer = make(initializer=initializer, weight_scale=1.5)  # 199 matrices of 16 x 16
    expected = 1.5**2 * GAIN[initializer](16)
    assert explorer.result.weight_var == pytest.approx(expected, rel=0.02)
    _assert_consistent(explorer)


def test_the_dropdowns_offer_every_activation_and_initializer(make):
    c = make().controls
    assert [v for _, v in c.activation.options] == list(vg.ACTIVATIONS)
    assert [v for _, v in c.initializer.options] == list(vg.INITIALIZERS)


@pytest.mark.parametrize(
    ("weight_scale", "phase"),
    [(1.0, "vanishing"), (2.0**0.5, "near critical"), (2.0, "exploding")],
)
def test_relu_phases_at_chi1_equal_half_sw2(make, weight_scale, phase):
    # ReLU: chi1 = sw^2 / 2 at any q (Schoenholz et al. 2017); normal_fan_in gives sw = scale.
    explorer = make(activation="relu", bias_scale=0.0, weight_scale=weight_scale, width=64)
    assert explorer.result.chi1 == pytest.approx(weight_scale**2 / 2, rel=0.01)
    assert explorer.result.phase == phase
    assert phase in explorer.artists.phase_text.get_text()


def test_the_label_weighs_the_depth_against_the_depth_scale(make):
    # tanh near its edge of chaos: |ln chi1| small but not 0, so the depth decides the label.
    explorer = make(activation="tanh", weight_scale=1.1, bias_scale=0.0, depth=5)
    r = explorer.result
    xi = abs(r.depth_scale)
    assert 5 < xi < 200, xi  # the slider's range holds depths on both sides of |xi|
    assert r.phase == "near critical"
    explorer.controls.depth.value = 200
    r = explorer.result
    assert r.phase == ("exploding" if r.chi1 > 1 else "vanishing")
    assert r.phase in explorer.summary.value and r.phase in explorer.artists.phase_text.get_text()
    assert f"L = 200 vs |ξ| = {xi:.3g}" in explorer.artists.phase_text.get_text()
    explorer.controls.depth.value = int(xi)  # L <= |xi|: near critical again
    assert explorer.result.phase == "near critical"
    explorer.controls.depth.value = int(xi) + 1
    assert explorer.result.phase != "near critical"


def test_moving_the_sliders_compiles_nothing(make):
    explorer = make(activation="tanh")
    c = explorer.controls
    c.weight_scale.value, c.bias_scale.value, c.depth.value = 1.3, 0.2, 40  # warm every path
    with count_compilations() as log:
        for i in range(12):
            c.weight_scale.value = 0.2 + 0.3 * i
            c.bias_scale.value = 0.05 * i
            c.depth.value = 1 + 17 * i
    assert explorer.error is None
    assert log.names == []


def test_overflow_in_float32_is_shown_and_float64_computes_it(make):
    explorer = make(activation="relu", weight_scale=10.0, depth=200)
    r, p = explorer.result, explorer.plotted
    assert explorer.error is None and explorer.png.startswith(b"\x89PNG")
    assert r.probe.grad_b_norm.dtype == np.float32
    assert int(r.probe.overflow_layer) >= 0
    assert p.overflow and p.overflow_layer == int(r.probe.overflow_layer) + 1
    assert explorer.artists.grad_marks.overflow.get_visible()
    assert explorer.artists.grad_marks.overflow.get_xdata()[0] == p.overflow_layer
    assert f"from layer {p.overflow_layer}" in explorer.summary.value
    assert "overflow" in explorer.artists.note.get_text()
    assert not np.isfinite(p.grad).all()
    assert all(np.isfinite(lim).all() and 0 < lim[0] < lim[1] for lim in (p.grad_ylim, p.std_ylim))
    # float64 reaches 1.8e308: at depth 60 it holds what float32 cannot.
    explorer.controls.depth.value = 60
    assert explorer.plotted.overflow and explorer.error is None
    explorer.controls.float64.value = True
    r64 = explorer.result
    assert r64.probe.grad_b_norm.dtype == np.float64 and r64.config.dtype == "float64"
    assert int(r64.probe.overflow_layer) == -1 and np.isfinite(r64.probe.grad_b_norm).all()
    assert r64.probe.grad_b_norm.max() > np.finfo(np.float32).max
    assert not explorer.plotted.overflow and "overflow" not in explorer.summary.value
    _assert_consistent(explorer)


def test_it_is_public_and_never_displays_on_construction(monkeypatch):
    import IPython.display

    def forbidden(*args, **kwargs):
        raise AssertionError("display() called during construction")

    monkeypatch.setattr(IPython.display, "display", forbidden)
    explorer = vg.RegimeExplorer(width=16, batch=8)
    try:
        assert vg.RegimeExplorer is RegimeExplorer and "RegimeExplorer" in vg.__all__
        assert explorer.image in explorer.children and explorer.png.startswith(b"\x89PNG")
    finally:
        explorer.close()


def test_initial_values_reach_the_controls(make):
    explorer = make(weight_scale=0.5, bias_scale=1.5, depth=9, width=32, activation="selu",
                    initializer="orthogonal", float64=True, continuous_update=True)  # fmt: skip
    c = explorer.controls
    values = (c.weight_scale.value, c.bias_scale.value, c.depth.value, c.width.value,
              c.activation.value, c.initializer.value, c.float64.value)  # fmt: skip
    assert values == pytest.approx((0.5, 1.5, 9, 32, "selu", "orthogonal", True))
    assert c.weight_scale.continuous_update and c.depth.continuous_update
    _assert_consistent(explorer)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight_scale": 0.05}, r"weight_scale must be a number in \[0.1, 31.6228\]; got 0.05"),
        ({"weight_scale": float("inf")}, r"weight_scale must be a finite real number; got inf"),
        ({"bias_scale": -0.1}, r"bias_scale must be a number in \[0, 2\]; got -0.1"),
        ({"depth": 201}, r"depth must be an integer in \[1, 200\]; got 201"),
        ({"depth": 0}, r"depth must be an integer in \[1, 200\]; got 0"),
        ({"width": 100}, r"width must be one of 16, 32, 64, 128; got 100"),
        ({"activation": "softsine"}, r"activation must be one of 'sigmoid', .*; got 'softsine'"),
        ({"initializer": "xavier"}, r"initializer must be one of 'normal', .*; got 'xavier'"),
        ({"float64": "yes"}, r"float64 must be True or False; got 'yes'"),
        ({"batch": 0}, r"batch must be an integer in \[1, 1024\]; got 0"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2147483647\]; got -1"),
    ],
)
def test_bad_initial_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegimeExplorer(**kwargs)
