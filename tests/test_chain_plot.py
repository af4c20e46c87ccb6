"""The chain figure alone: what its artists hold, compared with the ``ChainResult`` they drew."""

import io

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import vgwidgets as vg
from vgwidgets.experiments import activation_curve
from vgwidgets.plotting import bound_label, chain_figure, plot_chain, update_chain_figure

ACTIVATIONS = sorted(vg.ACTIVATIONS)


def _result(weight=1.5, n=5, x=0.7, bias=0.1, activation="sigmoid", centre=False):
    weights = np.full(n, weight)
    biases = vg.centred_biases(weights, x, activation=activation) if centre else np.full(n, bias)
    return vg.chain(weights, biases, x, activation=activation)


def _draw(artists, result, activation, **kwargs):
    return update_chain_figure(artists, result, activation_curve(activation, result.z), **kwargs)


def _bar_ends(artists):
    return np.array([r.get_y() + r.get_height() for r in artists.bars if r.get_visible()])


def _png(figure):
    buffer = io.BytesIO()
    figure.canvas.print_png(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_artists_hold_the_result(activation):
    artists = chain_figure()
    result = _result(activation=activation)
    data = _draw(artists, result, activation)
    bars = np.abs(np.concatenate([[result.first_derivative], result.factors]))
    np.testing.assert_allclose(data.bars, bars, rtol=1e-6)
    np.testing.assert_allclose(_bar_ends(artists), bars, rtol=1e-6)
    assert all(r.get_y() == 1.0 for r in artists.bars[:5])  # bars start at the line 1
    assert not any(r.get_visible() for r in artists.bars[5:])
    np.testing.assert_allclose(artists.running_line.get_ydata(), np.abs(result.product_b))
    np.testing.assert_array_equal(artists.running_line.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(
        artists.first_point.get_data(), [[result.z[0]], [result.derivatives[0]]]
    )
    np.testing.assert_allclose(artists.points.get_xdata(), result.z[1:])
    np.testing.assert_allclose(artists.points.get_ydata(), result.derivatives[1:])
    bound = vg.ACTIVATIONS[activation].max_derivative
    assert data.bound == bound
    np.testing.assert_array_equal(artists.bound_line.get_ydata(), [bound, bound])
    assert artists.bound_text.get_text() == bound_label(bound)
    # The curves are phi and phi' (the slope where phi is differentiable).
    phi = np.asarray(vg.ACTIVATIONS[activation].fn(data.z_grid))
    np.testing.assert_allclose(artists.phi_line.get_ydata(), phi, rtol=1e-6)
    assert np.max(data.slope) <= bound + 1e-6
    bottom, top = artists.ax_bars.get_ylim()
    assert (bottom, top) == data.ylim and artists.ax_bars.get_yscale() == "log"
    assert bottom <= min(bars.min(), 1.0) and top >= max(bars.max(), 1.0)
    assert data.note == "" and not data.overflow


def test_bound_label_is_a_fraction_where_there_is_one():
    assert bound_label(0.25) == "sup $\\varphi'$ = 1/4"
    assert bound_label(1.0) == "sup $\\varphi'$ = 1"
    assert bound_label(0.1234567) == "sup $\\varphi'$ = 0.123"


def test_the_figure_is_redrawn_in_place_and_pyplot_never_knows():
    before = plt.get_fignums()
    artists = chain_figure()
    first = _png(artists.figure)
    # the layer axis ends at a steady count (5, 10, ..., 30), so that it stays put while a
    # slider moves the number of layers within a stop
    for n, end in ((1, 5), (30, 30), (7, 10)):
        _draw(artists, _result(n=n), "sigmoid", title=f"{n} layers")
        assert artists.title.get_text() == f"{n} layers"
        assert artists.ax_bars.get_xlim() == (0.4, end + 0.6)
        assert len(_bar_ends(artists)) == n
    assert isinstance(artists.figure, Figure)
    assert _png(artists.figure) != first
    assert plt.get_fignums() == before


def test_overflow_is_clipped_marked_and_named():
    artists = chain_figure()
    result = _result(weight=150.0, n=30, x=1.0, centre=True)
    assert np.isinf(result.product)  # 37.5**29 is past float32's 3.4e38
    data = _draw(artists, result, "sigmoid")
    bottom, top = data.ylim
    assert np.isfinite([bottom, top]).all() and 0 < bottom < top
    infinite = np.isinf(data.running)
    assert infinite[0] and data.overflow
    np.testing.assert_array_equal(data.running_drawn[infinite], top)
    np.testing.assert_array_equal(artists.inf_marks.get_xdata(), data.layers[infinite])
    assert "overflow: inf" in data.note and "overflow: inf" in artists.note.get_text()
    assert _png(artists.figure).startswith(b"\x89PNG")


def test_zeros_inf_and_nan_all_draw():
    # Plain data, so the plotting layer can be given what the engine rarely returns at once.
    result = _result(n=6)
    factors = np.array([0.0, np.inf, np.nan, 2.0, 0.5], np.float32)
    running = np.array([np.nan, np.inf, 0.0, 1e-30, 0.5, 0.2], np.float32)
    result = result._replace(factors=factors, product_b=running)
    artists = chain_figure()
    data = _draw(artists, result, "tanh")
    bottom, top = data.ylim
    np.testing.assert_array_equal(data.bar_ends[1:4], [bottom, top, bottom])
    np.testing.assert_array_equal(artists.zero_marks.get_xdata(), [2, 3])
    np.testing.assert_array_equal(artists.inf_marks.get_xdata(), [2, 3])
    np.testing.assert_array_equal(artists.nan_marks.get_xdata(), [1, 4])
    assert bottom <= 1e-30
    for words in ("overflow: inf", "exact 0", "nan"):
        assert words in data.note
    assert _png(artists.figure).startswith(b"\x89PNG")


def test_non_finite_z_is_left_out_of_the_curve_panel():
    result = _result(n=3)._replace(z=np.array([0.5, np.inf, -np.inf], np.float32))
    artists = chain_figure()
    data = _draw(artists, result, "relu")
    assert np.isnan(data.points_z[1:]).all()
    assert artists.ax_slope.get_xlim() == (-6.0, 6.0)
    _png(artists.figure)


def test_too_many_layers_for_the_figure_is_a_value_error():
    artists = chain_figure(max_layers=3)
    with pytest.raises(ValueError, match="result must have 1 to 3 layers"):
        _draw(artists, _result(n=4), "sigmoid")
    with pytest.raises(ValueError, match="activation must be one of"):
        activation_curve("softsine")
    with pytest.raises(ValueError, match="max_layers"):
        chain_figure(max_layers=0)


def test_plot_chain_draws_one_result():
    result = _result(weight=100.0, n=4, x=0.5, centre=True)
    figure = plot_chain(result, activation_curve("sigmoid", result.z),
                        title="Nielsen's exploding chain")  # fmt: skip
    assert isinstance(figure, Figure)
    assert figure.get_suptitle() == "Nielsen's exploding chain"
    assert _png(figure).startswith(b"\x89PNG")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_curve_is_the_activation_and_its_jax_grad(activation):
    result = _result(weight=9.0, n=4, x=1.0, activation=activation)
    curve = activation_curve(activation, result.z)
    fn = vg.ACTIVATIONS[activation].fn
    finite = np.abs(np.asarray(result.z))[np.isfinite(result.z)]
    assert curve.half_width == max(6.0, 1.1 * float(finite.max()))
    assert curve.z[0] == -curve.z[-1] and curve.z.shape == (401,)
    np.testing.assert_allclose(curve.phi, np.asarray(fn(curve.z)), rtol=1e-6)
    grad = np.array([float(jax.grad(fn)(z)) for z in curve.z[::40]])
    np.testing.assert_allclose(curve.slope[::40], grad, rtol=1e-5, atol=1e-7)
    assert (curve.name, curve.bound) == (activation, vg.ACTIVATIONS[activation].max_derivative)
