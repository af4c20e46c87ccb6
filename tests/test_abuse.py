"""Abuse, as learners dish it out: rapid random control changes, bad constructor arguments, a bad
command line.

Every explorer (each class of ``vgwidgets.widgets.__all__`` that subclasses ``Explorer``, so new
ones are picked up) takes 500 random control changes: no exception escapes a callback, the
figure shown at the end is the one a freshly built explorer draws for the same control values,
and neither the number of live matplotlib figures nor the resident memory grows with the number
of changes. ``python -m vgwidgets`` with bad arguments exits with status 2 and one line on
stderr, never a traceback.
"""

from __future__ import annotations

import gc
import inspect
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from vgwidgets import _cli
from vgwidgets import widgets as vgw
from vgwidgets.experiments import REPRODUCTIONS
from vgwidgets.widgets import Explorer

EXPLORERS = sorted(
    name
    for name in vgw.__all__
    if inspect.isclass(getattr(vgw, name)) and issubclass(getattr(vgw, name), Explorer)
    and getattr(vgw, name) is not Explorer
)
# 500 changes per explorer, as the issue asks; each recomputes and renders a PNG (about 0.1 s
# on a quiet 2-core machine). VGWIDGETS_ABUSE_CHANGES=60 gives a quicker local run.
CHANGES = int(os.environ.get("VGWIDGETS_ABUSE_CHANGES", "500"))
SLIDERS = (W.IntSlider, W.FloatSlider, W.FloatLogSlider)
SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip


def _controls(explorer) -> list:
    """Every slider in ``explorer.controls`` (nested tuples of controls), in a fixed order.

    Sliders are what a learner drags fast, and moving one compiles nothing (a test elsewhere
    checks each explorer for that), so the changes measure the widget, not JAX's compiler.
    """
    found, stack = [], [explorer.controls]
    while stack:
        item = stack.pop(0)
        if isinstance(item, (tuple, list)):
            stack[:0] = list(item)
        elif isinstance(item, SLIDERS):
            found.append(item)
    return found


def _random_value(control, rng):
    """A random value anywhere on the slider ``control``."""
    if isinstance(control, W.FloatLogSlider):
        return float(control.base ** rng.uniform(control.min, control.max))
    if isinstance(control, W.IntSlider):
        return int(rng.integers(control.min, control.max + 1))
    return float(rng.uniform(control.min, control.max))


def _rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def _live_figures() -> int:
    gc.collect()
    return sum(isinstance(o, Figure) for o in gc.get_objects())


