"""Live lab streams in AWS: an API Gateway WebSocket API and the IoT rule that feeds it.

- WebSocket API (route selection ``$request.body.action``) with ``$connect`` (the JWT is
  checked there by the ``lab-stream-socket`` function: a bad token never becomes a
  connection), ``$disconnect`` and ``$default``, all Lambda proxy integrations; one stage,
  ``live``, auto-deployed, throttled (burst 50, 20 requests/s per route), access-logged.
- Connections, device streams and viewers live in the ``lab-streams`` table (declared from
  its PynamoDB model with the others; the lab role has it in ``GROUP_TABLES``).
- IoT rule ``streams.FRAMES_RULE_SQL`` (``lab/v1/+/frames``, the device's bytes base64-wrapped
  beside the topic) → ``lab-stream-frames``, which posts frames to the viewers.
- Both functions get ``OPENEVENT_LAB_STREAM_ENDPOINT`` (the stage's management URL) and the
  IoT data endpoint (stream commands); the lab role may ``execute-api:ManageConnections`` on
  this API's stage only (``iot:Publish`` on ``lab/v1/*/cmd`` it has already).

The stack adds it with one call (``LabStreams(self, ...)``); the device policy lets each
thing publish to its own ``lab/v1/<thing>/frames``.

The lab console finds the WebSocket through ``<meta name="openevent-lab-stream">``: the
console is uploaded with this API's ``wss://`` URL in it (``console_page``; the URL's parts
are deploy-time values the upload fills in), since in AWS the console is on CloudFront and
the WebSocket on API Gateway's own host. The same URL is the ``LabStreamUrl`` output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from openevent.lab.streams import FRAMES_RULE_SQL

STAGE = "live"
ROUTES = ("$connect", "$disconnect", "$default")


class LabStreams(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, socket_fn: lambda_.Function,
                 frames_fn: lambda_.Function, role: iam.IRole, iot_endpoint: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.api = apigwv2.CfnApi(
            self, "Api", name=f"{stack.stack_name}-lab-streams", protocol_type="WEBSOCKET",
            route_selection_expression="$request.body.action",
            description="Live lab instrument streams (docs/lab-streams.md)")
        integration = apigwv2.CfnIntegration(
            self, "SocketIntegration", api_id=self.api.ref, integration_type="AWS_PROXY",
            integration_uri=(f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/"
                             f"2015-03-31/functions/{socket_fn.function_arn}/invocations"))
        self.routes: dict[str, Any] = {}
        for route_key in ROUTES:
            name = route_key.strip("$").title()
            self.routes[route_key] = apigwv2.CfnRoute(
                self, f"Route{name}", api_id=self.api.ref, route_key=route_key,
                # $connect checks the JWT in the function itself (subprotocol token)
                authorization_type="NONE", operation_name=f"lab-stream-{name.lower()}",
                target=f"integrations/{integration.ref}")
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH,
                                    removal_policy=cdk.RemovalPolicy.DESTROY)
        self.stage = apigwv2.CfnStage(
            self, "Stage", api_id=self.api.ref, stage_name=STAGE, auto_deploy=True,
            default_route_settings=apigwv2.CfnStage.RouteSettingsProperty(
                throttling_burst_limit=50, throttling_rate_limit=20),
            access_log_settings=apigwv2.CfnStage.AccessLogSettingsProperty(
                destination_arn=access_logs.log_group_arn,
                format=json.dumps({"requestId": "$context.requestId",
                                   "connectionId": "$context.connectionId",
                                   "routeKey": "$context.routeKey",
                                   "eventType": "$context.eventType",
                                   "status": "$context.status",
                                   "requestTime": "$context.requestTime"})))
        for route in self.routes.values():
            self.stage.add_dependency(route)
        socket_fn.add_permission(
            "WebSocketInvoke", principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=(f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:"
                        f"{self.api.ref}/{STAGE}/*"))
        self.endpoint = (f"https://{self.api.ref}.execute-api.{stack.region}."
                         f"{stack.url_suffix}/{STAGE}")
        self.url = f"wss://{self.api.ref}.execute-api.{stack.region}.{stack.url_suffix}/{STAGE}"
        for fn in (socket_fn, frames_fn):
            fn.add_environment("OPENEVENT_LAB_STREAM_ENDPOINT", self.endpoint)
            # stream commands (open, renew, close) go to the agents through the data plane
            fn.add_environment("OPENEVENT_IOT_DATA_ENDPOINT", iot_endpoint)
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["execute-api:ManageConnections"],
            resources=[f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:"
                       f"{self.api.ref}/{STAGE}/POST/@connections/*",
                       f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:"
                       f"{self.api.ref}/{STAGE}/DELETE/@connections/*"]))
        self.rule = iot.CfnTopicRule(self, "Frames", topic_rule_payload=iot.CfnTopicRule.
                                     TopicRulePayloadProperty(
            sql=FRAMES_RULE_SQL, aws_iot_sql_version="2016-03-23", rule_disabled=False,
            actions=[iot.CfnTopicRule.ActionProperty(lambda_=iot.CfnTopicRule.
                                                     LambdaActionProperty(
                function_arn=frames_fn.function_arn))]))
        frames_fn.add_permission("FramesRuleInvoke",
                                 principal=iam.ServicePrincipal("iot.amazonaws.com"),
                                 source_arn=self.rule.attr_arn)
        NagSuppressions.add_resource_suppressions(self, [NagPackSuppression(
            id="AwsSolutions-APIG4",
            reason="browsers cannot send an Authorization header on a WebSocket: the JWT "
                   "(offered as a subprotocol) is checked by the $connect function, so "
                   "$default and $disconnect only ever run on an authenticated connection")],
            apply_to_children=True)
        cdk.CfnOutput(scope, "LabStreamUrl", value=self.url,
                      description="the lab console's <meta name=openevent-lab-stream>")

    def console_page(self, index: Path) -> str:
        """The lab console's index.html as uploaded: its stream `<meta>` set to this API's
        URL (tokens, filled in at deploy by the upload's markers)."""
        from openevent.local.static import with_lab_stream_url

        page = index.read_bytes()
        written = with_lab_stream_url(page, self.url)
        if written == page:
            raise ValueError(f"{index}: no <meta name=\"openevent-lab-stream\"> to set")
        return written.decode()
