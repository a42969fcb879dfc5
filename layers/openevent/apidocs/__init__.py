"""The human-readable API reference at `/v1/docs`: ReDoc (vendored from npm with its licence in
`vendor/redoc/`, pinned in `vendor/package.json`) rendering `/v1/openapi.json`.

Served by the auth group like the OpenAPI document itself, so it is on the API's own origin
wherever the API is (the local gateway, or CloudFront's route table in AWS): the page, then
the bundle at `/v1/docs/redoc.standalone.js`; nothing is fetched from elsewhere.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "vendor" / "redoc"
ASSETS = {"redoc.standalone.js": "application/javascript; charset=utf-8",
          "LICENSE": "text/plain; charset=utf-8",
          "redoc.standalone.js.LICENSE.txt": "text/plain; charset=utf-8"}

# Only this origin: ReDoc's sidebar would fetch its maker's logo from cdn.redoc.ly otherwise.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Open Event API reference</title>
  <style>body { margin: 0; font-family: sans-serif; }
    .oe-bar { padding: 8px 16px; font-size: 14px; border-bottom: 1px solid #ddd; }</style>
</head>
<body>
  <div class="oe-bar">Open Event API reference &middot; <a href="/v1/openapi.json">openapi.json</a>
    &middot; <a href="/lab/">Lab console</a> &middot; rendered by ReDoc
    (<a href="/v1/docs/LICENSE">MIT licence</a>)</div>
  <redoc spec-url="/v1/openapi.json" hide-download-button="false"></redoc>
  <script src="/v1/docs/redoc.standalone.js"></script>
</body>
</html>
"""


def page() -> str:
    return PAGE


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of a vendored file, None for any other name."""
    if name not in ASSETS:
        return None
    return (VENDOR / name).read_bytes(), ASSETS[name]
