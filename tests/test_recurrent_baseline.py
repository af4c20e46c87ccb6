"""The bench's PyTorch eager baseline for ``probe_through_time`` computes the engine's numbers:
``||dL/dh_t||`` (and the LSTM's ``||dL/dc_t||``) from ``nn.RNNCell`` / ``nn.LSTMCell`` given the
same weights, and the agreement check catches a baseline that differs. An oracle, not a timing."""

import jax
import numpy as np
import pytest

from vgwidgets.bench import _recurrent
from vgwidgets.engine import RNNConfig, init_rnn, probe_through_time

pytest.importorskip("torch", reason="PyTorch is an optional baseline (pip install torch)")


def _case(cell, gain=1.0, forget_bias=1.0, dtype="float32"):
    config = RNNConfig(
        cell=cell, length=20, hidden=8, gain=gain, forget_bias=forget_bias, dtype=dtype
    )
    params = init_rnn(config, key=jax.random.key(3))
    x = np.random.default_rng(1).standard_normal((5, 20, 1)).astype(dtype)
    run, to_numpy = _recurrent.prepare_torch(config, params, x)
    return probe_through_time(config, params, x, spectrum=False), to_numpy(run())


# (cell, gain, forget bias, dtype, relative tolerance). In float32 a chaotic network (the
# vanilla cell at gain 3) amplifies the two libraries' different roundings to ~1e-3 within
# 20 steps, so it is compared in float64, where both agree to ~1e-12.
CASES = [
    ("vanilla", 1.0, 1.0, "float32", 1e-4), ("lstm", 1.0, 1.0, "float32", 1e-4),
    ("lstm", 2.0, -1.0, "float32", 1e-4), ("vanilla", 3.0, 1.0, "float64", 1e-9),
]  # fmt: skip


@pytest.mark.parametrize(("cell", "gain", "forget_bias", "dtype", "rtol"), CASES)
def test_torch_norms_equal_the_engines(cell, gain, forget_bias, dtype, rtol):
    engine, (loss, grad_h, grad_c) = _case(cell, gain, forget_bias, dtype)
    r = engine.trim()
    np.testing.assert_allclose(loss, r.loss, rtol=rtol)
    np.testing.assert_allclose(grad_h, r.grad_h_norm, rtol=rtol)
    np.testing.assert_allclose(grad_c, r.grad_c_norm, rtol=rtol)
    assert np.all(grad_h > 0) and (np.all(grad_c > 0) if cell == "lstm" else np.all(grad_c == 0))
    agreement = _recurrent.check_norms(engine, (loss, grad_h, grad_c), dtype=dtype)
    assert agreement["same"], agreement
    assert agreement["compared"]["grad_h_norm"] == 20
    assert max(agreement["max_rel_diff"].values()) < rtol


def test_check_flags_a_baseline_that_differs():
    engine, (loss, grad_h, grad_c) = _case("lstm")
    off = grad_c.copy()
    off[3] *= 1.01
    agreement = _recurrent.check_norms(engine, (loss, grad_h, off))
    assert not agreement["same"]
    assert agreement["mismatched"] == ["grad_c_norm"]
    assert agreement["max_rel_diff"]["grad_c_norm"] == pytest.approx(0.01, rel=0.05)


def test_baseline_refuses_what_it_does_not_compute():
    config = RNNConfig(cell="gru", length=4, hidden=2)
    params = init_rnn(config, key=jax.random.key(0))
    with pytest.raises(ValueError, match="gru"):
        _recurrent.prepare_torch(config, params, np.ones((1, 4, 1)))
