"""``Reproduction``: one published result that ``python -m vgwidgets reproduce NAME`` prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Reproduction(NamedTuple):
    """A reproduction of a published result, as the command line runs it.

    Attributes:
      name: the command-line name, e.g. ``"nielsen-speeds"``.
      summary: one line, shown in ``--help``.
      json_keys: the top-level keys of ``run``'s result, each with a one-line description
        (shown in ``--help``).
      run: ``(**options) -> dict`` of JSON-able values (lists, numbers, strings); raises
        ``ValueError`` naming the option on a bad value.
      format: ``(result) -> str``, a readable table beside the paper's figures.
    """

    name: str
    summary: str
    json_keys: dict[str, str]
    run: Callable[..., dict[str, Any]]
    format: Callable[[dict[str, Any]], str]
