"""The forward pass of an ``MLPConfig`` network: one ``lax.scan`` over the hidden layers.

Hidden layer ``l = 1..depth`` computes (``MLPConfig`` has the whole definition)

    z_l = a_{l-1} W_l + b_l,   u_l = N_l(z_l),   a_l = phi(u_l; p_l) [+ a_{l-k}],

with ``a_0 = x``, ``N_l`` the configured normalization (identity for "none"), ``p_l`` the
activation's parameter (PReLU: the layer's learned slope), and the skip ``a_{l-k}`` added at
every ``k``-th layer ``l > k`` for ``k = residual_every > 0``; the output is
``a_depth W_out + b_out``. Layers past ``depth`` leave ``a`` (and the running statistics)
unchanged: ``depth``, ``k``, ``p``, ``train``, ``momentum`` and the choices of ``phi`` and
``N_l`` are traced, so moving them compiles nothing new.

References:
  He, Zhang, Ren, Sun, "Deep residual learning for image recognition", CVPR 2016.
  Ioffe & Szegedy, ICML 2015; Ba, Kiros & Hinton 2016 (normalization).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import trainable
from ._boundary import prepare, to_arrays
from ._compat import x64_context
from ._config import MLPConfig, MLPParams, Structure, Traced
from ._normalization import NormState, normalize
from ._switch import activate


class MLPOutput(NamedTuple):
    """What ``apply_mlp`` returns; per-layer stacks have a leading ``max_depth`` axis.

    Attributes:
      out: the network's linear output (logits), ``(batch, n_out)``.
      z: pre-activations ``z_l = a_{l-1} W_l + b_l``, ``(max_depth, batch, width)``.
      u: the activation's input, ``N_l(z_l)`` (``z_l`` with ``norm="none"``), like ``z``.
      a: activations ``a_l``, skips included, like ``z``.
      active: ``(max_depth,)``, ``l < depth``; entries past it are computed but unused.
      norm_state: the running statistics after this pass (updated in training mode with
        ``norm="batch"``, else the ones given).
    """

    out: jax.Array
    z: jax.Array
    u: jax.Array
    a: jax.Array
    active: jax.Array
    norm_state: NormState

    def trim(self) -> MLPOutput:
        """NumPy arrays, per-layer entries cut to the active layers."""
        depth = int(np.sum(np.asarray(self.active)))
        state = NormState(*(np.asarray(v)[:depth] for v in self.norm_state))
        z, u, a, active = (np.asarray(v)[:depth] for v in (self.z, self.u, self.a, self.active))
        return MLPOutput(np.asarray(self.out), z, u, a, active, state)


def layer_params(structure: Structure, params: MLPParams, traced: Traced):
    """The activation parameter of every hidden layer, ``(max_depth,)``: the learned slopes
    ``params.slope`` for an activation that learns its parameter (PReLU), else
    ``traced.activation_param`` in every layer (``slope`` then gets a zero gradient)."""
    fixed = jnp.broadcast_to(
        jnp.asarray(traced.activation_param, params.slope.dtype), params.slope.shape
    )
    return jnp.where(trainable(structure.activations, traced.activation), params.slope, fixed)


# What ``scan_layers`` gives ``emit`` of each hidden layer: ``z = a_{l-1} W_l + b_l``;
# ``u = N_l(z)`` (``z`` without a normalization); ``a``, the layer's output, skip included;
# ``phi = phi(u)``, before the skip; ``slope = phi'(u)`` and ``bound = sup |phi'|`` (a scalar),
# neither with a gradient.
LAYER_ARRAYS = ("z", "u", "a", "phi", "slope", "bound")


def _keep_arrays(layer: dict, p) -> dict:
    """``scan_layers``'s default ``emit``: the layer's ``z``, ``u`` and ``a``."""
    return {name: layer[name] for name in ("z", "u", "a")}


def scan_layers(structure: Structure, params: MLPParams, x, traced: Traced, state, *,
                emit=_keep_arrays):  # fmt: skip
    """The traceable forward pass: ``(logits, per-layer emits, active, norm_state)``.

    Args:
      structure: the network's static part.
      params: ``MLPParams`` as arrays.
      x: ``(batch, n_in)``.
      traced: a ``Traced`` of arrays (``to_arrays``); its ``depth``, ``activation``, ``norm``,
        ``activation_param``, ``residual_every``, ``train`` and ``momentum`` are used here.
      state: a ``NormState`` of arrays.
      emit: ``(layer, p) -> pytree``, what to keep of each hidden layer, given the layer's
        arrays ``{name: layer[name] for name in LAYER_ARRAYS}`` and its activation parameter
        ``p``; the results are stacked along a leading ``max_depth`` axis. Keeping per-layer
        summaries instead of the ``(batch, width)`` arrays spares the compiled program the
        ``(max_depth, batch, width)`` stacks (``probe`` does this).

    Returns:
      ``(logits, stacked emits, active, norm_state)``.

    The activation and the normalization are traced choices: each layer runs only the chosen
    activation's branch of a ``jax.lax.switch`` over ``structure.activations``
    (``_switch.activate``, whose backward pass holds no conditional), and selects among the
    normalizations arithmetically (``normalize``). The
    running statistics are carried whatever the normalization; only batch normalization in
    training mode changes them."""
    depth, k = traced.depth, traced.residual_every
    k_safe = jnp.maximum(k, 1)
    # a depth known when tracing (``train(..., specialize=True)``) that fills every layer
    # leaves nothing to select per layer
    every_layer = isinstance(depth, (int, np.integer, np.ndarray)) and depth >= structure.max_depth
    per_layer = {
        "b": params.b_hidden,
        "p": layer_params(structure, params, traced),
        "scale": params.norm_scale,
        "shift": params.norm_shift,
        "mean": state.mean,
        "var": state.var,
    }

    def _normalize(z, scale, shift, mean, var):
        return normalize(
            traced.norm, z, scale, shift, mean, var, train=traced.train, momentum=traced.momentum
        )

    # Rematerialized: the backward pass recomputes the normalization from z instead of saving
    # residuals, which XLA's conditional would copy or zero-fill for every branch per layer. A
    # normalization known while tracing (a specialized program) has no conditional to spare.
    if not isinstance(traced.norm, (int, np.integer, np.ndarray)):
        _normalize = jax.checkpoint(_normalize)

    def post(z, v):
        """Layer ``l`` after its matrix product: ``LAYER_ARRAYS`` and the running statistics."""
        u, mean, var = _normalize(z, v["scale"], v["shift"], v["mean"], v["var"])
        a, slope, bound = activate(structure.activations, traced.activation, v["p"], u)
        return {"z": z, "u": u, "a": a, "phi": a, "slope": slope, "bound": bound,
                "mean": mean, "var": var}  # fmt: skip

    def hidden(a_prev, w, v):
        """One layer from the per-layer values ``v``."""
        return post(a_prev @ w + v["b"], v)

    def record(out, p):
        """What the scan stacks for one layer: ``emit``'s part and the running statistics."""
        kept = {"emit": emit({name: out[name] for name in LAYER_ARRAYS}, p)}
        kept.update(mean=out["mean"], var=out["var"])
        return kept

    first = hidden(x, params.w_first, {name: value[0] for name, value in per_layer.items()})

    def layer(carry, inputs):
        a, skip = carry
        w, v, l = inputs  # l = 2..max_depth
        out = hidden(a, w, v)
        block_end = (k > 0) & (l % k_safe == 0)
        out["a"] = jnp.where(block_end & (l > k), out["a"] + skip, out["a"])
        live = True if every_layer else l <= depth
        skip = jnp.where(live & block_end, out["a"], skip)
        # a layer past depth keeps its running statistics
        out.update(mean=jnp.where(live, out["mean"], v["mean"]))
        out.update(var=jnp.where(live, out["var"], v["var"]))
        return (jnp.where(live, out["a"], a), skip), record(out, v["p"])

    # With k = 1, a_1 starts the first skip; with k > 1 it is replaced at layer k before use.
    rest = {name: value[1:] for name, value in per_layer.items()}
    carry = (first["a"], first["a"])
    if isinstance(params.w_hidden, (tuple, list)):
        # a list of per-layer matrices (``unstack_hidden``): the layers unrolled in Python, each
        # product reading its own matrix, where slicing a stack would copy it
        outs = []
        for i, w in enumerate(params.w_hidden):
            carry, out = layer(carry, (w, {name: v[i] for name, v in rest.items()}, i + 2))
            outs.append(out)
        a_last = carry[0]
        outs = jax.tree_util.tree_map(lambda *o: jnp.stack(o), *outs)
    else:
        layers = jnp.arange(2, structure.max_depth + 1)
        (a_last, _), outs = _scan_live(
            layer, carry, (params.w_hidden, rest, layers), depth,
            unroll=isinstance(depth, (int, np.integer, np.ndarray)),
        )
    stacks = jax.tree_util.tree_map(
        lambda head, tail: jnp.concatenate([head[None], tail]),
        record(first, per_layer["p"][0]),
        outs,
    )
    return (
        a_last @ params.w_out + params.b_out,
        stacks["emit"],
        jnp.arange(structure.max_depth) < depth,
        NormState(stacks["mean"], stacks["var"]),
    )


