"""The UCI digits shipped with vgwidgets: shapes, ranges, labels, and scikit-learn's copy."""

from importlib import resources

import numpy as np
import pytest

from vgwidgets.experiments import Digits, load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_shapes_and_dtypes(digits):
    assert isinstance(digits, Digits)
    assert digits.x.shape == (1797, 64) and digits.x.dtype == np.float32
    assert digits.labels.shape == (1797,) and np.issubdtype(digits.labels.dtype, np.integer)
    assert digits.y.shape == (1797, 10) and digits.y.dtype == np.float32


def test_pixels_are_counts_over_16(digits):
    assert digits.x.min() == 0.0 and digits.x.max() == 1.0
    counts = digits.x * 16
    np.testing.assert_array_equal(counts, np.round(counts))  # 0..16 exactly, divided by 16


def test_every_class_present_and_counts_sum(digits):
    assert set(np.unique(digits.labels)) == set(range(10))
    counts = np.bincount(digits.labels, minlength=10)
    assert counts.sum() == 1797
    assert counts.min() >= 170  # the test set is nearly balanced: 174 to 183 per class


def test_one_hot_matches_labels(digits):
    np.testing.assert_array_equal(digits.y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(digits.y, axis=1), digits.labels)
    assert set(np.unique(digits.y)) == {0.0, 1.0}


def test_file_is_small_and_attributed():
    data = resources.files("vgwidgets.experiments") / "data"
    assert len((data / "uci_digits.npz").read_bytes()) < 100_000
    license_text = (data / "UCI_DIGITS_LICENSE.txt").read_text()
    for needle in ("CC BY 4.0", "10.24432/C50P49", "Alpaydin", "Kaynak", "archive.ics.uci.edu"):
        assert needle in license_text


def test_equals_scikit_learn_copy(digits):
    datasets = pytest.importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    np.testing.assert_array_equal(digits.x, (reference.data / 16).astype(np.float32))
    np.testing.assert_array_equal(digits.labels, reference.target)
