"""Notebook wall time: each ``notebooks/*.ipynb`` run top to bottom in a fresh kernel (nbclient).

The time runs from the kernel's start to the last cell's end, as "Restart and run all" does.
Nothing is written back to the notebooks.
"""

from __future__ import annotations

import time
from pathlib import Path


def default_folder() -> Path | None:
    """``./notebooks`` if it exists, else the ``notebooks`` folder beside an editable install."""
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
        notebook,
        timeout=timeout_s,
        kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as error:  # noqa: BLE001 -- a failing notebook is a result, not a crash
        message = str(error).strip().splitlines()
        return {
            "wall_s": time.perf_counter() - start,
            "ok": False,
            "error": f"{type(error).__name__}: {message[-1] if message else ''}"[:500],
        }
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    return {"wall_s": time.perf_counter() - start, "ok": True, "code_cells": cells}


def measure_notebooks(folder: Path | None, *, quick: bool, progress=None) -> dict:
    """``run_notebook`` for every notebook in ``folder``; skipped with ``--quick``."""
    if quick:
        return {"skipped": "--quick", "notebooks": {}}
    if folder is None:
        return {"skipped": "no notebooks folder found", "notebooks": {}}
    try:
        import nbclient  # noqa: F401
    except ImportError as error:
        return {"skipped": f"nbclient could not be imported ({error})", "notebooks": {}}
    paths = sorted(Path(folder).glob("*.ipynb"))
    results = {}
    for path in paths:
        if progress:
            progress(f"notebook {path.name}")
        results[path.name] = run_notebook(path)
    out = {"folder": str(folder), "notebooks": results}
    if not paths:
        out["skipped"] = f"no notebook in {folder}"
    return out
