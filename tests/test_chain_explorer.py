"""``ChainExplorer`` driven from plain Python, against a direct ``vgwidgets.chain`` call (the oracle).

Setting a control's ``.value`` outside a kernel fires ``observe`` synchronously
(shared/FIELD_NOTES.md), so every test moves controls as a learner would and reads back what the
explorer computed, drew and rendered.
"""

import functools

import ipywidgets
import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.widgets import ChainExplorer

ACTIVATIONS = sorted(vg.ACTIVATIONS)


@pytest.fixture
def make(explorers):
    return functools.partial(explorers, ChainExplorer)


def _oracle(explorer):
    c = explorer.controls
    n, x, activation = c.n_layers.value, c.x.value, c.activation.value
    weights = [c.weight.value] * n
    if c.centre.value:
        biases = vg.centred_biases(weights, x, activation=activation)
    else:
        biases = [c.bias.value] * n
    return vg.chain(weights, biases, x, activation=activation)


def _assert_consistent(explorer):
    """``result``, ``plotted``, the artists and the summary all agree with the oracle."""
    expected = _oracle(explorer)
    for field in expected._fields:
        np.testing.assert_allclose(
            getattr(explorer.result, field), getattr(expected, field), rtol=1e-6, err_msg=field
        )
    bars = np.abs(np.concatenate([[expected.first_derivative], expected.factors]))
    np.testing.assert_allclose(explorer.plotted.bars, bars, rtol=1e-6)
    drawn = [r.get_y() + r.get_height() for r in explorer.artists.bars if r.get_visible()]
    np.testing.assert_allclose(drawn, explorer.plotted.bar_ends)
    if np.all(np.isfinite(bars) & (bars > 0)):
        np.testing.assert_allclose(drawn, bars, rtol=1e-6)
    np.testing.assert_allclose(explorer.plotted.running, np.abs(expected.product_b), rtol=1e-6)
    assert f"{float(expected.product):.4e}" in explorer.summary.value
    assert f"{float(expected.grad_b1):.4e}" in explorer.summary.value
    assert explorer.error is None and explorer.status.value == ""
    assert explorer.png.startswith(b"\x89PNG")


MOVES = [
    ("n_layers", 9),
    ("weight", 3.5),
    ("weight", -2.0),
    ("bias", -1.5),
    ("x", -0.8),
    ("centre", True),
    ("n_layers", 1),
    ("n_layers", 30),
]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_control_updates_result_plot_and_png(make, activation):
    explorer = make(activation=activation)
    _assert_consistent(explorer)
    figure, image = explorer.figure, explorer.image
    for name, value in MOVES:
        before = explorer.png
        getattr(explorer.controls, name).value = value
        _assert_consistent(explorer)
        assert explorer.png != before, name
    assert explorer.figure is figure and explorer.artists.figure is figure  # built once
    assert explorer.image is image


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_activation_dropdown_switches_curve_and_bound(make, activation):
    start = "tanh" if activation == "sigmoid" else "sigmoid"
    explorer = make(activation=start)
    assert activation in [value for _, value in explorer.controls.activation.options]
    explorer.controls.activation.value = activation
    bound = vg.ACTIVATIONS[activation].max_derivative
    assert explorer.plotted.bound == bound
    np.testing.assert_array_equal(explorer.artists.bound_line.get_ydata(), [bound, bound])
    _assert_consistent(explorer)


def test_sigmoid_bound_is_a_quarter_and_tanh_one(make):
    explorer = make()
    assert explorer.artists.bound_line.get_ydata()[0] == 0.25
    assert "1/4" in explorer.artists.bound_text.get_text()
    explorer.controls.activation.value = "tanh"
    assert explorer.artists.bound_line.get_ydata()[0] == 1.0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_centring_puts_every_z_at_zero_and_disables_the_bias(make, activation):
    explorer = make(activation=activation, n_layers=12, weight=3.0, bias=2.0, x=1.3)
    assert not explorer.controls.bias.disabled
    explorer.controls.centre.value = True
    np.testing.assert_allclose(explorer.result.z, 0.0, atol=1e-6)
    assert explorer.controls.bias.disabled
    slope_at_zero = explorer.result.derivatives[0]
    np.testing.assert_allclose(explorer.result.derivatives, slope_at_zero)
    explorer.controls.bias.value = -3.0  # ignored while centred
    np.testing.assert_allclose(explorer.result.z, 0.0, atol=1e-6)
    explorer.controls.centre.value = False
    assert not explorer.controls.bias.disabled
    assert explorer.result.z[0] == pytest.approx(3.0 * 1.3 - 3.0)


def test_nielsen_exploding_chain_gives_25_per_factor(make):
    explorer = make(weight=100.0, centre=True, x=0.5)
    np.testing.assert_allclose(explorer.result.factors, 25.0, rtol=1e-6)
    np.testing.assert_allclose(explorer.result.product, 0.25 * 25.0**3, rtol=1e-5)


@pytest.mark.parametrize("weight", [100.0, 150.0])
def test_overflow_shows_inf_and_does_not_raise(make, weight):
    explorer = make(weight=weight, centre=True)
    explorer.controls.n_layers.value = 30  # 25**29 (w = 100) or 37.5**29 > 3.4e38
    assert np.isinf(explorer.result.product)
    assert explorer.error is None
    assert explorer.plotted.overflow
    assert "overflow: inf" in explorer.summary.value
    assert "overflow: inf" in explorer.artists.note.get_text()
    assert "inf" in explorer.artists.title.get_text()
    assert np.isfinite(explorer.plotted.ylim).all()
    assert explorer.png.startswith(b"\x89PNG")
    explorer.controls.n_layers.value = 4  # back to finite, the note goes
    assert not explorer.plotted.overflow and "overflow" not in explorer.summary.value


