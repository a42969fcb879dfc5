"""CORS headers on every answer, errors included: a browser client must be able to read a
401 or 422 to show it (the Open Event frontend runs on another origin)."""

import json

ORIGIN = {"Origin": "http://localhost:4200"}


def test_error_responses_carry_cors_headers(api):
    resp = api.post_json("/auth/session", {"email": "x@example.com", "password": "nope-nope"},
                         headers=ORIGIN)
    assert resp.status == 401
    assert resp.headers.get("Access-Control-Allow-Origin") == "*"


def test_validation_errors_carry_cors_headers(api):
    resp = api.post("/v1/users", {"data": {"type": "user", "attributes": {"email": "bad"}}},
                    headers=ORIGIN)
    assert resp.status == 422
    assert resp.headers.get("Access-Control-Allow-Origin") == "*"


def test_success_responses_carry_cors_headers(api):
    resp = api.get("/v1/modules", headers=ORIGIN)
    assert resp.status == 200
    assert resp.headers.get("Access-Control-Allow-Origin") == "*"
    assert json.loads(resp.body)["data"]["type"] == "module"
