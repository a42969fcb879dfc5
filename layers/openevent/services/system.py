"""System settings and modules: singletons (id "1"), created with defaults on first read.

Modules gate whole features (API.md §3): other groups call `require_module()`.
"""

from __future__ import annotations

from typing import Any

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
    current = _load_system_settings()
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
