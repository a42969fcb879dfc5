"""Resource objects and JSON:API documents.

A `Schema` declares a resource type's attributes (`Field`s) and relationships; a `Resource`
is one object ready to serialize. Output names are dasherized, every relationship carries
`links.related` and `links.self` as relative `/v1/...` URLs, and top-level documents carry
`"jsonapi": {"version": "1.0"}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from openevent.jsonapi.fields import Field
from openevent.jsonapi.naming import dasherize

JSONAPI = {"version": "1.0"}
MEDIA_TYPE = "application/vnd.api+json"

# Who may read a resource reached through a relationship (`include=`, relationship linkage):
# the web layer sets it per request to `openevent.rules.visibility.reader(<caller>)`, so a related
# resource is shown exactly when its own endpoint would show it. Unset (None) outside requests.
READ_CHECK: ContextVar[Callable[[Resource], bool] | None] = ContextVar("openevent_read_check",
                                                                        default=None)


@dataclass(frozen=True)
class RelSpec:
    """A relationship a client may send: its resource type, and whether it is a list."""

    type: str
    many: bool = False
    id_is_number: bool = False


@dataclass
class Schema:
    """A resource type: wire `type`, collection `path` under /v1, attributes, relationships."""

    type: str
    path: str
    fields: dict[str, Field]
    relationships: dict[str, RelSpec] = field(default_factory=dict)
    numeric_id: bool = False
    # Relationships documents carry that clients read (and filter or sort on) but never send.
    read_relationships: frozenset[str] = frozenset()

    def dump(self, values: dict[str, Any], only: set[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if spec.write_only:
                continue
            wire = dasherize(name)
            if only is not None and wire not in only and name not in only:
                continue
            out[wire] = spec.dump(values.get(name))
        return out


@dataclass
class Rel:
    """One relationship of a serialized resource."""

    type: str
    ids: Any  # a single id, a list of ids, or None
    related: str
    self_link: str | None = None
    loader: Callable[[], list[Resource]] | None = None
    include_data: bool = True
    many: bool = False

    def load(self) -> list[Resource]:
        """The related resources the current caller may read (every loader goes through here)."""
        if self.loader is None:
            return []
        loaded = self.loader()
        check = READ_CHECK.get()
        return loaded if check is None else [r for r in loaded if check(r)]

    def linkage(self, numeric: bool) -> Any:
        def one(value: Any) -> dict[str, Any]:
            return {"type": self.type, "id": value if numeric else str(value)}

        if self.many:
            return [one(v) for v in (self.ids or [])]
        return None if self.ids is None else one(self.ids)


@dataclass
class Resource:
    schema: Schema
    id: Any
    values: dict[str, Any]
    relationships: dict[str, Rel] = field(default_factory=dict)
    link: str | None = None  # singletons (settings, modules) live at the collection path
    source: Any = None  # the model it was built from, for the read rule (rules.visibility)
    via: Any = None  # the model it was reached from, for rules that depend on it (a buyer)
    loaded: dict[str, list[Resource]] = field(default_factory=dict, repr=False)  # filters

    @property
    def self_link(self) -> str:
        return self.link or f"/v1/{self.schema.path}/{self.id}"

    def key(self) -> tuple[str, str]:
        return (self.schema.type, str(self.id))

    def to_json(self, fieldsets: dict[str, set[str]] | None = None) -> dict[str, Any]:
        only = (fieldsets or {}).get(self.schema.type)
        rels: dict[str, Any] = {}
        for name, rel in self.relationships.items():
            wire = dasherize(name)
            if only is not None and wire not in only:
                continue
            entry: dict[str, Any] = {
                "links": {
                    "self": rel.self_link or f"{self.self_link}/relationships/{wire}",
                    "related": rel.related,
                }
            }
            if rel.include_data:
                entry["data"] = rel.linkage(numeric=_numeric_type(rel.type))
            rels[wire] = entry
        doc: dict[str, Any] = {
            "type": self.schema.type,
            "id": self.id if self.schema.numeric_id else str(self.id),
            "attributes": self.schema.dump(self.values, only),
            "links": {"self": self.self_link},
        }
        if rels:
            doc["relationships"] = rels
        return doc


# discount-code and access-code ids are JSON numbers on the wire (API.md §1).
_NUMERIC_ID_TYPES = {"discount-code", "access-code"}


def _numeric_type(type_name: str) -> bool:
    return type_name in _NUMERIC_ID_TYPES


# Called with {resource type: ids} before the loaders of one include step run for a whole
# page, so that whoever knows the storage can read those items together (set by
# `openevent.wire.priming`); the loaders still decide what the caller may see.
_include_primer: Callable[[dict[str, list[Any]]], None] | None = None


def set_include_primer(primer: Callable[[dict[str, list[Any]]], None] | None) -> None:
    global _include_primer
    _include_primer = primer


def _prime(rels: list[Rel]) -> None:
    if _include_primer is None:
        return
    wanted: dict[str, list[Any]] = {}
    for rel in rels:
        ids = rel.ids if isinstance(rel.ids, list | tuple) else [rel.ids]
        wanted.setdefault(rel.type, []).extend(i for i in ids if i is not None)
    if any(wanted.values()):
        _include_primer(wanted)


def collect_included(
    resources: Iterable[Resource], include: list[str], limit: int = 1000
) -> list[Resource]:
    """Resolve `include=a,b.c` paths by calling each relationship's loader, de-duplicated;
    each step's items are primed together first (`set_include_primer`)."""
    seen: dict[tuple[str, str], Resource] = {}
    primary = {r.key() for r in resources}

    def walk(items: list[Resource], path: list[str]) -> None:
        if not path or len(seen) >= limit:
            return
        head, rest = path[0], path[1:]
        rels = [rel for rel in (item.relationships.get(head.replace("-", "_"))
                                or item.relationships.get(head) for item in items)
                if rel is not None and rel.loader is not None]
        _prime(rels)
        loaded: list[Resource] = []
        for rel in rels:
            for res in rel.load():
                loaded.append(res)
                if res.key() not in primary:
                    seen.setdefault(res.key(), res)
        walk(loaded, rest)

    items = list(resources)
    paths = [[p for p in path.split(".") if p] for path in include]
    # the first step of every path at once (include=tickets,user,attendees: one read)
    _prime([rel for path in paths if path for item in items
            if (rel := item.relationships.get(path[0].replace("-", "_"))
                or item.relationships.get(path[0])) is not None and rel.loader is not None])
    for path in paths:
        walk(items, path)
    return list(seen.values())


