"""Local persistence: a snapshot round-trips tables and objects; unchanged objects are not
downloaded again."""

import boto3
from openevent.local.snapshot import export_state, import_state


def test_snapshot_round_trip_and_incremental_objects(aws, make_user, tmp_path, monkeypatch):
    user = make_user()
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="openevent-documents", Key="tickets/x/order.pdf", Body=b"%PDF-1")
    first = export_state(tmp_path)
    assert first >= 2
    calls = []
    real_client = boto3.client

    def counting_client(name, **kw):
        client = real_client(name, **kw)
        if name == "s3":
            original = client.get_object

            def get_object(**params):
                calls.append(params["Key"])
                return original(**params)

            client.get_object = get_object
        return client

    monkeypatch.setattr("openevent.local.snapshot.boto3.client", counting_client)
    export_state(tmp_path)
    assert calls == []  # unchanged object: hard-linked, not downloaded
    assert (tmp_path / "snapshot" / "s3" / "openevent-documents" / "tickets/x/order.pdf"
            ).read_bytes() == b"%PDF-1"
    monkeypatch.undo()

    from tests.conftest import _reset_state

    _reset_state()
    assert import_state(tmp_path) == first
    from openevent.models.users import User

    assert User.get(user.id).email == user.email
    body = s3.get_object(Bucket="openevent-documents", Key="tickets/x/order.pdf")["Body"].read()
    assert body == b"%PDF-1"
