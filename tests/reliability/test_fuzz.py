"""schemathesis against the running local system (`python -m openevent.local`), from the
served OpenAPI document, as an admin and as a plain user, over real data: an event with
tickets, an order, and an item of every creatable collection (`fuzz_seed`), every path
parameter pinned to seeded ids, and the document's links driving the stateful phase
(create → read → update → delete). Bounded: few examples per operation.

It reports how many of the document's operations answered a 2xx at least once (from the
runtime's request log) and requires more than half: a fuzz run that only meets 404s for
lack of data proves little.

Every check runs except one:
- positive_data_acceptance: the document types each input, but business rules still refuse
  some schema-valid ones by design (an event ending before it starts, an unknown sort
  attribute, a token that is not one we issued) with a 4xx naming the field.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from openevent.lab.localbroker import free_port

from tests.e2e.conftest import LocalSystem, start_system, stop_system
from tests.reliability import fuzz_seed

pytestmark = pytest.mark.slow
LEAN = {"OPENEVENT_LAB": "0", "OPENEVENT_PAYMENT_SANDBOX": "0", "OPENEVENT_POOL_SIZE": "2",
        "OPENEVENT_MODULES": "ticket,payment,donation",
        "OPENEVENT_LOG_MAX_BYTES": str(1 << 30)}  # the count reads one unrotated log
EXCLUDED = "positive_data_acceptance"
EXAMPLES = os.environ.get("OPENEVENT_FUZZ_EXAMPLES", "3")


def _token(base: str, email: str, password: str) -> str:
    resp = requests.post(f"{base}/auth/session", json={"email": email, "password": password},
                         timeout=60)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def _signup(system: LocalSystem, email: str) -> str:
    created = requests.post(system.url("/v1/users"), timeout=60, headers=fuzz_seed.JSONAPI,
                            json={"data": {"type": "user", "attributes": {
                                "email": email, "password": "fuzz-password"}}})
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


def _schemathesis(base: str, token: str, phases: str, report: Path, config: Path,
                  mode: str) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    done = subprocess.run(
        [str(cli), "--config-file", str(config), "run", f"{base}/v1/openapi.json",
         "--url", base,
         "-H", f"Authorization: JWT {token}", "--checks", "all", "--exclude-checks", EXCLUDED,
         "--phases", phases, "--mode", mode, "-n", EXAMPLES, "--workers", "1", "--no-shrink",
         "--request-timeout", "60", "--seed", "20261201", "--generation-deterministic",
         "--report", "junit", "--report-junit-path", str(report)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"},
        cwd=report.parent)
    assert done.returncode == 0, _failures(report) or done.stdout[-6000:] + done.stderr[-2000:]


def _failures(report: Path) -> str:
    """The failures of a junit report, each with its reproduction (schemathesis's console
    output ends with hints that push them out of view)."""
    import xml.etree.ElementTree as ET

    if not report.exists() or not report.stat().st_size:
        return ""
    found = []
    for case in ET.parse(report).iter("testcase"):
        for failure in case:
            if failure.tag in ("failure", "error"):
                found.append(f"== {case.get('name')}\n{(failure.text or '')[:1500]}")
    return "\n".join(found)


def _reached(log: Path, offset: int, spec: dict) -> set[tuple[str, str]]:
    """(method, path) of the document's operations that answered a 2xx after `offset`."""
    operations = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item}
    reached = set()
    with log.open("rb") as fh:
        fh.seek(offset)
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("message") == "request" and 200 <= int(line.get("status", 0)) < 300:
                reached.add((str(line.get("method")), str(line.get("route"))))
    return reached & operations


def test_fuzz_as_admin_and_as_user_over_seeded_data(tmp_path):
    system = start_system(tmp_path / "data", free_port(), **LEAN)
    log = tmp_path / "data" / "logs" / "openevent.log"
    try:
        spec = requests.get(system.url("/v1/openapi.json"), timeout=60).json()
        admin = _token(system.base, "admin@openevent.local", "open-event-admin")
        user_id = _signup(system, "fuzz-user@example.com")
        spare_id = _signup(system, "fuzz-spare@example.com")
        user = _token(system.base, "fuzz-user@example.com", "fuzz-password")
        seeded = fuzz_seed.seed(system.base, admin, spec)
        config = tmp_path / "schemathesis.toml"
        config.write_text(fuzz_seed.config(spec, seeded.ids, user_id, spare_id))
        offset = log.stat().st_size
        # the admin walks the API with valid data (what reaches 2xx: reads, updates, the
        # stateful create → read → update → delete); the user sends valid and invalid data
        _schemathesis(system.base, admin, "fuzzing,stateful", tmp_path / "admin.xml", config,
                      "positive")
        _schemathesis(system.base, user, "fuzzing", tmp_path / "user.xml", config, "all")
        reached = _reached(log, offset, spec)
    finally:
        out = stop_system(system)
    total = sum(len(item) for item in spec["paths"].values())
    print(f"\nfuzz: {len(reached)} of {total} operations answered a 2xx "
          f"(seeded {sorted(seeded.ids)}; not seeded: {seeded.failed})")
    assert "Traceback" not in out, out[-3000:]
    assert len(reached) > total / 2, sorted(
        (m, p) for p, item in spec["paths"].items() for m in map(str.upper, item)
        if (m, p) not in reached)
