"""The local runtime's durable store: snapshot generations plus a write-ahead journal.

Layout under `<data dir>/store/`:

    gen-000007/            snapshot generation 7: one consistent cut of every table and object
        MANIFEST.json      the sha256 of every file of the generation (and its own checksum)
        dynamodb.json      tables (definition + items, DynamoDB wire JSON), TTL settings
        s3.json            buckets and objects (key, sha256, content type, metadata)
        objects/<sha256>   object bodies (hard-linked from the previous generation if unchanged)
    gen-000006/            the previous generation, kept
    journal-000006.log     every mutating AWS call between cut 6 and cut 7
    journal-000007.log     every mutating AWS call since cut 7 (being appended to)

The state is `gen-G` (the newest generation; none means empty) followed by journals G, G+1,
… replayed in order. A generation is written as `.gen-N.tmp/`, fsync'd and renamed into
place, so it appears whole or not at all; journal N is opened at cut N, before generation N
is written, so a crash at any point leaves a state that replays to the last acknowledged
write. A journal record is `length, crc32, payload`; a record is appended and fsync'd
(group commit) before the AWS call answers.

Anything that does not check out (a checksum, a torn record, a missing link of the chain) is
refused by `plan()` with `DamagedData`, naming the file; nothing is modified. `repair()` (the
runtime's `--recover`) moves the damaged files aside into `damaged-<time>/`, keeps the
valid prefix of a damaged journal, and leaves a store `plan()` accepts: the newest valid
generation plus every journal record that still links to it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
JOURNAL_MAGIC = b"OPENEVENT-JOURNAL 1\n"
_RECORD = struct.Struct(">II")  # payload length, crc32(payload)
_GEN = re.compile(r"^gen-(\d{6})$")
_JOURNAL = re.compile(r"^journal-(\d{6})\.log$")
MANIFEST = "MANIFEST.json"


class DamagedData(Exception):
    """A file of the store failed a check; `str()` is the one line shown to the user."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class JournalError(Exception):
    """The journal cannot be written (disk full, I/O error): no write can be acknowledged."""


class JournalFull(JournalError):
    """No space left for the record (ENOSPC, EDQUOT): the partial record was cut away, so
    the journal is whole and the next append may succeed once space returns."""


_FULL = {errno.ENOSPC, errno.EDQUOT}


def store_dir(data_dir: Path) -> Path:
    return data_dir / "store"


def gen_path(store: Path, number: int) -> Path:
    return store / f"gen-{number:06d}"


def journal_path(store: Path, number: int) -> Path:
    return store / f"journal-{number:06d}.log"


def _numbers(store: Path, pattern: re.Pattern[str]) -> list[int]:
    if not store.is_dir():
        return []
    found = []
    for entry in store.iterdir():
        match = pattern.match(entry.name)
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- journal ----------------------------------------------------------------------------
@dataclass
class JournalScan:
    path: Path
    records: list[bytes]
    valid_bytes: int  # length of the valid prefix
    problem: str | None  # None when the whole file checks out


def scan_journal(path: Path) -> JournalScan:
    """Read every record; a damaged or torn record ends the valid prefix (`problem`)."""
    data = path.read_bytes()
    if not data.startswith(JOURNAL_MAGIC):
        problem = "empty file (no journal header)" if not data else "not a journal (bad header)"
        return JournalScan(path, [], 0, problem)
    records: list[bytes] = []
    offset = len(JOURNAL_MAGIC)
    while offset < len(data):
        if offset + _RECORD.size > len(data):
            return JournalScan(path, records, offset,
                               f"torn record {len(records) + 1} at byte {offset} (file cut short)")
        length, crc = _RECORD.unpack_from(data, offset)
        start = offset + _RECORD.size
        if start + length > len(data):
            return JournalScan(path, records, offset,
                               f"torn record {len(records) + 1} at byte {offset} (file cut short)")
        payload = data[start:start + length]
        if zlib.crc32(payload) != crc:
            return JournalScan(path, records, offset,
                               f"checksum mismatch in record {len(records) + 1} at byte {offset}")
        records.append(payload)
        offset = start + length
    return JournalScan(path, records, offset, None)


