"""GET /v1/openapi.json describes exactly the routes that exist."""

from openevent.local.openapi_file import spec_from_apps
from openevent.openapi import load_spec


def test_served_spec_matches_the_route_tables():
    assert load_spec() == spec_from_apps(), "run `make openapi` after changing routes"


def test_openapi_is_served(api):
    resp = api.get("/v1/openapi.json")
    assert resp.status == 200
    paths = resp.json()["paths"]
    assert "post" in paths["/v1/users"]
    assert "post" in paths["/auth/session"]


def test_every_route_is_dispatched_to_its_own_group():
    from openevent.local.gateway import load_app
    from openevent.routing import GROUPS, group_for

    for group in GROUPS:
        for path in load_app(group).routes:
            sample = path.replace("{", "").replace("}", "")
            assert group_for(sample) == group, f"{path} is served by {group}"
