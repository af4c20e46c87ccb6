"""``python -m vgwidgets reproduce NAME``: run as a user runs it, in a subprocess."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from vgwidgets.experiments import REPRODUCTIONS

RUNS = {
    "speeds": ("reproduce", "nielsen-speeds", "--seeds", "2"),
    "speeds_json": ("reproduce", "nielsen-speeds", "--seeds", "2", "--json"),
    "chain": ("reproduce", "nielsen-chain"),
    "chain_json": ("reproduce", "nielsen-chain", "--json"),
    "glorot": ("reproduce", "glorot-init", "--seeds", "1"),
    "glorot_json": ("reproduce", "glorot-init", "--seeds", "1", "--json"),
    "help": ("reproduce", "--help"),
    "bad_seeds": ("reproduce", "nielsen-speeds", "--seeds", "0"),
}


def _run(args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vgwidgets", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def runs() -> dict:
    """Every command above, two at a time (the machine has two cores; each run is one process)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(RUNS, pool.map(_run, RUNS.values())))


def _ok(run) -> str:
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize(
    ("run", "name"),
    [
        ("chain_json", "nielsen-chain"),
        ("speeds_json", "nielsen-speeds"),
        ("glorot_json", "glorot-init"),
    ],
)
def test_json_keys_are_the_documented_ones(runs, run, name):
    result = json.loads(_ok(runs[run]))
    assert set(result) == set(REPRODUCTIONS[name].json_keys)


def test_chain_json_numbers(runs):
    result = json.loads(_ok(runs["chain_json"]))
    exploding = result["exploding"]
    assert exploding["factors"] == pytest.approx([25.0] * 4, rel=1e-6)
    assert exploding["product"] == pytest.approx(0.25 * 25**3, rel=1e-6)
    assert exploding["grad_b1"] == pytest.approx(exploding["product"], rel=1e-6)
    vanishing = result["vanishing"]
    assert abs(vanishing["product"]) < vanishing["bound"]


def test_chain_table(runs):
    text = _ok(runs["chain"])
    for needle in ("(a) exploding", "(b) vanishing", "3906.25", "jax.grad", "sigma'(z_j)"):
        assert needle in text
    assert "Nielsen, Neural Networks and Deep Learning, ch. 5" in text


def test_speeds_json(runs):
    result = json.loads(_ok(runs["speeds_json"]))
    assert result["seeds"] == [0, 1]
    # the probe calls after the first compile nothing: every depth and seed shares one program
    assert result["compilations"] == 0
    assert [r["depth"] for r in result["depths"]] == [2, 3, 4]
    for record in result["depths"]:
        assert len(record["speeds"]) == 2
        assert all(len(row) == record["depth"] for row in record["speeds"])


def test_speeds_table_shows_nielsens_figures(runs):
    text = _ok(runs["speeds"])
    for figure in ("0.07 ", "0.31", "0.012", "0.060", "0.283", "0.003", "0.017", "0.070", "0.285"):
        assert figure in text
    assert "MNIST (784 inputs)" in text and "8x8" in text
    assert "Nielsen, Neural Networks and Deep Learning, ch. 5" in text
    assert "over 2 seed(s)" in text


def test_glorot_table(runs):
    text = _ok(runs["glorot"])
    for needle in ("Glorot & Bengio", "Fig. 7", "eq. 13", "first / last", "1 network(s)"):
        assert needle in text


def test_help_lists_every_json_key(runs):
    text = _ok(runs["help"])
    for name, entry in REPRODUCTIONS.items():
        assert name in text
        for key in entry.json_keys:
            assert f"    {key}: " in text


@pytest.mark.parametrize("run", ["bad_seeds"])
def test_bad_seeds_is_a_one_line_error(runs, run):
    done = runs[run]
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "seeds" in lines[0] and "Traceback" not in done.stderr
