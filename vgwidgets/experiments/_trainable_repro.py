"""``trainable-depth``: how deep a tanh network trains, against the correlation depth scale.

Schoenholz et al. (2017, fig. 5) trained tanh networks at ``sb^2 = 0.05`` on a grid of weight
variance against depth and found that they train only where ``L <~ 6 xi_c``: the correlation
depth scale ``xi_c`` (``depth_scales``) diverges on the critical line, and so does the trainable
depth. The multiplier depends on the training budget (others fitted 4.5 with theirs). Here the
networks are trained on the UCI digits (``load_digits``; 1,400 for training, 397 for testing)
with plain SGD, all weight variances of one depth at once (``train_grid``), the test accuracy
read at several step counts; a network counts as trained when its test accuracy exceeds
``TRAINED``; and for each step count the multiplier ``c`` is fitted that best separates
"trained" from "not" by ``L <= c xi_c``.

References:
  Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, "Deep information propagation", ICLR 2017,
  sec. 6, fig. 5.
"""

from __future__ import annotations

import textwrap
import time

import jax
import numpy as np

from ..engine import TrainGridConfig, check_bool, check_int, depth_scales, train_grid
from ._data import load_digits

REFERENCE = "Schoenholz et al., 'Deep information propagation', ICLR 2017, fig. 5"
BIAS_VAR = 0.05
TRAINED = 0.5  # test accuracy above which a network counts as trained (chance is 0.1)
PAPER_MULTIPLIER = 6.0
N_TRAIN = 1400
REDUCED = {
    "weight_vars": (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0),
    "depths": (5, 10, 20, 40, 80),
    "config": TrainGridConfig(width=64, steps=300, checkpoints=3, batch=64, learning_rate=0.01),
}
FULL = {
    "weight_vars": tuple(np.round(np.linspace(1.0, 4.0, 25), 4)),
    "depths": tuple(range(10, 301, 10)),
    "config": TrainGridConfig(width=256, steps=2000, checkpoints=4, batch=128,
                              learning_rate=0.01),  # fmt: skip
}

SUMMARY = (
    "Schoenholz et al. 2017: test accuracy of tanh networks (sb^2 = 0.05) on a grid of sw^2 x "
    "depth, trained briefly on the digits, and the multiplier c of 'trainable up to c xi_c' "
    "fitted at each training budget (--full: the large grid, for a GPU)"
)

JSON_KEYS = {
    "weight_vars": "the sw^2 grid",
    "depths": "the depths trained",
    "bias_var": "sb^2",
    "xi_c": "the correlation depth scale at each sw^2 (depth_scales)",
    "steps": "the step counts at which the test accuracy was read",
    "accuracy": "[step reading][depth][sw^2] test accuracy",
    "fits": "one record per step reading: steps, c (the fitted multiplier), agreement (the "
    "fraction of grid cells that 'trained iff depth <= c xi_c' classifies right), c_range "
    "(every c reaching that agreement: [low, high])",
    "trained_threshold": "test accuracy above which a network counts as trained",
    "paper_multiplier": "the paper's c (6)",
    "network": "activation, width, batch, learning_rate, optimizer, train and test sizes",
    "seconds": "wall-clock time of the run",
    "reference": "the source",
}


def fit_multiplier(depths, xi_c, trained) -> tuple[float, float, tuple[float, float]]:
    """The ``c`` that best separates ``trained`` by ``depth <= c xi_c``.

    Args:
      depths: ``(n_depth,)``.
      xi_c: ``(n_weight,)``.
      trained: ``(n_depth, n_weight)`` booleans.

    Returns:
      ``(c, agreement, (c_low, c_high))``: the geometric middle of the range of ``c`` (on a
      grid from 0.1 to 100) reaching the best agreement, that agreement, and the range.

    Example:
      >>> c, agreement, _ = fit_multiplier([10, 20, 40], [5.0, 10.0],
      ...                                  [[True, True], [False, True], [False, False]])
      >>> agreement, 2.0 <= c < 4.0
      (1.0, True)
    """
    depths = np.asarray(depths, np.float64)[:, None]
    xi_c = np.asarray(xi_c, np.float64)[None, :]
    trained = np.asarray(trained, bool)
    grid = np.geomspace(0.1, 100.0, 1201)
    scores = np.array([np.mean((depths <= c * xi_c) == trained) for c in grid])
    best = scores.max()
    hits = grid[scores == best]
    return float(np.sqrt(hits[0] * hits[-1])), float(best), (float(hits[0]), float(hits[-1]))


