"""Writes `layers/openevent/openapi.json`, the API description the auth group serves at
`/v1/openapi.json`, from the four function groups' route tables (loaded as the local gateway
loads them). Run `make openapi` after changing routes; a test fails while the file is stale.
"""

from __future__ import annotations

import json
from typing import Any

from openevent.openapi import SPEC_PATH, build_spec


def spec_from_apps() -> dict[str, Any]:
    from openevent.local.gateway import load_app
    from openevent.routing import GROUPS

    return build_spec({group: load_app(group).routes for group in GROUPS})


def main() -> None:
    SPEC_PATH.write_text(json.dumps(spec_from_apps(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SPEC_PATH}")


if __name__ == "__main__":
    main()
