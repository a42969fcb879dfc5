"""System settings and modules: singletons (id "1"), created with defaults on first read.

Modules gate whole features (API.md §3): other groups call `require_module()`.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from openevent import container_cache
from openevent.errors import Forbidden
from openevent.models.system import Modules, SystemSettings

MODULE_MESSAGES = {
    "ticket_include": "Ticketing is not enabled in the system",
    "payment_include": "Payment is not enabled in the system",
    "donation_include": "Donation is not enabled in the system",
}


def _load_modules() -> Modules:
    try:
        return Modules.get("1")
    except Modules.DoesNotExist:
        return Modules("1")


MODULE_NAMES = ("ticket", "payment", "donation")


def seed_modules(spec: str | None) -> Modules:
    """First start: turn on the modules named in `spec` (`OPENEVENT_MODULES`, e.g.
    "ticket,payment,donation"). A system whose modules record exists keeps it (an admin's
    later choice wins); unknown names are a configuration error."""
    names = [n.strip().lower() for n in (spec or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in MODULE_NAMES]
    if unknown:
        raise ValueError(f"OPENEVENT_MODULES: unknown module(s) {', '.join(unknown)}; "
                         f"known: {', '.join(MODULE_NAMES)}")
    modules = Modules("1", **{f"{n}_include": n in names for n in MODULE_NAMES})
    try:
        modules.save(condition=Modules.id.does_not_exist())
    except PutError:
        return get_modules()
    return modules


def enabled_module_names(modules: Modules) -> list[str]:
    return [n for n in MODULE_NAMES if getattr(modules, f"{n}_include")]


def get_modules() -> Modules:
    """The modules (cached per container for a few seconds: `openevent.container_cache`)."""
    return container_cache.get(("Modules", "1"), _load_modules)


def module_enabled(name: str) -> bool:
    return bool(getattr(get_modules(), name))


def require_module(name: str, pointer: str | None = None) -> None:
    """403 with the contract's message when module `name` (e.g. `ticket_include`) is off."""
    if not module_enabled(name):
        raise Forbidden(MODULE_MESSAGES[name], pointer)


def update_modules(values: dict[str, Any]) -> Modules:
    modules = _load_modules()
    for key, value in values.items():
        setattr(modules, key, value)
    modules.save()
    return modules


# Platform secrets are stored encrypted (openevent.data_key) and read back in clear.
SEALED_SETTINGS = ("stripe_secret_key", "stripe_webhook_secret", "paypal_secret")


def get_system_settings() -> SystemSettings:
    """The settings with secrets in clear (cached per container for a few seconds)."""
    return container_cache.get(("SystemSettings", "1"), _load_system_settings)


def _load_system_settings() -> SystemSettings:
    try:
        settings = SystemSettings.get("1")
    except SystemSettings.DoesNotExist:
        return SystemSettings("1")
    if any(getattr(settings, name, None) for name in SEALED_SETTINGS):
        from openevent import data_key

        for name in SEALED_SETTINGS:
            setattr(settings, name, data_key.unseal(getattr(settings, name, None)))
    return settings


def update_system_settings(values: dict[str, Any]) -> SystemSettings:
    from openevent.jsonapi.compat import core_and_extra, dump_extra

    current = _load_system_settings()
    values, extra = core_and_extra("setting", values)
    if extra:
        values["extra"] = dump_extra("setting", current.extra, extra)
    for key, value in values.items():
        setattr(current, key, value)
    clear = {name: getattr(current, name, None) for name in SEALED_SETTINGS}
    if any(clear.values()):
        from openevent import data_key

        for name, value in clear.items():
            setattr(current, name, data_key.seal(value))
    try:
        current.save()
    finally:
        for name, value in clear.items():
            setattr(current, name, value)
    return current


def frontend_url() -> str:
    """Where mailed links point: the admin's `frontend-url` setting, else the deployment's
    default (`OPENEVENT_FRONTEND_URL`), without a trailing slash."""
    from openevent.settings import get_settings

    configured = get_system_settings().frontend_url
    return (configured or get_settings().frontend_url).rstrip("/")
