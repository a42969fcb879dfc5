"""Accounts: signup, login, email verification, password reset and change, profile edits.

Rules (API.md §2 and the deliberate differences):
- an email belongs to one account: a `Unique` claim is written in the same transaction as
  the user, so concurrent signups with one email cannot both succeed (409);
- mailed tokens are stored hashed, expire, and work once (a conditional update marks them
  used); password-reset requests are rate limited per email and always answer the same;
- a password reset, a password, email or role change and a deletion end the account's
  other sessions (accounts/sessions.py: `end_actions`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from openevent import container_cache
from openevent.errors import (
    BadRequest,
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    attribute_pointer,
)
from openevent.mail import send_mail
from openevent.models.base import (
    ClaimTaken,
    Unique,
    failed_positions,
    next_id,
    now,
    raise_if_clashed,
    retry_id_clash,
    transact,
    unique_key,
    update_moving_claim,
)
from openevent.models.users import LIVE_SUPER_ADMIN, MailToken, RateLimit, User
from openevent.platform import list_counts, statistics
from openevent.platform.settings import frontend_url
from openevent.security import (
    dummy_password_hash,
    hash_password,
    issue_token,
    new_url_token,
    token_digest,
    verify_password,
)
from openevent.settings import get_settings

log = logging.getLogger("openevent.users")
MIN_PASSWORD = 8


def email_key(email: str) -> str:
    return unique_key("user-email", email.strip().lower())


def find_by_email(email: str) -> User | None:
    for user in User.email_index.query(email.strip().lower(), limit=1):
        return user
    return None


def get_user(user_id: int, include_deleted: bool = False) -> User:
    try:
        user = User.get(user_id)
    except User.DoesNotExist:
        raise NotFound("User not found") from None
    if user.deleted_at is not None and not include_deleted:
        raise NotFound("User not found")
    return user


def user_list_source() -> Any:
    """`GET /v1/users` (staff): every account in id order, paged by DynamoDB on the kind
    index; `meta.count` is the maintained `users#all` figure. A search or sort reads a
    candidate window at a time (`window`: the partition grows with the table)."""
    from openevent.models.paging import PartitionSource

    return PartitionSource(User, User.kind_index, "user", window=True,
                           count=lambda: list_counts.read([list_counts.USERS])[list_counts.USERS])


def check_password_length(password: str, pointer: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Unprocessable(f"Password must be at least {MIN_PASSWORD} characters", pointer)


VERIFY_MINUTES = 60 * 24 * 7  # a verification link lasts a week


@retry_id_clash
def create_user(values: dict[str, Any], *, send_verification: bool = True) -> User:
    """Create an account; 409 on a taken email (also under concurrency)."""
    values = dict(values)  # run again on an id clash: the caller's dict stays whole
    email = values["email"]
    password = values.pop("password")
    check_password_length(password, attribute_pointer("password"))
    user = User(next_id("user"), email=email, password_hash=hash_password(password))
    for key, value in values.items():
        if key != "email":
            setattr(user, key, value)
    user.mark_super_admin()
    claim = Unique(email_key(email), owner=str(user.id))
    # The verification token is written with the account: a signup is whole or not at all,
    # so a failure after the commit can never leave an account its owner cannot verify
    # (and a retry that answers "Email already exists").
    verify = _new_mail_token(user, "verify-email", VERIFY_MINUTES) \
        if send_verification and not user.is_verified else None

    def fill(tx: TransactWrite) -> None:
        tx.save(claim, condition=Unique.key.does_not_exist())
        tx.save(user, condition=User.id.does_not_exist())
        list_counts.add(tx, list_counts.USERS, 1)
        if verify is not None:
            tx.save(verify[1])

    try:
        transact(fill)  # retried while another signup holds the same count shard
    except TransactWriteError as exc:
        raise_if_clashed([user])  # the id was drawn elsewhere too: draw again
        if 0 not in failed_positions(exc):  # not the email's claim: not the user's fault
            raise
        raise Conflict("Email already exists", attribute_pointer("email")) from None
    statistics.user_created(bool(user.is_verified), bool(user.is_admin),
                            bool(user.is_super_admin))
    if verify is not None:
        send_verification_mail(user, verify[0])
    return user


def _new_mail_token(user: User, purpose: str, minutes: int) -> tuple[str, MailToken]:
    """A mailed link's token and its record (stored by digest), not yet saved."""
    token = new_url_token()
    return token, MailToken(
        token_digest(token), purpose=purpose, user_id=user.id, email=user.email,
        expires_at=now() + timedelta(minutes=minutes),
    )


