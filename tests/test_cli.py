"""``python -m vgwidgets``: ``reproduce NAME`` run as a user runs it, in a subprocess; bad
command lines (random and listed) exit with status 2 and one line on stderr, never a traceback."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vgwidgets import _cli
from vgwidgets.experiments import REPRODUCTIONS

# In this order, two at a time, each --json run starts after its table twin has begun, and
# under make test (JAX's persistent compilation cache on) mostly after it has compiled.
RUNS = {
    "speeds": ("reproduce", "nielsen-speeds", "--seeds", "2"),
    "chain": ("reproduce", "nielsen-chain"),
    "glorot": ("reproduce", "glorot-init", "--seeds", "1"),
    "help": ("reproduce", "--help"),
    "chain_json": ("reproduce", "nielsen-chain", "--json"),
    "speeds_json": ("reproduce", "nielsen-speeds", "--seeds", "2", "--json"),
    "glorot_json": ("reproduce", "glorot-init", "--seeds", "1", "--json"),
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


# ----------------------------------------------------------------------------------------------
# Abuse: bad command lines get status 2 and one line on stderr, never a traceback (in-process)

# 25 derandomized examples per property: every rejection path is argparse's or one check_int
# call, the same code for every bad token, so the examples are there to vary the token's
# characters (empty, Unicode, option-like, huge integers), which 25 cover; each costs < 10 ms.
SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip


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
