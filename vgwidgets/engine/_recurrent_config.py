"""``RNNConfig``, the frozen description of a recurrent network, its static and traced parts, and
``init_rnn``, which draws its parameters."""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._boundary import check_key
from ._compat import x64_context
from ._recurrent_cells import (
    CELLS,
    GATES,
    NONLINEARITIES,
    RECURRENT_INITS,
    RNNParams,
    recurrent_matrix,
)
from ._validate import check_choice, check_float, check_int

MAX_LENGTH = 10_000
MAX_HIDDEN = 1024
MAX_INPUTS = 1024
LOSS_AT = ("last", "every")


class RNNStructure(NamedTuple):
    """The static part of an ``RNNConfig``: the cell, array shapes and dtype (a change compiles
    anew; each cell's program is compiled on its first use and cached)."""

    cell: str
    n_in: int
    max_hidden: int
    max_length: int
    dtype: str


class RNNTraced(NamedTuple):
    """The traced part of an ``RNNConfig``: moving any field compiles nothing new.

    Names become indices (``nonlinearity`` into ``NONLINEARITIES``,
    ``initializer`` into ``RECURRENT_INITS``, ``loss`` into ``LOSS_AT``); at the boundary every
    field becomes a scalar array and the record goes into the compiled function as one argument.
    """

    nonlinearity: int
    initializer: int
    length: int
    hidden: int
    gain: float
    input_scale: float
    bias_scale: float
    forget_bias: float
    loss: int


@dataclasses.dataclass(frozen=True)
class RNNConfig:
    """A one-layer recurrent network ``h_t = cell(x_t, h_{t-1})``, ``h_0 = 0``, with a linear
    readout ``w_out . h_t``.

    The fields split in two, and this is the one place that says which:

    - static (``structure``, an ``RNNStructure``; a change compiles anew): ``cell``, ``n_in``,
      ``max_hidden``, ``max_length``, ``dtype``;
    - traced (``traced``, an ``RNNTraced``; moving them compiles nothing): ``nonlinearity``,
      ``initializer``, ``length`` (up to ``max_length``), ``hidden`` (up to ``max_hidden``),
      ``gain``, ``input_scale``, ``bias_scale``, ``forget_bias``, ``loss``.

    The cell is static: one program per cell, compiled on its first use and cached by ``jit``,
    so switching back to a cell already used compiles nothing. (A traced cell index, with
    ``lax.switch`` inside the time loop, cost ~5x per step on this CPU.) The vanilla cell's
    nonlinearity is traced (all three computed, one selected). Units past ``hidden`` and steps
    past ``length`` are masked.

    Attributes:
      cell: "vanilla" (Elman), "lstm" or "gru" (``CELLS``).
      nonlinearity: the vanilla cell's ``phi``: "tanh", "relu" or "sigmoid".
      initializer: the recurrent matrices' draw: "gaussian" ``N(0, gain^2/hidden)``,
        "orthogonal" (times ``gain``) or "identity" (times ``gain``).
      length: time steps ``T``, ``1 <= length <= max_length``.
      hidden: units ``n``, ``1 <= hidden <= max_hidden``.
      n_in: input features per step.
      gain: ``g``, the recurrent matrices' scale, in ``[0, 100]``.
      input_scale: input matrices ``W ~ N(0, input_scale^2 / n_in)``, in ``[0, 100]``.
      bias_scale: biases ``b ~ N(0, bias_scale^2)``, in ``[0, 100]``.
      forget_bias: added to the LSTM's forget-gate bias, in ``[-20, 20]`` (Gers et al. 2000
        and Jozefowicz et al. 2015 use 1).
      loss: "last": ``L = mean_b w_out . h_T``; "every": ``L = mean_b sum_t w_out . h_t``.
      max_length, max_hidden: the sizes the compiled code serves (default: ``length``,
        ``hidden``).
      dtype: "float32" or "float64".

    Example:
      >>> cfg = RNNConfig(cell="lstm", length=50, hidden=16, max_length=500, max_hidden=64)
      >>> cfg.replace(length=400, hidden=8, gain=3.0).structure == cfg.structure
      True
      >>> cfg.replace(cell="gru").structure == cfg.structure  # one program per cell
      False
    """

    cell: str = "vanilla"
    nonlinearity: str = "tanh"
    initializer: str = "gaussian"
    length: int = 50
    hidden: int = 32
    n_in: int = 1
    gain: float = 1.0
    input_scale: float = 1.0
    bias_scale: float = 0.0
    forget_bias: float = 1.0
    loss: str = "last"
    max_length: int | None = None
    max_hidden: int | None = None
    dtype: str = "float32"

    def __post_init__(self):
        set_ = object.__setattr__
        check_choice("cell", self.cell, CELLS)
        check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        check_choice("initializer", self.initializer, RECURRENT_INITS)
        check_choice("loss", self.loss, LOSS_AT)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        for name, top in (("length", MAX_LENGTH), ("hidden", MAX_HIDDEN)):
            limit_name = f"max_{name}"
            limit = getattr(self, limit_name)
            if limit is None:
                set_(self, name, check_int(name, getattr(self, name), 1, top))
                set_(self, limit_name, getattr(self, name))
                continue
            set_(self, limit_name, check_int(limit_name, limit, 1, top))
            try:
                set_(self, name, check_int(name, getattr(self, name), 1, getattr(self, limit_name)))
            except ValueError as error:
                raise ValueError(
                    f"{error} ({limit_name} is {getattr(self, limit_name)}: raise it to go further)"
                ) from None
        set_(self, "n_in", check_int("n_in", self.n_in, 1, MAX_INPUTS))
        for name in ("gain", "input_scale", "bias_scale"):
            set_(self, name, check_float(name, getattr(self, name), 0.0, 100.0))
        set_(self, "forget_bias", check_float("forget_bias", self.forget_bias, -20.0, 20.0))

    @property
    def structure(self) -> RNNStructure:
        """The static (compilation-key) part."""
        return RNNStructure(self.cell, self.n_in, self.max_hidden, self.max_length, self.dtype)

    @property
    def traced(self) -> RNNTraced:
        """The traced part, names as indices."""
        return RNNTraced(
            NONLINEARITIES.index(self.nonlinearity),
            RECURRENT_INITS.index(self.initializer), self.length, self.hidden, self.gain,
            self.input_scale, self.bias_scale, self.forget_bias, LOSS_AT.index(self.loss),
        )  # fmt: skip

    def replace(self, **changes) -> RNNConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)


