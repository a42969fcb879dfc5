"""CDK entry point: `make synth` (after `make package`), `make deploy`, `make destroy`."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The deployment's table names (`openevent-<table>`): never a prefix from the environment
# (the test suite's `test-`), which the models read at import.
os.environ["OPENEVENT_TABLE_PREFIX"] = "openevent-"
sys.path[:0] = [str(ROOT), str(ROOT / "layers")]

import aws_cdk as cdk  # noqa: E402

from infra.nag import check  # noqa: E402
from infra.stack import OpenEventStack  # noqa: E402

app = cdk.App()
# Compact JSON (no indentation): CloudFormation's template limit is 1,000,000 bytes;
# tests/infra/test_template.py keeps it under 60 % of that.
stack = OpenEventStack(app, "OpenEvent", env=cdk.Environment(
    account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    suppress_template_indentation=True)
check(stack)
app.synth()
