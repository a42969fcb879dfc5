"""The lab-host registration script against moto's IoT control plane."""

from __future__ import annotations

import stat

import boto3
import pytest
from moto import mock_aws

from infra import register_lab_host as reg

LAB_POLICY, LAB_THING_TYPE = reg.POLICY, reg.THING_TYPE


@pytest.fixture
def iot():
    # moto's state may be shared with other tests in this process: create what is missing,
    # remove what we created
    with mock_aws():
        client = boto3.client("iot", region_name="us-east-1")
        types = {t["thingTypeName"] for t in client.list_thing_types()["thingTypes"]}
        if LAB_THING_TYPE not in types:
            client.create_thing_type(thingTypeName=LAB_THING_TYPE)
        if LAB_POLICY not in {p["policyName"] for p in client.list_policies()["policies"]}:
            client.create_policy(policyName=LAB_POLICY, policyDocument=(
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                '"Action":"iot:Connect","Resource":"*"}]}'))
        yield client


def test_register_creates_thing_certificate_and_attachments(iot, tmp_path):
    info = reg.register(iot, "lab-1", tmp_path)
    thing = iot.describe_thing(thingName="lab-1")
    assert thing["thingTypeName"] == LAB_THING_TYPE
    assert iot.list_thing_principals(thingName="lab-1")["principals"] == [
        info["certificate_arn"]]
    policies = iot.list_attached_policies(target=info["certificate_arn"])["policies"]
    assert [p["policyName"] for p in policies] == [LAB_POLICY]
    key = tmp_path / "lab-1.private.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "BEGIN" in (tmp_path / "lab-1.cert.pem").read_text()
    assert "--device-id lab-1" in info["command"] and info["endpoint"]

    reg.remove(iot, "lab-1")
    assert "lab-1" not in {t["thingName"] for t in iot.list_things()["things"]}
    assert info["certificate_arn"] not in {
        c["certificateArn"] for c in iot.list_certificates()["certificates"]}


def test_register_refuses_a_name_the_topics_cannot_carry(iot, tmp_path):
    with pytest.raises(ValueError, match="device name"):
        reg.register(iot, "lab/1/#", tmp_path)


def test_destroy_is_refused_naming_registered_hosts_unless_deregistered(iot, tmp_path):
    for name in ("lab-b", "lab-a"):
        reg.register(iot, name, tmp_path)
    reason = reg.before_destroy(iot, deregister=False)
    assert reason is not None and "lab-a, lab-b" in reason and "DEREGISTER_LAB_HOSTS=1" in reason
    assert reg.registered(iot) == ["lab-a", "lab-b"]  # nothing removed
    with pytest.raises(SystemExit, match="make destroy refused: lab hosts are registered"):
        reg.main(["--before-destroy", "--region", "us-east-1"])
    assert reg.before_destroy(iot, deregister=True) is None
    assert reg.registered(iot) == []
    assert reg.before_destroy(iot, deregister=False) is None  # nothing left: destroy goes on
