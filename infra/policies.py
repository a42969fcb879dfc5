"""Each function's IAM statements, read back from the synthesized template.

    python -m infra.policies [template]   # (make synth runs it) → openevent/local/iam_policies.json

The local runtime and the tests run every function with exactly the statements its role has
in the template (`openevent.local.iam`), so a call the deployed role would refuse fails
locally too. This module is the only reader of the template for that: it resolves the
intrinsics the roles use into ARNs with a few placeholders the local runtime fills in
(`${Region}`, `${Account}`, `${TablePrefix}`, `${Bucket:<construct>}`, `${Queue:<name>}`,
`${Secret}`, `${MailIdentity}`). `tests/infra/test_template.py` checks that the committed
file is what the current template gives, so a change to the stack without regenerating it
fails there.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "cdk.out" / "OpenEvent.template.json"
OUTPUT = ROOT / "layers" / "openevent" / "local" / "iam_policies.json"
TABLE_PREFIX = "openevent-"
_DESCRIPTION = re.compile(r"^openevent (?P<name>[a-z0-9-]+) \((?P<handler>app\.[a-z_]+)")
_LOGICAL_HASH = re.compile(r"[0-9A-F]{8}$")


class Resolver:
    """CloudFormation intrinsics → strings, for the resources a role's statements name."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, Any] = template["Resources"]

    def _construct(self, logical: str) -> str:
        return _LOGICAL_HASH.sub("", logical)

    def ref(self, logical: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": "${Region}",
                  "AWS::AccountId": "${Account}", "AWS::URLSuffix": "amazonaws.com"}
        if logical in pseudo:
            return pseudo[logical]
        resource = self.resources[logical]
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            name = props["TableName"]
            if isinstance(name, dict):  # openevent-<deployment>-<table>: Fn::Join, name last
                name = str(name["Fn::Join"][1][-1]).removeprefix("-")
            return "${TablePrefix}" + str(name).removeprefix(TABLE_PREFIX)
        if kind == "AWS::SecretsManager::Secret":
            return "${Secret}"
        if kind == "AWS::SES::EmailIdentity":
            return "${MailIdentity}"
        if kind == "AWS::SES::ConfigurationSet":
            return str(props["Name"])
        if kind == "AWS::S3::Bucket":
            return "${Bucket:" + self._construct(logical) + "}"
        if kind == "AWS::SQS::Queue":
            return "${Queue:" + str(props.get("QueueName") or self._construct(logical)) + "}"
        return "${" + kind + ":" + self._construct(logical) + "}"

    def get_att(self, logical: str, attribute: str) -> str:
        kind = self.resources[logical]["Type"]
        name = self.ref(logical)
        if attribute == "Arn":
            if kind == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:${{Region}}:${{Account}}:table/{name}"
            if kind == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{name}"
            if kind == "AWS::SQS::Queue":
                return f"arn:aws:sqs:${{Region}}:${{Account}}:{name}"
        return "${" + kind + ":" + self._construct(logical) + "." + attribute + "}"

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            return self.ref(node["Ref"])
        if "Fn::GetAtt" in node:
            logical, attribute = node["Fn::GetAtt"]
            return self.get_att(logical, attribute)
        if "Fn::Join" in node:
            sep, parts = node["Fn::Join"]
            return sep.join(str(self.value(p)) for p in parts)
        return {k: self.value(v) for k, v in node.items()}


def _role_of(function: dict[str, Any]) -> str:
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def _statements(template: dict[str, Any], role: str, resolver: Resolver) -> list[dict[str, Any]]:
    """Every statement attached to `role`: inline policies, AWS::IAM::Policy and the CDK's
    overflow managed policies."""
    found: list[dict[str, Any]] = []
    role_props = template["Resources"][role].get("Properties", {})
    for policy in role_props.get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    if role_props.get("ManagedPolicyArns"):
        raise ValueError(f"{role}: managed policy ARNs are not read locally")
    for resource in template["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        if {"Ref": role} in resource["Properties"].get("Roles", []):
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    out = []
    for statement in found:
        resolved = resolver.value(statement)
        for key in ("Action", "Resource", "NotAction", "NotResource"):
            if isinstance(resolved.get(key), str):
                resolved[key] = [resolved[key]]
        out.append(resolved)
    return out


def extract(template: dict[str, Any]) -> dict[str, Any]:
    """{"functions": {name: {group, handler, role}}, "roles": {role: [statements]}}."""
    resolver = Resolver(template)
    functions: dict[str, dict[str, str]] = {}
    roles: dict[str, list[dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        match = _DESCRIPTION.match(str(resource["Properties"].get("Description", "")))
        if match is None:
            continue  # the CDK's own helpers (custom resources), not ours
        logical_role = _role_of(resource)
        role = resolver._construct(logical_role)
        name = match["name"]
        group = "orders" if name == "renderer" else name.split("-")[0]
        functions[name] = {"group": group, "handler": match["handler"], "role": role}
        roles.setdefault(role, _statements(template, logical_role, resolver))
    return {"source": "infra/cdk.out/OpenEvent.template.json via `python -m infra.policies`",
            "functions": dict(sorted(functions.items())), "roles": dict(sorted(roles.items()))}


def render(template_path: Path = TEMPLATE) -> str:
    return json.dumps(extract(json.loads(template_path.read_text())), indent=1,
                      sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else TEMPLATE
    OUTPUT.write_text(render(path))
    print(f"IAM statements of {len(json.loads(OUTPUT.read_text())['functions'])} functions "
          f"→ {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
