"""What ``RecurrentExplorer`` shows, computed here so the widget only wires controls: every chosen
cell probed through time on one fixed batch, the vanilla cell's Pascanu bound, each cell's
label, and the recurrent matrix's eigenvalues beside its spectral radius and ``sigma_max``."""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from ..engine import CELLS, RNNConfig, init_rnn, probe_through_time
from ._pascanu import through_time_bound, through_time_phase

THROUGH_TIME_MAX_LENGTH = 500
THROUGH_TIME_MAX_HIDDEN = 128


class ThroughTime(NamedTuple):
    """Every chosen cell's ``TimeProbe`` (trimmed) and what the explorer draws beside it.

    Attributes:
      config: the ``RNNConfig`` (its ``cell`` is the first chosen one).
      cells: the chosen cells, in ``CELLS`` order.
      probes: ``{cell: TimeProbe}``, trimmed to ``config.length`` steps.
      bound: the vanilla cell's ``||dL/dh_T|| (sigma_max gamma)^(T-t)`` per step (NaN when the
        vanilla cell is not chosen).
      phases: ``{cell: "vanishing" | "exploding" | "neither" | "overflow"}``.
      eigenvalues: the eigenvalues of the active ``W_rec`` (complex, ``(hidden,)``).
      radius, sigma_max: ``W_rec``'s spectral radius and largest singular value.
    """

    config: RNNConfig
    cells: tuple
    probes: dict
    bound: np.ndarray
    phases: dict
    eigenvalues: np.ndarray
    radius: float
    sigma_max: float


def through_time_batch(batch: int, seed: int) -> np.ndarray:
    """A fixed input batch ``(batch, THROUGH_TIME_MAX_LENGTH, 1)``, ``N(0, 1)`` (NumPy's draw)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, THROUGH_TIME_MAX_LENGTH, 1)).astype(np.float32)


def through_time_config(**fields) -> RNNConfig:
    """An ``RNNConfig`` at the explorer's fixed maxima (length 1000, hidden 128, one input): every
    one of these configs shares one compiled program."""
    return RNNConfig(
        **fields, n_in=1, max_length=THROUGH_TIME_MAX_LENGTH, max_hidden=THROUGH_TIME_MAX_HIDDEN
    )


def unit_spectrum(config: RNNConfig, seed: int = 0) -> tuple:
    """``(eigenvalues, sigma_max)`` of ``config``'s ``W_rec`` at gain 1 (``init_rnn``'s draw from
    ``jax.random.key(seed)``, its active corner). Every initializer draws ``g`` times a matrix that
    does not depend on ``g``, so at gain ``g`` both are ``g`` times these: a caller that moves
    only the gain computes them once."""
    cfg = config.replace(gain=1.0)
    w = np.asarray(init_rnn(cfg, key=jax.random.key(seed)).w_rec[0], np.float64)
    w = w[: cfg.hidden, : cfg.hidden]
    return np.linalg.eigvals(w), float(np.linalg.svd(w, compute_uv=False)[0])


def through_time(
    config: RNNConfig, cells, x, *, seed: int = 0, spectrum=None
) -> ThroughTime:
    """Probe each of ``cells`` with ``config``'s other fields, from one key.

    Args:
      config: the network; ``config.cell`` is ignored (each of ``cells`` replaces it).
      cells: a non-empty collection of names from ``CELLS``.
      x: ``(batch, max_length, n_in)``.
      seed: the key's seed; every cell draws from it (the same ``W_rec`` for all).
      spectrum: ``unit_spectrum(config, seed)``, if the caller has it (``None``: computed
        here).

    Returns:
      A ``ThroughTime``.

    Example:
      >>> cfg = through_time_config(length=30, hidden=16, gain=0.8)
      >>> r = through_time(cfg, ["vanilla", "lstm"], through_time_batch(4, 0))
      >>> r.phases["vanilla"], bool(np.all(r.probes["vanilla"].grad_h_norm <= r.bound * 1.0001))
      ('vanishing', True)
    """
    given = tuple(cells) if isinstance(cells, (list, tuple, set, frozenset)) else (cells,)
    cells = tuple(c for c in CELLS if c in given)
    if not cells or len(cells) != len(set(given)):
        raise ValueError(
            f"cells must be a non-empty selection of {', '.join(map(repr, CELLS))}; got "
            f"{given!r}."
        )
    key = jax.random.key(seed)
    probes, phases = {}, {}
    for cell in cells:
        cfg = config.replace(cell=cell)
        probes[cell] = probe_through_time(cfg, init_rnn(cfg, key=key), x, spectrum=False).trim()
        phases[cell] = through_time_phase(probes[cell])
    unit = unit_spectrum(config, seed) if spectrum is None else spectrum
    eigenvalues = config.gain * np.asarray(unit[0])
    radius = float(np.max(np.abs(eigenvalues)))
    sigma_max = config.gain * unit[1]
    bound = np.full(config.length, np.nan)
    if "vanilla" in probes:  # Pascanu's bound, sigma_max from the cached spectrum
        r = probes["vanilla"]
        probes["vanilla"] = r._replace(rec_radius=np.asarray(radius), rec_norm=np.asarray(sigma_max))
        bound = through_time_bound(probes["vanilla"])
    return ThroughTime(
        config.replace(cell=cells[0]), cells, probes, bound, phases, eigenvalues, radius,
        sigma_max,
    )  # fmt: skip