def test_construction_never_calls_display(monkeypatch):
    import IPython.display

    def forbidden(*args, **kwargs):
        raise AssertionError("display() called during construction")

    monkeypatch.setattr(IPython.display, "display", forbidden)
    try:
        import IPython.core.display_functions as functions
    except ImportError:  # IPython < 7.23
        pass
    else:
        monkeypatch.setattr(functions, "display", forbidden)
    explorer = ChainExplorer(n_layers=5)
    try:
        assert explorer.png.startswith(b"\x89PNG")
    finally:
        explorer.close()


def test_pyplot_figures_do_not_grow(make):
    before = plt.get_fignums()
    explorer = make()
    controls = explorer.controls
    for i in range(50):
        if i % 3 == 0:
            controls.weight.value = 0.5 + 0.1 * i
        elif i % 3 == 1:
            controls.n_layers.value = 1 + i % 30
        else:
            controls.x.value = -2.0 + 0.05 * i
    assert explorer.error is None
    assert plt.get_fignums() == before


def test_it_is_a_vbox_with_its_figure_inside(make):
    explorer = make()
    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.image in explorer.children and explorer.status in explorer.children
    assert vg.ChainExplorer is ChainExplorer


def test_initial_values_reach_the_controls(make):
    explorer = make(n_layers=7, weight=-3.0, bias=0.5, centre=True, activation="tanh", x=2.0,
                    continuous_update=True)  # fmt: skip
    c = explorer.controls
    values = (c.n_layers.value, c.weight.value, c.bias.value, c.centre.value,
              c.activation.value, c.x.value)  # fmt: skip
    assert values == (7, -3.0, 0.5, True, "tanh", 2.0)
    assert c.weight.continuous_update and c.n_layers.continuous_update
    assert not make(continuous_update=False).controls.weight.continuous_update
    _assert_consistent(explorer)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_layers": 0}, r"n_layers must be an integer in \[1, 30\]; got 0"),
        ({"n_layers": 31}, r"n_layers must be an integer in \[1, 30\]; got 31"),
        ({"n_layers": 2.0}, r"n_layers must be an integer .* got 2.0 of type float"),
        ({"weight": 151.0}, r"weight must be a number in \[-10, 150\]; got 151.0"),
        ({"weight": float("nan")}, r"weight must be a finite real number; got nan"),
        ({"bias": -11}, r"bias must be a number in \[-10, 10\]; got -11"),
        ({"x": 5.5}, r"x must be a number in \[-5, 5\]; got 5.5"),
        ({"centre": "yes"}, r"centre must be True or False; got 'yes'"),
        ({"activation": "softsine"}, r"activation must be one of 'sigmoid', .*; got 'softsine'"),
        ({"continuous_update": 1}, r"continuous_update must be True or False; got 1"),
    ],
)
def test_bad_initial_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChainExplorer(**kwargs)


# What ``centre`` does and where phi'(0) stands against the slope's peak (its docstring), each
# against jax.grad of the registered activation.
PEAK_AT_ZERO = ["sigmoid", "tanh", "lifted_sigmoid", "elu", "leaky_relu", "prelu"]


def _slope(activation, z):
    return float(jax.grad(vg.ACTIVATIONS[activation].fn)(float(z)))


@pytest.mark.parametrize("activation", PEAK_AT_ZERO)
def test_centre_sits_at_the_slope_peak_where_the_docstring_says(make, activation):
    explorer = make(activation=activation, centre=True, weight=2.0, n_layers=5)
    bound = vg.ACTIVATIONS[activation].max_derivative
    assert _slope(activation, 0.0) == pytest.approx(bound, rel=1e-6)
    np.testing.assert_allclose(explorer.result.derivatives, bound, rtol=1e-6)
    grid = np.linspace(-6.0, 6.0, 2401)
    assert max(_slope(activation, z) for z in grid) <= bound * (1 + 1e-6)


def test_centred_relu_chain_has_exactly_zero_gradient(make):
    assert _slope("relu", 0.0) == 0.0  # JAX's relu'(0) = 0
    explorer = make(activation="relu", centre=True, weight=3.0, n_layers=6)
    assert float(explorer.result.grad_b1) == 0.0 and float(explorer.result.product) == 0.0
    assert np.all(np.asarray(explorer.result.derivatives) == 0.0)


def test_gelu_slope_peaks_near_sqrt2_not_at_zero():
    assert _slope("gelu", 0.0) == pytest.approx(0.5, abs=1e-6)
    grid = np.linspace(0.0, 3.0, 3001)
    slopes = np.array([_slope("gelu", z) for z in grid])
    peak = grid[int(np.argmax(slopes))]
    assert peak == pytest.approx(np.sqrt(2.0), abs=2e-2)
    assert slopes.max() == pytest.approx(1.1289, abs=1e-3)
    assert slopes.max() == pytest.approx(vg.ACTIVATIONS["gelu"].max_derivative, rel=1e-5)


def test_selu_supremum_is_approached_from_below_zero():
    bound = vg.ACTIVATIONS["selu"].max_derivative  # lambda * alpha, about 1.758
    left = [_slope("selu", -(10.0**-k)) for k in range(1, 7)]
    assert all(s < bound for s in left) and np.all(np.diff(left) > 0)
    assert left[-1] == pytest.approx(bound, rel=1e-5)
    right = _slope("selu", 1e-6)
    assert right == pytest.approx(1.0507, abs=1e-4) and right < 0.6 * bound
    assert _slope("selu", 0.0) == pytest.approx(bound, rel=1e-6)  # JAX takes the left branch
