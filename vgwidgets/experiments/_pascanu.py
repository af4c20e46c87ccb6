"""Pascanu, Mikolov & Bengio (2013): the bound on gradients through time, the spectral radius
against the largest singular value, and the cliff (``reproduce pascanu-cliff``).

The bound. For the vanilla cell, ``||dL/dh_t|| <= ||dL/dh_T|| (sigma_max(W_rec) gamma)^(T-t)``
with ``gamma = sup |phi'|`` (1 for tanh, 1/4 for the sigmoid). So ``sigma_max < 1/gamma`` is
*sufficient* for vanishing, and ``sigma_max > 1/gamma`` is *necessary* for exploding (if the
gradient grows, the bound must exceed 1). Neither is the converse.

The gap. A Gaussian ``W`` with entries of variance ``1/n`` has spectral radius near 1 (the
circular law) but largest singular value near 2 (Marchenko-Pastur's edge, ``1 + sqrt(1)``):
the sufficient condition ``sigma_max < 1`` fails though every eigenvalue is inside the unit
circle. The spectral radius rules the gradient's growth only asymptotically.

References:
  Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML
  2013, sec. 3.1-3.3, Fig. 6 and Algorithm 1. Ginibre (1965) and Bai (1997) for the circular
  law; Geman (1980) for the largest singular value.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..engine import (
    TimeProbe,
    check_int,
    cliff_descent,
    cliff_surface,
)
from ._registry import Reproduction

REFERENCE = "Pascanu, Mikolov & Bengio, ICML 2013, sec. 3.3, Fig. 6, Algorithm 1"
CLIFF_W = (0.0, 10.0)
CLIFF_B = (-8.0, 2.0)
CLIFF_GRID = 81
CLIFF_START = (6.0, -2.5)
CLIFF_LR = 0.5
CLIFF_RUN_STEPS = 200
CLIFF_THRESHOLD = 1.0
GAP_N = 128


def through_time_bound(result: TimeProbe) -> np.ndarray:
    """``||dL/dh_T|| (sigma_max gamma)^(T-t)`` for every active step (NaN for gated cells).

    Args:
      result: a ``TimeProbe``, trimmed or not.

    Returns:
      ``(T,)`` float64, ``T`` the active length.
    """
    r = result.trim()
    grad = np.asarray(r.grad_h_norm, np.float64)
    distance = np.arange(grad.size)[::-1]
    factor = float(r.rec_norm) * float(r.gamma)
    with np.errstate(all="ignore"):
        return grad[-1] * factor**distance


def through_time_phase(result: TimeProbe, *, factor: float = 10.0) -> str:
    """"vanishing", "exploding" or "neither" from the measured ``||dL/dh_1|| / ||dL/dh_T||``:
    below ``1/factor``, above ``factor``, or between; "overflow" if it is not finite."""
    r = result.trim()
    grad = np.asarray(r.grad_h_norm, np.float64)
    with np.errstate(all="ignore"):
        ratio = grad[0] / grad[-1]
    if not np.isfinite(ratio) or not np.all(np.isfinite(grad)):
        return "overflow"
    if ratio < 1.0 / factor:
        return "vanishing"
    return "exploding" if ratio > factor else "neither"


def spectrum_gap(n: int, seeds: int = 1) -> dict:
    """Spectral radius and largest singular value of Gaussian ``W`` (variance ``1/n``; what
    ``init_rnn``'s "gaussian" draws at gain 1), drawn by NumPy (``default_rng(seed)``), so
    that the numbers are the same on every JAX version.

    Returns:
      ``{"n", "radius", "sigma_max"}``, the last two lists over ``seeds`` draws.

    Example:
      >>> gap = spectrum_gap(100)
      >>> 0.8 < gap["radius"][0] < 1.2, 1.8 < gap["sigma_max"][0] < 2.2
      (True, True)
    """
    n = check_int("n", n, 2, 1024)
    seeds = check_int("seeds", seeds, 1, 100)
    radius, sigma = [], []
    for seed in range(seeds):
        w = np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)
        radius.append(float(np.max(np.abs(np.linalg.eigvals(w)))))
        sigma.append(float(np.linalg.svd(w, compute_uv=False)[0]))
    return {"n": n, "radius": radius, "sigma_max": sigma}


# ---------------------------------------------------------------------------------------------
# pascanu-cliff

_RUN = "path ([w, b] per step), loss, grad_norm (before clipping), final_loss, min_loss, largest_step"
CLIFF_KEYS = {
    "w": "the grid's w values",
    "b": "the grid's b values",
    "surface": "E(w, b) on the grid, one row per b",
    "start": "(w, b) both descents start from",
    "lr": "the learning rate",
    "steps": "gradient steps taken",
    "threshold": "the clipping threshold of Algorithm 1",
    "plain": f"gradient descent without clipping: {_RUN}",
    "clipped": f"gradient descent with norm clipping: {_RUN}",
    "gap": "spectral radius and largest singular value of Gaussian W (variance 1/n), n = 128",
    "reference": "the source",
}
SUMMARY = "Pascanu et al. (2013) Fig. 6: the cliff of a one-unit RNN, descent with and without clipping"


def _summarize(run) -> dict:
    steps = np.linalg.norm(np.diff(run.path, axis=0), axis=1)
    return {
        "path": run.path.tolist(),
        "loss": run.loss.tolist(),
        "grad_norm": run.grad_norm.tolist(),
        "final_loss": float(run.loss[-1]),
        "min_loss": float(np.min(run.loss)),
        "largest_step": float(np.max(steps)),
    }


def run_cliff(seeds: int | None = None, *, grid: int = CLIFF_GRID, steps: int = CLIFF_RUN_STEPS):
    """The cliff's surface and two gradient descents from one start, plain and clipped.

    Args:
      seeds: not used (nothing is random); anything but ``None`` is a ``ValueError``.
      grid: points per axis of the surface, in ``[2, 401]``.
      steps: gradient steps per descent, in ``[1, 10000]``.

    Returns:
      A JSON-able dict with the keys of ``CLIFF_KEYS``.

    Example:
      >>> r = run_cliff(grid=3, steps=3)
      >>> len(r["surface"]), len(r["clipped"]["path"])
      (3, 4)
    """
    if seeds is not None:
        raise ValueError(
            f"seeds does not apply to pascanu-cliff, which draws nothing; got seeds={seeds!r}. "
            "Leave --seeds out."
        )
    grid = check_int("grid", grid, 2, 401)
    steps = check_int("steps", steps, 1, 10_000)
    ws, bs = np.linspace(*CLIFF_W, grid), np.linspace(*CLIFF_B, grid)
    plain = cliff_descent(CLIFF_START, lr=CLIFF_LR, steps=steps)
    clipped = cliff_descent(CLIFF_START, lr=CLIFF_LR, steps=steps, threshold=CLIFF_THRESHOLD)
    return {
        "w": ws.tolist(),
        "b": bs.tolist(),
        "surface": cliff_surface(ws, bs).tolist(),
        "start": list(CLIFF_START),
        "lr": CLIFF_LR,
        "steps": steps,
        "threshold": CLIFF_THRESHOLD,
        "plain": _summarize(plain),
        "clipped": _summarize(clipped),
        "gap": spectrum_gap(GAP_N),
        "reference": REFERENCE,
    }


def format_cliff(result: dict) -> str:
    """A readable table of ``run_cliff``'s result."""
    surface = np.asarray(result["surface"])
    rows = [
        f"{name:8s} {r['final_loss']:12.4g} {r['min_loss']:12.4g} "
        f"{max(r['grad_norm']):14.4g} {r['largest_step']:13.4g}   "
        f"({r['path'][-1][0]:.3f}, {r['path'][-1][1]:.3f})"
        for name, r in (("plain", result["plain"]), ("clipped", result["clipped"]))
    ]
    gap = result["gap"]
    return textwrap.dedent(
        f"""\
        Pascanu et al. (2013), Fig. 6: x_t = w sigmoid(x_(t-1)) + b, x_0 = 0.5,
        E = (sigmoid(x_50) - 0.7)^2 on w in [{result['w'][0]:g}, {result['w'][-1]:g}],
        b in [{result['b'][0]:g}, {result['b'][-1]:g}]: E from {surface.min():.3g} to {surface.max():.3g}.
        Gradient descent from (w, b) = {tuple(result['start'])}, lr {result['lr']}, {result['steps']} steps,
        clipping threshold {result['threshold']} (Algorithm 1):

        run       final loss     min loss   max ||grad||  largest step   final (w, b)
        """
    ) + "\n".join(rows) + (
        "\n\nWithout clipping, a step on the wall throws (w, b) off the valley it had found;"
        "\nwith clipping every step is at most lr x threshold long and the descent stays."
        f"\n\nGaussian W, variance 1/n, n = {gap['n']}: spectral radius {gap['radius'][0]:.3f}, "
        f"largest singular value {gap['sigma_max'][0]:.3f}\n(sigma_max < 1, the sufficient "
        "condition for vanishing, fails though the spectral radius is near 1).\n\n" + REFERENCE
    )


REPRODUCTIONS = {
    "pascanu-cliff": Reproduction("pascanu-cliff", SUMMARY, CLIFF_KEYS, run_cliff, format_cliff),
}