def frame(payload: bytes) -> bytes:
    return _RECORD.pack(len(payload), zlib.crc32(payload)) + payload


class Journal:
    """Append-only, fsync'd with group commit: `seq = append(p)` then `sync(seq)`.

    A new journal appears whole: its header is written to a temporary file, fsync'd and
    renamed into place (a full disk leaves no headerless journal behind). An append that
    fails (disk full) is cut away at once (`ftruncate` to the previous end), so the file
    never keeps a torn record while the process lives. `discard(seq)` drops the last record
    (its call failed and changed nothing). `unlinked()` tells whether the file was deleted
    or replaced under the running process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists() or path.stat().st_size == 0:
            _create_journal(path)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self.inode = os.fstat(self.fd).st_ino
        self.end = os.fstat(self.fd).st_size  # byte offset of the end of the last record
        self.appended = 0
        self.synced = 0
        self.size = 0
        self._sync_lock = threading.Lock()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def append(self, payload: bytes) -> int:
        """Append one record (the caller serializes appends); returns its sequence number.
        Raises `JournalFull` (nothing kept) when the disk is full."""
        record = frame(payload)
        try:
            self._write(record)
        except OSError as exc:
            try:
                os.ftruncate(self.fd, self.end)  # no torn record left behind
            except OSError as cut:
                raise JournalError(f"cannot write {self.path}: {exc.strerror or exc}; "
                                   f"cutting the partial record failed too: {cut}") from exc
            kind = JournalFull if exc.errno in _FULL else JournalError
            raise kind(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.end += len(record)
        self.appended += 1
        self.size += len(record)
        return self.appended

    def discard(self, seq: int, payload: bytes) -> None:
        """Drop record `seq`, the last one appended (the caller still serializes appends)."""
        with self._sync_lock:  # a group commit must not count the dropped record as synced
            assert seq == self.appended, "only the last record can be discarded"
            length = _RECORD.size + len(payload)
            os.ftruncate(self.fd, self.end - length)
            self.end -= length
            self.size -= length
            self.appended -= 1
            self.synced = min(self.synced, self.appended)

    def sync(self, seq: int) -> None:
        """Return once record `seq` is on disk; one fsync covers every record appended so
        far (the waiting callers share it)."""
        with self._sync_lock:
            if self.synced >= seq:
                return
            target = self.appended
            try:
                os.fdatasync(self.fd)
            except OSError as exc:
                raise JournalError(f"cannot sync {self.path}: {exc.strerror or exc}") from exc
            self.synced = target

    def unlinked(self) -> bool:
        """Whether the open file is no longer the journal at `path` (deleted or replaced)."""
        try:
            if os.fstat(self.fd).st_nlink == 0:
                return True
            return os.stat(self.path).st_ino != self.inode
        except OSError:
            return True

    def close(self) -> None:
        with self._sync_lock:
            if self.fd >= 0:
                try:
                    os.fsync(self.fd)
                    self.synced = self.appended
                finally:
                    os.close(self.fd)
                    self.fd = -1


def _create_journal(path: Path) -> None:
    """Write an empty journal (its header) whole, or nothing at all."""
    tmp = path.with_name(path.name + ".new")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, JOURNAL_MAGIC)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        kind = JournalFull if exc.errno in _FULL else JournalError
        raise kind(f"cannot create {path}: {exc.strerror or exc}") from exc


def encode_request(environ: dict[str, Any], body: bytes) -> bytes:
    """A journal payload: the request's WSGI environ (text keys only) and its body."""
    keep = {k: v for k, v in environ.items()
            if isinstance(v, str) and (k.startswith("HTTP_") or k.isupper())
            and k not in {"HTTP_TRANSFER_ENCODING", "CONTENT_LENGTH", "REMOTE_PORT"}}
    return json.dumps(keep, separators=(",", ":")).encode() + b"\n" + body


