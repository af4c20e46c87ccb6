"""Reproductions that train: ``he-init``, ``nielsen-training``, ``glorot-saturation``.

Each trains ``MLPConfig`` networks on the digits with ``vgwidgets.engine.train`` and reports
what the record shows, beside what the paper reports. The digits are not the papers' data
(MNIST, Shapeset, ImageNet) and the networks are small enough for a laptop CPU: the sizes are
in each result's ``network`` and ``training`` entries, and the tables say where the digits
agree with the paper and where they do not.

References:
  He, Zhang, Ren, Sun, "Delving deep into rectifiers", ICCV 2015, sec. 2.2 and Fig. 3.
  Nielsen, *Neural Networks and Deep Learning*, ch. 5 (2015).
  Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks",
  AISTATS 2010, sec. 3.1 and Fig. 2.
"""

from __future__ import annotations

import textwrap
import time

import jax
import numpy as np

from ..engine import MLPConfig, TrainConfig, TrainData, check_int, init_mlp, train
from ._data import digits_split
from ._registry import Reproduction

MAX_SEEDS = 20
MAX_STEPS = 200_000


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=96, initial_indent="  ", subsequent_indent="  ")


def _net(config: MLPConfig) -> dict:
    return {
        "n_in": config.n_in, "depth": config.depth, "width": config.width,
        "n_out": config.n_out, "activation": config.activation, "loss": config.loss,
        "bias_scale": config.bias_scale,
    }  # fmt: skip


def _training(tc: TrainConfig, n_train: int) -> dict:
    return {
        "optimizer": tc.optimizer, "learning_rate": tc.learning_rate, "momentum": tc.momentum,
        "steps": tc.steps, "record_every": tc.record_every, "batch_size": tc.batch_size,
        "n_train": n_train,
    }  # fmt: skip


def _check(seeds, steps, default_steps, record_every):
    seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    steps = default_steps if steps is None else check_int("steps", steps, 1, MAX_STEPS)
    if steps % record_every:
        raise ValueError(f"steps must be a multiple of {record_every}; got {steps}.")
    return seeds, steps


# ---------------------------------------------------------------------------------------------
# he-init

HE_CONFIG = MLPConfig(depth=30, width=64, activation="relu", initializer="he_normal",
                      bias_scale=0.0, loss="softmax_cross_entropy")  # fmt: skip
HE_INITS = (("xavier", "glorot_normal"), ("he", "he_normal"))
HE_RECORD = 100
HE_KEYS = {
    "network": "n_in, depth, width, n_out, activation, loss, bias_scale (biases start at 0)",
    "training": "optimizer, learning_rate, momentum, steps, record_every, batch_size, n_train",
    "seeds": "the seeds s (jax.random.key(s) draws the network and the minibatches)",
    "step": "the recorded steps",
    "runs": "one record per initialization: name (xavier, he), initializer, train_loss (per "
    "seed, per recorded step), test_acc (per seed, per recorded step), first_layer_grad "
    "(||dC/dW_1|| at step 0, per seed), stalled (per seed: training loss still within 1% of "
    "ln 10 at the last step)",
    "paper": "what He et al. report",
    "seconds": "wall-clock time of the run",
    "reference": "the source",
}
HE_PAPER = (
    "He et al. 2015, Fig. 3: a 30-layer ReLU network 'completely stalls' with Xavier "
    "initialization (std sqrt(1/n)) and converges with theirs (std sqrt(2/n))."
)


def run_he(seeds: int = 3, *, steps: int | None = None) -> dict:
    """He et al.'s 30-layer ReLU network on the digits, Xavier against He initialization.

    30 hidden ReLU layers of 64 units, biases 0, softmax cross-entropy; SGD with momentum 0.9,
    learning rate 0.002, batches of 64, 1,500 steps by default. Both initializations train the
    same structure (one compilation): only the drawn parameters differ.

    Args:
      seeds: networks per initialization, ``1..20``.
      steps: optimizer steps (a multiple of 100), or ``None`` for 1,500.

    Returns:
      A JSON-able dict with the keys of ``HE_KEYS``.

    Example:
      >>> r = run_he(seeds=1, steps=100)
      >>> [run["name"] for run in r["runs"]], r["step"], set(r) == set(HE_KEYS)
      (['xavier', 'he'], [0, 100], True)
    """
    seeds, steps = _check(seeds, steps, 1500, HE_RECORD)
    started = time.perf_counter()
    data = digits_split()
    tc = TrainConfig(optimizer="momentum", learning_rate=0.002, momentum=0.9, steps=steps,
                     record_every=HE_RECORD, batch_size=64)  # fmt: skip
    runs, step = [], None
    for name, initializer in HE_INITS:
        losses, accs, grads = [], [], []
        for seed in range(seeds):
            key = jax.random.key(seed)
            params = init_mlp(HE_CONFIG.replace(initializer=initializer),
                              key=jax.random.fold_in(key, 0))  # fmt: skip
            r = train(HE_CONFIG, tc, data, key=key, params=params).trim()
            losses.append(r.train_loss.tolist())
            accs.append(r.test_acc.tolist())
            grads.append(float(r.grad_w_norm[0, 0]))
            step = r.step.tolist()
        runs.append({
            "name": name, "initializer": initializer, "train_loss": losses, "test_acc": accs,
            "first_layer_grad": grads,
            "stalled": [bool(abs(loss[-1] - np.log(10)) < 0.01 * np.log(10)) for loss in losses],
        })  # fmt: skip
    return {
        "network": _net(HE_CONFIG), "training": _training(tc, len(data.x_train)),
        "seeds": list(range(seeds)), "step": step, "runs": runs, "paper": HE_PAPER,
        "seconds": time.perf_counter() - started,
        "reference": "He, Zhang, Ren, Sun, 'Delving deep into rectifiers', ICCV 2015, Fig. 3",
    }  # fmt: skip


