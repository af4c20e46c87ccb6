"""``jacobian-spectrum``: dynamical isometry, or not, at the edge of chaos (Pennington et al. 2017).

Three networks on the critical line ``chi1 = 1``, so that the mean squared singular value of the
input-output Jacobian stays near 1 at every depth; what differs is the spread of the singular
values (``vgwidgets.engine.jacobian_spectrum``):

- tanh with orthogonal weights near ``q* = 0`` (``sb^2 = 1e-6``, ``sw^2`` on the critical line):
  the spread stays small, dynamical isometry;
- tanh with Gaussian weights at the same variances: the spread grows with depth;
- ReLU with He's variance (``sw^2 = 2``, ``sb^2 = 0``), Gaussian or orthogonal: it grows too,
  and about half of the singular values are exactly 0 (ReLU cannot reach isometry).

References:
  Pennington, Schoenholz, Ganguli, "Resurrecting the sigmoid in deep learning through dynamical
  isometry: theory and practice", NeurIPS 2017, fig. 1 and 3.
  Saxe, McClelland, Ganguli, ICLR 2014 (orthogonal initialization).
"""

from __future__ import annotations

import textwrap
import time

import jax
import numpy as np

from ..engine import RESOLVED as _RESOLVED
from ..engine import JacobianConfig, check_int, critical_weight_var, jacobian_spectrum

REFERENCE = (
    "Pennington, Schoenholz, Ganguli, 'Resurrecting the sigmoid in deep learning through "
    "dynamical isometry: theory and practice', NeurIPS 2017; Saxe et al., ICLR 2014"
)
TANH_BIAS_VAR = 1e-6
WIDTH = 64
DEPTHS = (1, 2, 4, 8, 16, 32, 64, 128)
MAX_SEEDS = 16

SUMMARY = (
    "Pennington et al. 2017: spread of the log singular values of the input-output Jacobian "
    "against depth at chi1 = 1, for tanh + orthogonal, tanh + Gaussian and ReLU + He weights "
    "(--seeds N networks per case, default 1)"
)

JSON_KEYS = {
    "cases": "one record per network: name, activation, weights, weight_var, bias_var, "
    "q_start, and per depth of 'depths': log_spread (std of ln s over the resolved singular "
    "values), resolved (their fraction), log_max (ln s_max), mean_square (mean s^2), each "
    "averaged over the seeds",
    "depths": "the depths reported",
    "width": "units per layer",
    "seeds": "networks per case",
    "resolved_threshold": "singular values above this times the largest count as resolved",
    "seconds": "wall-clock time of the run",
    "reference": "the sources",
}


def cases() -> dict[str, JacobianConfig]:
    """The networks compared, by name, at depth ``max(DEPTHS)``.

    Example:
      >>> sorted(cases())
      ['relu, gaussian (He)', 'relu, orthogonal (He)', 'tanh, gaussian', 'tanh, orthogonal']
    """
    tanh = critical_weight_var("tanh", TANH_BIAS_VAR)
    depth = max(DEPTHS)
    return {
        "tanh, orthogonal": JacobianConfig("tanh", "orthogonal", tanh, TANH_BIAS_VAR, WIDTH, depth),
        "tanh, gaussian": JacobianConfig("tanh", "gaussian", tanh, TANH_BIAS_VAR, WIDTH, depth),
        "relu, gaussian (He)": JacobianConfig("relu", "gaussian", 2.0, 0.0, WIDTH, depth),
        "relu, orthogonal (He)": JacobianConfig("relu", "orthogonal", 2.0, 0.0, WIDTH, depth),
    }


def run(seeds: int = 1) -> dict:
    """The spread of log singular values against depth for every case of ``cases()``.

    Args:
      seeds: networks per case, ``1..16``; their per-depth figures are averaged.

    Returns:
      A JSON-able dict with the keys of ``JSON_KEYS``.
    """
    seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    start = time.perf_counter()
    index = np.asarray(DEPTHS) - 1
    records = []
    for name, config in cases().items():
        spectra = [jacobian_spectrum(config, key=jax.random.key(s)) for s in range(seeds)]

        def mean(field):
            return np.mean([getattr(s, field)[index] for s in spectra], axis=0).tolist()

        records.append(
            {
                "name": name,
                "activation": config.activation,
                "weights": config.weights,
                "weight_var": config.weight_var,
                "bias_var": config.bias_var,
                "q_start": spectra[0].q_start,
                "log_spread": mean("log_spread"),
                "resolved": mean("resolved"),
                "log_max": mean("log_max"),
                "mean_square": mean("mean_square"),
            }
        )
    return {
        "cases": records,
        "depths": list(DEPTHS),
        "width": WIDTH,
        "seeds": seeds,
        "resolved_threshold": _RESOLVED,
        "seconds": time.perf_counter() - start,
        "reference": REFERENCE,
    }


def format_table(result: dict) -> str:
    """The spread of ``ln s`` per depth for each case, then the resolved fraction."""
    depths = result["depths"]
    head = f"  {'network':<24}" + "".join(f"{d:>7}" for d in depths)
    lines = [
        "Input-output Jacobian at chi1 = 1: std of ln(singular values) against depth L",
        *textwrap.wrap(f"({result['reference']}).", width=96),
        f"  width {result['width']}, {result['seeds']} network(s) per case; singular values "
        f"below {result['resolved_threshold']:g} x the largest are left out (unresolved or 0).",
        "",
        head,
    ]
    for r in result["cases"]:
        lines.append(f"  {r['name']:<24}" + "".join(f"{v:>7.2f}" for v in r["log_spread"]))
    lines += ["", "  fraction of singular values resolved (ReLU: about half are exactly 0)", head]
    for r in result["cases"]:
        lines.append(f"  {r['name']:<24}" + "".join(f"{v:>7.2f}" for v in r["resolved"]))
    lines += ["", "  mean s^2 (1 on average at chi1 = 1)", head]
    for r in result["cases"]:
        lines.append(f"  {r['name']:<24}" + "".join(f"{v:>7.2f}" for v in r["mean_square"]))
    tanh = {r["name"]: r for r in result["cases"]}
    iso, gauss = tanh["tanh, orthogonal"]["log_spread"], tanh["tanh, gaussian"]["log_spread"]
    lines += [
        "",
        f"  At L = {depths[-1]}: tanh + orthogonal spreads {iso[-1]:.2f} in ln s, tanh + Gaussian "
        f"{gauss[-1]:.2f}: only the former is close to an isometry. ({result['seconds']:.1f} s)",
    ]
    return "\n".join(lines)
