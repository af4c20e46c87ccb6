"""JAX's persistent compilation cache, on by default for the explorers, in a per-user folder.

An explorer's first build compiles its programs (seconds on a 2-core CPU). With JAX's
persistent compilation cache, a second kernel (a restarted notebook, the next lesson) loads
them from disk instead. The first explorer built in a process turns the cache on, unless:

  * the environment variable ``VGWIDGETS_NO_CACHE`` is set to anything but ``""``/``0``/
    ``false``/``no`` (set it before Python starts, or call ``disable_compilation_cache()``
    before building an explorer);
  * JAX's cache is configured already (``JAX_COMPILATION_CACHE_DIR``, or
    ``jax.config.update("jax_compilation_cache_dir", ...)``, or
    ``jax_enable_compilation_cache`` set to False): then nothing is changed.

The folder is ``$VGWIDGETS_CACHE_DIR`` if set, else the platform's per-user cache folder with
``vgwidgets/jax`` under it (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux,
``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows). Deleting it is always safe.

JAX writes only programs that took at least ``jax_persistent_cache_min_compile_time_secs``
(1 s by default) to compile: most CPU programs take less, so that threshold is set to 0 and
the size threshold ``jax_persistent_cache_min_entry_size_bytes`` to -1 (no limit), each only
where it is still at JAX's default (both exist in JAX 0.4.30 and later).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

OFF_VARIABLE = "VGWIDGETS_NO_CACHE"
DIR_VARIABLE = "VGWIDGETS_CACHE_DIR"

_lock = threading.Lock()
_decided = False  # the first explorer (or a call below) decided for this process
_ours: str | None = None  # the folder this module set, if it set one


def default_cache_dir() -> Path:
    """The per-user folder the explorers' compiled programs go to (see the module docstring).

    Example:
      >>> default_cache_dir().parts[-2:]
      ('vgwidgets', 'jax')
    """
    if os.environ.get(DIR_VARIABLE):
        return Path(os.environ[DIR_VARIABLE]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vgwidgets" / "jax"


def _off_by_environment() -> bool:
    return os.environ.get(OFF_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def enable_compilation_cache(path=None) -> str | None:
    """Turn on JAX's persistent compilation cache in ``path`` (default: ``default_cache_dir()``),
    unless it is turned off or JAX's cache is configured already (module docstring).

    Called by the first explorer built in a process; call it yourself to choose the folder.
    An explicit ``path`` overrides ``VGWIDGETS_NO_CACHE`` but never a cache the user set up.

    Returns:
      The folder in use (whoever set it), or ``None`` if the cache is off.
    """
    global _decided, _ours
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    with _lock:
        _decided = True
        current = jax.config.jax_compilation_cache_dir
        if current and current != _ours:  # the user's own setting
            return current
        if not jax.config.jax_enable_compilation_cache:
            return None
        if path is None and _off_by_environment():
            return None
        folder = Path(path).expanduser() if path is not None else default_cache_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None  # a read-only home: compile as before
        if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:  # JAX's default
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        if jax.config.jax_persistent_cache_min_entry_size_bytes == 0:  # JAX's default
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        _ours = str(folder)
        jax.config.update("jax_compilation_cache_dir", _ours)
        # JAX 0.4.30 settles the cache at its first compilation: start it again with this path.
        compilation_cache.reset_cache()
        return _ours


def disable_compilation_cache() -> None:
    """Keep the explorers from turning the cache on in this process, and turn off the cache
    they turned on (a cache the user configured is left as it is)."""
    global _decided, _ours
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    with _lock:
        _decided = True
        if _ours is not None and jax.config.jax_compilation_cache_dir == _ours:
            jax.config.update("jax_compilation_cache_dir", None)
            compilation_cache.reset_cache()
        _ours = None


def compilation_cache_dir() -> str | None:
    """The folder of JAX's persistent compilation cache in this process, or ``None`` if off."""
    import jax

    if not jax.config.jax_enable_compilation_cache:
        return None
    return jax.config.jax_compilation_cache_dir or None


def ensure_compilation_cache() -> None:
    """``enable_compilation_cache()`` once per process, unless already decided (explorers call
    this when built)."""
    if not _decided:
        enable_compilation_cache()
