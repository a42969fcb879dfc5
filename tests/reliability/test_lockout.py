"""The platform cannot lock itself out: the last super admin stays, and a start with
SUPER_ADMIN_EMAIL brings a deleted one back."""

from __future__ import annotations

from openevent.accounts import users as accounts

from tests.conftest import error_of


def _is_super(user_id: int) -> bool:
    return bool(accounts.get_user(user_id, include_deleted=True).is_super_admin)


def test_last_super_admin_cannot_delete_itself(api, make_user):
    root = make_user(super_admin=True)
    resp = api.delete(f"/v1/users/{root.id}", token=root.token)
    assert resp.status == 409, resp.body
    assert "last super admin" in error_of(resp)["detail"]
    assert accounts.get_user(root.id).deleted_at is None


def test_last_super_admin_cannot_be_demoted(api, make_user):
    root = make_user(super_admin=True)
    resp = api.patch(f"/v1/users/{root.id}", {"data": {"type": "user", "id": str(root.id),
                     "attributes": {"is-super-admin": False}}}, token=root.token)
    assert resp.status == 409, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/is-super-admin"
    assert _is_super(root.id)


def test_a_super_admin_may_go_while_another_remains(api, make_user):
    first, second = make_user(super_admin=True), make_user(super_admin=True)
    demoted = api.patch(f"/v1/users/{first.id}", {"data": {"type": "user", "id": str(first.id),
                        "attributes": {"is-super-admin": False}}}, token=second.token)
    assert demoted.status == 200, demoted.body
    assert api.delete(f"/v1/users/{second.id}", token=second.token).status == 409  # now last
    first_again = make_user(super_admin=True)
    assert api.delete(f"/v1/users/{second.id}", token=second.token).status == 200
    assert _is_super(first_again.id)


def test_start_restores_a_deleted_super_admin(aws, make_user):
    root = make_user(super_admin=True, email="root@example.com")
    make_user(super_admin=True)
    accounts.soft_delete(accounts.get_user(root.id))  # allowed: another one remains
    restored = accounts.ensure_super_admin("root@example.com", "whatever-password")
    assert restored.id == root.id
    user = accounts.get_user(root.id)  # NotFound if still deleted
    assert user.is_super_admin and user.is_admin
    assert accounts.authenticate("root@example.com", root.password).id == root.id


def test_two_super_admins_demoting_each_other_at_once_leave_one(aws, make_user, monkeypatch):
    """Both requests find the other one still super admin before either writes (a barrier
    holds them there): exactly one demotion goes through, the other is 409."""
    import threading

    from openevent.errors import Conflict

    first, second = make_user(super_admin=True), make_user(super_admin=True)
    both_looked = threading.Barrier(2, timeout=10)
    looking = accounts.keep_a_super_admin

    def look_then_wait(user, pointer=None):
        other = looking(user, pointer)
        if threading.current_thread().name.startswith("demote"):
            try:
                both_looked.wait()
            except threading.BrokenBarrierError:
                pass  # the second look, after the first transaction failed
        return other

    monkeypatch.setattr(accounts, "keep_a_super_admin", look_then_wait)
    outcomes: dict[int, str] = {}

    def demote(target_id: int) -> None:
        try:
            accounts.demote_super_admin(accounts.get_user(target_id))
            outcomes[target_id] = "demoted"
        except Conflict:
            outcomes[target_id] = "409"

    threads = [threading.Thread(target=demote, args=(uid,), name=f"demote-{uid}")
               for uid in (first.id, second.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["409", "demoted"]
    assert sorted([_is_super(first.id), _is_super(second.id)]) == [False, True]


def test_the_rule_reads_the_super_admin_index_not_the_users(api, make_user):
    """Promotion (PATCH), demotion and deletion keep the sparse index exact, and the rule
    Queries it for at most two items whatever the number of users."""
    from openevent.models.users import LIVE_SUPER_ADMIN, User

    root = make_user(super_admin=True)
    plain = [make_user() for _ in range(12)]
    promoted = plain[-1]
    resp = api.patch(f"/v1/users/{promoted.id}", {"data": {"type": "user", "id": str(promoted.id),
                     "attributes": {"is-super-admin": True}}}, token=root.token)
    assert resp.status == 200, resp.body

    def live() -> set[int]:
        return {int(u.id) for u in User.super_admin_index.query(LIVE_SUPER_ADMIN)}

    assert {root.id, promoted.id} <= live()
    assert not {u.id for u in plain[:-1]} & live()
    assert api.delete(f"/v1/users/{promoted.id}", token=root.token).status == 200
    assert promoted.id not in live()
    assert api.delete(f"/v1/users/{root.id}", token=root.token).status == 409  # last one
    assert root.id in live()


def test_super_admins_from_before_the_index_are_marked_once(aws, make_user):
    from openevent.models.system import Statistic
    from openevent.models.users import LIVE_SUPER_ADMIN, User

    old = [make_user(super_admin=True) for _ in range(2)]
    for account in old:  # as an older version stored them
        User(account.id).update(actions=[User.super_admin.remove()])
    Statistic("migrations#super-admin-index").delete()
    assert accounts.mark_super_admins() == 2
    assert accounts.mark_super_admins() == 0
    assert {a.id for a in old} <= {int(u.id) for u in
                                   User.super_admin_index.query(LIVE_SUPER_ADMIN)}
