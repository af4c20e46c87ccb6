"""The phase-diagram sweep: random networks on a grid of ``(sw^2, sb^2)``, measured beside theory.

For every point of a grid of weight and bias variances, one random network of ``width`` units
and ``depth`` hidden layers (``z_l = sw a_{l-1} W_l + sb b_l``, ``W_ij ~ N(0, 1/width)``,
``b_i ~ N(0, 1)``, ``a_l = phi(z_l)``, ``a_0 = x``) is run forward on ``examples`` inputs and
backward from a random cotangent ``dC/da_L = v`` (one per example, so ``dC/db_l`` is each
example's own gradient: see ``measure_gradient_rate`` for why a batch mean would bias it).
Measured per hidden layer (Poole et al. 2016; Schoenholz et al. 2017):

- ``q^l``: the mean of ``z_l^2`` over units and examples, the forward length;
- ``c^l``: the correlation ``z_l(x_a) . z_l(x_b) / (|z_l(x_a)| |z_l(x_b)|)`` of the inputs of
  each pair, averaged over the ``examples / 2`` pairs (each pair starts at correlation ``c0``);
- ``log_grad``: ``ln mean_examples ||dC/db_l||^2 / ||dC/db_L||^2``, whose change per layer,
  going back, mean-field theory predicts to be ``ln chi1``; ``rate`` is that change fitted by
  least squares over the layers ``skip < l <= depth - skip``.

Every point is its own network, but all share one draw of the standard normal ``W`` and ``b``
(scaled by ``sw`` and ``sb``; the same key gives the same draws at every variance, as in
``RegimeExplorer``), so the map is smooth and the weights are held in memory once. The
backward pass is written out, ``delta_l = phi'(z_l) * g_l``, ``g_{l-1} = sw delta_l W_l^T``
(``phi'`` is ``derivative``'s, the slope back-propagation multiplies by), renormalising ``g``
every layer and keeping its log norm, so that a gradient that vanishes or explodes by
``10^100`` over the network is still measured in float32 (a test checks it against
``jax.grad``). The forward pass is not renormalised: ``q^l`` beyond float32's range is ``inf``.

No Python loop over points: ``vmap`` over a chunk of points, ``lax.map`` over chunks, one
jit-compiled program. The grid axis is sharded over a ``jax.sharding.Mesh`` of the devices
(all of ``jax.devices()`` by default), padded to a multiple of their number; on one device the
same program runs unsharded. Static (a change compiles anew): ``activation``, ``width``,
``max_depth``, ``examples``, ``chunk``, the grid's padded size and the devices; traced:
``depth``, ``c0``, ``skip`` and the variances.

References:
  Poole, Lahiri, Raghu, Sohl-Dickstein, Ganguli, "Exponential expressivity in deep neural
  networks through transient chaos", NeurIPS 2016.
  Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, "Deep information propagation", ICLR 2017.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._activations import ACTIVATIONS, derivative
from ._boundary import check_key
from ._meanfield import DepthScales, depth_scales
from ._switch import activation_choice, activation_fn
from ._validate import check_array, check_choice, check_float, check_int

MAX_GRID = 1024  # points along each axis of the grid
MAX_VARIANCE = 100.0
SWEEP_MAX_WIDTH = 4096
SWEEP_MAX_DEPTH = 1000
_Q_START_MIN = 1e-2  # inputs start at q^1 = q* where q* is at least this, else at sw^2 + sb^2
_BYTES = 4  # float32
_LIVE = 4  # (examples, width) arrays per layer and point alive at once: z, phi(z), phi'(z), g


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """The networks of a sweep; validated on construction.

    Attributes:
      activation: a key of ``ACTIVATIONS`` (at its default parameter).
      width: units per layer, also the inputs' dimension, in ``[2, 4096]``.
      depth: hidden layers measured, ``1 <= depth <= max_depth`` (traced).
      max_depth: layers compiled for; defaults to ``depth``.
      examples: inputs per network, even, in ``[2, 1024]`` (``examples / 2`` pairs).
      c0: the correlation each pair of inputs starts at, in ``[-1, 1]`` (traced).
      skip: layers left out at each end of the rate's fit, ``depth > 2 skip + 1`` (traced).
      chunk: grid points per device run together (``vmap``); memory grows with it.

    Example:
      >>> SweepConfig(depth=10, max_depth=20).max_depth
      20
    """

    activation: str = "tanh"
    width: int = 256
    depth: int = 30
    max_depth: int | None = None
    examples: int = 8
    c0: float = 0.5
    skip: int = 2
    chunk: int = 64

    def __post_init__(self):
        set_ = object.__setattr__
        check_choice("activation", self.activation, ACTIVATIONS)
        set_(self, "width", check_int("width", self.width, 2, SWEEP_MAX_WIDTH))
        max_depth = self.depth if self.max_depth is None else self.max_depth
        set_(self, "max_depth", check_int("max_depth", max_depth, 1, SWEEP_MAX_DEPTH))
        set_(self, "depth", check_int("depth", self.depth, 1, self.max_depth))
        set_(self, "examples", check_int("examples", self.examples, 2, 1024))
        if self.examples % 2:
            raise ValueError(f"examples must be even (pairs of inputs); got {self.examples}.")
        set_(self, "c0", check_float("c0", self.c0, -1.0, 1.0))
        set_(self, "skip", check_int("skip", self.skip, 0, SWEEP_MAX_DEPTH))
        if self.depth <= 2 * self.skip + 1:
            raise ValueError(
                f"depth must be > 2 skip + 1 = {2 * self.skip + 1} (the rate is fitted over "
                f"layers skip < l <= depth - skip, at least two); got depth={self.depth}."
            )
        set_(self, "chunk", check_int("chunk", self.chunk, 1, 65536))

    def replace(self, **changes) -> SweepConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)


class SweepResult(NamedTuple):
    """What ``sweep`` measured and predicted; grids are ``(n_bias, n_weight)``.

    Attributes:
      weight_var, bias_var: ``sw^2`` and ``sb^2`` at each point (``meshgrid`` of the axes).
      q: ``q^l``, ``(n_bias, n_weight, max_depth)``.
      c: ``c^l``, like ``q``.
      log_grad: ``ln mean ||dC/db_l||^2 / ||dC/db_L||^2``, like ``q`` (0 at ``l = depth``).
      rate: the fitted change of ``log_grad`` per layer going back (compare ``ln chi1``).
      theory: ``depth_scales`` at the same points (``q*``, ``c*``, ``chi1``, ``xi_*``).
      q_start: ``q^1`` the inputs were scaled to: ``q*`` where finite and >= 0.01, else
        ``sw^2 + sb^2``.
      active: ``(max_depth,)``, ``l < depth``.
    """

    weight_var: np.ndarray
    bias_var: np.ndarray
    q: np.ndarray
    c: np.ndarray
    log_grad: np.ndarray
    rate: np.ndarray
    theory: DepthScales
    q_start: np.ndarray
    active: np.ndarray

    def trim(self) -> SweepResult:
        """The same result with per-layer arrays cut to the ``depth`` measured layers."""
        depth = int(np.sum(self.active))
        q, c, g = (np.asarray(v)[..., :depth] for v in (self.q, self.c, self.log_grad))
        return self._replace(q=q, c=c, log_grad=g, active=np.asarray(self.active)[:depth])


def _axis(name: str, value, low: float) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a 1-D array of variances; got {value!r}.")
    try:
        value = np.atleast_1d(value)
    except Exception as error:  # noqa: BLE001  (ragged lists and the like)
        raise ValueError(f"{name} must be a 1-D array of variances; got {value!r}.") from error
    array = check_array(name, value, ndim=1, dtype=np.float64)
    if not 1 <= array.size <= MAX_GRID:
        raise ValueError(f"{name} must hold 1 to {MAX_GRID} values; got {array.size}.")
    if np.any(array < low) or np.any(array > MAX_VARIANCE):
        bad = array[(array < low) | (array > MAX_VARIANCE)][0]
        bound = "> 0" if low > 0 else ">= 0"
        raise ValueError(
            f"{name} must hold variances {bound} and <= {MAX_VARIANCE:g}; got {bad:g}."
        )
    return array


def _memory_limit(devices) -> float:
    """Bytes one device may use: its allocator's limit where JAX reports one (GPU, TPU), else
    half the machine's memory (CPU devices share it, so divided among them)."""
    stats = None
    try:
        stats = devices[0].memory_stats()
    except Exception:  # noqa: BLE001  (CPU devices may not implement it)
        stats = None
    if stats and stats.get("bytes_limit"):
        return float(stats["bytes_limit"])
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return 0.5 * total / len(devices)


