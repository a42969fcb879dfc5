"""schemathesis against the running local system (`python -m openevent.local`), from the
served OpenAPI document, as an admin and as a plain user. Bounded: few examples per
operation, and the run as a whole under a time limit.

Every check runs except one:
- positive_data_acceptance: the document types each input, but business rules still refuse
  some schema-valid ones by design (an event ending before it starts, an unknown sort
  attribute, a token that is not one we issued) with a 4xx naming the field.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from openevent.lab.localbroker import free_port

from tests.e2e.conftest import start_system, stop_system

pytestmark = pytest.mark.slow
LEAN = {"OPENEVENT_LAB": "0", "OPENEVENT_PAYMENT_SANDBOX": "0", "OPENEVENT_POOL_SIZE": "2"}
EXCLUDED = "positive_data_acceptance"
EXAMPLES = os.environ.get("OPENEVENT_FUZZ_EXAMPLES", "3")


def _token(base: str, email: str, password: str) -> str:
    resp = requests.post(f"{base}/auth/session", json={"email": email, "password": password},
                         timeout=60)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def _schemathesis(base: str, token: str, phases: str, report: Path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    done = subprocess.run(
        [str(cli), "run", f"{base}/v1/openapi.json", "--url", base,
         "-H", f"Authorization: JWT {token}", "--checks", "all", "--exclude-checks", EXCLUDED,
         "--phases", phases, "-n", EXAMPLES, "--workers", "1", "--no-shrink",
         "--request-timeout", "60", "--seed", "20261201", "--generation-deterministic",
         "--report", "junit", "--report-junit-path", str(report)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"},
        cwd=report.parent)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_fuzz_as_admin_and_as_user(tmp_path):
    system = start_system(tmp_path / "data", free_port(), **LEAN)
    try:
        admin = _token(system.base, "admin@openevent.local", "open-event-admin")
        created = requests.post(system.url("/v1/users"), timeout=60, headers={
            "Content-Type": "application/vnd.api+json"}, json={"data": {"type": "user",
                "attributes": {"email": "fuzz-user@example.com", "password": "fuzz-password"}}})
        assert created.status_code == 201, created.text
        user = _token(system.base, "fuzz-user@example.com", "fuzz-password")
        _schemathesis(system.base, admin, "fuzzing,stateful", tmp_path / "admin.xml")
        _schemathesis(system.base, user, "fuzzing", tmp_path / "user.xml")
    finally:
        log = stop_system(system)
    assert "Traceback" not in log, log[-3000:]
