"""``plot_gradient_flow``: what it draws is the ``Diagnosis`` it is given, inf, 0 and NaN marked.

The figures are drawn from hand-made ``Diagnosis`` records (no JAX), and once from a real one."""

import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.engine import Diagnosis
from vgwidgets.plotting import (
    MARK_HEIGHTS,
    UPDATE_RATIO_GUIDE,
    figure_png,
    gradient_flow_data,
    plot_gradient_flow,
)


def diagnosis(grad, param, update, in_ratio, **flags):
    grad, param, update = (np.asarray(v, np.float32) for v in (grad, param, update))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = update / param
    n = grad.shape[0]
    return Diagnosis(
        names=tuple(f"leaf{i}" for i in range(n)),
        shapes=tuple((2, 2) if r else (2,) for r in in_ratio),
        grad_norm=grad,
        param_norm=param,
        update_norm=update,
        update_ratio=ratio,
        nonfinite_leaves=~np.isfinite(grad),
        in_ratio=np.asarray(in_ratio),
        loss=1.0,
        global_norm=float(np.sqrt(np.sum(grad.astype(float) ** 2))),
        grad_ratio=flags.pop("grad_ratio", 1.0),
        nonfinite=flags.pop("nonfinite", False),
        exploding=flags.pop("exploding", False),
        vanishing=flags.pop("vanishing", False),
        max_global_norm=100.0,
        min_grad_ratio=1e-2,
    )


def lines(fig, ax_index):
    return {line.get_gid(): line for line in fig.axes[ax_index].lines if line.get_gid()}


def test_drawn_points_are_the_diagnosis_values_on_log_axes():
    d = diagnosis(
        grad=[1e-6, 2e-6, 3e-2, 4e-2, 0.5],
        param=[2.0, 0.0, 2.0, 1.0, 4.0],
        update=[1e-8, 2e-8, 3e-4, 4e-4, 5e-3],
        in_ratio=[True, False, True, False, True],
        grad_ratio=2e-6,
        vanishing=True,
    )
    fig = plot_gradient_flow(d)
    grad_lines, ratio_lines = lines(fig, 0), lines(fig, 1)
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    np.testing.assert_array_equal(grad_lines["grad_matrices"].get_xdata(), [0, 2, 4])
    np.testing.assert_allclose(
        grad_lines["grad_matrices"].get_ydata(), d.grad_norm[[0, 2, 4]], rtol=1e-7
    )
    np.testing.assert_allclose(grad_lines["grad_other"].get_ydata(), d.grad_norm[[1, 3]])
    # The vanishing line: min_grad_ratio times the largest matrix gradient (0.5).
    assert grad_lines["vanishing_line"].get_ydata()[0] == pytest.approx(0.5 * 1e-2)
    # Leaf 1 is all zeros: it has no ratio and is not drawn; the note counts it.
    np.testing.assert_array_equal(ratio_lines["update_ratio"].get_xdata(), [0, 2, 3, 4])
    np.testing.assert_allclose(
        ratio_lines["update_ratio"].get_ydata(), d.update_ratio[[0, 2, 3, 4]], rtol=1e-7
    )
    assert ratio_lines["ratio_guide"].get_ydata()[0] == UPDATE_RATIO_GUIDE
    notes = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "note"]
    assert notes == ["", "1 leaf (all zeros):\nno ratio, not drawn"]
    assert fig._suptitle.get_text() == "gradient flow: vanishing"
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert labels == list(d.names)
    data = gradient_flow_data(d)
    assert fig.axes[0].get_ylim() == data.grad_ylim and fig.axes[1].get_ylim() == data.ratio_ylim
    shown = ((d.grad_norm, data.grad_ylim), (data.update_ratio, data.ratio_ylim))
    for values, (bottom, top) in shown:
        assert bottom < values.min() and values.max() < top  # every value inside its axis
    # A notebook cell that ends with the figure shows it (IPython calls _repr_png_).
    assert fig._repr_png_() == figure_png(fig) and fig._repr_png_().startswith(b"\x89PNG")


def test_inf_zero_and_nan_are_marked_and_named_not_hidden():
    d = diagnosis(
        grad=[np.inf, 0.0, np.nan, 1.0],
        param=[1.0, 1.0, 1.0, 1.0],
        update=[np.inf, 0.0, np.nan, 1e-3],
        in_ratio=[True, True, True, True],
        grad_ratio=float("nan"),
        nonfinite=True,
        exploding=True,
    )
    fig = plot_gradient_flow(d)
    data = gradient_flow_data(d)
    bottom, top = data.grad_ylim
    np.testing.assert_array_equal(data.grad_drawn, [top, bottom, np.nan, 1.0])
    for ax_index in (0, 1):
        marks = lines(fig, ax_index)
        for kind, at in (("inf", [0]), ("zero", [1]), ("nan", [2])):
            np.testing.assert_array_equal(marks[f"{kind}_marks"].get_xdata(), at)
            np.testing.assert_array_equal(marks[f"{kind}_marks"].get_ydata(), [MARK_HEIGHTS[kind]])
    grad_note = next(t for t in fig.axes[0].texts if t.get_gid() == "note").get_text()
    for words in ("overflow: inf", "exact 0 (no gradient reaches it)", "nan"):
        assert words in grad_note and words in data.grad_note
    assert fig._suptitle.get_text() == "gradient flow: nonfinite, exploding"
    assert figure_png(fig).startswith(b"\x89PNG")


def test_a_real_diagnosis_is_drawn_as_it_is():
    import jax.numpy as jnp

    def loss_fn(p, x):
        return jnp.mean(jnp.tanh(x @ p["w1"]) @ p["w2"]) + jnp.sum(p["b"])

    params = {"w1": jnp.full((3, 4), 0.3), "w2": jnp.ones((4, 1)), "b": jnp.zeros(2)}
    d = vg.diagnose(loss_fn, params, jnp.ones((2, 3)))
    fig = vg.plot_gradient_flow(d, title="mine")
    grad_lines = lines(fig, 0)
    assert d.names == ("b", "w1", "w2") and d.in_ratio.tolist() == [False, True, True]
    np.testing.assert_allclose(grad_lines["grad_matrices"].get_ydata(), d.grad_norm[1:])
    np.testing.assert_allclose(grad_lines["grad_other"].get_ydata(), d.grad_norm[:1])
    assert fig._suptitle.get_text() == "mine"
