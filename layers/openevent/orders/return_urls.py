"""Where a payment provider may send the buyer back to: only the platform's own origins.

`create-paypal-payment` takes the return and cancel URLs from the client (the web app builds
them from its own origin). Any other URL would turn PayPal's approval page into an open
redirect carrying the platform's name, so a URL is accepted only when its origin (scheme,
host, port) is the web app's configured URL (`frontend-url`, else OPENEVENT_FRONTEND_URL) or
the API's own (OPENEVENT_API_BASE_URL). URLs with user info, backslashes, whitespace or
control characters are refused outright (browsers and parsers disagree on them); the answer
is a 422 naming the attribute.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from openevent.errors import Unprocessable

MAX_URL = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f]")


def origin(url: str) -> str | None:
    """`scheme://host:port` of an absolute http(s) URL, None for anything else."""
    if not isinstance(url, str) or len(url) > MAX_URL or _UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return f"{scheme}://{parts.hostname.lower()}:{port or _DEFAULT_PORTS[scheme]}"


def own_origins() -> set[str]:
    """The origins the platform answers on: the web app's and the API's."""
    from openevent.platform.settings import frontend_url
    from openevent.settings import get_settings

    found = {origin(frontend_url()), origin(get_settings().api_base_url)}
    return {o for o in found if o is not None}


def require_own_url(name: str, value: object) -> str:
    """`value` if it is an http(s) URL on one of the platform's own origins; else 422
    naming the attribute `name` (as the client spelled it, e.g. `return-url`)."""
    pointer = f"/data/attributes/{name}"
    if not isinstance(value, str) or origin(value) is None:
        raise Unprocessable(f"'{name}' must be an http(s) URL", pointer)
    if origin(value) not in own_origins():
        raise Unprocessable(f"'{name}' must be on the web app's or the API's own origin",
                            pointer)
    return value