def _mail_token(user: User, purpose: str, minutes: int) -> str:
    token, record = _new_mail_token(user, purpose, minutes)
    record.save()
    return token


def send_verification_mail(user: User, token: str | None = None) -> None:
    """Mail the link that verifies `user`'s address (`token` already stored, or a new one)."""
    if token is None:
        token = _mail_token(user, "verify-email", VERIFY_MINUTES)
    link = f"{frontend_url()}/verify?token={quote(token)}"
    send_mail(
        user.email,
        "Please verify your email",
        f"Welcome to Open Event!\n\nConfirm your email address by opening:\n{link}\n",
        f'<p>Welcome to Open Event!</p><p><a href="{link}">Confirm your email address</a></p>',
    )


def _consume_token(token: Any, purpose: str) -> MailToken | None:
    """Mark a mailed token used, exactly once; None if unknown, expired, used or wrong kind."""
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    try:
        record = MailToken.get(token_digest(token))
    except MailToken.DoesNotExist:
        return None
    if record.purpose != purpose or record.used_at is not None or record.expires_at < now():
        return None
    try:
        record.update(
            actions=[MailToken.used_at.set(now())],
            condition=MailToken.used_at.does_not_exist(),
        )
    except UpdateError:
        return None  # a concurrent request used it first
    return record


def verify_email(token: Any) -> User:
    """Verify the address the token was mailed to — only while it is still the account's
    address (a token mailed before an email change proves nothing about the new one)."""
    record = _consume_token(token, "verify-email")
    if record is None:
        raise BadRequest("Invalid or expired token", "/data/token")
    user = get_user(record.user_id)
    was_verified = bool(user.is_verified)
    try:
        # Conditional on the stored email, so a concurrent email change cannot slip in.
        user.update(actions=[User.is_verified.set(True)],
                    condition=User.email == record.email)
    except UpdateError:
        raise BadRequest("This token was sent to another email address",
                         "/data/token") from None
    if not was_verified:
        statistics.user_verified()
    return user


def authenticate(email: Any, password: Any) -> User:
    """The user for these credentials, or 401 `{"error": "Invalid Credentials"}`."""
    invalid = Unauthorized("Invalid Credentials", body={"error": "Invalid Credentials"})
    if not isinstance(email, str) or not isinstance(password, str) or len(password) > 1024:
        raise invalid
    user = find_by_email(email) if len(email) <= 320 else None
    if user is None or user.deleted_at is not None:
        verify_password(dummy_password_hash(), password)  # same timing as a real check
        raise invalid
    if not verify_password(user.password_hash, password):
        raise invalid
    return user


def tokens_for(user: User, with_refresh: bool) -> dict[str, str]:
    out = {"access_token": issue_token(user.id, user.password_version)}
    if with_refresh:
        out["refresh_token"] = issue_token(user.id, user.password_version, "refresh")
    return out


