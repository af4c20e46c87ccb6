"""The layers run one way (README.md, "Project layout"): engine -> experiments -> plotting -> widgets.

Each check runs in a fresh interpreter, where ``sys.modules`` shows what an import really pulled in.
"""

import json
import subprocess
import sys

import pytest

GUI = ("ipywidgets", "matplotlib")


def _loaded(code):
    """Run ``code`` in a fresh interpreter; return the ``GUI`` modules it loaded (two levels)."""
    report = (
        "import json, sys; print(json.dumps(sorted(m for m in sys.modules "
        f"if m.split('.')[0] in {GUI!r} and m.count('.') <= 1)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


# The shape of tests/test_mlp.py's SMALL: under make test, JAX's persistent cache (inherited
# through the environment) holds its programs, so this process loads them instead of compiling.
ENGINE = """
import jax.numpy as jnp
import vgwidgets, vgwidgets.engine, vgwidgets.experiments
config = vgwidgets.MLPConfig(n_in=4, depth=3, width=8, n_out=2)
params = vgwidgets.init_mlp(config, key=__import__("jax").random.key(0))
vgwidgets.probe(config, params, jnp.ones((7, 4)), jnp.zeros((7, 2)))
vgwidgets.chain([2.0, 2.0], [0.0, 0.0], 1.0)
"""


def test_engine_and_experiments_load_neither_matplotlib_nor_ipywidgets():
    assert _loaded(ENGINE) == set()


def test_plotting_does_not_load_ipywidgets():
    loaded = _loaded(
        "import vgwidgets, vgwidgets.plotting as p, vgwidgets.experiments as e\n"
        "p.plot_chain(vgwidgets.chain([2.0], [0.0], 1.0), e.activation_curve('sigmoid'))"
    )
    assert "matplotlib" in loaded
    assert not {m for m in loaded if m.startswith("ipywidgets")}
    assert "matplotlib.pyplot" not in loaded


@pytest.mark.parametrize("name", ["vgwidgets.widgets", "vgwidgets"])
def test_widgets_draw_without_pyplot(name):
    # ChainExplorer renders through the Agg canvas: no pyplot, so no figure manager, no leaks.
    loaded = _loaded(
        f"import {name} as m\ne = m.ChainExplorer()\ne.controls.weight.value = 3.0\n"
        "assert e.error is None, e.error"
    )
    assert "ipywidgets" in loaded
    assert "matplotlib.pyplot" not in loaded
