"""vgwidgets: see vanishing and exploding gradients happen, and fix them.

Layers, each importing only those before it: ``vgwidgets.engine`` (pure JAX) ->
``vgwidgets.experiments`` (data and paper reproductions) -> ``vgwidgets.plotting`` (matplotlib)
-> ``vgwidgets.widgets`` (ipywidgets). ``import vgwidgets`` loads the engine only; the widget
names below are imported on first use, so the computation layer never pulls in a GUI toolkit.
"""

from ._version import __version__
from .engine import (
    ACTIVATIONS,
    CLIP_MODES,
    INITIALIZERS,
    LOSSES,
    NORMS,
    Activation,
    ActivationParam,
    ChainResult,
    Initializer,
    LayerProbe,
    Loss,
    MLPConfig,
    MLPOutput,
    MLPParams,
    MeanField,
    NormState,
    apply_mlp,
    centred_biases,
    chain,
    clip_gradients,
    critical_weight_var,
    derivative,
    init_mlp,
    init_norm_state,
    lifted_sigmoid,
    mean_field,
    probe,
    register_activation,
    register_initializer,
    register_loss,
)

_LAZY = {
    "ChainExplorer": "vgwidgets.widgets",
    "FixComparison": "vgwidgets.widgets",
    "FixSpec": "vgwidgets.widgets",
    "RegimeExplorer": "vgwidgets.widgets",
}

__all__ = [
    "ACTIVATIONS",
    "CLIP_MODES",
    "INITIALIZERS",
    "LOSSES",
    "NORMS",
    "Activation",
    "ActivationParam",
    "ChainExplorer",
    "ChainResult",
    "FixComparison",
    "FixSpec",
    "Initializer",
    "LayerProbe",
    "Loss",
    "MLPConfig",
    "MLPOutput",
    "MLPParams",
    "MeanField",
    "NormState",
    "RegimeExplorer",
    "__version__",
    "apply_mlp",
    "centred_biases",
    "chain",
    "clip_gradients",
    "critical_weight_var",
    "derivative",
    "init_mlp",
    "init_norm_state",
    "lifted_sigmoid",
    "mean_field",
    "probe",
    "register_activation",
    "register_initializer",
    "register_loss",
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vgwidgets' has no attribute {name!r}")
