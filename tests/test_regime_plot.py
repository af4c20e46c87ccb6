"""The regime figure alone: what its artists hold, for plain arrays with every awkward value."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from vgwidgets.plotting import regime_figure, update_regime_figure
from vgwidgets.plotting import figure_png


def test_artists_hold_the_values_and_the_prediction():
    artists = regime_figure()
    grad = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    predicted = 0.1 * 0.01 ** ((4 - np.arange(1, 5)) / 2)  # chi1 = 0.01
    std = np.array([0.9, 0.8, 0.7, 0.6])
    data = update_regime_figure(artists, grad, std, predicted, chi1=0.01, phase="vanishing")
    np.testing.assert_array_equal(artists.grad_line.get_ydata(), grad)
    np.testing.assert_array_equal(artists.grad_line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(artists.predicted_line.get_ydata(), predicted)
    np.testing.assert_array_equal(artists.std_line.get_ydata(), std)
    bottom, top = artists.ax_grad.get_ylim()
    assert (bottom, top) == data.grad_ylim and bottom <= 1e-4 and top >= 1.0
    assert artists.ax_grad.get_yscale() == artists.ax_std.get_yscale() == "log"
    assert artists.phase_text.get_text() == "vanishing: χ₁ = 0.01"
    assert not data.overflow and data.note == "" and data.overflow_layer == 0
    assert not artists.grad_marks.overflow.get_visible()


def test_inf_nan_zero_and_the_overflow_layer_are_marked_and_named():
    artists = regime_figure()
    grad = np.array([np.nan, np.inf, 0.0, 2.0, 1.0])
    std = np.array([1.0, 10.0, np.inf, np.nan, np.nan])
    predicted = np.full(5, np.nan)
    data = update_regime_figure(
        artists, grad, std, predicted, chi1=50.0, phase="exploding", overflow_layer=2
    )
    bottom, top = data.grad_ylim
    assert np.isfinite([bottom, top]).all() and 0 < bottom < top
    np.testing.assert_array_equal(data.grad_drawn, [np.nan, top, bottom, 2.0, 1.0])
    np.testing.assert_array_equal(artists.grad_marks.inf.get_xdata(), [2])
    np.testing.assert_array_equal(artists.grad_marks.zero.get_xdata(), [3])
    np.testing.assert_array_equal(artists.grad_marks.nan.get_xdata(), [1])
    np.testing.assert_array_equal(artists.std_marks.nan.get_xdata(), [4, 5])
    assert data.overflow and data.overflow_layer == 3  # 0-based 2 is layer 3
    for marks in (artists.grad_marks, artists.std_marks):
        assert marks.overflow.get_visible() and marks.overflow.get_xdata()[0] == 3
    for words in ("from layer 3", "inf", "nan", "exact 0"):
        assert words in data.note and words in artists.note.get_text()
    assert figure_png(artists.figure).startswith(b"\x89PNG")


def test_nothing_finite_still_draws():
    artists = regime_figure()
    nan = np.full(3, np.nan)
    data = update_regime_figure(
        artists, nan, nan, nan, chi1=float("nan"), phase="undefined", overflow_layer=0
    )
    assert np.isfinite(data.grad_ylim).all() and np.isfinite(data.std_ylim).all()
    assert "no finite gradient" in artists.phase_text.get_text()
    assert figure_png(artists.figure).startswith(b"\x89PNG")


def test_redrawn_in_place_and_pyplot_never_knows():
    before = plt.get_fignums()
    artists = regime_figure()
    for n, end in ((1, 5), (200, 200), (7, 10), (103, 120)):  # the axis ends at a steady count
        values = np.linspace(1.0, 2.0, n)
        update_regime_figure(artists, values, values, values, chi1=1.0, phase="near critical",
                             title=f"L = {n}")  # fmt: skip
        assert artists.title.get_text() == f"L = {n}"
        assert artists.ax_grad.get_xlim() == (0.5, end + 0.5)
    assert isinstance(artists.figure, Figure) and plt.get_fignums() == before


def test_mismatched_lengths_are_a_value_error():
    with pytest.raises(ValueError, match="must be 1-D of one length"):
        update_regime_figure(regime_figure(), [1.0, 2.0], [1.0], [1.0, 2.0], chi1=1.0,
                             phase="near critical")  # fmt: skip
