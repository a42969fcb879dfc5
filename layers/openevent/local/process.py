"""What the local runtime's processes share, with no dependency on either of them. Guarantees:
`StartupError` is the one exception a refused start raises — its `str()` is the single line
shown (exit status 2), and nothing was changed; `limit_malloc_retention()` keeps glibc from
holding freed blocks resident in a long-running threaded process (a no-op off Linux/glibc);
`bind_error(port)` says why a local port cannot be bound (None: it can). Used by the runtime,
the embedded AWS (`moto_server`) and the legacy import (`snapshot`), so none of them imports
another for it.
"""

from __future__ import annotations

import socket
import sys


def limit_malloc_retention() -> None:
    """Keep freed memory from staying resident in a long-running threaded process (glibc).

    Each argon2 hash takes ~19 MiB; glibc raises its mmap threshold after such a block is
    freed, so later ones come from per-thread arenas (up to 8 per core) and stay resident:
    measured 140 MB → 580 MB after a login burst. Two arenas, a fixed mmap threshold and a
    fixed trim threshold bound that. Both thresholds sit above one argon2 block (24 MiB):
    with blocks of 1 MiB and more mapped and unmapped, every login faulted in 19 MiB of
    fresh pages, 31 ms a verification instead of 19 (issue #26). Now one block's worth of
    free heap stays in each arena and is reused, and more than 24 MiB free at an arena's
    top is returned."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 24 << 20)  # M_MMAP_THRESHOLD (fixed: no dynamic raise)
        libc.mallopt(-1, 24 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass  # another libc: its defaults


def bind_error(port: int) -> str | None:
    """Why 127.0.0.1:`port` cannot be bound now (the OS's words), or None when it is free."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError as exc:
        return str(exc.strerror)
    finally:
        probe.close()
    return None


class StartupError(Exception):
    """A start that cannot go on; `str()` is the one line shown, and nothing was changed."""
