"""The OpenAPI document: valid OpenAPI 3.0, one operation per route, and built from the same
schemas the handlers validate with — checked against real answers of the API."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from openevent.openapi import load_spec

from tests.conftest import user_doc


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "components": spec["components"]}


def _check(spec, path, method, status, body, content_type="application/vnd.api+json"):
    responses = spec["paths"][path][method]["responses"]
    declared = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or \
        responses["default"]
    schema = declared["content"][content_type]["schema"]
    OAS30Validator(_resolve(spec, schema)).validate(body)


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_every_route_and_path_parameter_is_described(spec):
    from openevent.local.gateway import load_app
    from openevent.routing import GROUPS

    for group in GROUPS:
        for path, methods in load_app(group).routes.items():
            for method in methods:
                op = spec["paths"][path][method.lower()]
                names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
                assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}
                assert "default" in op["responses"] and op["security"]


def test_request_schemas_come_from_the_validating_schema(spec):
    from openevent.wire.users import USER

    create = spec["components"]["schemas"]["user-create"]["properties"]["data"]
    attrs = create["properties"]["attributes"]
    assert create["properties"]["type"]["enum"] == ["user"]
    assert sorted(attrs["required"]) == ["email", "password"]
    assert attrs["properties"]["password"]["maxLength"] == USER.fields["password"].max_length
    assert attrs["properties"]["email"]["format"] == "email"
    assert "was-registered-with-order" not in attrs["properties"]  # read-only: not input
    events = spec["paths"]["/v1/events"]["get"]["parameters"]
    assert {"include", "fields[event]", "page[size]", "page[number]", "sort", "filter"} <= {
        p["name"] for p in events}
    op = spec["paths"]["/v1/users"]["post"]
    assert op["requestBody"]["content"]["application/vnd.api+json"]["schema"]["$ref"] == \
        "#/components/schemas/user-create"
    assert "getGetUser" in op["responses"]["201"]["links"]


def test_real_answers_conform_to_the_document(spec, api, make_user):
    created = api.post("/v1/users", user_doc("spec@example.com"))
    assert created.status == 201
    _check(spec, "/v1/users", "post", 201, created.json())
    admin = make_user(admin=True)
    uid = created.json()["data"]["id"]
    got = api.get(f"/v1/users/{uid}", token=admin.token)
    _check(spec, "/v1/users/{user_id}", "get", 200, got.json())
    listed = api.get("/v1/users?page[size]=2", token=admin.token)
    _check(spec, "/v1/users", "get", 200, listed.json())
    bad = api.post("/v1/users", user_doc("not-an-email"))
    assert bad.status == 422
    _check(spec, "/v1/users", "post", 422, bad.json())
    with pytest.raises(Exception, match="is not of type"):
        _check(spec, "/v1/users/{user_id}", "get", 200, {"data": [got.json()["data"]]})
