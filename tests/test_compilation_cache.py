"""JAX's persistent compilation cache: the explorers turn it on in a per-user folder, so that a
second process loads their programs instead of compiling them; it can be turned off, and a
cache the user configured is left alone. Each case runs in a fresh Python process."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Build an explorer in a fresh process; print what was compiled and where the cache is.
SCRIPT = """
import json, sys
import vgwidgets
from vgwidgets.engine import count_compilations
if sys.argv[1] == "disable":
    vgwidgets.disable_compilation_cache()
with count_compilations() as built:
    explorer = vgwidgets.ChainExplorer()
print(json.dumps({"count": built.count, "cache_hits": built.cache_hits,
                  "xla_compiled": built.xla_compiled,
                  "folder": vgwidgets.compilation_cache_dir()}))
"""


def _build(tmp_path, mode="", **env):
    clean = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE", "VGWIDGETS_"))
    }  # fmt: skip
    clean.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT), **env)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=clean,
        cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_programs_from_the_per_user_cache(tmp_path):
    folder = tmp_path / "xdg" / "vgwidgets" / "jax"
    cold = _build(tmp_path)
    assert cold["folder"] == str(folder) and any(folder.iterdir())
    assert cold["count"] > 0 and cold["xla_compiled"] == cold["count"]
    warm = _build(tmp_path)
    assert warm["count"] == cold["count"]
    assert warm["cache_hits"] == warm["count"] and warm["xla_compiled"] == 0


def test_the_cache_can_be_turned_off(tmp_path):
    by_variable = _build(tmp_path, VGWIDGETS_NO_CACHE="1")
    by_function = _build(tmp_path, "disable")
    for off in (by_variable, by_function):
        assert off["folder"] is None and off["cache_hits"] == 0
    assert not (tmp_path / "xdg" / "vgwidgets").exists()


def test_a_cache_the_user_configured_is_left_alone(tmp_path):
    mine = tmp_path / "mine"
    built = _build(tmp_path, JAX_COMPILATION_CACHE_DIR=str(mine))
    assert built["folder"] == str(mine)  # its thresholds are left as the user has them too
    assert not (tmp_path / "xdg" / "vgwidgets").exists()
