"""``diagnose`` against oracles: a linear model's gradients in closed form, optax's own updates,
flags on constructed vanishing, exploding and NaN cases (and not otherwise), flax and equinox
models against ``jax.grad``, and the errors bad input gets before anything is compiled."""

import math
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import vgwidgets as vg
from vgwidgets.engine import count_compilations

FLAX_SKIP = (
    "flax is a test-only extra, never a runtime dependency: pip install flax (Colab has it "
    "preinstalled) to run this test."
)
EQUINOX_SKIP = "equinox is a test-only extra: pip install equinox to run this test."


# ----------------------------------------------------------------------------------------------
# A linear model with squared loss: C = mean_n (x_n . w + b - y_n)^2 / 2, so that
# dC/dw = X^T r / N and dC/db = mean(r) with r = X w + b - y, in closed form.


def linear_loss(params, batch):
    x, y = batch
    r = x @ params["w"] + params["b"] - y
    return 0.5 * jnp.mean(r**2)


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    w, b = rng.normal(size=3), np.array(0.7)
    r = x @ w + b - y
    grads = {"w": x.T @ r / 6, "b": np.array(r.mean())}
    params = {"w": jnp.asarray(w, jnp.float32), "b": jnp.asarray(b, jnp.float32)}
    batch = (jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    return params, batch, {"w": w, "b": b}, grads


def test_linear_model_gradient_and_parameter_norms_match_the_closed_form(linear):
    params, batch, exact, grads = linear
    d = vg.diagnose(linear_loss, params, batch)
    assert d.names == ("b", "w") and d.shapes == ((), (3,))
    np.testing.assert_allclose(
        d.grad_norm, [abs(grads["b"]), np.linalg.norm(grads["w"])], rtol=1e-5
    )
    np.testing.assert_allclose(d.param_norm, [0.7, np.linalg.norm(exact["w"])], rtol=1e-6)
    assert d.global_norm == pytest.approx(
        math.sqrt(np.sum(grads["w"] ** 2) + grads["b"] ** 2), rel=1e-5
    )
    # The default step is optax.sgd(1e-2): u = -0.01 g.
    np.testing.assert_allclose(d.update_norm, 0.01 * d.grad_norm, rtol=1e-6)
    np.testing.assert_allclose(d.update_ratio, d.update_norm / d.param_norm, rtol=1e-6)
    # No leaf has two dimensions, so the ratio is over both leaves.
    assert d.in_ratio.tolist() == [True, True]
    assert d.grad_ratio == pytest.approx(d.grad_norm.min() / d.grad_norm.max())
    assert d.flags() == () and not d.nonfinite_leaves.any()
    assert "flags: none" in d.table() and d.table().splitlines()[2].startswith("w ")


linear_grad = jax.jit(jax.grad(linear_loss))  # one program for every hand-made step below

OPTIMIZERS = {
    "sgd": lambda: optax.sgd(0.1),
    "momentum": lambda: optax.sgd(0.1, momentum=0.9),
    "adam": lambda: optax.adam(1e-3),
    "clipped adam": lambda: optax.chain(optax.clip_by_global_norm(0.1), optax.adam(1e-3)),
}


@pytest.mark.parametrize("steps_before", [0, 3])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_update_to_data_ratio_is_that_of_optax_step_by_hand(linear, name, steps_before):
    """The step measured is the one ``optimizer.update`` returns: from a fresh state without
    ``opt_state``, from the state given (after three steps by hand) with it."""
    params, batch, _, _ = linear
    optimizer = OPTIMIZERS[name]()
    state = optimizer.init(params)
    for _ in range(steps_before):
        updates, state = optimizer.update(linear_grad(params, batch), state, params)
        params = optax.apply_updates(params, updates)
    updates, _ = optimizer.update(linear_grad(params, batch), state, params)
    d = vg.diagnose(
        linear_loss, params, batch, optimizer=optimizer, opt_state=state if steps_before else None
    )
    # By name: optax returns its dicts in JAX's sorted key order, not the model's.
    want = np.array([np.linalg.norm(updates[k]) for k in d.names])
    data = np.array([np.linalg.norm(params[k]) for k in d.names])
    np.testing.assert_allclose(d.update_norm, want, rtol=1e-5)
    np.testing.assert_allclose(d.update_ratio, want / data, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# Flags: a deep sigmoid chain (vanishing), a large input (exploding), a NaN, and healthy nets.


def chain_params(depth, scale, width=6, seed=0):
    rng = np.random.default_rng(seed)
    return {
        f"layer{i}": {"w": jnp.asarray(scale * rng.normal(size=(width, width)) / math.sqrt(width),
                                       jnp.float32)}
        for i in range(depth)
    }  # fmt: skip


def chain_loss(params, batch):
    # By name, never params.values(): JAX hands the loss a dict rebuilt in sorted key order.
    x, y = batch
    depth = len(params)
    for i in range(depth - 1):
        x = jax.nn.sigmoid(x @ params[f"layer{i}"]["w"])
    return jnp.mean((x @ params[f"layer{depth - 1}"]["w"] - y) ** 2)


@pytest.fixture(scope="module")
def chain_batch():
    x = np.random.default_rng(1).normal(size=(8, 6)).astype(np.float32)
    return jnp.asarray(x), jnp.ones((8, 6))


def test_deep_sigmoid_chain_is_flagged_vanishing_and_a_shallow_one_is_not(chain_batch):
    deep = vg.diagnose(chain_loss, chain_params(12, 1.0), chain_batch)
    assert deep.flags() == ("vanishing",)
    # Each sigmoid layer multiplies the gradient by at most 1/4 |w|: layer 0 learns slowest.
    assert np.argmin(deep.grad_norm) == 0 and np.argmax(deep.grad_norm) == 11
    assert deep.grad_ratio == pytest.approx(deep.grad_norm.min() / deep.grad_norm.max())
    assert deep.grad_ratio < 1e-4
    shallow = vg.diagnose(chain_loss, chain_params(2, 1.0), chain_batch)
    assert shallow.flags() == () and shallow.grad_ratio > 0.05


def test_each_threshold_flips_its_flag_exactly_where_the_measure_crosses_it(chain_batch):
    params = chain_params(4, 1.0)
    d = vg.diagnose(chain_loss, params, chain_batch)
    above, below = d.global_norm * 1.001, d.global_norm * 0.999
    assert not vg.diagnose(chain_loss, params, chain_batch, max_global_norm=above).exploding
    assert vg.diagnose(chain_loss, params, chain_batch, max_global_norm=below).exploding
    over, under = d.grad_ratio * 1.001, d.grad_ratio * 0.999
    assert vg.diagnose(chain_loss, params, chain_batch, min_grad_ratio=over).vanishing
    with count_compilations() as compiled:
        r = vg.diagnose(chain_loss, params, chain_batch, min_grad_ratio=under)
    assert not r.vanishing and r.min_grad_ratio == under
    assert compiled.count == 0, "a threshold is applied outside the compiled program"


def test_a_large_target_is_flagged_exploding_only(linear):
    params, (x, y), _, _ = linear
    d = vg.diagnose(linear_loss, params, (x, 1e4 * y))
    assert d.flags() == ("exploding",) and d.global_norm > 100.0


def test_a_nan_parameter_and_an_infinite_gradient_are_flagged_nonfinite(linear):
    params, batch, _, _ = linear
    nan = vg.diagnose(linear_loss, {**params, "b": jnp.float32(np.nan)}, batch)
    assert nan.nonfinite and np.isnan(nan.loss) and nan.nonfinite_leaves.all()
    # A NaN norm is not an exploding one, and a NaN ratio flags no vanishing: nonfinite says it.
    assert nan.flags() == ("nonfinite",) and np.isnan(nan.grad_ratio)

    def sqrt_loss(p, batch):  # d sqrt(a) / da = inf at a = 0; the loss itself is finite
        return jnp.sum(jnp.sqrt(p["a"])) + jnp.sum(p["c"] ** 2)

    inf = vg.diagnose(sqrt_loss, {"a": jnp.zeros(2), "c": jnp.ones(2)}, None)
    assert inf.nonfinite_leaves.tolist() == [True, False] and np.isfinite(inf.loss)
    assert np.isinf(inf.global_norm) and inf.flags() == ("nonfinite", "exploding")


def test_no_gradient_anywhere_is_vanishing_with_ratio_zero(chain_batch):
    params = {"a": {"w": jnp.zeros((6, 6))}, "b": {"w": jnp.zeros((6, 6))}}
    d = vg.diagnose(lambda p, b: jnp.sum(p["a"]["w"] * 0.0 + p["b"]["w"] * 0.0), params, None)
    assert d.grad_norm.tolist() == [0.0, 0.0] and d.grad_ratio == 0.0 and d.vanishing


def test_tiny_gradients_do_not_underflow_to_zero():
    d = vg.diagnose(lambda p, b: 1e-30 * jnp.sum(p["w"]), {"w": jnp.ones((4, 4))}, None)
    assert d.grad_norm[0] == pytest.approx(4e-30, rel=1e-5)  # 1e-60 squared would be 0


def test_non_array_leaves_are_held_fixed_and_left_out():
    params = {"w": jnp.full((2, 2), 0.5), "act": jnp.tanh, "name": "layer"}

    def loss(p, b):
        assert p["name"] == "layer"
        return jnp.sum(p["act"](p["w"]))

    d = vg.diagnose(loss, params, None)
    grad = 1.0 - np.tanh(0.5) ** 2
    assert d.names == ("w",)
    assert d.grad_norm[0] == pytest.approx(2.0 * grad, rel=1e-6)


def test_layers_come_in_number_order_before_and_after_an_optimizer_step():
    """JAX orders dict keys as strings ("Dense_10" < "Dense_2"), and a step rebuilds dicts so."""
    params = {f"Dense_{i}": {"kernel": jnp.ones((1, 1)), "bias": jnp.ones(1)} for i in range(12)}
    stepped = optax.apply_updates(params, jax.tree_util.tree_map(jnp.zeros_like, params))
    assert list(stepped)[:3] == ["Dense_0", "Dense_1", "Dense_10"]

    def loss(p, b):
        return sum(jnp.sum(v) for v in jax.tree_util.tree_leaves(p))

    for tree in (params, stepped):
        d = vg.diagnose(loss, tree, 0)
        assert d.names[:2] == ("Dense_0/bias", "Dense_0/kernel")
        assert [n.split("/")[0] for n in d.names[::2]] == [f"Dense_{i}" for i in range(12)]
    # Lists and a module's fields keep their own order.
    d = vg.diagnose(loss, {"z": [jnp.ones(1)] * 11, "a": (jnp.ones(2), jnp.ones(3))}, 0)
    assert d.names == ("a/0", "a/1", *(f"z/{i}" for i in range(11)))


# ----------------------------------------------------------------------------------------------
# Bad input: named errors, raised before anything is compiled.

ERRORS = {
    "loss_fn not callable": (dict(loss_fn=3), TypeError, "loss_fn must be a function"),
    "optimizer": (dict(optimizer="adam"), TypeError, "optimizer must be an optax"),
    "integer leaf": (dict(params={"w": jnp.ones(2), "n": 3}), TypeError, r"params\['n'\]"),
    "integer array": (
        dict(params={"w": jnp.ones(2), "k": jnp.arange(2)}), TypeError, "dtype int32",
    ),
    "boolean leaf": (dict(params={"w": jnp.ones(2), "on": True}), TypeError, "dtype bool"),
    "complex leaf": (dict(params={"w": jnp.ones(2), "c": 1j}), TypeError, "dtype complex"),
    "no float leaf": (dict(params={"f": len}), ValueError, "at least one floating-point"),
    "batch leaf": (dict(batch={"x": "text"}), TypeError, r"batch\['x'\] is str"),
    "nan threshold": (dict(max_global_norm=float("nan")), ValueError, "max_global_norm must"),
    "inf threshold": (dict(max_global_norm=float("inf")), ValueError, "max_global_norm must"),
    "zero threshold": (dict(max_global_norm=0.0), ValueError, "max_global_norm must"),
    "string threshold": (dict(max_global_norm="100"), ValueError, "max_global_norm must"),
    "ratio above 1": (dict(min_grad_ratio=2.0), ValueError, "min_grad_ratio must"),
    "ratio 0": (dict(min_grad_ratio=0.0), ValueError, r"min_grad_ratio must be a number in \(0"),
    "ratio nan": (dict(min_grad_ratio=float("nan")), ValueError, "min_grad_ratio must"),
    "opt_state of another model": (
        dict(optimizer=optax.adam(1e-3), opt_state=optax.adam(1e-3).init({"v": jnp.ones(3)})),
        ValueError,
        "opt_state must be the optimizer's state for these params",
    ),
    "opt_state of another optimizer": (
        dict(optimizer=optax.adam(1e-3), opt_state=optax.sgd(0.1).init({"w": jnp.ones(2)})),
        ValueError,
        "optimizer.init",
    ),
    "vector loss": (
        dict(loss_fn=lambda p, b: p["w"] * 2.0),
        ValueError,
        r"scalar \(shape \(\)\); got shape \(2,\)",
    ),
    "tuple loss": (
        dict(loss_fn=lambda p, b: (jnp.sum(p["w"]), 0)), TypeError, r"returns \(loss, aux\)",
    ),
    "integer loss": (
        dict(loss_fn=lambda p, b: jnp.sum(p["w"]).astype(jnp.int32)),
        TypeError,
        "floating-point scalar",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_input_gets_a_named_error(case):
    changes, error, message = ERRORS[case]
    args = dict(loss_fn=lambda p, b: jnp.sum(p["w"] ** 2), params={"w": jnp.ones(2)}, batch=None)
    args.update(changes)
    loss_fn, params, batch = args.pop("loss_fn"), args.pop("params"), args.pop("batch")
    with pytest.raises(error, match=message):
        vg.diagnose(loss_fn, params, batch, **args)


# ----------------------------------------------------------------------------------------------
# flax and equinox models, against jax.grad of the same loss.


def _filled(shapes, seed=0):
    """Arrays of the shapes a model's initializer would give (``jax.eval_shape`` of it), drawn
    from N(0, 1/2) with NumPy: running the initializer itself compiles slowly."""
    rng = np.random.default_rng(seed)

    def fill(leaf):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            return jnp.asarray(0.7 * rng.normal(size=leaf.shape), leaf.dtype)
        return leaf

    return jax.tree_util.tree_map(fill, shapes)


def _norms_by_name(grads):
    flat = jax.tree_util.tree_flatten_with_path(grads)[0]
    return {
        "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path):
        float(np.linalg.norm(np.asarray(g)))
        for path, g in flat
    }  # fmt: skip


def test_a_flax_mlp_is_diagnosed_leaf_by_leaf():
    flax_nn = pytest.importorskip("flax.linen", reason=FLAX_SKIP)

    class MLP(flax_nn.Module):
        @flax_nn.compact
        def __call__(self, x):
            for _ in range(10):
                x = flax_nn.sigmoid(flax_nn.Dense(4)(x))
            return flax_nn.Dense(1)(x)

    model = MLP()
    x, y = jnp.ones((3, 2)), jnp.zeros((3, 1))
    params = _filled(jax.eval_shape(model.init, jax.random.key(0), x)["params"])

    def loss_fn(p, batch):
        return jnp.mean((model.apply({"params": p}, batch[0]) - batch[1]) ** 2)

    d = vg.diagnose(loss_fn, params, (x, y), optimizer=optax.adam(1e-3))
    want = _norms_by_name(jax.jit(jax.grad(loss_fn))(params, (x, y)))
    assert d.names[0] == "Dense_0/bias" and d.names[-1] == "Dense_10/kernel"
    assert [n.split("/")[0] for n in d.names[::2]] == [f"Dense_{i}" for i in range(11)]
    np.testing.assert_allclose(d.grad_norm, [want[n] for n in d.names], rtol=1e-5)
    assert d.vanishing and d.in_ratio.tolist() == [False, True] * 11


def test_an_equinox_module_is_diagnosed_as_it_is_or_partitioned():
    eqx = pytest.importorskip("equinox", reason=EQUINOX_SKIP)
    model = _filled(
        eqx.filter_eval_shape(eqx.nn.MLP, 3, 2, 5, 2, activation=jax.nn.tanh, key=jax.random.key(0))
    )
    x, y = jnp.ones((4, 3)), jnp.zeros((4, 2))

    def loss_fn(m, batch):
        return jnp.mean((jax.vmap(m)(batch[0]) - batch[1]) ** 2)

    whole = vg.diagnose(loss_fn, model, (x, y))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    parts = vg.diagnose(lambda p, b: loss_fn(eqx.combine(p, static), b), params, (x, y))
    want = _norms_by_name(eqx.filter_jit(eqx.filter_grad(loss_fn))(model, (x, y)))
    names = tuple(f"layers/{i}/{k}" for i in range(3) for k in ("weight", "bias"))  # fields
    assert whole.names == parts.names == names
    np.testing.assert_allclose(whole.grad_norm, [want[n] for n in names], rtol=1e-5)
    np.testing.assert_array_equal(whole.grad_norm, parts.grad_norm)


def test_readme_example_runs_and_says_what_it_prints(capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Diagnose your own JAX model\n")[1].split("\n## ")[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    printed = capsys.readouterr().out.splitlines()
    d = namespace["d"]
    assert printed[-1] == "('vanishing',)" and printed[-2] == "flags: vanishing"
    assert d.names[1] == "layer0/w" and d.names[-1] == "layer6/w"
    assert d.grad_norm[1] / d.grad_norm[-1] == pytest.approx(d.grad_ratio)
    assert d.grad_ratio < 1e-3  # "under 1/1000"
    assert [ax.get_yscale() for ax in namespace["fig"].axes] == ["log", "log"]
