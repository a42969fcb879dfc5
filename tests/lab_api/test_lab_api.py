"""API.md §7 through the gateway, the real broker and the simulated device."""

import pytest

from tests.conftest import error_of
from tests.lab.hostile import HOSTILE_FUNCTION_STRINGS as HOSTILE
from tests.lab_api.conftest import wait_run

pytestmark = pytest.mark.slow

LAB_ROUTES = [
    ("GET", "/v1/lab/functions"), ("GET", "/v1/lab/devices"), ("POST", "/v1/lab/calls"),
    ("GET", "/v1/lab/calls/x"), ("GET", "/v1/lab/scripts"), ("POST", "/v1/lab/scripts"),
    ("GET", "/v1/lab/scripts/x"), ("PATCH", "/v1/lab/scripts/x"),
    ("DELETE", "/v1/lab/scripts/x"), ("GET", "/v1/lab/examples"),
    ("GET", "/v1/lab/examples/multimeter.py"), ("POST", "/v1/lab/scripts/x/runs"),
    ("POST", "/v1/lab/examples/multimeter.py/runs"), ("GET", "/v1/lab/runs/x"),
]


def script_doc(title="Mine", code="print('hello')"):
    return {"data": {"type": "lab-script", "attributes": {"title": title, "code": code}}}


@pytest.mark.parametrize("method,path", LAB_ROUTES)
def test_every_lab_endpoint_requires_login(api, method, path):
    resp = api.request(method, path)
    assert resp.status == 401
    assert error_of(resp)["title"] == "Unauthorized"


def test_functions_list_describes_the_allow_list(api, make_user):
    me = make_user()
    funcs = api.get("/v1/lab/functions", token=me.token).json()
    names = {f["name"] for f in funcs}
    assert {"get_voltage", "get_resistance", "capture1", "set_sine1", "set_pv1"} <= names
    assert len(funcs) >= 20
    by_name = {f["name"]: f for f in funcs}
    assert by_name["set_pv1"]["drives-output"] is True
    assert by_name["get_voltage"]["drives-output"] is False


def test_call_returns_a_reading_from_the_device(api, make_user, lab):
    me = make_user()
    resp = api.post_json("/v1/lab/calls", {"function": "get_voltage('CH1')"}, token=me.token)
    assert resp.status == 200
    body = resp.json()
    assert body["status"] == "done" and body["device"] == "lab-1"
    assert isinstance(body["result"], float)


def test_output_set_then_read_back(api, make_user, lab):
    me = make_user()
    set_resp = api.post_json("/v1/lab/calls", {"function": "set_pv1(2.5)"}, token=me.token)
    assert set_resp.status == 200
    read = api.post_json("/v1/lab/calls", {"function": "get_pv1()"}, token=me.token).json()
    assert read["result"] == pytest.approx(2.5)


def test_wait_zero_answers_202_then_the_call_can_be_polled(api, make_user, lab):
    import time

    me = make_user()
    resp = api.post_json("/v1/lab/calls", {"function": "get_temperature()", "wait": 0},
                         token=me.token)
    assert resp.status == 202
    call_id = resp.json()["id"]
    assert resp.json()["status"] == "pending"
    for _ in range(100):
        polled = api.get(f"/v1/lab/calls/{call_id}", token=me.token)
        if polled.status == 200:
            break
        time.sleep(0.05)
    assert polled.status == 200 and polled.json()["status"] == "done"


def test_someone_elses_call_is_404(api, make_user, lab):
    me, other = make_user(), make_user()
    call_id = api.post_json("/v1/lab/calls", {"function": "get_resistance()"},
                            token=me.token).json()["id"]
    assert api.get(f"/v1/lab/calls/{call_id}", token=other.token).status == 404




