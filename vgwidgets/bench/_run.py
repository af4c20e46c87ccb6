"""The ``bench`` subcommand: its arguments, the run of its sections, the notebooks' wall time.

``run`` gathers one JSON-able result with the machine and the versions; each section lives in
its own module (``_probe``: throughput and compilation, ``_widgets``: the explorers), except
the notebooks, each run top to bottom in a fresh kernel by ``nbclient`` (from the kernel's start
to the last cell's end, as "Restart and run all"; nothing is written back).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from ._report import format_table, targets, update_markdown

SECTIONS = ("probe", "compilation", "widgets", "notebooks", "sweep", "recurrent", "training")
SCHEMA_VERSION = 2  # 2: compile phases are "tracing", "lowering", "compiling"
_EXTRA_PACKAGES = ("torch", "nbclient")

DESCRIPTION = """\
Measure the gradient probe against a float32 matmul roofline and NumPy / PyTorch baselines,
compilation, each widget's update latency against rebuilding its figure, memory growth over
control changes, each notebook's wall time, and the phase-diagram sweep's networks per
second. Prints a table (or JSON with --json); progress goes to stderr. Targets that are
missed are reported as FAIL; the exit status is 0 either way.
PyTorch is optional (pip install 'torch>=2'); without it its baseline is skipped."""

EPILOG = """\
examples:
  python -m vgwidgets bench --quick            smoke run, a few seconds
  python -m vgwidgets bench --out bench-results.json --markdown BENCHMARKS.md
                                               full run (a few minutes): write the JSON and
                                               rewrite the results table in BENCHMARKS.md"""


def _sections(text: str) -> tuple:
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    if not chosen or any(s not in SECTIONS for s in chosen):
        raise argparse.ArgumentTypeError(
            f"sections must be a comma-separated list of {', '.join(SECTIONS)}; got {text!r}"
        )
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser`` (the subcommand's own parser)."""
    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--quick", action="store_true", help="tiny sizes, 3 repeats, no notebooks: a smoke run "
        "of a few seconds (not a measurement)")
    add("--json", action="store_true", help="print JSON instead of the table")
    add("--out", metavar="PATH", help="also write the JSON to PATH")
    add("--markdown", metavar="PATH", help="rewrite the results block of the Markdown file PATH "
        "(e.g. BENCHMARKS.md), or append one")
    add("--only", metavar="SECTIONS", type=_sections, default=SECTIONS,
        help=f"run only these, comma-separated: {','.join(SECTIONS)} (default: all)")
    add("--notebooks", metavar="DIR", type=Path, default=None, help="folder of the notebooks to "
        "run (default: ./notebooks, else the checkout's)")