def memory_estimate(config: SweepConfig, n_points: int, n_devices: int = 1) -> int:
    """Bytes one device needs for a sweep of ``n_points`` over ``n_devices``: the shared weights,
    the points in flight (``chunk`` per device, each keeping ``z_l`` of every layer for the
    backward pass plus a few working arrays) and its share of the results.

    Example:
      >>> round(memory_estimate(SweepConfig(width=256, depth=50, chunk=64), 65536) / 2**20, 1)
      78.1
    """
    n, depth, e = config.width, config.max_depth, config.examples
    chunk = min(config.chunk, -(-n_points // n_devices))
    padded = -(-n_points // (chunk * n_devices)) * chunk
    weights = depth * n * (n + 1) + 3 * e * n
    in_flight = chunk * e * n * (depth + _LIVE)
    results = padded * (3 * depth + 4)
    return _BYTES * (weights + in_flight + results)


def grid_mesh(devices=None) -> Mesh:
    """A one-axis ``Mesh`` named ``"grid"`` over ``devices`` (default ``jax.devices()``).

    Built from ``jax.sharding.Mesh`` directly (``jax.make_mesh`` is missing in older JAX).

    Example:
      >>> grid_mesh().axis_names
      ('grid',)
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("devices must name at least one device; got none.")
    return Mesh(np.array(devices), ("grid",))


def _inputs(key, examples: int, width: int, c0):
    """Pairs ``(x_a, x_b)`` of mean square 1 and correlation exactly ``c0``, interleaved:
    ``(examples, width)``."""
    k_a, k_p = jax.random.split(key)
    a = jax.random.normal(k_a, (examples // 2, width))
    p = jax.random.normal(k_p, (examples // 2, width))
    a = a / jnp.linalg.norm(a, axis=1, keepdims=True)
    p = p - jnp.sum(p * a, axis=1, keepdims=True) * a
    p = p / jnp.linalg.norm(p, axis=1, keepdims=True)
    b = c0 * a + jnp.sqrt(1.0 - c0**2) * p
    return jnp.sqrt(width) * jnp.stack([a, b], axis=1).reshape(examples, width)


def _network(entries, index, w, b, x, v, depth, skip, sw, sb, scale):
    """One point: ``(q, c, log_grad, rate)``, per-layer arrays ``(max_depth,)``;
    ``entries[index]`` is the activation (``index`` traced: the choice compiles nothing)."""
    phi = activation_fn(entries, index)
    max_depth = w.shape[0]
    layers = jnp.arange(1, max_depth + 1)

    def forward(a, inputs):
        w_l, b_l, l = inputs
        z = sw * (a @ w_l) + sb * b_l
        pairs = z.reshape(-1, 2, z.shape[-1])
        dot = jnp.sum(pairs[:, 0] * pairs[:, 1], axis=-1)
        norms = jnp.linalg.norm(pairs[:, 0], axis=-1) * jnp.linalg.norm(pairs[:, 1], axis=-1)
        c = jnp.mean(dot / norms)
        return jnp.where(l <= depth, phi(z), a), (jnp.mean(z**2), c, z)

    _, (q, c, z) = jax.lax.scan(forward, scale * x, (w, b, layers))

    def unit(g):
        norm2 = jnp.sum(g**2, axis=-1, keepdims=True)
        safe = jnp.where(norm2 > 0, norm2, 1.0)
        return g / jnp.sqrt(safe), jnp.log(norm2[:, 0])

    def backward(carry, inputs):
        g, log_scale = carry  # g: dC/da_l / ||dC/da_l||, log_scale: ln ||dC/da_l||^2
        z_l, w_l, l = inputs
        delta = derivative(phi, z_l) * g
        log_delta = jnp.log(jnp.sum(delta**2, axis=-1)) + log_scale
        g_new, log_norm = unit(sw * (delta @ w_l.T))
        live = l <= depth
        carry = (jnp.where(live, g_new, g), jnp.where(live, log_scale + log_norm, log_scale))
        return carry, log_delta

    g0, log0 = unit(v)
    _, log_delta = jax.lax.scan(backward, (g0, log0), (z, w, layers), reverse=True)
    top = jax.lax.dynamic_index_in_dim(log_delta, depth - 1, keepdims=False)
    relative = log_delta - top
    log_grad = jax.scipy.special.logsumexp(relative, axis=-1) - jnp.log(relative.shape[-1])
    fit = ((layers > skip) & (layers <= depth - skip)).astype(log_grad.dtype)
    count = jnp.sum(fit)
    mean_l = jnp.sum(fit * layers) / count
    mean_g = jnp.sum(fit * log_grad) / count
    slope = jnp.sum(fit * (layers - mean_l) * (log_grad - mean_g)) / jnp.sum(
        fit * (layers - mean_l) ** 2
    )
    return q, c, log_grad, -slope


@functools.partial(
    jax.jit, static_argnames=("entries", "width", "max_depth", "examples", "sharding")
)
def _measure(entries, index, width, max_depth, examples, sharding, key, sw, sb, scale, depth, c0,
             skip):  # fmt: skip
    """``(q, c, log_grad, rate)`` for points shaped ``(n_chunks, chunk_total)``."""
    k_w, k_b, k_x, k_v = jax.random.split(key, 4)
    w = jax.random.normal(k_w, (max_depth, width, width)) / jnp.sqrt(width)
    b = jax.random.normal(k_b, (max_depth, width))
    x = _inputs(k_x, examples, width, c0)
    v = jax.random.normal(k_v, (examples, width))
    point = functools.partial(_network, entries, index, w, b, x, v, depth, skip)

    def chunk(args):
        out = jax.vmap(point)(*args)
        if sharding is not None:
            out = jax.lax.with_sharding_constraint(out, sharding)
        return out

    return jax.lax.map(chunk, (sw, sb, scale))


def sweep(
    config: SweepConfig,
    weight_vars,
    bias_vars,
    *,
    key: jax.Array,
    devices=None,
    memory_limit: float | None = None,
) -> SweepResult:
    """Random networks on the grid ``bias_vars x weight_vars``, measured beside mean-field theory.

    See the module's docstring for what is measured. Inputs are scaled so that the first
    layer starts at ``q^1 = q*`` (``SweepResult.q_start``), as ``measure_gradient_rate`` does.

    Args:
      config: a ``SweepConfig``.
      weight_vars: ``sw^2`` values, 1-D, 1 to 1024 of them, each in ``(0, 100]``.
      bias_vars: ``sb^2`` values, 1-D, 1 to 1024, each in ``[0, 100]``.
      key: a ``jax.random`` key; the same key gives the same draws at every grid point.
      devices: the devices to shard the grid over (default ``jax.devices()``).
      memory_limit: bytes a device may use (default: its allocator's limit, or half the
        machine's memory shared among CPU devices); a larger estimate is refused.

    Returns:
      A ``SweepResult`` of NumPy arrays (``trim()`` cuts the layers to ``depth``).

    Raises:
      ValueError: a bad argument, or a grid whose ``memory_estimate`` exceeds the limit (the
        message gives both).

    Example:
      >>> import jax
      >>> r = sweep(SweepConfig(width=64, depth=12), [0.5, 4.0], [0.05], key=jax.random.key(0))
      >>> r.rate.shape, bool(r.rate[0, 0] < 0 < r.rate[0, 1])  # vanishing, then exploding
      ((1, 2), True)

    References:
      Poole et al., NeurIPS 2016; Schoenholz et al., ICLR 2017.
    """
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a SweepConfig; got {type(config).__name__}.")
    weight_axis = _axis("weight_vars", weight_vars, 1e-300)
    bias_axis = _axis("bias_vars", bias_vars, 0.0)
    check_key(key)
    mesh = grid_mesh(devices)
    n_devices = mesh.devices.size
    n_points = weight_axis.size * bias_axis.size
    estimate = memory_estimate(config, n_points, n_devices)
    limit = _memory_limit(list(mesh.devices.flat)) if memory_limit is None else check_float(
        "memory_limit", memory_limit, 0.0)  # fmt: skip
    if estimate > limit:
        raise ValueError(
            f"the sweep of {bias_axis.size} x {weight_axis.size} points (width {config.width}, "
            f"max_depth {config.max_depth}, {config.examples} examples, chunk {config.chunk}) "
            f"needs about {estimate / 2**20:.1f} MiB per device, above the limit of "
            f"{limit / 2**20:.1f} MiB; make the grid, chunk, width or depth smaller, or use "
            "more devices."
        )
    weight_var, bias_var = np.meshgrid(weight_axis, bias_axis)
    theory = depth_scales(config.activation, weight_var, bias_var)
    usable = theory.converged & np.isfinite(theory.q_star) & (theory.q_star >= _Q_START_MIN)
    q_start = np.where(usable, theory.q_star, weight_var + bias_var)
    scale = np.sqrt(np.maximum(q_start - bias_var, 0.0) / weight_var)

    chunk = min(config.chunk, -(-n_points // n_devices))
    total = chunk * n_devices
    n_chunks = -(-n_points // total)
    pad = n_chunks * total - n_points

    def points(values, fill):
        flat = np.concatenate([np.ravel(values), np.full(pad, fill)]).astype(np.float32)
        return flat.reshape(n_chunks, total)

    arrays = [points(np.sqrt(weight_var), 1.0), points(np.sqrt(bias_var), 0.0), points(scale, 1.0)]
    sharding = None
    if n_devices > 1:
        sharding = NamedSharding(mesh, PartitionSpec(None, "grid"))
        arrays = [jax.device_put(a, sharding) for a in arrays]
        inner = NamedSharding(mesh, PartitionSpec("grid"))
    else:
        arrays = [jax.device_put(a, mesh.devices.flat[0]) for a in arrays]
        inner = None
    q, c, log_grad, rate = _measure(
        *activation_choice(config.activation), config.width, config.max_depth, config.examples, inner, key,
        *arrays, config.depth, config.c0, config.skip,
    )  # fmt: skip
    grid = bias_axis.size, weight_axis.size

    def cut(value):
        value = np.asarray(value)
        value = value.reshape(n_chunks * total, *value.shape[2:])[:n_points]
        return value.reshape(*grid, *value.shape[1:])

    active = np.arange(config.max_depth) < config.depth
    return SweepResult(
        weight_var, bias_var, cut(q), cut(c), cut(log_grad), cut(rate), theory, q_start, active
    )