def _hit_rate_limit(email: str) -> None:
    settings = get_settings()
    hour = int(now().timestamp() // 3600)
    key = unique_key("reset-password", email.strip().lower(), hour)
    item = RateLimit(key)
    try:
        item.update(
            actions=[RateLimit.hits.add(1), RateLimit.expires.set((hour + 2) * 3600)],
            condition=(
                RateLimit.hits.does_not_exist()
                | (RateLimit.hits < settings.reset_rate_per_hour)
            ),
        )
    except UpdateError:
        raise TooManyRequests(
            "Too many password reset requests; try again later", "/data/email"
        ) from None


def request_password_reset(email: Any) -> None:
    """Mail a reset link if the account exists; callers always answer 200 either way."""
    if not isinstance(email, str) or not email.strip() or len(email) > 320:
        raise Unprocessable("'email' is required", "/data/email")
    _hit_rate_limit(email)
    user = find_by_email(email)
    if user is None or user.deleted_at is not None:
        return
    token = _mail_token(user, "reset-password", get_settings().reset_token_minutes)
    link = f"{frontend_url()}/reset-password?token={quote(token)}"
    send_mail(
        user.email,
        "Reset your password",
        f"Someone asked to reset the password of your Open Event account.\n\n"
        f"Choose a new password here (valid for {get_settings().reset_token_minutes} minutes):"
        f"\n{link}\n\nIf it was not you, ignore this mail.\n",
        f'<p>Someone asked to reset the password of your Open Event account.</p>'
        f'<p><a href="{link}">Choose a new password</a></p>'
        f"<p>If it was not you, ignore this mail.</p>",
    )


def reset_password(token: Any, password: Any) -> User:
    if not isinstance(password, str):
        raise Unprocessable("'password' is required", "/data/password")
    check_password_length(password, "/data/password")
    record = _consume_token(token, "reset-password")
    if record is None:
        raise NotFound("Invalid, used or expired token", "/data/token")
    user = get_user(record.user_id)
    if user.email != record.email:  # mailed to an address the account no longer has
        raise NotFound("Invalid, used or expired token", "/data/token")
    set_password(user, password, revoke_sessions=True)
    return user


def set_password(user: User, password: str, *, revoke_sessions: bool,
                 keep: str | None = None) -> None:
    """Store a new password; `revoke_sessions` ends every session of the account but `keep`
    in the same write (accounts/sessions.py)."""
    from openevent.accounts.sessions import end_actions

    actions: list[Action] = [User.password_hash.set(hash_password(password))]
    if revoke_sessions:
        actions.extend(end_actions(keep))
    user.update(actions=actions)


def change_password(user: User, old: Any, new: Any, keep: str | None = None) -> None:
    """The account's own change: every other session ends; the caller's session `keep`
    goes on (the Open Event frontend keeps using its token after a change)."""
    if not isinstance(old, str) or not verify_password(user.password_hash, old):
        raise BadRequest("Wrong password", "/data/old-password")
    if not isinstance(new, str):
        raise Unprocessable("'new-password' is required", "/data/new-password")
    check_password_length(new, "/data/new-password")
    set_password(user, new, revoke_sessions=True, keep=keep)


def change_email(user: User, new_email: str, keep: str | None = None) -> None:
    """Move the email claim in one transaction with the user update (409 when taken); every
    session of the account but `keep` ends in the same transaction."""
    from openevent.accounts.sessions import end_actions

    old_key, new_key = email_key(user.email), email_key(new_email)
    if old_key == new_key:
        return
    try:
        update_moving_claim(user, [User.email.set(new_email), User.is_verified.set(False),
                                   *end_actions(keep)],
                            None, owner=str(user.id), old_claim=old_key, new_claim=new_key)
    except ClaimTaken:
        raise Conflict("Email already exists", attribute_pointer("email")) from None
    finally:
        # A transaction bypasses the model's own cache invalidation (container_cache).
        container_cache.invalidate(("User", user.id))
    user.email = new_email
    user.is_verified = False
    user.password_version = int(user.password_version or 0) + 1  # as written, for a later save
    user.kept_session = keep


def keep_a_super_admin(user: User, pointer: str | None = None) -> User | None:
    """409 when `user` is the last live super admin: deleting or demoting it would lock the
    platform out. Returns another live super admin (None when `user` is not one): a Query of
    the sparse super-admin index, at most two items."""
    if not user.is_super_admin or user.deleted_at is not None:
        return None
    others = User.super_admin_index.query(LIVE_SUPER_ADMIN, limit=2)
    other = next((u for u in others if int(u.id) != int(user.id)), None)
    if other is None:
        raise Conflict("The last super admin cannot be deleted or demoted; make another "
                       "user super admin first", pointer, parameter=None if pointer
                       else "user_id")
    return other


def _unseat_super_admin(user: User, actions: list[Action], pointer: str | None) -> None:
    """Demote or delete a super admin in one transaction with a check that another super
    admin is still live at that instant. Two admins demoting each other at once touch the
    same two items: one transaction wins, the other's check fails, and it looks again —
    finding no other super admin, 409. Without the check both could pass."""
    for _ in range(4):
        other = keep_a_super_admin(user, pointer)
        if other is None:
            user.update(actions=actions)
            return

        def fill(tx: TransactWrite, target: User = user, other: User = other) -> None:
            tx.update(target, actions=actions, condition=(
                User.is_super_admin == True) & User.deleted_at.does_not_exist())  # noqa: E712
            tx.condition_check(User, int(other.id), condition=(
                User.is_super_admin == True) & User.deleted_at.does_not_exist())  # noqa: E712

        try:
            transact(fill)
            return
        except TransactWriteError:
            container_cache.invalidate(("User", user.id))
            user = get_user(int(user.id), include_deleted=True)  # look again
        finally:
            container_cache.invalidate(("User", user.id))  # a transaction skips the model's
    raise Conflict("Super admins changed meanwhile; try again", pointer)


def demote_super_admin(user: User, pointer: str | None = None) -> None:
    """`is-super-admin: false`, keeping at least one live super admin (exactly, see above)."""
    if user.is_super_admin:
        _unseat_super_admin(user, [User.is_super_admin.set(False), User.super_admin.remove()],
                            pointer)
        user.is_super_admin = False


def soft_delete(user: User) -> None:
    from openevent.accounts.sessions import end_actions

    actions: list[Action] = [User.deleted_at.set(now()), *end_actions(None),
                             User.super_admin.remove()]
    if user.is_super_admin and user.deleted_at is None:
        _unseat_super_admin(user, actions, None)
    else:
        user.update(actions=actions)


def mark_super_admins() -> int:
    """Migration, once (a marker item records it): give the live super admins stored before
    the super-admin index its key, so the last-super-admin rule sees them. The one filtered
    Query of the users there is runs at start, never on a request. Returns the accounts
    marked."""
    from openevent.models.system import Statistic

    done = "migrations#super-admin-index"
    if list(Statistic.batch_get([done])):
        return 0
    marked = 0
    for user in User.kind_index.query("user", filter_condition=(
            User.is_super_admin == True) & User.deleted_at.does_not_exist()  # noqa: E712
            & User.super_admin.does_not_exist()):
        try:
            user.update(actions=[User.super_admin.set(LIVE_SUPER_ADMIN)], condition=(
                User.is_super_admin == True) & User.deleted_at.does_not_exist())  # noqa: E712
            marked += 1
        except UpdateError:
            continue  # demoted or deleted meanwhile
    try:
        Statistic(done, value=marked).save(condition=Statistic.name.does_not_exist())
    except PutError:
        pass
    return marked


def ensure_super_admin(email: str, password: str) -> User:
    """Create (or promote, or undelete) the configured super admin at start; idempotent."""
    existing = find_by_email(email)
    if existing is not None:
        if not (existing.is_super_admin and existing.is_admin and existing.is_verified) \
                or existing.deleted_at is not None or existing.super_admin != LIVE_SUPER_ADMIN:
            existing.update(actions=[User.is_super_admin.set(True), User.is_admin.set(True),
                                     User.is_verified.set(True), User.deleted_at.remove(),
                                     User.super_admin.set(LIVE_SUPER_ADMIN)])
        return existing
    try:
        return create_user(
            {"email": email.lower(), "password": password, "is_super_admin": True,
             "is_admin": True, "is_verified": True, "first_name": "Super",
             "last_name": "Admin"},
            send_verification=False,
        )
    except (Conflict, PutError):
        found = find_by_email(email)
        assert found is not None
        return found
