"""Packaging and the README: what a new user runs and reads must be true.

pyproject.toml and environment.yml declare the same packages and specifiers; the floors let Colab
keep its preinstalled versions; a wheel built offline carries every module and the data; the
README's two commands are what CI runs; its example, links and commands work.
"""

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

import vgwidgets

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10; pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
DATA = ROOT / "vgwidgets" / "experiments" / "data"

# Colab's preinstalled versions (2026-08): installing vgwidgets there must upgrade none of them.
COLAB = {
    "jax": "0.7.2",
    "jaxlib": "0.7.2",
    "optax": "0.2.8",
    "matplotlib": "3.10.0",
    "ipywidgets": "7.7.1",
}


def _specs(requirements) -> dict:
    """``{canonical name: SpecifierSet}``; a marker or extra has no conda equivalent."""
    specs = {}
    for text in requirements:
        req = Requirement(text)
        assert req.marker is None and not req.extras, f"{text!r}: conda cannot express this"
        name = canonicalize_name(req.name)
        assert name not in specs, f"{name} is listed twice"
        specs[name] = req.specifier
    return specs


def _pyproject_specs() -> dict:
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    specs = _specs(project["dependencies"] + [r for group in extras.values() for r in group])
    specs["python"] = SpecifierSet(project["requires-python"])
    return specs


def _readme_sections() -> dict:
    """``{heading: body}`` for each ``## heading`` of the README."""
    parts = re.split(r"^## (.+)$", README, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def _code_blocks(text: str, language: str | None = None) -> list[str]:
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [body for lang, body in blocks if language is None or lang == language]


# ----------------------------------------------------------------------------------------------
# Dependencies


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    # Binder installs the package itself from the pip section; everything else comes from conda.
    assert pip_sections == [["-e ."]]
    assert "pip" in conda
    declared = _specs(d for d in conda if d != "pip")
    expected = _pyproject_specs()
    assert declared == expected, (
        f"only in environment.yml: {sorted(set(declared.items()) - set(expected.items()))}; "
        f"only in pyproject.toml: {sorted(set(expected.items()) - set(declared.items()))}"
    )


@pytest.mark.parametrize("name", sorted(COLAB))
def test_floors_keep_colab_versions(name):
    specs = _specs(PYPROJECT["project"]["dependencies"])
    assert specs[name].contains(COLAB[name]), (
        f"{name}{specs[name]} excludes Colab's {COLAB[name]}: installing vgwidgets in Colab "
        "would replace it"
    )


def test_ipywidgets_7_and_8_allowed():
    spec = _specs(PYPROJECT["project"]["dependencies"])["ipywidgets"]
    assert spec.contains("7.7.1") and spec.contains("8.1.5") and not spec.contains("9.0")


# ----------------------------------------------------------------------------------------------
# Package data and the wheel


def _data_files() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if p.is_file())


def test_data_files_are_declared_package_data():
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["vgwidgets.experiments"]
    files = _data_files()
    assert DATA / "uci_digits.npz" in files  # the README's Data section names it
    for path in files:
        relative = path.relative_to(DATA.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), (
            f"{relative} matches none of package-data {globs}: it would be left out of the wheel"
        )


def test_wheel_holds_every_module_and_data_file(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "vgwidgets",
        source / "vgwidgets",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    # The PEP 517 hook that pip calls, without build isolation: offline, with this
    # environment's setuptools (the test extra requires one that reads pyproject's license).
    build = (
        "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path / "dist")],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheel = tmp_path / "dist" / done.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"vgwidgets-{vgwidgets.__version__}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
    expected = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "vgwidgets").rglob("*")
        if p.is_file() and (p.suffix == ".py" or p.parent == DATA)
    }
    assert expected - names == set()
    assert f"{dist_info}/licenses/LICENSE" in names
    assert "Name: vgwidgets" in metadata
    assert f"Version: {vgwidgets.__version__}" in metadata


# ----------------------------------------------------------------------------------------------
# The README's commands, the Makefile and CI


def test_quick_start_is_exactly_make_lab_and_make_test():
    quick_start = _readme_sections()["Quick start"]
    commands = [
        line.strip()
        for block in _code_blocks(quick_start)
        for line in block.splitlines()
        if line.strip()
    ]
    assert commands == ["make lab", "make test"]


def test_ci_runs_the_readme_test_command_verbatim():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    commands = [
        line for line in lines if line and not line.startswith(("#", "set ", "cd ", "export "))
    ]
    assert commands == ["make test"]
    quick_start = _code_blocks(_readme_sections()["Quick start"])
    assert any(commands[0] in block.splitlines() for block in quick_start)


