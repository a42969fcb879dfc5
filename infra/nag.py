"""cdk-nag (AwsSolutions pack) on the stack, and why each remaining finding is accepted."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions

# rule -> one-line reason; applied stack-wide only where the reason holds for every match.
STACK_SUPPRESSIONS: dict[str, str] = {}


def check(stack: cdk.Stack) -> None:
    cdk.Aspects.of(stack).add(AwsSolutionsChecks(reports=True, verbose=True))
    if STACK_SUPPRESSIONS:
        NagSuppressions.add_stack_suppressions(stack, [
            NagPackSuppression(id=rule, reason=reason)
            for rule, reason in STACK_SUPPRESSIONS.items()])
