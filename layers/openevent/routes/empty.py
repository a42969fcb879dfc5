"""Resources Open Event's clients still ask for that this platform does not keep (speakers,
sessions, exhibitors, FAQs, organizer invoices, ...): each answers an empty list or `null`,
never 404, so the web app's pages load. An event-scoped one still needs an event the caller
may see (404 otherwise), and a bad token is 401 as everywhere. Registered by the events group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openevent import web
from openevent.jsonapi.document import JSONAPI
from openevent.rules.lookup import get_event
from openevent.web import route

EMPTY_COLLECTIONS = ("event-types", "event-topics", "event-sub-topics", "event-locations",
                     "pages", "groups", "speakers", "sessions", "exhibitors", "faqs",
                     "session-types", "speaker-invites", "user-favourite-events",
                     "services", "event-role-permissions", "roles",
                     # Open Event's monthly fee invoices to organizers: none are issued here
                     "event-invoices")
EMPTY_EVENT_COLLECTIONS = ("speakers", "sessions", "exhibitors",
                           "event-invoices", "faqs", "faq-types", "session-types", "feedbacks",
                           "video-streams", "stations", "badge-forms", "speaker-invites",
                           "event-statistics-general")
EMPTY_EVENT_SINGLES = ("event-type", "event-topic", "event-sub-topic", "event-copyright",
                       "general-statistics", "speakers-call")


def _empty_collection(path: str) -> dict[str, Any]:
    return {"data": [], "links": {"self": path}, "meta": {"count": 0}, "jsonapi": JSONAPI}


def register(app: Any) -> None:
    """Bind every empty route to the events group's `app`."""
    def collection(path: str) -> Callable[..., Any]:
        def view(**_: str) -> Any:
            web.current_user(app)  # a bad token is 401 here too
            return web.jsonapi(_empty_collection(web.request_of(app).path))

        view.__name__ = "empty_" + path.strip("/").replace("/", "_").replace("-", "_") \
            .replace("{", "").replace("}", "")
        return view

    for plural in EMPTY_COLLECTIONS:
        route(app, f"/v1/{plural}")(collection(f"/v1/{plural}"))
    for plural in EMPTY_EVENT_COLLECTIONS:
        path = f"/v1/events/{{ref}}/{plural}"
        route(app, path)(collection(path))

    def single(ref: str) -> Any:
        get_event(ref, web.current_user(app))
        return web.jsonapi({"data": None, "jsonapi": JSONAPI})

    for name in EMPTY_EVENT_SINGLES:
        view = _copy_func(single, f"empty_event_{name.replace('-', '_')}")
        route(app, f"/v1/events/{{ref}}/{name}")(view)


def _copy_func(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    def view(ref: str) -> Any:
        return func(ref)

    view.__name__ = name
    return view
