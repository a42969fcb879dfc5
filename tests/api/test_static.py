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


def test_the_web_app_page_is_served_with_the_api_at_its_own_origin(tmp_path):
    import json
    from urllib.parse import quote, unquote

    spa = tmp_path / "spa"
    spa.mkdir()
    config = {"APP": {"apiHost": "http://127.0.0.1:8000", "apiNamespace": "v1"},
              "ember-simple-auth-token": {
                  "serverTokenEndpoint": "http://127.0.0.1:8000/auth/session"}}
    meta = quote(json.dumps(config), safe="")
    (spa / "index.html").write_text(
        f'<meta name="open-event-frontend/config/environment" content="{meta}" /><p>x</p>')
    gw = Gateway(pool_size=1, groups=("auth",), mounts=[StaticMount("/", spa, spa=True)])
    page = gw.request("GET", "/events", headers={"Host": "127.0.0.1:43210"}).body.decode()
    served = json.loads(unquote(page.split('content="')[1].split('"')[0]))
    assert served["APP"]["apiHost"] == "http://127.0.0.1:43210"
    assert served["ember-simple-auth-token"]["serverTokenEndpoint"] == \
        "http://127.0.0.1:43210/auth/session"
    assert page.endswith("<p>x</p>")
    hostile = gw.request("GET", "/", headers={"Host": 'evil"><script>'}).body.decode()
    assert "127.0.0.1:8000" in unquote(hostile) and "<script>" not in hostile


def test_the_stripe_sandbox_stand_in_is_preloaded_in_the_app_page(tmp_path, monkeypatch):
    """With the local Stripe sandbox, the app's page loads the sandbox's Stripe.js first, so
    the app's loadStripe() finds window.Stripe instead of fetching js.stripe.com."""
    from openevent.local.static import PRELOAD_ENV, with_preloaded_stripe_js

    meta = b'<meta name="open-event-frontend/config/environment" content="%7B%7D">'
    page = b"<html><head>" + meta + b"</head><body></body></html>"
    monkeypatch.delenv(PRELOAD_ENV, raising=False)
    assert with_preloaded_stripe_js(page) == page
    monkeypatch.setenv(PRELOAD_ENV, "http://127.0.0.1:4242/v3")
    assert with_preloaded_stripe_js(page) == (
        b"<html><head>" + meta + b'<script src="http://127.0.0.1:4242/v3"></script>'
        b"</head><body></body></html>")
    gw = _gateway(tmp_path)
    (tmp_path / "spa" / "index.html").write_bytes(page)
    assert b'src="http://127.0.0.1:4242/v3"' in gw.request("GET", "/events/x").body
    # other pages (the lab console) are served as they are
    (tmp_path / "lab" / "index.html").write_bytes(b"<html><head></head></html>")
    assert gw.request("GET", "/lab/").body == b"<html><head></head></html>"
    for odd in ("0", "https://evil.example/v3", 'http://127.0.0.1:1/v3"><script>'):
        monkeypatch.setenv(PRELOAD_ENV, odd)
        assert with_preloaded_stripe_js(page) == page


def test_the_lab_console_page_names_the_configured_stream_url(tmp_path, monkeypatch):
    """`OPENEVENT_LAB_STREAM_URL` (what infra/ writes in at upload in AWS) becomes the
    console's stream `<meta>`; unset, the page is served as it is; a value that is not a
    ws(s):// URL stops the start, naming the variable."""
    import pytest
    from openevent.local import static

    lab = tmp_path / "lab"
    lab.mkdir()
    page = '<head><meta name="openevent-lab-stream" content="../v1/lab/stream"></head>'
    (lab / "index.html").write_text(page)
    mounts = [StaticMount("/lab/", lab)]
    monkeypatch.delenv(static.LAB_STREAM_ENV, raising=False)
    gw = Gateway(pool_size=1, groups=("auth",), mounts=mounts)
    assert gw.request("GET", "/lab/").body.decode() == page
    monkeypatch.setenv(static.LAB_STREAM_ENV, "wss://abc.execute-api.eu-west-1.amazonaws.com/live")
    assert gw.request("GET", "/lab/").body.decode() == page.replace(
        "../v1/lab/stream", "wss://abc.execute-api.eu-west-1.amazonaws.com/live")
    assert static.with_lab_stream_url(b"<p>no meta</p>", "wss://x/live") == b"<p>no meta</p>"
    assert static.with_lab_stream_url(page.encode(), 'wss://x/"><script>').count(b"<script>") == 0
    for bad in ("http://x/live", "javascript:alert(1)", 'wss://x/"><script>'):
        monkeypatch.setenv(static.LAB_STREAM_ENV, bad)
        with pytest.raises(ValueError, match="OPENEVENT_LAB_STREAM_URL"):
            static.default_mounts()
