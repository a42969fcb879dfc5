"""The built Lambda artifacts (infra/package.py): within budget, and they run.

Each function's code zip and layers are unpacked into an empty folder and imported by a fresh
interpreter that sees only that folder and a stand-in for the runtime's boto3; the handler then
gets the event AWS would send (API Gateway proxy, schedule, IoT rule, SQS) against a moto
server. Init time (the handler module's import) is printed next to the unpacked size and kept
in build/lambda/artifact-report.json for the README table; it is reported, not asserted.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import package
from tests.infra import artifacts

MB = 1_000_000
pytestmark = pytest.mark.slow
SPECS = {fn.name: fn for fn in package.FUNCTIONS}


@pytest.fixture(scope="module")
def built() -> tuple[package.Manifest, Path]:
    return artifacts.build_once()


@pytest.fixture(scope="module")
def aws() -> Any:
    with artifacts.moto_server() as info:
        yield info


def _report(name: str, size: int, init_s: float) -> None:
    path = package.OUT / "artifact-report.json"
    with artifacts._lock():
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = {"unpacked_mb": round(size / MB, 1), "init_ms": round(init_s * 1000)}
        path.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(f"\n{name:16} {size / MB:6.1f} MB unpacked   init {init_s * 1000:6.0f} ms")


# --- budgets --------------------------------------------------------------------------------

def test_every_function_fits_its_budget_and_all_stay_far_from_lambdas_limit(built):
    manifest, _ = built
    for fn in package.FUNCTIONS:
        assert manifest.sizes[fn.name] <= fn.budget_mb * MB, (fn.name, manifest.sizes[fn.name])
        assert manifest.sizes[fn.name] < 250 * MB / 2
    assert max(manifest.sizes[n] for n in ("auth-api", "events-api", "lab-api")) <= 30 * MB
    assert manifest.sizes["orders-api"] <= 60 * MB


def test_no_build_tool_or_foreign_heavy_stack_in_any_layer(built):
    manifest, _ = built
    for name, rel in manifest.layers.items():
        shipped = set(package._distributions(package.ROOT / rel / "python"))
        assert not shipped & package.NEVER, (name, shipped & package.NEVER)
        assert not shipped & package.RUNTIME_PROVIDED, (name, shipped & package.RUNTIME_PROVIDED)
    core = set(package._distributions(package.ROOT / manifest.layers["deps-core"] / "python"))
    assert {"stripe", "requests"}.isdisjoint(core)  # payments only in the orders layers
    tree = package.ROOT / manifest.layers["openevent"] / "python" / "openevent"
    assert not (tree / "local").exists() and not (tree / "sandboxes").exists()


def test_every_handler_of_every_group_is_deployed_as_some_function():
    """Chalice's event sources and pure functions each have a FunctionSpec (or the image)."""
    declared = {(f.group, f.handler) for f in package.FUNCTIONS} | {
        ("orders", package.RENDERER_HANDLER)}
    for group in package.GROUPS:
        sys.modules.pop("app", None)
        spec = importlib.util.spec_from_file_location(
            "app", package.ROOT / "functions" / group / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
        app = module.app
        handlers = {f"app.{s.handler_string.rpartition('.')[2]}" for s in app.event_sources}
        handlers |= {f"app.{f.handler_string.rpartition('.')[2]}"
                     for f in app.pure_lambda_functions}
        if app.routes:
            handlers.add("app.app")
        assert {(group, h) for h in handlers} <= declared, (group, handlers)
    sys.modules.pop("app", None)


# --- run them ------------------------------------------------------------------------------

def _run(built, aws, name: str, events: list[dict[str, Any]], *,
         extra: tuple[str, ...] = (), absent: tuple[str, ...] = (),
         env: dict[str, str] | None = None) -> dict[str, Any]:
    manifest, boto = built
    fn = SPECS[name]
    folder = artifacts.unpack(manifest, manifest.functions[fn.group], list(fn.layers),
                              package.OUT / "run" / name)
    out = artifacts.run(name, fn.handler, [folder / "task", folder / "opt" / "python", boto],
                        {**artifacts.lambda_env(aws["endpoint"], aws["arn"], name),
                         **(env or {})}, events,
                        artifacts.importable(extra), list(absent))
    assert out["missing"] == {}, out["missing"]
    assert all(out["absent"].values()), out["absent"]  # those imports must fail
    assert out["strays"] == [], out["strays"]  # nothing loaded from outside the artifact
    _report(name, manifest.sizes[name], out["init_s"])
    return out


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


FOREIGN = ("stripe", "requests", "weasyprint", "pikepdf", "awscrt", "moto", "chalice.cli")


def test_auth_api_artifact_logs_in_against_moto(built, aws):
    login = artifacts.api_event("POST", "/v1/auth/login", "/v1/auth/login",
                                body={"email": "artifact@example.com",
                                      "password": "correct-horse-1"})
    me = artifacts.api_event("GET", "/v1/users/{user_id}", f"/v1/users/{aws['user_id']}",
                             token=aws["token"], params={"user_id": str(aws["user_id"])})
    out = _run(built, aws, "auth-api", [login, me], absent=FOREIGN)
    first, second = out["results"]
    assert first["statusCode"] == 200, first
    assert _body(first)["access_token"].count(".") == 2  # a JWT signed with the secret
    assert second["statusCode"] == 200, second
    assert _body(second)["data"]["attributes"]["email"] == "artifact@example.com"
    # Powertools structured logs carry the request's correlation id
    logged = [json.loads(line) for line in out["logs"] if line.startswith("{")]
    assert any(rec.get("correlation_id") == "req-1" for rec in logged), out["logs"][-5:]


def test_events_api_artifact_lists_events_and_has_no_payment_stack(built, aws):
    listing = artifacts.api_event("GET", "/v1/events", "/v1/events")
    mine = artifacts.api_event("GET", "/v1/users/{user_id}/events",
                               f"/v1/users/{aws['user_id']}/events", token=aws["token"],
                               params={"user_id": str(aws["user_id"])})
    bad = artifacts.api_event("GET", "/v1/events/{ref}", "/v1/events/nope",
                              params={"ref": "nope"})
    out = _run(built, aws, "events-api", [listing, mine, bad], absent=FOREIGN)
    assert [r["statusCode"] for r in out["results"]] == [200, 200, 404], out["results"]
    assert _body(out["results"][0])["data"] == []


def test_orders_api_artifact_answers_with_payments_importable(built, aws):
    orders = artifacts.api_event("GET", "/v1/users/{user_id}/orders",
                                 f"/v1/users/{aws['user_id']}/orders", token=aws["token"],
                                 params={"user_id": str(aws["user_id"])})
    anonymous = artifacts.api_event("GET", "/v1/users/{user_id}/orders",
                                    f"/v1/users/{aws['user_id']}/orders",
                                    params={"user_id": str(aws["user_id"])})
    out = _run(built, aws, "orders-api", [orders, anonymous], extra=artifacts.ORDERS_EXTRA,
               absent=("weasyprint", "pikepdf", "awscrt", "moto", "jinja2"))
    assert [r["statusCode"] for r in out["results"]] == [200, 401], out["results"]


def test_orders_expiry_artifact_runs_its_schedule(built, aws):
    event = {"version": "0", "id": "e-1", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": "000000000000", "time": "2026-12-01T16:00:00Z",
             "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:0:rule/x"],
             "detail": {}}
    out = _run(built, aws, "orders-expire", [event], extra=artifacts.ORDERS_EXTRA)
    assert isinstance(out["results"][0], dict), out["results"]


