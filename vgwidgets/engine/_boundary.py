"""The boundary of the compiled MLP functions: argument checks, then conversion to arrays.

``apply_mlp``, ``probe`` and ``init_mlp`` take Python values from a learner or a widget. Before
anything is traced they check every argument here, raising an error that names the argument,
the value received and what would be valid (``check_*``, ``prepare``); then ``to_arrays`` turns
the checked values into the arrays the compiled function takes:

    prepare(config, params, x, train=, state=, momentum=)  ->  (structure, x, traced)
    to_arrays(structure, params, x, traced, state)          ->  (params, x, traced, state)

``structure`` (a ``Structure``) is the compiled function's static argument; ``traced`` (a
``Traced``) carries every traced value of the call, ``train`` and ``momentum`` included, once.
Scalar checks (``check_int``, ``check_float``, ...) live in ``_validate``, shared with
``MLPConfig`` itself.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._config import MLPConfig, MLPParams, Structure, Traced, dtype_of
from ._normalization import NormState
from ._validate import check_array, check_bool, check_float


# The ``Traced`` fields only ``init_mlp`` reads.
INIT_ONLY = ("initializer", "weight_scale", "bias_scale")


class Fixed:
    """A call's ``Traced`` values compiled into the program (``specialize=True``).

    Hashable, so that it can be a static argument: inside the program its values are NumPy
    constants, so each choice calls its entry directly (``_switch.chosen``), a depth that fills
    every layer selects nothing per layer, and XLA folds the rest. Each new set of values
    compiles once more. The fields named ``unused`` (ones the program does not read) are set to
    0, so that calls differing only in them share a program.
    """

    def __init__(self, traced: Traced, unused: tuple = ()):
        traced = traced._replace(**dict.fromkeys(unused, 0))
        self._items = tuple((np.asarray(v).item(), np.asarray(v).dtype.str) for v in traced)

    def __hash__(self):
        return hash(self._items)

    def __eq__(self, other):
        return isinstance(other, Fixed) and self._items == other._items

    def arrays(self) -> Traced:
        """The values, as NumPy scalars of their dtypes."""
        return Traced(*(np.asarray(v, dtype=d) for v, d in self._items))


def prepare(config: MLPConfig, params, x, *, train, state, momentum):
    """Check the arguments that ``apply_mlp`` and ``probe`` share, before any tracing.

    Args:
      config: must be an ``MLPConfig``.
      params: ``MLPParams`` of the shapes ``config.structure`` gives.
      x: ``(batch, n_in)``, finite; ``batch >= 2`` for batch normalization in training mode.
      train: True or False.
      state: a ``NormState`` of ``(max_depth, width)`` arrays, or ``None``.
      momentum: a number in ``[0, 1]``.

    Returns:
      ``(structure, x, traced)``: the config's ``Structure``, ``x`` as a NumPy array and the
      config's ``Traced`` with this call's ``train`` and ``momentum``. Pass them, with
      ``params`` and ``state``, to ``to_arrays`` inside ``x64_context(config.dtype)``.

    Example:
      >>> cfg = MLPConfig(n_in=2, depth=3, width=4, n_out=1)
      >>> params = MLPParams(*(np.zeros(s) for s in
      ...     [(2, 4), (2, 4, 4), (3, 4), (4, 1), (1,), (3,), (3, 4), (3, 4)]))
      >>> structure, x, traced = prepare(cfg, params, [[1, 2]], train=False, state=None,
      ...                                momentum=0.5)
      >>> x.shape, traced.depth, traced.train, traced.momentum
      ((1, 2), 3, False, 0.5)
    """
    check_config(config)
    structure = config.structure
    x = check_array("x", x, ndim=2)
    if x.shape[1] != structure.n_in:
        raise ValueError(f"x must have shape (batch, n_in={structure.n_in}); got {x.shape}.")
    if x.shape[0] < 1:
        raise ValueError(f"x must hold at least 1 example (batch >= 1); got shape {x.shape}.")
    check_params(structure, params)
    train = check_bool("train", train)
    momentum = check_float("momentum", momentum, 0.0, 1.0)
    if config.norm == "batch" and train and x.shape[0] < 2:
        raise ValueError(
            f"x must hold at least 2 examples for batch normalization in training mode (batch "
            f"statistics of one example are 0/0); got {x.shape[0]}. Use train=False, or "
            f"norm='layer'."
        )
    if state is not None:
        check_state(structure, state)
    return structure, x, config.traced._replace(train=train, momentum=momentum)


# Traced's integer fields: counts and the choices (indices into their registries).
_INT_FIELDS = ("depth", "activation", "initializer", "loss", "norm", "residual_every", "clip")


def to_arrays(structure: Structure, params, x, traced: Traced, state):
    """Checked values as the arrays a compiled function takes, in the structure's dtype.

    Call it inside ``x64_context(structure.dtype)`` (float64 arrays exist only there).

    Args:
      structure: the config's ``Structure``.
      params: ``MLPParams`` (any array-likes).
      x: ``(batch, n_in)``.
      traced: a ``Traced`` of Python numbers.
      state: a ``NormState``, or ``None`` for ``fresh_norm_state``'s.

    Returns:
      ``(params, x, traced, state)``: ``traced`` holds arrays, int32 for ``depth``,
      ``residual_every`` and the choices (``activation``, ``initializer``, ``loss``, ``norm``,
      ``clip``), bool for ``train``, the dtype for the rest.

    Example:
      >>> cfg = MLPConfig(n_in=2, depth=1, width=3, n_out=1)
      >>> zeros = MLPParams(*(np.zeros(n) for n in [(2, 3), (0, 3, 3), (1, 3), (3, 1), 1,
      ...                                          1, (1, 3), (1, 3)]))
      >>> _, x, traced, state = to_arrays(cfg.structure, zeros, np.ones((4, 2)), cfg.traced, None)
      >>> x.dtype, traced.norm.dtype, traced.train.dtype, state.var.shape
      (dtype('float32'), dtype('int32'), dtype('bool'), (1, 3))
    """
    dtype = dtype_of(structure)
    kinds = {name: np.int32 for name in _INT_FIELDS} | {"train": np.bool_}
    # The scalars as NumPy arrays: a compiled function takes them as it takes JAX arrays
    # (same dtypes, not weakly typed), and ``np.asarray`` costs a fraction of ``jnp.asarray``'s
    # dispatch, which an explorer's update would pay for each of them.
    traced = Traced(*(np.asarray(v, kinds.get(n, dtype)) for n, v in zip(Traced._fields, traced)))
    params = MLPParams(*(jnp.asarray(v, dtype) for v in params))
    state = fresh_norm_state(structure) if state is None else state
    state = NormState(*(jnp.asarray(v, dtype) for v in state))
    return params, _device_array(x, dtype), traced, state


def _device_array(value, dtype):
    """``value`` in ``dtype`` for a compiled call: a JAX array stays one; anything else
    becomes a NumPy array, which a compiled function takes as it is, where an eager
    ``jnp.asarray(value, dtype)`` would compile a conversion program per shape and dtype."""
    if isinstance(value, jax.Array):
        return value.astype(dtype) if value.dtype != dtype else value
    return np.asarray(value, dtype)


def fresh_norm_state(structure: Structure) -> NormState:
    """Running statistics before any update: mean 0 and variance 1, ``(max_depth, width)``."""
    shape, dtype = (structure.max_depth, structure.width), dtype_of(structure)
    return NormState(np.zeros(shape, dtype), np.ones(shape, dtype))


def check_config(config) -> None:
    """``config`` must be an ``MLPConfig`` (which checked its own fields when it was made)."""
    if not isinstance(config, MLPConfig):
        raise TypeError(f"config must be an MLPConfig; got {type(config).__name__}.")


def check_key(key) -> None:
    """One JAX PRNG key: ``jax.random.key(seed)``, or a raw ``jax.random.PRNGKey(seed)``."""
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype == np.uint32 and shape is not None and len(shape) == 1
    if not ((typed and shape == ()) or raw):
        got = type(key).__name__ if dtype is None else f"an array of shape {shape}, dtype {dtype}"
        raise TypeError(
            f"key must be one JAX PRNG key, such as jax.random.key(0) (or jax.random.PRNGKey(0)); "
            f"got {got}: {key!r}."[:300]
        )


def _check_real(name: str, value) -> None:
    """An array (or array-like) of a real dtype, integer or floating."""
    dtype = getattr(value, "dtype", None)
    dtype = np.asarray(value).dtype if dtype is None else dtype
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise ValueError(f"{name} must be an array of real numbers; got dtype {dtype}.")


def check_params(structure: Structure, params) -> None:
    """``MLPParams`` of real arrays, each of the shape ``structure`` gives it."""
    n_in, width, n_out, max_depth = structure[:4]
    expected = MLPParams(
        (n_in, width),
        (max_depth - 1, width, width),
        (max_depth, width),
        (width, n_out),
        (n_out,),
        (max_depth,),
        (max_depth, width),
        (max_depth, width),
    )
    if not isinstance(params, MLPParams):
        raise TypeError(f"params must be MLPParams from init_mlp; got {type(params).__name__}.")
    for name, want, got in zip(MLPParams._fields, expected, params):
        if tuple(np.shape(got)) != want:
            raise ValueError(
                f"params.{name} must have shape {want} for this config; got {np.shape(got)}. "
                "Draw params with init_mlp(config, key=...) for the same structure."
            )
        _check_real(f"params.{name}", got)


def check_state(structure: Structure, state) -> None:
    """A ``NormState`` of finite ``(max_depth, width)`` arrays with variances >= 0."""
    if not isinstance(state, NormState):
        raise TypeError(
            f"state must be a NormState (from init_norm_state or a probe's norm_state) or "
            f"None; got {type(state).__name__}."
        )
    want = (structure.max_depth, structure.width)
    for name, value in zip(NormState._fields, state):
        array = check_array(f"state.{name}", value, ndim=2)
        if array.shape != want:
            raise ValueError(
                f"state.{name} must have shape (max_depth, width) = {want}; got {array.shape}."
            )
    if np.any(np.asarray(state.var) < 0):
        raise ValueError(
            f"state.var must be >= 0 (variances); its smallest entry is "
            f"{np.min(np.asarray(state.var)):g}."
        )
