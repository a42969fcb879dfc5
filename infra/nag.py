"""cdk-nag (AwsSolutions pack) on the stack, and why each remaining finding is accepted.

`make synth` writes cdk.out/AwsSolutions--OpenEvent-NagReport.csv; tests/infra fails on any
row that is Non-Compliant (error or warning). Each suppression below names its rule and
carries a one-line reason; resource-level where the reason is about one resource.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions

# rule -> reason, for every resource of the stack (the reason holds wherever the rule fires).
STACK_SUPPRESSIONS: dict[str, str] = {
    "AwsSolutions-IAM4": "AWS managed service-role policies only, on CDK's own helper "
                         "functions and API Gateway's logging role (the groups' roles use none)",
    "AwsSolutions-IAM5": "wildcards are sub-resources of named resources (table/index/*, "
                         "bucket/*), X-Ray's resource-less actions, and CDK helper functions",
    "AwsSolutions-L1": "functions run CPython 3.12 (Amazon Linux 2023) on purpose: the "
                       "artifacts are resolved and tested for 3.12 (infra/package.py); CDK "
                       "helpers pin their own runtime",
}

# (construct path under the stack, rule, reason)
RESOURCE_SUPPRESSIONS: tuple[tuple[str, str, str], ...] = (
    ("AppSecrets", "AwsSolutions-SMG4",
     "rotating the JWT key logs everyone out and the data key needs re-encryption: rotate "
     "by a planned redeploy, not on a timer"),
    ("MailFeedbackQueue", "AwsSolutions-SQS3",
     "bounce/complaint notices are read by an operator; a second queue behind it adds nothing"),
    ("Origin", "AwsSolutions-CFR1", "an event platform is for a worldwide audience"),
    ("Origin", "AwsSolutions-CFR2",
     "WAF costs ~$5+/month at idle; add a web ACL when traffic warrants (rate limits are in "
     "API Gateway stages and the core)"),
    ("Origin", "AwsSolutions-CFR4",
     "the default *.cloudfront.net certificate cannot pin TLSv1.2; with a custom domain and "
     "ACM certificate the distribution already asks for TLSv1.2_2021"),
)
API_SUPPRESSIONS: tuple[tuple[str, str], ...] = (
    ("AwsSolutions-APIG2",
     "requests are validated by the handlers (JSON:API 4xx naming the field), not by models"),
    ("AwsSolutions-APIG3", "WAF costs at idle; see the distribution's CFR2 reason"),
    ("AwsSolutions-APIG4",
     "authorization is the core's JWT check in each handler; many routes are public"),
    ("AwsSolutions-COG4", "users sign in with the API's own accounts (JWT), not Cognito"),
)


def check(stack: cdk.Stack) -> None:
    cdk.Aspects.of(stack).add(AwsSolutionsChecks(reports=True, verbose=True))
    NagSuppressions.add_stack_suppressions(stack, [
        NagPackSuppression(id=rule, reason=reason)
        for rule, reason in STACK_SUPPRESSIONS.items()])
    for path, rule, reason in RESOURCE_SUPPRESSIONS:
        NagSuppressions.add_resource_suppressions_by_path(
            stack, f"/{stack.stack_name}/{path}/Resource",
            [NagPackSuppression(id=rule, reason=reason)])
    for api in ("AuthApi", "EventsApi", "OrdersApi", "LabApi"):
        NagSuppressions.add_resource_suppressions(
            stack.node.find_child(api),
            [NagPackSuppression(id=rule, reason=reason) for rule, reason in API_SUPPRESSIONS],
            apply_to_children=True)
