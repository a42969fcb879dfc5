"""The AWS deployment: every resource the system uses, declared with the CDK.

- DynamoDB tables (on demand, point-in-time recovery) from the PynamoDB models;
- S3 buckets for ticket documents (private) and media; manifests notify the renderer
  through an SQS queue with a dead-letter queue;
- the shared core as a Lambda layer; each function group a Chalice app (its own API
  Gateway and Lambdas) with a policy naming only the tables and services it uses;
- one CloudFront origin in front of the four APIs, its behaviours generated from the same
  route table the local gateway uses (openevent.routing);
- IoT topic rules feeding lab results and device status to the lab group's Lambda;
- secrets (JWT key, provider keys) in Secrets Manager, never in environment variables.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice
from constructs import Construct
from openevent.routing import GROUPS, cloudfront_patterns

from infra.tables import GROUP_TABLES, table_specs

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "openevent-"
DOCUMENTS_QUEUE = "openevent-document-events"
_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


class OpenEventStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tables = self._tables()
        documents = s3.Bucket(self, "Documents", encryption=s3.BucketEncryption.S3_MANAGED,
                              block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                              enforce_ssl=True)
        media = s3.Bucket(self, "Media", encryption=s3.BucketEncryption.S3_MANAGED,
                          block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True)
        # Manifests written by the orders group notify the renderer through a queue, which
        # retries a failed render and keeps what keeps failing in a dead-letter queue.
        dead_letters = sqs.Queue(self, "DocumentEventsDLQ",
                                 retention_period=cdk.Duration.days(14))
        self.document_events = sqs.Queue(
            self, "DocumentEvents", queue_name=DOCUMENTS_QUEUE,
            visibility_timeout=cdk.Duration.seconds(180),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dead_letters))
        documents.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.SqsDestination(self.document_events),
            s3.NotificationKeyFilter(prefix="manifests/", suffix=".json"))
        secrets = secretsmanager.Secret(self, "AppSecrets", description="JWT key and keys")
        layer = lambda_.LayerVersion(
            self, "Core", code=lambda_.Code.from_asset(str(ROOT / "build" / "layer")),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            description="openevent core package")
        env = {
            "OPENEVENT_TABLE_PREFIX": PREFIX,
            "OPENEVENT_DOCUMENTS_BUCKET": documents.bucket_name,
            "OPENEVENT_MEDIA_BUCKET": media.bucket_name,
            "OPENEVENT_DOCUMENTS_QUEUE": DOCUMENTS_QUEUE,
            "OPENEVENT_SECRETS_ARN": secrets.secret_arn,
            "BOTO_DISABLE_CRT": "true",
        }
        self.apps: dict[str, Chalice] = {}
        for group in GROUPS:
            # One role per group, granted only what the group uses (see _grant).
            role = iam.Role(
                self, f"{group.title()}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaBasicExecutionRole")])
            self._grant(role, group, documents, media, secrets)
            # Chalice packages each app in this process by importing its `app` module: drop
            # the previous group's module, or every group would be packaged as the first one.
            sys.modules.pop("app", None)
            self.apps[group] = Chalice(
                self, f"{group.title()}Api", source_dir=str(ROOT / "functions" / group),
                # four apps in one stack: their templates share logical ids (APIHandler, ...)
                preserve_logical_ids=False,
                stage_config={
                    "environment_variables": env,
                    "layers": [layer.layer_version_arn],
                    "manage_iam_role": False,
                    "iam_role_arn": role.role_arn,
                    "lambda_memory_size": 1024 if group == "orders" else 512,
                    "lambda_timeout": 30,
                })
        self._distribution()
        self._iot_rules()

    def _tables(self) -> dict[str, dynamodb.Table]:
        tables = {}
        for spec in table_specs(PREFIX):
            table = dynamodb.Table(
                self, f"Table-{spec.name}", table_name=PREFIX + spec.name,
                partition_key=dynamodb.Attribute(name=spec.hash_key[0],
                                                 type=_TYPES[spec.hash_key[1]]),
                sort_key=dynamodb.Attribute(name=spec.range_key[0],
                                            type=_TYPES[spec.range_key[1]])
                if spec.range_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True),
                removal_policy=cdk.RemovalPolicy.RETAIN,
                time_to_live_attribute="expires" if spec.name == "rate-limits" else None)
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

    def _grant(self, role: iam.Role, group: str, documents: s3.Bucket, media: s3.Bucket,
               secrets: secretsmanager.Secret) -> None:
        for name, mode in GROUP_TABLES[group].items():
            table = self.tables.get(name)
            if table is None:
                continue
            if mode == "rw":
                table.grant_read_write_data(role)
            else:
                table.grant_read_data(role)
        secrets.grant_read(role)
        if group in ("auth", "orders"):
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["ses:SendRawEmail"], resources=["*"]))
        if group == "orders":
            documents.grant_read_write(role)
            self.document_events.grant_consume_messages(role)
        if group == "events":
            media.grant_read_write(role)
        if group == "lab":
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["iot:Publish"],
                resources=[f"arn:aws:iot:{self.region}:{self.account}:topic/lab/v1/*/cmd"]))

    def _distribution(self) -> None:
        def origin(group: str) -> origins.HttpOrigin:
            api = self.apps[group].get_resource("RestAPI")
            domain = cdk.Fn.join("", [api.ref, ".execute-api.", self.region, ".amazonaws.com"])
            return origins.HttpOrigin(domain, origin_path="/api")

        behaviour = {
            "viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            "allowed_methods": cloudfront.AllowedMethods.ALLOW_ALL,
            "cache_policy": cloudfront.CachePolicy.CACHING_DISABLED,
            "origin_request_policy":
                cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        }
        patterns = [(p, g) for p, g in cloudfront_patterns() if p != "/v1/*"]
        cloudfront.Distribution(
            self, "Origin",
            default_behavior=cloudfront.BehaviorOptions(origin=origin("events"), **behaviour),
            additional_behaviors={
                pattern: cloudfront.BehaviorOptions(origin=origin(group), **behaviour)
                for pattern, group in patterns
            })

    def _iot_rules(self) -> None:
        function_arn = self.apps["lab"].get_function("IotResults").function_arn
        from openevent.lab.protocol import RULE_SQL

        rules = (("LabResults", RULE_SQL["res"]), ("LabStatus", RULE_SQL["status"]))
        for name, sql in rules:
            rule = iot.CfnTopicRule(self, name, topic_rule_payload=iot.CfnTopicRule.
                                    TopicRulePayloadProperty(
                sql=sql,
                aws_iot_sql_version="2016-03-23",
                actions=[iot.CfnTopicRule.ActionProperty(
                    lambda_=iot.CfnTopicRule.LambdaActionProperty(function_arn=function_arn))]))
            lambda_.CfnPermission(self, f"{name}Invoke", action="lambda:InvokeFunction",
                                  function_name=function_arn,
                                  principal="iot.amazonaws.com", source_arn=rule.attr_arn)
