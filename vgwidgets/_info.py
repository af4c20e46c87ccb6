"""``python -m vgwidgets info``: versions, JAX's backend and its devices, for bug reports.

Versions are read from the installed distributions' metadata, so that asking for them imports
neither matplotlib nor ipywidgets; only JAX is imported, to ask it for its backend and devices.
"""

from __future__ import annotations

import platform
from importlib import metadata

from ._version import __version__

NOT_INSTALLED = "not installed"

# Distributions whose versions are reported, in the order they are printed.
PACKAGES = ("jax", "jaxlib", "optax", "numpy", "matplotlib", "ipywidgets")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def info() -> dict:
    """What this installation runs on, as a JSON-able dict.

    Returns:
      ``{"versions": {name: version}, "platform": str, "backend": str, "devices": [...]}``:
      ``versions`` holds vgwidgets, Python and each of ``PACKAGES`` ("not installed" for a
      missing one); ``backend`` is ``jax.default_backend()`` ("cpu", "gpu" or "tpu");
      ``devices`` lists ``jax.devices()`` as ``{"platform", "device_kind", "id"}`` dicts.

    Example:
      >>> sorted(info())
      ['backend', 'devices', 'platform', 'versions']
    """
    import jax

    versions = {"vgwidgets": __version__, "python": platform.python_version()}
    versions.update((name, _version(name)) for name in PACKAGES)
    devices = [
        {"platform": d.platform, "device_kind": d.device_kind, "id": d.id} for d in jax.devices()
    ]
    return {
        "versions": versions,
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "devices": devices,
    }


def format_info(result: dict) -> str:
    """``info()``'s dict as aligned ``name  value`` lines, one device a line."""
    rows = list(result["versions"].items())
    rows.append(("platform", result["platform"]))
    rows.append(("jax backend", result["backend"]))
    rows.extend(
        (f"device {d['id']}", f"{d['platform']} ({d['device_kind']})") for d in result["devices"]
    )
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
