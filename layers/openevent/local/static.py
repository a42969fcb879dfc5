"""Static web apps served by the local gateway beside the API, on the same origin.

In AWS the same files sit in S3 behind the CloudFront distribution that fronts the API; here
the gateway serves them from folders. A mount maps a URL prefix to a folder; a single-page
app (`spa=True`) answers unknown paths under its prefix with its `index.html`, as its
client-side router expects. Paths the route table gives to an API group never reach a mount.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote, unquote

from openevent.local import webapp

ROOT = Path(__file__).resolve().parents[3]
_CONFIG_META = re.compile(
    rb'<meta name="([^"]+)/config/environment" content="([^"]*)"')
_LAB_STREAM_META = re.compile(rb'<meta name="openevent-lab-stream" content="([^"]*)"')
LAB_STREAM_ENV = "OPENEVENT_LAB_STREAM_URL"
_STREAM_URL = re.compile(r"wss?://[^\s\"'<>]+")


@dataclass(frozen=True)
class StaticMount:
    prefix: str  # "/lab/" or "/"
    directory: Path
    spa: bool = False
    building: bool = False  # the folder is being built: its pages answer `building_page()`

    def resolve(self, path: str) -> Path | None:
        """The file serving `path`, or None; never a file outside the mount's folder."""
        bare = unquote(path.split("?", 1)[0])
        if bare + "/" == self.prefix:
            bare = self.prefix
        if not bare.startswith(self.prefix):
            return None
        rel = bare[len(self.prefix):]
        base = self.directory.resolve()
        candidate = (base / rel).resolve()
        if candidate != base and base not in candidate.parents:
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if candidate.is_file():
            return candidate
        if self.spa and "." not in rel.rsplit("/", 1)[-1]:
            index = base / "index.html"
            return index if index.is_file() else None
        return None


def content_type(path: Path) -> str:
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") or guessed in {
        "application/javascript", "application/json"} else guessed


def frontend_dir() -> Path | None:
    """The web app's folder: `OPENEVENT_FRONTEND_DIR` (empty: none), else, in the local
    runtime with the web app on, the cache's build (`openevent.local.webapp`), which may still
    be being built."""
    configured = os.environ.get("OPENEVENT_FRONTEND_DIR")
    if configured is not None:
        return Path(configured) if configured and Path(configured).is_dir() else None
    if os.environ.get("OPENEVENT_LOCAL") != "1" or not webapp.enabled():
        return None  # only the local runtime picks up the cached build by itself
    return webapp.built_dir()


def default_mounts() -> list[StaticMount]:
    """The lab console at /lab/, the scanner page at /checkin/ and the Open Event app at /
    (a "being built" page until its first build is there). A malformed
    `OPENEVENT_LAB_STREAM_URL` stops the start here, with its name."""
    configured_lab_stream_url()
    mounts = []
    lab = Path(os.environ.get("OPENEVENT_LAB_CONSOLE_DIR", ROOT / "web" / "lab"))
    if lab.is_dir():
        mounts.append(StaticMount("/lab/", lab, spa=False))
    checkin = ROOT / "web" / "checkin"  # the scanner page (openevent.checkin, issue #24)
    if checkin.is_dir():
        mounts.append(StaticMount("/checkin/", checkin, spa=False))
    frontend = frontend_dir()
    if frontend is not None:
        building = "OPENEVENT_FRONTEND_DIR" not in os.environ
        mounts.append(StaticMount("/", frontend, spa=True, building=building))
    return mounts


