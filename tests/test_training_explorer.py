"""TrainingExplorer: scrubbing recomputes nothing and draws the recorded history; settings wait
for Train; two runs side by side; divergence and bad settings shown inside; training in a kernel
runs in chunks that leave the event loop free. (What every explorer shares: test_explorers.py,
test_abuse.py.)"""

import asyncio
import io
import time

import numpy as np
import pytest
from PIL import Image

from vgwidgets.engine import count_compilations
from vgwidgets.plotting import figure_png
from vgwidgets.widgets import TrainingExplorer


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.fixture(scope="module")
def explorer():
    e = TrainingExplorer(steps=100)
    yield e
    e.close()


def test_scrubbing_draws_the_recorded_history_and_compiles_nothing(explorer):
    result = explorer.result["A"]
    runs = dict(explorer.runs)
    with count_compilations() as compiled:
        for step in (0, 31, 64, 100):
            explorer.controls.step.value = step
            run = explorer.plotted[0]
            at = step // 2  # 100 steps, a record every 2
            assert run.at == at and run.step[at] == step - step % 2
            np.testing.assert_array_equal(run.saturated, result.saturated_frac[at])
            np.testing.assert_array_equal(run.dead, result.dead_frac[at])
            np.testing.assert_array_equal(run.act_hist[0], result.act_hist[at, 0])
            np.testing.assert_array_equal(run.train_loss, result.train_loss)
    assert compiled.count == 0 and explorer.runs == runs and explorer.error is None
    explorer.controls.quantity.value = "update ratio ||ΔW_l||/||W_l||"
    np.testing.assert_allclose(explorer.plotted[0].heat, np.log10(result.update_ratio.T))
    explorer.controls.quantity.value = "||dC/dW_l||"


def test_settings_wait_for_train(explorer):
    before = explorer.result["A"]
    explorer.controls.depth.value = 6
    explorer.controls.learning_rate.value = 0.01
    assert explorer.pending == {"A"} and explorer.result["A"] is before
    assert "press Train" in explorer.summary.value
    with count_compilations() as compiled:  # depth and learning rate are traced
        assert explorer.train()
    assert compiled.count == 0
    assert explorer.pending == set() and explorer.result["A"].grad_w_norm.shape[1] == 6
    assert "L=6" in explorer.plotted[0].title and "lr=0.01" in explorer.plotted[0].title
    assert "press Train" not in explorer.summary.value


def test_two_runs_side_by_side_and_divergence_shown():
    e = TrainingExplorer(compare=True, steps=100)
    try:
        e.controls.slot.value = "B"
        e.controls.optimizer.value = "sgd"  # Adam's steps are at most about lr: no overflow
        e.controls.learning_rate.value = 10.0
        e.controls.gain.value = 10.0
        e.controls.slot.value = "A"  # the controls show A's settings again
        assert e.controls.learning_rate.value == pytest.approx(1e-3)
        assert e.pending == {"B"} and e.train()
        a, b = e.plotted
        assert "lr=0.001" in a.title and "lr=10" in b.title
        assert a.first_nonfinite == -1 and b.first_nonfinite >= 1
        assert f"inf or nan first at step {b.first_nonfinite}" in e.summary.value
        assert e.error is None
        # what a scrub draws over the saved background is what savefig draws: the step's line
        # under the divergence marker, a histogram under its panel's spines (the explorer
        # draws its own partial redraws, so test_figure_renderer's check does not reach it)
        for step in (0, b.first_nonfinite, 100):
            e.controls.step.value = step
            assert e.plotted[0].at == step // 2
            shown = _pixels(e.png)
            np.testing.assert_array_equal(shown, _pixels(figure_png(e.figure)))
    finally:
        e.close()


def test_a_bad_setting_is_shown_and_the_last_run_kept(explorer):
    good, png = explorer.result, explorer.png
    explorer.settings["A"]["learning_rate"] = float("nan")  # what no slider can send
    explorer.pending.add("A")
    assert not explorer.train()
    assert "learning_rate must be a finite real number; got nan" in explorer.status.value
    assert explorer.result is good and explorer.png == png
    explorer.settings["A"]["learning_rate"] = 1e-3
    assert explorer.train() and explorer.error is None


def test_training_in_a_running_loop_leaves_it_free():
    e = TrainingExplorer(steps=400)  # trained at once: no loop is running
    try:
        e.controls.depth.value = 30

        async def main():
            gaps, last = [], time.perf_counter()
            e.start()  # in a running loop: a task
            assert e.task is not None and e.button.disabled
            first = e.task
            await asyncio.sleep(0.05)  # the task has taken its settings: steps 400
            e.controls.steps.value = 450  # pressing Train again meanwhile: trained after it
            e.start()
            while not (first.done() and e.task.done()):
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
            assert e.task is not first
            return gaps

        gaps = asyncio.run(main())
        assert e.error is None and not e.button.disabled and e.pending == set()
        assert e.done == e.total == 51  # 50 records of 9 steps, and step 0
        assert 'value="51" max="51"' in e.progress.value
        assert e.result["A"].grad_w_norm.shape[1] == 30 and e.result["A"].step[-1] == 450
        # About 0.25 s of training per chunk, in a worker thread; the loop ran between them.
        print(f"longest gap {max(gaps):.3f} s over {len(gaps)} ticks")
        assert len(gaps) >= 3 and max(gaps) < 1.5
    finally:
        e.close()


def test_compare_names_a_bad_key_or_value_before_training():
    with pytest.raises(ValueError, match="got the key\\(s\\) 'lr'"):
        TrainingExplorer(compare={"lr": 0.1})
    with pytest.raises(ValueError, match="initializer must be one of"):
        TrainingExplorer(compare={"initializer": "xavier"})


def test_random_scrubs_leave_figures_and_memory_flat(explorer):
    import gc

    from matplotlib.figure import Figure

    from vgwidgets import bench

    def figures():
        gc.collect()
        return sum(isinstance(o, Figure) for o in gc.get_objects())

    rng, slider = np.random.default_rng(1), explorer.controls.step
    before, rss = figures(), []
    for i in range(200):
        slider.value = int(rng.integers(slider.min, slider.max + 1))
        if i in (20, 199):
            gc.collect()
            rss.append(bench.resident_bytes())
    assert figures() == before and explorer.error is None
    if rss[0] is not None:
        assert (rss[1] - rss[0]) / 2**20 < 20
    # A fresh explorer of the same run, drawn in full at that step rather than scrubbed to it.
    fresh = TrainingExplorer(**explorer.trained["A"], step=slider.value)
    try:
        assert fresh.png == explorer.png
    finally:
        fresh.close()
