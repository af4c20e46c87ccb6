"""``mean-field``: the edge of chaos of tanh and ReLU, and chi1 against a measured network.

Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017) predicts that, going back one
layer in a wide random network, the expected squared gradient ``E||dC/db_l||^2`` is multiplied
by ``chi1 = sw^2 E[phi'(sqrt(q*) z)^2]``. This reproduction prints the critical weight variance
(``chi1 = 1``) of tanh for several bias variances and of ReLU, then draws wide random tanh
networks and compares the measured per-layer change of ``ln ||dC/db_l||^2`` with ``ln chi1``.

How the change is measured (``measure_gradient_rate``): one example per ``probe`` call, so
``grad_b_norm`` is that example's own gradient. With a batch, ``grad_b_norm`` is the norm of the
batch-*mean* gradient, whose square adds cross terms ``<delta_a, delta_b>`` between examples;
in the chaotic phase these shrink faster going back than the diagonal terms, which biases the
rate (measured here: at ``sw^2 = 2.5, sb^2 = 0.05``, -27% with a batch of 16, -77% with 128).
Each example's ``||dC/db_l||^2`` is divided by its value at the last hidden layer, these ratios
are averaged over examples and networks (the theory is about the mean of squared norms), and
the rate is minus the slope of a least-squares line through ``ln`` of that mean over the
interior layers.

References:
  B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli, "Exponential expressivity in
  deep neural networks through transient chaos", NeurIPS 2016.
  S. S. Schoenholz, J. Gilmer, S. Ganguli, J. Sohl-Dickstein, "Deep information propagation",
  ICLR 2017.
"""

from __future__ import annotations

import textwrap
import time
from typing import NamedTuple

import jax
import numpy as np

from ..engine import (
    MLPConfig,
    check_float,
    check_int,
    critical_weight_var,
    get_activation,
    init_mlp,
    mean_field,
    probe,
)

REFERENCE = (
    "Poole et al., 'Exponential expressivity in deep neural networks through transient chaos', "
    "NeurIPS 2016; Schoenholz et al., 'Deep information propagation', ICLR 2017"
)
CRITICAL_BIAS_VARS = (0.0, 0.01, 0.05, 0.1, 0.5)
BIAS_VAR = 0.05
WEIGHT_VARS = (0.5, 1.0, 1.5, 2.5, 4.0)
MIN_LOG_CHI1 = 0.1  # the comparison is made where |ln chi1| >= this
TOLERANCE = 0.1  # ... and holds to this relative error
PAPER_RANGE = (1.75, 1.8)  # tanh critical sw^2 at sb^2 = 0.05, read off the phase diagrams
WIDTH, DEPTH, EXAMPLES, SKIP, N_OUT = 512, 30, 32, 2, 10
MAX_SEEDS = 64

SUMMARY = (
    "Poole et al. 2016 / Schoenholz et al. 2017: critical weight variance (chi1 = 1) of tanh "
    "and ReLU, and ln chi1 beside the measured per-layer change of ln ||dC/db_l||^2 in wide "
    "random tanh networks (--seeds N networks per point, default 2)"
)

JSON_KEYS = {
    "critical": "one record per activation and bias variance: activation, bias_var, "
    "weight_var (sw^2 with chi1 = 1), q_star there (null where the length map has no "
    "attracting fixed point)",
    "paper_range": "tanh's critical sw^2 at sb^2 = 0.05 as read from the papers' figures "
    "[low, high] (not a tabulated value)",
    "bias_var": "sb^2 of the measured networks",
    "rates": "one record per sw^2: weight_var, q_star, chi1, ln_chi1, depth_scale "
    "(-1/ln chi1), measured (per-layer change of ln mean ||dC/db_l||^2, going back one "
    "layer), stderr (jackknife over examples), relative_error, checked (|ln chi1| >= 0.1)",
    "network": "activation, width, depth, n_out, initializer, loss, networks (seeds), "
    "examples per network, layers fitted",
    "tolerance": "the relative error the comparison is held to where checked",
    "seconds": "wall-clock time of the run",
    "reference": "the sources",
}


class GradientRate(NamedTuple):
    """A measured per-layer change of ``ln E||dC/db_l||^2``.

    Attributes:
      rate: ``ln(E||dC/db_l||^2 / E||dC/db_{l+1}||^2)``, one layer back towards the input,
        fitted over the interior layers; mean-field theory predicts ``ln chi1``.
      stderr: its jackknife standard error over the examples. Examples probed on one network
        share its weights, so this understates the spread over seeds (by ~1.4x at the
        defaults: 26 seeds at ``sw^2 = 2.5, sb^2 = 0.05`` gave a standard deviation of 3.1% of
        ``ln chi1`` against a jackknife estimate of 2.1%).
      log_mean_ratio: ``ln mean ||dC/db_l||^2 / ||dC/db_L||^2`` per hidden layer, ``(depth,)``.
      layers: the hidden layers ``l`` fitted (1-based), ``(n,)``.
    """

    rate: float
    stderr: float
    log_mean_ratio: np.ndarray
    layers: np.ndarray


