"""`/v1/docs`: the API reference page and its vendored ReDoc bundle, on the API's origin
through the route table (the auth group, like /v1/openapi.json); nothing else is served."""

from __future__ import annotations

from openevent.routing import group_for


def test_docs_page_and_bundle(api):
    page = api.get("/v1/docs")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b'spec-url="/v1/openapi.json"' in page.body
    assert b'src="/v1/docs/redoc.standalone.js"' in page.body
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]
    bundle = api.get("/v1/docs/redoc.standalone.js")
    assert bundle.status == 200 and len(bundle.body) > 500_000
    assert bundle.headers["Content-Type"].startswith("application/javascript")
    licence = api.get("/v1/docs/LICENSE")
    assert licence.status == 200 and b"MIT License" in licence.body


def test_only_the_vendored_files_are_served(api):
    for name in ("app.py", "..%2F..%2Fsettings.py", "__init__.py", "VERSIONS"):
        assert api.get(f"/v1/docs/{name}").status == 404, name


def test_docs_are_routed_to_the_auth_group():
    assert group_for("/v1/docs") == group_for("/v1/docs/redoc.standalone.js") == "auth"