def decode_request(payload: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = payload.partition(b"\n")
    return json.loads(head), body


# -- generations ------------------------------------------------------------------------
def _manifest_checksum(files: dict[str, Any], generation: int) -> str:
    canonical = json.dumps({"files": files, "generation": generation, "format": FORMAT},
                           sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()


def check_generation(path: Path, number: int) -> None:
    """Raise `DamagedData` unless every file of the generation matches its manifest."""
    manifest_file = path / MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text())
        files = manifest["files"]
        ok = (manifest.get("format") == FORMAT and manifest.get("generation") == number
              and manifest.get("checksum") == _manifest_checksum(files, number))
    except FileNotFoundError:
        raise DamagedData(manifest_file, "missing (generation incomplete)") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise DamagedData(manifest_file, "unreadable or not a manifest") from None
    if not ok:
        raise DamagedData(manifest_file, "manifest checksum mismatch")
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise DamagedData(file, "missing")
        if file.stat().st_size != expected["size"] or sha256_file(file) != expected["sha256"]:
            raise DamagedData(file, "checksum mismatch (file changed or cut short)")


def read_generation(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dynamodb, s3) documents of a checked generation."""
    return (json.loads((path / "dynamodb.json").read_text()),
            json.loads((path / "s3.json").read_text()))


def write_generation(store: Path, number: int, dynamodb: dict[str, Any], s3: dict[str, Any],
                     blobs: dict[str, bytes]) -> Path:
    """Write generation `number` whole (temp dir, fsync, rename); returns its path.

    `blobs` holds new object bodies by sha256; bodies the s3 document refers to but `blobs`
    lacks are hard-linked from the newest existing generation that has them."""
    final = gen_path(store, number)
    tmp = store / f".gen-{number:06d}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        _write_generation(store, tmp, final, number, dynamodb, s3, blobs)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a full disk: give the space back at once
        raise
    return final


def _write_generation(store: Path, tmp: Path, final: Path, number: int,
                      dynamodb: dict[str, Any], s3: dict[str, Any],
                      blobs: dict[str, bytes]) -> None:
    (tmp / "objects").mkdir(parents=True)
    files: dict[str, Any] = {}

    def put(name: str, data: bytes) -> None:
        file = tmp / name
        with file.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    put("dynamodb.json", json.dumps(dynamodb, separators=(",", ":")).encode())
    put("s3.json", json.dumps(s3, separators=(",", ":")).encode())
    older = [gen_path(store, n) for n in reversed(_numbers(store, _GEN))]
    needed = {obj["sha256"] for bucket in s3["buckets"] for obj in bucket["objects"]}
    for digest in sorted(needed):
        name = f"objects/{digest}"
        if digest in blobs:
            put(name, blobs[digest])
            continue
        source = next((g / name for g in older if (g / name).is_file()), None)
        if source is None:
            raise FileNotFoundError(f"object body {digest} is in no generation")
        os.link(source, tmp / name)
        files[name] = {"sha256": digest, "size": source.stat().st_size}
    manifest = {"format": FORMAT, "generation": number, "files": files,
                "checksum": _manifest_checksum(files, number), "written": time.time()}
    put(MANIFEST, json.dumps(manifest, indent=1).encode())
    del files[MANIFEST]
    fsync_dir(tmp / "objects")
    fsync_dir(tmp)
    os.replace(tmp, final)
    fsync_dir(store)


def prune(store: Path, keep_from: int) -> None:
    """Delete generations and journals older than `keep_from` (the previous generation)."""
    for number in _numbers(store, _GEN):
        if number < keep_from:
            shutil.rmtree(gen_path(store, number), ignore_errors=True)
    for number in _numbers(store, _JOURNAL):
        if number < keep_from:
            journal_path(store, number).unlink(missing_ok=True)
    for leftover in store.glob(".gen-*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in store.glob("journal-*.log.new"):
        leftover.unlink(missing_ok=True)


# -- start: what to load ----------------------------------------------------------------
@dataclass
class Plan:
    """What a start loads: generation `generation` (None: empty) then `journals` in order."""

    generation: int | None
    journals: list[JournalScan] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(len(j.records) for j in self.journals)

    @property
    def append_to(self) -> int:
        """The journal new writes go to (the last one of the chain)."""
        if self.journals:
            return int(self.journals[-1].path.name[8:14])
        return self.generation or 0

    def replay(self) -> Iterator[bytes]:
        for journal in self.journals:
            yield from journal.records


def plan(store: Path) -> Plan:
    """Check the store and say what to load; raise `DamagedData` on anything wrong.
    Reads only."""
    gens = _numbers(store, _GEN)
    journals = _numbers(store, _JOURNAL)
    generation = gens[-1] if gens else None
    if generation is not None:
        check_generation(gen_path(store, generation), generation)
    start = generation or 0
    chain = [n for n in journals if n >= start]
    if chain and chain != list(range(start, start + len(chain))):
        missing = next(n for n in range(start, chain[-1]) if n not in chain)
        raise DamagedData(journal_path(store, missing),
                          "missing (the journal chain after the newest generation is broken)")
    if generation is None and not chain and journals:
        raise DamagedData(gen_path(store, journals[0]), "missing (its journal is present)")
    scans = []
    for number in chain:
        scan = scan_journal(journal_path(store, number))
        if scan.problem is not None:
            raise DamagedData(scan.path, scan.problem)
        scans.append(scan)
    return Plan(generation, scans)


def repair(store: Path) -> list[str]:
    """`--recover`: make the store loadable from the newest valid generation and the valid
    journal records linked to it. Damaged files are moved aside, never deleted. Returns a
    line per action."""
    notes: list[str] = []
    aside = store / f"damaged-{time.strftime('%Y%m%d-%H%M%S')}"

    def move_aside(path: Path, why: str) -> None:
        aside.mkdir(exist_ok=True)
        shutil.move(str(path), aside / path.name)
        notes.append(f"moved {path.name} to {aside} ({why})")

    gens = _numbers(store, _GEN)
    chosen: int | None = None
    for number in reversed(gens):
        try:
            check_generation(gen_path(store, number), number)
        except DamagedData as exc:
            move_aside(gen_path(store, number), exc.problem)
            continue
        chosen = number
        break
    start = chosen or 0
    broken = False
    for number in _numbers(store, _JOURNAL):
        path = journal_path(store, number)
        if number < start:
            continue
        if broken or number != start + 0 and not journal_path(store, number - 1).exists():
            move_aside(path, "after a gap in the journal chain")
            broken = True
            continue
        scan = scan_journal(path)
        if scan.problem is None:
            continue
        data = path.read_bytes()[:scan.valid_bytes] if scan.valid_bytes else b""
        move_aside(path, scan.problem)
        keep = path.with_name(path.name + ".tmp")
        with keep.open("wb") as fh:
            fh.write(data or JOURNAL_MAGIC)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(keep, path)
        fsync_dir(store)
        notes.append(f"kept the {len(scan.records)} valid records of {path.name}")
        broken = True  # later journals continued from records that are now gone
    if chosen is not None:
        notes.append(f"starting from generation {chosen}")
    elif gens:
        notes.append("no valid generation left: starting from the journal alone")
    return notes


class InUse(Exception):
    """Another process holds the store (two runtimes on one data dir would interleave)."""


def lock(store: Path, wait: float = 0.0) -> int:
    """Take the store's exclusive lock (held until the process exits); returns its fd.
    `wait` covers a previous owner that is still exiting (its runtime was just killed)."""
    import fcntl

    store.mkdir(parents=True, exist_ok=True)
    fd = os.open(store / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise InUse(f"openevent: {store.parent} is in use by another running "
                            "instance (its embedded AWS holds store/LOCK); stop it first, "
                            "or use another OPENEVENT_DATA_DIR.") from None
            time.sleep(0.1)


def is_locked(store: Path) -> bool:
    """Whether another process holds the store's lock (checks without creating anything)."""
    import fcntl

    if not (store / "LOCK").exists():
        return False
    fd = os.open(store / "LOCK", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def describe(exc: DamagedData) -> str:
    return (f"openevent: damaged data: {exc}. Nothing was changed. Restore the file from a "
            "backup, or start with --recover (`make run RECOVER=1`) to start from the newest "
            "valid generation and journal; damaged files are moved aside, not deleted.")