def _rate(ratios: np.ndarray, layers: np.ndarray) -> float:
    log_mean = np.log(np.mean(ratios, axis=0))
    return -float(np.polyfit(layers, log_mean[layers - 1], 1)[0])


def measure_gradient_rate(
    weight_var: float,
    bias_var: float,
    *,
    activation: str = "tanh",
    width: int = WIDTH,
    depth: int = DEPTH,
    networks: int = 2,
    examples: int = EXAMPLES,
    skip: int = SKIP,
    seed: int = 0,
) -> GradientRate:
    """The per-layer change of ``ln ||dC/db_l||^2`` in wide random networks, to set beside ln chi1.

    Draws ``networks`` networks ``MLPConfig(initializer="normal_fan_in", weight_scale=sw,
    bias_scale=sb, loss="squared_error")`` of ``width`` units (``n_in = width``) and ``depth``
    hidden layers, and probes each on ``examples`` single inputs ``x ~ N(0, 1)`` rescaled so
    that ``sw^2 mean(x^2) + sb^2 = q*``: the first layer starts at the fixed point. Targets
    are ``N(0, 1)``. The rate is minus the least-squares slope of ``ln mean_examples
    ||dC/db_l||^2 / ||dC/db_depth||^2`` against ``l``, over layers ``skip < l <= depth - skip``.

    Args:
      weight_var, bias_var: ``sw^2 > 0`` and ``sb^2 >= 0``.
      activation: a key of ``ACTIVATIONS`` with a finite attracting ``q*`` at these variances.
      width, depth: the networks' size (``depth > 2 skip + 2``).
      networks, examples: networks drawn, and examples probed per network.
      skip: layers left out at each end of the fit.
      seed: network ``n`` is drawn from ``jax.random.fold_in(jax.random.key(seed), n)``.

    Returns:
      A ``GradientRate``.

    Example:
      >>> r = measure_gradient_rate(0.5, 0.05, width=256, networks=1, examples=8)
      >>> round(r.rate, 1)  # ln chi1 = -0.84
      -0.8
    """
    get_activation(activation)
    weight_var = check_float("weight_var", weight_var, 0.0)
    if weight_var == 0:
        raise ValueError("weight_var must be > 0 (the network must pass a signal); got 0.0.")
    bias_var = check_float("bias_var", bias_var, 0.0)
    skip = check_int("skip", skip, 0, 100)
    depth = check_int("depth", depth, 2 * skip + 3, 2000)
    networks = check_int("networks", networks, 1, MAX_SEEDS)
    examples = check_int("examples", examples, 1, 1024)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    mf = mean_field(activation, weight_var, bias_var)
    if not mf.converged:
        raise ValueError(
            f"weight_var={weight_var:g}, bias_var={bias_var:g}: the length map of {activation} "
            f"has no attracting fixed point q* (q* = {float(mf.q_star):g}), so no input starts "
            "the network there; pick variances with a finite q*."
        )
    q_star = float(mf.q_star)
    config = MLPConfig(
        n_in=width,
        depth=depth,
        width=width,
        n_out=N_OUT,
        activation=activation,
        initializer="normal_fan_in",
        weight_scale=float(np.sqrt(weight_var)),
        bias_scale=float(np.sqrt(bias_var)),
        loss="squared_error",
    )
    ratios = []
    for n in range(networks):
        k_params, k_x, k_y = jax.random.split(jax.random.fold_in(jax.random.key(seed), n), 3)
        params = init_mlp(config, key=k_params)
        x = np.asarray(jax.random.normal(k_x, (examples, width)), np.float64)
        target = max(q_star - bias_var, 0.0) / weight_var  # mean(x^2) that puts q^1 at q*
        x *= np.sqrt(target / np.mean(x**2, axis=1, keepdims=True))
        y = np.asarray(jax.random.normal(k_y, (examples, N_OUT)))
        for e in range(examples):
            g = np.asarray(probe(config, params, x[e : e + 1], y[e : e + 1]).grad_b_norm)
            g2 = np.asarray(g, np.float64) ** 2
            ratios.append(g2 / g2[-1])
    ratios = np.array(ratios)
    layers = np.arange(skip + 1, depth - skip + 1)
    rate = _rate(ratios, layers)
    total = len(ratios)
    if total > 1:
        leave_one_out = np.array([_rate(np.delete(ratios, i, 0), layers) for i in range(total)])
        stderr = float(np.sqrt((total - 1) / total * np.sum((leave_one_out - rate) ** 2)))
    else:
        stderr = float("nan")
    return GradientRate(rate, stderr, np.log(np.mean(ratios, axis=0)), layers)