def run_grid(weight_vars, depths, config: TrainGridConfig, *, seed: int = 0) -> dict:
    """Train the grid and fit the multiplier; ``run``'s result for any grid (tests use a tiny
    one).

    Returns:
      A JSON-able dict with the keys of ``JSON_KEYS``.
    """
    start = time.perf_counter()
    digits = load_digits()
    x = (digits.x - digits.x.mean(axis=0)) / (digits.x.std(axis=0) + 1e-6)
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    weight_vars = np.asarray(weight_vars, np.float64)
    config = config.replace(activation="tanh", bias_var=BIAS_VAR)
    accuracy = []
    for depth in depths:
        result = train_grid(
            config.replace(depth=int(depth)), weight_vars, x[train], digits.y[train], x[test],
            digits.labels[test], key=jax.random.key(seed),
        )  # fmt: skip
        accuracy.append(np.nan_to_num(result.accuracy, nan=0.0))
    accuracy = np.stack(accuracy, axis=1)  # (readings, depth, weight)
    xi_c = depth_scales("tanh", weight_vars, BIAS_VAR).xi_c
    fits = []
    for reading, steps in enumerate(result.steps):
        c, agreement, (low, high) = fit_multiplier(depths, xi_c, accuracy[reading] > TRAINED)
        fits.append({"steps": int(steps), "c": c, "agreement": agreement, "c_range": [low, high]})
    return {
        "weight_vars": weight_vars.tolist(),
        "depths": [int(d) for d in depths],
        "bias_var": BIAS_VAR,
        "xi_c": xi_c.tolist(),
        "steps": [int(s) for s in result.steps],
        "accuracy": accuracy.tolist(),
        "fits": fits,
        "trained_threshold": TRAINED,
        "paper_multiplier": PAPER_MULTIPLIER,
        "network": {
            "activation": "tanh",
            "width": config.width,
            "batch": config.batch,
            "learning_rate": config.learning_rate,
            "optimizer": "optax.sgd",
            "train": int(train.size),
            "test": int(test.size),
        },
        "seconds": time.perf_counter() - start,
        "reference": REFERENCE,
    }


def run(seeds: int = 1, full: bool = False) -> dict:
    """The reduced grid (8 weight variances x 5 depths, 300 steps; about a minute on 2 CPU
    cores), or with ``full`` the large one (25 x 30, width 256, 2000 steps: for a GPU).

    Args:
      seeds: only 1 (the split, the draws and the minibatches come from seed 0).
      full: train the large grid.
    """
    check_int("seeds", seeds, 1, 1)
    grid = FULL if check_bool("full", full) else REDUCED
    return run_grid(grid["weight_vars"], grid["depths"], grid["config"])


def format_table(result: dict) -> str:
    """The accuracy grid at the last reading (depth rows, sw^2 columns), then the fits."""
    w = result["weight_vars"]
    lines = [
        "Trainable depth of tanh networks (sb^2 = 0.05) on the digits, against xi_c",
        *textwrap.wrap(f"({result['reference']}).", width=96),
        "",
        f"  test accuracy after {result['steps'][-1]} SGD steps (* = above "
        f"{result['trained_threshold']:g}: trained)",
        f"  {'depth':>6} | sw^2 =" + "".join(f"{v:>7.2f}" for v in w),
        f"  {'xi_c':>6} |       " + "".join(f"{v:>7.1f}" for v in result["xi_c"]),
    ]
    for depth, row in zip(result["depths"], result["accuracy"][-1]):
        cells = "".join(
            f"{a:>6.2f}{'*' if a > result['trained_threshold'] else ' '}" for a in row
        )
        lines.append(f"  {depth:>6} |       {cells}")
    lines += ["", "  fitted multiplier c in 'trained iff depth <= c xi_c':"]
    for fit in result["fits"]:
        lines.append(
            f"    after {fit['steps']:>5} steps: c = {fit['c']:.2f} (any c in "
            f"[{fit['c_range'][0]:.2f}, {fit['c_range'][1]:.2f}]), agreement "
            f"{fit['agreement']:.0%}"
        )
    net, first, last = result["network"], result["fits"][0], result["fits"][-1]
    lines += [
        "",
        *textwrap.wrap(
            f"  The paper's multiplier is {result['paper_multiplier']:g} (MNIST, longer training); "
            f"here c = {first['c']:.2f} after {first['steps']} steps and {last['c']:.2f} after "
            f"{last['steps']}. Network: width "
            f"{net['width']}, batch {net['batch']}, SGD learning rate {net['learning_rate']:g}, "
            f"{net['train']} training and {net['test']} test digits. "
            f"({result['seconds']:.1f} s)",
            width=96,
            subsequent_indent="  ",
        ),
    ]
    return "\n".join(lines)
