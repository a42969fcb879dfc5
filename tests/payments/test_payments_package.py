"""Packaging properties: import-light package, standalone fakes."""

import json
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_package_does_not_import_stripe_or_requests():
    code = ("import sys, openevent.payments; "
            "print(sorted(m for m in ('stripe', 'requests', 'cryptography') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": f"{ROOT / 'layers'}"}, check=True)
    assert out.stdout.strip() == "[]"


def _standalone(module: str) -> tuple[dict, subprocess.Popen]:
    proc = subprocess.Popen([sys.executable, "-m", module, "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": f"{ROOT / 'layers'}"})
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        return info, proc
    except BaseException:
        proc.kill()
        raise


def test_stripe_fake_runs_standalone_and_prints_its_keys():
    info, proc = _standalone("openevent.sandboxes.stripe")
    try:
        assert info["secret_key"].startswith("sk_test_")
        assert info["webhook_secret"].startswith("whsec_")
        response = requests.get(f"{info['base_url']}/v1/charges/ch_x", timeout=5,
                                headers={"Authorization": f"Bearer {info['secret_key']}"})
        assert (response.status_code, response.json()["error"]["code"]) == (404,
                                                                           "resource_missing")
    finally:
        proc.kill()
        proc.wait()


def test_paypal_fake_runs_standalone_and_serves_its_cert():
    info, proc = _standalone("openevent.sandboxes.paypal")
    try:
        assert info["cert_url"].startswith(info["base_url"] + "/v1/notifications/certs/CERT-")
        response = requests.get(info["cert_url"], timeout=5)
        assert (response.status_code, response.text.splitlines()[0]) == (
            200, "-----BEGIN CERTIFICATE-----")
    finally:
        proc.kill()
        proc.wait()
