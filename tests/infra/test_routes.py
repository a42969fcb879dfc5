"""The edge router (infra/routes.py) sends every route of every group to that group's API."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys

import pytest
from openevent.routing import GROUPS, group_for

from infra.package import ROOT
from infra.routes import API_PATTERNS, router_js

# Path parameters filled with ids and with words that are also route segments, so a router
# that matched across segments (as CloudFront path patterns do) would show up.
FILLERS = ("1", "abc", "events", "orders", "attendees", "users", "tickets")
HARNESS = """
const cf = { updateRequestOrigin(o) { globalThis.picked = o.domainName; } };
__CODE__
const paths = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = paths.map((uri) => {
  globalThis.picked = 'events.example';
  handler({ request: { uri: uri, headers: {} } });
  return globalThis.picked;
});
console.log(JSON.stringify(out));
"""


def _routes() -> list[tuple[str, str]]:
    out = []
    for group in GROUPS:
        sys.modules.pop("app", None)
        spec = importlib.util.spec_from_file_location("app", ROOT / "functions" / group / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
        out += [(path, group) for path in module.app.routes]
    sys.modules.pop("app", None)
    return out


def _concrete(path: str) -> list[str]:
    params = re.findall(r"\{[^}]+\}", path)
    out = []
    for values in itertools.product(FILLERS, repeat=len(params)):
        concrete = path
        for param, value in zip(params, values, strict=True):
            concrete = concrete.replace(param, value, 1)
        out.append(concrete)
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront Function")
def test_edge_router_sends_every_route_to_the_group_that_serves_it():
    code = router_js({g: f"{g}.example" for g in GROUPS})
    assert code.startswith("import cf from 'cloudfront';")
    cases = [(c, group) for path, group in _routes() for c in _concrete(path)
             if group_for(c) == group]  # fillers the route table itself sends elsewhere: skip
    assert len(cases) > 1000 and {g for _, g in cases} == set(GROUPS)
    script = HARNESS.replace("__CODE__", code.split("\n", 1)[1])
    proc = subprocess.run(["node", "-e", script], input=json.dumps([c for c, _ in cases]),
                          capture_output=True, text=True, check=True, timeout=60)
    picked = json.loads(proc.stdout)
    wrong = [(c, g, p) for (c, g), p in zip(cases, picked, strict=True) if p != f"{g}.example"]
    assert wrong == []
    # and every path the table routes is one the API behaviours receive
    assert all(c.startswith(tuple(p.rstrip("*") for p in API_PATTERNS)) for c, _ in cases)


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront Function")
def test_edge_router_leaves_unknown_paths_on_the_default_origin():
    code = router_js({g: f"{g}.example" for g in GROUPS})
    script = HARNESS.replace("__CODE__", code.split("\n", 1)[1])
    paths = ["/v1/lab/devices", "/v1/nothing/here", "/auth/session", "/v1/orders/7"]
    proc = subprocess.run(["node", "-e", script], input=json.dumps(paths),
                          capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(proc.stdout) == ["lab.example", "events.example", "auth.example",
                                       "orders.example"]
