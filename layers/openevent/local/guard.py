"""No child outlives the runtime: a tiny watcher process that ends them if the runtime dies.

The runtime starts `python -m openevent.local.guard <runtime pid>` with a pipe on its stdin
and writes the pid of every child it starts (one per line). The guard also notes, twice a
second, every process whose parent is the runtime (children started by libraries, e.g. the
MQTT broker). When the pipe reaches EOF — the runtime exited, however it exited, kill -9
included — the guard sends SIGTERM to those still alive (checked by start time, so a
reused pid is never hit), then SIGKILL after 3 seconds, and exits.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields and int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def run(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runtime's to handle
    watched: dict[int, str] = {}
    has_proc = Path("/proc/self/stat").exists()

    def note(pid: int) -> None:
        started = _start_time(pid) if has_proc else ""
        if started is not None and pid != os.getpid():
            watched.setdefault(pid, started)

    stdin = sys.stdin.buffer
    buffer = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.5)
        if has_proc:
            for pid in _children_of(parent):
                note(pid)
        if not ready:
            continue
        chunk = os.read(stdin.fileno(), 4096)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip().isdigit():
                note(int(line))
    alive = [pid for pid, started in watched.items()
             if not has_proc or _start_time(pid) == started]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + 3
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _start_time(pid) == watched[pid]] if has_proc else []
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    run(int(sys.argv[1]))
