"""Each function group's Chalice app, loaded as its Lambda loads it, and the API Gateway
description (swagger) Chalice generates for it, every integration invoking the group's
function and the binary media types the group answers with (PDFs).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import aws_cdk as cdk

from infra import package

ROOT = package.ROOT


def load_chalice_app(group: str) -> Any:
    """Import functions/<group>/app.py as `app` (each group in turn) and return its app."""
    sys.modules.pop("app", None)
    spec = importlib.util.spec_from_file_location("app", ROOT / "functions" / group / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    sys.modules.pop("app", None)
    return module.app


def chalice_swagger(app: Any, function_arn: str) -> dict[str, Any]:
    """Chalice's swagger for `app`, every integration invoking `function_arn`."""
    from chalice.deploy.swagger import CFNSwaggerGenerator

    class Generator(CFNSwaggerGenerator):  # type: ignore[misc]
        def _uri(self, lambda_arn: Any = None) -> Any:
            return (f"arn:{cdk.Aws.PARTITION}:apigateway:{cdk.Aws.REGION}:lambda:path"
                    f"/2015-03-31/functions/{function_arn}/invocations")

    from openevent.web import gateway_binary_media_types

    swagger: dict[str, Any] = Generator().generate_swagger(app)
    swagger["x-amazon-apigateway-binary-media-types"] = gateway_binary_media_types(app)
    return swagger
