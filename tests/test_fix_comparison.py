"""``FixComparison`` driven from plain Python, against ``vgwidgets.probe`` called directly.

Every curve the explorer draws is recomputed here from the spec and the shared controls: the same
``MLPConfig``, parameters drawn with the same key, ``probe`` on the same batch. Clipping is checked
against optax's own transformations applied to a gradient computed here with ``jax.grad``.
"""

import functools

import ipywidgets
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pytest

import vgwidgets as vg
from vgwidgets.engine import count_compilations, get_loss
from vgwidgets.experiments import DEFAULT_SPECS, FIX_MAX_DEPTH, FixSpec, load_digits, ratio
from vgwidgets.widgets import FixComparison


@pytest.fixture
def make(explorers):
    return functools.partial(explorers, FixComparison)


def _config(explorer, spec):
    c = explorer.controls
    return vg.MLPConfig(
        n_in=64, depth=c.depth.value, width=explorer.width, n_out=10,
        activation=spec.activation, initializer=spec.initializer,
        weight_scale=c.weight_scale.value, bias_scale=c.bias_scale.value, max_depth=FIX_MAX_DEPTH,
        norm=spec.norm, residual_every=spec.residual_every, clip=spec.clip,
        clip_threshold=spec.clip_threshold,
    )  # fmt: skip


def _oracle(explorer, slot):
    """``(config, params, probe)`` for ``slot``, computed without the explorer."""
    config = _config(explorer, explorer.specs()[slot])
    params = vg.init_mlp(config, key=jax.random.key(0))
    digits = load_digits()
    return config, params, vg.probe(config, params, digits.x[:64], digits.y[:64]).trim()


def _assert_consistent(explorer):
    field = {"w": "grad_w_norm", "b": "grad_b_norm"}[explorer.controls.quantity.value]
    assert explorer.error is None and explorer.status.value == ""
    for slot, spec in enumerate(explorer.specs()):
        line = explorer.artists.lines[slot]
        if not spec.enabled:
            assert explorer.result[slot] is None and explorer.plotted.values[slot] is None
            assert not line.get_visible() and not explorer.artists.faint[slot].get_visible()
            assert f"{slot + 1}: " not in explorer.summary.value
            continue
        config, params, expected = _oracle(explorer, slot)
        entry = explorer.result[slot]
        assert entry.config == config
        for got, want in zip(entry.params, params):
            np.testing.assert_array_equal(got, want)
        solid = getattr(expected, ("clipped_" if spec.clip != "none" else "") + field)
        np.testing.assert_allclose(explorer.plotted.values[slot], solid, rtol=1e-5)
        assert line.get_visible()
        np.testing.assert_allclose(line.get_ydata(), explorer.plotted.drawn[slot])
        finite = np.isfinite(solid) & (solid > 0)
        np.testing.assert_allclose(line.get_ydata()[finite], solid[finite], rtol=1e-5)
        if spec.clip == "none":
            assert explorer.plotted.unclipped[slot] is None
        else:
            np.testing.assert_allclose(
                explorer.plotted.unclipped[slot], getattr(expected, field), rtol=1e-5
            )
            assert explorer.artists.faint[slot].get_visible()
        with np.errstate(divide="ignore", invalid="ignore"):
            expected_ratio = np.float64(solid[0]) / np.float64(solid[-1])
        assert (
            f"<b>{expected_ratio:.3g}</b>" in explorer.summary.value
            or not np.isfinite(expected_ratio)
        )
        assert ratio(explorer.plotted.values[slot]) == pytest.approx(
            expected_ratio, rel=1e-5, nan_ok=True
        )
        assert f"{slot + 1}: {spec.label()}" in explorer.summary.value
    assert explorer.png.startswith(b"\x89PNG")


def test_defaults_tell_the_story(make):
    explorer = make()
    _assert_consistent(explorer)
    ratios = [ratio(v) for v in explorer.plotted.values]
    assert ratios[0] < 1e-9  # sigmoid, N(0, 1/n_in): the gradient vanishes towards the input
    assert all(0.1 < r < 10 for r in ratios[1:]), ratios  # each fix keeps it within 10x
    assert [s.enabled for s in explorer.specs()] == [True] * 4
    assert explorer.specs() == DEFAULT_SPECS


MOVES = [
    ("depth", 7),
    ("weight_scale", 1.5),
    ("bias_scale", 0.5),
    ("quantity", "b"),
    ("depth", 50),
    ("quantity", "w"),
    ("depth", 1),
]


def test_every_shared_control_updates_result_plot_and_png(make):
    explorer = make(depth=12)
    figure, image = explorer.figure, explorer.image
    for name, value in MOVES:
        before = explorer.png
        getattr(explorer.controls, name).value = value
        _assert_consistent(explorer)
        assert explorer.png != before, name
    assert explorer.figure is figure and explorer.image is image  # built once


