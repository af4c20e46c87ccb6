"""The UCI handwritten digits, shipped inside the package (no download).

1,797 images of 8x8 pixel counts 0..16: the test set of "Optical Recognition of Handwritten
Digits" (Alpaydin & Kaynak, 1998, UCI ML repository, CC BY 4.0, doi:10.24432/C50P49), as bundled
with scikit-learn. ``data/UCI_DIGITS_LICENSE.txt`` holds the attribution. They stand in for
MNIST, which cannot be downloaded everywhere the course runs.
"""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

N_EXAMPLES = 1797
N_PIXELS = 64
N_CLASSES = 10
_FILE = "uci_digits.npz"


class Digits(NamedTuple):
    """The digits as arrays ready for a network.

    Attributes:
      x: pixels scaled to ``[0, 1]`` (count / 16), float32, ``(1797, 64)``, row-major 8x8.
      labels: the digit ``0..9``, int64, ``(1797,)``.
      y: one-hot targets, float32, ``(1797, 10)``.
    """

    x: np.ndarray
    labels: np.ndarray
    y: np.ndarray


def load_digits() -> Digits:
    """Load the 1,797 UCI handwritten digits shipped with vgwidgets.

    Returns:
      A ``Digits`` of NumPy arrays: ``x`` (1797, 64) in ``[0, 1]``, ``labels`` (1797,),
      ``y`` one-hot (1797, 10).

    Example:
      >>> d = load_digits()
      >>> d.x.shape, d.y.shape
      ((1797, 64), (1797, 10))

    References:
      Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits.
      UCI Machine Learning Repository. https://doi.org/10.24432/C50P49 (CC BY 4.0).
    """
    source = resources.files("vgwidgets.experiments") / "data" / _FILE
    with source.open("rb") as file, np.load(file) as archive:
        images = archive["images"]
        labels = archive["labels"].astype(np.int64)
    x = images.astype(np.float32) / np.float32(16)
    y = np.eye(N_CLASSES, dtype=np.float32)[labels]
    return Digits(x=x, labels=labels, y=y)


N_TEST = 360


def digits_split():
    """The digits as a fixed training and test set for ``vgwidgets.engine.train``.

    The first 1,437 images train, the last 360 test (about 80/20; the file's order, so the
    split is the same everywhere, with no random draw).

    Returns:
      A ``vgwidgets.engine.TrainData``: ``x_train`` (1437, 64), ``labels_train`` (1437,),
      ``x_test`` (360, 64), ``labels_test`` (360,).

    Example:
      >>> s = digits_split()
      >>> s.x_train.shape, s.x_test.shape
      ((1437, 64), (360, 64))
    """
    from ..engine import TrainData

    d = load_digits()
    cut = N_EXAMPLES - N_TEST
    return TrainData(d.x[:cut], d.labels[:cut], d.x[cut:], d.labels[cut:])
