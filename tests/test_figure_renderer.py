"""``FigureRenderer``: blitted updates give the bytes a fresh render gives, redraw only what
changed, and look like matplotlib's own full render; ``rgba_png`` is a valid PNG."""

import io

import numpy as np
import pytest
from matplotlib.ticker import FuncFormatter
from PIL import Image

from vgwidgets import bench
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
    label = fig.text(0.01, 0.02, "static")  # over no axes: drawn in the cached frame
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


def _assert_drawn_as_savefig_draws(png: bytes, figure) -> None:
    """``png`` has the pixels of ``figure_png(figure)`` (matplotlib's full render), but where
    the renderer's one known reordering shows: it caches the axis objects (ticks, their labels)
    under every changing artist, and matplotlib draws them over an image (zorder 0). Ticks point
    out of the axes, so only their antialiased inner end, a pixel on the axes' edge that the
    spine then covers again, can differ: by a few levels, on a few pixels. An artist drawn in
    the wrong order (a dot under a heat map, a legend under a line) differs by far more."""
    drawn, full = _pixels(png)[..., :3].astype(int), _pixels(figure_png(figure))[..., :3]
    assert drawn.shape == full.shape
    differ = np.abs(drawn - full).max(axis=2)
    assert differ.max() <= 16 and np.count_nonzero(differ) <= 1e-3 * differ.size, (
        differ.max(), np.count_nonzero(differ), np.argwhere(differ > 16)[:5].tolist()
    )  # fmt: skip


def test_figure_png_draws_the_figures_own_changing_artists():
    fig, *_, title, _label = _two_panels()
    shown = figure_png(fig)  # the title marked changing
    title.set_animated(False)
    assert shown == figure_png(fig)


def _heat_map_with_dots():
    """A heat map with what matplotlib draws after it over it: a scatter (its offsets in data
    coordinates, its markers in pixels), a legend, the spines."""
    fig, ax = agg_figure((3, 3))
    image = ax.imshow(np.zeros((4, 4)), extent=(0, 4, 0, 4), vmin=0, vmax=1, cmap="gray")
    ax.scatter([1, 2, 3], [1, 2, 3], s=80, c="w", edgecolors="r", zorder=3)
    ax.plot([], [], color="c", label="a line")
    ax.legend(loc="lower right")
    return fig, image


def test_what_is_drawn_over_a_changing_image_stays_over_it():
    """Only the heat map changes, so the rest comes from the cached layers; what matplotlib
    draws after the heat map must still be drawn over it (a second figure, never rendered
    by a ``FigureRenderer``, is the oracle: ``figure_png`` would empty the renderer's cache)."""
    fig, image = _heat_map_with_dots()
    oracle, oracle_image = _heat_map_with_dots()
    renderer = FigureRenderer(fig)
    renderer.png()
    for values in (np.eye(4), np.ones((4, 4))):
        image.set_data(values)
        oracle_image.set_data(values)
        png = renderer.png()
        assert renderer.counts["full"] == 1  # the image changed alone: drawn over the cache
        _assert_drawn_as_savefig_draws(png, oracle)


@pytest.fixture(scope="module")
def built():
    """``built(cls)``: one explorer of each class for the module, closed at its end."""
    made = {}

    def build(cls):
        if cls not in made:
            made[cls] = cls()
        return made[cls]

    yield build
    for explorer in made.values():
        explorer.close()


def _skip_own_renders(cls) -> None:
    if cls.render is not Explorer.render:
        pytest.skip(f"{cls.__name__} draws its own partial redraws (tested in its own file)")


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_explorers_redraw_nothing_static_when_nothing_changed(built, cls):
    """A refresh with the same values is drawn from the cached layers: an explorer's figure
    must not mark itself changed on every update (that would cost a full redraw each time)."""
    _skip_own_renders(cls)
    explorer = built(cls)
    explorer.refresh()  # the cache filled (another test's figure_png may have emptied it)
    before = dict(explorer.renderer.counts)
    assert explorer.refresh()
    assert explorer.renderer.counts["blit"] == before["blit"] + 1
    _assert_drawn_as_savefig_draws(explorer.png, explorer.figure)


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
def test_explorers_show_what_savefig_shows_after_moves(built, cls):
    """After a slider move drawn over the cached layers, the PNG has the pixels matplotlib's full
    render gives: nothing drawn in the wrong order (PhaseDiagram's measured dots were once
    cached under its changing heat map)."""
    _skip_own_renders(cls)
    explorer = built(cls)
    rng = np.random.default_rng(0)
    moved = [s for n, s in bench.sliders(explorer).items() if n not in cls.SHAPE_CONTROLS][:2]
    for slider in moved:  # not a control that changes shapes: no compilation
        slider.value = bench.random_value(slider, rng)  # the cache filled again
        before = explorer.renderer.counts["full"]
        slider.value = bench.random_value(slider, rng)
        assert explorer.error is None and explorer.renderer.counts["full"] == before
        _assert_drawn_as_savefig_draws(explorer.png, explorer.figure)  # (empties the cache)
