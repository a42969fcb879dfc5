"""The sandbox's limits hold from the script's side (issue 9, item 17).

- `/tmp` inside the sandbox is a tmpfs: memory the address-space limit does not count. Each
  file is capped by RLIMIT_FSIZE, so a script wrote many capped files — 1.5 GB under a
  256 MB memory limit. The tmpfs itself is size-limited now.
- Without bubblewrap the agent ran scripts under `unshare -n`, which hides the network but
  not the file system: the script saw every file the agent's user can read (its private
  key). Now scripts are refused, with a clear reason, and nothing is started.
"""

from __future__ import annotations

import pytest

from edge_agent import sandbox
from edge_agent.agent import Agent
from edge_agent.devices import SimulatedDevice
from edge_agent.sandbox import SandboxLimits, run_script

MB = 1024 * 1024

# 24 files of 1 MB each (each under RLIMIT_FSIZE), then report how much was written.
FILL_TMP = """
written = 0
try:
    for i in range({files}):
        with open(f'/tmp/fill-{{i}}', 'wb') as f:
            f.write(b'x' * {chunk})
        written += {chunk}
finally:
    print('written', written)
"""


def _run(code, limits):
    agent = Agent("lab-1", SimulatedDevice(), publish=lambda *a, **k: None)
    widgets = []
    outcome = run_script(code, call_device=agent.execute, emit=widgets.append, limits=limits)
    return outcome, widgets


needs_bwrap = pytest.mark.skipif(not sandbox.bwrap_available(),
                                 reason="bubblewrap cannot create namespaces here")


@needs_bwrap
def test_script_cannot_fill_tmp_beyond_its_size():
    limits = SandboxLimits(tmp_bytes=8 * MB, file_size_bytes=MB, wall_seconds=20)
    outcome, widgets = _run(FILL_TMP.format(files=24, chunk=MB), limits)
    assert outcome.status == "failed"
    assert outcome.reason.startswith("OSError: [Errno 28] No space left on device")
    written = int(widgets[-1]["text"].split()[-1])
    assert written <= 8 * MB


@needs_bwrap
def test_script_may_use_tmp_within_its_size():
    limits = SandboxLimits(tmp_bytes=8 * MB, file_size_bytes=MB, wall_seconds=20)
    outcome, widgets = _run(FILL_TMP.format(files=4, chunk=MB), limits)
    assert outcome.status == "done", outcome.reason
    assert widgets == [{"type": "text", "text": f"written {4 * MB}"}]


@needs_bwrap
@pytest.mark.parametrize("place", ["/dev/shm", "/dev/mqueue", "/dev", "/sandbox", "/", "/usr"])
def test_no_other_writable_place_in_the_sandbox(place):
    outcome, _ = _run(f"open('{place}/x', 'wb').write(b'x')", SandboxLimits(wall_seconds=10))
    assert outcome.status == "failed"
    assert outcome.reason.split(":")[0] in ("FileNotFoundError", "PermissionError", "OSError")


def test_without_bubblewrap_scripts_are_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bwrap_available", lambda: False)
    started = []
    monkeypatch.setattr(sandbox, "_supervise", lambda *a, **k: started.append(a))
    key = tmp_path / "private.key"
    key.write_text("-----BEGIN PRIVATE KEY-----secret")
    outcome, widgets = _run(f"print(open({str(key)!r}).read())", SandboxLimits())
    assert (outcome.status, widgets, started) == ("failed", [], [])
    assert outcome.reason == sandbox.NO_SANDBOX_REASON
    assert "bubblewrap" in outcome.reason


def test_agent_reports_the_refusal_as_the_runs_final_status(monkeypatch):
    from openevent.lab import protocol

    monkeypatch.setattr(sandbox, "bwrap_available", lambda: False)
    sent = []
    agent = Agent("lab-1", SimulatedDevice(),
                  publish=lambda topic, payload, **k: sent.append(protocol.decode(payload)))
    command = protocol.parse_command(protocol.encode(
        protocol.make_run_command("run-1", "print(1)", 30)))
    agent._run_script(command, b"corr")
    final = sent[-1]
    assert (final["status"], final["final"], final["reason"]) == (
        "failed", True, sandbox.NO_SANDBOX_REASON)


@needs_bwrap
@pytest.mark.parametrize("euid", [0, 1000])
def test_tmpfs_is_sized_for_root_and_unprivileged_agents(monkeypatch, tmp_path, euid):
    """The command line itself, for both agent users (as root bwrap mounts the tmpfs; as a
    plain user it does so inside a user namespace: the sandbox user owns that tmpfs)."""
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: euid)
    cmd = sandbox.build_command(tmp_path, SandboxLimits(tmp_bytes=5 * MB))
    at = cmd.index("--tmpfs")
    assert cmd[at + 1] == "/tmp"
    assert cmd[at - 2:at] == ["--size", str(5 * MB)]
    assert not any(part.endswith("/unshare") for part in cmd)
