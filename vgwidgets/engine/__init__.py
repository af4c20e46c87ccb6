"""The computation layer: pure JAX, no ipywidgets, no matplotlib (a test keeps it so).

Every name another subpackage (or a test) needs is listed here; nothing outside the engine
imports its ``_private`` modules. ``Structure`` and ``Traced``, the static and traced parts of
an ``MLPConfig``, stay internal: use ``config.structure`` and ``config.traced``.
"""

from ._activations import (
    ACTIVATIONS,
    SELU_ALPHA,
    SELU_SCALE,
    Activation,
    ActivationParam,
    derivative,
    get_activation,
    lifted_sigmoid,
    register_activation,
)
from ._boundary import to_arrays
from ._chain import ChainResult, centred_biases, chain
from ._clipping import CLIP_MODES, clip_gradients
from ._compat import x64_context
from ._compilations import Compilations, count_compilations
from ._config import DTYPES, MAX_DEPTH, MAX_FEATURES, MAX_WIDTH, MLPConfig, MLPParams
from ._initializers import INITIALIZERS, Initializer, get_initializer, register_initializer
from ._losses import LOSSES, Loss, get_loss, register_loss
from ._meanfield import MeanField, critical_weight_var, mean_field
from ._mlp import LayerProbe, probe
from ._network import MLPOutput, apply_mlp, run_network
from ._normalization import NORMS, NormState
from ._params import init_mlp, init_norm_state
from ._train import (
    OPTIMIZERS,
    TrainConfig,
    TrainData,
    TrainResult,
    make_optimizer,
    train,
    train_chunks,
)
from ._validate import check_bool, check_choice, check_float, check_int

__all__ = [
    "ACTIVATIONS",
    "CLIP_MODES",
    "DTYPES",
    "INITIALIZERS",
    "LOSSES",
    "MAX_DEPTH",
    "MAX_FEATURES",
    "MAX_WIDTH",
    "NORMS",
    "OPTIMIZERS",
    "SELU_ALPHA",
    "SELU_SCALE",
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
    "TrainConfig",
    "TrainData",
    "TrainResult",
    "apply_mlp",
    "centred_biases",
    "chain",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
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
    "make_optimizer",
    "mean_field",
    "probe",
    "register_activation",
    "register_initializer",
    "register_loss",
    "run_network",
    "to_arrays",
    "train",
    "train_chunks",
    "x64_context",
]
