"""The answer to a document download while the renderer has not produced the PDF yet.

The API functions never render (their packages have no WeasyPrint; rendering is the
renderer function's, fed by the documents queue). A download that finds no PDF gets
`202 Accepted` with `Retry-After`, and as its body a one-page PDF saying the document is
being prepared: the web app saves whatever its XHR download receives, whatever the status
(`services/loader.ts` `downloadFile`), so the person opens a file that tells them to download
again shortly, instead of a broken file. Built here with no dependency: one page, Helvetica,
text lines only (PDF 1.4, offsets computed).
"""

from __future__ import annotations

RETRY_AFTER_SECONDS = 10


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pending_pdf(title: str, lines: list[str]) -> bytes:
    """A valid one-page A4 PDF showing `title` and `lines` (ASCII)."""
    text = ["BT", "/F1 20 Tf", "72 760 Td", f"({_escape(title)}) Tj", "/F1 12 Tf"]
    for line in lines:
        text += ["0 -24 Td", f"({_escape(line)}) Tj"]
    text.append("ET")
    stream = "\n".join(text).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def page_pending(identifier: str) -> str:
    """For a mailed link opened in a browser (its Accept is text/html, which API Gateway
    answers as text): a page that reloads itself until the PDF is there."""
    from html import escape

    return ("<!doctype html><html><head><meta charset=utf-8>"
            f'<meta http-equiv="refresh" content="{RETRY_AFTER_SECONDS}">'
            "<title>Your tickets are being prepared</title></head><body>"
            "<h1>Your tickets are being prepared</h1>"
            f"<p>Order {escape(identifier)}: the ticket documents are being rendered. This "
            f"page opens them as soon as they are ready (it reloads every "
            f"{RETRY_AFTER_SECONDS} seconds).</p></body></html>")


def document_pending(identifier: str) -> bytes:
    return pending_pdf("Your tickets are being prepared", [
        f"Order {identifier}: the ticket documents are being rendered right now.",
        f"Download them again in about {RETRY_AFTER_SECONDS} seconds.",
        "They are also mailed to you as soon as they are ready."])