def test_lab_api_artifact_lists_devices_without_awscrt(built, aws):
    devices = artifacts.api_event("GET", "/v1/lab/devices", "/v1/lab/devices",
                                  token=aws["token"])
    out = _run(built, aws, "lab-api", [devices], absent=FOREIGN)
    assert out["results"][0]["statusCode"] == 200, out["results"]


def test_lab_iot_results_artifact_stores_a_status_from_the_rule(built, aws):
    import base64

    status = {"v": 1, "kind": "status", "device": "lab-1", "online": True,
              "at": 1764600000.0}
    event = {"payload": base64.b64encode(json.dumps(status).encode()).decode(),
             "topic": "lab/v1/lab-1/status"}  # the rule's SQL (protocol.RULE_SQL) wraps it
    spliced = {**status, "topic": "lab/v1/lab-1/status"}  # the old, unsafe rule shape
    out = _run(built, aws, "lab-iot-results", [event, spliced], absent=FOREIGN)
    assert out["results"] == ["online", "dropped"]


def _ws_event(route: str, connection: str, body: Any = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    """What API Gateway sends a WebSocket route's Lambda proxy integration."""
    return {"requestContext": {"routeKey": route, "connectionId": connection,
                               "eventType": {"$connect": "CONNECT", "$disconnect":
                                             "DISCONNECT"}.get(route, "MESSAGE"),
                               "domainName": "ws.example", "stage": "live"},
            "headers": headers or {}, "isBase64Encoded": False,
            **({"body": json.dumps(body)} if body is not None else {})}


def test_lab_stream_artifacts_connect_open_and_fan_out_a_frame(built, aws):
    """$connect checks the JWT (subprotocol), $default opens a stream (stored, an `open`
    command published through iot-data), the IoT rule's frame reaches the viewer, and
    $disconnect of the last viewer ends the stream."""
    import base64

    import boto3

    env = {"OPENEVENT_LAB_STREAM_ENDPOINT": aws["endpoint"]}
    status = {"v": 1, "kind": "status", "device": "lab-1", "online": True, "at": 1.0}
    _run(built, aws, "lab-iot-results", [{
        "payload": base64.b64encode(json.dumps(status).encode()).decode(),
        "topic": "lab/v1/lab-1/status"}], absent=FOREIGN)
    offer = {"Sec-WebSocket-Protocol": f"openevent-lab.v1, jwt.{aws['token']}"}
    scope = {"channels": ["CH1"], "samples": 500, "timegap": 2, "fps": 10}
    out = _run(built, aws, "lab-stream-socket", [
        _ws_event("$connect", "c-anon"),
        _ws_event("$connect", "c-forged", headers={
            "Sec-WebSocket-Protocol": "openevent-lab.v1, jwt.e30.e30.AAAA"}),
        _ws_event("$connect", "c-1", headers=offer),
        _ws_event("$default", "c-1", {"action": "open", "device": "lab-1",
                                      "instrument": "scope", "settings": {"samples": 5}}),
        _ws_event("$default", "c-1", {"action": "open", "device": "lab-1",
                                      "instrument": "scope", "settings": scope}),
        _ws_event("$default", "c-unknown", {"action": "ping"}),
    ], absent=FOREIGN, env=env)
    anon, forged, ok, bad, opened, unknown = out["results"]
    assert anon["statusCode"] == 401 and forged["statusCode"] == 401
    assert ok == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "openevent-lab.v1"}}
    assert bad == opened == {"statusCode": 200} and unknown["statusCode"] == 410
    table = boto3.resource("dynamodb", endpoint_url=aws["endpoint"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing"
                           ).Table("openevent-lab-streams")
    stream = table.get_item(Key={"pk": "device#lab-1", "sk": "stream"})["Item"]
    assert json.loads(stream["settings"])["samples"] == 500
    assert table.get_item(Key={"pk": "device#lab-1", "sk": "conn#c-1"}).get("Item")
    frame = {"v": 1, "kind": "frame", "stream": stream["stream_id"], "device": "lab-1",
             "seq": 0, "instrument": "scope", "captured_at": 1.0, "settings": scope,
             "data": {"t": [0.0, 2.0], "CH1": [0.1, 0.2]}}
    other = dict(frame, stream="someone-elses")

    def rule(msg: dict[str, Any], topic: str = "lab/v1/lab-1/frames") -> dict[str, Any]:
        return {"payload": base64.b64encode(json.dumps(msg).encode()).decode(), "topic": topic}

    out = _run(built, aws, "lab-stream-frames", [
        rule(frame), rule(other), rule(frame, "lab/v1/lab-2/frames"),
        {**frame, "topic": "lab/v1/lab-1/frames"}], absent=FOREIGN, env=env)
    assert out["results"] == ["sent to 1", "no viewers", "dropped", "dropped"]
    out = _run(built, aws, "lab-stream-socket", [_ws_event("$disconnect", "c-1")],
               absent=FOREIGN, env=env)
    assert out["results"] == [{"statusCode": 200}]
    assert "Item" not in table.get_item(Key={"pk": "device#lab-1", "sk": "stream"})


PDF_PROBE = """
import io, weasyprint, pikepdf
pdf = weasyprint.HTML(string="<h1>Ticket</h1><p>Seat 1</p>").write_pdf()
probe["head"] = pdf[:4].decode()
probe["pages"] = len(pikepdf.open(io.BytesIO(pdf)).pages)
"""


def test_renderer_image_contents_render_a_pdf_with_this_hosts_pango(built, aws):
    """The image's /var/task (orders app, chalice runtime, core) with the renderer's Python
    deps resolved for this host; Pango is the host's (the image installs its own)."""
    manifest, boto = built
    ctx = package.ROOT / manifest.renderer_context
    sqs = {"Records": [{"messageId": "m-1", "receiptHandle": "r", "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:0:openevent-document-events",
                        "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {},
                        "md5OfBody": "", "body": json.dumps({"Event": "s3:TestEvent"})}]}
    out = artifacts.run("renderer", package.RENDERER_HANDLER,
                        [ctx / "task", package.ROOT / manifest.host_pdf / "python", boto],
                        artifacts.lambda_env(aws["endpoint"], aws["arn"], "renderer"),
                        [sqs], artifacts.importable(artifacts.RENDERER_EXTRA),
                        ["stripe", "awscrt", "moto"], probe=PDF_PROBE)
    assert out["missing"] == {} and all(out["absent"].values()), out
    assert out["results"] == [["nothing to do"]]
    assert out["probe"]["head"] == "%PDF" and out["probe"]["pages"] == 1, out["probe"]
    size = package.unpacked_bytes(ctx / "task") + package.unpacked_bytes(
        package.ROOT / manifest.host_pdf)
    _report("renderer (image)", size, out["init_s"])
