"""vgwidgets: see vanishing and exploding gradients happen, and fix them.

Layers, each importing only those before it: ``vgwidgets.engine`` (pure JAX) ->
``vgwidgets.experiments`` (data and paper reproductions) -> ``vgwidgets.plotting`` (matplotlib)
-> ``vgwidgets.widgets`` (ipywidgets). ``import vgwidgets`` loads the engine only; the widget
names are imported on first use, so the computation layer never pulls in a GUI toolkit.

Each public name is listed once: in the ``from .engine import`` below, or in ``_LAZY``;
``__all__`` and ``dir(vgwidgets)`` are built from those two lists.
"""

from types import ModuleType as _ModuleType

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
    DepthScales,
    Diagnosis,
    Initializer,
    JacobianConfig,
    JacobianSpectrum,
    LayerProbe,
    Loss,
    MLPConfig,
    MLPOutput,
    MLPParams,
    MeanField,
    NormState,
    SweepConfig,
    SweepResult,
    TrainConfig,
    TrainData,
    TrainResult,
    apply_mlp,
    centred_biases,
    chain,
    clip_gradients,
    critical_weight_var,
    depth_scales,
    derivative,
    diagnose,
    init_mlp,
    init_norm_state,
    jacobian_spectrum,
    lifted_sigmoid,
    mean_field,
    probe,
    register_activation,
    register_initializer,
    register_loss,
    sweep,
    train,
)
from .engine import RNNConfig, RNNParams, TimeProbe, init_rnn, probe_through_time, run_rnn

# name -> the public module it is imported from on first use (``__getattr__``, PEP 562).
_LAZY = {
    "ChainExplorer": "vgwidgets.widgets",
    "FixComparison": "vgwidgets.widgets",
    "FixSpec": "vgwidgets.experiments",
    "PhaseDiagram": "vgwidgets.widgets",
    "RegimeExplorer": "vgwidgets.widgets",
    "plot_gradient_flow": "vgwidgets.plotting",
    "RecurrentExplorer": "vgwidgets.widgets",
    "compilation_cache_dir": "vgwidgets.widgets",
    "disable_compilation_cache": "vgwidgets.widgets",
    "enable_compilation_cache": "vgwidgets.widgets",
    "TrainingExplorer": "vgwidgets.widgets",
    "digits_split": "vgwidgets.experiments",
}

# What the import above bound (not the subpackages Python binds as attributes on import).
__all__ = sorted(
    [
        name
        for name, value in globals().items()
        if not name.startswith("_") and not isinstance(value, _ModuleType)
    ]
    + ["__version__", *_LAZY]
)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # the next look-up is an ordinary attribute
        return value
    raise AttributeError(f"module 'vgwidgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