def format_he(result: dict) -> str:
    """Training loss at a few recorded steps, per initialization and seed."""
    net, tr = result["network"], result["training"]
    steps = result["step"]
    shown = sorted({0, len(steps) // 4, len(steps) // 2, len(steps) - 1})
    lines = [
        f"{result['paper']}",
        *_wrap(
            f"Here: {net['depth']} hidden {net['activation']} layers of {net['width']} units on "
            f"the UCI digits ({tr['n_train']} training images), biases 0, {tr['optimizer']} "
            f"{tr['momentum']}, learning rate {tr['learning_rate']}, batches of "
            f"{tr['batch_size']}, {tr['steps']} steps."
        ),
        "",
        f"  {'init':<8}{'seed':>5}  " + "".join(f"{'loss @' + str(steps[i]):>12}" for i in shown)
        + f"{'test acc':>10}{'||dC/dW_1||@0':>15}",
    ]
    for run in result["runs"]:
        for seed, loss in zip(result["seeds"], run["train_loss"]):
            lines.append(
                f"  {run['name']:<8}{seed:>5}  " + "".join(f"{loss[i]:>12.4f}" for i in shown)
                + f"{run['test_acc'][seed][-1]:>10.3f}{run['first_layer_grad'][seed]:>15.3g}"
            )
    lines.append("")
    for run in result["runs"]:
        n = sum(run["stalled"])
        lines.append(
            f"  {run['name']}: {n} of {len(run['stalled'])} seed(s) stalled (loss within 1% of "
            f"ln 10 = {np.log(10):.4f} at step {steps[-1]})"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# nielsen-training

NIELSEN_CONFIG = MLPConfig(depth=4, width=30, activation="sigmoid", initializer="normal_fan_in",
                           loss="cross_entropy")  # fmt: skip
NIELSEN_RECORD = 500
NIELSEN_TRAIN = 1000
NIELSEN_KEYS = {
    "network": "n_in, depth, width, n_out, activation, loss, bias_scale",
    "training": "optimizer, learning_rate, momentum, steps, record_every, batch_size, n_train",
    "seeds": "the seeds s",
    "step": "the recorded steps",
    "speeds": "per seed, per recorded step, per hidden layer: ||dC/db_l|| on the step's batch",
    "train_loss": "per seed, per recorded step",
    "first_slowest": "per seed, per recorded step: layer 1 has the smallest speed",
    "first_slowest_fraction": "per seed: the fraction of records where layer 1 is slowest",
    "last_over_first": "per seed, per recorded step: speed of layer 4 / speed of layer 1",
    "paper": "what Nielsen reports",
    "seconds": "wall-clock time of the run",
    "reference": "the source",
}
NIELSEN_PAPER = (
    "Nielsen ch. 5: training a [784, 30, 30, 30, 30, 10] sigmoid network on 1,000 MNIST images "
    "(eta 0.1, mini-batches of 10, 500 epochs), the first hidden layer learns about 100 times "
    "more slowly than the last, all through training."
)


def run_nielsen(seeds: int = 2, *, steps: int | None = None) -> dict:
    """Nielsen's speeds of learning ``||dC/db_l||`` of 4 sigmoid hidden layers over training.

    Network2's set-up: 30 sigmoid units per hidden layer, ``W ~ N(0, 1/n_in)``, ``b ~ N(0, 1)``,
    cross-entropy on sigmoid outputs; SGD with learning rate 0.1 on batches of 10 from the first
    1,000 training digits (Nielsen's 1,000 images), 20,000 steps (200 epochs) by default.

    Args:
      seeds: networks, ``1..20``.
      steps: optimizer steps (a multiple of 500), or ``None`` for 20,000.

    Returns:
      A JSON-able dict with the keys of ``NIELSEN_KEYS``.

    Example:
      >>> r = run_nielsen(seeds=1, steps=500)
      >>> len(r["speeds"][0]), len(r["speeds"][0][0]), set(r) == set(NIELSEN_KEYS)
      (2, 4, True)
    """
    seeds, steps = _check(seeds, steps, 20_000, NIELSEN_RECORD)
    started = time.perf_counter()
    split = digits_split()
    data = TrainData(split.x_train[:NIELSEN_TRAIN], split.labels_train[:NIELSEN_TRAIN],
                     split.x_test, split.labels_test)  # fmt: skip
    tc = TrainConfig(optimizer="sgd", learning_rate=0.1, steps=steps,
                     record_every=NIELSEN_RECORD, batch_size=10)  # fmt: skip
    speeds, losses = [], []
    for seed in range(seeds):
        r = train(NIELSEN_CONFIG, tc, data, key=jax.random.key(seed)).trim()
        speeds.append(r.grad_b_norm.astype(np.float64))
        losses.append(r.train_loss.tolist())
        step = r.step.tolist()
    slowest = [(s.argmin(axis=1) == 0).tolist() for s in speeds]
    return {
        "network": _net(NIELSEN_CONFIG), "training": _training(tc, NIELSEN_TRAIN),
        "seeds": list(range(seeds)), "step": step, "speeds": [s.tolist() for s in speeds],
        "train_loss": losses, "first_slowest": slowest,
        "first_slowest_fraction": [float(np.mean(s)) for s in slowest],
        "last_over_first": [(s[:, -1] / s[:, 0]).tolist() for s in speeds],
        "paper": NIELSEN_PAPER, "seconds": time.perf_counter() - started,
        "reference": "Nielsen, Neural Networks and Deep Learning, ch. 5 (2015)",
    }  # fmt: skip


def format_nielsen(result: dict) -> str:
    """Per seed: the speeds at a few recorded steps, and where layer 1 is the slowest."""
    tr, steps = result["training"], result["step"]
    last = len(steps) - 1
    shown = sorted({min(i, last) for i in (0, 1, len(steps) // 4, len(steps) // 2, last)})
    lines = [
        *_wrap(result["paper"]),
        *_wrap(
            f"Here: the UCI digits (64 inputs, {tr['n_train']} training images), SGD, learning "
            f"rate {tr['learning_rate']}, batches of {tr['batch_size']}, {tr['steps']} steps; "
            "the speed of layer l is ||dC/db_l|| on the recorded step's batch."
        ),
    ]
    for seed, s, loss, slow in zip(result["seeds"], result["speeds"], result["train_loss"],
                                   result["first_slowest"]):  # fmt: skip
        lines += ["", f"  seed {seed}:  {'step':>7}{'loss':>9}" + "".join(
            f"{'layer ' + str(i + 1):>11}" for i in range(len(s[0]))) + "  layer 1 slowest"]
        for i in shown:
            lines.append(f"  {'':9}{steps[i]:>7}{loss[i]:>9.4f}"
                         + "".join(f"{v:>11.3g}" for v in s[i]) + f"  {slow[i]}")  # fmt: skip
    lines.append("")
    for seed, fraction in zip(result["seeds"], result["first_slowest_fraction"]):
        lines.append(f"  seed {seed}: layer 1 is the slowest at {fraction:.0%} of the records")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# glorot-saturation

GLOROT_CONFIG = MLPConfig(depth=4, width=100, activation="sigmoid",
                          initializer="glorot_standard", bias_scale=0.0,
                          loss="softmax_cross_entropy")  # fmt: skip
GLOROT_RECORD = 100
GLOROT_KEYS = {
    "network": "n_in, depth, width, n_out, activation, loss, bias_scale",
    "training": "optimizer, learning_rate, momentum, steps, record_every, batch_size, n_train",
    "seeds": "the seeds s",
    "step": "the recorded steps",
    "act_mean": "per seed, per recorded step, per hidden layer: mean sigmoid activation on the "
    "step's batch",
    "saturated_frac": "per seed, per recorded step, per hidden layer: fraction with "
    "sigma'(u) <= 0.06/4 (within about 0.015 of 0 or 1)",
    "top_min": "per seed: the smallest mean activation of the top hidden layer, and its step",
    "lower_range": "per seed: the smallest and largest mean activation of the lower layers",
    "train_loss": "per seed, per recorded step",
    "paper": "what Glorot & Bengio report",
    "seconds": "wall-clock time of the run",
    "reference": "the source",
}
GLOROT_PAPER = (
    "Glorot & Bengio 2010, Fig. 2: with sigmoid units and the standard initialization, the top "
    "hidden layer is quickly driven to saturation at 0 while the lower layers stay near 0.5; it "
    "escapes slowly, much later in training."
)


def run_glorot(seeds: int = 2, *, steps: int | None = None) -> dict:
    """Glorot & Bengio's sigmoid network: the mean activation of each hidden layer over training.

    4 hidden sigmoid layers of 100 units (the paper: 1,000), ``W ~ U[-1/sqrt(n), 1/sqrt(n)]``,
    biases 0, softmax output; SGD with learning rate 0.5 on batches of 10, 2,000 steps by
    default.

    Args:
      seeds: networks, ``1..20``.
      steps: optimizer steps (a multiple of 100), or ``None`` for 2,000.

    Returns:
      A JSON-able dict with the keys of ``GLOROT_KEYS``.

    Example:
      >>> r = run_glorot(seeds=1, steps=100)
      >>> len(r["act_mean"][0]), len(r["act_mean"][0][0]), set(r) == set(GLOROT_KEYS)
      (2, 4, True)
    """
    seeds, steps = _check(seeds, steps, 2000, GLOROT_RECORD)
    started = time.perf_counter()
    data = digits_split()
    tc = TrainConfig(optimizer="sgd", learning_rate=0.5, steps=steps,
                     record_every=GLOROT_RECORD, batch_size=10)  # fmt: skip
    means, saturated, losses, top_min, lower = [], [], [], [], []
    for seed in range(seeds):
        r = train(GLOROT_CONFIG, tc, data, key=jax.random.key(seed)).trim()
        m = r.act_mean.astype(np.float64)
        means.append(m.tolist())
        saturated.append(r.saturated_frac.tolist())
        losses.append(r.train_loss.tolist())
        i = int(m[:, -1].argmin())
        top_min.append([float(m[i, -1]), int(r.step[i])])
        lower.append([float(m[:, :-1].min()), float(m[:, :-1].max())])
        step = r.step.tolist()
    return {
        "network": _net(GLOROT_CONFIG), "training": _training(tc, len(data.x_train)),
        "seeds": list(range(seeds)), "step": step, "act_mean": means,
        "saturated_frac": saturated, "top_min": top_min, "lower_range": lower,
        "train_loss": losses, "paper": GLOROT_PAPER, "seconds": time.perf_counter() - started,
        "reference": "Glorot & Bengio, AISTATS 2010, Fig. 2",
    }  # fmt: skip


def format_glorot(result: dict) -> str:
    """Per seed: mean activation per layer at a few recorded steps; the top layer's minimum."""
    tr, steps = result["training"], result["step"]
    shown = sorted({min(i, len(steps) - 1) for i in (0, 1, 2, len(steps) // 2, len(steps) - 1)})
    lines = [
        *_wrap(result["paper"]),
        *_wrap(
            f"Here: the UCI digits, 4 x {result['network']['width']} sigmoid units, SGD, "
            f"learning rate {tr['learning_rate']}, batches of {tr['batch_size']}, "
            f"{tr['steps']} steps; mean activation of each hidden layer on the step's batch."
        ),
    ]
    for seed, m, (top, at), (low, high) in zip(result["seeds"], result["act_mean"],
                                                result["top_min"], result["lower_range"]):
        lines += ["", f"  seed {seed}: {'step':>7}" + "".join(
            f"{'layer ' + str(i + 1):>10}" for i in range(len(m[0])))]  # fmt: skip
        for i in shown:
            lines.append(f"  {'':8}{steps[i]:>7}" + "".join(f"{v:>10.3f}" for v in m[i]))
        lines.append(
            f"  top layer's smallest mean {top:.3f} at step {at}; lower layers between "
            f"{low:.3f} and {high:.3f}"
        )
    return "\n".join(lines)


REPRODUCTIONS = {
    r.name: r
    for r in (
        Reproduction(
            "he-init",
            "He et al. 2015, Fig. 3: a 30-layer ReLU network trained on the digits with Xavier "
            "and with He initialization, the training loss at every 100th step (--seeds N, "
            "default 3)",
            HE_KEYS, run_he, format_he,
        ),
        Reproduction(
            "nielsen-training",
            "Nielsen ch. 5: the speeds of learning ||dC/db_l|| of a 4-hidden-layer sigmoid "
            "network over training on the digits: does layer 1 stay the slowest? (--seeds N, "
            "default 2)",
            NIELSEN_KEYS, run_nielsen, format_nielsen,
        ),
        Reproduction(
            "glorot-saturation",
            "Glorot & Bengio 2010, Fig. 2: mean activation of each hidden layer of a sigmoid "
            "network over training on the digits (--seeds N, default 2)",
            GLOROT_KEYS, run_glorot, format_glorot,
        ),
    )
}  # fmt: skip