def command(args: argparse.Namespace) -> tuple[dict, str]:
    """Run the benchmark for parsed ``args``; write ``--out`` and ``--markdown``; (JSON, table)."""
    start = time.perf_counter()

    def say(message: str) -> None:
        elapsed = time.perf_counter() - start
        print(f"bench [{elapsed:6.1f} s] {message}", file=sys.stderr, flush=True)

    result = run(
        quick=args.quick, sections=args.only, notebooks_folder=args.notebooks, progress=say
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        update_markdown(Path(args.markdown), result)
    return result, format_table(result)


def _machine() -> dict:
    """CPU model (from /proc/cpuinfo where there is one), cores, memory in GB."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            models = [line.split(":", 1)[1] for line in cpuinfo if line.startswith("model name")]
        cpu = models[0].strip() if models else cpu
    except OSError:
        pass
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        memory_gb = float("nan")
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "memory_gb": memory_gb}


def _load() -> tuple | None:
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def _clean(value):
    """Strict JSON through ``json``: NumPy scalars to numbers, NaN and infinities to None."""
    text = json.dumps(value, default=lambda v: v.item())
    return json.loads(text, parse_constant=lambda constant: None)


def default_notebooks() -> Path | None:
    """``./notebooks`` if it exists, else the ``notebooks`` folder of the checkout (if any)."""
    for folder in (Path.cwd() / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"):
        if folder.is_dir():
            return folder
    return None


def run_notebook(path: Path, *, timeout_s: int = 600) -> dict:
    """Execute ``path`` in a fresh kernel; its wall time and whether every cell ran."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    kernel = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    client = nbclient.NotebookClient(
        notebook, timeout=timeout_s, kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as error:  # noqa: BLE001 -- a failing notebook is a result, not a crash
        message = str(error).strip().splitlines()
        last = message[-1] if message else ""
        error = f"{type(error).__name__}: {last}"[:500]
        return {"wall_s": time.perf_counter() - start, "ok": False, "error": error}
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    return {"wall_s": time.perf_counter() - start, "ok": True, "code_cells": cells}


def measure_notebooks(folder: Path | None, *, quick: bool, progress) -> dict:
    """``run_notebook`` for every notebook in ``folder``; skipped with ``--quick``."""
    if quick or folder is None:
        return {"skipped": "--quick" if quick else "no notebooks folder found", "notebooks": {}}
    try:
        import nbclient  # noqa: F401
    except ImportError as error:
        return {"skipped": f"nbclient could not be imported ({error})", "notebooks": {}}
    results = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        progress(f"notebook {path.name}")
        results[path.name] = run_notebook(path)
    out = {"folder": str(folder), "notebooks": results}
    return out if results else {**out, "skipped": f"no notebook in {folder}"}


def run(*, quick: bool = False, sections=SECTIONS, notebooks_folder=None, progress=None) -> dict:
    """Run the benchmark and return its result (the JSON that ``--json`` prints).

    Args:
      quick: tiny sizes and few repeats, no notebooks: a smoke run of a few seconds.
      sections: which of ``SECTIONS`` to run.
      notebooks_folder: where the notebooks are (default: ``./notebooks``, else the checkout's).
      progress: ``(message) -> None`` called as each part starts, or None.

    Returns:
      ``{"schema_version", "quick", "started", "duration_s", "machine", "backend", "devices",
      "versions", "probe", "compilation", "widgets", "notebooks", "targets"}``; a section not
      run is ``{"skipped": "not selected"}`` (``{}`` for compilation and widgets).
    """
    from .._info import info
    from ._probe import DEFAULT, LARGE, QUICK, measure_compilation, measure_probe
    from ._widgets import measure_widgets

    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(
            f"sections must be among {', '.join(SECTIONS)}; got {', '.join(sorted(unknown))}."
        )
    say = progress or (lambda message: None)
    started = datetime.datetime.now(datetime.timezone.utc)
    clock, load_start, environment = time.perf_counter(), _load(), info()
    versions = dict(environment["versions"])
    for name in _EXTRA_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    repeats = 3 if quick else 30
    machine = {**_machine(), "platform": environment["platform"]}
    result = {
        "schema_version": SCHEMA_VERSION,
        "quick": quick,
        "started": started.isoformat(timespec="seconds"),
        "machine": {**machine, "python": sys.version.split()[0]},
        "backend": environment["backend"],
        "devices": environment["devices"],
        "versions": versions,
        "probe": {"skipped": "not selected"},
        "compilation": {},
        "widgets": {},
    }
    if "probe" in sections:
        sizes = [QUICK] if quick else [DEFAULT]
        if not quick and environment["backend"] != "cpu":
            sizes.append(LARGE)
        result["probe"] = {"sizes": []}
        if not quick and environment["backend"] == "cpu":
            result["probe"]["large_skipped"] = (
                f"{LARGE.name}: runs only on a GPU or TPU; the backend is cpu"
            )
        for size in sizes:
            say(f"probe {size.name}")
            entry = measure_probe(size, repeats=repeats, budget_s=2.0 if quick else 20.0)
            result["probe"]["sizes"].append(entry)
    if "compilation" in sections:
        say("compilation (first calls)")
        result["compilation"] = measure_compilation(quick=quick, repeats=repeats)
    if "widgets" in sections:
        result["widgets"] = measure_widgets(quick=quick, progress=say)
    if "sweep" in sections:
        from ._sweep import measure_sweep

        say("sweep (phase diagram)")
        result["sweep"] = measure_sweep(quick=quick, backend=environment["backend"],
                                        repeats=repeats)  # fmt: skip
    else:
        result["sweep"] = {"skipped": "not selected"}
    if "notebooks" in sections:
        folder = notebooks_folder if notebooks_folder is not None else default_notebooks()
        result["notebooks"] = measure_notebooks(folder, quick=quick, progress=say)
    else:
        result["notebooks"] = {"skipped": "not selected", "notebooks": {}}
    if "training" in sections:
        from ._training import measure_training

        say("training (engine loop vs Python loop; TrainingExplorer)")
        result["training"] = measure_training(quick=quick)
    else:
        result["training"] = {"skipped": "not selected"}

    if "recurrent" in sections:
        from ._recurrent import measure_recurrent

        say("recurrent: probe_through_time")
        result["recurrent"] = measure_recurrent(quick=quick, repeats=repeats)
    else:
        result["recurrent"] = {"skipped": "not selected"}

    result["duration_s"] = time.perf_counter() - clock
    load_end = _load()
    if load_start is not None and load_end is not None:
        result["machine"]["load_average"] = {"start": list(load_start), "end": list(load_end)}
    result["targets"] = targets(result)
    return _clean(result)
