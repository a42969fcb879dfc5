"""Events group (routes arrive with its issue)."""

from __future__ import annotations

from openevent import web

app = web.create_app("openevent-events")
