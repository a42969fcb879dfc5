"""Users, mailed tokens and rate limits."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from openevent.container_cache import InvalidatingModel
from openevent.models.base import IntAttribute, index_meta, now, table_meta


class EmailIndex(GlobalSecondaryIndex["User"]):
    Meta = index_meta("email-index")
    email = UnicodeAttribute(hash_key=True)


class KindIndex(GlobalSecondaryIndex["User"]):
    """All users in id order, for the admin list (a Query, not a Scan)."""

    Meta = index_meta("kind-index")
    kind = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


class SuperAdminIndex(GlobalSecondaryIndex["User"]):
    """Sparse: only the live (not deleted) super admins. The last-super-admin rule looks
    here — a Query of a handful of items, never the users table."""

    Meta = index_meta("super-admin-index")
    super_admin = UnicodeAttribute(hash_key=True)
    id = IntAttribute(range_key=True)


# The value of `User.super_admin` while the account is a live super admin.
LIVE_SUPER_ADMIN = "live"


class User(InvalidatingModel, Model):
    Meta = table_meta("users")
    extra = UnicodeAttribute(null=True)  # Open Event attributes (jsonapi/compat.py), JSON
    id = IntAttribute(hash_key=True)
    kind = UnicodeAttribute(default="user")
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    password_version = IntAttribute(default=0)
    # The one session (login) a password, email or role change carried over to the current
    # `password_version`: every other session ended with the change (accounts/sessions.py).
    kept_session = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    public_name = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)
    is_verified = BooleanAttribute(default=False)
    is_admin = BooleanAttribute(default=False)
    is_super_admin = BooleanAttribute(default=False)
    was_registered_with_order = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(default=now)
    deleted_at = UTCDateTimeAttribute(null=True)
    # LIVE_SUPER_ADMIN while is_super_admin and not deleted, else absent (super_admin_index);
    # kept by `save` and by every update that changes either (accounts/users.py)
    super_admin = UnicodeAttribute(null=True)

    email_index = EmailIndex()
    kind_index = KindIndex()
    super_admin_index = SuperAdminIndex()

    def accepts_session(self, password_version: int, session: str | None) -> bool:
        """Is a token of `session`, minted at `password_version`, still of a live session?
        Tokens of the current version are; of an older one, only the kept session's."""
        if password_version == int(self.password_version or 0):
            return True
        return session is not None and session == self.kept_session

    def mark_super_admin(self) -> None:
        """Set `super_admin` from `is_super_admin` and `deleted_at` (before a whole-item
        write)."""
        self.super_admin = LIVE_SUPER_ADMIN if self.is_super_admin and self.deleted_at is None \
            else None

    def save(self, *args: Any, **kwargs: Any) -> Any:
        self.mark_super_admin()
        return super().save(*args, **kwargs)

    @property
    def is_staff(self) -> bool:
        """Admins and super admins pass every event-role check."""
        return bool(self.is_admin or self.is_super_admin)


class MailToken(Model):
    """A mailed single-use token, stored by its SHA-256 only."""

    Meta = table_meta("mail-tokens")
    token_hash = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()  # verify-email | reset-password
    user_id = IntAttribute()
    email = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    used_at = UTCDateTimeAttribute(null=True)


class RateLimit(Model):
    """A fixed-window counter (`reset-password#<email>#<hour>`), incremented conditionally."""

    Meta = table_meta("rate-limits")
    key = UnicodeAttribute(hash_key=True)
    hits = IntAttribute(default=0)
    expires = IntAttribute(null=True)  # epoch seconds, for DynamoDB TTL clean-up only
