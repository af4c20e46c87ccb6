"""``python -m vgwidgets info``: run as a user runs it, compared with what JAX says in-process."""

import json
import platform
import re
import subprocess
import sys
from importlib import metadata

import jax
import pytest

import vgwidgets
from vgwidgets import _info

PACKAGES = ["jax", "jaxlib", "optax", "numpy", "matplotlib", "ipywidgets"]


def _rows(text: str) -> dict:
    """``name  value`` lines (names may hold one space: "jax backend", "device 0") as a dict."""
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in text.splitlines())


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vgwidgets", "info", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def reported() -> dict:
    return json.loads(_run("--json"))


def test_json_keys(reported):
    assert set(reported) == {"versions", "platform", "backend", "devices"}
    assert list(reported["versions"]) == ["vgwidgets", "python", *PACKAGES]
    for device in reported["devices"]:
        assert set(device) == {"platform", "device_kind", "id"}


def test_versions_match_this_environment(reported):
    versions = reported["versions"]
    assert versions["vgwidgets"] == vgwidgets.__version__
    assert versions["python"] == platform.python_version()
    for name in PACKAGES:
        assert versions[name] == metadata.version(name), name


def test_backend_and_devices_match_jax_in_process(reported):
    assert reported["backend"] == jax.default_backend()
    assert reported["devices"] == [
        {"platform": d.platform, "device_kind": d.device_kind, "id": d.id} for d in jax.devices()
    ]


def test_text_output_shows_every_entry(reported):
    text = _run()
    assert text.strip() == _info.format_info(reported)
    rows = _rows(text)
    assert rows["vgwidgets"] == vgwidgets.__version__
    assert rows["python"] == platform.python_version()
    for name in PACKAGES:
        assert rows[name] == metadata.version(name)
    assert rows["jax backend"] == jax.default_backend()
    for d in jax.devices():
        assert rows[f"device {d.id}"] == f"{d.platform} ({d.device_kind})"
    assert len(rows) == len(PACKAGES) + 4 + len(jax.devices())


def test_missing_package_shows_not_installed(monkeypatch):
    real_version = metadata.version

    def version(name):
        if name == "matplotlib":
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    versions = _info.info()["versions"]
    assert versions["matplotlib"] == "not installed"
    assert versions["jax"] == real_version("jax")
    assert _rows(_info.format_info(_info.info()))["matplotlib"] == "not installed"


def test_info_imports_neither_matplotlib_nor_ipywidgets():
    code = (
        "import sys; from vgwidgets import _info; _info.format_info(_info.info()); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'ipywidgets'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "[]"
