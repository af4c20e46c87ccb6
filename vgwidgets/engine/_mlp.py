"""The deep-MLP gradient probe: per-layer gradient norms and activation statistics, jit-compiled.

For hidden layer ``l`` (``z_l = a_{l-1} W_l + b_l``, ``u_l`` its normalization, ``a_l = phi(u_l)``
plus any skip: see ``MLPConfig``), the probe returns Nielsen's "speed of learning"
``||dC/db_l||`` (the norm of the gradient of the batch-mean cost), ``||dC/dW_l||_F``, the same
after gradient clipping, the gradients of the other per-layer parameters, and statistics of
``z_l``, ``u_l`` and ``a_l`` over the batch and the layer's units (Nielsen, *Neural Networks and
Deep Learning*, ch. 5).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


from ._boundary import INIT_ONLY, Fixed, _device_array, prepare, to_arrays
from ._clipping import CLIP_MODES, clip_by_mode, global_norm
from ._compat import x64_context
from ._config import MLPConfig, MLPParams, Structure, Traced
from ._losses import Loss
from ._network import scan_layers
from ._normalization import NormState
from ._switch import chosen
from ._validate import check_array, check_float


class LayerProbe(NamedTuple):
    """What ``probe`` measures; every per-layer array has shape ``(max_depth,)``.

    Entries past ``depth`` are 0 and ``active`` is False there; ``trim()`` cuts them off.
    Overflow is not hidden: an inf or NaN in a layer shows as inf or NaN in its entries.

    Attributes:
      loss: the batch-mean cost, ``()``.
      grad_b_norm: ``||dC/db_l||``, Nielsen's speed of learning of layer ``l`` (0 up to
        rounding under batch normalization, which cancels ``b_l``: see ``grad_shift_norm``).
      grad_w_norm: ``||dC/dW_l||_F``.
      act_mean, act_std: mean and standard deviation of ``a_l`` over batch and units.
      preact_std: standard deviation of ``z_l`` (before normalization) over batch and units.
      saturated_frac: fraction of (example, unit) pairs with
        ``|phi'(u)| <= saturation * sup |phi'|`` (at the layer's activation parameter).
      dead_frac: fraction of units whose ``phi(u_l)`` is 0 for every example of the batch.
      active: ``l < depth``.
      overflow_layer: index (0-based) of the first layer whose ``z``, ``u`` or ``a`` holds an
        inf or NaN, or -1. Gradient norms of a layer whose gradient passes through a NaN are
        NaN, not the 0 that autodiff's rules can produce there.
      grad_slope: ``|dC/da_l|`` for PReLU's learned slope ``a_l`` (0 for other activations).
      grad_scale_norm, grad_shift_norm: ``||dC/dgamma_l||``, ``||dC/dbeta_l||`` of the
        normalization (0 with ``norm="none"``).
      grad_global_norm: ``||g||`` over every parameter's gradient, ``()``.
      clipped_grad_b_norm, clipped_grad_w_norm, clipped_global_norm: the same after the
        config's gradient clipping (equal to the unclipped ones for ``clip="none"``).
      norm_state: the running statistics after this pass (see ``apply_mlp``), a
        ``NormState`` of ``(max_depth, width)`` arrays.
    """

    loss: jax.Array
    grad_b_norm: jax.Array
    grad_w_norm: jax.Array
    act_mean: jax.Array
    act_std: jax.Array
    preact_std: jax.Array
    saturated_frac: jax.Array
    dead_frac: jax.Array
    active: jax.Array
    overflow_layer: jax.Array
    grad_slope: jax.Array
    grad_scale_norm: jax.Array
    grad_shift_norm: jax.Array
    grad_global_norm: jax.Array
    clipped_grad_b_norm: jax.Array
    clipped_grad_w_norm: jax.Array
    clipped_global_norm: jax.Array
    norm_state: NormState

    def trim(self) -> LayerProbe:
        """The same result as NumPy arrays, per-layer entries cut to the active layers."""
        depth = int(np.sum(np.asarray(self.active)))

        def cut(value):
            if isinstance(value, NormState):
                return NormState(*(np.asarray(v)[:depth] for v in value))
            return np.asarray(value) if np.ndim(value) == 0 else np.asarray(value)[:depth]

        return LayerProbe(*(cut(v) for v in self))


def _scaled_norm(g, axis):
    """``||g||`` over ``axis`` as ``m ||g / m||`` with ``m = max |g|``.

    Squaring first, as ``jnp.linalg.norm`` does, loses every norm under ~1e-19 in float32 (the
    squares fall below the smallest normal number, and XLA flushes them to 0): exactly the
    vanishing gradients this engine is for. Scaling keeps them down to float32's ~1e-38.
    ``inf`` and ``nan`` entries give ``inf`` and ``nan``, as the plain norm does.
    """
    m = jnp.max(jnp.abs(g), axis=axis)
    safe = jnp.where(jnp.isfinite(m) & (m > 0), m, 1.0)
    expand = tuple(range(m.ndim, g.ndim))
    scaled = m * jnp.sqrt(jnp.sum((g / jnp.expand_dims(safe, expand)) ** 2, axis=axis))
    return jnp.where(jnp.isinf(m), m, scaled)


def _per_layer_norms(grads: MLPParams):
    """``(||dC/db_l||, ||dC/dW_l||_F)``, each ``(max_depth,)``, without underflow."""
    w_norm = jnp.concatenate(
        [_scaled_norm(grads.w_first[None], (1, 2)), _scaled_norm(grads.w_hidden, (1, 2))]
    )
    return _scaled_norm(grads.b_hidden, -1), w_norm


def _cost(loss: Loss, logits, y):
    return loss.fn(logits, y)


def _clipped_norms(mode: str, grads, b_norms, w_norms, total, threshold):
    """``(||dC/db_l||, ||dC/dW_l||, ||g||)`` after the ``mode`` clipping of ``g = grads``.

    "none" leaves them as they are, and "global_norm" scales them as it scales every entry
    (``g * c / ||g||`` where ``||g|| >= c``, as ``optax.clip_by_global_norm``); only "value"
    clips the entries and takes the norms anew, a pass over the gradient the others spare."""
    if mode == "none":
        return b_norms, w_norms, total
    if mode == "global_norm":
        scale = jnp.where(total < threshold, 1.0, threshold / total).astype(total.dtype)
        return b_norms * scale, w_norms * scale, total * scale
    clipped = clip_by_mode(grads, CLIP_MODES.index("value"), threshold)
    return (*_per_layer_norms(clipped), global_norm(clipped))


def _probe(
    structure: Structure, params: MLPParams, x, y, traced: Traced, state, saturation
) -> LayerProbe:
    """``probe``'s compiled core: arrays in (``to_arrays``), a ``LayerProbe`` out; ``traced``
    is arrays, or a static ``Fixed`` (``probe(..., specialize=True)``)."""
    if isinstance(traced, Fixed):
        traced = traced.arrays()

    def summarize(layer, p):
        """One layer's statistics, taken inside the scan (no stacks of activations kept)."""
        z, u, a, phi = (jax.lax.stop_gradient(layer[name]) for name in ("z", "u", "a", "phi"))
        saturated = jnp.mean(jnp.abs(layer["slope"]) <= saturation * layer["bound"])
        dead = jnp.mean(jnp.all(phi == 0, axis=0))
        return (
            jnp.mean(a),
            jnp.std(a),
            jnp.std(z),
            saturated.astype(z.dtype),
            dead.astype(z.dtype),
            functools.reduce(jnp.logical_and, [jnp.all(jnp.isfinite(s)) for s in (z, u, a)]),
            functools.reduce(jnp.logical_and, [jnp.all(~jnp.isnan(s)) for s in (z, u, a)]),
        )

    def mean_loss(params):
        logits, summaries, active, norm_state = scan_layers(
            structure, params, x, traced, state, emit=summarize
        )
        cost = jnp.mean(chosen(structure.losses, traced.loss, _cost, logits, y))
        return cost, (summaries, active, norm_state)

    (loss, (summaries, active, norm_state)), grads = jax.value_and_grad(
        mean_loss, has_aux=True
    )(params)
    *stats, finite, no_nan = summaries
    norms, total = _per_layer_norms(grads), global_norm(grads)
    *clipped_norms, clipped_total = chosen(
        CLIP_MODES, traced.clip, _clipped_norms, grads, *norms, total, traced.clip_threshold
    )
    per_layer = (
        *norms,
        jnp.abs(grads.slope),
        jnp.linalg.norm(grads.norm_scale, axis=-1),
        jnp.linalg.norm(grads.norm_shift, axis=-1),
        *clipped_norms,
    )
    # Overflow is shown as what it is. A layer whose forward pass holds a NaN (inf - inf)
    # poisons the gradient of every layer below it, and a non-finite cost poisons all of them,
    # even where autodiff's rules (relu'(NaN) = 0, say) would print a tidy but false number.
    has_nan = active & ~no_nan
    poisoned = (jnp.cumsum(has_nan[::-1])[::-1] > 0) | ~jnp.isfinite(loss)
    per_layer = [jnp.where(poisoned, jnp.nan, g) for g in per_layer]
    masked = [jnp.where(active, s, jnp.zeros_like(s)) for s in (*per_layer, *stats)]
    bad = active & ~finite
    overflow_layer = jnp.where(jnp.any(bad), jnp.argmax(bad), -1)
    any_poisoned = jnp.any(poisoned & active)
    global_norms = [jnp.where(any_poisoned, jnp.nan, g) for g in (total, clipped_total)]
    b, w, slope_g, scale_g, shift_g, clipped_b, clipped_w, *stats = masked
    return LayerProbe(
        loss, b, w, *stats, active, overflow_layer, slope_g, scale_g, shift_g,
        global_norms[0], clipped_b, clipped_w, global_norms[1], norm_state,
    )  # fmt: skip


_probe_fixed = jax.jit(_probe, static_argnames=("structure", "traced"))
_probe = jax.jit(_probe, static_argnames="structure")


def probe(
    config: MLPConfig,
    params: MLPParams,
    x,
    y,
    *,
    saturation: float = 0.05,
    train: bool = True,
    state: NormState | None = None,
    momentum: float = 0.1,
    specialize: bool = False,
) -> LayerProbe:
    """Per-layer gradient norms and activation statistics of ``config``'s network on ``(x, y)``.

    One jit-compiled forward and backward pass, compiled once per shape and dtype: every
    other field of ``config`` (``activation``, ``loss``, ``norm``, ``clip`` included, and
    ``depth <= max_depth``), ``saturation``, ``train`` and ``momentum`` are traced, so changing
    them compiles nothing new; a new ``structure`` or batch shape does (see ``MLPConfig``).
    Pure: batch normalization's running statistics go in as ``state`` and come out as
    ``norm_state``.

    Args:
      config: the network (its ``depth`` selects how many of the padded layers run).
      params: from ``init_mlp`` with the same ``structure``.
      x: inputs, ``(batch, n_in)``, finite.
      y: targets, ``(batch, n_out)``, finite.
      saturation: a unit counts as saturated where ``|phi'(u)| <= saturation * sup |phi'|``.
      train: batch normalization in training mode (batch statistics, running ones updated)
        or evaluation mode (the running statistics in ``state``); see ``apply_mlp``.
      state: a ``NormState``, or ``None`` for ``init_norm_state(config)``.
      momentum: the running statistics' update weight, in ``[0, 1]``.
      specialize: compile ``config``'s choices and numbers into the program (each new set of
        them compiles once more; BENCHMARKS.md, section 1, has what the traced ones cost), as
        ``train(..., specialize=True)`` does. The explorers keep them traced.

    Returns:
      A ``LayerProbe``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from vgwidgets.engine import init_mlp
      >>> cfg = MLPConfig(n_in=4, depth=3, width=8, n_out=2, clip="global_norm")
      >>> params = init_mlp(cfg, key=jax.random.key(0))
      >>> r = probe(cfg, params, jnp.ones((5, 4)), jnp.zeros((5, 2)))
      >>> r.grad_b_norm.shape, bool(r.clipped_global_norm <= 1.0 + 1e-6)
      ((3,), True)

    References:
      Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015). Pascanu, Mikolov, Bengio,
      ICML 2013 (clipping). Ioffe & Szegedy, ICML 2015 (batch normalization).
    """
    structure, x, traced = prepare(config, params, x, train=train, state=state, momentum=momentum)
    y = check_array("y", y, ndim=2)
    if y.shape != (x.shape[0], structure.n_out):
        raise ValueError(
            f"y must have shape (batch={x.shape[0]}, n_out={structure.n_out}); got {y.shape}."
        )
    saturation = check_float("saturation", saturation, 0.0, 1.0)
    if not isinstance(specialize, bool):
        raise TypeError(f"specialize must be True or False; got {specialize!r}.")
    with x64_context(config.dtype):
        params, x, traced, state = to_arrays(structure, params, x, traced, state)
        run, traced = (
            (_probe_fixed, Fixed(traced, unused=INIT_ONLY)) if specialize else (_probe, traced)
        )
        return run(structure, params, x, _device_array(y, x.dtype), traced, state, saturation)
