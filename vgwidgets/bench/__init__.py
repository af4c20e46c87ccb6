"""``python -m vgwidgets bench``: is the engine near the machine's limit, are the widgets instant?

Sections, each a module here: gradient-probe throughput against a roofline and against NumPy and
PyTorch baselines (``_probe``, ``_baselines``), compilation (``_compile``), widget latency,
compilations from control moves and memory (``_widgets``, ``_naive``), notebook wall time
(``_notebooks``); ``_report`` holds the targets and writes the table. BENCHMARKS.md explains
the method and holds the last full run.

Importing this package imports neither matplotlib, ipywidgets, torch nor nbclient: each section
imports what it needs when it runs.

Example:
  >>> from vgwidgets import bench
  >>> result = bench.run(quick=True, sections=["probe"])  # doctest: +SKIP
  >>> print(bench.format_table(result))  # doctest: +SKIP
"""

from ._command import add_arguments, command
from ._report import format_markdown, format_table, targets, update_markdown
from ._run import SECTIONS, run

__all__ = [
    "SECTIONS",
    "add_arguments",
    "command",
    "format_markdown",
    "format_table",
    "run",
    "targets",
    "update_markdown",
]
