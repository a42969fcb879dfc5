"""CDK entry point: `cd infra && cdk synth` (after `make layer`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers")]

import aws_cdk as cdk  # noqa: E402

from infra.stack import OpenEventStack  # noqa: E402

app = cdk.App()
OpenEventStack(app, "OpenEvent")
app.synth()
