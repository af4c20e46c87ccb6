"""``FigureRenderer``: blitted updates give the bytes a fresh render gives, redraw only what
changed, and look like matplotlib's own full render; ``rgba_png`` is a valid PNG."""

import io

import numpy as np
import pytest
from matplotlib.ticker import FuncFormatter
from PIL import Image

from vgwidgets.plotting import FigureRenderer, agg_figure, changing, figure_png, rgba_png
from vgwidgets.widgets import EXPLORERS, Explorer


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _fresh(figure, renderer=None) -> bytes:
    """The figure as a renderer that has drawn nothing before renders it (its draw empties
    ``renderer``'s cache, which is then filled again, for the state as it is)."""
    png = FigureRenderer(figure).png()
    if renderer is not None:
        renderer.png()
    return png


def _two_panels():
    fig, (left, right) = agg_figure((6, 3), ncols=2)
    (a,) = left.plot([1, 2, 3], [1, 2, 3])
    (b,) = right.plot([1, 2, 3], [3, 2, 1])
    title = changing(fig.suptitle("t"))
    label = left.text(0.1, 0.9, "static", transform=left.transAxes)
    return fig, left, right, a, b, title, label


def test_rgba_png_round_trips():
    rgba = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    np.testing.assert_array_equal(_pixels(rgba_png(rgba)), rgba)
    with pytest.raises(ValueError, match="uint8"):
        rgba_png(np.zeros((2, 2, 3)))


def test_each_kind_of_change_redraws_only_its_layer_and_matches_a_fresh_render():
    fig, left, right, a, b, title, label = _two_panels()
    renderer = FigureRenderer(fig)
    renderer.png()
    steps = [
        ("blit", lambda: a.set_ydata([3, 1, 2])),  # data coordinates: drawn over the cache
        ("blit", lambda: title.set_text("a new title")),  # marked changing
        ("axes", lambda: right.set_ylim(0, 40)),  # the right group's ticks only
        ("blit", lambda: right.set_ylim(0, 40)),  # the same limits again
        ("full", lambda: label.set_text("static, changed")),  # an unmarked static artist
    ]
    for kind, step in steps:
        before = dict(renderer.counts)
        step()
        png = renderer.png()
        changed = [k for k in ("full", "axes", "blit") if renderer.counts[k] != before[k]]
        assert changed == [kind], (kind, renderer.counts)
        assert png == _fresh(fig, renderer)


def test_a_tick_label_grown_into_the_next_panel_redraws_every_axis():
    fig, left, right, *_ = _two_panels()
    right.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0f}"))
    renderer = FigureRenderer(fig)
    renderer.png()
    right.set_ylim(0, 1e13)  # labels like "10000000000000" reach across into the left panel
    png = renderer.png()
    assert renderer.counts["spilled"] == 1
    assert png == _fresh(fig, renderer)
    right.set_ylim(0, 4)  # back to short labels: the long ones must be gone
    assert renderer.png() == _fresh(fig)


def test_limits_that_come_back_are_recalled_not_redrawn_and_give_the_same_bytes():
    fig, left, right, a, *_ = _two_panels()
    renderer = FigureRenderer(fig)
    renderer.png()
    shown = {}
    for top in (4, 40, 4, 400, 40):  # 4 and 40 come back: recalled; 400 is new: drawn
        before = dict(renderer.counts)
        right.set_ylim(0, top)
        png = renderer.png()
        kind = [k for k in ("axes", "recalled") if renderer.counts[k] != before[k]]
        assert kind == (["recalled"] if top in shown else ["axes"]), (top, renderer.counts)
        assert png == shown.setdefault(top, png)
    for top, png in shown.items():  # (a fresh render empties the kept zones: so at the end)
        right.set_ylim(0, top)
        assert png == _fresh(fig)


def test_a_draw_by_someone_else_empties_the_cache():
    fig, left, *_ = _two_panels()
    renderer = FigureRenderer(fig)
    renderer.png()
    figure_png(fig)
    renderer.png()
    assert renderer.counts["full"] == 2


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_explorers_redraw_nothing_static_when_nothing_changed(explorers, cls):
    """A refresh with the same values is drawn from the cached layers: an explorer's figure
    must not mark itself changed on every update (that would cost a full redraw each time)."""
    if cls.render is not Explorer.render:
        pytest.skip(f"{cls.__name__} draws its own partial redraws (tested in its own file)")
    explorer = explorers(cls)
    before = dict(explorer.renderer.counts)
    assert explorer.refresh()
    assert explorer.renderer.counts["blit"] == before["blit"] + 1
    # and the blitted PNG looks like matplotlib's full render (only the drawing order of a
    # few overlapping pixels differs: spines and ticks under the data instead of over them)
    blitted, full = _pixels(explorer.png)[..., :3], _pixels(figure_png(explorer.figure))[..., :3]
    assert blitted.shape == full.shape
    differ = np.abs(blitted.astype(int) - full.astype(int)).max(axis=2) > 64
    assert differ.mean() < 0.02
