"""The fix comparison's computation (``vgwidgets.experiments.compare``), without a widget, against
``probe`` called directly on each configuration."""

import jax
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.experiments import (
    DEFAULT_SPECS,
    FIX_MAX_DEPTH,
    FixSpec,
    check_spec,
    compare,
    load_digits,
    ratio,
    ratio_trend,
)


def test_compare_probes_each_enabled_spec_like_probe_does():
    digits = load_digits()
    x, y = digits.x[:32], digits.y[:32]
    specs = (*DEFAULT_SPECS[:3], DEFAULT_SPECS[3]._replace(enabled=False))
    key = jax.random.key(1)
    entries = compare(specs, depth=7, weight_scale=1.2, bias_scale=0.1, width=16, x=x, y=y,
                      key=key)  # fmt: skip
    assert entries[3] is None
    for spec, entry in zip(specs[:3], entries[:3]):
        config = vg.MLPConfig(
            n_in=64, depth=7, width=16, n_out=10, activation=spec.activation,
            initializer=spec.initializer, weight_scale=1.2, bias_scale=0.1,
            max_depth=FIX_MAX_DEPTH, norm=spec.norm,
        )  # fmt: skip
        assert entry.spec == spec and entry.config == config
        expected = vg.probe(config, vg.init_mlp(config, key=key), x, y).trim()
        np.testing.assert_allclose(entry.probe.grad_w_norm, expected.grad_w_norm, rtol=1e-6)
        assert entry.probe.grad_w_norm.shape == (7,)
    assert entries[0].params is entries[2].params  # one initializer, drawn once


def test_ratio_and_its_trend():
    assert ratio([1e-6, 1.0]) == 1e-6 and np.isnan(ratio([0.0, 0.0]))
    assert ratio([1.0, 0.0]) == np.inf
    assert [ratio_trend(v) for v in (1e-3, 0.5, 50.0, 1e3)] == [
        "vanishing", "balanced", "balanced", "exploding"
    ]


def test_check_spec_takes_a_dict_and_names_the_bad_field():
    assert check_spec("s", {"activation": "relu", "initializer": "he_normal"}) == FixSpec(
        "relu", "he_normal"
    )
    with pytest.raises(ValueError, match=r"s\.clip_threshold must be a number"):
        check_spec("s", FixSpec("relu", "he_normal", clip_threshold=1e3))


def test_fixspec_is_public_from_the_package():
    assert vg.FixSpec is FixSpec