SLOT_MOVES = [
    (0, "activation", "tanh"),
    (0, "initializer", "glorot_normal"),
    (1, "norm", "layer"),
    (1, "residual_every", 3),
    (2, "clip", "global_norm"),
    (2, "clip_threshold", 0.01),
    (3, "clip", "value"),
    (3, "clip_threshold", 1e-3),
    (3, "enabled", False),
    (1, "enabled", False),
    (3, "enabled", True),
]


def test_every_slot_control_updates_result_and_plot(make):
    explorer = make(depth=10)
    for slot, name, value in SLOT_MOVES:
        before = explorer.png
        getattr(explorer.slots[slot], name).value = value
        assert getattr(explorer.specs()[slot], name) == value
        _assert_consistent(explorer)
        assert explorer.png != before, (slot, name)


def test_disabled_configurations_are_not_drawn(make):
    explorer = make(specs=[DEFAULT_SPECS[0], {"activation": "tanh", "initializer": "orthogonal"}])
    assert [s.enabled for s in explorer.specs()] == [True, True, False, False]
    assert [line.get_visible() for line in explorer.artists.lines] == [True, True, False, False]
    legend = [t.get_text() for t in explorer.artists.ax.get_legend().get_texts()]
    assert legend == ["1: sigmoid, normal_fan_in", "2: tanh, orthogonal"]
    _assert_consistent(explorer)
    assert explorer.slots[2].activation.disabled and not explorer.slots[0].activation.disabled
    for slot in explorer.slots:
        slot.enabled.value = False
    assert explorer.error is None and all(v is None for v in explorer.plotted.values)
    assert "No configuration enabled" in explorer.summary.value
    assert explorer.artists.ax.get_legend() is None
    explorer.slots[3].enabled.value = True
    _assert_consistent(explorer)


def _optax_norms(config, params, transform):
    """Per-layer ``||dC/dW_l||`` after ``transform``, from ``jax.grad`` and optax directly."""
    digits = load_digits()
    x, y = jnp.asarray(digits.x[:64]), jnp.asarray(digits.y[:64])
    loss = get_loss(config.loss).fn

    def cost(p):
        return jnp.mean(loss(vg.apply_mlp(config.replace(clip="none"), p, x).out, y))

    grads = jax.grad(cost)(params)
    clipped, _ = transform.update(grads, transform.init(grads))
    w = np.concatenate(
        [[np.linalg.norm(clipped.w_first)], np.linalg.norm(clipped.w_hidden, axis=(1, 2))]
    )
    # The global norm written out: optax.tree.norm is newer than optax 0.2.2 (make test-colab).
    leaves = jax.tree_util.tree_leaves(clipped)
    return w[: config.depth], np.sqrt(sum(np.sum(np.square(np.asarray(g))) for g in leaves))


@pytest.mark.parametrize("threshold", [1e-3, 0.1, 100.0])
def test_global_norm_clipping_equals_optax(make, threshold):
    spec = FixSpec("relu", "he_normal", clip="global_norm", clip_threshold=threshold)
    explorer = make(specs=[spec], depth=15, weight_scale=1.5)
    config, params, probe = _oracle(explorer, 0)
    expected, global_norm = _optax_norms(config, params, optax.clip_by_global_norm(threshold))
    np.testing.assert_allclose(explorer.plotted.values[0], expected, rtol=2e-4)
    assert float(global_norm) <= threshold * (1 + 1e-5)
    # The direction is kept: every layer is scaled alike, so the first/last ratio is unchanged.
    np.testing.assert_allclose(
        ratio(explorer.plotted.values[0]),
        ratio(explorer.plotted.unclipped[0]),
        rtol=1e-5,
    )
    _assert_consistent(explorer)


def test_value_clipping_equals_optax(make):
    spec = FixSpec("tanh", "normal", clip="value", clip_threshold=1e-3)
    explorer = make(specs=[spec], depth=8)
    config, params, _ = _oracle(explorer, 0)
    expected, _ = _optax_norms(config, params, optax.clip(1e-3))
    np.testing.assert_allclose(explorer.plotted.values[0], expected, rtol=2e-4)
    assert np.all(explorer.plotted.values[0] <= explorer.plotted.unclipped[0] * (1 + 1e-6))


def test_batch_norm_cancels_the_bias_gradient_so_w_is_plotted_by_default(make):
    explorer = make(specs=[FixSpec("sigmoid", "normal_fan_in", norm="batch")], depth=10)
    w = explorer.plotted.values[0]
    explorer.controls.quantity.value = "b"
    b = explorer.plotted.values[0]
    assert np.all(w > 1e-2) and np.all(b < 1e-5 * w)
    assert "partial C/\\partial b_l" in explorer.artists.ax.get_ylabel()
    _assert_consistent(explorer)


def test_overflow_is_shown_not_raised(make):
    explorer = make(specs=[FixSpec("relu", "he_normal")], depth=10, weight_scale=10.0)
    explorer.controls.depth.value = 50  # a gain of ~10 per layer: 10**50 passes float32's max
    values = explorer.plotted.values[0]
    assert explorer.error is None and not np.all(np.isfinite(values))
    assert int(explorer.result[0].probe.overflow_layer) >= 0
    assert "overflow (inf/NaN) from layer" in explorer.summary.value
    assert explorer.artists.note.get_text() != ""
    assert np.isfinite(explorer.plotted.ylim).all()
    marks = explorer.artists.marks[0]
    assert len(marks["inf"].get_xdata()) + len(marks["nan"].get_xdata()) > 0
    _assert_consistent(explorer)
    explorer.controls.depth.value = 5  # back to finite
    assert np.all(np.isfinite(explorer.plotted.values[0]))
    assert "overflow" not in explorer.summary.value


