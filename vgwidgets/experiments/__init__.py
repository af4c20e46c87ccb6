"""Experiments and reproductions of published results, built on the engine (no GUI imports).

``REPRODUCTIONS`` maps each name of ``python -m vgwidgets reproduce NAME`` to its
``Reproduction``; ``load_digits`` gives the UCI handwritten digits shipped with the package.
"""

from . import _glorot, _meanfield_repro
from ._data import Digits, load_digits
from ._glorot import BackpropStd, measure_backprop_std
from ._meanfield_repro import GradientRate, measure_gradient_rate
from ._nielsen import REPRODUCTIONS as _NIELSEN
from ._nielsen import run_chain, run_speeds
from ._registry import Reproduction

REPRODUCTIONS: dict[str, Reproduction] = {
    **_NIELSEN,
    "mean-field": Reproduction(
        "mean-field",
        _meanfield_repro.SUMMARY,
        _meanfield_repro.JSON_KEYS,
        _meanfield_repro.run,
        _meanfield_repro.format,
    ),
    "glorot-init": Reproduction(
        "glorot-init", _glorot.SUMMARY, _glorot.JSON_KEYS, _glorot.run, _glorot.format
    ),
}

__all__ = [
    "REPRODUCTIONS",
    "BackpropStd",
    "Digits",
    "GradientRate",
    "Reproduction",
    "load_digits",
    "measure_backprop_std",
    "measure_gradient_rate",
    "run_chain",
    "run_speeds",
]
