"""``python -m vgwidgets``: ``info`` and ``reproduce NAME`` (tables, or JSON with ``--json``)."""

from __future__ import annotations

import argparse
import json
import sys


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr and exit status 2, no usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    from .experiments import REPRODUCTIONS

    parser = _Parser(
        prog="python -m vgwidgets",
        description="vgwidgets: vanishing and exploding gradients, seen and fixed.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = commands.add_parser(
        "info",
        help="versions, JAX's backend and its devices",
        description="Print the versions of vgwidgets and its dependencies, JAX's backend and devices.",
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    epilog = "\n\n".join(
        f"{name}: {r.summary}\n  JSON keys:\n"
        + "\n".join(f"    {k}: {v}" for k, v in r.json_keys.items())
        for name, r in REPRODUCTIONS.items()
    )
    reproduce = commands.add_parser(
        "reproduce",
        help="reproduce a result from the literature",
        description="Reproduce a published result and print it beside the paper's figures.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reproduce.add_argument("name", choices=list(REPRODUCTIONS), help="which result")
    reproduce.add_argument(
        "--json", action="store_true", help="print JSON (keys below) instead of a table"
    )
    reproduce.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="number of random seeds, where the reproduction uses them",
    )
    reproduce.add_argument(
        "--full",
        action="store_true",
        help="the full-size grid, where the reproduction has one (trainable-depth: for a GPU)",
    )
    from .bench import add_arguments as add_bench_arguments

    add_bench_arguments(
        commands.add_parser(
            "bench", help="benchmark the engine, the widgets and the notebooks on this machine"
        )
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            from ._info import format_info, info

            result = info()
            text = format_info(result)
        elif args.command == "bench":
            from .bench import command

            result, text = command(args)
        else:
            from .experiments import REPRODUCTIONS

            entry = REPRODUCTIONS[args.name]
            options = {} if args.seeds is None else {"seeds": args.seeds}
            if getattr(args, "full", False):
                import inspect

                if "full" not in inspect.signature(entry.run).parameters:
                    raise ValueError(f"--full is not an option of {args.name}")
                options["full"] = True
            result = entry.run(**options)
            text = entry.format(result)
    except (ValueError, OSError) as error:  # OSError: --out or --markdown cannot be written
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(result, indent=2) if args.json else text)
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head` closed the pipe: not an error of ours
        sys.stdout = None
    return 0
