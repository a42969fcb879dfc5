"""The AWS deployment: every resource the system uses, declared with the CDK.

- DynamoDB tables (on demand, point-in-time recovery) generated from the PynamoDB models;
- Lambda functions from the artifacts `make package` builds (infra/package.py): each group's
  code zip with only the layers it imports; the ticket renderer as a container image (Pango);
- one REST API per group, declared from Chalice's own swagger for that app (so API Gateway's
  resource paths are Chalice's routes), behind one CloudFront distribution whose edge router
  applies the route table (infra/routes.py); the web apps and media from S3 through it too;
- S3 → SQS → renderer for ticket documents, with a dead-letter queue and an alarm on it;
- SES identity + configuration set (bounces and complaints → SNS → SQS);
- IoT: thing type, a per-device policy (thing-name policy variables), rules → lab Lambda;
- one Secrets Manager secret (`jwt_secret`, `data_key`) generated at deploy, read by ARN;
- Powertools settings, X-Ray tracing, log retention, 5xx / error / DLQ alarms;
- cdk-nag (AwsSolutions) with a one-line reason for each suppression.

Context (`cdk deploy -c key=value`): `mail_sender` (an address, or a domain whose
sender is `no-reply@<domain>`: infra/mail.py), `frontend_dir` (built Open Event frontend
to publish at /, calling its own origin), `alarm_email`,
`public_url` (the site's https URL for links in mail; the distribution's own URL is known
only after the first deploy, so set it then — or use a domain you point at it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct
from openevent.lab.protocol import RULE_SQL
from openevent.routing import GROUPS

from infra import mail, package, register_lab_host
from infra.chalice_apis import chalice_swagger, load_chalice_app
from infra.inline_code import SECRET_GENERATOR, STATIC_REWRITE
from infra.lab_streams import LabStreams
from infra.routes import API_PATTERNS, router_js
from infra.tables import GROUP_TABLES, table_specs

ROOT = package.ROOT
PREFIX = "openevent-"
DOCUMENTS_QUEUE = "openevent-document-events"
LAB_THING_TYPE = register_lab_host.THING_TYPE
LAB_POLICY = register_lab_host.POLICY
MAX_BODY_BYTES = 256 * 1024  # the core refuses larger bodies (413); API GW allows 10 MB
RENDERER_TIMEOUT_S = 120
FRONTEND_ORIGIN = "openevent-distribution.invalid"  # stands for the domain until deploy
LAMBDA_RUNTIME = {"python3.12": lambda_.Runtime.PYTHON_3_12,
                  "python3.13": lambda_.Runtime.PYTHON_3_13}[package.RUNTIME]
# DynamoDB TTL clean-up (never a release mechanism): rate-limit windows, and Powertools'
# idempotency records (its persistence layer's `expiration` attribute).
TTL_ATTRIBUTES = {"rate-limits": "expires", "idempotency": "expiration", "checkin": "expires"}
# What `Table.grant_read_data` / `grant_read_write_data` allow, minus the stream actions.
TABLE_READ = ("dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan",
              "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable")
TABLE_WRITE = ("dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
               "dynamodb:DeleteItem")
_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}

class OpenEventStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.manifest = package.load_manifest()
        self.sender = mail.mail_sender(
            str(self.node.try_get_context("mail_sender") or "tickets@example.com"))
        self.mail_sender = self.sender.address
        self.alarm_topic = sns.Topic(self, "Alarms", enforce_ssl=True)
        if email := self.node.try_get_context("alarm_email"):
            self.alarm_topic.add_subscription(subs.EmailSubscription(email))
        self.access_logs = s3.Bucket(
            self, "AccessLogs", encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,  # CloudFront standard logs
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True)
        # Tables are kept when the stack is destroyed (RETAIN): named per deployment
        # (`openevent-<first 8 hex of the stack's id>-<table>`), so a deploy after a destroy
        # creates its own instead of failing on the kept ones (infra/README.md).
        self.table_prefix = cdk.Fn.join("", [PREFIX, cdk.Fn.select(0, cdk.Fn.split(
            "-", cdk.Fn.select(2, cdk.Fn.split("/", self.stack_id)))), "-"])
        self.tables = self._tables()
        self.documents = self._bucket("Documents")
        self.media = self._bucket("Media")
        self.web = self._bucket("Web")
        self._document_queue()
        self.secret = self._secret()
        self.identity, self.config_set = self._mail()
        self.layers = {
            name: lambda_.LayerVersion(
                self, f"Layer-{name}", code=lambda_.Code.from_asset(str(ROOT / path)),
                compatible_runtimes=[LAMBDA_RUNTIME],
                compatible_architectures=[lambda_.Architecture.X86_64],
                description=f"openevent {name} (infra/package.py)")
            for name, path in self.manifest.layers.items()}
        self.roles = {name: self._role(name) for name in (*GROUPS, "renderer")}
        self.functions = {fn.name: self._function(fn) for fn in package.FUNCTIONS}
        self.renderer = self._renderer()
        self.api_account = self._api_account()
        self.apis = {group: self._api(group) for group in GROUPS}
        self._schedule()
        self.iot_endpoint = self._iot()
        self.functions["lab-api"].add_environment("OPENEVENT_IOT_DATA_ENDPOINT",
                                                  self.iot_endpoint)
        self.lab_streams = LabStreams(self, "LabStreams", role=self.roles["lab"],
                                      iot_endpoint=self.iot_endpoint,
                                      socket_fn=self.functions["lab-stream-socket"],
                                      frames_fn=self.functions["lab-stream-frames"])
        self.distribution = self._distribution()
        self._alarms()
        self._outputs()

    # --- storage ---------------------------------------------------------------------------

    def _tables(self) -> dict[str, dynamodb.Table]:
        tables = {}
        self._table_has_indexes = {}
        for spec in table_specs(PREFIX):
            self._table_has_indexes[spec.name] = bool(spec.indexes)
            table = dynamodb.Table(
                self, f"Table-{spec.name}", table_name=self.table_prefix + spec.name,
                partition_key=dynamodb.Attribute(name=spec.hash_key[0],
                                                 type=_TYPES[spec.hash_key[1]]),
                sort_key=dynamodb.Attribute(name=spec.range_key[0],
                                            type=_TYPES[spec.range_key[1]])
                if spec.range_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True),
                removal_policy=cdk.RemovalPolicy.RETAIN,
                time_to_live_attribute=TTL_ATTRIBUTES.get(spec.name))
            for index in spec.indexes:
                table.add_global_secondary_index(
                    index_name=index["name"],
                    partition_key=dynamodb.Attribute(name=index["hash_key"][0],
                                                     type=_TYPES[index["hash_key"][1]]),
                    sort_key=dynamodb.Attribute(name=index["range_key"][0],
                                                type=_TYPES[index["range_key"][1]])
                    if index["range_key"] else None)
            tables[spec.name] = table
        return tables

    def _bucket(self, name: str) -> s3.Bucket:
        return s3.Bucket(self, name, encryption=s3.BucketEncryption.S3_MANAGED,
                         block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True,
                         server_access_logs_bucket=self.access_logs,
                         server_access_logs_prefix=f"s3/{name.lower()}/",
                         removal_policy=cdk.RemovalPolicy.RETAIN)

    def _document_queue(self) -> None:
        # Manifests written by the orders group notify the renderer through a queue, which
        # retries a failed render and keeps what keeps failing in a dead-letter queue.
        self.dead_letters = sqs.Queue(self, "DocumentEventsDLQ", enforce_ssl=True,
                                      encryption=sqs.QueueEncryption.SQS_MANAGED,
                                      retention_period=cdk.Duration.days(14))
        self.document_events = sqs.Queue(
            self, "DocumentEvents", queue_name=DOCUMENTS_QUEUE, enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            visibility_timeout=cdk.Duration.seconds(6 * RENDERER_TIMEOUT_S),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dead_letters))
        self.documents.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.SqsDestination(self.document_events),
            s3.NotificationKeyFilter(prefix="manifests/", suffix=".json"))

    def _secret(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self, "AppSecrets", description="openevent: jwt_secret and data_key (JSON)",
            removal_policy=cdk.RemovalPolicy.DESTROY)
        generator = lambda_.Function(
            self, "SecretValues", runtime=LAMBDA_RUNTIME, handler="index.handler",
            code=lambda_.Code.from_inline(SECRET_GENERATOR), timeout=cdk.Duration.seconds(30),
            architecture=lambda_.Architecture.X86_64,
            log_group=logs.LogGroup(self, "SecretValuesLogs",
                                    retention=logs.RetentionDays.ONE_MONTH,
                                    removal_policy=cdk.RemovalPolicy.DESTROY))
        secret.grant_write(generator)
        self.secret_values = cdk.CustomResource(
            self, "SecretValuesOnCreate", service_token=generator.function_arn,
            properties={"SecretArn": secret.secret_arn})
        return secret

    def _mail(self) -> tuple[ses.EmailIdentity, ses.ConfigurationSet]:
        feedback = sns.Topic(self, "MailFeedback", enforce_ssl=True)
        self.mail_feedback = sqs.Queue(self, "MailFeedbackQueue", enforce_ssl=True,
                                       encryption=sqs.QueueEncryption.SQS_MANAGED,
                                       retention_period=cdk.Duration.days(14))
        feedback.add_subscription(subs.SqsSubscription(self.mail_feedback))
        config_set = ses.ConfigurationSet(
            self, "MailConfig", configuration_set_name="openevent",
            reputation_metrics=True, sending_enabled=True)
        config_set.add_event_destination(
            "BouncesAndComplaints", destination=ses.EventDestination.sns_topic(feedback),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT,
                    ses.EmailSendingEvent.REJECT])
        identity = ses.EmailIdentity(
            self, "MailIdentity", configuration_set=config_set,
            identity=ses.Identity.domain(self.sender.identity) if self.sender.is_domain
            else ses.Identity.email(self.sender.identity))
        return identity, config_set

    # --- functions -------------------------------------------------------------------------

    def _env(self, group: str) -> dict[str, str]:
        public = str(self.node.try_get_context("public_url") or "").rstrip("/")
        links = {"OPENEVENT_FRONTEND_URL": public, "OPENEVENT_API_BASE_URL": public,
                 "OPENEVENT_CORS_ORIGIN": public} if public else {}
        return {**links,
            "OPENEVENT_TABLE_PREFIX": self.table_prefix,
            "OPENEVENT_DOCUMENTS_BUCKET": self.documents.bucket_name,
            "OPENEVENT_MEDIA_BUCKET": self.media.bucket_name,
            "OPENEVENT_DOCUMENTS_QUEUE": DOCUMENTS_QUEUE,
            "OPENEVENT_SECRETS_ARN": self.secret.secret_arn,
            "OPENEVENT_MAIL_SENDER": str(self.mail_sender),
            "OPENEVENT_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "BOTO_DISABLE_CRT": "true",
            "POWERTOOLS_SERVICE_NAME": f"openevent-{group}",
            "POWERTOOLS_METRICS_NAMESPACE": "OpenEvent",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    def _role(self, name: str) -> iam.Role:
        """One role per group (and the renderer's own), granted only the tables, objects,
        queues and services its code uses: `GROUP_TABLES` for tables, and below. The local
        runtime and the tests run each function with exactly these statements, read back
        from the synthesized template (`infra/policies.py`, `openevent.local.iam`)."""
        role = iam.Role(self, f"{name.title()}Role",
                        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        for statement in self._table_statements(GROUP_TABLES[name]):
            role.add_to_principal_policy(statement)
        self.secret.grant_read(role)
        role.add_to_principal_policy(iam.PolicyStatement(  # X-Ray segments
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]))
        if name in ("auth", "orders", "renderer"):
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["ses:SendRawEmail", "ses:SendEmail"],
                resources=[self.identity.email_identity_arn,
                           f"arn:{self.partition}:ses:{self.region}:{self.account}:"
                           f"configuration-set/{self.config_set.configuration_set_name}"]))
        documents = self.documents.bucket_arn
        if name in ("orders", "events"):
            # Reads its tickets' PDFs (downloads, presigned links); writes an order's manifest
            # (orders: at completion; both: again when a download finds no PDF yet, which
            # queues the renderer through the bucket's notification). Never renders.
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[f"{documents}/tickets/*"]))
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[f"{documents}/manifests/*"]))
        if name == "renderer":
            self.document_events.grant_consume_messages(role)
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[f"{documents}/manifests/*"]))
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[f"{documents}/tickets/*"]))
        if name == "events":
            self.media.grant_read_write(role)
        if name == "lab":
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["iot:Publish"],
                resources=[f"arn:{self.partition}:iot:{self.region}:{self.account}"
                           ":topic/lab/v1/*/cmd"]))
        return role

    def _table_statements(self, access: dict[str, str]) -> list[iam.PolicyStatement]:
        """Two statements (read-write, read-only) naming every table and its indexes: the
        same actions as `Table.grant_read_write_data`/`grant_read_data` without the stream
        ones (no table has a stream), and small enough for one inline policy."""
        statements = []
        for mode, actions in (("rw", TABLE_READ + TABLE_WRITE), ("r", TABLE_READ)):
            resources = []
            for name in sorted(n for n, m in access.items() if m == mode):
                table = self.tables[name]
                resources.append(table.table_arn)
                if self._table_has_indexes[name]:
                    resources.append(f"{table.table_arn}/index/*")
            if resources:
                statements.append(iam.PolicyStatement(actions=list(actions),
                                                      resources=resources))
        return statements

    def _log_group(self, name: str) -> logs.LogGroup:
        return logs.LogGroup(self, f"{name}-logs", retention=logs.RetentionDays.ONE_MONTH,
                             removal_policy=cdk.RemovalPolicy.DESTROY)

    def _function(self, fn: package.FunctionSpec) -> lambda_.Function:
        log_group = self._log_group(fn.name)
        log_group.grant_write(self.roles[fn.group])
        function = lambda_.Function(
            self, f"Fn-{fn.name}", description=f"openevent {fn.name} ({fn.handler})",
            runtime=LAMBDA_RUNTIME, architecture=lambda_.Architecture.X86_64,
            code=lambda_.Code.from_asset(str(ROOT / self.manifest.functions[fn.group])),
            handler=fn.handler, layers=[self.layers[name] for name in fn.layers],
            role=self.roles[fn.group], memory_size=fn.memory_mb,
            timeout=cdk.Duration.seconds(fn.timeout_s), environment=self._env(fn.group),
            tracing=lambda_.Tracing.ACTIVE, log_group=log_group)
        function.node.add_dependency(self.secret_values)  # values exist before first read
        return function

    def _renderer(self) -> lambda_.DockerImageFunction:
        log_group = self._log_group("renderer")
        log_group.grant_write(self.roles["renderer"])
        renderer = lambda_.DockerImageFunction(
            self, "Fn-renderer",
            description=f"openevent renderer ({package.RENDERER_HANDLER}, WeasyPrint image)",
            code=lambda_.DockerImageCode.from_image_asset(
                str(ROOT / self.manifest.renderer_context),
                platform=cdk.aws_ecr_assets.Platform.LINUX_AMD64),
            architecture=lambda_.Architecture.X86_64, role=self.roles["renderer"],
            memory_size=2048, timeout=cdk.Duration.seconds(RENDERER_TIMEOUT_S),
            environment=self._env("orders"), tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group)
        renderer.node.add_dependency(self.secret_values)
        renderer.add_event_source(sources.SqsEventSource(self.document_events, batch_size=1))
        return renderer

    def _schedule(self) -> None:
        """A rule per `@app.schedule` handler, with the expression the app declares."""
        for group in GROUPS:
            for source in load_chalice_app(group).event_sources:
                expression = getattr(source, "schedule_expression", None)
                if expression is None:
                    continue
                handler = "app." + source.handler_string.rpartition(".")[2]
                (fn,) = [f for f in package.FUNCTIONS if (f.group, f.handler) == (group, handler)]
                events.Rule(self, f"Schedule-{fn.name}",
                            schedule=events.Schedule.expression(
                                expression.to_string() if hasattr(expression, "to_string")
                                else str(expression)),
                            targets=[targets.LambdaFunction(self.functions[fn.name])])

    # --- APIs and the public origin --------------------------------------------------------

    def _api_account(self) -> apigw.CfnAccount:
        """API Gateway's account-wide CloudWatch role (one per account and region)."""
        role = iam.Role(self, "ApiGatewayLogsRole",
                        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                            "service-role/AmazonAPIGatewayPushToCloudWatchLogs")])
        return apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)

    def _api(self, group: str) -> apigw.SpecRestApi:
        function = self.functions[f"{group}-api"]
        swagger = chalice_swagger(load_chalice_app(group), function.function_arn)
        access_logs = self._log_group(f"{group}-api-access")
        api = apigw.SpecRestApi(
            self, f"{group.title()}Api", rest_api_name=f"openevent-{group}",
            api_definition=apigw.ApiDefinition.from_inline(swagger),
            endpoint_types=[apigw.EndpointType.REGIONAL], cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name="api", tracing_enabled=True, metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                throttling_rate_limit=200, throttling_burst_limit=400,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True,
                    request_time=True, resource_path=True, response_length=True,
                    status=True, user=False)))
        api.deployment_stage.node.add_dependency(self.api_account)
        function.add_permission(
            f"{group}-api-invoke", principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=api.arn_for_execute_api())
        return api

    def _distribution(self) -> cloudfront.Distribution:
        def domain(group: str) -> str:
            return f"{self.apis[group].rest_api_id}.execute-api.{self.region}.amazonaws.com"

        router = cloudfront.Function(
            self, "EdgeRouter", runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="route table: path -> function group API",
            code=cloudfront.FunctionCode.from_inline(router_js({g: domain(g) for g in GROUPS})))
        static = cloudfront.Function(
            self, "StaticRewrite", runtime=cloudfront.FunctionRuntime.JS_1_0,
            comment="SPA fallback, /lab/ index, /media/ prefix",
            code=cloudfront.FunctionCode.from_inline(STATIC_REWRITE))
        api_origin = origins.HttpOrigin(
            domain("events"), origin_path="/api",
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY)
        api_behaviour = cloudfront.BehaviorOptions(
            origin=api_origin, viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            function_associations=[cloudfront.FunctionAssociation(
                function=router, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)])

        def s3_behaviour(bucket: s3.Bucket) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                function_associations=[cloudfront.FunctionAssociation(
                    function=static, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)])

        distribution = cloudfront.Distribution(
            self, "Origin", comment="openevent: web apps, media, the four APIs",
            default_behavior=s3_behaviour(self.web), default_root_object="index.html",
            additional_behaviors={**{p: api_behaviour for p in API_PATTERNS},
                                  "/media/*": s3_behaviour(self.media)},
            enable_logging=True, log_bucket=self.access_logs, log_file_prefix="cloudfront/",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100)
        self._web_content(distribution)
        return distribution

    def _web_content(self, distribution: cloudfront.Distribution) -> None:
        """The lab console (web/lab/, if present) at /lab/; the Open Event frontend build
        (context `frontend_dir`) at /."""
        lab = ROOT / "web" / "lab"
        if lab.is_dir():
            s3deploy.BucketDeployment(  # index.html carries the WebSocket API's URL
                self, "LabConsole", sources=[
                    s3deploy.Source.asset(str(lab), exclude=["index.html"]),
                    s3deploy.Source.data("index.html",
                                         self.lab_streams.console_page(lab / "index.html"))],
                destination_bucket=self.web, destination_key_prefix="lab/",
                distribution=distribution, distribution_paths=["/lab/*"], prune=True)
        checkin = ROOT / "web" / "checkin"
        if checkin.is_dir():  # the scanner page (issue #24) at /checkin/
            s3deploy.BucketDeployment(
                self, "CheckinPage", sources=[s3deploy.Source.asset(str(checkin))],
                destination_bucket=self.web, destination_key_prefix="checkin/",
                distribution=distribution, distribution_paths=["/checkin/*"], prune=True)
        frontend = self.node.try_get_context("frontend_dir")
        if frontend:
            path = Path(str(frontend)).expanduser().resolve()
            if not (path / "index.html").is_file():
                raise ValueError(f"frontend_dir {path} has no index.html (build it first)")
            s3deploy.BucketDeployment(
                self, "Frontend", sources=[
                    s3deploy.Source.asset(str(path), exclude=["index.html"]),
                    s3deploy.Source.data("index.html", self._frontend_page(
                        path / "index.html", distribution))],
                destination_bucket=self.web, exclude=["lab/*", "checkin/*"], prune=True,
                distribution=distribution, distribution_paths=["/*"])

    def _frontend_page(self, index: Path, distribution: cloudfront.Distribution) -> str:
        """The web app's index.html calling its own origin: the API host baked into its
        config `<meta>` (`http://127.0.0.1:8000` in a local build) becomes the site's URL
        (`public_url`, else the distribution's domain, filled in at deploy time by the
        deployment's markers) — what `openevent.local.static` does per request locally."""
        from openevent.local.static import with_api_origin

        public = str(self.node.try_get_context("public_url") or "").rstrip("/")
        page = with_api_origin(index.read_bytes(), public or "https://" + FRONTEND_ORIGIN)
        if page == index.read_bytes():
            raise ValueError(f"{index}: no Ember config <meta> with APP.apiHost to set")
        # the config is URL-encoded JSON: the domain goes in after `https%3A%2F%2F`
        return page.decode().replace(FRONTEND_ORIGIN, distribution.distribution_domain_name)

    # --- the remote lab ----------------------------------------------------------------------

    def _iot(self) -> str:
        iot.CfnThingType(self, "LabHostType", thing_type_name=LAB_THING_TYPE,
                         thing_type_properties=iot.CfnThingType.ThingTypePropertiesProperty(
                             thing_type_description="PSLab host running edge_agent"))
        thing = "${iot:Connection.Thing.ThingName}"
        topic = f"arn:{self.partition}:iot:{self.region}:{self.account}:topic/lab/v1/{thing}"
        iot.CfnPolicy(self, "LabHostPolicy", policy_name=LAB_POLICY, policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iot:Connect",
                 "Resource": f"arn:{self.partition}:iot:{self.region}:{self.account}"
                             f":client/{thing}",
                 "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
                {"Effect": "Allow", "Action": "iot:Publish",
                 "Resource": [f"{topic}/res", f"{topic}/status", f"{topic}/frames"]},
                {"Effect": "Allow", "Action": "iot:Subscribe",
                 "Resource": f"arn:{self.partition}:iot:{self.region}:{self.account}"
                             f":topicfilter/lab/v1/{thing}/cmd"},
                {"Effect": "Allow", "Action": "iot:Receive", "Resource": f"{topic}/cmd"},
            ]})
        results = self.functions["lab-iot-results"]
        for name, kind in (("LabResults", "res"), ("LabStatus", "status")):
            rule = iot.CfnTopicRule(self, name, topic_rule_payload=iot.CfnTopicRule.
                                    TopicRulePayloadProperty(
                sql=RULE_SQL[kind],  # the payload wrapped: its keys can't pose as the topic
                aws_iot_sql_version="2016-03-23", rule_disabled=False,
                actions=[iot.CfnTopicRule.ActionProperty(
                    lambda_=iot.CfnTopicRule.LambdaActionProperty(
                        function_arn=results.function_arn))]))
            results.add_permission(f"{name}Invoke",
                                   principal=iam.ServicePrincipal("iot.amazonaws.com"),
                                   source_arn=rule.attr_arn)
        # The account's IoT data endpoint (not a CloudFormation attribute): DescribeEndpoint.
        endpoint = cr.AwsCustomResource(
            self, "IotDataEndpoint",
            on_update=cr.AwsSdkCall(
                service="Iot", action="describeEndpoint",
                parameters={"endpointType": "iot:Data-ATS"},
                physical_resource_id=cr.PhysicalResourceId.of("iot-data-ats"),
                output_paths=["endpointAddress"]),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False)
        return "https://" + endpoint.get_response_field("endpointAddress")

    # --- operations --------------------------------------------------------------------------

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float,
               what: str) -> None:
        alarm = cloudwatch.Alarm(
            self, name, metric=metric, threshold=threshold, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=what)
        alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))

    def _alarms(self) -> None:
        five = cdk.Duration.minutes(5)
        self._alarm("DocumentsDeadLetters",
                    self.dead_letters.metric_approximate_number_of_messages_visible(period=five),
                    1, "ticket documents failed 5 renders: see the renderer's logs")
        self._alarm("MailFeedbackWaiting",
                    self.mail_feedback.metric_approximate_number_of_messages_visible(
                        period=five), 10, "bounces/complaints are piling up")
        for group, api in self.apis.items():
            self._alarm(f"{group.title()}Api5xx", api.metric_server_error(
                period=five, statistic="Sum"), 5, f"{group} API answered 5xx")
        for name, fn in {**self.functions, "renderer": self.renderer}.items():
            self._alarm(f"Errors-{name}", fn.metric_errors(period=five, statistic="Sum"), 5,
                        f"{name} raised")

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "OutUrl", value=f"https://{self.distribution.distribution_domain_name}")
        cdk.CfnOutput(self, "OutMediaBaseUrl",
                      value=f"https://{self.distribution.distribution_domain_name}/media/")
        cdk.CfnOutput(self, "OutSecretArn", value=self.secret.secret_arn)
        cdk.CfnOutput(self, "OutLabThingType", value=LAB_THING_TYPE)
        cdk.CfnOutput(self, "OutLabPolicy", value=LAB_POLICY)
        cdk.CfnOutput(self, "OutLabIotDataEndpoint", value=self.iot_endpoint)
        cdk.CfnOutput(self, "OutMailFeedbackQueue", value=self.mail_feedback.queue_url)
        for group, api in self.apis.items():
            cdk.CfnOutput(self, f"Out{group.title()}ApiUrl", value=api.url)
