"""Resource types that link both ways, joined by name instead of by import.

An event's document includes its access codes, whose documents link back to the event: the
modules that build them would import each other in a circle. Instead, the lower module asks
for what the higher one provides by name: `provide("access-code", builder)` where it is
defined, `provided("access-code")` where it is used (at request time, never at import).

`openevent.wire` imports every module that provides something, so any use of the wire layer
finds every name; asking for a name nobody provided is a programming error and says which.
"""

from __future__ import annotations

from typing import Any

_PROVIDED: dict[str, Any] = {}


def provide(name: str, value: Any) -> None:
    """Make `value` (a schema or a resource builder) known as `name`; once per name."""
    if name in _PROVIDED and _PROVIDED[name] is not value:
        raise RuntimeError(f"{name!r} is already provided by another module")
    _PROVIDED[name] = value


def provided(name: str) -> Any:
    try:
        return _PROVIDED[name]
    except KeyError:
        raise RuntimeError(f"nothing provides {name!r}: is its module imported by "
                           "openevent.wire?") from None
