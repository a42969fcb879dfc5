"""The QR code in a rendered ticket PDF: it carries the signed code, and it is big enough for a
phone camera from paper or a screen. Measured on the PDF as poppler rasterises it (300 dpi):
zbar finds the symbol, the top-left finder pattern (7 modules wide) gives the module size,
the symbol's width the module count and so the QR version."""

from __future__ import annotations

import re
import subprocess

import boto3
import pytest
from openevent.documents import pipeline
from openevent.documents.render import GEOMETRY
from openevent.settings import get_settings
from openevent.signing import codes, keys

from tests.checkin.conftest import complete_order

pytestmark = pytest.mark.slow  # renders a real PDF
DPI = 300


def _pgm(data: bytes) -> tuple[int, int, bytes]:
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header, data[:20]
    width, height = int(header.group(1)), int(header.group(2))
    return width, height, data[header.end():header.end() + width * height]


def measure(pdf: bytes, tmp) -> dict:
    (tmp / "t.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-singlefile", str(tmp / "t.pdf"),
                    str(tmp / "t")], check=True)
    text = subprocess.run(["zbarimg", "--raw", "-q", str(tmp / "t.pgm")], capture_output=True,
                          text=True, check=True).stdout.strip()
    # the symbol: the dark pixels inside the QR slot (GEOMETRY) widened by 3 mm each side,
    # stopping above the caption
    width, _, pixels = _pgm((tmp / "t.pgm").read_bytes())
    px = lambda mm: int(mm / 25.4 * DPI)  # noqa: E731
    g = GEOMETRY
    xs = range(px(g["qr_left"] - 3), px(g["qr_left"] + g["qr_size"] + 3))
    ys = range(px(g["qr_top"] - 3), px(g["qr_top"] + g["qr_size"] + 1))
    dark = [(x, y) for y in ys for x in xs if pixels[y * width + x] < 128]
    x0, x1 = min(x for x, _ in dark), max(x for x, _ in dark)
    y0 = min(y for _, y in dark)
    line = pixels[(y0 + 2) * width:(y0 + 3) * width]  # inside the finder's dark top edge
    end = next(x for x in range(x0, x1) if line[x] >= 128)
    module_px = (end - x0) / 7  # the top-left finder pattern is 7 modules wide
    modules = round((x1 + 1 - x0) / module_px)
    return {"text": text, "modules": modules, "version": (modules - 17) / 4,
            "module_mm": module_px / DPI * 25.4}


def test_rendered_ticket_qr_version_and_module_size(world, people, shop, tmp_path):
    order = complete_order(world, people.buyer, shop.event, shop.free, ["Ada"])
    bucket = get_settings().documents_bucket
    pipeline.process_manifest(bucket, f"manifests/{order['identifier']}.json")
    pdf = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket=bucket, Key=pipeline.attendee_pdf_key(order["identifier"],
                                                     order["attendees"][0]))["Body"].read()
    found = measure(pdf, tmp_path)
    claim = codes.verify(found["text"], keys.ring().public)
    assert claim.attendee_id == int(order["attendees"][0])
    print(f"ticket QR: {len(found['text'])} characters, version {found['version']:g} "
          f"({found['modules']} modules), module {found['module_mm']:.2f} mm")
    assert found["version"] == int(found["version"]) and found["version"] <= 7
    # ISO/IEC 18004 print guidance and phone cameras at arm's length: >= 0.5 mm a module
    assert found["module_mm"] >= 0.9


def test_a_reissued_ticket_pdf_carries_the_new_code(world, people, shop, tmp_path):
    order = complete_order(world, people.buyer, shop.event, shop.free, ["Ada"])
    aid = order["attendees"][0]
    resp = world.api.post(f"/v1/attendees/{aid}/reissue-ticket", {}, token=people.owner.token)
    assert resp.status == 200 and resp.json()["version"] == 2
    bucket = get_settings().documents_bucket
    pipeline.process_manifest(bucket, f"manifests/{order['identifier']}.json")  # rewritten
    pdf = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket=bucket, Key=pipeline.attendee_pdf_key(order["identifier"], aid))["Body"].read()
    claim = codes.verify(measure(pdf, tmp_path)["text"], keys.ring().public)
    assert (claim.attendee_id, claim.version) == (int(aid), 2)
