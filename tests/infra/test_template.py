"""The synthesized CloudFormation template: quotas, declarations, cfn-lint, cdk-nag.

Synthesis runs the CDK app (infra/app.py) in the infra virtualenv (`make synth` makes it; so
does `make test`) on the artifacts `make package` builds, once per change of its inputs.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import package, register_lab_host
from infra.routes import API_PATTERNS
from tests.infra import artifacts

ROOT = package.ROOT
OUT = ROOT / "build" / "cdk.out"
INFRA_PYTHON = ROOT / ".venv-infra" / "bin" / "python"
CFN_LINT = ROOT / ".venv-infra" / "bin" / "cfn-lint"
pytestmark = pytest.mark.slow

LAMBDA_SYNC_PAYLOAD = 6 * 1024 * 1024
API_GATEWAY_TIMEOUT_MS = 29_000
CLOUDFRONT_BEHAVIOURS = 25
LAYERS_PER_FUNCTION = 5


def _inputs_digest() -> str:
    files = [*sorted((ROOT / "infra").glob("*.py")), ROOT / "build" / "lambda" / "manifest.json",
             *sorted((ROOT / "functions").glob("*/app.py")),
             *sorted((ROOT / "layers" / "openevent").rglob("*.py"))]
    for site in ("lab", "checkin"):
        folder = ROOT / "web" / site
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
    return package._digest([(str(f.relative_to(ROOT)), f.read_bytes().hex()) for f in files])


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    """Synthesize (or reuse) the template; run cfn-lint on it. Shared by xdist workers."""
    assert INFRA_PYTHON.exists(), "the infra virtualenv is missing: run `make synth`"
    artifacts.build_once()
    with artifacts._lock():
        digest = _inputs_digest()
        stamp = OUT / "inputs.sha"
        if not (stamp.exists() and stamp.read_text() == digest):
            env = {**os.environ, "CDK_OUTDIR": str(OUT), "AWS_DEFAULT_REGION": "us-east-1",
                   "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1"}
            for key in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
                env.pop(key, None)
            subprocess.run([str(INFRA_PYTHON), "app.py"], cwd=ROOT / "infra", env=env,
                           check=True, capture_output=True, timeout=600)
            lint = subprocess.run(  # noqa: S603 - our venv's cfn-lint on our template
                [str(CFN_LINT), "--format", "json", str(OUT / "OpenEvent.template.json")],
                capture_output=True, text=True, timeout=600)
            (OUT / "cfn-lint.json").write_text(lint.stdout or "[]")
            stamp.write_text(digest)
    template = json.loads((OUT / "OpenEvent.template.json").read_text())
    return {"template": template, "lint": json.loads((OUT / "cfn-lint.json").read_text()),
            "nag": list(csv.DictReader((OUT / "AwsSolutions--OpenEvent-NagReport.csv").open()))}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# --- lint ------------------------------------------------------------------------------------

def test_cfn_lint_reports_no_errors(synth):
    errors = [f"{m['Rule']['Id']}: {m['Message']}" for m in synth["lint"]
              if m["Level"] == "Error"]
    assert errors == []


def test_cdk_nag_aws_solutions_has_no_open_finding_and_every_suppression_a_reason(synth):
    rows = synth["nag"]
    assert rows, "no cdk-nag report"
    open_findings = [(r["Rule ID"], r["Resource ID"]) for r in rows
                     if r["Compliance"] == "Non-Compliant"]
    assert open_findings == []
    suppressed = [r for r in rows if r["Compliance"] == "Suppressed"]
    assert all(len(r["Exception Reason"]) > 20 for r in suppressed)


# --- quotas ----------------------------------------------------------------------------------

def test_cloudfront_behaviours_within_the_default_quota(synth):
    (dist,) = _resources(synth["template"], "AWS::CloudFront::Distribution").values()
    config = dist["Properties"]["DistributionConfig"]
    behaviours = config.get("CacheBehaviors", [])
    assert len(behaviours) + 1 <= CLOUDFRONT_BEHAVIOURS
    patterns = {b["PathPattern"] for b in behaviours}
    assert set(API_PATTERNS) <= patterns and "/media/*" in patterns
    api = [b for b in behaviours if b["PathPattern"] in API_PATTERNS]
    assert all(b["FunctionAssociations"][0]["EventType"] == "viewer-request" for b in api)


def test_every_zip_function_is_an_artifact_within_budget_and_layer_limits(synth):
    manifest = package.load_manifest()
    specs = {fn.handler + "@" + fn.group: fn for fn in package.FUNCTIONS}
    functions = _resources(synth["template"], "AWS::Lambda::Function")
    ours = {k: v for k, v in functions.items()
            if str(v["Properties"].get("Handler", "")).startswith("app.")}
    assert len(ours) == len(package.FUNCTIONS)
    seen = set()
    for fn in ours.values():
        props = fn["Properties"]
        desc = props["Description"]  # "openevent <name> (<handler>)"
        name = desc.split()[1]
        spec = next(s for s in specs.values() if s.name == name)
        seen.add(name)
        assert props["Runtime"] == package.RUNTIME == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert len(props["Layers"]) == len(spec.layers) <= LAYERS_PER_FUNCTION
        assert props["Timeout"] <= (29 if spec.handler == "app.app" else 900)
        assert manifest.sizes[name] <= spec.budget_mb * 1_000_000
        assert props["TracingConfig"]["Mode"] == "Active"
        assert "LogGroup" in props["LoggingConfig"]
    assert seen == {fn.name for fn in package.FUNCTIONS}
    images = [f for f in functions.values() if f["Properties"].get("PackageType") == "Image"]
    assert len(images) == 1  # the renderer


def test_api_gateway_timeouts_and_payloads_respected(synth):
    template = synth["template"]
    apis = _resources(template, "AWS::ApiGateway::RestApi")
    assert len(apis) == 4
    integrations = 0
    for api in apis.values():
        for methods in api["Properties"]["Body"]["paths"].values():
            for verb, method in methods.items():
                integration = method["x-amazon-apigateway-integration"]
                integrations += 1
                # CORS preflights are answered by API Gateway itself; the rest by the function
                assert integration["type"] == ("mock" if verb == "options" else "aws_proxy")
                assert integration.get("timeoutInMillis", API_GATEWAY_TIMEOUT_MS) <= \
                    API_GATEWAY_TIMEOUT_MS
    assert integrations > 150
    for fn in _resources(template, "AWS::Lambda::Function").values():
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "OPENEVENT_MAX_BODY_BYTES" in variables:
            assert int(variables["OPENEVENT_MAX_BODY_BYTES"]) < LAMBDA_SYNC_PAYLOAD
    # long work goes through the queue: the renderer is SQS-driven, the queue outlives it
    (queue,) = [q for q in _resources(template, "AWS::SQS::Queue").values()
                if q["Properties"].get("QueueName") == "openevent-document-events"]
    (renderer,) = [f for f in _resources(template, "AWS::Lambda::Function").values()
                   if f["Properties"].get("PackageType") == "Image"]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * renderer["Properties"]["Timeout"]
    assert _resources(template, "AWS::Lambda::EventSourceMapping")


# --- declared --------------------------------------------------------------------------------

def test_secrets_by_arn_generated_at_deploy_never_in_the_environment(synth):
    template = synth["template"]
    (secret_id,) = _resources(template, "AWS::SecretsManager::Secret")
    assert _resources(template, "AWS::CloudFormation::CustomResource")  # values generator
    for fn in _resources(template, "AWS::Lambda::Function").values():
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "OPENEVENT_TABLE_PREFIX" in variables:
            assert variables["OPENEVENT_SECRETS_ARN"] == {"Ref": secret_id}
            assert not {"OPENEVENT_JWT_SECRET", "OPENEVENT_DATA_KEY"} & set(variables)


def test_lab_host_policy_names_only_its_own_topics(synth):
    (policy,) = _resources(synth["template"], "AWS::IoT::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {s["Action"]: json.dumps(s["Resource"]) for s in statements}
    assert set(by_action) == {"iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"}
    for action, resources in by_action.items():
        assert "${iot:Connection.Thing.ThingName}" in resources, action
        assert "/+/" not in resources and "/#" not in resources and "*" not in resources
    assert "/res" in by_action["iot:Publish"] and "/status" in by_action["iot:Publish"]
    assert "/frames" in by_action["iot:Publish"]  # live streams: its own frames topic only
    assert by_action["iot:Subscribe"].count("/cmd") == 1
    assert policy["Properties"]["PolicyName"] == register_lab_host.POLICY
    (thing_type,) = _resources(synth["template"], "AWS::IoT::ThingType").values()
    assert thing_type["Properties"]["ThingTypeName"] == register_lab_host.THING_TYPE
    rules = _resources(synth["template"], "AWS::IoT::TopicRule").values()
    assert sorted(r["Properties"]["TopicRulePayload"]["Sql"].split("FROM ")[1] for r in rules) \
        == ["'lab/v1/+/frames'", "'lab/v1/+/res'", "'lab/v1/+/status'"]


def test_lab_stream_websocket_api(synth):
    """API Gateway WebSocket API: $connect/$disconnect/$default to the socket function, an
    access-logged, throttled stage; the frames rule feeds the frames function; the lab role
    may manage connections of this API's stage only."""
    template = synth["template"]
    (api,) = _resources(template, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {r["Properties"]["RouteKey"]
              for r in _resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert routes == {"$connect", "$disconnect", "$default"}
    (stage,) = _resources(template, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"]
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20
    (integration,) = _resources(template, "AWS::ApiGatewayV2::Integration").values()
    assert "Fnlabstreamsocket" in json.dumps(integration["Properties"]["IntegrationUri"])
    frames = [r for r in _resources(template, "AWS::IoT::TopicRule").values()
              if "frames" in r["Properties"]["TopicRulePayload"]["Sql"]]
    assert "Fnlabstreamframes" in json.dumps(frames[0]["Properties"]["TopicRulePayload"])
    manage = [s for p in _resources(template, "AWS::IAM::Policy").values()
              for s in p["Properties"]["PolicyDocument"]["Statement"]
              if s["Action"] == "execute-api:ManageConnections"]
    assert len(manage) == 1 and "@connections" in json.dumps(manage[0]["Resource"])
    table_names = json.dumps(_resources(template, "AWS::DynamoDB::Table"))
    assert "lab-streams" in table_names


def test_mail_identity_with_bounces_and_complaints_to_a_queue(synth):
    template = synth["template"]
    (identity,) = _resources(template, "AWS::SES::EmailIdentity").values()
    assert identity["Properties"]["ConfigurationSetAttributes"]["ConfigurationSetName"]
    (dest,) = _resources(template, "AWS::SES::ConfigurationSetEventDestination").values()
    config = dest["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(config["MatchingEventTypes"])
    assert "SnsDestination" in config
    assert _resources(template, "AWS::SNS::Subscription")


def _table_name(props: dict[str, Any]) -> str:
    """`openevent-<deployment>-<table>` → `openevent-<table>`."""
    parts = props["TableName"]["Fn::Join"][1]
    return str(parts[0]) + str(parts[-1]).removeprefix("-")


def test_tables_on_demand_with_recovery_and_ttl_where_records_expire(synth):
    tables = {_table_name(t["Properties"]): t["Properties"]
              for t in _resources(synth["template"], "AWS::DynamoDB::Table").values()}
    assert all(t["BillingMode"] == "PAY_PER_REQUEST" for t in tables.values())
    assert all(t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
               for t in tables.values())
    assert tables["openevent-idempotency"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration", "Enabled": True}
    assert tables["openevent-rate-limits"]["TimeToLiveSpecification"]["AttributeName"] == \
        "expires"


def test_tables_are_named_per_deployment_and_functions_use_that_name(synth):
    """A deploy after `make destroy` (which keeps the tables) must not clash with the kept
    tables: names carry the stack's id, and every function's prefix is the same."""
    template = synth["template"]
    deployment = {"Fn::Select": [0, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": [
        "/", {"Ref": "AWS::StackId"}]}]}]}]}
    for table in _resources(template, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["TableName"]["Fn::Join"][1][:2] == ["openevent-", deployment]
        assert table["DeletionPolicy"] == "Retain"
    for fn in _resources(template, "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "OPENEVENT_TABLE_PREFIX" in env:
            assert env["OPENEVENT_TABLE_PREFIX"] == {"Fn::Join": ["", ["openevent-", deployment,
                                                                        "-"]]}


def test_mail_sender_is_an_address(synth):
    for fn in _resources(synth["template"], "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "OPENEVENT_MAIL_SENDER" in env:
            assert "@" in env["OPENEVENT_MAIL_SENDER"]


def test_alarms_log_retention_and_static_sites(synth):
    template = synth["template"]
    alarms = _resources(template, "AWS::CloudWatch::Alarm").values()
    metrics = {(a["Properties"].get("Namespace"), a["Properties"].get("MetricName"))
               for a in alarms}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    assert sum(1 for a in alarms if a["Properties"].get("MetricName") == "5XXError") == 4
    groups = _resources(template, "AWS::Logs::LogGroup").values()
    assert groups and all(g["Properties"].get("RetentionInDays") for g in groups)
    oac = _resources(template, "AWS::CloudFront::OriginAccessControl")
    assert len(oac) == 2  # web apps and media, both private buckets
    if (Path(ROOT) / "web" / "lab").is_dir():
        assert _resources(template, "Custom::CDKBucketDeployment")


# --- IAM as the local runtime enforces it ---------------------------------------------------

def test_local_iam_statements_are_the_templates(synth):
    """`openevent/local/iam_policies.json` (what every function runs with locally) is what
    the current template grants: regenerate with `make synth` after changing a role."""
    from infra import policies

    committed = json.loads(policies.OUTPUT.read_text())
    assert committed == policies.extract(synth["template"])


def test_every_function_has_its_groups_role_and_the_renderer_its_own(synth):
    from infra import policies

    functions = policies.extract(synth["template"])["functions"]
    assert {f: spec["role"] for f, spec in functions.items()} == {
        "auth-api": "AuthRole", "events-api": "EventsRole", "lab-api": "LabRole",
        "lab-iot-results": "LabRole", "lab-stream-frames": "LabRole",
        "lab-stream-socket": "LabRole", "orders-api": "OrdersRole",
        "orders-expire": "OrdersRole", "orders-refunds": "OrdersRole",
        "renderer": "RendererRole"}


# --- the deployed web app calls its own origin ------------------------------------------------

def test_uploaded_web_app_calls_the_distribution_it_is_served_from(tmp_path):
    """The web app's index.html is uploaded with its config's API host set to the
    distribution's domain (a deployment marker the upload fills in), not the host it was
    built with (`http://127.0.0.1:8000`)."""
    from urllib.parse import quote, unquote

    from openevent.local.static import _CONFIG_META

    dist = tmp_path / "dist"
    dist.mkdir()
    config = {"modulePrefix": "open-event-frontend", "environment": "production",
              "APP": {"apiHost": "http://127.0.0.1:8000", "apiNamespace": "v1"}}
    (dist / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta name="open-event-frontend/config/environment" '
        f'content="{quote(json.dumps(config), safe="")}"></head><body></body></html>')
    (dist / "app.js").write_text("console.log('app')")
    out = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(out), "AWS_DEFAULT_REGION": "us-east-1",
           "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
           "CDK_CONTEXT_JSON": json.dumps({"frontend_dir": str(dist)})}
    for key in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        env.pop(key, None)
    artifacts.build_once()
    run = subprocess.run([str(INFRA_PYTHON), "app.py"], cwd=ROOT / "infra", env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    template = json.loads((out / "OpenEvent.template.json").read_text())
    (deployment,) = [r for k, r in _resources(template, "Custom::CDKBucketDeployment").items()
                     if k.startswith("Frontend")]
    (distribution,) = _resources(template, "AWS::CloudFront::Distribution")
    pages = []
    for key, markers in zip(deployment["Properties"]["SourceObjectKeys"],
                            deployment["Properties"]["SourceMarkers"], strict=True):
        asset = out / f"asset.{key.removesuffix('.zip')}"  # staged as a folder
        if not (asset / "index.html").is_file():
            continue
        page = (asset / "index.html").read_text()
        for marker, value in markers.items():
            assert value == {"Fn::GetAtt": [distribution, "DomainName"]}
            page = page.replace(marker, "d111111abcdef8.cloudfront.net")  # as at deploy
        pages.append(page)
    assert len(pages) == 1, "index.html is uploaded once, from the rewritten copy"
    match = _CONFIG_META.search(pages[0].encode())
    assert match is not None
    uploaded = json.loads(unquote(match.group(2).decode()))
    assert uploaded["APP"]["apiHost"] == "https://d111111abcdef8.cloudfront.net"
    assert "127.0.0.1" not in unquote(pages[0])


# --- the deployed lab console finds its WebSocket -----------------------------------------------

def test_uploaded_lab_console_streams_from_the_stacks_websocket_api(synth):
    """In AWS the console is served by CloudFront and the stream WebSocket by API Gateway on
    a host of its own, so the console's index.html is uploaded with its stream `<meta>` set
    to the WebSocket API's wss:// URL: deploy-time values (markers) that resolve to that
    API's id, the region and its stage — the `LabStreamUrl` output — and nothing else of the
    page changed; the rest of web/lab/ is uploaded as it is."""
    import html
    import re

    template = synth["template"]
    (deployment,) = [r for k, r in _resources(template, "Custom::CDKBucketDeployment").items()
                     if k.startswith("LabConsole")]
    (api,) = [k for k, r in _resources(template, "AWS::ApiGatewayV2::Api").items()
              if r["Properties"]["ProtocolType"] == "WEBSOCKET"]
    (stage,) = _resources(template, "AWS::ApiGatewayV2::Stage").values()
    at_deploy = {api: "a1b2c3d4e5", "AWS::Region": "eu-west-1",
                 "AWS::URLSuffix": "amazonaws.com"}

    def resolve(value: Any) -> str:  # only what the URL may be made of; anything else fails
        if isinstance(value, str):
            return value
        if set(value) == {"Ref"}:
            return at_deploy[value["Ref"]]
        sep, parts = value["Fn::Join"]
        return str(sep).join(resolve(p) for p in parts)

    meta = re.compile(r'<meta name="openevent-lab-stream" content="([^"]*)">')
    pages, folders = [], []
    for key, markers in zip(deployment["Properties"]["SourceObjectKeys"],
                            deployment["Properties"]["SourceMarkers"], strict=True):
        asset = OUT / f"asset.{key.removesuffix('.zip')}"  # staged as a folder
        if not (asset / "index.html").is_file():
            folders.append(asset)
            continue
        page = (asset / "index.html").read_text()
        for marker, value in markers.items():
            page = page.replace(marker, resolve(value))  # as the upload does at deploy
        pages.append(page)
    assert len(pages) == 1, "index.html is uploaded once, from the written copy"
    (found,) = meta.findall(pages[0])
    url = f"wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/{stage['Properties']['StageName']}"
    assert html.unescape(found) == url == resolve(template["Outputs"]["LabStreamUrl"]["Value"])
    source = (ROOT / "web" / "lab" / "index.html").read_text()
    assert meta.sub("", pages[0]) == meta.sub("", source)
    (rest,) = folders
    assert (rest / "js" / "stream.js").read_bytes() == \
        (ROOT / "web" / "lab" / "js" / "stream.js").read_bytes()


# --- template budget ---------------------------------------------------------------------------

TEMPLATE_LIMIT_BYTES = 1_000_000  # CloudFormation's limit for a template (from S3)
TEMPLATE_BUDGET = 0.60


def test_template_stays_under_60_percent_of_cloudformations_limit(synth):
    size = (OUT / "OpenEvent.template.json").stat().st_size
    assert size < TEMPLATE_BUDGET * TEMPLATE_LIMIT_BYTES, (
        f"template {size:,} bytes, budget {TEMPLATE_BUDGET * TEMPLATE_LIMIT_BYTES:,.0f}")
    assert b"\n  " not in (OUT / "OpenEvent.template.json").read_bytes()[:100_000]  # compact
