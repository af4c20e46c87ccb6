"""Argument checks for the public boundary: run before any tracing, raise ``ValueError``.

Each message names the argument, the value received and what would be valid, so that a widget
can show it to a learner as it is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np


def check_int(name: str, value, low: int, high: int) -> int:
    """Return ``value`` as an ``int`` in ``[low, high]`` or raise ``ValueError``.

    Example:
      >>> check_int("depth", 0, 1, 10)
      Traceback (most recent call last):
      ValueError: depth must be an integer in [1, 10]; got 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer in [{low}, {high}]; got {value!r} "
            f"of type {type(value).__name__}."
        )
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {value!r}.")
    return int(value)


def check_float(name: str, value, low: float = -math.inf, high: float = math.inf) -> float:
    """Return ``value`` as a finite ``float`` in ``[low, high]`` or raise ``ValueError``.

    Example:
      >>> check_float("momentum", 1, 0.0, 1.0)
      1.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite real number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}]; got {value!r}.")
    return value


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` or raise ``ValueError`` listing them.

    Example:
      >>> check_choice("norm", "group", ("none", "batch", "layer"))
      Traceback (most recent call last):
      ValueError: norm must be one of 'none', 'batch', 'layer'; got 'group'.
    """
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def check_array(name: str, value, *, ndim: int, dtype=None) -> np.ndarray:
    """Return ``value`` as a finite NumPy array with ``ndim`` dimensions or raise ``ValueError``."""
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise ValueError(
            f"{name} must be a {ndim}-D array of real numbers; got {value!r}."
        ) from error
    if (
        array.dtype == object
        or np.issubdtype(array.dtype, np.complexfloating)
        or not (np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_))
    ):
        raise ValueError(
            f"{name} must be a {ndim}-D array of real numbers; got an array of dtype "
            f"{array.dtype}."
        )
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array; got shape {array.shape} ({array.ndim}-D)."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} must hold only finite numbers; got non-finite entries (inf or NaN)."
        )
    return array if dtype is None else array.astype(dtype)


def check_positive(name: str, value) -> float:
    """Return ``value`` as a finite ``float > 0`` or raise ``ValueError``."""
    value = check_float(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be a number > 0; got {value!r}.")
    return value


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (NumPy's too) or raise ``ValueError``.

    Example:
      >>> check_bool("train", 1)
      Traceback (most recent call last):
      ValueError: train must be True or False; got 1.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)
