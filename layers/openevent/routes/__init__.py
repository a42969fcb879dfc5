"""Routes a function group registers beside the ones in its own `app.py`.

They keep the groups' handler files small. Each module names the group that registers it;
`openevent.routing` sends its paths to that group. Handlers stay thin: rules live in
the domain packages (`openevent.accounts`, `.events`, `.orders`).

A module collects its views in a `Routes` table; `Routes.register(app)` binds each view to
that app. (Chalice's own Blueprint keeps one "current app", which is wrong when several
app instances serve requests in one process, as the local gateway's pool does.) A view
takes the app it serves as its first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Routes:
    def __init__(self) -> None:
        self.views: list[tuple[str, list[str], Callable[..., Any]]] = []

    def route(self, path: str, methods: list[str] | None = None
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def collect(view: Callable[..., Any]) -> Callable[..., Any]:
            self.views.append((path, methods or ["GET"], view))
            return view

        return collect

    def register(self, app: Any) -> None:
        from openevent import web

        for path, methods, view in self.views:
            web.route(app, path, methods=methods)(_bound(app, view))


def _bound(app: Any, view: Callable[..., Any]) -> Callable[..., Any]:
    def handler(**params: str) -> Any:
        return view(app, **params)

    handler.__name__ = view.__name__
    handler.__doc__ = view.__doc__
    return handler