def run(seeds: int = 2) -> dict:
    """Critical weight variances, and ``ln chi1`` beside the measured rate on a grid of ``sw^2``.

    Args:
      seeds: networks per grid point, ``1..64``; each is probed on 32 examples.

    Returns:
      A JSON-able dict with the keys of ``JSON_KEYS``.
    """
    seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    start = time.perf_counter()
    critical = []
    for activation in ("tanh", "relu"):
        for bias_var in CRITICAL_BIAS_VARS:
            weight_var = critical_weight_var(activation, bias_var)
            at = mean_field(activation, weight_var, bias_var)
            critical.append(
                {
                    "activation": activation,
                    "bias_var": bias_var,
                    "weight_var": weight_var,
                    "q_star": float(at.q_star) if at.converged else None,
                }
            )
    theory = mean_field("tanh", np.array(WEIGHT_VARS), BIAS_VAR)
    rates = []
    for i, weight_var in enumerate(WEIGHT_VARS):
        measured = measure_gradient_rate(weight_var, BIAS_VAR, networks=seeds)
        ln_chi1 = float(np.log(theory.chi1[i]))
        rates.append(
            {
                "weight_var": weight_var,
                "q_star": float(theory.q_star[i]),
                "chi1": float(theory.chi1[i]),
                "ln_chi1": ln_chi1,
                "depth_scale": float(theory.depth_scale[i]),
                "measured": measured.rate,
                "stderr": measured.stderr,
                "relative_error": (measured.rate - ln_chi1) / abs(ln_chi1),
                "checked": abs(ln_chi1) >= MIN_LOG_CHI1,
            }
        )
    return {
        "critical": critical,
        "paper_range": list(PAPER_RANGE),
        "bias_var": BIAS_VAR,
        "rates": rates,
        "network": {
            "activation": "tanh",
            "width": WIDTH,
            "depth": DEPTH,
            "n_out": N_OUT,
            "initializer": "normal_fan_in",
            "loss": "squared_error",
            "networks": seeds,
            "examples": EXAMPLES,
            "layers_fitted": [SKIP + 1, DEPTH - SKIP],
        },
        "tolerance": TOLERANCE,
        "seconds": time.perf_counter() - start,
        "reference": REFERENCE,
    }


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=96, initial_indent="  ", subsequent_indent="  ")


def format_table(result: dict) -> str:
    """Two tables: critical weight variances, then ln chi1 beside the measured rate."""
    net, low, high = result["network"], *result["paper_range"]
    lines = [
        "Edge of chaos: the weight variance sw^2 at which chi1 = sw^2 E[phi'(sqrt(q*) z)^2] = 1",
        *textwrap.wrap(f"({result['reference']}).", width=96),
        "",
        f"  {'activation':<12}{'sb^2':>8}{'critical sw^2':>16}{'q* there':>12}",
    ]
    for record in result["critical"]:
        q = "none" if record["q_star"] is None else f"{record['q_star']:.4f}"
        lines.append(
            f"  {record['activation']:<12}{record['bias_var']:>8g}"
            f"{record['weight_var']:>16.6f}{q:>12}"
        )
    lines += [
        "",
        *_wrap(
            f"tanh at sb^2 = 0.05: the papers' phase diagrams draw the critical line near "
            f"sw^2 = {low:g}-{high:g} (a reading of the figures, not a tabulated value). ReLU: "
            "chi1 = sw^2/2 at every q > 0, so sw^2 = 2 at any sb^2; there the length map has no "
            "attracting fixed point (for sb^2 > 0 it grows without bound)."
        ),
        "",
        f"Gradients going back one layer in random {net['activation']} networks, "
        + f"sb^2 = {result['bias_var']:g} (Schoenholz et al. 2017, sec. 6):",
        *_wrap(
            f"width {net['width']}, depth {net['depth']}, {net['networks']} network(s) x "
            f"{net['examples']} examples, one example per probe, inputs at q*; measured = "
            "change of ln mean ||dC/db_l||^2 per layer towards the input, fitted over layers "
            f"{net['layers_fitted'][0]}-{net['layers_fitted'][1]}; theory: ln chi1; "
            "xi_nabla = -1/ln chi1."
        ),
        "",
        f"  {'sw^2':>6}{'q*':>9}{'chi1':>9}{'ln chi1':>10}{'xi_nabla':>10}"
        + f"{'measured':>18}{'rel. error':>12}",
    ]
    for r in result["rates"]:
        note = "" if r["checked"] else "  (|ln chi1| < 0.1: not held to the tolerance)"
        lines.append(
            f"  {r['weight_var']:>6g}{r['q_star']:>9.4f}{r['chi1']:>9.4f}{r['ln_chi1']:>+10.4f}"
            f"{r['depth_scale']:>+10.2f}{r['measured']:>+10.4f} +- {r['stderr']:.4f}"
            f"{r['relative_error']:>+12.1%}{note}"
        )
    worst = max(abs(r["relative_error"]) for r in result["rates"] if r["checked"])
    verdict = "within" if worst <= result["tolerance"] else "OUTSIDE"
    lines += [
        "",
        f"  Where |ln chi1| >= 0.1 the measured rate is {verdict} {result['tolerance']:.0%} "
        + f"of ln chi1 (worst {worst:.1%}). ({result['seconds']:.1f} s)",
    ]
    return "\n".join(lines)
