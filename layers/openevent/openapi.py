"""The OpenAPI description of every route, generated from the route tables and the schemas.

`build_spec()` reads each group's Chalice routes; every JSON:API route is matched to the
resource `Schema` (`openevent.wire.*`) that its handler validates and serializes with —
by the collection path (`/v1/<schema.path>`), the resource (`/v1/<path>/{id}`), related
resources and relationship links — so the request body schema (attribute types, lengths,
choices, required fields, relationships) and the response documents come from the same
`Field` declarations the code parses input with. Routes outside JSON:API (login, lab
calls, PDFs…) are described as JSON objects. Every operation has its path parameters, the
JSON:API query parameters (`include`, `fields[...]`, and `page[*]`, `sort`, `filter` on
collections), the error document for every other status, and optional JWT security.

`make openapi` (`openevent.local.openapi_file`) writes the result to `openapi.json` beside this
module, which
`GET /v1/openapi.json` serves (so the auth function does not import the other groups at
request time). A test keeps the file true.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("openapi.json")
WEB_APP_NOTE = (
    "Open Event Server v1 compatible. Where the Open Event web app and the contract differ, "
    "the app wins (docs/frontend-compat.md): every login answers a rotating refresh_token; "
    "filters take has/any on relationships, ne null, empty or/and as no constraint, dotted "
    "sorts; Open Event attributes the app serializes are typed and stored; unchanged echoes "
    "of protected attributes are accepted; document downloads answer PDF bytes to the JWT; "
    "a paid create-order leaves payment-mode null until the buyer PATCHes it on the pending "
    "order; charge without a token on a stripe order answers the order's PaymentIntent "
    "(message = its JSON with client_secret) and the order completes by the webhook or verify; "
    "an event's stripe-authorization (publishable key only) is readable by anyone who sees "
    "the event; settings serve the frontend-url in effect; a buyer may PATCH their pending "
    "order to status placed in an offline payment mode (bank, cheque, onsite) the event "
    "accepts. One order takes at most 50 seats and 20 different tickets, in both checkout "
    "flows (its transactions stay within DynamoDB's 100 items). Extension: a ticket's "
    "seat-shards (1-32, null = one counter) splits its seats "
    "over counters for a big on-sale (docs/scale.md).")
_PARAM = re.compile(r"{([^}]+)}")
JSONAPI = "application/vnd.api+json"
ERROR_REF = {"$ref": "#/components/schemas/Errors"}
# Collections of which a parent has at most one (its related path answers one resource).
ONE_PER_PARENT = frozenset({"stripe-authorization"})


def _dasherize(name: str) -> str:
    return name.replace("_", "-")


def field_schema(spec: Any, *, for_input: bool) -> dict[str, Any]:
    """JSON Schema of one `openevent.jsonapi.fields.Field` (input: what `parse` accepts)."""
    from openevent.jsonapi import fields as f

    out: dict[str, Any]
    if isinstance(spec, f.Choice):
        out = {"type": "string", "enum": list(spec.choices)} if for_input else {"type": "string"}
    elif isinstance(spec, f.Email):
        out = {"type": "string", "format": "email", "maxLength": spec.max_length}
    elif isinstance(spec, f.Url):
        out = {"type": "string", "format": "uri", "maxLength": spec.max_length}
    elif isinstance(spec, f.String):
        out = {"type": "string", "maxLength": spec.max_length}
        if for_input and spec.min_length:
            out["minLength"] = spec.min_length
            out["pattern"] = r"\S"
    elif isinstance(spec, f.Boolean):
        out = {"type": "boolean"}
    elif isinstance(spec, f.Integer):
        out = {"type": "integer"}
        if for_input and spec.minimum is not None:
            out["minimum"] = spec.minimum
        if for_input and spec.maximum is not None:
            out["maximum"] = spec.maximum
    elif isinstance(spec, f.Number):
        out = {"type": "number"}
        if for_input:
            out["maximum"] = float(spec.maximum)
            if spec.minimum is not None:
                out["minimum"] = float(spec.minimum)
    elif isinstance(spec, f.Money):
        out = {"type": "number"}
        if for_input:
            out.update(minimum=0, maximum=float(spec.maximum))
    elif isinstance(spec, f.DateTime):
        out = {"type": "string", "format": "date-time"} if for_input else {"type": "string"}
    else:  # JsonValue and anything new: any JSON value
        out = {}
    if out and (not for_input or (spec.nullable and not spec.required)):
        out["nullable"] = True
    if spec.admin_only:
        out["description"] = "settable by admins only"
    return out


def _linkage(type_: str, many: bool) -> dict[str, Any]:
    item = {"type": "object", "required": ["type", "id"], "properties": {
        "type": {"type": "string", "enum": [type_]}, "id": {"type": "string"}}}
    if many:
        return {"type": "array", "items": item}
    return {**item, "nullable": True}


def request_schema(schema: Any, *, create: bool) -> dict[str, Any]:
    """The body a POST (create) or PATCH of `schema` accepts."""
    attributes = {_dasherize(name): field_schema(spec, for_input=True)
                  for name, spec in schema.fields.items() if not spec.read_only}
    required = sorted(_dasherize(name) for name, spec in schema.fields.items()
                      if create and spec.required and not spec.read_only)
    attrs: dict[str, Any] = {"type": "object", "properties": attributes}
    if required:
        attrs["required"] = required
    data: dict[str, Any] = {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string", "enum": [schema.type]},
        "attributes": attrs}}
    if not create:
        data["required"] = ["type", "id"]
        data["properties"]["id"] = {"type": "string"}
    if schema.relationships:
        data["properties"]["relationships"] = {"type": "object", "properties": {
            _dasherize(name): {"type": "object", "required": ["data"], "properties": {
                "data": _linkage(rel.type, rel.many)}}
            for name, rel in schema.relationships.items()}}
    return {"type": "object", "required": ["data"], "properties": {"data": data}}


def resource_schema(schema: Any) -> dict[str, Any]:
    """A resource object as the API serializes it (attributes from `Schema.dump`)."""
    return {"type": "object", "required": ["type", "id"], "properties": {
        "type": {"type": "string", "enum": [schema.type]},
        "id": {"type": "string"},
        "attributes": {"type": "object", "properties": {
            _dasherize(name): field_schema(spec, for_input=False)
            for name, spec in schema.fields.items() if not spec.write_only}},
        "relationships": {"type": "object"},
        "links": {"type": "object"}}}


def _document(ref: str, many: bool, nullable: bool = False) -> dict[str, Any]:
    """A response document; `nullable`: a to-one related resource, `data: null` when the
    relationship is empty."""
    data: dict[str, Any] = ({"type": "array", "items": {"$ref": ref}} if many
                            else {"nullable": True, "allOf": [{"$ref": ref}]} if nullable
                            else {"$ref": ref})
    return {"type": "object", "required": ["data"], "properties": {
        "data": data, "included": {"type": "array", "items": {"type": "object"}},
        "links": {"type": "object"}, "meta": {"type": "object"},
        "jsonapi": {"type": "object"}}}


def _schemas() -> dict[str, Any]:
    from openevent.jsonapi.document import Schema
    from openevent.lab import resources as lab
    from openevent.wire import events, orders, users

    found: dict[str, Any] = {}
    for module in (users, events, orders, lab):
        for value in vars(module).values():
            if isinstance(value, Schema):
                found.setdefault(value.type, value)
    return found


def collection_schema(path_name: str) -> Any:
    """The resource `Schema` of the collection at `/v1/<path_name>`, or None."""
    return next((s for s in _schemas().values() if s.path == path_name), None)


def _shape(path: str, schemas: dict[str, Any]) -> tuple[str, Any, bool] | None:
    """(kind, schema, many) for a JSON:API path: kind is `resource` or `relationship`."""
    by_path = {s.path: s for s in schemas.values()}
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "v1" or parts[1] not in by_path:
        return None
    parent = by_path[parts[1]]
    rest = parts[2:]
    if not rest:
        return "resource", parent, True
    if not rest[0].startswith("{"):
        return None
    if len(rest) == 1:
        return "resource", parent, False
    if len(rest) == 3 and rest[1] == "relationships":
        rel = parent.relationships.get(rest[2].replace("-", "_"))
        target = by_path.get(rest[2]) or schemas.get(rest[2])
        many = rel.many if rel is not None else rest[2] in by_path
        return "relationship", (schemas.get(rel.type) if rel else target), many
    if len(rest) == 2:
        rel = parent.relationships.get(rest[1].replace("-", "_"))
        if rel is not None and rel.type in schemas:  # the relationship says one or many
            return "resource", schemas[rel.type], rel.many
        if rest[1] in by_path:
            return "resource", by_path[rest[1]], rest[1] not in ONE_PER_PARENT
        if rest[1] in schemas:
            return "resource", schemas[rest[1]], False
        if rel is not None and rel.type in schemas:
            return "resource", schemas[rel.type], rel.many
    return None


def _query_parameters(type_: str | None, many: bool) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": "include", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "comma-separated relationship paths to include"}]
    if type_:
        params.append({"name": f"fields[{type_}]", "in": "query", "required": False,
                       "schema": {"type": "string"},
                       "description": "sparse fieldset: comma-separated attribute names"})
    if many:
        params += [
            {"name": "page[size]", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0},
             "description": "0 = everything; larger than 1000 is capped at 1000"},
            {"name": "page[number]", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1}},
            {"name": "page[cursor]", "in": "query", "required": False,
             "schema": {"type": "string"},
             "description": "empty to start, then the cursor of links.next; a filter or "
                            "sort over a list that grows with the table (events, users, "
                            "orders) or with an event's sales (its orders and attendees) "
                            "reads a window of candidates from it: past one window, "
                            "meta.window, no meta.count, links.next continues after it"},
            {"name": "sort", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "comma-separated attributes, '-' for descending"},
            {"name": "filter", "in": "query", "required": False,
             "description": "Open Event filter: a JSON list of {name, op, val}",
             "content": {"application/json": {"schema": {"type": "array", "items": {
                 "type": "object", "required": ["name", "op"], "properties": {
                     "name": {"type": "string"}, "op": {"type": "string"},
                     "val": {}}}}}}}]
    return params


def _content(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    return {t: {"schema": schema} for t in (types or (JSONAPI,))}


def _operation(group: str, path: str, method: str, entry: Any,
               schemas: dict[str, Any], singleton: bool = False) -> dict[str, Any]:
    doc = (getattr(entry.view_function, "__doc__", None) or "").strip()
    op: dict[str, Any] = {
        "operationId": f"{group}.{entry.view_name}",
        "tags": [group],
        "summary": doc.splitlines()[0] if doc else entry.view_name.replace("_", " "),
        "security": [{"JWT": []}, {}],
    }
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _PARAM.findall(path)]
    errors = {"default": {"description": "error document (every other status)",
                          "content": _content(ERROR_REF, JSONAPI, "application/json")}}
    shape = _shape(path, schemas)
    if shape is not None and singleton:  # one resource at a collection path (settings)
        shape = (shape[0], shape[1], False)
    if shape is None:  # outside JSON:API: a JSON object in, a JSON object out
        if method in {"POST", "PATCH", "PUT"}:
            op["requestBody"] = {"required": False, "content": _content(
                {}, "application/json", JSONAPI)}
        from openevent.web import DOWNLOAD_PATHS

        answers = _content({}, "application/json", JSONAPI)
        if DOWNLOAD_PATHS.match(path):  # document downloads answer the PDF itself
            answers["application/pdf"] = {"schema": {"type": "string", "format": "binary"}}
        if path == "/v1/docs":  # the reference page itself (openevent.apidocs)
            answers = {"text/html": {"schema": {"type": "string"}}}
        elif path.startswith("/v1/docs/"):  # its vendored script and licences
            answers = {ctype.split(";")[0]: {"schema": {"type": "string"}}
                       for ctype in ("application/javascript", "text/plain")}
        op["responses"] = {"2XX": {"description": "success", "content": answers},
                           "3XX": {"description": "redirect"}, **errors}
    else:
        kind, schema, many = shape
        ref = f"#/components/schemas/{schema.type}" if schema is not None else None
        if kind == "relationship":
            body = {"type": "object", "required": ["data"], "properties": {
                "data": _linkage(schema.type, many) if schema else {}}}
            responses = {"200": {"description": "relationship linkage",
                                 "content": _content(body)}}
            if method != "GET":
                op["requestBody"] = {"required": True, "content": _content(body)}
                responses["204"] = {"description": "updated"}
        elif method == "GET":
            params += _query_parameters(schema.type, many)
            related = len(path.strip("/").split("/")) == 4  # /v1/<x>/{id}/<related>
            responses = {"200": {"description": "the resource" + ("s" if many else ""),
                                 "content": _content(_document(str(ref), many, related))}}
        elif method == "POST" and many:
            op["requestBody"] = {"required": True, "content": _content(
                {"$ref": f"#/components/schemas/{schema.type}-create"})}
            responses = {"201": {"description": "created", "content": _content(
                _document(str(ref), False))}}
        elif method == "PATCH" and not many:
            op["requestBody"] = {"required": True, "content": _content(
                {"$ref": f"#/components/schemas/{schema.type}-update"})}
            responses = {"200": {"description": "updated", "content": _content(
                _document(str(ref), False))}}
        elif method == "DELETE":
            responses = {"200": {"description": "deleted", "content": _content(
                {"type": "object", "properties": {"meta": {"type": "object"}}})},
                "204": {"description": "deleted"}}
        else:
            if method in {"POST", "PATCH", "PUT"}:
                op["requestBody"] = {"required": False, "content": _content(
                    {}, JSONAPI, "application/json")}
            responses = {"2XX": {"description": "success", "content": _content(
                {}, JSONAPI, "application/json")}}
        op["responses"] = {**responses, **errors}
    if params:
        op["parameters"] = params
    return op


def build_spec(route_tables: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """`route_tables` maps group → Chalice `app.routes` (path → method → entry)."""
    schemas = _schemas()
    paths: dict[str, Any] = {}
    for group in sorted(route_tables):
        for path, methods in sorted(route_tables[group].items()):
            item = paths.setdefault(path, {})
            singleton = "PATCH" in methods and "POST" not in methods
            for method, entry in sorted(methods.items()):
                item[method.lower()] = _operation(group, path, method.upper(), entry, schemas,
                                                  singleton)
    _link_created_resources(paths)
    components: dict[str, Any] = {"Errors": {
        "type": "object", "required": ["errors"], "properties": {"errors": {
            "type": "array", "items": {"type": "object", "properties": {
                "status": {}, "title": {"type": "string"}, "detail": {"type": "string"},
                "source": {"type": "object"}}}}}}}
    for type_, schema in sorted(schemas.items()):
        components[type_] = resource_schema(schema)
        components[f"{type_}-create"] = request_schema(schema, create=True)
        components[f"{type_}-update"] = request_schema(schema, create=False)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Open Event serverless API", "version": "1.0",
                 "description": WEB_APP_NOTE},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"JWT": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "'JWT <access token>' from POST /auth/session"}},
            "schemas": components},
        "paths": paths,
    }


def _link_created_resources(paths: dict[str, Any]) -> None:
    """OpenAPI links from each JSON:API create (201) to the operations on the created
    resource (`/v1/<collection>/{id}` and below), for clients and stateful fuzzing."""
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = {}
        for other, other_item in sorted(paths.items()):
            rest = other[len(path):] if other.startswith(path + "/{") else None
            if rest is None:
                continue
            param = _PARAM.findall(other)[len(_PARAM.findall(path))]
            if len(_PARAM.findall(other)) != len(_PARAM.findall(path)) + 1:
                continue
            for method, op in sorted(other_item.items()):
                name = f"{method}{op['operationId'].split('.', 1)[1].title().replace('_', '')}"
                links[name] = {"operationId": op["operationId"],
                               "parameters": {param: "$response.body#/data/id"}}
        if links:
            created["links"] = links


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())  # type: ignore[no-any-return]
