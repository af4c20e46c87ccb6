"""What every explorer shares, tested once over all of them (``vgwidgets.widgets.EXPLORERS``).

A failing update (the computation raising before anything is drawn, or the drawing raising after
the figure was already half redrawn) never raises out of the control's callback: the explorer
shows the message, keeps the last good PNG, result and plotted data, stays alive through further
changes, and the next valid change recovers to exactly the figure a fresh explorer draws.
"""

import pytest

from vgwidgets.widgets import EXPLORERS, ChainExplorer, FixComparison, RegimeExplorer

# Per explorer: small constructor arguments, a control move made while broken, another move made
# while still broken, and one made after the repair.
CASES = {
    ChainExplorer: ({}, ("weight", 2.5), ("n_layers", 6), ("x", 0.3)),
    FixComparison: ({"depth": 6}, ("depth", 9), ("bias_scale", 0.5), ("depth", 8)),
    RegimeExplorer: (
        {"width": 16, "batch": 16}, ("weight_scale", 2.0), ("bias_scale", 0.3), ("depth", 12)
    ),
}


def test_every_explorer_has_a_case():
    assert set(CASES) == set(EXPLORERS)


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("before drawing", ValueError("x must be a finite real number; got nan.")),
        ("before drawing", RuntimeError("probe broke")),
        ("after drawing", ZeroDivisionError("drawing failed")),
    ],
)
def test_a_failing_update_shows_its_message_and_keeps_the_last_figure(
    explorers, monkeypatch, cls, when, error
):
    kwargs, broken_move, second_move, good_move = CASES[cls]
    explorer = explorers(cls, **kwargs)
    assert explorer.error is None
    good_png, good_result, good_plotted = explorer.png, explorer.result, explorer.plotted
    good_summary = explorer.summary.value
    compute_and_draw = explorer.compute_and_draw

    def fail():
        if when == "after drawing":
            compute_and_draw()  # the figure is redrawn in place for the new values, then ...
        raise error

    monkeypatch.setattr(explorer, "compute_and_draw", fail)
    for name, value in (broken_move, second_move):
        getattr(explorer.controls, name).value = value  # must not raise
        assert explorer.error == f"{type(error).__name__}: {error}"
        assert explorer.exception is error
        assert str(error) in explorer.status.value
        assert "last valid settings" in explorer.status.value
        assert explorer.png == good_png
        assert explorer.result is good_result and explorer.plotted is good_plotted
        assert explorer.summary.value == good_summary

    monkeypatch.undo()
    name, value = good_move
    getattr(explorer.controls, name).value = value  # the next valid change recovers
    assert explorer.error is None and explorer.exception is None and explorer.status.value == ""
    assert explorer.png != good_png
    fresh = explorers(cls, **{**kwargs, **dict([broken_move, second_move, good_move])})
    assert fresh.error is None
    assert explorer.png == fresh.png
