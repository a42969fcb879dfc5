"""The durable store's rules, on files alone: what is refused, what --recover keeps."""

from __future__ import annotations

import threading

import pytest
from openevent.local import store


def _journal(root, number, payloads):
    journal = store.Journal(store.journal_path(root, number))
    for payload in payloads:
        journal.sync(journal.append(payload))
    journal.close()
    return store.journal_path(root, number)


def _generation(root, number, blobs=None):
    blobs = blobs or {}
    s3 = {"buckets": [{"name": "b", "region": "us-east-1", "objects": [
        {"key": f"k{i}", "sha256": digest} for i, digest in enumerate(blobs)]}]}
    return store.write_generation(root, number, {"tables": []}, s3, blobs)


def test_an_empty_store_plans_nothing(tmp_path):
    plan = store.plan(tmp_path / "store")
    assert (plan.generation, plan.records, plan.append_to) == (None, 0, 0)


def test_generation_then_journals_in_order(tmp_path):
    _journal(tmp_path, 0, [b"a"])
    _generation(tmp_path, 1)
    _journal(tmp_path, 1, [b"b", b"c"])
    _journal(tmp_path, 2, [b"d"])  # cut 2 was opened but its generation never written
    plan = store.plan(tmp_path)
    assert plan.generation == 1
    assert list(plan.replay()) == [b"b", b"c", b"d"]
    assert plan.append_to == 2


@pytest.mark.parametrize("damage, problem", [
    (lambda data: data[:-3], "torn record 2"),
    (lambda data: data[:-8] + b"XXXXXXXX", "checksum mismatch in record 2"),
    (lambda data: b"", "empty file"),
])
def test_a_damaged_journal_is_refused_naming_the_record(tmp_path, damage, problem):
    path = _journal(tmp_path, 0, [b"first record", b"second record"])
    path.write_bytes(damage(path.read_bytes()))
    before = path.read_bytes()
    with pytest.raises(store.DamagedData) as caught:
        store.plan(tmp_path)
    assert caught.value.path == path and problem in caught.value.problem
    assert path.read_bytes() == before


def test_a_changed_or_missing_generation_file_is_refused(tmp_path):
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # "test"
    gen = _generation(tmp_path, 1, {digest: b"test"})
    (gen / "objects" / digest).write_bytes(b"TEST")  # same size, other bytes
    with pytest.raises(store.DamagedData, match="checksum mismatch") as caught:
        store.plan(tmp_path)
    assert caught.value.path == gen / "objects" / digest
    gen = _generation(tmp_path, 2)
    (gen / "s3.json").write_text("{}")
    with pytest.raises(store.DamagedData) as caught:
        store.plan(tmp_path)
    assert caught.value.path == gen / "s3.json"
    (gen / store.MANIFEST).unlink()
    with pytest.raises(store.DamagedData, match="incomplete"):
        store.plan(tmp_path)


def test_a_gap_in_the_journal_chain_is_refused(tmp_path):
    _generation(tmp_path, 1)
    _journal(tmp_path, 1, [b"a"])
    _journal(tmp_path, 3, [b"c"])
    with pytest.raises(store.DamagedData) as caught:
        store.plan(tmp_path)
    assert caught.value.path == store.journal_path(tmp_path, 2)


def test_recover_keeps_the_previous_generation_and_every_linked_record(tmp_path):
    _generation(tmp_path, 1)
    _journal(tmp_path, 1, [b"a", b"b"])
    newest = _generation(tmp_path, 2)
    torn = _journal(tmp_path, 2, [b"c", b"d"])
    _journal(tmp_path, 3, [b"e"])
    (newest / "dynamodb.json").write_text("[]")
    torn.write_bytes(torn.read_bytes()[:-1])
    notes = store.repair(tmp_path)
    plan = store.plan(tmp_path)
    assert plan.generation == 1
    assert list(plan.replay()) == [b"a", b"b", b"c"]  # journal 3 followed the lost "d"
    aside = next(tmp_path.glob("damaged-*"))
    assert sorted(p.name for p in aside.iterdir()) == [
        "gen-000002", "journal-000002.log", "journal-000003.log"]
    assert any("kept the 1 valid records" in note for note in notes)


def test_a_generation_appears_whole_and_unchanged_bodies_are_linked(tmp_path):
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # "test"
    first = _generation(tmp_path, 1, {digest: b"test"})
    second = store.write_generation(tmp_path, 2, {"tables": []}, {"buckets": [
        {"name": "b", "region": "us-east-1", "objects": [{"key": "k", "sha256": digest}]}]},
        {})
    assert (second / "objects" / digest).stat().st_ino == (first / "objects" / digest).stat(
        ).st_ino
    assert not list(tmp_path.glob(".gen-*"))
    assert store.plan(tmp_path).generation == 2
    store.prune(tmp_path, keep_from=2)
    assert (second / "objects" / digest).read_bytes() == b"test"
    assert not first.exists()


def test_group_commit_acknowledges_every_concurrent_append(tmp_path):
    journal = store.Journal(tmp_path / "journal-000000.log")
    lock = threading.Lock()

    def write(n):
        for i in range(50):
            with lock:
                seq = journal.append(f"{n}-{i}".encode())
            journal.sync(seq)
            assert journal.synced >= seq

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    scan = store.scan_journal(tmp_path / "journal-000000.log")
    assert scan.problem is None and len(scan.records) == 200