def single_document(
    resource: Resource,
    include: list[str] | None = None,
    fieldsets: dict[str, set[str]] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "data": resource.to_json(fieldsets),
        "links": {"self": resource.self_link},
        "jsonapi": JSONAPI,
    }
    if include:
        doc["included"] = [r.to_json(fieldsets) for r in collect_included([resource], include)]
    return doc


def relationship_document(resource: Resource, name: str) -> dict[str, Any]:
    """The document of `<resource>/relationships/<name>` (its `links.self` target): the
    linkage, loaded when the resource document leaves it out."""
    from openevent.errors import NotFound

    rel = resource.relationships.get(name.replace("-", "_"))
    if rel is None:
        raise NotFound(f"'{name}' is not a relationship of {resource.schema.type}",
                       parameter="name")
    if rel.include_data or rel.loader is None:
        data = rel.linkage(numeric=_numeric_type(rel.type))
    else:
        loaded = [r.to_json() for r in rel.load()]
        linkage = [{"type": r["type"], "id": r["id"]} for r in loaded]
        data = linkage if rel.many else (linkage[0] if linkage else None)
    return {"data": data,
            "links": {"self": f"{resource.self_link}/relationships/{dasherize(name)}",
                      "related": rel.related},
            "jsonapi": JSONAPI}


def meta_document(message: str) -> dict[str, Any]:
    return {"meta": {"message": message}, "jsonapi": JSONAPI}
