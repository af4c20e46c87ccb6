"""The ``bench`` subcommand's arguments and its run, for ``vgwidgets._cli``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ._run import SECTIONS

DESCRIPTION = """\
Measure the gradient probe against a float32 matmul roofline and NumPy / PyTorch baselines,
compilation, each widget's update latency against rebuilding its figure, memory growth over
control changes, and each notebook's wall time. Prints a table (or JSON with --json); progress
goes to stderr. Targets that are missed are reported as FAIL; the exit status is 0 either way.
PyTorch is optional (pip install 'torch>=2'); without it its baseline is skipped."""

EPILOG = """\
examples:
  python -m vgwidgets bench --quick            smoke run, a few seconds
  python -m vgwidgets bench --out bench-results.json --markdown BENCHMARKS.md
                                               full run (a few minutes): write the JSON and
                                               rewrite the results table in BENCHMARKS.md"""


def _sections(text: str) -> tuple:
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"sections must be a comma-separated list of {', '.join(SECTIONS)}; got {text!r}"
        )
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser`` (the subcommand's own parser)."""
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, 3 repeats, no notebooks: a smoke run of a few seconds (not a measurement)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--out", metavar="PATH", help="also write the JSON to PATH")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="rewrite the results block of the Markdown file PATH (e.g. BENCHMARKS.md), "
        "or append one",
    )
    parser.add_argument(
        "--only",
        metavar="SECTIONS",
        type=_sections,
        default=SECTIONS,
        help=f"run only these, comma-separated: {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder of the notebooks to run (default: ./notebooks, else the checkout's)",
    )


def _progress(start: float):
    def say(message: str) -> None:
        print(
            f"bench [{time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr, flush=True
        )

    return say


def command(args: argparse.Namespace) -> tuple[dict, str]:
    """Run the benchmark for parsed ``args``; write ``--out`` and ``--markdown``; (JSON, table)."""
    from ._report import format_table, update_markdown
    from ._run import run

    result = run(
        quick=args.quick,
        sections=args.only,
        notebooks_folder=args.notebooks,
        progress=_progress(time.perf_counter()),
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        update_markdown(Path(args.markdown), result)
    return result, format_table(result)