# ``_scan_live``: a network of at least ``LIVE_MIN_LAYERS`` padded layers skips its blocks of
# ``LIVE_BLOCKS`` layers (the size that needs the fewest inert layers) lying past ``depth``.
# The blocks' conditionals cost a network that fills its layers about 2.2x (the probe at 50 of
# 50 layers: 37.8 against 17.1 ms on the 2-core CPU), so only the deep paddings the explorers
# use (200 layers, a depth of 30 or so: 18.7 -> 10.3 ms) take that path.
LIVE_MIN_LAYERS = 100
LIVE_BLOCKS = range(8, 17)


def _scan_live(layer, carry, xs, depth, *, unroll=False):
    """``jax.lax.scan(layer, carry, xs)`` over hidden layers ``2..max_depth`` (``xs[2]`` holds
    ``l``), that does not compute the blocks of layers lying wholly past ``depth``: their
    layers leave the carry as it is (as ``layer`` does past ``depth``) and stack zeros, but
    the running statistics ``mean`` and ``var`` they were given.

    A network padded far past its depth (the explorers' ``max_depth = 200`` at depth 30) so
    costs about its depth, not its padding, with ``depth`` still traced. Networks of fewer
    than ``LIVE_MIN_LAYERS`` layers are scanned plainly. So that the layer is compiled once,
    the first block is filled up with inert layers in front (zero weights, numbered past any
    depth, so that ``layer`` leaves the carry as it is), whose results are dropped; the block
    size (one of ``LIVE_BLOCKS``) is the one that needs the fewest.
    """
    n = xs[2].shape[0]
    if n < LIVE_MIN_LAYERS:
        return jax.lax.scan(layer, carry, xs, unroll=unroll)
    size = min(LIVE_BLOCKS, key=lambda b: (-n % b, -b))
    blocks, pad = -(-n // size), -n % size
    tree = jax.tree_util.tree_map
    w, v, l = xs
    inert = {name: jnp.ones if name in ("var", "scale") else jnp.zeros for name in v}
    xs = (
        jnp.concatenate([jnp.zeros((pad, *w.shape[1:]), w.dtype), w]),
        {name: jnp.concatenate([inert[name]((pad, *a.shape[1:]), a.dtype), a])
         for name, a in v.items()},
        jnp.concatenate([jnp.arange(pad, dtype=l.dtype) + l[-1] + 1, l]),
    )  # fmt: skip
    body = tree(lambda a: a.reshape(blocks, size, *a.shape[1:]), xs)

    def run(carry, block):
        return jax.lax.scan(layer, carry, block)

    shapes = jax.eval_shape(run, carry, tree(lambda a: a[0], body))[1]

    def skip(carry, block):
        _, v, _ = block
        outs = tree(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        outs.update(mean=v["mean"], var=v["var"])
        return carry, outs

    def each(carry, block):
        return jax.lax.cond(jnp.min(block[2]) <= depth, run, skip, carry, block)

    carry, outs = jax.lax.scan(each, carry, body)
    return carry, tree(lambda o: o.reshape(-1, *o.shape[2:])[pad:], outs)


def run_network(structure: Structure, params: MLPParams, x, traced: Traced, state) -> MLPOutput:
    """The traceable forward pass, every hidden layer's arrays kept: an ``MLPOutput``.

    ``apply_mlp`` without the checks, for use inside ``jit``, ``grad`` or ``vmap``.

    Args:
      structure: ``config.structure``, static under ``jit``.
      params, x, traced, state: arrays, as ``to_arrays`` makes them from checked values.

    Returns:
      An ``MLPOutput``.

    Example:
      >>> import jax
      >>> from vgwidgets.engine import init_mlp
      >>> cfg = MLPConfig(n_in=2, depth=3, width=4, n_out=1)
      >>> params = init_mlp(cfg, key=jax.random.key(0))
      >>> arrays = to_arrays(cfg.structure, params, np.ones((5, 2)), cfg.traced, None)
      >>> run_network(cfg.structure, *arrays).a.shape
      (3, 5, 4)
    """
    logits, kept, active, norm_state = scan_layers(structure, params, x, traced, state)
    return MLPOutput(logits, kept["z"], kept["u"], kept["a"], active, norm_state)


@functools.partial(jax.jit, static_argnames="structure")
def _apply(structure: Structure, params: MLPParams, x, traced: Traced, state) -> MLPOutput:
    return run_network(structure, params, x, traced, state)


def apply_mlp(
    config: MLPConfig, params: MLPParams, x, *, train: bool = True, state=None, momentum=0.1
) -> MLPOutput:
    """The network's forward pass: output, and every hidden layer's ``z``, ``u`` and ``a``.

    One jit-compiled call, compiled once per shape and dtype: every other field of ``config``
    (``activation`` and ``norm`` included), ``train`` and ``momentum`` are traced, so moving
    them compiles nothing new (see ``MLPConfig``).

    Args:
      config: the network.
      params: from ``init_mlp`` with the same ``structure``.
      x: inputs, ``(batch, n_in)``, finite.
      train: with ``norm="batch"``, normalize with the batch's statistics and update the
        running ones (True), or with the running ones in ``state`` (False, evaluation mode).
        Ignored otherwise.
      state: a ``NormState`` of running statistics, or ``None`` for ``init_norm_state``'s.
      momentum: the running statistics' update weight, in ``[0, 1]`` (see ``NormState``).

    Returns:
      An ``MLPOutput``; its ``norm_state`` is the state to pass to the next call.

    Example:
      >>> import jax, numpy as np
      >>> from vgwidgets.engine import init_mlp
      >>> cfg = MLPConfig(n_in=4, depth=3, width=8, n_out=2, norm="batch")
      >>> params = init_mlp(cfg, key=jax.random.key(0))
      >>> r = apply_mlp(cfg, params, np.ones((5, 4)))
      >>> r.u.shape, r.norm_state.mean.shape
      ((3, 5, 8), (3, 8))

    References:
      Ioffe & Szegedy, ICML 2015; Ba et al. 2016; He et al., CVPR 2016.
    """
    structure, x, traced = prepare(config, params, x, train=train, state=state, momentum=momentum)
    with x64_context(config.dtype):
        return _apply(structure, *to_arrays(structure, params, x, traced, state))
