"""Shared test setup: draw with matplotlib's Agg backend, so no test opens a window.

``make test`` sets ``MPLBACKEND=Agg`` too; this covers a plain ``pytest`` run.
"""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def explorers():
    """``explorers(cls, **kwargs)`` builds an explorer; every one is closed after the test."""
    made = []

    def build(cls, **kwargs):
        made.append(cls(**kwargs))
        return made[-1]

    yield build
    for explorer in made:
        explorer.close()
