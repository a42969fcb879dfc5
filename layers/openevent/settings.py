"""Typed settings read from the environment, once per process.

Every tunable the core reads lives here, so a deployment (or a test) changes behaviour through
environment variables only. Secrets are kept in `SecretStr` so that printing or logging a
`Settings` object never reveals them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


class SecretStr(str):
    """A string whose repr never shows its value (it still works as a str)."""

    def __repr__(self) -> str:
        return "SecretStr('**********')" if self else "SecretStr('')"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration. Build with `get_settings()`."""

    region: str = "us-east-1"
    table_prefix: str = "openevent-"
    documents_bucket: str = "openevent-documents"
    media_bucket: str = "openevent-media"
    documents_queue: str = "openevent-document-events"
    jwt_secret: SecretStr = field(default_factory=lambda: SecretStr(""))
    jwt_algorithm: str = "HS256"
    jwt_access_minutes: int = 15  # a client that refreshes (`remember-me` logins)
    jwt_unrefreshed_minutes: int = 60 * 24  # a login that said it will not refresh
    jwt_refresh_days: int = 30
    reset_token_minutes: int = 60
    reset_rate_per_hour: int = 5
    mail_sender: str = "no-reply@openevent.local"
    outbox_dir: str = ""
    frontend_url: str = "http://localhost:4200"
    api_base_url: str = "http://127.0.0.1:8000"
    cors_origin: str = "*"
    super_admin_email: str = ""
    super_admin_password: SecretStr = field(default_factory=lambda: SecretStr(""))
    max_body_bytes: int = 256 * 1024
    stripe_api_base: str = ""
    stripe_connect_base: str = ""
    paypal_api_base: str = ""
    lab_broker: str = ""
    local: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once; tests call `get_settings.cache_clear()` after changing it."""
    data_dir = _env("OPENEVENT_DATA_DIR")
    default_outbox = os.path.join(data_dir, "outbox") if data_dir else ""
    return Settings(
        region=_env("AWS_DEFAULT_REGION", "us-east-1"),
        table_prefix=_env("OPENEVENT_TABLE_PREFIX", "openevent-"),
        documents_bucket=_env("OPENEVENT_DOCUMENTS_BUCKET", "openevent-documents"),
        media_bucket=_env("OPENEVENT_MEDIA_BUCKET", "openevent-media"),
        documents_queue=_env("OPENEVENT_DOCUMENTS_QUEUE", "openevent-document-events"),
        jwt_secret=SecretStr(_env("OPENEVENT_JWT_SECRET")),
        jwt_access_minutes=_env_int("OPENEVENT_JWT_ACCESS_MINUTES", 15),
        jwt_unrefreshed_minutes=_env_int("OPENEVENT_JWT_UNREFRESHED_MINUTES", 60 * 24),
        jwt_refresh_days=_env_int("OPENEVENT_JWT_REFRESH_DAYS", 30),
        reset_token_minutes=_env_int("OPENEVENT_RESET_TOKEN_MINUTES", 60),
        reset_rate_per_hour=_env_int("OPENEVENT_RESET_RATE_PER_HOUR", 5),
        mail_sender=_env("OPENEVENT_MAIL_SENDER", "no-reply@openevent.local"),
        outbox_dir=_env("OPENEVENT_OUTBOX_DIR", default_outbox),
        frontend_url=_env("OPENEVENT_FRONTEND_URL", "http://localhost:4200"),
        api_base_url=_env("OPENEVENT_API_BASE_URL", "http://127.0.0.1:8000"),
        cors_origin=_env("OPENEVENT_CORS_ORIGIN", "*"),
        super_admin_email=_env("SUPER_ADMIN_EMAIL"),
        super_admin_password=SecretStr(_env("SUPER_ADMIN_PASSWORD")),
        max_body_bytes=_env_int("OPENEVENT_MAX_BODY_BYTES", 256 * 1024),
        stripe_api_base=_env("STRIPE_API_BASE"),
        stripe_connect_base=_env("STRIPE_CONNECT_BASE"),
        paypal_api_base=_env("PAYPAL_API_BASE"),
        lab_broker=_env("OPENEVENT_LAB_BROKER"),
        local=_env_bool("OPENEVENT_LOCAL", False),
    )
