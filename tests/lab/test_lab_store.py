"""Lab tables: calls, devices, scripts, runs — keyed access and guarded transitions."""

import time

import pytest


def test_new_call_is_pending(lab_tables):
    rec = lab_tables.create_call("u1", "lab-1", "get_pv1()", ttl=30)
    got = lab_tables.get_call(rec.id)
    assert (got.status, got.user_id, got.device_id, got.function) == (
        "pending", "u1", "lab-1", "get_pv1()")


def test_completed_call_keeps_result(lab_tables):
    rec = lab_tables.create_call("u1", "lab-1", "get_pv1()", ttl=30)
    assert lab_tables.complete_call(rec.id, "done", result={"t": [1.5]}) is True
    assert lab_tables.get_call(rec.id).to_json() == {
        "id": rec.id, "status": "done", "device": "lab-1", "function": "get_pv1()",
        "result": {"t": [1.5]}}


def test_second_result_for_a_call_is_ignored(lab_tables):
    rec = lab_tables.create_call("u1", "lab-1", "get_pv1()", ttl=30)
    lab_tables.complete_call(rec.id, "done", result=1.0)
    assert lab_tables.complete_call(rec.id, "failed", error="late") is False
    assert lab_tables.get_call(rec.id).result == 1.0


def test_pending_call_past_expiry_reads_as_failed(lab_tables):
    rec = lab_tables.create_call("u1", "lab-1", "get_pv1()", ttl=-10)
    got = lab_tables.get_call(rec.id)
    assert (got.status, got.error) == ("failed", "the device did not answer in time")


def test_wait_for_call_returns_pending_after_timeout(lab_tables):
    rec = lab_tables.create_call("u1", "lab-1", "get_pv1()", ttl=30)
    started = time.monotonic()
    got = lab_tables.wait_for_call(rec.id, timeout=0.2)
    assert got.status == "pending"
    assert 0.2 <= time.monotonic() - started < 1.0


def test_wait_for_call_returns_done_at_once(lab_tables):
    rec = lab_tables.create_call("u1", "lab-1", "get_pv1()", ttl=30)
    lab_tables.complete_call(rec.id, "done", result=2.0)
    assert lab_tables.wait_for_call(rec.id, timeout=5).result == 2.0


def test_wait_for_unknown_call_is_none(lab_tables):
    assert lab_tables.wait_for_call("nope", timeout=1) is None


def test_device_online_after_status(lab_tables):
    lab_tables.record_device_status("lab-1", True, 1.0)
    (dev,) = lab_tables.list_devices()
    assert dev.to_json()["online"] is True
    assert lab_tables.pick_device() == "lab-1"


def test_device_offline_after_will(lab_tables):
    lab_tables.record_device_status("lab-1", True, 5.0)
    lab_tables.record_device_status("lab-1", False, 1.0)
    assert lab_tables.get_device("lab-1").is_online() is False
    assert lab_tables.pick_device() is None
    assert lab_tables.pick_device("lab-1") is None


def test_scripts_are_listed_per_user(lab_tables):
    a = lab_tables.create_script("alice", "one", "print(1)")
    lab_tables.create_script("bob", "two", "print(2)")
    assert [s.id for s in lab_tables.list_scripts("alice")] == [a.id]


def test_other_users_script_is_not_found(lab_tables):
    a = lab_tables.create_script("alice", "one", "print(1)")
    assert lab_tables.get_script("bob", a.id) is None
    assert lab_tables.update_script("bob", a.id, title="mine") is None
    assert lab_tables.delete_script("bob", a.id) is False
    assert lab_tables.get_script("alice", a.id).title == "one"


def test_script_update_changes_only_given_fields(lab_tables):
    a = lab_tables.create_script("alice", "one", "print(1)")
    lab_tables.update_script("alice", a.id, code="print(2)")
    got = lab_tables.get_script("alice", a.id)
    assert (got.title, got.code) == ("one", "print(2)")
    assert got.updated_at >= got.created_at


def test_deleted_script_is_gone(lab_tables):
    a = lab_tables.create_script("alice", "one", "print(1)")
    assert lab_tables.delete_script("alice", a.id) is True
    assert lab_tables.get_script("alice", a.id) is None


def test_run_output_is_ordered_by_seq_whatever_the_arrival(lab_tables):
    run = lab_tables.create_run("alice", "lab-1", "example:multimeter.py", ttl=30)
    lab_tables.put_run_output(run.id, 2, [{"type": "text", "text": "c"}])
    lab_tables.put_run_output(run.id, 0, [{"type": "text", "text": "a"}])
    lab_tables.put_run_output(run.id, 1, [{"type": "text", "text": "b"}])
    lab_tables.put_run_output(run.id, 1, [{"type": "text", "text": "dup"}])
    assert [w["text"] for w in lab_tables.get_run_output(run.id)] == ["a", "b", "c"]


def test_final_run_status_is_never_undone(lab_tables):
    run = lab_tables.create_run("alice", "lab-1", "script:x", ttl=30)
    assert lab_tables.set_run_status(run.id, "running") is True
    assert lab_tables.set_run_status(run.id, "done", last_seq=3) is True
    assert lab_tables.set_run_status(run.id, "running") is False
    assert lab_tables.set_run_status(run.id, "failed", reason="late") is False
    got = lab_tables.get_run(run.id)
    assert (got.status, got.reason, got.last_seq) == ("done", None, 3)


@pytest.mark.parametrize("status", ["done", "failed", "timeout"])
def test_run_can_end_straight_from_queued(lab_tables, status):
    run = lab_tables.create_run("alice", "lab-1", "script:x", ttl=30)
    assert lab_tables.set_run_status(run.id, status, reason="why") is True
    assert lab_tables.get_run(run.id).status == status


def test_create_tables_is_idempotent(lab_tables):
    lab_tables.create_tables()
    assert lab_tables.Script.exists() is True