def rnn_dtype(structure: RNNStructure):
    """``jnp.float64`` or ``jnp.float32``."""
    return jnp.float64 if structure.dtype == "float64" else jnp.float32


def traced_arrays(structure: RNNStructure, traced: RNNTraced) -> RNNTraced:
    """``traced`` as scalar arrays (int32 indices and sizes, the rest in the structure's dtype);
    call inside ``x64_context(structure.dtype)``."""
    dtype = rnn_dtype(structure)
    ints = ("nonlinearity", "initializer", "length", "hidden", "loss")
    return RNNTraced(
        *(jnp.asarray(v, jnp.int32 if k in ints else dtype) for k, v in traced._asdict().items())
    )


@functools.partial(jax.jit, static_argnames="structure")
def _init(structure: RNNStructure, key, t: RNNTraced) -> RNNParams:
    dtype = rnn_dtype(structure)
    n_in, h = structure.n_in, structure.max_hidden
    units = jnp.arange(h) < t.hidden
    keys = jax.random.split(key, 4)
    w_rec = jax.vmap(
        lambda k: recurrent_matrix(k, t.initializer, t.gain, t.hidden, h, dtype)
    )(jax.random.split(keys[0], GATES))
    w_in = t.input_scale / jnp.sqrt(n_in) * jax.random.normal(keys[1], (GATES, n_in, h), dtype)
    b = t.bias_scale * jax.random.normal(keys[2], (GATES, h), dtype)
    if structure.cell == "lstm":
        b = b.at[2].add(t.forget_bias)  # the forget gate
    w_out = jax.random.normal(keys[3], (h,), dtype) / jnp.sqrt(t.hidden.astype(dtype))
    return RNNParams(
        jnp.where(units, w_in, 0.0), w_rec, jnp.where(units, b, 0.0), jnp.where(units, w_out, 0.0)
    )


def init_rnn(config: RNNConfig, *, key: jax.Array) -> RNNParams:
    """Draw an ``RNNConfig`` network's parameters; every traced field is traced here too.

    Each of the 4 gate blocks draws its own recurrent matrix (``config.initializer`` times
    ``gain``), input matrix ``N(0, input_scale^2 / n_in)`` and biases ``N(0, bias_scale^2)``;
    the LSTM adds ``forget_bias`` to its forget gate's; the readout is ``N(0, 1/hidden)``.
    Everything past ``hidden`` units is 0. Compiled once per ``structure``: moving the gain,
    the hidden size or the initializer compiles nothing, and the same key gives the same
    underlying draws for every cell.

    Args:
      config: the network.
      key: a ``jax.random`` key.

    Returns:
      ``RNNParams`` of ``config.structure``'s shapes and dtype.

    Example:
      >>> import numpy as np
      >>> cfg = RNNConfig(hidden=8, initializer="orthogonal", gain=2.0)
      >>> w = np.asarray(init_rnn(cfg, key=jax.random.key(0)).w_rec[0])
      >>> bool(np.allclose(w.T @ w, 4 * np.eye(8), atol=1e-5))
      True
    """
    if not isinstance(config, RNNConfig):
        raise ValueError(f"config must be an RNNConfig; got {type(config).__name__}.")
    check_key(key)
    structure = config.structure
    with x64_context(structure.dtype):
        return _init(structure, key, traced_arrays(structure, config.traced))
