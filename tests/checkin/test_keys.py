"""The ticket-signing key ring: made once and kept, refused when damaged, rotated in a file or
in the deployment secret (Secrets Manager), and read from either (openevent.signing.keys)."""

from __future__ import annotations

import json
import os
import stat

import boto3
import pytest
from openevent.local.runtime import StartupError, check_ticket_keys
from openevent.signing import codes, keys


def test_file_is_made_once_private_and_kept(tmp_path):
    path = tmp_path / "ticket-keys.json"
    keys.ensure_file(path)
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys.ensure_file(path)
    assert path.read_text() == first  # a restart keeps the keys (tickets stay valid)
    ring = keys.parse(first)
    assert ring.active == 1 and len(ring.private) == 1


def test_two_rings_never_share_a_key(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    keys.ensure_file(a)
    keys.ensure_file(b)
    assert keys.parse(a.read_text()).public[1].public_bytes_raw() != \
        keys.parse(b.read_text()).public[1].public_bytes_raw()


@pytest.mark.parametrize("content", ["", "{", '{"active": 2, "keys": {}}',
                                     '{"active": 1, "keys": {"1": {"private": "AAAA"}}}'])
def test_damaged_ring_refuses_the_start(tmp_path, monkeypatch, content):
    monkeypatch.delenv(keys.KEYS_FILE_ENV, raising=False)
    (tmp_path / "ticket-keys.json").write_text(content)
    with pytest.raises(StartupError, match="ticket-signing keys"):
        check_ticket_keys(tmp_path)


def test_rotation_in_a_file_keeps_old_tickets_verifiable(tmp_path, monkeypatch, capsys):
    path = tmp_path / "ticket-keys.json"
    keys.ensure_file(path)
    monkeypatch.setenv(keys.KEYS_FILE_ENV, str(path))
    keys.reset_cache()
    claim = codes.TicketClaim(1, 10, 20, 30, 1)
    old = codes.sign(claim, keys.ring().private[1])
    assert keys.main(["rotate", "--file", str(path)]) == 0
    ring = keys.ring()  # the changed file is read again
    assert ring.active == 2
    assert codes.verify(old, ring.public) == claim
    assert keys.main(["list", "--file", str(path)]) == 0
    listed = capsys.readouterr().out
    assert "2\t" in listed and "(signs)" in listed and "private" not in listed
    keys.reset_cache()


def test_the_deployment_secret_holds_and_rotates_the_ring(aws, monkeypatch):
    client = boto3.client("secretsmanager", region_name="us-east-1")
    ring_doc = keys.new_document()
    arn = client.create_secret(Name=f"openevent-test-{os.getpid()}", SecretString=json.dumps({
        "jwt_secret": "x" * 40, "data_key": "y", "ticket_keys": json.dumps(ring_doc)}))["ARN"]
    monkeypatch.delenv(keys.KEYS_FILE_ENV)
    monkeypatch.setenv("OPENEVENT_SECRETS_ARN", arn)
    keys.reset_cache()
    try:
        assert keys.ring().active == 1
        assert keys.rotate_secret(arn, client) == 2
        stored = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert stored["jwt_secret"] == "x" * 40  # the other secrets are kept
        assert json.loads(stored["ticket_keys"])["active"] == 2
        keys.reset_cache()
        assert sorted(keys.ring().private) == [1, 2]
    finally:
        keys.reset_cache()


def test_no_ring_no_signing(monkeypatch):
    monkeypatch.delenv(keys.KEYS_FILE_ENV)
    monkeypatch.delenv("OPENEVENT_SECRETS_ARN", raising=False)
    keys.reset_cache()
    try:
        with pytest.raises(keys.MissingTicketKeys):
            keys.ring()
    finally:
        keys.reset_cache()


@pytest.mark.slow
def test_the_runtime_refuses_to_start_on_a_damaged_ring(tmp_path):
    """`python -m openevent.local` with a damaged key ring: one line, exit 2, nothing changed."""
    import subprocess
    import sys

    from openevent.lab.localbroker import free_port

    from tests.e2e.conftest import ROOT, runtime_env

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "ticket-keys.json").write_text('{"active": 1, "keys": {}}')
    done = subprocess.run([sys.executable, "-m", "openevent.local"], cwd=ROOT,
                          env=runtime_env(data_dir, free_port(), OPENEVENT_LAB="0",
                                          OPENEVENT_PAYMENT_SANDBOX="0"),
                          capture_output=True, text=True, timeout=120)
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and "ticket-signing keys" in err and "damaged" in err
    assert sorted(p.name for p in data_dir.iterdir()) == ["ticket-keys.json"]
