"""The local gateway serves static web apps beside the API, never files outside their folder."""

from openevent.local.gateway import Gateway
from openevent.local.static import StaticMount


def _gateway(tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "index.html").write_text("<h1>lab</h1>")
    (lab / "app.js").write_text("1")
    (tmp_path / "secret.txt").write_text("no")
    spa = tmp_path / "spa"
    spa.mkdir()
    (spa / "index.html").write_text("<h1>app</h1>")
    return Gateway(pool_size=1, groups=("auth",),
                   mounts=[StaticMount("/lab/", lab), StaticMount("/", spa, spa=True)])


def test_mounts_serve_files_index_and_spa_fallback(tmp_path):
    gw = _gateway(tmp_path)
    assert gw.request("GET", "/lab/").body == b"<h1>lab</h1>"
    assert gw.request("GET", "/lab").body == b"<h1>lab</h1>"
    js = gw.request("GET", "/lab/app.js")
    assert (js.status, js.headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert gw.request("GET", "/events/abc/tickets").body == b"<h1>app</h1>"


def test_mounts_never_leave_their_folder_nor_shadow_the_api(tmp_path):
    gw = _gateway(tmp_path)
    assert gw.request("GET", "/lab/../secret.txt").status == 404
    assert gw.request("GET", "/lab/%2e%2e/secret.txt").status == 404
    assert gw.request("GET", "/lab/missing.js").status == 404
    settings = gw.request("GET", "/v1/settings")
    assert settings.headers["Content-Type"].startswith("application/vnd.api+json")
