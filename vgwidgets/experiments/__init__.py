"""Experiments and reproductions of published results, built on the engine (no GUI imports).

``REPRODUCTIONS`` maps each name of ``python -m vgwidgets reproduce NAME`` to its
``Reproduction``; ``load_digits`` gives the UCI handwritten digits shipped with the package.
The theory behind each explorer lives here too, so that a widget only wires controls to it:
``regime_result`` and ``phase_of`` (``RegimeExplorer``), ``compare`` over ``FixSpec``s
(``FixComparison``), ``activation_curve`` (the curves ``ChainExplorer`` draws).
"""

from . import _glorot, _meanfield_repro
from ._curves import ActivationCurve, activation_curve
from ._data import Digits, digits_split, load_digits
from ._fixes import (
    CLIP_THRESHOLD,
    DEFAULT_SPECS,
    FIX_MAX_DEPTH,
    NORM_NAMES,
    RESIDUAL_EVERY,
    FixEntry,
    FixSpec,
    check_spec,
    compare,
    ratio,
    ratio_trend,
)
from ._glorot import BackpropStd, measure_backprop_std
from ._meanfield_repro import GradientRate, measure_gradient_rate
from ._nielsen import REPRODUCTIONS as _NIELSEN
from ._nielsen import run_chain, run_speeds
from ._regime import (
    REGIME_MAX_DEPTH,
    REGIME_N_OUT,
    RegimeResult,
    initializer_gain,
    phase_of,
    predicted_norms,
    regime_batch,
    regime_config,
    regime_result,
)
from ._registry import Reproduction
from ._training_repro import REPRODUCTIONS as _TRAINING

REPRODUCTIONS: dict[str, Reproduction] = {
    **_NIELSEN,
    "mean-field": Reproduction(
        "mean-field",
        _meanfield_repro.SUMMARY,
        _meanfield_repro.JSON_KEYS,
        _meanfield_repro.run,
        _meanfield_repro.format_table,
    ),
    "glorot-init": Reproduction(
        "glorot-init", _glorot.SUMMARY, _glorot.JSON_KEYS, _glorot.run, _glorot.format_table
    ),
    **_TRAINING,
}

__all__ = [
    "CLIP_THRESHOLD",
    "DEFAULT_SPECS",
    "FIX_MAX_DEPTH",
    "NORM_NAMES",
    "REGIME_MAX_DEPTH",
    "REGIME_N_OUT",
    "REPRODUCTIONS",
    "RESIDUAL_EVERY",
    "ActivationCurve",
    "BackpropStd",
    "Digits",
    "FixEntry",
    "FixSpec",
    "GradientRate",
    "RegimeResult",
    "Reproduction",
    "activation_curve",
    "check_spec",
    "compare",
    "digits_split",
    "initializer_gain",
    "load_digits",
    "measure_backprop_std",
    "measure_gradient_rate",
    "phase_of",
    "predicted_norms",
    "ratio",
    "ratio_trend",
    "regime_batch",
    "regime_config",
    "regime_result",
    "run_chain",
    "run_speeds",
]