def _make_test_notebooks(folder: Path) -> subprocess.CompletedProcess:
    """The Makefile's test-notebooks target in ``folder``, with this interpreter as .venv's."""
    (folder / "notebooks").mkdir(exist_ok=True)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text("")
    os.utime(pyproject, (0, 0))
    stamp = folder / "stamp"
    stamp.write_text("")  # newer than pyproject.toml, so make installs nothing
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(ROOT / "Makefile"),
            "-C",
            str(folder),
            "test-notebooks",
            f"BIN={Path(sys.executable).parent}",
            f"STAMP={stamp}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _notebook(source: str) -> str:
    import nbformat

    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_notebooks_passes_with_no_notebook(tmp_path):
    done = _make_test_notebooks(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing for nbval to run" in done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(("cell", "passes"), [("assert 1 + 1 == 2", True), ("1 / 0", False)])
def test_make_test_notebooks_runs_nbval(tmp_path, cell, passes):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "lesson.ipynb").write_text(_notebook(cell))
    done = _make_test_notebooks(tmp_path)
    assert (done.returncode == 0) == passes, done.stdout + done.stderr
    assert ("1 passed" if passes else "1 failed") in done.stdout


# ----------------------------------------------------------------------------------------------
# The README's example, commands and paths


def test_readme_example_runs_and_says_what_it_prints(capsys):
    (example,) = _code_blocks(_readme_sections()["Using the library"], "python")
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    printed = capsys.readouterr().out
    speeds = np.asarray(namespace["speeds"])
    assert speeds.shape == (4,)
    assert np.all(np.diff(speeds) > 0), speeds  # "grows from layer 1 to layer 4"
    result = namespace["result"]
    np.testing.assert_allclose(result.factors, [25.0, 25.0, 25.0], rtol=1e-6)
    np.testing.assert_allclose([result.product, result.grad_b1], [3906.25, 3906.25], rtol=1e-5)
    assert "[25. 25. 25.]" in printed


def test_readme_explorers_example_runs_and_says_what_it_prints(capsys):
    (example,) = _code_blocks(_readme_sections()["The explorers"], "python")
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[25.0, 25.0, 25.0]"
    assert lines[1] == "near critical"
    assert lines[2] == "exploding 4.0"
    assert lines[3] == str([s.activation for s in namespace["fixes"].specs() if s.enabled])
    for name in ("chain", "regime", "fixes"):
        assert namespace[name].error is None
        namespace[name].close()


def test_readme_contributing_line_registers_an_activation():
    (line,) = _code_blocks(_readme_sections()["Contributing"], "python")
    code = (
        "import jax.numpy as jnp, numpy as np\n"
        "from vgwidgets import ACTIVATIONS, chain, register_activation\n"
        f"{line}"
        "r = chain([1.5, -0.5, 2.0], [0.1, 0.2, -0.3], 0.5, activation='softsign')\n"
        "assert ACTIVATIONS['softsign'].max_derivative == 1.0\n"
        "np.testing.assert_allclose(r.product, r.grad_b1, rtol=1e-5)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr


def test_readme_commands_parse():
    from vgwidgets._cli import _parser

    (block,) = _code_blocks(_readme_sections()["Command line"])
    commands = [line.split() for line in block.splitlines() if line.strip()]
    assert {tuple(c[:3]) for c in commands} == {("python", "-m", "vgwidgets")}
    for command in commands:
        _parser().parse_args(command[3:])  # exits on an unknown command or reproduction


def test_readme_paths_exist():
    links = re.findall(r"\]\((?!https?:)([^)#]+)\)", README)
    colab = re.findall(
        r"colab\.research\.google\.com/github/vgwidgets/vgwidgets/blob/main/(\S+?)\)", README
    )
    quoted = re.findall(
        r"`([\w./-]+\.(?:py|ipynb|npz|txt|yml|toml)|LICENSE|Makefile|\.ci/run)`", README
    )
    paths = set(links) | set(colab) | set(quoted)
    assert "notebooks/01_sigmoid_derivative_product.ipynb" in paths
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []


def test_readme_states_the_data_licence():
    licence = (DATA / "UCI_DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY 4.0" in licence and "CC BY 4.0" in README
    assert "10.24432/C50P49" in licence and "10.24432/C50P49" in README


def test_readme_training_example_runs_and_the_loss_falls(capsys):
    (example,) = _code_blocks(
        _readme_sections()["Training, and seeing the problem during training"], "python"
    )
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    run = namespace["run"]
    assert run.train_loss[-1] < run.train_loss[0] / 2, run.train_loss  # "the loss falls"
    assert run.grad_w_norm.shape[-1] == 30  # "layer norms": one per hidden layer
    assert capsys.readouterr().out.strip()
