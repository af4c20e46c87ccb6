"""Run the benchmark's sections and gather one JSON-able result with the machine and versions."""

from __future__ import annotations

import datetime
import math
import os
import platform
import sys
import time
from importlib import metadata

from ._report import targets

SECTIONS = ("probe", "compilation", "widgets", "notebooks")
SCHEMA_VERSION = 1
_EXTRA_PACKAGES = ("torch", "nbclient")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return float("nan")


def _load() -> tuple | None:
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def _clean(value):
    """NumPy scalars to Python numbers, non-finite floats to None: strict JSON."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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
      run is ``{"skipped": "not selected"}`` (``{}`` for widgets).
    """
    from .._info import info
    from ._compile import measure_compilation
    from ._notebooks import default_folder, measure_notebooks
    from ._probe import DEFAULT, LARGE, QUICK, measure_probe
    from ._widgets import measure_widgets

    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(
            f"sections must be among {', '.join(SECTIONS)}; got {', '.join(sorted(unknown))}."
        )
    say = progress or (lambda message: None)
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.perf_counter()
    load_start = _load()
    environment = info()
    versions = dict(environment["versions"])
    for name in _EXTRA_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    repeats = 3 if quick else 30
    result = {
        "schema_version": SCHEMA_VERSION,
        "quick": quick,
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "memory_gb": _memory_gb(),
            "platform": environment["platform"],
            "python": sys.version.split()[0],
        },
        "backend": environment["backend"],
        "devices": environment["devices"],
        "versions": versions,
    }

    if "probe" in sections:
        sizes = [QUICK] if quick else [DEFAULT]
        skipped_large = None
        if not quick and environment["backend"] != "cpu":
            sizes.append(LARGE)
        elif not quick:
            skipped_large = f"{LARGE.name}: runs only on a GPU or TPU; the backend is cpu"
        probe_result = {"sizes": []}
        for size in sizes:
            say(f"probe {size.name}")
            probe_result["sizes"].append(
                measure_probe(size, repeats=repeats, budget_s=2.0 if quick else 20.0)
            )
        if skipped_large:
            probe_result["large_skipped"] = skipped_large
        result["probe"] = probe_result
    else:
        result["probe"] = {"skipped": "not selected"}

    if "compilation" in sections:
        say("compilation (first calls)")
        result["compilation"] = measure_compilation(quick=quick, repeats=repeats)
    else:
        result["compilation"] = {}

    result["widgets"] = measure_widgets(quick=quick, progress=say) if "widgets" in sections else {}

    if "notebooks" in sections:
        folder = notebooks_folder if notebooks_folder is not None else default_folder()
        result["notebooks"] = measure_notebooks(folder, quick=quick, progress=say)
    else:
        result["notebooks"] = {"skipped": "not selected", "notebooks": {}}

    result["duration_s"] = time.perf_counter() - clock
    load_end = _load()
    if load_start is not None and load_end is not None:
        result["machine"]["load_average"] = {"start": list(load_start), "end": list(load_end)}
    result["targets"] = targets(result)
    return _clean(result)
