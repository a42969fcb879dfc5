"""poppler-utils and zbar-tools helpers: what a person (or a scanner) sees in a PDF."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as pdftotext extracts it (reading order, no layout)."""
    result = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def page_count(pdf: bytes) -> int:
    result = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    for line in result.stdout.decode().splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise AssertionError("pdfinfo printed no page count")


def qr_codes(pdf: bytes) -> list[str]:
    """Every QR code on every page, rasterised at 150 dpi and read by zbarimg."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", str(source), str(Path(tmp) / "page")], check=True
        )
        codes: list[str] = []
        for image in sorted(Path(tmp).glob("page*.png")):
            result = subprocess.run(
                ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
                capture_output=True,
            )
            codes.extend(line for line in result.stdout.decode().splitlines() if line)
        return codes
