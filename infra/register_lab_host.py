"""Register a lab host with AWS IoT: thing, certificate, the per-device policy.

    python -m infra.register_lab_host lab-1 --out ~/lab-1-credentials   # AWS credentials set

Creates the thing `lab-1` (type `openevent-lab-host`, deployed by the stack), a certificate
and key made by AWS IoT (written to --out, key 0600), attaches the stack's `openevent-lab-host`
policy to the certificate and the certificate to the thing. The policy's thing-name variables
then let this host connect only as client id `lab-1`, publish only `lab/v1/lab-1/res` and
`lab/v1/lab-1/status`, and subscribe only to `lab/v1/lab-1/cmd`. It prints the edge agent's
command line. The Amazon root CA (AmazonRootCA1.pem) is published by Amazon Trust Services;
put it beside the certificate.

`--remove` detaches and deletes them again (the certificate is deactivated first).

`--before-destroy` (run by `make destroy`): the stack's thing type and policy cannot be
deleted while a host is registered, so it refuses, naming the registered hosts, unless
`--deregister` is given too (`make destroy DEREGISTER_LAB_HOSTS=1`), which removes them.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import boto3

THING_TYPE = "openevent-lab-host"
POLICY = "openevent-lab-host"
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what the lab's topic grammar accepts as a device


def register(iot: Any, name: str, out: Path) -> dict[str, str]:
    if not NAME.fullmatch(name):
        raise ValueError(f"device name {name!r}: letters, digits, '-' or '_' (1-64)")
    iot.create_thing(thingName=name, thingTypeName=THING_TYPE)
    cert = iot.create_keys_and_certificate(setAsActive=True)
    out.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out / f"{name}.cert.pem", out / f"{name}.private.key"
    cert_path.write_text(cert["certificatePem"])
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(cert["keyPair"]["PrivateKey"])
    iot.attach_policy(policyName=POLICY, target=cert["certificateArn"])
    iot.attach_thing_principal(thingName=name, principal=cert["certificateArn"])
    endpoint = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    return {"thing": name, "certificate_arn": cert["certificateArn"], "endpoint": endpoint,
            "cert": str(cert_path), "key": str(key_path),
            "command": f"python -m edge_agent --device-id {name} --aws-iot-endpoint {endpoint}"
                       f" --cert {cert_path} --key {key_path} --ca {out / 'AmazonRootCA1.pem'}"
                       " --serial /dev/ttyACM0"}


def remove(iot: Any, name: str) -> None:
    for arn in iot.list_thing_principals(thingName=name).get("principals", []):
        iot.detach_thing_principal(thingName=name, principal=arn)
        iot.detach_policy(policyName=POLICY, target=arn)
        cert_id = arn.rsplit("/", 1)[-1]
        iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
        iot.delete_certificate(certificateId=cert_id)
    iot.delete_thing(thingName=name)


def registered(iot: Any) -> list[str]:
    """The lab hosts registered with the stack's thing type."""
    names: list[str] = []
    for page in iot.get_paginator("list_things").paginate(thingTypeName=THING_TYPE):
        names += [t["thingName"] for t in page.get("things", [])]
    return sorted(names)


def before_destroy(iot: Any, deregister: bool) -> str | None:
    """None when the stack may be destroyed (hosts removed if `deregister`), else the reason."""
    hosts = registered(iot)
    if hosts and not deregister:
        return (f"lab hosts are registered: {', '.join(hosts)}. The stack's IoT thing type and "
                f"policy ({THING_TYPE}) cannot be deleted while they are. Remove them with "
                "`python -m infra.register_lab_host <name> --remove`, or run "
                "`make destroy DEREGISTER_LAB_HOSTS=1` to remove them all.")
    for name in hosts:
        remove(iot, name)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="device id: the thing name and topic segment")
    parser.add_argument("--before-destroy", action="store_true",
                        help="refuse (exit 1) while hosts are registered")
    parser.add_argument("--deregister", action="store_true",
                        help="with --before-destroy: remove every registered host")
    parser.add_argument("--out", type=Path, default=Path("."), help="where to write PEM files")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--remove", action="store_true", help="deregister the host")
    args = parser.parse_args(argv)
    iot = boto3.client("iot", region_name=args.region)
    if args.before_destroy:
        reason = before_destroy(iot, args.deregister)
        if reason:
            raise SystemExit(f"make destroy refused: {reason}")
        return
    if not args.name:
        parser.error("name is required")
    if args.remove:
        remove(iot, args.name)
        print(f"removed {args.name}")
        return
    info = register(iot, args.name, args.out)
    for key, value in info.items():
        print(f"{key:16} {value}")


if __name__ == "__main__":
    main()