@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_function_strings_are_422_and_nothing_is_sent(api, make_user, lab_broker,
                                                              text):
    from openevent.lab.store import CallRecord

    me = make_user()
    resp = api.post_json("/v1/lab/calls", {"function": text}, token=me.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/function"
    assert CallRecord.count() == 0  # admin-style count in a test: nothing was stored


def test_no_agent_online_is_503(api, make_user, lab_broker):
    me = make_user()
    resp = api.post_json("/v1/lab/calls", {"function": "get_voltage('CH1')"}, token=me.token)
    assert resp.status == 503


@pytest.mark.parametrize("body,pointer", [({}, "/function"), ({"function": 5}, "/function"),
                                          ({"function": "get_temperature()", "wait": -1},
                                           "/wait"),
                                          ({"function": "get_temperature()", "wait": "x"},
                                           "/wait")])
def test_bad_call_bodies_are_422(api, make_user, body, pointer):
    me = make_user()
    resp = api.post_json("/v1/lab/calls", body, token=me.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == pointer


def test_scripts_crud_own_only(api, make_user):
    me, other = make_user(), make_user()
    created = api.post("/v1/lab/scripts", script_doc(), token=me.token)
    assert created.status == 201
    sid = created.json()["data"]["id"]
    assert created.headers["Location"] == f"/v1/lab/scripts/{sid}"
    listed = api.get("/v1/lab/scripts", token=me.token).json()
    assert [s["id"] for s in listed["data"]] == [sid]
    assert api.get("/v1/lab/scripts", token=other.token).json()["meta"]["count"] == 0
    assert api.get(f"/v1/lab/scripts/{sid}", token=other.token).status == 404
    patch = {"data": {"type": "lab-script", "id": sid, "attributes": {"title": "Renamed"}}}
    assert api.patch(f"/v1/lab/scripts/{sid}", patch, token=other.token).status == 404
    patched = api.patch(f"/v1/lab/scripts/{sid}", patch, token=me.token)
    assert patched.status == 200
    assert patched.json()["data"]["attributes"]["title"] == "Renamed"
    assert patched.json()["data"]["attributes"]["code"] == "print('hello')"
    assert api.delete(f"/v1/lab/scripts/{sid}", token=other.token).status == 404
    assert api.delete(f"/v1/lab/scripts/{sid}", token=me.token).status == 200
    assert api.get(f"/v1/lab/scripts/{sid}", token=me.token).status == 404


def test_scripts_list_pages_by_size_and_cursor(api, make_user):
    me = make_user()
    for i in range(3):
        api.post("/v1/lab/scripts", script_doc(title=f"S{i}"), token=me.token)
    made = [s["id"] for s in api.get("/v1/lab/scripts", token=me.token).json()["data"]]
    assert len(made) == 3
    second = api.get("/v1/lab/scripts?page[size]=2&page[number]=2", token=me.token).json()
    assert [s["id"] for s in second["data"]] == made[2:]
    assert second["meta"]["count"] == 3
    first = api.get("/v1/lab/scripts?page[size]=2&page[cursor]=", token=me.token).json()
    assert [s["id"] for s in first["data"]] == made[:2]
    rest = api.get(first["links"]["next"], token=me.token).json()
    assert [s["id"] for s in rest["data"]] == made[2:] and rest["links"]["next"] is None


def test_script_needs_title_and_code(api, make_user):
    me = make_user()
    resp = api.post("/v1/lab/scripts", {"data": {"type": "lab-script",
                                                 "attributes": {"title": "t"}}},
                    token=me.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/code"


def test_examples_are_listed_with_source(api, make_user):
    me = make_user()
    listed = api.get("/v1/lab/examples", token=me.token).json()
    names = [e["name"] for e in listed]
    assert "multimeter.py" in names and len(names) >= 2
    one = api.get("/v1/lab/examples/multimeter.py", token=me.token).json()
    assert one["name"] == "multimeter.py" and "get_voltage" in one["code"]
    assert api.get("/v1/lab/examples/../../etc/passwd", token=me.token).status == 404


def test_example_run_produces_widgets(api, make_user, lab):
    me = make_user()
    resp = api.post_json("/v1/lab/examples/multimeter.py/runs", {}, token=me.token)
    assert resp.status == 202
    assert resp.json()["status"] == "queued"
    run = wait_run(api, me.token, resp.json()["id"])
    assert run["status"] == "done", run
    types = {w["type"] for w in run["output"]}
    assert "label" in types or "text" in types
    assert "button" in types


def test_own_script_run_streams_widgets_in_order(api, make_user, lab):
    me = make_user()
    code = ("print('start')\nlabel('volts')\nv = get_voltage('CH1')\n"
            "plot([0, 1, 2], [0, 1, 4])\nprint('end')\n")
    sid = api.post("/v1/lab/scripts", script_doc(code=code), token=me.token).json()["data"]["id"]
    resp = api.post_json(f"/v1/lab/scripts/{sid}/runs", {}, token=me.token)
    run = wait_run(api, me.token, resp.json()["id"])
    assert run["status"] == "done", run
    assert [w["type"] for w in run["output"]] == ["text", "label", "plot", "text"]


def test_endless_script_ends_as_timeout(api, make_user, lab):
    me = make_user()
    sid = api.post("/v1/lab/scripts", script_doc(code="while True:\n    pass\n"),
                   token=me.token).json()["data"]["id"]
    resp = api.post_json(f"/v1/lab/scripts/{sid}/runs", {}, token=me.token)
    run = wait_run(api, me.token, resp.json()["id"], timeout=20)
    assert run["status"] == "timeout"
    assert run["reason"]


def test_someone_elses_run_is_404(api, make_user, lab):
    me, other = make_user(), make_user()
    resp = api.post_json("/v1/lab/examples/multimeter.py/runs", {}, token=me.token)
    assert api.get(f"/v1/lab/runs/{resp.json()['id']}", token=other.token).status == 404
