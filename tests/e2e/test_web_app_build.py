"""`make run` is the one command: the API and the lab console answer while the web app's first
build runs, `/` says how far the build is, then serves the app; a later start serves the cached
build at once and builds nothing.

The build step is a stand-in script here (a real build takes ~10 minutes; `make test` runs
the real one before the browser tests, which use its result). It speaks the real script's
protocol: the cache's `progress` line while it works, `dist/` with `.built-from` at the end.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from openevent.lab.localbroker import free_port

from tests.e2e.conftest import start_system, stop_system

pytestmark = pytest.mark.slow

STAND_IN = """#!/usr/bin/env bash
set -euo pipefail
out="$1"
mkdir -p "$out"
echo started >> "$out/invocations"
echo "install 2/4 installing npm packages (npm ci, ~3 min)" > "$out/progress"
while [ ! -f "$out/go" ]; do sleep 0.1; done
mkdir -p "$out/dist"
echo '<html><body>the web app</body></html>' > "$out/dist/index.html"
echo "$(cut -d' ' -f1 "$(dirname "$0")/SHA256SUMS")" > "$out/dist/.built-from"
echo "done 4/4 built" > "$out/progress"
"""


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "build.sh").write_text(STAND_IN)
    (src / "SHA256SUMS").write_text("ab12cd34  open-event-frontend-stand-in.tar.gz\n")
    return src


def test_first_start_builds_the_web_app_in_the_background(tmp_path: Path):
    src, cache = _source(tmp_path), tmp_path / "cache"
    env = {"OPENEVENT_WEB_APP": "1", "OPENEVENT_FRONTEND_SRC": str(src),
           "OPENEVENT_FRONTEND_CACHE": str(cache), "OPENEVENT_LAB": "0",
           "OPENEVENT_PAYMENT_SANDBOX": "0"}
    system = start_system(tmp_path / "data", free_port(), extra_env=env)
    try:
        banner = system.log.read_text()
        assert f"{system.https_base}/  being built" in banner  # the origin a person opens
        assert f"{system.base}/lab/" in banner and f"{system.base}/v1" in banner
        assert system.get("/v1/modules").status_code == 200  # the API answers meanwhile
        assert system.get("/lab/").status_code == 200
        for path in ("/", "/events/abc", "/login"):
            page = system.get(path)
            assert page.status_code == 503, path
            assert page.headers["Retry-After"] == "5"
            assert "The web app is being built" in page.text
            assert 'http-equiv="refresh"' in page.text
            assert "Step 2/4: <span id=\"step\">installing npm packages" in page.text
        assert system.get("/assets/vendor.js").status_code == 404
        (cache / "go").touch()
        deadline = time.monotonic() + 30
        while (page := system.get("/")).status_code != 200:
            assert time.monotonic() < deadline, page.text
            time.sleep(0.2)
        assert "the web app" in page.text
        assert "the web app" in system.get("/events/abc").text  # the app's own routes
    finally:
        stop_system(system)
    # the next start serves the cached build at once, building nothing
    again = start_system(tmp_path / "data", free_port(), extra_env=env)
    try:
        assert "being built" not in again.log.read_text()
        assert f"(from {cache / 'dist'})" in again.log.read_text()
        assert requests.get(again.base + "/", timeout=10).status_code == 200
    finally:
        stop_system(again)
    assert (cache / "invocations").read_text().splitlines() == ["started"]


def test_the_web_app_can_be_turned_off(tmp_path: Path):
    src, cache = _source(tmp_path), tmp_path / "cache"
    system = start_system(tmp_path / "data", free_port(), extra_env={
        "OPENEVENT_WEB_APP": "0", "OPENEVENT_FRONTEND_SRC": str(src),
        "OPENEVENT_FRONTEND_CACHE": str(cache), "OPENEVENT_LAB": "0",
        "OPENEVENT_PAYMENT_SANDBOX": "0"})
    try:
        assert "off (OPENEVENT_WEB_APP=0)" in system.log.read_text()
        assert system.get("/").status_code == 404
        assert system.get("/v1/modules").status_code == 200
    finally:
        stop_system(system)
    assert not (cache / "invocations").exists()
