"""The comparison figure alone: what its artists hold, compared with the curves they drew."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from vgwidgets.plotting import FixCurve, fix_figure, update_fix_figure
from vgwidgets.plotting._figure import power_label


def _curves():
    layers = np.arange(1, 11)
    return [
        FixCurve("1: vanishing", 10.0 ** (layers - 12.0)),
        None,
        FixCurve("3: clipped", np.full(10, 0.5), np.full(10, 50.0)),
        FixCurve("4: flat", np.linspace(0.2, 0.4, 10)),
    ]


def test_artists_hold_the_curves():
    artists = fix_figure()
    curves = _curves()
    data = update_fix_figure(artists, curves, title="t")
    np.testing.assert_array_equal(data.layers, np.arange(1, 11))
    for slot, curve in enumerate(curves):
        line, faint = artists.lines[slot], artists.faint[slot]
        if curve is None:
            assert data.values[slot] is None and not line.get_visible()
            assert not faint.get_visible()
            continue
        assert line.get_visible()
        np.testing.assert_allclose(line.get_ydata(), curve.values)
        np.testing.assert_array_equal(line.get_xdata(), data.layers)
        assert faint.get_visible() == (curve.unclipped is not None)
        if curve.unclipped is not None:
            np.testing.assert_allclose(faint.get_ydata(), curve.unclipped)
    bottom, top = artists.ax.get_ylim()
    assert (bottom, top) == data.ylim and artists.ax.get_yscale() == "log"
    assert bottom <= 1e-11 and top >= 50.0
    legend = [t.get_text() for t in artists.ax.get_legend().get_texts()]
    assert legend == ["1: vanishing", "3: clipped", "4: flat", "before clipping"]
    assert data.note == "" and not data.overflow and artists.title.get_text() == "t"


def test_inf_zero_and_nan_are_marked_not_dropped():
    artists = fix_figure()
    values = np.array([0.0, 1e-3, np.nan, 1.0, np.inf])
    data = update_fix_figure(artists, [FixCurve("x", values)])
    bottom, top = data.ylim
    assert np.isfinite([bottom, top]).all() and 0 < bottom < 1e-3 and top > 1.0
    np.testing.assert_allclose(data.drawn[0], [bottom, 1e-3, bottom, 1.0, top])
    marks = artists.marks[0]
    assert marks["zero"].get_xdata().tolist() == [1]
    assert marks["nan"].get_xdata().tolist() == [3]
    assert marks["inf"].get_xdata().tolist() == [5]
    assert data.overflow and "overflow: inf" in data.note
    assert "exact 0" in data.note and "nan" in data.note
    update_fix_figure(artists, [FixCurve("x", np.ones(5))])  # the marks go again
    assert all(len(m.get_xdata()) == 0 for m in artists.marks[0].values())


def test_the_legend_is_rebuilt_only_when_the_curves_change():
    artists = fix_figure()
    update_fix_figure(artists, _curves())
    legend = artists.ax.get_legend()
    update_fix_figure(artists, _curves())
    assert artists.ax.get_legend() is legend
    update_fix_figure(artists, _curves()[:1])
    assert [t.get_text() for t in artists.ax.get_legend().get_texts()] == ["1: vanishing"]
    update_fix_figure(artists, [None, None])
    assert artists.ax.get_legend() is None


def test_redrawn_in_place_and_pyplot_never_knows():
    before = plt.get_fignums()
    artists = fix_figure()
    for n, end in ((1, 5), (50, 50), (7, 10), (51, 60)):  # the axis ends at a steady count
        data = update_fix_figure(artists, [FixCurve("a", np.ones(n))])
        assert artists.ax.get_xlim() == (0.5, end + 0.5) and len(data.layers) == n
    assert isinstance(artists.figure, Figure) and plt.get_fignums() == before


@pytest.mark.parametrize(
    ("curves", "message"),
    [
        ([FixCurve("a", np.ones(3))] * 5, r"curves must have at most 4 entries"),
        ([FixCurve("a", np.ones(3)), FixCurve("b", np.ones(4))], r"same length"),
        ([FixCurve("a", np.ones(3), np.ones(2))], r"same length"),
        ([FixCurve("a", np.ones(0))], r"same length L >= 1"),
    ],
)
def test_bad_curves_are_value_errors(curves, message):
    with pytest.raises(ValueError, match=message):
        update_fix_figure(fix_figure(), curves)


@pytest.mark.parametrize("n_curves", [0, 7, 2.0, True])
def test_bad_n_curves(n_curves):
    with pytest.raises(ValueError, match=r"n_curves must be an integer in \[1, 6\]"):
        fix_figure(n_curves=n_curves)


def test_power_labels():
    assert power_label(1e-12) == "10\u207b\u00b9\u00b2"
    assert power_label(1e5) == "10\u2075" and power_label(1.0) == "10\u2070"
    assert power_label(0.5) == "0.5" and power_label(0.0) == ""
