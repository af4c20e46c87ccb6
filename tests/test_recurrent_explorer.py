"""``RecurrentExplorer``: phases that follow the gain, Pascanu's bound over the vanilla curve,
overflow shown as a result, no compilation on slider moves, and errors kept inside."""

from __future__ import annotations

import numpy as np
import pytest

from vgwidgets.engine import count_compilations
from vgwidgets.widgets import RecurrentExplorer

SMALL = {"hidden": 16, "length": 40, "batch": 4}


@pytest.fixture(scope="module")
def explorer():
    made = RecurrentExplorer(cells=("vanilla", "lstm", "gru"), **SMALL)
    yield made
    made.close()


def test_gain_moves_the_vanilla_cell_from_vanishing_to_exploding(explorer):
    explorer.controls.gain.value = 0.5
    assert explorer.error is None
    assert explorer.result.phases["vanilla"] == "vanishing"
    assert "vanishing is certain" in explorer.summary.value  # sigma_max gamma < 1
    explorer.controls.gain.value = 3.0
    assert explorer.result.phases["vanilla"] == "exploding"
    assert "exploding is possible" in explorer.summary.value


def test_the_bound_lies_over_the_vanilla_curve(explorer):
    for gain in (0.3, 1.0, 2.5):
        explorer.controls.gain.value = gain
        data = explorer.plotted
        assert data.bound.shape == data.grad["vanilla"].shape == (40,)
        assert np.all(data.grad["vanilla"] <= data.bound * (1 + 1e-5))
        assert data.cell_state.shape == (40,)  # the LSTM's cell state is drawn
        assert data.distance[0] == 39 and data.distance[-1] == 0


def test_moving_any_slider_or_dropdown_compiles_nothing(explorer):
    c = explorer.controls
    c.nonlinearity.value = "relu"
    c.nonlinearity.value = "tanh"
    moves = [
        (c.gain, 1.7), (c.length, 7), (c.hidden, 30), (c.input_scale, 0.3), (c.forget_bias, -1.0),
        (c.initializer, "orthogonal"), (c.initializer, "identity"), (c.nonlinearity, "sigmoid"),
        (c.lstm, False), (c.lstm, True), (c.length, 40), (c.hidden, 16),
    ]  # fmt: skip
    with count_compilations() as compiled:
        for control, value in moves:
            control.value = value
            assert explorer.error is None, explorer.error
    assert compiled.count == 0, compiled.names
    c.initializer.value, c.nonlinearity.value, c.input_scale.value = "gaussian", "tanh", 1.0


def test_overflow_is_shown_as_a_result():
    explorer = RecurrentExplorer(
        cells=("vanilla", "lstm"), nonlinearity="relu", gain=10.0, length=500, hidden=16, batch=4
    )
    try:
        assert explorer.error is None
        grad = explorer.plotted.grad["vanilla"]
        assert not np.all(np.isfinite(grad))
        assert explorer.plotted.overflow and explorer.plotted.note
        assert explorer.result.phases["vanilla"] == "overflow"
        assert "overflow" in explorer.summary.value or "inf" in explorer.summary.value
        explorer.controls.nonlinearity.value = "tanh"  # the bound reaches ~1e300: still drawn
        assert explorer.error is None, explorer.error
        assert np.max(explorer.plotted.bound) > 1e200
    finally:
        explorer.close()


def test_no_cell_ticked_is_an_error_shown_inside(explorer):
    explorer.controls.vanilla.value = explorer.controls.lstm.value = False
    good = explorer.png
    explorer.controls.gru.value = False
    assert explorer.error == "ValueError: tick at least one cell (vanilla, LSTM or GRU) to show."
    assert explorer.png == good
    explorer.controls.gru.value = True
    assert explorer.error is None and tuple(explorer.result.cells) == ("gru",)
    explorer.controls.vanilla.value = explorer.controls.lstm.value = True


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cells": ()}, "cells must be a non-empty tuple"),
        ({"cells": ("rnn",)}, "cells must be one of 'vanilla', 'lstm', 'gru'; got 'rnn'"),
        ({"length": 501}, r"length must be an integer in \[2, 500\]; got 501"),
        ({"gain": 20.0}, r"gain must be a number in \[0.1, 10\]; got 20.0"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecurrentExplorer(**kwargs)
