"""``python -m vgwidgets bench``: is the engine near the machine's limit, are the widgets instant?

Sections: the gradient probe's throughput against a matmul roofline and NumPy / PyTorch
baselines, and its compilation (``_probe``, ``_baselines``); each explorer's update latency
against rebuilding its figure with pyplot, compilations from slider moves and memory
(``_widgets``, ``_naive``); each notebook's wall time (``_run``, which also holds the command
line); training steps per second against a Python loop, and ``TrainingExplorer``'s scrubs
(``_training``, ``_naive_training``). ``_report`` holds the targets and writes the table.
Timing is the standard library's ``timeit``; compilations are counted by
``vgwidgets.engine.count_compilations``, the counter the tests use. BENCHMARKS.md explains
the method and holds the last full run.

Why the benchmark ships inside the package (and the wheel) rather than beside it: what it
answers depends on the machine the course runs on (a 2-core CPU, a Colab runtime, a GPU), and
Colab installs vgwidgets from a wheel with no clone, so ``python -m vgwidgets bench`` has to
work wherever ``pip install vgwidgets`` does. It costs the wheel about 900 lines of Python and
no dependency: matplotlib and ipywidgets are the package's own, and torch and nbclient are
imported only when present (their parts are reported as skipped otherwise). Only the notebooks
section needs a clone (the notebooks are not in the wheel), and it says so when it finds none.
Importing this package imports neither matplotlib, ipywidgets, torch nor nbclient.

The helpers that drive the explorers (``sliders``, ``random_value``) and read memory
(``resident_bytes``) are public, for tests that exercise the explorers the same way.

Example:
  >>> from vgwidgets import bench
  >>> bench.SECTIONS
  ('probe', 'compilation', 'widgets', 'notebooks', 'sweep', 'recurrent', 'training')
  >>> result = bench.run(quick=True, sections=["probe"])  # doctest: +SKIP
  >>> print(bench.format_table(result))  # doctest: +SKIP
"""

from ._report import format_markdown, format_table, targets, update_markdown
from ._run import SECTIONS, add_arguments, command, run
from ._timing import resident_bytes, stats, time_calls
from ._widgets import controls_of, random_value, sliders

__all__ = [
    "SECTIONS",
    "add_arguments",
    "command",
    "controls_of",
    "format_markdown",
    "format_table",
    "random_value",
    "resident_bytes",
    "run",
    "sliders",
    "stats",
    "targets",
    "time_calls",
    "update_markdown",
]
