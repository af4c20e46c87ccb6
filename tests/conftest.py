"""Shared test setup: draw with matplotlib's Agg backend, so no test opens a window.

``make test`` sets ``MPLBACKEND=Agg`` too; this covers a plain ``pytest`` run.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