_BUILDING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>Open Event: the web app is being built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}}
progress{{width:100%}}code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body><h1>The web app is being built</h1>
<p>This is the first start with this version of the Open Event web app, so it is being built
now (about 10 minutes on 2 cores; later starts serve the build at once). The API and the lab
console already answer.</p>
<p><progress value="{done}" max="{total}"></progress><br>
Step {position}: <span id="step">{words}</span></p>
<ul><li>API: <a href="/v1/modules">/v1/</a> (reference: <a href="/v1/openapi.json">OpenAPI</a>)</li>
<li>Lab console: <a href="/lab/">/lab/</a></li></ul>
<p>This page refreshes itself every 5 seconds. Build log: <code>{log}</code>.</p>
</body></html>
"""


def building_page(mounts: list[StaticMount], path: str) -> bytes | None:
    """The "being built" page for a page path of a web app whose first build is running
    (None otherwise: a file path, or a web app that is there)."""
    bare = unquote(path.split("?", 1)[0])
    for mount in mounts:
        if not mount.building or not bare.startswith(mount.prefix):
            continue
        if (mount.directory / "index.html").is_file():
            return None
        if "." in bare.rsplit("/", 1)[-1]:
            return None  # an asset of the app: nothing to show yet
        state = webapp.progress()
        done, _, total = state.position.partition("/")
        failed = state.step == "failed"
        words = ("the build failed; see the log, then start again" if failed else state.words)
        html = _BUILDING_PAGE.format(
            done=int(done) if done.isdigit() else 0,
            total=int(total) if total.isdigit() else 4,
            position=escape(state.position), words=escape(words),
            log=escape(str(webapp.cache_dir() / "build.log")))
        return html.encode()
    return None


def same_origin_page(body: bytes, host: str | None, scheme: str = "http") -> bytes:
    """An Ember app's index.html with its baked API origin replaced by the page's own.

    The web app reads its API host from the config `<meta>` tag, fixed when it was built;
    served beside the API, the API is wherever the page came from (any port, http or https),
    so the config is rewritten per request to `<scheme>://<Host>`. Other pages pass through
    unchanged."""
    if not host or not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d{1,5})?", host) \
            or scheme not in ("http", "https"):
        return body
    return with_api_origin(body, f"{scheme}://{host}")


def with_api_origin(body: bytes, origin: str) -> bytes:
    """The Ember app's index.html with its config's API host (`APP.apiHost`, and every other
    occurrence of the baked origin) set to `origin`. Used per request locally and at upload
    by infra/ (the deployed app calls its own distribution)."""
    match = _CONFIG_META.search(body)
    if match is None:
        return body
    try:
        config = json.loads(unquote(match.group(2).decode()))
        baked = config["APP"]["apiHost"]
    except (ValueError, KeyError, TypeError):
        return body
    if not isinstance(baked, str) or not baked or baked == origin:
        return body
    text = json.dumps(config).replace(json.dumps(baked)[1:-1], origin)
    encoded = quote(text, safe="").encode()
    return body[:match.start(2)] + encoded + body[match.end(2):]


def with_lab_stream_url(body: bytes, url: str) -> bytes:
    """The lab console's index.html with its stream URL (`<meta name="openevent-lab-stream">`,
    read by web/lab/js/stream.js) set to `url`. infra/ writes the WebSocket API's own URL in
    at upload (in AWS the console is served by CloudFront and the WebSocket by API Gateway,
    on another host); locally `OPENEVENT_LAB_STREAM_URL` does the same per request. `url`
    may hold CDK tokens (deploy-time values); it is HTML-escaped. Other pages pass through
    unchanged."""
    match = _LAB_STREAM_META.search(body)
    if match is None:
        return body
    value = escape(url, quote=True).encode()
    return body[:match.start(1)] + value + body[match.end(1):]


def configured_lab_stream_url() -> str | None:
    """`OPENEVENT_LAB_STREAM_URL` when set (a ws:// or wss:// URL, else ValueError naming
    it); None otherwise: the console then connects to its own origin."""
    url = os.environ.get(LAB_STREAM_ENV, "")
    if not url:
        return None
    if not _STREAM_URL.fullmatch(url):
        raise ValueError(f"{LAB_STREAM_ENV} must be a ws:// or wss:// URL, not {url!r}")
    return url


def with_configured_lab_stream(body: bytes) -> bytes:
    """The page with `OPENEVENT_LAB_STREAM_URL` as the console's stream URL, when set."""
    url = configured_lab_stream_url()
    return body if url is None else with_lab_stream_url(body, url)


PRELOAD_ENV = "OPENEVENT_PRELOAD_STRIPE_JS"


def with_preloaded_stripe_js(body: bytes) -> bytes:
    """The app's index.html with the Stripe sandbox's Stripe.js stand-in loaded first, when
    the local run uses the sandbox (`OPENEVENT_PRELOAD_STRIPE_JS` holds its URL, set by
    `openevent.local.providers`). The app's `loadStripe()` uses a `window.Stripe` that is
    already there instead of fetching https://js.stripe.com/v3, which a local machine may not
    reach and which would not know the sandbox's keys. Other pages pass through unchanged."""
    url = os.environ.get(PRELOAD_ENV, "")
    if not re.fullmatch(r"http://127\.0\.0\.1:\d{1,5}/v3", url) or b"</head>" not in body \
            or _CONFIG_META.search(body) is None:  # only the Ember app's page (not the lab's)
        return body
    tag = f'<script src="{url}"></script>'.encode()
    return body.replace(b"</head>", tag + b"</head>", 1)


def find(mounts: list[StaticMount], path: str) -> Path | None:
    """The first mount's file for `path` (mounts are tried in order: specific prefixes first)."""
    for mount in mounts:
        found = mount.resolve(path)
        if found is not None:
            return found
    return None
