"""Experiments and reproductions of published results, built on the engine (no GUI imports).

``REPRODUCTIONS`` maps each name of ``python -m vgwidgets reproduce NAME`` to its
``Reproduction``; ``load_digits`` gives the UCI handwritten digits shipped with the package.
The theory behind each explorer lives here too, so that a widget only wires controls to it:
``regime_result`` and ``phase_of`` (``RegimeExplorer``), ``compare`` over ``FixSpec``s
(``FixComparison``), ``activation_curve`` (the curves ``ChainExplorer`` draws).
"""

from . import _glorot, _jacobian_repro, _meanfield_repro, _trainable_repro
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
from ._jacobian_repro import cases as jacobian_cases
from ._meanfield_repro import GradientRate, measure_gradient_rate
from ._nielsen import REPRODUCTIONS as _NIELSEN
from ._phase import (
    MAP_OPTIONS,
    MEASURED_BIAS_VARS,
    MEASURED_CONFIG,
    MEASURED_WEIGHT_VARS,
    PHASE_BIAS_VARS,
    PHASE_WEIGHT_VARS,
    QUANTITIES,
    PhaseMap,
    critical_line,
    measured_values,
    phase_map,
    quantity_values,
)
from ._nielsen import run_chain, run_speeds
from ._long_range import REPRODUCTIONS as _LONG_RANGE
from ._long_range import adding_batch, train_adding
from ._pascanu import REPRODUCTIONS as _PASCANU
from ._pascanu import run_cliff, spectrum_gap, through_time_bound, through_time_phase
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
from ._trainable_repro import fit_multiplier
from ._through_time import (
    THROUGH_TIME_MAX_HIDDEN,
    THROUGH_TIME_MAX_LENGTH,
    ThroughTime,
    through_time,
    through_time_batch,
    through_time_config,
    unit_spectrum,
)
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
    "jacobian-spectrum": Reproduction(
        "jacobian-spectrum",
        _jacobian_repro.SUMMARY,
        _jacobian_repro.JSON_KEYS,
        _jacobian_repro.run,
        _jacobian_repro.format_table,
    ),
    "trainable-depth": Reproduction(
        "trainable-depth",
        _trainable_repro.SUMMARY,
        _trainable_repro.JSON_KEYS,
        _trainable_repro.run,
        _trainable_repro.format_table,
    ),
    **_PASCANU,
    **_LONG_RANGE,
    **_TRAINING,
}

__all__ = [
    "CLIP_THRESHOLD",
    "DEFAULT_SPECS",
    "FIX_MAX_DEPTH",
    "MAP_OPTIONS",
    "MEASURED_BIAS_VARS",
    "MEASURED_CONFIG",
    "MEASURED_WEIGHT_VARS",
    "NORM_NAMES",
    "PHASE_BIAS_VARS",
    "PHASE_WEIGHT_VARS",
    "QUANTITIES",
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
    "PhaseMap",
    "RegimeResult",
    "Reproduction",
    "activation_curve",
    "check_spec",
    "compare",
    "critical_line",
    "fit_multiplier",
    "digits_split",
    "initializer_gain",
    "jacobian_cases",
    "load_digits",
    "measure_backprop_std",
    "measure_gradient_rate",
    "measured_values",
    "phase_map",
    "phase_of",
    "predicted_norms",
    "quantity_values",
    "ratio",
    "ratio_trend",
    "regime_batch",
    "regime_config",
    "regime_result",
    "run_chain",
    "run_speeds",
    "run_cliff",
    "spectrum_gap",
    "through_time_bound",
    "through_time_phase",
    "THROUGH_TIME_MAX_HIDDEN",
    "THROUGH_TIME_MAX_LENGTH",
    "ThroughTime",
    "through_time",
    "through_time_batch",
    "through_time_config",
    "unit_spectrum",
    "adding_batch",
    "train_adding",
]
