"""Every refused start is one line on stderr and exit status 2, never a traceback
(issue #27, 7): a read-only data directory (a read-only mount, which binds root too) and a
data directory path that is a file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from openevent.lab.localbroker import free_port

from tests.reliability.test_faults import _start_fails

pytestmark = pytest.mark.slow


def _assert_one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, (code, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_a_read_only_data_dir_is_refused_in_one_line(tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        code, err = _start_fails(mount, free_port())
        _assert_one_line(code, err, str(mount), "Read-only file system", "OPENEVENT_DATA_DIR")
        code, err = _start_fails(mount / "inside", free_port())
        _assert_one_line(code, err, str(mount / "inside"), "Read-only file system")
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_data_dir_that_is_a_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "data"
    path.write_text("not a directory")
    code, err = _start_fails(path, free_port())
    _assert_one_line(code, err, str(path))
    assert Path(path).read_text() == "not a directory"


def test_other_refused_starts_exit_with_status_2(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "jwt-secret").write_text("short")
    code, err = _start_fails(data_dir, free_port())
    _assert_one_line(code, err, "jwt-secret")
