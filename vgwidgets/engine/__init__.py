"""The computation layer: pure JAX, no ipywidgets, no matplotlib (a test keeps it so)."""

from ._activations import (
    ACTIVATIONS,
    Activation,
    ActivationParam,
    derivative,
    get_activation,
    lifted_sigmoid,
    register_activation,
)
from ._chain import ChainResult, centred_biases, chain
from ._clipping import CLIP_MODES, clip_gradients
from ._compilations import Compilations, count_compilations
from ._config import MLPConfig, Structure
from ._initializers import INITIALIZERS, Initializer, get_initializer, register_initializer
from ._losses import LOSSES, Loss, get_loss, register_loss
from ._meanfield import MeanField, critical_weight_var, mean_field
from ._mlp import LayerProbe, MLPParams, init_mlp, probe
from ._network import MLPOutput, apply_mlp
from ._normalization import NORMS, NormState
from ._params import init_norm_state

__all__ = [
    "ACTIVATIONS",
    "CLIP_MODES",
    "INITIALIZERS",
    "LOSSES",
    "NORMS",
    "Activation",
    "ActivationParam",
    "ChainResult",
    "Compilations",
    "Initializer",
    "LayerProbe",
    "Loss",
    "MLPConfig",
    "MLPOutput",
    "MLPParams",
    "MeanField",
    "NormState",
    "Structure",
    "apply_mlp",
    "centred_biases",
    "chain",
    "clip_gradients",
    "count_compilations",
    "critical_weight_var",
    "derivative",
    "get_activation",
    "get_initializer",
    "get_loss",
    "init_mlp",
    "init_norm_state",
    "lifted_sigmoid",
    "mean_field",
    "probe",
    "register_activation",
    "register_initializer",
    "register_loss",
]
