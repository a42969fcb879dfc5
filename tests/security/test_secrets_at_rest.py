"""Secrets at rest (issue 9, item 16): encrypted with a key that exists only in the secret
store, never derived from a default; a Lambda container without it refuses to start."""

from __future__ import annotations

import boto3
import pytest
from openevent import data_key


@pytest.fixture
def no_data_key(monkeypatch):
    monkeypatch.delenv(data_key.DATA_KEY_ENV, raising=False)
    monkeypatch.delenv("OPENEVENT_SECRETS_ARN", raising=False)
    data_key.fernet.cache_clear()
    from openevent import secrets

    secrets._secret_document.cache_clear()
    yield
    data_key.fernet.cache_clear()


def _raw_settings_item():
    from openevent.models.system import SystemSettings

    table = boto3.client("dynamodb", region_name="us-east-1")
    return table.get_item(TableName=SystemSettings.Meta.table_name,
                          Key={"id": {"S": "1"}})["Item"]


def test_platform_secrets_are_stored_encrypted_and_read_in_clear(api, make_user):
    from openevent.platform.settings import get_system_settings

    admin = make_user(admin=True)
    resp = api.patch("/v1/settings", {"data": {"type": "setting", "id": "1", "attributes": {
        "stripe-secret-key": "sk_live_do_not_store_plain", "paypal-secret": "pp-plain-secret"}}},
        token=admin.token)
    assert resp.status == 200, resp.body
    raw = str(_raw_settings_item())
    assert "sk_live_do_not_store_plain" not in raw and "pp-plain-secret" not in raw
    assert "enc:v1:" in raw
    settings = get_system_settings()
    assert settings.stripe_secret_key == "sk_live_do_not_store_plain"
    assert settings.paypal_secret == "pp-plain-secret"


def test_without_a_key_nothing_is_encrypted_with_a_made_up_one(no_data_key):
    with pytest.raises(data_key.MissingDataKey):
        data_key.encrypt("acct-token")


def test_a_lambda_container_without_the_key_refuses_to_start(no_data_key, monkeypatch):
    from openevent.web import create_app

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "openevent-orders")
    with pytest.raises(data_key.MissingDataKey):
        create_app("orders")


def test_the_key_comes_from_the_deployment_secret_in_aws(no_data_key, monkeypatch, aws):
    import json

    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="openevent-test", SecretString=json.dumps({"data_key": key}))["ARN"]
    monkeypatch.setenv("OPENEVENT_SECRETS_ARN", arn)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "openevent-orders")
    data_key.require_in_aws()
    token = data_key.encrypt("secret")
    assert Fernet(key.encode()).decrypt(token.removeprefix(data_key.PREFIX).encode()) == \
        b"secret"
