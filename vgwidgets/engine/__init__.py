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
from ._cliff import CliffDescent, cliff_descent, cliff_loss, cliff_surface
from ._compat import small_matrix_jit, small_matrix_options, x64_context
from ._compilations import Compilations, count_compilations
from ._config import DTYPES, MAX_DEPTH, MAX_FEATURES, MAX_WIDTH, MLPConfig, MLPParams
from ._diagnose import Diagnosis, diagnose
from ._initializers import INITIALIZERS, Initializer, get_initializer, register_initializer
from ._jacobian import (
    RESOLVED,
    WEIGHTS,
    JacobianConfig,
    JacobianSpectrum,
    jacobian_spectrum,
)
from ._losses import LOSSES, Loss, get_loss, register_loss
from ._meanfield import (
    DepthScales,
    MeanField,
    critical_weight_var,
    depth_scales,
    mean_field,
)
from ._mlp import LayerProbe, probe
from ._network import MLPOutput, apply_mlp, run_network
from ._normalization import NORMS, NormState
from ._params import init_mlp, init_norm_state
from ._switch import evaluate_activation
from ._sweep import SweepConfig, SweepResult, grid_mesh, memory_estimate, sweep
from ._train_grid import TrainGridConfig, TrainGridResult, train_grid
from ._recurrent import TimeProbe, probe_through_time, run_rnn, unroll
from ._recurrent_cells import (
    CELLS,
    GAMMAS,
    NONLINEARITIES,
    RECURRENT_INITS,
    RNNParams,
    gru_cell,
    lstm_cell,
    vanilla_cell,
)
from ._recurrent_config import MAX_HIDDEN, MAX_LENGTH, RNNConfig, init_rnn
from ._train import train, train_chunks
from ._train_config import OPTIMIZERS, TrainConfig, TrainData, TrainResult, make_optimizer
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
    "RESOLVED",
    "OPTIMIZERS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "WEIGHTS",
    "Activation",
    "ActivationParam",
    "ChainResult",
    "Compilations",
    "DepthScales",
    "Diagnosis",
    "Initializer",
    "JacobianConfig",
    "JacobianSpectrum",
    "LayerProbe",
    "Loss",
    "MLPConfig",
    "MLPOutput",
    "MLPParams",
    "MeanField",
    "NormState",
    "SweepConfig",
    "SweepResult",
    "TrainGridConfig",
    "TrainGridResult",
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
    "depth_scales",
    "derivative",
    "diagnose",
    "evaluate_activation",
    "get_activation",
    "get_initializer",
    "get_loss",
    "grid_mesh",
    "init_mlp",
    "init_norm_state",
    "jacobian_spectrum",
    "lifted_sigmoid",
    "make_optimizer",
    "mean_field",
    "memory_estimate",
    "probe",
    "register_activation",
    "register_initializer",
    "register_loss",
    "run_network",
    "sweep",
    "to_arrays",
    "train_grid",
    "train",
    "train_chunks",
    "small_matrix_jit",
    "small_matrix_options",
    "x64_context",
    "CELLS",
    "GAMMAS",
    "MAX_HIDDEN",
    "MAX_LENGTH",
    "NONLINEARITIES",
    "RECURRENT_INITS",
    "RNNConfig",
    "RNNParams",
    "TimeProbe",
    "gru_cell",
    "init_rnn",
    "lstm_cell",
    "probe_through_time",
    "run_rnn",
    "unroll",
    "vanilla_cell",
    "CliffDescent",
    "cliff_descent",
    "cliff_loss",
    "cliff_surface",
]