def _assert_same(a, b, where="plotted"):
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (str, bytes, type(None), bool)):
        assert a == b, where
    else:
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6,
                                   atol=0, equal_nan=True, err_msg=where)  # fmt: skip


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
@pytest.mark.parametrize("name", EXPLORERS)
def test_rapid_random_changes(name):
    cls = getattr(vgw, name)
    explorer = cls()
    controls = _controls(explorer)
    assert controls, f"{name} shows no slider"
    rng = np.random.default_rng(0)
    figures = _live_figures()
    rss, start = [], time.perf_counter()
    for step in range(CHANGES):
        control = controls[rng.integers(len(controls))]
        if control.disabled:
            continue
        control.value = _random_value(control, rng)  # any escaping error fails
        if step in (CHANGES // 5, CHANGES - 1):
            gc.collect()
            rss.append(_rss_mib())
    per_change = (time.perf_counter() - start) / CHANGES
    assert plt.get_fignums() == []  # nothing registered with pyplot
    assert _live_figures() == figures, "figures were left alive by the changes"
    # A figure leaked per change would be hundreds of MiB; caches may settle a little.
    assert rss[1] - rss[0] < 60, f"resident memory grew {rss[1] - rss[0]:.0f} MiB"
    final = {i: c.value for i, c in enumerate(controls)}

    fresh = cls()
    try:
        for i, control in enumerate(_controls(fresh)):
            if not control.disabled:
                control.value = final[i]
        if explorer.error is None:
            assert fresh.error is None, fresh.error
            _assert_same(explorer.plotted, fresh.plotted)
            assert explorer.png == fresh.png, "the figure differs from a fresh one's"
        else:  # the last change was invalid: both say so
            assert fresh.error == explorer.error
    finally:
        fresh.close()
        explorer.close()
    print(f"{name}: {CHANGES} changes, {per_change * 1000:.0f} ms each, RSS {rss} MiB")


# ----------------------------------------------------------------------------------------------
# Constructors: every keyword with a bad value of its default's kind gets a message naming it


def _bad_values(default) -> list:
    if isinstance(default, bool):
        return ["yes", 2, None]
    if isinstance(default, int):
        return [-(10**9), 10**18, 2.5, "3", math.nan]
    if isinstance(default, float):
        return [math.nan, math.inf, -math.inf, 1e308, "1.0"]
    if isinstance(default, str):
        return ["no-such-name", 3, None]
    return []


CONSTRUCTOR_CASES = [
    (name, parameter.name, bad)
    for name in EXPLORERS
    for parameter in inspect.signature(getattr(vgw, name)).parameters.values()
    if parameter.default is not inspect.Parameter.empty
    for bad in _bad_values(parameter.default)
]


@pytest.mark.parametrize(("name", "argument", "bad"), CONSTRUCTOR_CASES)
def test_constructor_rejects_bad_arguments(name, argument, bad):
    with pytest.raises((ValueError, TypeError)) as info:
        getattr(vgw, name)(**{argument: bad})
    message = str(info.value)
    assert argument in message and repr(bad) in message, message
    assert not any("/jax/" in str(e.path) for e in info.traceback), "raised inside JAX"


def test_constructor_rejects_unknown_keywords():
    for name in EXPLORERS:
        with pytest.raises(TypeError, match="no_such_option"):
            getattr(vgw, name)(no_such_option=1)


# ----------------------------------------------------------------------------------------------
# The command line


def _one_line_error(capsys, argv) -> str:
    try:
        status = _cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2, (argv, out, err)
    assert out == "" and "Traceback" not in err, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m vgwidgets"), (argv, err)
    return lines[0]


TOKENS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)


@SETTINGS
@given(command=TOKENS.filter(lambda t: t not in {"info", "reproduce", "bench"} and
                             not t.startswith("-")),
       rest=st.lists(TOKENS, max_size=3))  # fmt: skip
def test_unknown_command(capsys, command, rest):
    _one_line_error(capsys, [command, *rest])


@SETTINGS
@given(name=TOKENS.filter(lambda t: t not in REPRODUCTIONS and not t.startswith("-")))
def test_unknown_reproduction(capsys, name):
    line = _one_line_error(capsys, ["reproduce", name])
    assert "name" in line and repr(name) in line, line


@SETTINGS
@given(name=st.sampled_from(sorted(REPRODUCTIONS)),
       seeds=st.integers(max_value=0) | st.integers(min_value=10**4))  # fmt: skip
def test_bad_seeds(capsys, name, seeds):
    line = _one_line_error(capsys, ["reproduce", name, "--seeds", str(seeds)])
    assert "seeds" in line and str(seeds) in line


@SETTINGS
@given(value=st.sampled_from(["abc", "1.5", "", "1e3", "0x10", "nan"]))
def test_seeds_not_an_integer(capsys, value):
    assert "--seeds" in _one_line_error(capsys, ["reproduce", "nielsen-speeds", "--seeds", value])


@pytest.mark.parametrize(
    "argv",
    [["bench", "--only", "nope"], ["bench", "--only", ","], ["info", "extra"], ["--nope"], []],
)
def test_bad_options(capsys, argv):
    _one_line_error(capsys, argv)


def test_unwritable_output_is_a_one_line_error(tmp_path):
    """In a subprocess, as a user runs it: --out into a folder that does not exist."""
    done = subprocess.run(
        [sys.executable, "-m", "vgwidgets", "bench", "--quick", "--only", "probe",
         "--out", str(tmp_path / "missing" / "bench.json")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert lines[-1].startswith("python -m vgwidgets: error:") and "bench.json" in lines[-1]
