"""Mean-field signal propagation: the length map, its fixed point ``q*``, ``chi1`` and ``xi_nabla``.

In a wide random network with ``W_ij ~ N(0, sw^2/N)`` and ``b_i ~ N(0, sb^2)``, every
pre-activation of layer ``l`` is Gaussian with variance ``q^l``, and (Poole et al. 2016)

    q^l = sw^2 E_z[phi(sqrt(q^{l-1}) z)^2] + sb^2,     z ~ N(0, 1)       (the length map).

Its fixed point ``q*`` is where a deep network's signal settles. Going backward, each layer
multiplies the expected squared gradient by (Schoenholz et al. 2017)

    chi1 = sw^2 E_z[phi'(sqrt(q*) z)^2],   so   E||dC/db_l||^2 ~ chi1^(L - l),

and ``xi_nabla = -1/ln(chi1)`` is the depth over which it changes e-fold: ``chi1 < 1`` is the
ordered phase (gradients vanish), ``chi1 > 1`` the chaotic phase (they explode), ``chi1 = 1`` the
critical line, the edge of chaos. Gaussian expectations use Gauss-Legendre quadrature on each
half line (see ``_quadrature``); ``phi'`` and ``phi''`` are ``derivative``'s, the slopes that
back-propagation multiplies by, so every registered activation works.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._activations import derivative, get_activation
from ._compat import x64_context
from ._switch import activation_choice, chosen
from ._validate import check_array, check_float, check_int

_RTOL = 1e-13  # the fixed point's relative tolerance, |F(q) - q| <= _RTOL * q
_Q_MAX = 1e100  # past this the length map is taken to diverge
_CRITICAL_LOG = 1e-14  # |ln chi1| below this is rounding: depth_scale = inf
_CRITICAL_MAX = 2.0**20  # critical_weight_var looks for chi1 = 1 below this weight variance
_SECTIONS = 32  # ... trying _SECTIONS - 1 points per call
MAX_NODES = 2000
_Z_MAX = 12.0  # the quadrature covers |z| <= 12


class MeanField(NamedTuple):
    """The mean-field quantities of one ``(activation, sw^2, sb^2)``; arrays broadcast together.

    Attributes:
      q_star: the fixed point ``q*`` of the length map reached from ``q_init``; ``inf`` where the
        length map grows without bound (ReLU with ``sw^2 >= 2`` and ``sb^2 > 0``).
      chi1: ``sw^2 E[phi'(sqrt(q*) z)^2]``, the factor by which one layer multiplies the
        expected squared gradient; where no finite ``q*`` exists, ``chi1`` is taken at the last
        iterate (for ReLU ``chi1 = sw^2/2`` at any ``q > 0``), and at ``q* = 0`` it is the
        limit ``q -> 0+``.
      depth_scale: ``xi_nabla = -1/ln(chi1)``: positive in the ordered phase (gradients vanish
        e-fold every ``xi_nabla`` layers), negative in the chaotic phase (they grow), ``inf``
        at ``chi1 = 1`` (``|ln chi1| < 1e-14``).
      converged: the iteration reached an attracting fixed point: ``|F(q) - q|`` within
        tolerance and ``chi_q = F'(q*) < 1``. False where ``q`` diverges, and where no fixed
        point attracts (ReLU at ``sw^2 = 2, sb^2 = 0``: every ``q`` is fixed, ``q_star`` is
        ``q_init``). Tanh at ``sw^2 = 1, sb^2 = 0`` converges to ``q* = 0`` (the network's
        ``q^l`` only as ``1/(2l)``).
    """

    q_star: np.ndarray
    chi1: np.ndarray
    depth_scale: np.ndarray
    converged: np.ndarray


@functools.lru_cache(maxsize=8)
def _quadrature(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``z_i`` and weights ``w_i`` with ``E[f(z)] ~ sum_i w_i f(z_i)`` for ``z ~ N(0, 1)``.

    Gauss-Legendre on each half line, ``[-12, 0]`` and ``[0, 12]``, with the Gaussian density
    folded into the weights (the mass beyond 12 is 4e-33), ``n_nodes / 2`` nodes on each side.
    Legendre nodes come from the Golub-Welsch algorithm (eigenvalues of the Jacobi matrix,
    off-diagonal ``k / sqrt(4k^2 - 1)``). The weights are symmetric and normalised, so
    ``E[1] = 1`` and ``E[relu'(z)^2] = 1/2`` to rounding.

    Why not Gauss-Hermite: every registered activation's kink sits at ``z = 0`` and, for large
    ``q``, ``phi(sqrt(q) z)`` changes within ``|z| < 1/sqrt(q)``. Gauss-Hermite treats ``f`` as
    one polynomial over the whole line and spaces its nodes ~0.2 apart near 0 (300 nodes): its
    error is ~1e-3 for ``E[selu'(z)^2]`` (a jump at 0) and for ``E[tanh'(sqrt(q) z)^2]`` at
    ``q = 25``. Split at 0, each half is smooth, and Legendre nodes crowd towards the ends of
    ``[0, 12]`` (the first ten lie below 0.08 with 400 nodes): errors against a dense
    trapezoid rule stay below 1e-13 for these up to ``q = 100`` and ~1e-8 at ``q = 10^4``.
    """
    half = n_nodes // 2
    k = np.arange(1.0, half)
    off_diagonal = k / np.sqrt(4.0 * k**2 - 1.0)
    x, vectors = np.linalg.eigh(np.diag(off_diagonal, 1) + np.diag(off_diagonal, -1))
    z = _Z_MAX / 2 * (x + 1.0)
    w = 2.0 * vectors[0] ** 2 * _Z_MAX / 2 * np.exp(-(z**2) / 2)
    nodes = np.concatenate([-z[::-1], z])
    weights = np.concatenate([w[::-1], w])
    weights = weights / np.sum(weights)
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def _moments(act, u, weights):
    """``(E[phi^2], E[phi'^2], E[phi'^2 + phi phi''])`` of one registry entry, the expectations
    over ``u`` (nodes along the last axis) with quadrature ``weights``."""
    dphi = functools.partial(derivative, act.fn)
    phi, d1, d2 = act.fn(u), dphi(u), derivative(dphi, u)
    return tuple(
        jnp.sum(weights * f, axis=-1) for f in (phi**2, d1**2, d1**2 + phi * d2)
    )


@functools.partial(jax.jit, static_argnames="entries")
def _expectations(entries, index, q, weight_var, bias_var, nodes, weights):
    """``(F(q), chi_q(q), sw^2 E[phi'^2])`` over ``u ~ N(0, q)``, ``phi = entries[index]``.

    The length map ``F(q) = sw^2 E[phi(u)^2] + sb^2``, its slope ``chi_q = dF/dq = sw^2
    E[phi'^2 + phi phi'']`` (Gaussian integration by parts; unlike autodiff through sqrt(q) it
    stays finite at q = 0; with a custom backward pass, the lifted sigmoid's, only an estimate
    of dF/dq: it steers the Newton steps and the "attracting" test, while q* itself is decided
    by the residual F(q) - q), and ``chi1`` at ``q``: one ``jax.lax.switch`` (``_moments``).

    Jitted on its own although it only runs inside ``_solve`` and ``_correlation_solve``: JAX
    traces a jitted function once per argument shapes and reuses that trace at every call, so
    the switch (every activation's first and second derivatives) is traced once, not at each
    of ``_solve``'s five calls and ``_correlation_solve``'s one. Tracing is most of what a
    build with JAX's persistent cache filled still spends."""
    u = jnp.sqrt(jnp.maximum(q, 0.0))[..., None] * nodes
    e_phi2, e_dphi2, e_slope = chosen(entries, index, _moments, u, weights)
    return weight_var * e_phi2 + bias_var, weight_var * e_slope, weight_var * e_dphi2


@functools.partial(jax.jit, static_argnames="entries")
def _solve(entries, index, weight_var, bias_var, q_init, nodes, weights, max_iter):
    """Fixed point, ``chi1``, ``xi_nabla`` and ``converged`` for one block of variances.

    ``entries[index]`` is the activation, ``index`` traced: every activation runs in the one
    compiled program. Each evaluation of the Gaussian expectations is one call of
    ``_expectations``, one ``jax.lax.switch`` that returns all three, traced once."""

    def moments(q):
        return _expectations(entries, index, q, weight_var, bias_var, nodes, weights)

    def small(r, q):
        return jnp.abs(r) <= _RTOL * q + jnp.finfo(q.dtype).tiny

    def done(q, f):
        return small(f - q, q) | ~jnp.isfinite(q) | (q > _Q_MAX)

    def step(state):
        q, i = state
        f, chi_q, _ = moments(q)
        # Newton's step on F(q) - q is the plain step (q -> F(q)) stretched by 1/(1 - chi_q):
        # taken where 0 <= chi_q < 1 (same direction, further) and where it shrinks the
        # residual; otherwise the plain step, which is what the network's layers do.
        newton = q + (f - q) / (1.0 - chi_q)
        ok = (chi_q >= 0) & (chi_q < 1) & (newton >= 0) & jnp.isfinite(newton)
        tried = jnp.where(ok, newton, q)
        ok &= jnp.abs(moments(tried)[0] - tried) < jnp.abs(f - q)
        q_new = jnp.where(ok, newton, f)
        return jnp.where(done(q, f), q, q_new), i + 1

    shape = jnp.broadcast_shapes(weight_var.shape, bias_var.shape, q_init.shape)
    q0 = jnp.broadcast_to(q_init, shape)
    q, _ = jax.lax.while_loop(
        lambda s: jnp.any(~done(s[0], moments(s[0])[0])) & (s[1] < max_iter),
        step,
        (q0, jnp.asarray(0)),
    )
    finite = jnp.isfinite(q) & (q <= _Q_MAX)
    q_last = jnp.where(finite, q, _Q_MAX)
    f_last, chi_q_last, _ = moments(q_last)
    attracting = chi_q_last < 1
    tiny = jnp.finfo(q.dtype).tiny
    residual = f_last - q_last
    converged = finite & (jnp.abs(residual) <= _RTOL * q_last + tiny) & attracting
    growing = ~finite | (~converged & (residual > _RTOL * q_last))
    q_star = jnp.where(growing, jnp.inf, jnp.abs(q_last))  # abs: no -0.0
    # chi1 at q* = 0 is its limit q -> 0+ (ReLU: sw^2/2, not relu'(0)^2 sw^2).
    q_chi = jnp.maximum(q_last, tiny)
    chi1 = moments(q_chi)[2]
    log_chi1 = jnp.log(chi1)
    # chi1 within rounding of 1 (ReLU at sw^2 = 2) is the critical point: xi_nabla = inf.
    depth_scale = jnp.where(jnp.abs(log_chi1) < _CRITICAL_LOG, jnp.inf, -1.0 / log_chi1)
    return MeanField(q_star, chi1, depth_scale, converged)


def _variance(name: str, value) -> np.ndarray:
    array = check_array(name, value, ndim=np.ndim(value), dtype=np.float64)
    if np.any(array < 0):
        raise ValueError(
            f"{name} must be >= 0 (a variance); got {value!r}, whose smallest entry is "
            f"{array.min():g}."
        )
    return array


def _options(n_nodes, max_iter) -> tuple[int, int]:
    n_nodes = check_int("n_nodes", n_nodes, 2, MAX_NODES)
    if n_nodes % 2:
        raise ValueError(
            f"n_nodes must be even (half of the nodes lie on each side of z = 0, where ReLU's "
            f"derivative jumps); got {n_nodes}."
        )
    return n_nodes, check_int("max_iter", max_iter, 1, 1_000_000)


def mean_field(
    activation: str,
    weight_var,
    bias_var,
    *,
    q_init: float = 1.0,
    n_nodes: int = 400,
    max_iter: int = 2000,
) -> MeanField:
    """The fixed point ``q*``, ``chi1`` and gradient depth scale for weight and bias variances.

    Iterates the length map ``q -> F(q) = sw^2 E[phi(sqrt(q) z)^2] + sb^2`` from ``q_init``
    (accelerated by safeguarded Newton steps) to its fixed point ``q*``, then evaluates
    ``chi1 = sw^2 E[phi'(sqrt(q*) z)^2]`` and ``xi_nabla = -1/ln(chi1)``, in float64. The
    variances are traced and a grid runs in blocks of ``BLOCK`` points, so one compiled program
    (per ``n_nodes``) serves a single point and grids of every size and shape.

    Args:
      activation: a key of ``ACTIVATIONS``.
      weight_var: ``sw^2`` (the network's ``weight_scale ** 2``), a number or an array, >= 0.
      bias_var: ``sb^2`` (``bias_scale ** 2``), a number or an array broadcasting with
        ``weight_var``, >= 0.
      q_init: the starting ``q^0 > 0``.
      n_nodes: quadrature nodes, even, in [2, 2000]; 400 give ~1e-13 up to ``q* = 100``.
      max_iter: most iterations of the length map.

    Returns:
      A ``MeanField`` of NumPy float64 arrays of the broadcast shape (0-d for numbers).

    Example:
      >>> mf = mean_field("relu", [1.0, 2.0, 4.0], 0.0)
      >>> [round(float(c), 6) for c in mf.chi1]
      [0.5, 1.0, 2.0]

    References:
      Poole, Lahiri, Raghu, Sohl-Dickstein, Ganguli, "Exponential expressivity in deep neural
      networks through transient chaos", NeurIPS 2016, eqs. (3)-(4).
      Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, "Deep information propagation", ICLR 2017,
      sec. 3 and 6.
    """
    get_activation(activation)
    weight_var = _variance("weight_var", weight_var)
    bias_var = _variance("bias_var", bias_var)
    try:
        np.broadcast_shapes(weight_var.shape, bias_var.shape)
    except ValueError as error:
        raise ValueError(
            f"weight_var and bias_var must broadcast together; got shapes {weight_var.shape} "
            f"and {bias_var.shape}."
        ) from error
    q_init = check_float("q_init", q_init, 0.0)
    if q_init == 0:
        raise ValueError("q_init must be > 0 (q = 0 is a fixed point of every odd phi); got 0.")
    n_nodes, max_iter = _options(n_nodes, max_iter)
    return _mean_field(activation, weight_var, bias_var, q_init, n_nodes, max_iter)


BLOCK = 32  # points per call of the compiled solvers


def _blocks(values: np.ndarray) -> np.ndarray:
    """``values`` flattened, padded with copies of its first entry to a whole number of
    blocks, as ``(n_blocks, BLOCK)``: every grid, a single point included, runs as blocks of
    the one shape, so one compiled (and traced) program per solver serves them all. Every
    point is computed on its own, so the padding changes no result."""
    flat = np.ravel(values)
    padded = np.concatenate([flat, np.full(-flat.size % BLOCK, flat[0])])
    return padded.reshape(-1, BLOCK)


def _by_blocks(solve, size: int, *grids) -> tuple:
    """``solve`` on each block of ``grids`` (float64 arrays of ``size`` points, shaped alike),
    its results joined and cut back to ``size`` points, as flat NumPy arrays. The calls are
    queued before any result is read, so the blocks run back to back."""
    parts = [solve(*block) for block in zip(*(_blocks(g).astype(np.float64) for g in grids))]
    return tuple(np.concatenate([np.asarray(v) for v in field])[:size] for field in zip(*parts))


def _mean_field(activation, weight_var, bias_var, q_init, n_nodes, max_iter) -> MeanField:
    nodes, weights = _quadrature(n_nodes)
    weight_var, bias_var = np.broadcast_arrays(weight_var, bias_var)
    entries, index = activation_choice(activation)
    # NumPy arrays in: an eager jnp.asarray with a dtype compiles a conversion
    fixed = (np.float64(q_init), np.asarray(nodes, np.float64), np.asarray(weights, np.float64),
             np.int32(max_iter))  # fmt: skip
    with x64_context("float64"):
        flat = _by_blocks(
            lambda w, b: _solve(entries, index, w, b, *fixed), weight_var.size, weight_var,
            bias_var,
        )  # fmt: skip
    return MeanField(*(v.reshape(weight_var.shape) for v in flat))


def critical_weight_var(
    activation: str, bias_var: float, *, n_nodes: int = 400, max_iter: int = 2000
) -> float:
    """The weight variance ``sw^2`` at which ``chi1 = 1``: the edge of chaos at this ``sb^2``.

    A 32-section search in float64 (a bisection that tries 31 points per step, all in one
    ``mean_field`` call): first over ``sw^2 = 2^-10 .. 2^20``, then, ten times or so, over 31
    evenly spaced points of the bracket found, until it is 1e-13 wide. Returns the smallest
    ``sw^2`` tried with ``chi1 >= 1`` (exactly 2.0 for ReLU), or ``inf`` if ``chi1 < 1`` up
    to ``2^20``.

    Args:
      activation: a key of ``ACTIVATIONS``.
      bias_var: ``sb^2 >= 0``, finite.
      n_nodes, max_iter: as in ``mean_field``.

    Returns:
      ``sw^2`` as a float, to about 1e-13 relative where ``chi1`` crosses 1 (tanh at
      ``sb^2 = 0``, where ``chi1 - 1 ~ (sw^2 - 1)^2 / 3`` only touches 1, to about 1e-7).

    Example:
      >>> critical_weight_var("relu", 0.0), round(critical_weight_var("tanh", 0.0), 6)
      (2.0, 1.0)

    References:
      Schoenholz et al., "Deep information propagation", ICLR 2017, fig. 1 (tanh critical line).
    """
    get_activation(activation)
    bias_var = check_float("bias_var", bias_var, 0.0)
    n_nodes, max_iter = _options(n_nodes, max_iter)

    def first_critical(grid):
        chi1 = _mean_field(activation, grid, np.float64(bias_var), 1.0, n_nodes, max_iter).chi1
        above = np.flatnonzero(chi1 >= 1)
        return int(above[0]) if above.size else len(grid)

    grid = 2.0 ** np.linspace(-10.0, math.log2(_CRITICAL_MAX), _SECTIONS - 1)
    i = first_critical(grid)
    if i == len(grid):
        return math.inf
    lo, hi = (0.0 if i == 0 else float(grid[i - 1])), float(grid[i])
    while hi - lo > 1e-13 * hi:
        grid = np.linspace(lo, hi, _SECTIONS + 1)[1:-1]
        i = first_critical(grid)
        lo, hi = (lo if i == 0 else float(grid[i - 1])), (hi if i == len(grid) else float(grid[i]))
    return hi


# ------------------------------------------------------------------------------------------------
# Depth scales: how fast a deep network forgets its input's length and its inputs' correlation


class DepthScales(NamedTuple):
    """Mean-field depth scales of one ``(activation, sw^2, sb^2)``; arrays broadcast together.

    Attributes:
      q_star, chi1, converged: as in ``MeanField``.
      c_star: the attracting fixed point of the correlation map in ``[0, 1]``: 1 in the ordered
        phase (``chi1 <= 1``: two inputs become one), below 1 in the chaotic phase; ``nan``
        where there is no finite ``q*``.
      chi_q: ``sw^2 E[phi'(u)^2 + phi(u) phi''(u)]`` at ``q*``, the slope of the length map.
      chi_c: ``sw^2 E[phi'(u1) phi'(u2)]`` at ``c*``, the slope of the correlation map there
        (``chi1`` where ``c* = 1``).
      xi_q: ``-1/ln chi_q``, the depth over which ``q^l`` settles e-fold towards ``q*``.
      xi_c: ``-1/ln chi_c``, the depth over which ``c^l`` settles e-fold towards ``c*``;
        ``inf`` on the critical line, where it diverges.
      xi_grad: ``MeanField.depth_scale``, ``-1/ln chi1`` (signed: negative where gradients
        explode).
    """

    q_star: np.ndarray
    c_star: np.ndarray
    chi1: np.ndarray
    chi_q: np.ndarray
    chi_c: np.ndarray
    xi_q: np.ndarray
    xi_c: np.ndarray
    xi_grad: np.ndarray
    converged: np.ndarray


_BISECTIONS = 48  # c* to 2^-48 ~ 4e-15


def _scale(chi: np.ndarray) -> np.ndarray:
    """``-1/ln chi``, infinite where ``|ln chi|`` is under ``_CRITICAL_LOG`` (NumPy: the
    grids are small, and eager JAX operations would compile a program per shape)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_chi = np.log(chi)
        return np.where(np.abs(log_chi) < _CRITICAL_LOG, np.inf, -1.0 / log_chi)


def _pair(slope, act, u1, u2, w2):
    """``sum(w2 f(u1) f(u2))`` over the last two axes, ``f = phi'`` if ``slope`` else ``phi``."""
    f = functools.partial(derivative, act.fn) if slope else act.fn
    return jnp.sum(w2 * f(u1) * f(u2), axis=(-2, -1))


@functools.partial(jax.jit, static_argnames="entries")
def _correlation_solve(entries, index, weight_var, bias_var, q_star, chi1, nodes, weights,
                       nodes2, weights2):  # fmt: skip
    """``(c*, chi_q, chi_c)`` for one block of variances, given ``q*`` and ``chi1`` from ``_solve``;
    ``entries[index]`` is the activation, ``index`` traced."""
    finite = jnp.isfinite(q_star)
    q = jnp.where(finite, q_star, 1.0)
    root = jnp.sqrt(q)[:, None]
    chi_q = _expectations(entries, index, q, weight_var, bias_var, nodes, weights)[1]
    # The pair (u1, u2) with E[u1^2] = E[u2^2] = q and correlation c, on a product grid of the
    # same half-line rule: u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2).
    z1, z2 = nodes2[:, None], nodes2[None, :]
    w2 = weights2[:, None] * weights2[None, :]
    u1 = root[:, :, None] * z1

    def pair(slope, c):
        """``E[f(u1) f(u2)]``, ``f = phi'`` if ``slope`` else ``phi``: one switch."""
        c = c[:, None, None]
        u2 = root[:, :, None] * (c * z1 + jnp.sqrt(jnp.maximum(1.0 - c**2, 0.0)) * z2)
        return chosen(entries, index, functools.partial(_pair, slope), u1, u2, w2)

    def residual(c):  # C(c) - c, C the correlation map
        return (weight_var * pair(False, c) + bias_var) / jnp.maximum(q, 1e-300) - c

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        above = residual(mid) > 0  # below c*: the map pushes c up
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    zeros = jnp.zeros_like(q)
    lo, hi = jax.lax.fori_loop(0, _BISECTIONS, bisect, (zeros, zeros + 1.0))
    c_star = jnp.where(chi1 <= 1.0, 1.0, 0.5 * (lo + hi))
    chi_c = jnp.where(c_star >= 1.0, chi1, weight_var * pair(True, c_star))
    nan = jnp.nan
    return (
        jnp.where(finite, c_star, nan),
        jnp.where(finite, chi_q, nan),
        jnp.where(finite, chi_c, nan),
    )


def depth_scales(
    activation: str,
    weight_var,
    bias_var,
    *,
    n_nodes: int = 400,
    n_nodes_2d: int = 48,
    max_iter: int = 2000,
) -> DepthScales:
    """``q*``, ``c*``, ``chi1`` and the depth scales ``xi_q``, ``xi_c``, ``xi_grad`` on a grid.

    Extends ``mean_field`` (whose ``q*`` and ``chi1`` it uses) with the correlation map of two
    inputs (Poole et al. 2016, eq. 5; Schoenholz et al. 2017, eqs. 4-9):

        c^l = (sw^2 E[phi(u1) phi(u2)] + sb^2) / q*,   E[u1^2] = E[u2^2] = q*,
        corr(u1, u2) = c^{l-1},

    whose fixed point ``c*`` is found by bisection on ``[0, 1]`` (``c = 1`` is always fixed; it
    attracts where ``chi1 <= 1``), and the slopes of both maps at their fixed points:

        chi_q = sw^2 E[phi'(u)^2 + phi(u) phi''(u)],   chi_c = sw^2 E[phi'(u1) phi'(u2)] at c*,

    with ``xi_q = -1/ln chi_q``, ``xi_c = -1/ln chi_c`` (``chi_c = chi1`` at ``c* = 1``, so in
    the ordered phase ``xi_c = xi_grad``; on the critical line ``xi_c`` diverges) and
    ``xi_grad = -1/ln chi1``. Two-dimensional expectations use the product of ``_quadrature``'s
    half-line rule with ``n_nodes_2d`` nodes per axis: the kink of ``phi(u2)`` lies on a slanted
    line there, so ReLU's correlation map is right to ~1e-5 (against its closed form, the
    arc-cosine kernel), smooth activations' to ~1e-10.

    Args:
      activation: a key of ``ACTIVATIONS``.
      weight_var, bias_var: ``sw^2``, ``sb^2 >= 0``, numbers or arrays that broadcast.
      n_nodes: nodes of the one-dimensional rule (``mean_field``'s).
      n_nodes_2d: nodes per axis of the two-dimensional rule, even, in [2, 400].
      max_iter: most iterations of the length map (``mean_field``'s); fewer make a large
        grid faster where ``q`` diverges slowly (it is then reported as diverging).

    Returns:
      A ``DepthScales`` of NumPy float64 arrays of the broadcast shape.

    Example:
      >>> d = depth_scales("tanh", [0.5, 1.5], 0.0)
      >>> d.c_star.round(12).tolist(), round(float(d.xi_c[0]), 4)  # xi_c = -1/ln(0.5)
      ([1.0, 0.0], 1.4427)

    References:
      Poole et al., "Exponential expressivity in deep neural networks through transient chaos",
      NeurIPS 2016. Schoenholz et al., "Deep information propagation", ICLR 2017, sec. 3.
    """
    mf = mean_field(activation, weight_var, bias_var, n_nodes=n_nodes, max_iter=max_iter)
    n_nodes_2d = check_int("n_nodes_2d", n_nodes_2d, 2, 400)
    if n_nodes_2d % 2:
        raise ValueError(f"n_nodes_2d must be even (nodes on each side of 0); got {n_nodes_2d}.")
    weight_var, bias_var = np.broadcast_arrays(
        np.asarray(weight_var, np.float64), np.asarray(bias_var, np.float64)
    )
    entries, index = activation_choice(activation)
    rules = tuple(
        np.asarray(v, np.float64) for v in (*_quadrature(n_nodes), *_quadrature(n_nodes_2d))
    )
    with x64_context("float64"):
        flat = _by_blocks(
            lambda w, b, q, chi1: _correlation_solve(entries, index, w, b, q, chi1, *rules),
            weight_var.size, weight_var, bias_var, np.where(mf.converged, mf.q_star, np.inf),
            mf.chi1,
        )  # fmt: skip
    c_star, chi_q, chi_c = (v.reshape(weight_var.shape) for v in flat)
    xi_q, xi_c = _scale(chi_q), _scale(chi_c)
    return DepthScales(
        mf.q_star, c_star, mf.chi1, chi_q, chi_c, xi_q, xi_c, mf.depth_scale, mf.converged
    )