def test_slider_and_clip_moves_compile_nothing(make):
    explorer = make(depth=10, specs=[*DEFAULT_SPECS[:3], DEFAULT_SPECS[3]._replace(clip="value")])
    c, s = explorer.controls, explorer.slots
    moves = [
        (c.depth, 37), (c.weight_scale, 2.0), (c.bias_scale, 1.0), (c.depth, 3),
        (s[0].residual_every, 4), (s[3].residual_every, 1), (s[3].clip_threshold, 0.01),
        (s[3].clip, "global_norm"), (s[3].clip, "none"), (c.quantity, "b"),
        (s[2].enabled, False), (s[2].enabled, True), (c.weight_scale, 0.3),
    ]  # fmt: skip
    with count_compilations() as log:
        for control, value in moves:
            control.value = value
            assert explorer.error is None
    assert log.names == []
    _assert_consistent(explorer)


def test_pyplot_figures_do_not_grow(make):
    before = plt.get_fignums()
    explorer = make(depth=5)
    for i in range(20):
        explorer.controls.depth.value = 1 + (7 * i) % 50
        explorer.slots[i % 4].residual_every.value = i % 5
    assert explorer.error is None
    assert plt.get_fignums() == before


def test_it_is_a_vbox_and_exported(make):
    explorer = make(depth=3)
    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.image in explorer.children and explorer.status in explorer.children
    assert vg.FixComparison is FixComparison and vg.FixSpec is FixSpec
    with pytest.raises(TypeError, match="configs"):
        FixComparison(configs=[DEFAULT_SPECS[0]])  # renamed: specs=


def test_initial_values_reach_the_controls(make):
    explorer = make(depth=17, weight_scale=2.0, bias_scale=0.25, quantity="b",
                    continuous_update=True)  # fmt: skip
    c = explorer.controls
    assert (c.depth.value, c.weight_scale.value, c.bias_scale.value) == (17, 2.0, 0.25)
    assert c.quantity.value == "b" and c.depth.continuous_update
    assert explorer.slots[0].clip_threshold.disabled  # no clipping: no threshold to set
    _assert_consistent(explorer)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, r"depth must be an integer in \[1, 50\]; got 0"),
        ({"depth": 51}, r"depth must be an integer in \[1, 50\]; got 51"),
        ({"weight_scale": 20.0}, r"weight_scale must be a number in \[0.1, 10\]; got 20.0"),
        ({"bias_scale": -1}, r"bias_scale must be a number in \[0, 2\]; got -1"),
        ({"quantity": "z"}, r"quantity must be one of 'w', 'b'; got 'z'"),
        ({"width": 1}, r"width must be an integer in \[2, 256\]; got 1"),
        ({"batch": 1}, r"batch must be an integer in \[2, 1797\]; got 1"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2147483647\]; got -1"),
        ({"continuous_update": 1}, r"continuous_update must be True or False; got 1"),
        ({"specs": []}, r"specs must hold 1 to 4 configurations; got 0"),
        ({"specs": [DEFAULT_SPECS[0]] * 5}, r"specs must hold 1 to 4 configurations; got 5"),
        ({"specs": "sigmoid"}, r"specs must be a list of 1 to 4 FixSpec"),
        ({"specs": [{"activation": "softsine", "initializer": "normal"}]},
         r"specs\[0\].activation must be one of 'sigmoid', .*; got 'softsine'"),
        ({"specs": [{"activation": "relu"}]},
         r"specs\[0\] must give 'activation' and 'initializer'"),
        ({"specs": [{"activation": "relu", "initializer": "normal", "skip": 2}]},
         r"specs\[0\] has unknown keys \['skip'\]"),
        ({"specs": [FixSpec("relu", "normal", norm="group")]},
         r"specs\[0\].norm must be one of 'none', 'batch', 'layer'; got 'group'"),
        ({"specs": [FixSpec("relu", "normal", residual_every=11)]},
         r"specs\[0\].residual_every must be an integer in \[0, 10\]; got 11"),
        ({"specs": [FixSpec("relu", "normal", clip="norm")]},
         r"specs\[0\].clip must be one of 'none', 'value', 'global_norm'; got 'norm'"),
        ({"specs": [FixSpec("relu", "normal", clip_threshold=0.0)]},
         r"specs\[0\].clip_threshold must be a number in \[0.0001, 100\]; got 0.0"),
        ({"specs": [FixSpec("relu", "normal", enabled="yes")]},
         r"specs\[0\].enabled must be True or False; got 'yes'"),
    ],
)  # fmt: skip
def test_bad_initial_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FixComparison(**kwargs)
