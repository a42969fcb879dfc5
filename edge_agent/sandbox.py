"""Run a user's lab script in a separate, locked-down process.

Layers, outermost first:

1. ``prlimit``: CPU seconds, address space, file size, open files, processes, no core dumps.
   (prlimit rather than ``preexec_fn``, which is unsafe in a threaded agent.)
2. ``bwrap`` (bubblewrap): new pid/net/ipc/uts namespaces, no network at all, and a minimal
   read-only view of the filesystem: ``/usr``, the Python installation, the runtime, the
   script and numpy (only its own package folders, bound at ``/sandbox-lib``) — nothing
   else, so the agent's key files do not exist in there. The only writable
   place is a private ``/tmp`` tmpfs of ``tmp_bytes`` (tmpfs is memory that the address-space
   limit does not count, and RLIMIT_FSIZE caps single files, not their sum).
   Without bubblewrap scripts are refused (:data:`NO_SANDBOX_REASON`): ``unshare -n`` alone
   removes the network but not the view of files, so a script could read whatever the
   agent's user can — its private key included.
3. An unprivileged user (``nobody``) when the agent runs as root, via ``setpriv``, so
   ``RLIMIT_NPROC`` binds and root-only files stay unreadable.
4. A wall-clock deadline: the whole process group is killed.
5. An output budget: widgets are counted as they stream; over budget, the run is killed.

The script reaches the device only through :func:`run_script`'s ``call_device`` callback,
which receives *function strings* that the agent re-parses with the lab grammar.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess  # noqa: S404 - running the sandbox is the point
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openevent.lab.functions import FUNCTIONS
from openevent.lab.protocol import WIDGET_TYPES, sanitize

log = logging.getLogger(__name__)

RUNTIME_FILE = Path(__file__).with_name("sandbox_runtime.py")
#: The reason of a run its user stopped.
STOPPED_REASON = "stopped by the user"
NOBODY_UID = 65534
_MAX_LINE = 1_000_000  # one protocol line from the script


@dataclass(frozen=True)
class SandboxLimits:
    wall_seconds: float = 30.0
    cpu_seconds: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    file_size_bytes: int = 1024 * 1024
    #: Size of the script's private /tmp (a tmpfs: RAM outside the memory limit).
    tmp_bytes: int = 16 * 1024 * 1024
    open_files: int = 64
    processes: int = 64
    #: Total JSON bytes of all widgets of one run.
    output_bytes: int = 512 * 1024
    #: Points per plot.
    plot_points: int = 10_000
    device_calls: int = 5_000


@dataclass(frozen=True)
class RunOutcome:
    status: str  # done | failed | timeout
    reason: str | None
    widgets: int


class SandboxUnavailable(RuntimeError):
    """Bubblewrap cannot isolate a script here: scripts are refused."""


#: The reason a run fails with on a lab host without a working bubblewrap.
NO_SANDBOX_REASON = ("scripts are disabled on this lab host: bubblewrap (bwrap) is not "
                     "installed or cannot create namespaces, and no script runs without it")


def _python() -> tuple[str, str]:
    """(interpreter path, installation prefix) of the base Python, outside any venv."""
    prefix = os.path.realpath(sys.base_prefix)
    exe = os.path.realpath(sys.executable)
    if not exe.startswith(prefix + os.sep):
        name = f"python{sys.version_info.major}.{sys.version_info.minor}"
        exe = os.path.join(prefix, "bin", name)
    return exe, prefix


_bwrap_ok: bool | None = None
# Debian's merged /usr: /lib, /lib64 and /bin are symlinks into it.
_BASE_VIEW = ("--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
              "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin")


def bwrap_available() -> bool:
    """True if bubblewrap is installed and can create its namespaces here (probed once)."""
    global _bwrap_ok
    if _bwrap_ok is None:
        path = shutil.which("bwrap")
        if path is None:
            _bwrap_ok = False
        else:
            probe = subprocess.run(  # noqa: S603
                [path, *_BASE_VIEW, "--unshare-net", "--unshare-pid", "--", "/usr/bin/true"],
                capture_output=True, timeout=10, check=False)
            _bwrap_ok = probe.returncode == 0
    return _bwrap_ok


#: Where the extra packages scripts may import (numpy) appear inside the sandbox.
SANDBOX_LIB = "/sandbox-lib"


def library_binds() -> list[str]:
    """bwrap arguments binding numpy (and the shared libraries its wheel ships in
    ``numpy.libs``) read-only under :data:`SANDBOX_LIB`; empty if numpy is not installed.
    Found without importing it: the agent itself never needs numpy."""
    import importlib.util

    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations))).resolve()
    # bwrap would make the mount point's parent 0700 (root's): the script user must enter it.
    binds = ["--perms", "0755", "--dir", SANDBOX_LIB,
             "--ro-bind", str(package), f"{SANDBOX_LIB}/numpy"]
    libs = package.parent / "numpy.libs"
    if libs.is_dir():
        binds += ["--ro-bind", str(libs.resolve()), f"{SANDBOX_LIB}/numpy.libs"]
    return binds


def build_command(workdir: Path, limits: SandboxLimits) -> list[str]:
    """The full command line: prlimit → bwrap → setpriv → python runtime."""
    exe, prefix = _python()
    is_root = os.geteuid() == 0
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise SandboxUnavailable("prlimit (util-linux) is not installed")
    # Soft CPU limit sends SIGXCPU, the hard one a second later SIGKILL.
    cmd = [prlimit, f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
           f"--as={limits.memory_bytes}", f"--fsize={limits.file_size_bytes}",
           f"--nofile={limits.open_files}", f"--nproc={limits.processes}", "--core=0", "--"]
    drop = ([shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={NOBODY_UID}",
             f"--regid={NOBODY_UID}", "--clear-groups", "--no-new-privs"]
            if is_root else [])
    if not bwrap_available():
        raise SandboxUnavailable(NO_SANDBOX_REASON)
    view = list(_BASE_VIEW)
    if not prefix.startswith("/usr/") and prefix != "/usr":
        view += ["--ro-bind", prefix, prefix]
    cmd += [shutil.which("bwrap") or "bwrap", *view,
            *library_binds(),
            "--ro-bind", str(workdir), "/sandbox", "--chdir", "/sandbox",
            "--proc", "/proc", "--dev", "/dev",
            # A fresh private /tmp of bounded size, writable by the (dropped) script user.
            "--perms", "1777", "--size", str(limits.tmp_bytes),
            "--tmpfs", "/tmp",  # noqa: S108
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", "lab-sandbox"]
    if is_root:
        # Just enough privilege for setpriv to drop to nobody; gone after the setuid.
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    cmd += ["--", *drop, exe, "-I", "-S", "-B", "-X", "utf8", "/sandbox/runtime.py"]
    return cmd


class _Killed(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def run_script(code: str, *, call_device: Callable[[str], Any],
               emit: Callable[[dict[str, Any]], None],
               limits: SandboxLimits | None = None,
               check_button: Callable[[str], Any] | None = None,
               cancel: threading.Event | None = None) -> RunOutcome:
    """Run ``code`` in the sandbox until it ends; stream its widgets to ``emit`` in order.

    ``call_device(function_string)`` must validate and execute one device call and return
    its JSON-able value, or raise (the message is passed to the script as a LabError).
    ``check_button(function_string)`` may raise to refuse a button's function string.
    Setting ``cancel`` kills the run (the user's Stop button): it fails with
    :data:`STOPPED_REASON`.
    """
    limits = limits or SandboxLimits()
    with tempfile.TemporaryDirectory(prefix="lab-run-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # noqa: S103 - the sandbox user must read the script
        shutil.copyfile(RUNTIME_FILE, workdir / "runtime.py")
        (workdir / "script.py").write_text(code, encoding="utf-8")
        for f in ("runtime.py", "script.py"):
            os.chmod(workdir / f, 0o644)
        try:
            cmd = build_command(workdir, limits)
        except SandboxUnavailable as exc:
            return RunOutcome("failed", str(exc), 0)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LAB_SCRIPT": "/sandbox/script.py",
               "LAB_FUNCTIONS": json.dumps(sorted(FUNCTIONS)), "LAB_LIB": SANDBOX_LIB,
               # One BLAS thread: the process limit and the address-space limit hold, and a
               # script cannot fan out over the host's cores.
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        return _supervise(cmd, env, limits, call_device, emit, check_button, cancel)


def _supervise(cmd: list[str], env: dict[str, str], limits: SandboxLimits,
               call_device: Callable[[str], Any], emit: Callable[[dict[str, Any]], None],
               check_button: Callable[[str], Any] | None,
               cancel: threading.Event | None = None) -> RunOutcome:
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, start_new_session=True, close_fds=True)
    assert proc.stdin and proc.stdout and proc.stderr
    lines: queue.Queue[bytes | None] = queue.Queue()
    stderr_tail = bytearray()

    def read_stdout() -> None:
        assert proc.stdout
        while True:
            line = proc.stdout.readline(_MAX_LINE + 1)
            lines.put(line if line else None)
            if not line:
                return

    def read_stderr() -> None:
        assert proc.stderr
        for chunk in iter(lambda: proc.stderr.read(4096), b""):  # type: ignore[union-attr]
            stderr_tail.extend(chunk)
            del stderr_tail[:-4096]

    threads = [threading.Thread(target=read_stdout, daemon=True),
               threading.Thread(target=read_stderr, daemon=True)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + limits.wall_seconds
    out_bytes, n_widgets, n_calls = 0, 0, 0
    status = "failed"
    reason: str | None = "the script ended without reporting"
    killed = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Killed("timeout", f"wall-clock limit of {limits.wall_seconds:g} s")
            if cancel is not None and cancel.is_set():
                raise _Killed("failed", STOPPED_REASON)
            try:
                line = lines.get(timeout=min(left, 0.1) if cancel is not None else left)
            except queue.Empty:
                continue
            if line is None:
                break  # process closed stdout: it ended (or died)
            if len(line) > _MAX_LINE:
                raise _Killed("failed", "output limit exceeded (message too long)")
            try:
                msg = json.loads(line)
            except ValueError:
                raise _Killed("failed", "the script broke the runtime protocol") from None
            op = msg.get("op") if isinstance(msg, dict) else None
            if op == "end":
                err = msg.get("error")
                if err is None:
                    status, reason = "done", None
                elif str(err).startswith("MemoryError"):
                    status, reason = "failed", f"memory limit exceeded ({err})"
                else:
                    status, reason = "failed", str(err)[:500]
                break
            if op == "call":
                n_calls += 1
                if n_calls > limits.device_calls:
                    raise _Killed("failed", f"more than {limits.device_calls} device calls")
                reply = _device_reply(call_device, msg.get("function"))
            elif op == "widget":
                widget, error = _check_widget(msg.get("widget"), limits, check_button)
                if widget is None:
                    reply = {"ok": False, "error": error}
                else:
                    out_bytes += len(json.dumps(widget))
                    if out_bytes > limits.output_bytes:
                        raise _Killed("failed",
                                      f"output limit of {limits.output_bytes} bytes exceeded")
                    emit(widget)
                    n_widgets += 1
                    reply = {"ok": True}
            else:
                raise _Killed("failed", "the script broke the runtime protocol")
            try:
                proc.stdin.write(json.dumps(reply, allow_nan=False).encode() + b"\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                break
    except _Killed as exc:
        status, reason, killed = exc.status, exc.reason, True
    finally:
        _kill_group(proc)
        for t in threads:
            t.join(timeout=2)
    if not killed and status == "failed" and reason == "the script ended without reporting":
        rc = proc.returncode
        if rc in (-signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGXCPU, 128 + signal.SIGKILL):
            status, reason = "timeout", f"CPU time limit of {limits.cpu_seconds} s"
        else:
            tail = stderr_tail.decode(errors="replace").strip().splitlines()
            reason = f"the script process exited with {rc}" + (f": {tail[-1][:300]}"
                                                               if tail else "")
    return RunOutcome(status, reason, n_widgets)


def _device_reply(call_device: Callable[[str], Any], function: Any) -> dict[str, Any]:
    if not isinstance(function, str):
        return {"ok": False, "error": "a device call needs a function string"}
    try:
        return {"ok": True, "value": sanitize(call_device(function))}
    except Exception as exc:  # refused or failed: the script sees a LabError
        return {"ok": False, "error": str(getattr(exc, "detail", exc))[:500]}


def _check_widget(widget: Any, limits: SandboxLimits,
                  check_button: Callable[[str], Any] | None
                  ) -> tuple[dict[str, Any] | None, str | None]:
    """A clean copy of a widget from the script, or (None, why it was refused)."""
    if not isinstance(widget, dict) or widget.get("type") not in WIDGET_TYPES:
        return None, "unknown widget"
    kind = widget["type"]
    if kind in ("text", "label"):
        return {"type": kind, "text": str(widget.get("text", ""))[:10_000]}, None
    if kind == "button":
        function = str(widget.get("function", ""))
        if check_button is not None:
            try:
                check_button(function)
            except Exception as exc:
                return None, "button: " + str(getattr(exc, "detail", exc))[:300]
        target = widget.get("target")
        return {"type": "button", "label": str(widget.get("label", ""))[:200],
                "function": function[:200], "display": str(widget.get("display", "number"))[:20],
                "target": None if target is None else str(target)[:100]}, None
    xs, ys = widget.get("x"), widget.get("y")
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        return None, "plot needs x and y lists of the same length"
    if len(xs) > limits.plot_points:
        return None, f"plot has more than {limits.plot_points} points"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in xs + ys):
        return None, "plot points must be numbers"
    title = widget.get("title")
    out = {"type": "plot", "x": sanitize(xs), "y": sanitize(ys),
           "title": None if title is None else str(title)[:200]}
    for axis in ("xlabel", "ylabel"):  # axis names with units, e.g. "t (µs)"
        if widget.get(axis) is not None:
            out[axis] = str(widget[axis])[:60]
    return out, None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the sandbox's whole process group and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log.error("sandbox process %s did not die", proc.pid)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
