"""The OpenAPI description of every route, generated from the function groups' route tables.

`build_spec()` reads each group's Chalice routes; `make openapi` writes the result to
`openapi.json` beside this module, which `GET /v1/openapi.json` serves (so the auth function
does not import the other groups at request time). A test keeps the file true.
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
    "of protected attributes are accepted; document downloads answer PDF bytes to the JWT.")
_PARAM = re.compile(r"{([^}]+)}")


def build_spec(route_tables: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """`route_tables` maps group → Chalice `app.routes` (path → method → entry)."""
    paths: dict[str, Any] = {}
    for group in sorted(route_tables):
        for path, methods in sorted(route_tables[group].items()):
            item = paths.setdefault(path, {})
            for method, entry in sorted(methods.items()):
                doc = (getattr(entry.view_function, "__doc__", None) or "").strip()
                operation: dict[str, Any] = {
                    "operationId": f"{group}.{entry.view_name}",
                    "tags": [group],
                    "summary": doc.splitlines()[0] if doc else entry.view_name.replace("_", " "),
                    "responses": {"default": {"description": "JSON:API document or error"}},
                }
                params = [{"name": p, "in": "path", "required": True,
                           "schema": {"type": "string"}} for p in _PARAM.findall(path)]
                if params:
                    operation["parameters"] = params
                item[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Open Event serverless API", "version": "1.0",
                 "description": WEB_APP_NOTE},
        "components": {"securitySchemes": {"JWT": {"type": "apiKey", "in": "header",
                                                   "name": "Authorization"}}},
        "paths": paths,
    }


def spec_from_apps() -> dict[str, Any]:
    from openevent.local.gateway import load_app
    from openevent.routing import GROUPS

    return build_spec({group: load_app(group).routes for group in GROUPS})


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())  # type: ignore[no-any-return]


def main() -> None:
    SPEC_PATH.write_text(json.dumps(spec_from_apps(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SPEC_PATH}")


if __name__ == "__main__":
    main()
