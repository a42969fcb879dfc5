"""Lab group: function calls relayed to a PSLab device, scripts, example scripts and runs.

Every endpoint requires login. Function strings are parsed by `openevent.lab.grammar`
(never evaluated) before anything is stored or sent. Device results come back through the
IoT topic rule (`iot_results`, below) in AWS and through the same handler locally.
"""

from __future__ import annotations

import math
from typing import Any

from openevent import web
from openevent.errors import (
    BadRequest,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from openevent.jsonapi.document import meta_document
from openevent.jsonapi.query import ListSource, collection_document
from openevent.jsonapi.request import parse_document
from openevent.lab import relay, store
from openevent.lab.examples import get_example, list_examples
from openevent.lab.functions import describe
from openevent.lab.grammar import FunctionStringError
from openevent.lab.resources import LAB_SCRIPT, lab_script_resource
from openevent.rules.permissions import require_login

app = web.create_app("openevent-lab")
route = web.route

DEFAULT_WAIT = 10.0
MAX_WAIT = 25.0  # API Gateway ends a request at 29 s


def _user_id() -> str:
    return str(require_login(web.current_user(app)).id)


@route(app, "/v1/lab/functions")
def functions() -> Any:
    """The allow-listed device functions with their parameters and docs."""
    _user_id()
    return web.plain(describe())


@route(app, "/v1/lab/devices")
def devices() -> Any:
    """Lab hosts with their online state."""
    _user_id()
    return web.plain([device.to_json() for device in store.list_devices()])


def _wait_seconds(body: dict[str, Any]) -> float:
    raw = body.get("wait", web.query(app).get("wait", DEFAULT_WAIT))
    try:
        wait = float(raw)
    except (TypeError, ValueError):
        raise Unprocessable("'wait' must be a number of seconds", "/wait") from None
    if isinstance(raw, bool) or not math.isfinite(wait) or wait < 0 or wait > MAX_WAIT:
        raise Unprocessable(f"'wait' must be between 0 and {MAX_WAIT:g}", "/wait")
    return wait


def _call_response(record: Any) -> Any:
    body = record.to_json()
    return web.plain(body, 202 if body["status"] == "pending" else 200)


@route(app, "/v1/lab/calls", methods=["POST"])
def create_call() -> Any:
    """Parse a function string, relay it to a device and wait for the result."""
    user_id = _user_id()
    body = web.json_body(app)
    function = body.get("function")
    if not isinstance(function, str) or not function.strip():
        raise Unprocessable("'function' is required", "/function")
    device = body.get("device")
    if device is not None and (not isinstance(device, str) or len(device) > 64):
        raise Unprocessable("'device' must be a device id", "/device")
    wait = _wait_seconds(body)
    try:
        record = relay.submit_call(user_id, function, relay.DeferredPublisher(),
                                   device_id=device)
    except FunctionStringError as exc:
        raise Unprocessable(exc.detail, "/function") from None
    except relay.NoDeviceOnline:
        raise ServiceUnavailable("No lab device is online", "/device") from None
    except relay.RelayUnavailable:
        raise ServiceUnavailable("The lab relay is unavailable; try again", "/device") from None
    if wait > 0:
        record = store.wait_for_call(record.id, wait) or record
    return _call_response(record)


@route(app, "/v1/lab/calls/{call_id}")
def get_call(call_id: str) -> Any:
    """A call's status and result (the caller's own calls only)."""
    user_id = _user_id()
    record = store.get_call(call_id) if len(call_id) <= 64 else None
    if record is None or record.user_id != user_id:
        raise NotFound("Call not found")
    return _call_response(record)


# --- scripts ---------------------------------------------------------------------------

@route(app, "/v1/lab/scripts")
def list_scripts() -> Any:
    """The caller's own scripts."""
    user_id = _user_id()
    # One read of the caller's scripts (bounded by the caller), paged and counted from it:
    # the old source ignored the page size and read the scripts twice.
    return web.jsonapi(collection_document(ListSource(store.list_scripts(user_id)),
                                           lab_script_resource, LAB_SCRIPT, "/v1/lab/scripts",
                                           web.query(app)))


@route(app, "/v1/lab/scripts", methods=["POST"])
def create_script() -> Any:
    user_id = _user_id()
    payload = parse_document(web.raw_body(app), web.content_type(app), LAB_SCRIPT, create=True)
    script = store.create_script(user_id, payload.attributes["title"],
                                 payload.attributes["code"])
    return web.created(web.resource_document(app, lab_script_resource(script)),
                       f"/v1/lab/scripts/{script.id}")


def _own_script(script_id: str) -> Any:
    user_id = _user_id()
    script = store.get_script(user_id, script_id) if len(script_id) <= 64 else None
    if script is None:
        raise NotFound("Script not found")
    return user_id, script


@route(app, "/v1/lab/scripts/{script_id}")
def get_script(script_id: str) -> Any:
    _, script = _own_script(script_id)
    return web.jsonapi(web.resource_document(app, lab_script_resource(script)))


@route(app, "/v1/lab/scripts/{script_id}", methods=["PATCH"])
def update_script(script_id: str) -> Any:
    user_id, script = _own_script(script_id)
    payload = parse_document(web.raw_body(app), web.content_type(app), LAB_SCRIPT,
                             url_ids=(script.id,))
    updated = store.update_script(user_id, script.id, title=payload.attributes.get("title"),
                                  code=payload.attributes.get("code"))
    if updated is None:
        raise NotFound("Script not found")
    return web.jsonapi(web.resource_document(app, lab_script_resource(updated)))


@route(app, "/v1/lab/scripts/{script_id}", methods=["DELETE"])
def delete_script(script_id: str) -> Any:
    user_id, script = _own_script(script_id)
    store.delete_script(user_id, script.id)
    return web.jsonapi(meta_document("Object successfully deleted"))


# --- examples and runs -----------------------------------------------------------------

@route(app, "/v1/lab/examples")
def examples() -> Any:
    _user_id()
    return web.plain(list_examples())


def _example(name: str) -> dict[str, str]:
    example = get_example(name)
    if example is None:
        raise NotFound("Example not found")
    return example


@route(app, "/v1/lab/examples/{name}")
def example(name: str) -> Any:
    _user_id()
    return web.plain(_example(name))


def _start_run(user_id: str, code: str, source: str) -> Any:
    raw = web.raw_body(app)
    if raw.strip():
        web.json_body(app)  # an empty JSON object is the contract; anything else must parse
    try:
        run = relay.submit_run(user_id, code, source, relay.DeferredPublisher())
    except relay.NoDeviceOnline:
        raise ServiceUnavailable("No lab device is online", "/device") from None
    except relay.RelayUnavailable:
        raise ServiceUnavailable("The lab relay is unavailable; try again", "/device") from None
    except relay.protocol.ProtocolError as exc:
        raise Unprocessable(str(exc), "/data/attributes/code") from None
    return web.plain({"id": run.id, "status": run.status}, 202,
                     {"Location": f"/v1/lab/runs/{run.id}"})


@route(app, "/v1/lab/scripts/{script_id}/runs", methods=["POST"])
def run_script(script_id: str) -> Any:
    user_id, script = _own_script(script_id)
    return _start_run(user_id, script.code, f"script:{script.id}")


@route(app, "/v1/lab/examples/{name}/runs", methods=["POST"])
def run_example(name: str) -> Any:
    user_id = _user_id()
    return _start_run(user_id, _example(name)["code"], f"example:{name}")


@route(app, "/v1/lab/runs/{run_id}")
def get_run(run_id: str) -> Any:
    """A run's status and the widgets its script emitted so far."""
    user_id = _user_id()
    run = store.get_run(run_id) if len(run_id) <= 64 else None
    if run is None or run.user_id != user_id:
        raise NotFound("Run not found")
    return web.plain(store.run_to_json(run))


@route(app, "/v1/lab/runs/{run_id}/stop", methods=["POST"])
def stop_run(run_id: str) -> Any:
    """Stop one of the caller's runs (the Stop button); a finished run is left as it is."""
    user_id = _user_id()
    run = store.get_run(run_id) if len(run_id) <= 64 else None
    if run is None or run.user_id != user_id:
        raise NotFound("Run not found")
    if run.status in relay.protocol.RUN_FINAL_STATUSES:
        return web.plain({"id": run.id, "status": run.status}, 200)
    try:
        relay.stop_run(run, relay.DeferredPublisher())
    except relay.RelayUnavailable:
        raise ServiceUnavailable("The lab relay is unavailable; try again", "/device") from None
    return web.plain({"id": run.id, "status": run.status}, 202)


# --- results from devices (AWS IoT topic rule → this function) --------------------------

@app.lambda_function(name="iot_results")
def iot_results(event: dict[str, Any], context: Any) -> str:
    """Invoked by the IoT rules on `lab/v1/+/res` and `lab/v1/+/status`."""
    if not isinstance(event, dict) or "topic" not in event:
        raise BadRequest("not an IoT rule event")
    return relay.handle_rule_event(event)


# --- live streams in AWS (API Gateway WebSocket API; IoT rule on lab/v1/+/frames) -------

@app.lambda_function(name="stream_socket")
def stream_socket(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The WebSocket API's $connect (JWT check), $disconnect and $default routes."""
    from openevent.lab import streamws

    return streamws.websocket_handler(event, context)


@app.lambda_function(name="stream_frames")
def stream_frames(event: dict[str, Any], context: Any) -> str:
    """Invoked by the IoT rule on `lab/v1/+/frames`: posts each frame to its viewers."""
    from openevent.lab import streamws

    return streamws.frames_handler(event, context)
