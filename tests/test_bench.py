"""``python -m vgwidgets bench``: the quick run's JSON has its documented shape (no timing is
asserted), the baselines compute the engine's numbers, and the FLOP formula counts what autodiff
multiplies."""

import json
import math
import subprocess
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import vgwidgets as vg
from vgwidgets.bench import _baselines, _naive, _naive_training, _probe, _report, _widgets

TOP_KEYS = {
    "schema_version",
    "quick",
    "started",
    "duration_s",
    "machine",
    "backend",
    "devices",
    "versions",
    "probe",
    "compilation",
    "widgets",
    "notebooks",
    "sweep",
    "targets",
    "recurrent",
    "training",
}
TIMING_KEYS = {"median_s", "p95_s", "min_s", "repeats"}


def _run(*args, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "vgwidgets", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One ``bench --quick --json`` run, writing its JSON and a Markdown file too."""
    folder = tmp_path_factory.mktemp("bench")
    markdown = folder / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nProse that stays.\n", encoding="utf-8")
    done = _run("--quick", "--json", "--out", str(folder / "r.json"), "--markdown", str(markdown))
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        "stdout": done.stdout,
        "result": json.loads(done.stdout),
        "file": json.loads((folder / "r.json").read_text(encoding="utf-8")),
        "markdown": markdown,
    }


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def test_quick_prints_strict_json_equal_to_the_file(quick):
    assert json.loads(quick["stdout"], parse_constant=_reject_constant) == quick["file"]


def test_quick_top_level(quick):
    result = quick["result"]
    assert set(result) == TOP_KEYS
    assert result["quick"] is True
    assert result["backend"] == jax.default_backend()
    assert {"cpu", "cpu_count", "memory_gb", "platform", "python"} <= set(result["machine"])
    assert {"vgwidgets", "jax", "jaxlib", "numpy", "torch", "nbclient"} <= set(result["versions"])


def test_quick_probe_section(quick):
    (entry,) = quick["result"]["probe"]["sizes"]
    size = _probe.QUICK
    assert entry["size"] == size._asdict()
    assert entry["flops"] == size.flops()
    assert TIMING_KEYS | {"gflops"} <= set(entry["engine"])
    assert TIMING_KEYS | {"n", "gflops", "time_for_flops_s"} <= set(entry["roofline"])
    assert TIMING_KEYS | {"gflops"} <= set(entry["shaped_roofline"])
    assert entry["engine_over_roofline"] > 0
    assert entry["grad_only"]["same_numbers"]["same"] is True
    assert TIMING_KEYS <= set(entry["grad_only"]) and entry["grad_only_over_roofline"] > 0
    assert set(entry["baselines"]) == {"numpy", "torch"}
    numpy_entry = entry["baselines"]["numpy"]
    assert numpy_entry["same_numbers"]["same"] is True
    assert TIMING_KEYS <= set(numpy_entry)
    torch_entry = entry["baselines"]["torch"]
    assert ("skipped" in torch_entry) != ("median_s" in torch_entry)
    assert ("torch_over_engine" in entry) == ("median_s" in torch_entry)


def test_quick_compilation_section(quick):
    compilation = quick["result"]["compilation"]
    for depth in ("shallow", "deep"):
        assert {"size", "first_call_s", "attempts", "steady", "compile_s", "compilations"} <= set(
            compilation[depth]
        )
        for attempt in compilation[depth]["attempts"]:
            assert attempt["phases_s"]["compiling"] > 0
        # "?": the program's name, where JAX reports none (0.4.30, the Colab leg's floor).
        names = compilation[depth]["compilations"]
        assert any("_probe" in name for name in names) or names and set(names) == {"?"}
    assert compilation["deep"]["size"]["depth"] > compilation["shallow"]["size"]["depth"]
    assert compilation["deep_over_shallow"] > 0


def test_quick_recurrent_section(quick):
    recurrent = quick["result"]["recurrent"]
    assert set(recurrent) == {"size", "cells", "torch", "compile"}
    for entry in recurrent["cells"].values():
        assert {"median_s", "p95_s", "first_call_s", "compile_s"} <= set(entry)
    compile_ = recurrent["compile"]
    assert len(compile_["lengths"]) >= 2 and all(t > 0 for t in compile_["first_call_s"])
    assert compile_["cache_hits"] == [0] * len(compile_["lengths"])  # XLA compiled each
    targets = {t["measure"]: t for t in quick["result"]["targets"]}
    assert targets["compile time, longest T / shortest T"]["passed"] in (True, False)
    torch_entry = recurrent["torch"]
    assert ("skipped" in torch_entry) != ("cells" in torch_entry)
    for cell, entry in torch_entry.get("cells", {}).items():
        assert entry["same_numbers"]["same"] is True
        assert TIMING_KEYS <= set(entry) and entry["torch_over_engine"] > 0
        assert targets[f"PyTorch eager / engine, {cell}"]["passed"] in (True, False)


def test_quick_widgets_section_covers_every_explorer(quick):
    widgets = quick["result"]["widgets"]
    assert set(widgets) == set(_widgets.explorer_classes())
    chain = widgets["ChainExplorer"]
    assert chain["controls"] == {
        "n_layers": "IntSlider",
        "weight": "FloatSlider",
        "bias": "FloatSlider",
        "x": "FloatSlider",
    }
    assert chain["compilations"]["moves"] == 3 * len(chain["controls"])
    assert isinstance(chain["compilations"]["count"], int)
    assert TIMING_KEYS <= set(chain["latency"])
    assert TIMING_KEYS | {"over_widget"} <= set(chain["naive"])
    assert {"changes", "method", "growth_mb_per_1000"} <= set(chain["memory"])
    assert set(chain["latency"]["renders"]) == {"full", "axes", "blit", "spilled", "recalled"}
    every = chain["every_control"]
    assert {"n_layers", "activation", "centre"} <= set(every["per_control"])  # dropdowns too
    assert every["moves"] == sum(e["moves"] for e in every["per_control"].values()) > 0
    assert isinstance(every["count"], int) and every["first_use"]["count"] >= 0
    assert widgets["RegimeExplorer"]["every_control"]["shape_controls"] == ["width", "float64"]
    assert chain["builds"] == {"skipped": "--quick"}


def test_quick_skips_notebooks(quick):
    assert quick["result"]["notebooks"] == {"skipped": "--quick", "notebooks": {}}


def test_quick_targets(quick):
    targets = quick["result"]["targets"]
    measures = [t["measure"] for t in targets]
    assert "engine / roofline" in measures
    assert "PyTorch eager / engine" in measures
    for t in targets:
        assert set(t) == {"section", "measure", "value", "shown", "target", "passed"}
        assert t["passed"] in (True, False, None)


def test_quick_markdown_block_keeps_the_prose(quick):
    text = quick["markdown"].read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nProse that stays.\n")
    assert text.count(_report.BEGIN) == 1 and text.count(_report.END) == 1
    assert "| engine / roofline |" in text.replace("probe, depth 4, width 16, batch 8 (quick) ", "")


def test_update_markdown_replaces_its_block(tmp_path, quick):
    path = tmp_path / "B.md"
    path.write_text(f"top\n\n{_report.BEGIN}\nold\n{_report.END}\n\nbottom\n", encoding="utf-8")
    _report.update_markdown(path, quick["result"])
    _report.update_markdown(path, quick["result"])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("top\n\n") and text.endswith("\n\nbottom\n")
    assert "old" not in text and text.count(_report.BEGIN) == 1


def test_bad_section_is_one_line_and_status_2():
    done = _run("--only", "probe,bogus", timeout=300)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "bogus" in done.stderr


def test_importing_bench_imports_no_gui_or_optional_package():
    code = (
        "import sys, vgwidgets.bench, vgwidgets._cli as c; c._parser(); "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'torch', 'nbclient') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------
# The baselines compute the engine's numbers.


def _problem(activation, loss, dtype, *, depth=6, width=8, batch=7, seed=0):
    # The shape of tests/test_mlp.py's PADDED (4 inputs, width 8, 2 outputs, max_depth 20,
    # batch 7): the compiled programs are shared through JAX's persistent cache.
    config = vg.MLPConfig(
        n_in=4, depth=depth, width=width, n_out=2, max_depth=20, activation=activation,
        loss=loss, dtype=dtype,
    )  # fmt: skip
    params = vg.init_mlp(config, key=jax.random.key(seed))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 4))
    y = rng.uniform(size=(batch, 2)) if loss != "softmax_cross_entropy" else None
    if y is None:
        y = np.eye(2)[rng.integers(0, 2, batch)]
    return config, params, x, y


def _agreement(name, activation, loss, dtype):
    config, params, x, y = _problem(activation, loss, dtype)
    engine = vg.probe(config, params, x, y)
    run, to_numpy = _baselines.BASELINES[name].prepare(config, params, x, y, 0.05)
    baseline = to_numpy(run())
    return _baselines.check(engine, baseline, dtype=dtype, units=x.shape[0] * config.width)


# Every activation in both dtypes; every loss once (each case is a new compilation).
CASES = [
    *((activation, "cross_entropy", dtype)
      for activation in _baselines.BASELINE_ACTIVATIONS for dtype in ("float32", "float64")),
    *(("tanh", loss, "float32") for loss in _baselines.BASELINE_LOSSES if loss != "cross_entropy"),
]  # fmt: skip


@pytest.mark.parametrize(("activation", "loss", "dtype"), CASES)
def test_numpy_baseline_matches_the_engine(activation, loss, dtype):
    agreement = _agreement("numpy", activation, loss, dtype)
    assert agreement["same"], agreement


@pytest.mark.parametrize(("activation", "loss", "dtype"), CASES)
def test_torch_baseline_matches_the_engine(activation, loss, dtype):
    pytest.importorskip("torch")
    agreement = _agreement("torch", activation, loss, dtype)
    assert agreement["same"], agreement


@pytest.mark.parametrize("activation", _baselines.BASELINE_ACTIVATIONS)
def test_bare_grad_reference_matches_the_engines_norms(activation):
    config, params, x, y = _problem(activation, "cross_entropy", "float32")
    engine = vg.probe(config, params, x, y)
    run, to_numpy = _baselines.prepare_grad_only(config, params, x, y)
    fields = ("loss", *_baselines.NORM_FIELDS)
    agreement = _baselines.check(engine, to_numpy(run()), dtype="float32", fields=fields)
    assert agreement["same"], agreement


def test_check_catches_a_wrong_baseline():
    config, params, x, y = _problem("sigmoid", "cross_entropy", "float32")
    engine = vg.probe(config, params, x, y)
    run, to_numpy = _baselines.BASELINES["numpy"].prepare(config, params, x, y, 0.05)
    baseline = to_numpy(run())
    wrong = baseline._replace(grad_b_norm=baseline.grad_b_norm * 1.01)
    agreement = _baselines.check(engine, wrong, dtype="float32", units=x.shape[0] * config.width)
    assert not agreement["same"] and agreement["mismatched"] == ["grad_b_norm"]


def test_baselines_refuse_an_activation_they_do_not_know():
    config = types.SimpleNamespace(activation="softsign", loss="cross_entropy")
    with pytest.raises(ValueError, match="activations sigmoid, tanh, relu; got"):
        _baselines._supported(config)


# ----------------------------------------------------------------------------------------------
# The FLOP formula, against the matrix products in autodiff's own program.


def _dot_flops(jaxpr) -> int:
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            out = eqn.outvars[0].aval.shape
            total += 2 * math.prod(out) * math.prod(lhs[d] for d in contract)
        for value in eqn.params.values():
            inner = getattr(value, "jaxpr", value)
            if hasattr(inner, "eqns"):
                total += _dot_flops(inner)
    return total


@pytest.mark.parametrize(("depth", "width", "batch"), [(1, 7, 5), (3, 8, 4), (6, 16, 10)])
def test_flop_formula_counts_the_products_of_value_and_grad(depth, width, batch):
    size = _probe.ProbeSize("t", depth, width, batch, n_in=5, n_out=3)

    def cost(hidden, out, x):
        a = x
        for w, b in hidden:
            a = jax.nn.sigmoid(a @ w + b)
        w_out, b_out = out
        return jnp.mean((a @ w_out + b_out) ** 2)

    hidden = [(jnp.ones((5 if i == 0 else width, width)), jnp.ones(width)) for i in range(depth)]
    out = (jnp.ones((width, 3)), jnp.ones(3))
    # The probe needs the hidden layers' gradients only: not the output layer's, not the input's.
    jaxpr = jax.make_jaxpr(jax.value_and_grad(cost))(hidden, out, jnp.ones((batch, 5)))
    assert _dot_flops(jaxpr.jaxpr) == size.flops()


# ----------------------------------------------------------------------------------------------
# Pieces of the widget benchmark.


def test_random_values_stay_on_each_sliders_grid():
    import ipywidgets as widgets

    rng = np.random.default_rng(1)
    sliders = [
        widgets.IntSlider(value=3, min=1, max=30),
        widgets.FloatSlider(value=1.0, min=-10.0, max=150.0, step=0.1),
        widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=2, step=0.5),
    ]
    for slider in sliders:
        for _ in range(50):
            value = _widgets.random_value(slider, rng)
            assert value != slider.value
            if isinstance(slider, widgets.FloatLogSlider):
                exponent = math.log10(value)
                assert slider.min - 1e-9 <= exponent <= slider.max + 1e-9
                assert abs(exponent / slider.step - round(exponent / slider.step)) < 1e-6
            else:
                assert slider.min <= value <= slider.max
                steps = (value - slider.min) / slider.step
                assert abs(steps - round(steps)) < 1e-6


def test_naive_chain_rebuild_renders_the_widgets_state():
    from vgwidgets.bench._naive import NAIVE

    explorer = vg.ChainExplorer()
    try:
        state = {name: c.value for name, c in _widgets.controls_of(explorer).items()}
    finally:
        explorer.close()
    png = NAIVE["ChainExplorer"](state)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def _drawn(values):
    """What a naive figure plots for ``values`` on a log axis: positive finite, else nan."""
    values = np.asarray(values, np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _naive_phase_diagram():
    explorer = vg.PhaseDiagram()
    explorer.controls.weight_var.value = 2.5  # off the defaults: the chaotic side
    explorer.controls.depth.value = 12
    state = {name: c.value for name, c in _widgets.controls_of(explorer).items()}
    fig = _naive.phase_diagram_figure(state)
    ax_map, left, right = fig.axes[:3]
    map_data, profile = explorer.plotted
    np.testing.assert_array_equal(np.ma.filled(ax_map.images[0].get_array(), np.nan),
                                  np.where(np.isfinite(map_data.values), map_data.values, np.nan))
    assert tuple(np.ravel(ax_map.lines[-1].get_xydata())) == map_data.point
    np.testing.assert_allclose(left.lines[0].get_ydata(), _drawn(profile.grad), rtol=1e-6)
    np.testing.assert_allclose(left.lines[1].get_ydata(), _drawn(profile.predicted), rtol=1e-6)
    np.testing.assert_allclose(right.lines[0].get_ydata(), _drawn(profile.std), rtol=1e-6)
    return explorer, fig


def _naive_recurrent_explorer():
    explorer = vg.RecurrentExplorer(length=60)
    explorer.controls.gain.value = 1.5
    explorer.controls.gru.value = False
    state = {name: c.value for name, c in _widgets.controls_of(explorer).items()}
    fig = _naive.recurrent_explorer_figure(state)
    left, right = fig.axes
    plotted = explorer.plotted
    for line, cell in zip(left.lines, ("vanilla", "lstm")):
        np.testing.assert_array_equal(line.get_xdata(), plotted.distance)
        np.testing.assert_allclose(line.get_ydata(), _drawn(plotted.grad[cell]), rtol=1e-6)
    np.testing.assert_allclose(left.lines[2].get_ydata(), _drawn(plotted.cell_state), rtol=1e-6)
    np.testing.assert_allclose(left.lines[3].get_ydata(), _drawn(plotted.bound), rtol=1e-6)
    eig = np.asarray(explorer.result.eigenvalues)
    np.testing.assert_allclose(right.lines[0].get_xdata(), eig.real)
    return explorer, fig


def _naive_training_explorer():
    explorer = vg.TrainingExplorer(depth=4, steps=100)
    explorer.controls.step.value = 37  # records every 2 steps: the record of step 36
    fig = _naive_training.training_explorer_figure(explorer.result, 37)
    loss, heat, fractions, act, grad = fig.axes
    (run,) = explorer.plotted
    assert run.step[run.at] == 36 and loss.lines[-1].get_xdata()[0] == 36
    np.testing.assert_allclose(np.ma.filled(heat.images[0].get_array(), np.nan),
                               np.where(np.isfinite(run.heat), run.heat, np.nan), rtol=1e-6)
    np.testing.assert_array_equal(fractions.lines[0].get_ydata(), run.saturated)
    np.testing.assert_array_equal(fractions.lines[1].get_ydata(), run.dead)
    for ax, counts in ((act, run.act_hist), (grad, run.grad_hist)):
        assert len(ax.patches) == len(run.layers)
        for stairs, count in zip(ax.patches, counts):
            np.testing.assert_allclose(stairs.get_data().values, count / max(count.sum(), 1.0))
    return explorer, fig


@pytest.mark.parametrize(
    "check", [_naive_phase_diagram, _naive_recurrent_explorer, _naive_training_explorer]
)
def test_naive_figures_hold_the_widgets_data_at_its_pixel_size(check):
    explorer, fig = check()
    try:
        assert _naive.png_size(_naive._png(fig)) == _naive.png_size(explorer.png)
    finally:
        explorer.close()


def test_report_rows_for_naive_rebuilds_and_scrubs_pass_at_2x(quick):
    widgets = quick["result"]["widgets"]
    assert widgets["TrainingExplorer"]["latency"]["controls"] == ["step"]
    assert widgets["TrainingExplorer"]["naive"]["measured_in"] == "training.explorer.naive"
    for name in ("PhaseDiagram", "RecurrentExplorer"):
        naive = widgets[name]["naive"]
        assert naive["same_size"] is True and naive["over_widget"] > 0
        assert set(widgets[name]["latency"]["controls"]) == set(widgets[name]["controls"])
    explorer = quick["result"]["training"]["explorer"]
    assert explorer["naive"]["same_size"] is True
    assert explorer["naive"]["over_scrub"] == pytest.approx(
        explorer["naive"]["median_s"] / explorer["scrub"]["median_s"]
    )
    for ratio, passed in ((1.99, False), (2.0, True), (7.5, True)):
        result = json.loads(json.dumps(quick["result"]))
        for name in ("PhaseDiagram", "RecurrentExplorer"):
            result["widgets"][name]["naive"]["over_widget"] = ratio
        result["training"]["explorer"]["naive"]["over_scrub"] = ratio
        rows = {(r.section, r.measure): r for r in _report.rows(result)}
        for key in [("widget PhaseDiagram", "naive median / widget median"),
                    ("widget RecurrentExplorer", "naive median / widget median"),
                    ("TrainingExplorer", "naive scrub / scrub, medians")]:  # fmt: skip
            row = rows[key]
            assert (row.passed, row.number, row.target) == (passed, ratio, ">= 2.0x")
        scrub = [row for (section, measure), row in rows.items()
                 if section == "TrainingExplorer" and measure.startswith("naive scrub (")]
        assert len(scrub) == 1 and scrub[0].value.endswith("; same pixel size as the widget's")
