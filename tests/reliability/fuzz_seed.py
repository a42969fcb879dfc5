"""Real data for the fuzz test (`test_fuzz.py`) and the schemathesis configuration that
points every path parameter at it.

`seed(base, admin)` creates, over HTTP as the admin: a published event with a free ticket,
an attendee and a completed order, and one item of every other JSON:API collection the
OpenAPI document lets us create (a lab script, a discount code...; a body built from its
create schema:
required attributes with plain values, relationships to the seeded event and ticket). Each
kind is created twice: the second is the one the DELETE operations get, so deleting never
takes the data the other operations read away.

`config(spec, ids)` writes one `[[operations]]` block per operation with path parameters,
giving each parameter the seeded id of its collection; relationship names and other
enumerated parameters are left to the generator.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

JSONAPI = {"Content-Type": "application/vnd.api+json"}
_PARAM = re.compile(r"{([^}]+)}")
FREE = {"name"}  # enumerated by the document: generated, not pinned


def _future(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


class Seeder:
    def __init__(self, base: str, admin: str, spec: dict[str, Any]) -> None:
        self.base = base
        self.auth = {**JSONAPI, "Authorization": f"JWT {admin}"}
        self.spec = spec
        self.ids: dict[str, list[str]] = {}  # collection path → [primary, for DELETE]
        self.failed: dict[str, str] = {}
        self.counter = 0

    def post(self, path: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        resp = requests.post(self.base + path, json=doc, headers=self.auth, timeout=60)
        if resp.status_code not in (200, 201):
            self.failed[path] = f"{resp.status_code} {resp.text[:160]}"
            return None
        return resp.json()  # type: ignore[no-any-return]

    def keep(self, collection: str, value: Any) -> None:
        self.ids.setdefault(collection, []).append(str(value))

    # -- the core: event, ticket, attendee, order ------------------------------------
    def core(self) -> None:
        for n in range(2):
            event = self.post("/v1/events", {"data": {"type": "event", "attributes": {
                "name": f"Fuzz Conf {n}", "starts-at": _future(30), "ends-at": _future(31),
                "timezone": "UTC", "state": "published", "location-name": "Berlin"}}})
            assert event is not None, self.failed
            event_id = event["data"]["id"]
            self.keep("/v1/events", event_id)
            ticket = self.post("/v1/tickets", {"data": {"type": "ticket", "attributes": {
                "name": f"Community {n}", "type": "free", "quantity": 100,
                "sales-starts-at": _future(-1), "sales-ends-at": _future(29)},
                "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}})
            assert ticket is not None, self.failed
            ticket_id = ticket["data"]["id"]
            self.keep("/v1/tickets", ticket_id)
            attendee = self.post("/v1/attendees", {"data": {"type": "attendee", "attributes": {
                "firstname": "Fay", "lastname": "Fuzz", "email": f"fay{n}@example.com"},
                "relationships": {
                    "event": {"data": {"type": "event", "id": event_id}},
                    "ticket": {"data": {"type": "ticket", "id": ticket_id}}}}})
            assert attendee is not None, self.failed
            self.keep("/v1/attendees", attendee["data"]["id"])
            order = self.post("/v1/orders", {"data": {"type": "order", "attributes": {},
                "relationships": {
                    "event": {"data": {"type": "event", "id": event_id}},
                    "attendees": {"data": [{"type": "attendee",
                                            "id": attendee["data"]["id"]}]}}}})
            assert order is not None, self.failed
            self.keep("/v1/orders", order["data"]["attributes"].get("identifier")
                      or order["data"]["id"])

    # -- every other creatable JSON:API collection ------------------------------------
    def value(self, name: str, schema: dict[str, Any]) -> Any:
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "boolean":
            return False
        if kind in ("integer", "number"):
            low = schema.get("minimum", 1)
            return max(low, 1) if schema.get("maximum", 10) >= 1 else low
        if schema.get("format") == "email":
            return "seed@example.com"
        if schema.get("format") == "uri":
            return "https://example.com/seed"
        if schema.get("format") == "date-time" or name.endswith("-at"):
            return _future(10 if "start" in name else 20)
        self.counter += 1  # unique and plain (codes and names are unique per event)
        return f"seed{self.counter}"[: schema.get("maxLength", 64)]

    def document(self, create: dict[str, Any]) -> dict[str, Any]:
        data = create["properties"]["data"]["properties"]
        attrs = data.get("attributes", {})
        attributes = {name: self.value(name, attrs["properties"][name])
                      for name in attrs.get("required", [])}
        relationships = {}
        targets = {"event": "/v1/events", "ticket": "/v1/tickets",
                   "tickets": "/v1/tickets", "attendee": "/v1/attendees"}
        for name, rel in data.get("relationships", {}).get("properties", {}).items():
            if name not in targets or targets[name] not in self.ids:
                continue
            linkage = rel["properties"]["data"]
            kind = (linkage.get("items", linkage)["properties"]["type"]["enum"][0])
            one = {"type": kind, "id": self.ids[targets[name]][0]}
            relationships[name] = {"data": [one] if linkage.get("type") == "array" else one}
        return {"data": {"type": data["type"]["enum"][0], "attributes": attributes,
                         "relationships": relationships}}

    def collections(self) -> None:
        components = self.spec["components"]["schemas"]
        for path, item in sorted(self.spec["paths"].items()):
            post = item.get("post")
            if post is None or _PARAM.search(path) or path in self.ids:
                continue
            body = post.get("requestBody", {}).get("content", {}).get(
                "application/vnd.api+json", {}).get("schema", {})
            ref = body.get("$ref", "")
            if not ref or f"{path}/{{" not in " ".join(self.spec["paths"]):
                continue  # not a collection with items
            create = components[ref.rsplit("/", 1)[1]]
            for _ in range(2):
                created = self.post(path, self.document(create))
                if created is None:
                    break
                self.keep(path, created["data"]["id"])


def seed(base: str, admin: str, spec: dict[str, Any]) -> Seeder:
    seeder = Seeder(base, admin, spec)
    seeder.core()
    seeder.collections()
    return seeder


def config(spec: dict[str, Any], ids: dict[str, list[str]], user_id: str,
           spare_user_id: str) -> str:
    """schemathesis.toml: every path parameter of every operation pinned to seeded data."""
    ids = {**ids, "/v1/users": [user_id, spare_user_id]}
    blocks = []
    for path, item in sorted(spec["paths"].items()):
        params = _PARAM.findall(path)
        if not params:
            continue
        collection = path.split("/{", 1)[0]
        if collection == "/v1/orders/invoices":
            collection = "/v1/orders"
        for method in sorted(item):
            choices = ids.get(collection)
            if not choices:
                continue
            if method == "delete" and len(choices) < 2:
                continue  # deleting the only one would take it from the other operations
            value = choices[1] if method == "delete" else choices[0]
            pinned = {f"path.{name}": value for name in params[:1] if name not in FREE}
            if not pinned:
                continue
            values = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in pinned.items())
            # one criterion: filters in a block are alternatives, not a conjunction
            blocks.append("[[operations]]\n"
                          f"include-operation-id = {json.dumps(item[method]['operationId'])}\n"
                          f"parameters = {{ {values} }}\n")
    return "\n".join(blocks)
