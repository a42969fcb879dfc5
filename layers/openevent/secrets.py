"""Secrets in AWS: one Secrets Manager secret (JSON) named by `OPENEVENT_SECRETS_ARN`.

Locally and in tests, secrets come from the environment instead. Values are read once per
container and never logged.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from openevent.settings import SecretStr


@lru_cache(maxsize=1)
def _secret_document() -> dict[str, str]:
    arn = os.environ.get("OPENEVENT_SECRETS_ARN")
    if not arn:
        return {}
    from openevent import aws

    raw = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    value = json.loads(raw)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def secret(name: str, env_value: str = "") -> SecretStr:
    """`env_value` when set (local runs, tests), else key `name` of the deployment secret."""
    return SecretStr(env_value or _secret_document().get(name, ""))
